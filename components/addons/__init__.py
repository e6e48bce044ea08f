"""Cluster add-ons for a hardened RKE2 cluster, switched on per stack: NeuVector, CIS/compliance scanning,
audit-log shipping (on by default), Istio with STRICT mTLS and monitoring (off by default, on in prod).

Every add-on targets the cluster through a `ClusterHandle`: Rancher apps use `handle.v1_id` and wait on
the readiness gate; in-cluster resources go through `handle.kubernetes_provider`. Chart versions come
from `components.versions.pins_for(handle.rancher_line)` unless an add-on names its own `chartVersion`.

`ClusterAddons` knows no add-on by name: it installs what `components.addons.registry.ADDONS` lists, in
that order, through the contract in `components.addons.contract` (see components/README.md).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import Field, model_validator

from components.addons import registry
from components.addons.audit_logging import AuditLoggingArgs, AuditLogOutputArgs, AuditLogShipping
from components.addons.compliance import ComplianceArgs, ComplianceScanning
from components.addons.contract import Addon, InstallContext, PreflightContext
from components.addons.istio import Istio, IstioArgs
from components.addons.monitoring import AlertReceiverArgs, ClusterMonitoring, MonitoringArgs
from components.addons.neuvector import NeuVector, NeuVectorArgs
from components.addons.platform import PLATFORM_BASE_NAMESPACES, AddonClusterArgs
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import Problem, ProblemList
from components.versions import pins_for

__all__ = [
    "Addon",
    "AddonClusterArgs",
    "AddonsArgs",
    "AlertReceiverArgs",
    "AuditLogOutputArgs",
    "AuditLoggingArgs",
    "ClusterAddons",
    "ComplianceArgs",
    "IstioArgs",
    "MonitoringArgs",
    "NeuVectorArgs",
    "platform_namespaces",
    "preflight_problems",
]


class AddonsArgs(HardenedModel):
    """Which add-ons a cluster gets, each with its hardened values."""

    cluster: AddonClusterArgs = Field(default_factory=AddonClusterArgs)
    """Facts about the target cluster (SELinux, load balancer); derived from `cluster` in a cluster stack."""
    neuvector: NeuVectorArgs = Field(default_factory=NeuVectorArgs)
    """NeuVector runtime security (threat detection, admission control); on by default."""
    compliance: ComplianceArgs = Field(default_factory=ComplianceArgs)
    """rancher-compliance CIS scanning on a schedule; on by default."""
    # Built unvalidated; `validate_default` then validates it in place, so a missing output target is
    # reported as a field error of auditLogging instead of an exception escaping the default factory.
    audit_logging: AuditLoggingArgs = Field(default_factory=lambda: AuditLoggingArgs.model_construct())
    """Ships the API server audit log off the nodes (rancher-logging); on by default, needs an `output`."""
    istio: IstioArgs = Field(default_factory=IstioArgs)
    """Istio service mesh with mesh-wide STRICT mTLS; off by default."""
    monitoring: MonitoringArgs = Field(default_factory=MonitoringArgs)
    """rancher-monitoring (Prometheus, Alertmanager) with detection rules; off by default."""

    @model_validator(mode="after")
    def _cross_checks(self) -> AddonsArgs:
        problems = ProblemList()
        if self.compliance.enabled and self.compliance.alerting and not self.monitoring.enabled:
            problems.add(
                ["compliance", "alerting"],
                "scan alerts need rancher-monitoring (its Prometheus evaluates the alert rules)",
                "set monitoring.enabled: true, or compliance.alerting: false",
            )
        gateway = self.istio.gateway
        if (
            self.istio.enabled
            and gateway.enabled
            and gateway.service_type == "LoadBalancer"
            and self.cluster.load_balancer == "none"
        ):
            # Helm's --wait (Rancher apps wait) treats a LoadBalancer Service as ready only once it has an
            # ingress address (helm pkg/kube/ready.go, serviceReady); without a load-balancer implementation
            # it never gets one, the install times out and the release is rolled back.
            problems.add(
                ["istio", "gateway", "serviceType"],
                "LoadBalancer needs a load-balancer implementation, and the cluster has none (no RKE2 "
                "enable-servicelb, no cloud provider with load balancers): the gateway install would "
                "time out waiting for an address",
                "use NodePort (or ClusterIP) behind your existing load balancer, or enable ServiceLB "
                "(cluster.rke2.extraConfig.enable-servicelb: true, where Rancher passes that key), or "
                "declare addons.cluster.loadBalancer: external for a load-balancer controller you run",
            )
        problems.raise_if_any()
        return self

    @property
    def enabled_addons(self) -> list[str]:
        """Config keys of the enabled add-ons, in registration order."""
        return [addon.config_key for addon in registry.ADDONS if self.settings_of(addon).enabled]

    def settings_of(self, addon: type[Addon]) -> Any:
        """This config's args for one add-on (the field named by its `config_key`)."""
        return getattr(self, addon.config_key)


