"""NeuVector (Rancher's `neuvector` chart): runtime threat detection, network segmentation visibility,
vulnerability scanning and admission control (NSA/CISA guide: threat detection, image scanning).

Hardened values: 3 controllers (HA consensus), the RKE2 containerd socket, a generated bootstrap password
(a Pulumi secret; without one the chart falls back to a well-known default admin password), Rancher SSO
(`controller.ranchersso` + `global.cattle.url`), internal certificates generated and rotated by the chart,
admission and CRD webhooks on ClusterIP services, `leastPrivilege` service accounts, scanner and updater
on, `runAsUser` set for the manager/scanner/updater/cert-upgrader (the chart notes it must be set on a
Rancher-hardened cluster), the manager UI not exposed on a NodePort, telemetry reporting off.

Because the bootstrap password is inside the chart values, the whole values document is a secret.
Protect mode / admission rules can be delivered as NeuVector CRDs (`NvAdmissionControlSecurityRule`).

Admission rules and the platform: NeuVector checks its built-in allow rules, then the CRD's allow rules,
then the CRD's deny rules, and admits what no rule matches (neuvector/neuvector v5.4.9
`controller/cache/admission.go`, `MatchK8sAdmissionRules`); the built-in allow rules only cover
`kube-system`, `kube-public`, `istio-system` and NeuVector's own namespace (`controller/kv/create.go`,
`createDefAdmCtrlRules`). In `protect` mode
the deny rules would therefore refuse the platform's own privileged workloads (the compliance scan job runs
privileged with host PID, node-exporter uses the host network and PID namespace, fluent-bit runs as root,
Rancher's system-upgrade-controller runs privileged). So one allow rule, first, admits exactly the
platform namespaces (`components.addons.platform_namespaces`: the base Kubernetes/Rancher namespaces and
each enabled add-on's); every other namespace gets the deny rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, get_args

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml
from pydantic import Field

from components.addons.catalog import install_chart, require_kubernetes_provider
from components.addons.contract import InstallContext, PreflightContext
from components.addons.platform import PLATFORM_BASE_NAMESPACES
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import Problem, ProblemList
from components.versions import LinePins, pins_for

NAMESPACE = "cattle-neuvector-system"
RKE2_CONTAINERD_SOCKET = "/run/k3s/containerd/containerd.sock"


AdmissionCriterion = Literal[
    "runAsPrivileged",
    "runAsRoot",
    "allowPrivEscalation",
    "shareIpcWithHost",
    "shareNetWithHost",
    "sharePidWithHost",
]


class NeuVectorAdmissionRule(HardenedModel):
    """One deny rule of NeuVector's admission control, matching a container/pod property."""

    criterion: AdmissionCriterion
    """The container/pod property the rule denies."""
    comment: str = ""
    """Comment shown with the rule in NeuVector."""


DEFAULT_ADMISSION_RULES: tuple[NeuVectorAdmissionRule, ...] = tuple(
    # every criterion the model knows: the default denies them all
    NeuVectorAdmissionRule(criterion=c, comment=f"hardened-rke2: deny {c}")
    for c in get_args(AdmissionCriterion)
)


class NeuVectorAdmissionArgs(HardenedModel):
    """Admission control delivered as the cluster-wide `NvAdmissionControlSecurityRule` (name `local`)."""

    enabled: bool = True
    """Deliver the admission control rules."""
    mode: Literal["protect", "monitor"] = "protect"
    """`protect` denies matching workloads; `monitor` only reports them (the named weakening)."""
    rules: tuple[NeuVectorAdmissionRule, ...] = DEFAULT_ADMISSION_RULES
    """Deny rules; the default denies privileged, root, privilege escalation and host IPC / network / PID."""


class NeuVectorArgs(HardenedModel):
    enabled: bool = True
    """Install NeuVector; false removes runtime threat detection and admission control."""
    chart_version: str | None = None
    """Overrides the NeuVector chart pinned for the Rancher line (an explicit, reviewed choice)."""
    controller_replicas: int = Field(3, ge=1)
    """NeuVector controller replicas (3 for a quorum)."""
    scanner_replicas: int = Field(2, ge=1)
    """NeuVector image scanner replicas."""
    run_as_user: int = Field(5400, ge=1)
    """Non-root UID for the manager, scanner, updater and cert-upgrader pods."""
    rancher_sso: bool = True
    """Log in to the NeuVector console through Rancher (needs Rancher's URL)."""
    new_service_policy_mode: Literal["Discover", "Monitor", "Protect"] = "Monitor"
    """Policy mode of newly discovered services. Monitor alerts on violations without blocking
    unlearned behaviour; Protect blocks it (only after rules have been learned)."""
    admission: NeuVectorAdmissionArgs = Field(default_factory=NeuVectorAdmissionArgs)


