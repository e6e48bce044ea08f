"""What an analysis produces: policy metadata, violations, remediations, not-applicable notes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardened_rke2.analysis.wire import BLOCKING_LEVELS


@dataclass(frozen=True)
class PolicyInfo:
    """A policy's metadata, as `GetAnalyzerInfo` reports it."""

    name: str
    description: str
    enforcement_level: str
    policy_type: str
    """`resource` or `stack`."""
    display_name: str = ""
    severity: str | None = None
    framework: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    remediation_steps: str = ""
    url: str = ""
    config_schema: Mapping[str, Any] | None = None
    """`{"properties": {...}, "required": [...]}` as declared by the pack (without the injected level)."""


@dataclass
class Violation:
    """One policy diagnostic, attributed to a resource (or to the stack when `urn` is empty)."""

    policy_name: str
    description: str
    message: str
    """What the policy reported (the SDK prefixes it with the description on the wire; stripped here)."""
    enforcement_level: str
    urn: str
    resource_type: str
    resource_name: str
    severity: str | None
    tags: tuple[str, ...]
    pack_name: str
    pack_version: str = ""
    phase: str = "analyze"
    """`analyze`, `analyze-stack` or `remediate` (a remediation that could not run during preview)."""

    @property
    def is_mandatory(self) -> bool:
        return self.enforcement_level in BLOCKING_LEVELS

    @property
    def is_preview_unknown(self) -> bool:
        """The SDK's advisory for a policy that read a value unknown during preview."""
        return "during preview:" in self.message and self.message.startswith("can't run")

    def to_dict(self) -> dict[str, Any]:
        return {
            "policyName": self.policy_name,
            "packName": self.pack_name,
            "packVersion": self.pack_version,
            "enforcementLevel": self.enforcement_level,
            "severity": self.severity,
            "description": self.description,
            "message": self.message,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "tags": list(self.tags),
            "phase": self.phase,
        }


@dataclass(frozen=True)
class RemediationRecord:
    policy_name: str
    pack_name: str
    urn: str
    description: str


@dataclass(frozen=True)
class NotApplicable:
    policy_name: str
    urn: str
    reason: str


@dataclass
class AnalysisResult:
    violations: list[Violation]
    remediations: dict[str, dict[str, Any]]
    """URN -> the inputs after remediation (plain values; only resources a remediation changed)."""
    remediation_records: list[RemediationRecord] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    resources_analyzed: int = 0

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.is_mandatory]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.is_mandatory]

    @property
    def has_mandatory(self) -> bool:
        return any(v.is_mandatory for v in self.violations)

    def by_policy(self, name: str) -> list[Violation]:
        return [v for v in self.violations if v.policy_name == name]
