"""Governance of exemptions: every record must be justified, and every record in force is visible."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from nsa_cisa import exemptions as ex
from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import POLICY_NAMES, ReportFn, as_int

# The pack's own governance: an exemption cannot silence these, and exempt namespaces do not apply.
GROUP = PolicyGroup(__name__, section="governance", honor_exempt_namespaces=False)


def _records(args: Any) -> list[ex.Exemption]:
    return ex.exemptions_for(args.props, args.get_config(), args.urn, args.name)


def records_in_force(props: Any, config: Any, urn: str, name: str, today: _dt.date) -> list[ex.Exemption]:
    """The well-formed, unexpired records on a resource that name a policy of this pack: what
    `exemption-applied` reports (and what the engine's OSCAL assessment results list as risks)."""
    return [
        rec
        for rec in ex.exemptions_for(props, config, urn, name)
        if not rec.problems and not rec.expired(today) and any(rec.names(n) for n in POLICY_NAMES)
    ]


@GROUP.policy(
    name="exemption-must-be-justified",
    description="Every exemption (annotation policy.hardened-rke2.io/exemptions or pack config) names a "
    "policy and carries a reason and an expiry date within the allowed review period.",
    severity="medium",
    nsa=(),
    exemptible=False,
    config_schema={
        "maxExemptionDays": {
            "type": "integer",
            "minimum": 0,
            "default": 366,
            "description": "Longest allowed exemption (0 = unlimited).",
        }
    },
    remediation_steps="Give each exemption record `policy`, `reason`, `expires: YYYY-MM-DD` (and "
    "`approvedBy`), or remove it.",
)
def _justified(args: Any, report: ReportFn) -> None:
    max_days = as_int(args.get_config().get("maxExemptionDays"))
    today = ex.today_utc()
    for rec in _records(args):
        label = f"exemption for '{rec.policy or '?'}' ({rec.source})"
        if rec.problems:
            report(f"{label} is not acceptable: {'; '.join(rec.problems)}. It does not exempt anything.")
        elif not any(rec.names(name) for name in POLICY_NAMES):
            report(f"{label} names no policy of this pack (typo?): it exempts nothing")
        elif (
            max_days is not None
            and max_days > 0
            and rec.expires is not None
            and rec.expires > today + _dt.timedelta(days=max_days)
        ):
            report(
                f"{label} expires {rec.expires}, more than {max_days} days ahead; exemptions must be "
                "reviewed at least that often."
            )


@GROUP.policy(
    name="exemption-applied",
    description="Reports every exemption in force on a resource (who, why, until when) so it shows in every "
    "preview.",
    severity="low",
    nsa=(),
    enforcement_level="advisory",
    exemptible=False,
    remediation_steps="Nothing to fix now; remove the exemption once the underlying violation is fixed, and "
    "before it expires.",
)
def _applied(args: Any, report: ReportFn) -> None:
    for rec in records_in_force(args.props, args.get_config(), args.urn, args.name, ex.today_utc()):
        report(f"exempted from {rec.describe()}")
