"""Istio service mesh from the upstream charts, with mesh-wide STRICT mTLS (NSA/CISA guide: service mesh,
encrypt traffic in the cluster).

`rancher-istio` is deprecated in Rancher 2.12 and gone in 2.13, so the upstream charts (`base`, `cni`,
`istiod`, optional `gateway`) are installed from Istio's Helm repository, added to the downstream cluster
as a `rancher2.CatalogV2`. Order: base (CRDs) -> cni -> istiod -> gateway, then the mesh-wide
`PeerAuthentication` (it needs the CRD and istiod's validating webhook).

istio-cni replaces the privileged `istio-init` container in every meshed pod, which is what lets meshed
workloads run under the restricted Pod Security level. The istiod chart reads the CNI switch from its
top-level `cni` values (istio 1.28.0 `manifests/charts/istio-control/istio-discovery/templates/
istiod-injector-configmap.yaml:18-19` builds the injector's `pilot.cni` from them); a `pilot:` key is read by
nothing. RKE2 keeps CNI binaries in `/opt/cni/bin` and configs in `/etc/cni/net.d`; Istio is chained after
the cluster CNI (canal/calico/cilium). The CNI node agent runs as root with NET_ADMIN/SYS_ADMIN and
`priorityClassName: system-node-critical`, which Kubernetes admits outside kube-system only with a
ResourceQuota for that class (chart `resourceQuotas`, off by default): that is why it is installed in
`kube-system`. It is not privileged, so on SELinux nodes it needs `seLinuxOptions` (`spc_t`, istio-cni
`templates/daemonset.yaml:107,135-137`) to write the host's CNI directories; set from
`addons.cluster.selinux`.

Pod Security of `istio-system`: Rancher's `rancher-restricted` template exempts `istio-system`
(rancher/rancher `pkg/data/management/podadmissionconfigurationtemplate_data.go:31`), so under that
template istiod would run without any Pod Security check. istiod itself meets `restricted` (with
`seccompProfile: RuntimeDefault`, set here), so the control plane namespace is enforced: a cluster stack
with Istio on must use a custom `cluster.podSecurity` template that exempts exactly the platform
namespaces and not `istio-system` (`blueprint/config.py` reports anything else; a namespace label could not
lift an exemption of the admission configuration), and the policy pack does not exempt it either.

HA: the istiod chart ignores `replicaCount` while autoscaling is on (its default) and its HPA minimum
defaults to 1 (`templates/deployment.yaml:26-28`, `templates/autoscale.yaml:20`, `values.yaml:4-8`). 1.28.0
creates its PodDisruptionBudget only when that minimum is above 1 (`templates/poddisruptionbudget.yaml:6`);
1.26.2 / 1.27.1 always create it with `minAvailable: 1`, which with one replica blocks every drain. So
`autoscaleMin` = `istiodReplicas` (>= 2) and the PDB keeps one pod.

Gateway Service type: Helm's wait (Rancher apps install with `wait`) treats a `LoadBalancer` Service as ready
only when it has an ingress address (helm `pkg/kube/ready.go`, `serviceReady`); without a load-balancer
implementation the install times out and is rolled back. `gateway.serviceType` is therefore an explicit
setting, checked against `addons.cluster.loadBalancer`.

Project network isolation: `istio-system` is not part of any Rancher project, so Rancher adds no policy
there. This component makes the namespace default-deny for ingress and then allows exactly what the mesh
needs: sidecars/gateways from any namespace -> istiod xDS (15012/TCP); the API server -> istiod's
injection/validation webhook (15017/TCP; the API server is host-networked, so the rule cannot select it
by namespace and allows the port from any source); monitoring -> istiod metrics (15014/TCP) from
`cattle-monitoring-system`. Tenant namespaces with an egress default-deny must allow egress to
`istio-system` istiod on 15012/TCP (the tenancy component's concern).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, cast

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
from pydantic import Field, model_validator

from components.addons.catalog import install_chart, require_kubernetes_provider
from components.addons.contract import InstallContext, PreflightContext
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import ConfigProblems, Problem
from components.versions import LinePins, pins_for

ISTIO_HELM_REPO = "https://istio-release.storage.googleapis.com/charts"
ISTIO_NAMESPACE = "istio-system"
CNI_NAMESPACE = "kube-system"
RKE2_CNI_BIN_DIR = "/opt/cni/bin"
RKE2_CNI_CONF_DIR = "/etc/cni/net.d"
ISTIOD_XDS_PORT = 15012
ISTIOD_WEBHOOK_PORT = 15017
ISTIOD_MONITORING_PORT = 15014
MONITORING_NAMESPACE = "cattle-monitoring-system"


class IstioGatewayArgs(HardenedModel):
    """An optional ingress gateway (upstream `gateway` chart)."""

    enabled: bool = False
    """Install the ingress gateway."""
    namespace: str = "istio-ingress"
    """Namespace of the gateway deployment."""
    service_type: Literal["ClusterIP", "LoadBalancer", "NodePort"] | None = None
    """Service type of the gateway; required with `enabled`. `LoadBalancer` needs a load-balancer
    implementation (`addons.cluster.loadBalancer` not `none`: a cloud provider with load balancers, RKE2's
    ServiceLB, or one you installed); otherwise `NodePort` (or `ClusterIP`) behind your existing load
    balancer."""

    @model_validator(mode="after")
    def _explicit_service_type(self) -> IstioGatewayArgs:
        if self.enabled and self.service_type is None:
            raise ConfigProblems(
                [
                    Problem(
                        ("serviceType",),
                        "the gateway needs an explicit Service type",
                        "LoadBalancer where the cluster has a load balancer (cloud provider or ServiceLB), "
                        "NodePort or ClusterIP behind an existing load balancer",
                    )
                ]
            )
        return self


class IstioArgs(HardenedModel):
    enabled: bool = False
    """Off by default: STRICT mTLS and REGISTRY_ONLY egress need workloads prepared for the mesh. The prod
    example stack turns it on."""
    chart_version: str | None = None
    """Override of the upstream Istio chart version pinned for the Rancher line."""
    mtls_mode: Literal["STRICT"] = "STRICT"
    """Mesh-wide mTLS. Only STRICT is offered: PERMISSIVE would accept plaintext from any pod."""
    outbound_traffic_policy: Literal["REGISTRY_ONLY", "ALLOW_ANY"] = "REGISTRY_ONLY"
    """REGISTRY_ONLY: sidecars only reach services known to the mesh (ServiceEntry for external ones).
    `ALLOW_ANY` is the named weakening."""
    network_policies: bool = True
    """Default-deny + mesh allowances in istio-system (see module doc)."""
    istiod_replicas: int = Field(2, ge=2)
    """istiod replicas: the HPA minimum (and `replicaCount`); at least 2, and the chart then adds a PDB."""
    helm_repo_url: str = Field(ISTIO_HELM_REPO, pattern=r"^https://")
    """Istio's chart repository, or an internal HTTPS mirror of it (air-gapped installs)."""
    gateway: IstioGatewayArgs = Field(default_factory=IstioGatewayArgs)


