"""Cluster-wide Pod Security Admission: Rancher's `rancher-restricted` template or a custom one.

`rancher-restricted` is built into Rancher (restricted everywhere, Rancher's system namespaces exempt).
A custom template keeps `restricted` as the default for enforce/audit/warn; every exemption must carry a
reason so the exemption list can be audited.
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_rancher2 as rancher2
from pydantic import Field, model_validator

from components.kube_names import DnsLabel
from components.model import HardenedModel
from components.problems import ConfigProblems

BUILTIN_RESTRICTED = "rancher-restricted"
PsaLevel = Literal["privileged", "baseline", "restricted"]
_LEVEL_ORDER = {"privileged": 0, "baseline": 1, "restricted": 2}


class PsaExemption(HardenedModel):
    """One exempted namespace, username or runtime class, with the reason it is needed."""

    namespace: DnsLabel | None = None
    """Exempted namespace."""
    username: str | None = None
    """Exempted user name."""
    runtime_class: str | None = None
    """Exempted runtime class."""
    reason: str = Field(min_length=10)
    """Why the exemption is needed (at least 10 characters)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> PsaExemption:
        if sum(x is not None for x in (self.namespace, self.username, self.runtime_class)) != 1:
            raise ValueError("give exactly one of namespace, username or runtimeClass")
        return self


class CustomPsaTemplateArgs(HardenedModel):
    name: DnsLabel
    """Template name (DNS label)."""
    description: str = "Restricted pod security with audited exemptions (hardened-rke2)"
    """Template description shown in Rancher."""
    enforce: PsaLevel = "restricted"
    """Enforced level; below `restricted` needs `allowWeakerLevels`."""
    audit: PsaLevel = "restricted"
    """Audit level; below `restricted` needs `allowWeakerLevels`."""
    warn: PsaLevel = "restricted"
    """Warn level; below `restricted` needs `allowWeakerLevels`."""
    version: str = Field("latest", pattern=r"^(latest|v1\.\d+)$")
    """Policy version: `latest` or `v1.<minor>`."""
    exemptions: tuple[PsaExemption, ...] = ()
    """Exempted namespaces, users or runtime classes, each with a reason."""
    allow_weaker_levels: bool = False
    """Named weakening: needed for any level below `restricted` (the policy pack reports it)."""

    @model_validator(mode="after")
    def _restricted_unless_weakened(self) -> CustomPsaTemplateArgs:
        weak = [n for n in ("enforce", "audit", "warn") if _LEVEL_ORDER[getattr(self, n)] < 2]
        if weak and not self.allow_weaker_levels:
            raise ValueError(
                f"{', '.join(weak)} below 'restricted'; set allowWeakerLevels: true to accept that explicitly"
            )
        if self.name == BUILTIN_RESTRICTED or self.name.startswith("rancher-"):
            raise ValueError("the name clashes with Rancher's built-in templates; choose another")
        return self


class PodSecurityArgs(HardenedModel):
    template: DnsLabel = BUILTIN_RESTRICTED
    """Existing template used when `custom` is not given: `rancher-restricted`; any other template's levels
    cannot be verified here and needs `allowUnverifiedTemplate`."""
    custom: CustomPsaTemplateArgs | None = None
    """A custom PSA template created by the stack and made the cluster default (instead of `template`)."""
    allow_unverified_template: bool = False
    """Named weakening: use an existing `template` other than `rancher-restricted` (e.g. one managed
    outside this stack), whose levels nobody checks here; the policy pack reports it."""

    @model_validator(mode="after")
    def _restricted_template(self) -> PodSecurityArgs:
        if self.custom is not None or self.template == BUILTIN_RESTRICTED:
            return self
        if self.template == "rancher-privileged":
            raise ValueError(
                "'rancher-privileged' disables pod security; use rancher-restricted or a custom template"
            )
        if not self.allow_unverified_template:
            raise ConfigProblems.one(
                f"{self.template!r} is not known to enforce restricted (only rancher-restricted and this "
                "stack's `custom` template are)",
                "use rancher-restricted or `custom`, or set allowUnverifiedTemplate: true",
                "template",
            )
        return self

    @property
    def template_name(self) -> str:
        return self.custom.name if self.custom else self.template


class PodSecurityTemplate(pulumi.ComponentResource):
    """Creates the custom template (if any); `template_name` is what the cluster references."""

    template_name: str
    template: rancher2.PodSecurityAdmissionConfigurationTemplate | None

    def __init__(self, name: str, args: PodSecurityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("hardened-rke2:pod_security:PodSecurityTemplate", name, None, opts)
        self.template_name = args.template_name
        self.template = None
        c = args.custom
        if c is not None:
            ex = c.exemptions
            self.template = rancher2.PodSecurityAdmissionConfigurationTemplate(
                f"{name}-psa",
                name=c.name,
                description=c.description,
                annotations={
                    # The audit trail of every exemption travels with the object.
                    f"hardened-rke2.io/exemption-{i}": (
                        f"{e.namespace or e.username or e.runtime_class}: {e.reason}"
                    )
                    for i, e in enumerate(ex)
                },
                defaults=rancher2.PodSecurityAdmissionConfigurationTemplateDefaultsArgs(
                    enforce=c.enforce,
                    enforce_version=c.version,
                    audit=c.audit,
                    audit_version=c.version,
                    warn=c.warn,
                    warn_version=c.version,
                ),
                exemptions=rancher2.PodSecurityAdmissionConfigurationTemplateExemptionsArgs(
                    namespaces=sorted(e.namespace for e in ex if e.namespace) or None,
                    usernames=sorted(e.username for e in ex if e.username) or None,
                    runtime_classes=sorted(e.runtime_class for e in ex if e.runtime_class) or None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"templateName": self.template_name})