class NeuVector(pulumi.ComponentResource):
    """`neuvector-crd` then `neuvector` with hardened values; optional admission-control CRD."""

    config_key: ClassVar[str] = "neuvector"
    args_model: ClassVar[type[HardenedModel]] = NeuVectorArgs

    @staticmethod
    def pinned_version(pins: LinePins) -> str:
        return pins.neuvector

    @classmethod
    def namespaces(cls, args: HardenedModel, rancher_line: str) -> tuple[str, ...]:
        return (NAMESPACE,)

    @classmethod
    def preflight(cls, args: NeuVectorArgs, cluster: PreflightContext) -> list[Problem]:
        problems = ProblemList()
        if args.rancher_sso and not cluster.rancher_url:
            problems.add(
                ["addons", "neuvector", "rancherSso"],
                "NeuVector's Rancher SSO needs the Rancher URL, and none is known",
                "set rancher.url (or rancher2:apiUrl), or neuvector.rancherSso: false",
            )
        return problems.items

    @classmethod
    def install(cls, name: str, args: NeuVectorArgs, context: InstallContext) -> NeuVector:
        return cls(
            name, args, context.handle, context.opts, platform_namespaces=context.platform_namespaces or None
        )

    bootstrap_password: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: NeuVectorArgs,
        handle: ClusterHandle,
        opts: pulumi.ResourceOptions | None = None,
        *,
        platform_namespaces: Sequence[str] | None = None,
    ) -> None:
        """`platform_namespaces`: the namespaces the admission rules exempt (default: the base platform
        namespaces and NeuVector's own; `ClusterAddons` passes every enabled add-on's)."""
        args = NeuVectorArgs.model_validate(args)
        exempt = tuple(platform_namespaces or (*PLATFORM_BASE_NAMESPACES, NAMESPACE))
        if args.rancher_sso and not handle.rancher_url:
            raise ValueError(
                f"neuVector.rancherSso needs the Rancher URL, but the ClusterHandle for {handle.name!r} has "
                "none (fix: set rancher.url in the stack config, or neuVector.rancherSso: false)"
            )
        provider = (
            require_kubernetes_provider(handle, "NeuVector admission rules")
            if args.admission.enabled
            else None
        )
        version = args.chart_version or self.pinned_version(pins_for(handle.rancher_line))
        super().__init__("hardened-rke2:addons:NeuVector", name, None, opts)

        password = random.RandomPassword(
            f"{name}-bootstrap-password",
            length=32,
            special=True,
            override_special="!#%*+-=?_",
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            min_special=2,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bootstrap_password = pulumi.Output.secret(password.result)

        self.crd = install_chart(
            f"{name}-crd",
            handle=handle,
            chart="neuvector-crd",
            version=version,
            namespace=NAMESPACE,
            values={},
            parent=self,
        )
        values = self.bootstrap_password.apply(lambda pw: neuvector_values(args, handle.rancher_url, pw))
        self.app = install_chart(
            name,
            handle=handle,
            chart="neuvector",
            version=version,
            namespace=NAMESPACE,
            values=values,
            parent=self,
            depends_on=[self.crd],
            secret_values=True,
        )

        self.admission_rule: k8s.apiextensions.CustomResource | None = None
        if args.admission.enabled:
            self.admission_rule = k8s.apiextensions.CustomResource(
                f"{name}-admission-control",
                api_version="neuvector.com/v1",
                kind="NvAdmissionControlSecurityRule",
                metadata={"name": "local"},
                spec=admission_rule_spec(args.admission, exempt),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, depends_on=[*handle.depends_on(), self.app]
                ),
            )

        self.register_outputs({"version": version, "bootstrapPassword": self.bootstrap_password})


def neuvector_values(args: NeuVectorArgs, rancher_url: str | None, bootstrap_password: str) -> dict[str, Any]:
    uid = args.run_as_user
    sysinit = yaml.safe_dump(
        {"New_Service_Policy_Mode": args.new_service_policy_mode, "No_Telemetry_Report": True},
        sort_keys=True,
    )
    values: dict[str, Any] = {
        "bootstrapPassword": bootstrap_password,
        "autoGenerateCert": True,
        "internal": {"autoGenerateCert": True, "autoRotateCert": True},
        "leastPrivilege": True,
        "runtimePath": RKE2_CONTAINERD_SOCKET,
        "k3s": {"enabled": True, "runtimePath": RKE2_CONTAINERD_SOCKET},
        "controller": {
            "replicas": args.controller_replicas,
            "ranchersso": {"enabled": args.rancher_sso},
            "certupgrader": {"runAsUser": uid},
            "configmap": {"enabled": True, "data": {"sysinitcfg.yaml": sysinit}},
        },
        "admissionwebhook": {"type": "ClusterIP"},
        "crdwebhook": {"enabled": True, "type": "ClusterIP"},
        "crdwebhooksvc": {"enabled": True},
        "manager": {"runAsUser": uid, "svc": {"type": "ClusterIP"}},
        "cve": {
            "scanner": {"enabled": True, "replicas": args.scanner_replicas, "runAsUser": uid},
            "updater": {"enabled": True, "runAsUser": uid},
            "adapter": {"enabled": False},
        },
    }
    if args.rancher_sso and rancher_url:
        values["global"] = {"cattle": {"url": rancher_url.rstrip("/") + "/"}}
    return values


PLATFORM_ALLOW_COMMENT = "hardened-rke2: platform namespaces (the blueprint's own workloads)"


def admission_rule_spec(
    admission: NeuVectorAdmissionArgs, platform_namespaces: Sequence[str]
) -> dict[str, Any]:
    """The allow rule for the platform namespaces first, then the deny rules for everything else."""
    allow = {
        "action": "allow",
        "comment": PLATFORM_ALLOW_COMMENT,
        "criteria": [{"name": "namespace", "op": "containsAny", "value": ",".join(platform_namespaces)}],
        "disabled": False,
    }
    return {
        "config": {"enable": True, "mode": admission.mode, "client_mode": "service"},
        "rules": [allow]
        + [
            {
                "action": "deny",
                "comment": rule.comment,
                "criteria": [{"name": rule.criterion, "op": "=", "value": "true"}],
                "disabled": False,
            }
            for rule in admission.rules
        ],
    }