class Istio(pulumi.ComponentResource):
    """Istio base/cni/istiod(/gateway) + STRICT PeerAuthentication on one cluster."""

    config_key: ClassVar[str] = "istio"
    args_model: ClassVar[type[HardenedModel]] = IstioArgs

    @staticmethod
    def pinned_version(pins: LinePins) -> str:
        return pins.istio

    @classmethod
    def namespaces(cls, args: IstioArgs, rancher_line: str) -> tuple[str, ...]:
        # istio-cni, the only privileged part, runs in kube-system (a base platform namespace); istiod and
        # the gateway meet the restricted level, so istio-system and the gateway namespace need no exemption.
        return ()

    @classmethod
    def preflight(cls, args: IstioArgs, cluster: PreflightContext) -> list[Problem]:
        return []

    @classmethod
    def install(cls, name: str, args: IstioArgs, context: InstallContext) -> Istio:
        return cls(name, args, context.handle, context.opts, selinux=context.config.cluster.selinux)

    def __init__(
        self,
        name: str,
        args: IstioArgs,
        handle: ClusterHandle,
        opts: pulumi.ResourceOptions | None = None,
        *,
        selinux: bool = False,
    ) -> None:
        """`selinux`: the nodes run RKE2 with SELinux (istio-cni then gets its SELinux type)."""
        args = IstioArgs.model_validate(args)
        provider = require_kubernetes_provider(handle, "Istio (PeerAuthentication, NetworkPolicies)")
        version = args.chart_version or self.pinned_version(pins_for(handle.rancher_line))
        super().__init__("hardened-rke2:addons:Istio", name, None, opts)

        self.catalog = rancher2.CatalogV2(
            f"{name}-catalog",
            cluster_id=handle.v1_id,
            name="istio",
            url=args.helm_repo_url,
            opts=pulumi.ResourceOptions(parent=self, depends_on=handle.depends_on()),
        )
        repo = self.catalog.name

        def app(chart: str, namespace: str, values: dict[str, Any], after: list[pulumi.Resource]):
            return install_chart(
                f"{name}-{chart}",
                handle=handle,
                chart=chart,
                version=version,
                namespace=namespace,
                values=values,
                repo_name=repo,
                release_name=f"istio-{chart}" if chart != "istiod" else "istiod",
                parent=self,
                depends_on=[self.catalog, *after],
            )

        self.base = app("base", ISTIO_NAMESPACE, istio_base_values(), [])
        self.cni = app("cni", CNI_NAMESPACE, istio_cni_values(selinux=selinux), [self.base])
        self.istiod = app("istiod", ISTIO_NAMESPACE, istiod_values(args), [self.base, self.cni])
        self.gateway: rancher2.AppV2 | None = None
        if args.gateway.enabled:
            self.gateway = app("gateway", args.gateway.namespace, gateway_values(args.gateway), [self.istiod])

        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=provider, depends_on=[*handle.depends_on(), self.istiod]
        )
        self.peer_authentication = k8s.apiextensions.CustomResource(
            f"{name}-mesh-mtls",
            api_version="security.istio.io/v1",
            kind="PeerAuthentication",
            metadata={"name": "default", "namespace": ISTIO_NAMESPACE},
            spec={"mtls": {"mode": args.mtls_mode}},
            opts=k8s_opts,
        )

        self.network_policies: list[k8s.networking.v1.NetworkPolicy] = []
        if args.network_policies:
            np_opts = pulumi.ResourceOptions(
                parent=self, provider=provider, depends_on=[*handle.depends_on(), self.base]
            )
            for policy_name, spec in istio_network_policies():
                self.network_policies.append(
                    k8s.networking.v1.NetworkPolicy(
                        f"{name}-{policy_name}",
                        metadata={"name": policy_name, "namespace": ISTIO_NAMESPACE},
                        spec=cast(Any, spec),
                        opts=np_opts,
                    )
                )

        self.register_outputs({"version": version, "mtlsMode": args.mtls_mode})


