"""A preview's verdict per control of the NSA/CISA catalogue, for the evidence report and OSCAL.

Each policy of the pack gets one outcome for the stack: `pass` (it ran and reported nothing), `fail` (a
violation, mandatory or advisory), `not-checkable` (it could only say that a value it needs is unknown until
deployment) or `disabled` (by the pack config). Each control then is:
- `satisfied`: every policy checking it passed on this stack's resources;
- `not-satisfied`: a policy checking it reported a violation;
- `not-checkable`: the preview cannot decide it, with the reason: runtime/organisational only (the
  catalogue's `manual_reason`), no policy checks it (`no_policy_reason`), its policies are disabled, a
  value is unknown until deployment, or the preview did not complete.
Exemptions in force (as `exemption-applied` reports them, evaluated by the pack's own code) are listed
per resource and attached to the controls of the policies they name.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

from hardened_rke2.analysis.results import Violation
from hardened_rke2.pack_catalogue import (
    Catalogue,
    Control,
    ExemptionQuery,
    ExemptionRecord,
    exemptions_in_force,
)
from hardened_rke2.preview import PackSummary, PreviewResult

EXEMPTION_POLICY = "exemption-applied"
STATES = ("satisfied", "not-satisfied", "not-checkable")


@dataclass(frozen=True)
class PolicyOutcome:
    name: str
    level: str
    """The effective enforcement level of this run (after the pack config)."""
    outcome: str
    """`pass`, `fail`, `not-checkable` or `disabled`."""
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class Exemption:
    urn: str
    resource_type: str
    resource_name: str
    record: ExemptionRecord


@dataclass(frozen=True)
class ControlResult:
    control: Control
    state: str
    """One of STATES."""
    reason: str
    policies: tuple[str, ...]
    """The policies of the control that ran (not disabled)."""
    violations: tuple[Violation, ...] = ()
    exemptions: tuple[Exemption, ...] = ()


@dataclass
class Assessment:
    result: PreviewResult
    catalogue: Catalogue
    assessed_at: dt.datetime
    policies: list[PolicyOutcome] = field(default_factory=list)
    controls: list[ControlResult] = field(default_factory=list)
    exemptions: list[Exemption] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.controls if c.state == s) for s in STATES}


def _pack(result: PreviewResult, catalogue: Catalogue) -> PackSummary | None:
    return next((p for p in result.packs if p.name == catalogue.pack_name), None)


def _policy_outcomes(
    result: PreviewResult, catalogue: Catalogue, pack: PackSummary | None
) -> list[PolicyOutcome]:
    if pack is None or result.analysis is None:
        return []
    by_policy: dict[str, list[Violation]] = {}
    for v in result.violations:
        if v.pack_name == pack.name:
            by_policy.setdefault(v.policy_name, []).append(v)
    outcomes = []
    for info in pack.policies:
        cfg = pack.config.get(info.name)
        level = cfg.enforcement_level if cfg is not None and cfg.enforcement_level else info.enforcement_level
        found = tuple(by_policy.get(info.name, ()))
        if level == "disabled":
            outcome = "disabled"
        elif any(not v.is_preview_unknown for v in found):
            outcome = "fail"
        elif found:
            outcome = "not-checkable"
        else:
            outcome = "pass"
        outcomes.append(PolicyOutcome(info.name, level, outcome, found))
    return outcomes


def _exemptions(result: PreviewResult, pack: PackSummary | None, today: dt.date) -> list[Exemption]:
    """The records in force on every resource `exemption-applied` reported."""
    if pack is None:
        return []
    by_urn = {r.urn: r for r in result.resources}
    cfg = pack.config.get(EXEMPTION_POLICY)
    config = dict(cfg.properties or {}) if cfg is not None else {}
    urns = sorted({v.urn for v in result.violations if v.policy_name == EXEMPTION_POLICY and v.urn in by_urn})
    if not urns:
        return []
    queries: list[ExemptionQuery] = [(by_urn[u].inputs, config, u, by_urn[u].name) for u in urns]
    found = exemptions_in_force(pack.dir, queries, today)
    return [
        Exemption(u, by_urn[u].type, by_urn[u].name, record)
        for u, records in zip(urns, found, strict=True)
        for record in records
    ]


def _describe(v: Violation) -> str:
    where = f"{v.resource_type} {v.resource_name}" if v.resource_type else "the stack"
    return f"{v.policy_name} on {where}"


def _control_result(
    control: Control,
    outcomes: dict[str, PolicyOutcome],
    result: PreviewResult,
    exemptions: Sequence[Exemption],
) -> ControlResult:
    def not_checkable(reason: str, active: tuple[str, ...] = ()) -> ControlResult:
        return ControlResult(control, "not-checkable", reason, active)

    if not control.enforced_by:
        return not_checkable(
            control.manual_reason or control.no_policy_reason or "no policy of the pack checks it"
        )
    if result.analysis is None:
        why = result.error or "; ".join(result.problems) or result.status
        return not_checkable(f"the preview did not complete ({result.status}): {why}")
    active = tuple(p for p in control.enforced_by if p in outcomes and outcomes[p].outcome != "disabled")
    if not active:
        return not_checkable(
            "every policy that checks it is disabled by the pack config: " + ", ".join(control.enforced_by)
        )
    mine = tuple(e for e in exemptions if any(fnmatch.fnmatchcase(p, e.record.policy) for p in active))
    violations = tuple(v for p in active for v in outcomes[p].violations)
    failed = tuple(v for v in violations if not v.is_preview_unknown)
    runtime = control.preview == "RT"
    remainder = f" The rest is not checkable at preview: {control.manual_reason}" if runtime else ""
    if failed:
        listed = "; ".join(sorted({_describe(v) for v in failed}))
        reason = f"{len(failed)} violation(s): {listed}.{remainder}"
        return ControlResult(control, "not-satisfied", reason, active, failed, mine)
    if violations:
        listed = "; ".join(sorted({_describe(v) for v in violations}))
        passed = ", ".join(p for p in active if not outcomes[p].violations) or "none"
        reason = f"a value needed is unknown until deployment ({listed}); other checks passed: {passed}"
        return ControlResult(control, "not-checkable", reason, active, violations, mine)
    reason = f"no violation of {', '.join(active)} on the {len(result.resources)} resources of this stack."
    return ControlResult(control, "satisfied", reason + remainder, active, (), mine)


def assess(result: PreviewResult, catalogue: Catalogue, *, now: dt.datetime | None = None) -> Assessment:
    """Outcomes per policy and results per control of one preview (`now` in UTC by default)."""
    when = now or dt.datetime.now(dt.timezone.utc)
    pack = _pack(result, catalogue)
    outcomes = _policy_outcomes(result, catalogue, pack)
    by_name = {o.name: o for o in outcomes}
    exemptions = _exemptions(result, pack, when.date())
    assessment = Assessment(result, catalogue, when, outcomes, exemptions=exemptions)
    if pack is None and result.analysis is not None:
        result_for_controls = PreviewResult(
            project=result.project,
            stack=result.stack,
            status="usage-error",
            error=f"the preview ran without the {catalogue.pack_name} policy pack (use --policy-pack)",
        )
    else:
        result_for_controls = result
    assessment.controls = [
        _control_result(c, by_name, result_for_controls, exemptions) for c in catalogue.controls
    ]
    return assessment
