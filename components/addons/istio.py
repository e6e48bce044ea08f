"""Istio service mesh from the upstream charts, with mesh-wide STRICT mTLS (NSA/CISA guide: service mesh,
encrypt traffic in the cluster).

`rancher-istio` is deprecated in Rancher 2.12 and gone in 2.13, so the upstream charts (`base`, `cni`,
`istiod`, optional `gateway`) are installed from Istio's Helm repository, added to the downstream cluster
as a `rancher2.CatalogV2`. Order: base (CRDs) -> cni -> istiod -> gateway, then the mesh-wide
`PeerAuthentication` (it needs the CRD and istiod's validating webhook).

istio-cni replaces the privileged `istio-init` container in every meshed pod, which is what lets meshed
workloads run under the restricted Pod Security level. RKE2 keeps CNI binaries in `/opt/cni/bin` and
configs in `/etc/cni/net.d`; Istio is chained after the cluster CNI (canal/calico/cilium). The CNI node
agent is privileged by nature, so it is installed in `kube-system`, which Rancher's restricted PSA
template already exempts, rather than loosening `istio-system`.

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
from pydantic import Field

from components.addons.catalog import install_chart, require_kubernetes_provider
from components.addons.contract import InstallContext, PreflightContext
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import Problem
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
    service_type: Literal["ClusterIP", "LoadBalancer", "NodePort"] = "LoadBalancer"
    """Kubernetes Service type of the gateway."""


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
    def preflight(cls, args: IstioArgs, cluster: PreflightContext) -> list[Problem]:
        return []

    @classmethod
    def install(cls, name: str, args: IstioArgs, context: InstallContext) -> Istio:
        return cls(name, args, context.handle, context.opts)

    def __init__(
        self,
        name: str,
        args: IstioArgs,
        handle: ClusterHandle,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
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
        self.cni = app("cni", CNI_NAMESPACE, istio_cni_values(), [self.base])
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


def istio_cni_values() -> dict[str, Any]:
    return {
        "cniBinDir": RKE2_CNI_BIN_DIR,
        "cniConfDir": RKE2_CNI_CONF_DIR,
        "chained": True,
        "provider": "default",
        "excludeNamespaces": [ISTIO_NAMESPACE, CNI_NAMESPACE],
        "seccompProfile": {"type": "RuntimeDefault"},
        "repair": {"enabled": True},
    }


def istiod_values(args: IstioArgs) -> dict[str, Any]:
    return {
        # Sidecars get their traffic redirection from istio-cni, not from a privileged init container.
        "pilot": {"cni": {"enabled": True, "provider": "default"}, "replicaCount": 2},
        "global": {"proxy": {"privileged": False}, "logAsJson": True},
        "meshConfig": {
            "outboundTrafficPolicy": {"mode": args.outbound_traffic_policy},
            "accessLogFile": "/dev/stdout",
            "accessLogEncoding": "JSON",
        },
    }


def gateway_values(gateway: IstioGatewayArgs) -> dict[str, Any]:
    return {
        "service": {"type": gateway.service_type},
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
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