def istio_base_values() -> dict[str, Any]:
    # istiod validates Istio resources itself; base only carries the CRDs and cluster roles.
    return {"defaultRevision": "default"}


def istio_cni_values(*, selinux: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {
        "cniBinDir": RKE2_CNI_BIN_DIR,
        "cniConfDir": RKE2_CNI_CONF_DIR,
        "chained": True,
        "provider": "default",
        "excludeNamespaces": [ISTIO_NAMESPACE, CNI_NAMESPACE],
        "seccompProfile": {"type": "RuntimeDefault"},
        "repair": {"enabled": True},
    }
    if selinux:
        # Not privileged, so not spc_t by default: it could not write /opt/cni/bin on an SELinux node.
        values["seLinuxOptions"] = {"type": "spc_t"}
    return values


def istiod_values(args: IstioArgs) -> dict[str, Any]:
    # The istiod chart's values are flat (its `_internal_defaults_do_not_set` are merged under .Values).
    return {
        # Sidecars get their traffic redirection from istio-cni, not from a privileged init container.
        "cni": {"enabled": True, "provider": "default"},
        # HA: the HPA minimum decides the replica count while autoscaling is on; above 1 the chart adds
        # its PodDisruptionBudget (global.defaultPodDisruptionBudget, pdb.minAvailable: 1).
        "autoscaleEnabled": True,
        "autoscaleMin": args.istiod_replicas,
        "autoscaleMax": max(5, args.istiod_replicas),
        "replicaCount": args.istiod_replicas,
        "pdb": {"minAvailable": 1},
        # istiod meets the restricted Pod Security level once it has a seccomp profile.
        "seccompProfile": {"type": "RuntimeDefault"},
        "global": {
            "proxy": {"privileged": False},
            "logAsJson": True,
            "defaultPodDisruptionBudget": {"enabled": True},
        },
        "meshConfig": {
            "outboundTrafficPolicy": {"mode": args.outbound_traffic_policy},
            "accessLogFile": "/dev/stdout",
            "accessLogEncoding": "JSON",
        },
    }


def gateway_values(gateway: IstioGatewayArgs) -> dict[str, Any]:
    return {
        "service": {"type": gateway.service_type},
        # A pod `securityContext` value REPLACES the chart's default one, which is only the sysctl that lets
        # the non-root (1337) proxy bind ports 80/443 (istio 1.28.0 manifests/charts/gateway/templates/
        # deployment.yaml:53-61): keep it, or the gateway cannot listen. The sysctl is a "safe" one,
        # allowed by the restricted level.
        "securityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
        },
    }


def istio_network_policies() -> list[tuple[str, dict[str, Any]]]:
    """(name, spec) of the NetworkPolicies in istio-system. Created whether or not project isolation is on:
    the namespace is default-deny either way, and the allowances are what the mesh needs to work."""
    istiod = {"matchLabels": {"app": "istiod"}}
    return [
        ("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        (
            "allow-istiod-xds-from-mesh",
            {
                "podSelector": istiod,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"namespaceSelector": {}}],
                        "ports": [{"port": ISTIOD_XDS_PORT, "protocol": "TCP"}],
                    }
                ],
            },
        ),
        (
            "allow-istiod-webhook-from-apiserver",
            {
                "podSelector": istiod,
                "policyTypes": ["Ingress"],
                # The API server is host-networked: no namespace/pod selector matches it.
                "ingress": [{"ports": [{"port": ISTIOD_WEBHOOK_PORT, "protocol": "TCP"}]}],
            },
        ),
        (
            "allow-istiod-metrics-from-monitoring",
            {
                "podSelector": istiod,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
                                }
                            }
                        ],
                        "ports": [{"port": ISTIOD_MONITORING_PORT, "protocol": "TCP"}],
                    }
                ],
            },
        ),
    ]
