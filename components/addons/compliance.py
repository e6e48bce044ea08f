"""Continuous CIS benchmark scanning (NSA/CISA guide: periodic vulnerability/configuration scans).

Rancher 2.11 ships `rancher-cis-benchmark` (namespace `cis-operator-system`, API `cis.cattle.io/v1`);
from 2.12 the chart is `rancher-compliance` (namespace `compliance-operator-system`, API
`compliance.cattle.io/v1`). Both come with a `-crd` chart, installed first. A scheduled `ClusterScan`
runs the RKE2 profile matching the cluster's Kubernetes minor, keeps `retentionCount` reports, and raises
alerts (through rancher-monitoring's Prometheus) on failure and on completion.

Profile choice, from the charts' own benchmark definitions (`ClusterScanBenchmark.minKubernetesVersion`):
CIS 1.10 -> Kubernetes >= 1.28, CIS 1.11 -> >= 1.29, CIS 1.12 -> >= 1.32. `rancher-cis-benchmark` 106.x
ships `rke2-cis-1.11-profile` as its newest RKE2 profile; `rancher-compliance` adds
`rke2-cis-1.12-profile`. A different built-in or custom profile can be named with `scanProfileName`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator

from components.addons.catalog import install_chart, require_kubernetes_provider
from components.addons.contract import InstallContext, PreflightContext
from components.addons.monitoring import ClusterMonitoring
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import ConfigProblems, Problem, ProblemList
from components.versions import PINS, LinePins, pins_for


@dataclass(frozen=True)
class ComplianceFamily:
    chart: str
    namespace: str
    api_version: str
    profiles: tuple[tuple[tuple[int, int], str], ...]
    """(minimum Kubernetes minor, RKE2 profile name), newest last."""


CIS_BENCHMARK = ComplianceFamily(
    chart="rancher-cis-benchmark",
    namespace="cis-operator-system",
    api_version="cis.cattle.io/v1",
    profiles=(((1, 28), "rke2-cis-1.10-profile"), ((1, 29), "rke2-cis-1.11-profile")),
)
COMPLIANCE = ComplianceFamily(
    chart="rancher-compliance",
    namespace="compliance-operator-system",
    api_version="compliance.cattle.io/v1",
    profiles=(
        ((1, 28), "rke2-cis-1.10-profile"),
        ((1, 29), "rke2-cis-1.11-profile"),
        ((1, 32), "rke2-cis-1.12-profile"),
    ),
)
FAMILIES = {f.chart: f for f in (CIS_BENCHMARK, COMPLIANCE)}


def family_for(line: str) -> ComplianceFamily:
    return FAMILIES[pins_for(line).compliance_chart]


def kubernetes_minor(version: str) -> tuple[int, int]:
    """`v1.33.5+rke2r1` -> (1, 33)."""
    core = version.strip().lstrip("v").split("+", 1)[0]
    parts = core.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise ConfigProblems.one(
            f"cannot read the Kubernetes minor from {version!r}", "use an RKE2 version like v1.33.5+rke2r1"
        ) from None


def rke2_profile_for(family: ComplianceFamily, kubernetes_version: str) -> str:
    minor = kubernetes_minor(kubernetes_version)
    eligible = [name for floor, name in family.profiles if minor >= floor]
    if not eligible:
        raise ConfigProblems.one(
            f"{family.chart} has no RKE2 CIS profile for Kubernetes {minor[0]}.{minor[1]}",
            "upgrade the cluster, or name a profile with compliance.scanProfileName",
        )
    return eligible[-1]


class ComplianceArgs(HardenedModel):
    enabled: bool = True
    """Install rancher-compliance and run the scheduled CIS scan; false leaves the cluster unscanned."""
    chart_version: str | None = None
    """Overrides the rancher-compliance chart pinned for the Rancher line (an explicit, reviewed choice)."""
    scan_profile_name: str | None = None
    """Override of the RKE2 profile chosen from the Kubernetes version."""
    cron_schedule: str = "0 3 * * *"
    """Daily at 03:00 (cluster time)."""
    retention_count: int = Field(30, ge=1)
    """How many scan reports are kept."""
    alerting: bool | None = None
    """Scan alerts (failure + completion) through rancher-monitoring. None = on when monitoring is on;
    true without monitoring is an error (there would be no Prometheus to evaluate the alert rules)."""

    @field_validator("cron_schedule")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ConfigProblems.one("must be a 5-field cron expression", "e.g. '0 3 * * *'")
        return value


class ComplianceScanning(pulumi.ComponentResource):
    """`<family>-crd` then `<family>` and a scheduled `ClusterScan`."""

    config_key: ClassVar[str] = "compliance"
    args_model: ClassVar[type[HardenedModel]] = ComplianceArgs

    @staticmethod
    def pinned_version(pins: LinePins) -> str:
        return pins.compliance_version

    @classmethod
    def namespaces(cls, args: HardenedModel, rancher_line: str) -> tuple[str, ...]:
        if rancher_line in PINS:
            return (family_for(rancher_line).namespace,)
        return tuple(f.namespace for f in FAMILIES.values())

    @classmethod
    def preflight(cls, args: ComplianceArgs, cluster: PreflightContext) -> list[Problem]:
        problems = ProblemList()
        if args.scan_profile_name or cluster.rancher_line not in PINS:
            return problems.items  # a named profile needs no lookup; an unsupported line is reported apart
        try:
            rke2_profile_for(family_for(cluster.rancher_line), cluster.kubernetes_version)
        except ConfigProblems as exc:
            problems.extend([p.under(["addons", "compliance"]) for p in exc.items])
        return problems.items

    @classmethod
    def install(cls, name: str, args: ComplianceArgs, context: InstallContext) -> ComplianceScanning:
        # Scan alerts default to following monitoring (its Prometheus evaluates the alert rules), and the
        # alert rules are PrometheusRules whose CRD comes with rancher-monitoring-crd.
        alerting = args.alerting if args.alerting is not None else context.config.monitoring.enabled
        monitoring = context.installed.get(ClusterMonitoring.config_key)
        return cls(
            name,
            args,
            context.handle,
            alerting=alerting,
            monitoring_crds=monitoring.crd if isinstance(monitoring, ClusterMonitoring) else None,
            opts=context.opts,
        )

    def __init__(
        self,
        name: str,
        args: ComplianceArgs,
        handle: ClusterHandle,
        *,
        alerting: bool,
        monitoring_crds: pulumi.Resource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = ComplianceArgs.model_validate(args)
        provider = require_kubernetes_provider(handle, "compliance scanning (ClusterScan)")
        family = family_for(handle.rancher_line)
        profile = args.scan_profile_name or rke2_profile_for(family, handle.kubernetes_version)
        version = args.chart_version or self.pinned_version(pins_for(handle.rancher_line))
        super().__init__("hardened-rke2:addons:ComplianceScanning", name, None, opts)
        self.family = family
        self.profile = profile

        self.crd = install_chart(
            f"{name}-crd",
            handle=handle,
            chart=f"{family.chart}-crd",
            version=version,
            namespace=family.namespace,
            values={},
            parent=self,
        )
        # The alert rules are PrometheusRules: their CRD comes with rancher-monitoring-crd.
        after: list[pulumi.Resource] = [self.crd]
        if alerting and monitoring_crds is not None:
            after.append(monitoring_crds)
        self.app = install_chart(
            name,
            handle=handle,
            chart=family.chart,
            version=version,
            namespace=family.namespace,
            values=compliance_values(alerting),
            parent=self,
            depends_on=after,
        )
        self.scan = k8s.apiextensions.CustomResource(
            f"{name}-scheduled-scan",
            api_version=family.api_version,
            kind="ClusterScan",
            metadata={"name": "hardened-rke2-scheduled"},
            spec=cluster_scan_spec(args, profile, alerting),
            opts=pulumi.ResourceOptions(
                parent=self, provider=provider, depends_on=[*handle.depends_on(), self.app]
            ),
        )
        self.register_outputs({"chart": family.chart, "version": version, "profile": profile})


def compliance_values(alerting: bool) -> dict[str, Any]:
    return {"alerts": {"enabled": alerting, "severity": "warning"}}


def cluster_scan_spec(args: ComplianceArgs, profile: str, alerting: bool) -> dict[str, Any]:
    return {
        "scanProfileName": profile,
        "scheduledScanConfig": {
            "cronSchedule": args.cron_schedule,
            "retentionCount": args.retention_count,
            "scanAlertRule": {"alertOnComplete": alerting, "alertOnFailure": alerting},
        },
    }