class ClusterAddons(pulumi.ComponentResource):
    """All enabled add-ons of one cluster, installed in registry order (`components.addons.registry`)."""

    # Typed shortcuts to the built-in add-ons, set by the registry loop (None when disabled). A new
    # add-on needs no line here: it is reachable as `installed[config_key]` (and as an attribute).
    monitoring: ClusterMonitoring | None
    neuvector: NeuVector | None
    compliance: ComplianceScanning | None
    audit_logging: AuditLogShipping | None
    istio: Istio | None
    installed: dict[str, pulumi.ComponentResource]
    """Every installed add-on component by config key (also set as the attribute of that name)."""

    def __init__(
        self,
        name: str,
        args: AddonsArgs,
        handle: ClusterHandle,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = AddonsArgs.model_validate(args)
        _preflight(args, handle)
        super().__init__("hardened-rke2:addons:ClusterAddons", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.installed = {}
        namespaces = platform_namespaces(args, handle.rancher_line)
        for addon in registry.ADDONS:
            settings = args.settings_of(addon)
            component = None
            if settings.enabled:
                context = InstallContext(
                    handle,
                    config=args,
                    installed=dict(self.installed),
                    opts=child,
                    platform_namespaces=namespaces,
                )
                component = addon.install(f"{name}-{addon.config_key.replace('_', '-')}", settings, context)
                self.installed[addon.config_key] = component
            setattr(self, addon.config_key, component)
        self.register_outputs({"enabled": args.enabled_addons})


def platform_namespaces(args: AddonsArgs, rancher_line: str) -> tuple[str, ...]:
    """The one list of namespaces the platform runs privileged workloads in: Kubernetes' and Rancher's own
    (`platform.PLATFORM_BASE_NAMESPACES`) plus each enabled add-on's `namespaces`, in registry order.
    NeuVector's admission allow rule and a cluster stack's custom Pod Security exemptions follow it."""
    out: list[str] = list(PLATFORM_BASE_NAMESPACES)
    for addon in registry.ADDONS:
        settings = args.settings_of(addon)
        if settings.enabled:
            out += [ns for ns in addon.namespaces(settings, rancher_line) if ns not in out]
    return tuple(out)


def preflight_problems(
    args: AddonsArgs,
    *,
    rancher_line: str,
    kubernetes_version: str,
    rancher_url: str | None,
    has_kubernetes_provider: bool,
    cluster_name: str = "the cluster",
) -> list[Problem]:
    """Every problem the add-on components would raise, with stack-config paths, so a stack program can
    report them before it registers any resource (the cluster included)."""
    cluster = PreflightContext(
        rancher_line=rancher_line,
        kubernetes_version=kubernetes_version,
        rancher_url=rancher_url,
        has_kubernetes_provider=has_kubernetes_provider,
        cluster_name=cluster_name,
    )
    problems = ProblemList()
    try:
        pins_for(rancher_line)
    except ValueError as exc:
        problems.add(["rancher", "line"], str(exc), "pick a supported Rancher line")
    if args.enabled_addons and not has_kubernetes_provider:
        problems.add(
            ["addons"],
            f"the enabled add-ons ({', '.join(args.enabled_addons)}) create in-cluster resources, but "
            f"{cluster_name} has no Kubernetes provider",
            "build the handle from HardenedCluster (it creates the provider) or pass kubernetes_provider=",
        )
    for addon in registry.ADDONS:
        settings = args.settings_of(addon)
        if settings.enabled:
            problems.extend(addon.preflight(settings, cluster))
    return problems.items


def _preflight(args: AddonsArgs, handle: ClusterHandle) -> None:
    problems = preflight_problems(
        args,
        rancher_line=handle.rancher_line,
        kubernetes_version=handle.kubernetes_version,
        rancher_url=handle.rancher_url,
        has_kubernetes_provider=handle.kubernetes_provider is not None,
        cluster_name=f"the ClusterHandle for {handle.name!r}",
    )
    if problems:
        raise ValueError("; ".join(p.render() for p in problems))
