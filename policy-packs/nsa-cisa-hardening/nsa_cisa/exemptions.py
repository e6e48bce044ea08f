"""Exemption records: parsing and evaluation (no policies here; see `exemption_policies.py`).

An exemption names a policy (exact name or glob), a reason, an expiry date (YYYY-MM-DD, inclusive) and
who approved it. It comes either from the resource itself, in the annotation
`policy.hardened-rke2.io/exemptions` (a JSON or YAML list of records, on Kubernetes `metadata.annotations`
or on the top-level `annotations` input of rancher2 resources), or from the pack config `exemptions`
list, whose records also carry `resource`: a glob over the resource's URN or name.

A record that lacks a reason or a valid expiry never exempts anything (and is reported by
`exemption-must-be-justified`); an expired record never exempts either.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from nsa_cisa.render import safe_repr

EXEMPTIONS_ANNOTATION = "policy.hardened-rke2.io/exemptions"


@dataclass(frozen=True)
class Exemption:
    policy: str
    reason: str
    expires: _dt.date | None
    approved_by: str
    source: str  # "annotation" or "pack config"
    problems: tuple[str, ...]  # why the record is not acceptable (empty = well formed)

    def names(self, policy_name: str) -> bool:
        return bool(self.policy) and fnmatch.fnmatchcase(policy_name, self.policy)

    def expired(self, today: _dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def applies(self, policy_name: str, today: _dt.date) -> bool:
        return not self.problems and self.names(policy_name) and not self.expired(today)

    def describe(self) -> str:
        until = self.expires.isoformat() if self.expires else "?"
        who = self.approved_by or "unknown approver"
        return (
            f"'{self.policy}' until {until} ({self.source}; reason: {safe_repr(self.reason)}; "
            f"approved by {who})"
        )


def today_utc() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (_dt.date, int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _parse_date(value: Any) -> _dt.date | None:
    # YAML turns an unquoted 2026-01-31 into a date already.
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_record(raw: Any, source: str) -> Exemption:
    if not isinstance(raw, Mapping):
        problem = "an exemption must be a mapping with policy/reason/expires"
        return Exemption("", "", None, "", source, (problem,))
    policy = _text(raw.get("policy"))
    reason = _text(raw.get("reason"))
    expires_raw = raw.get("expires")
    expires = _parse_date(expires_raw)
    approved = _text(raw.get("approvedBy"))
    problems = []
    if not policy:
        problems.append("no 'policy' named")
    if not reason:
        problems.append("no 'reason' given")
    if expires_raw is None or expires_raw == "":
        problems.append("no 'expires' date (YYYY-MM-DD)")
    elif expires is None:
        problems.append(f"'expires' {safe_repr(expires_raw)} is not a YYYY-MM-DD date")
    return Exemption(policy, reason, expires, approved, source, tuple(problems))


def parse_annotation(text: Any) -> list[Exemption]:
    """Parse the annotation value; an unparseable value yields one record carrying the problem."""
    if not isinstance(text, str) or not text.strip():
        return (
            []
            if text is None or text == ""
            else [Exemption("", "", None, "", "annotation", ("annotation value must be a JSON/YAML list",))]
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [Exemption("", "", None, "", "annotation", (f"annotation is not valid JSON/YAML: {exc}",))]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        return [Exemption("", "", None, "", "annotation", ("annotation must hold a list of exemptions",))]
    return [parse_record(item, "annotation") for item in data]


def resource_annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """Kubernetes `metadata.annotations`, else the top-level `annotations` input (rancher2 resources)."""
    meta = props.get("metadata") if isinstance(props, Mapping) else None
    if isinstance(meta, Mapping):
        ann = meta.get("annotations")
        if isinstance(ann, Mapping):
            return ann
    ann = props.get("annotations") if isinstance(props, Mapping) else None
    return ann if isinstance(ann, Mapping) else {}


def config_records(config: Mapping[str, Any], urn: str, name: str) -> list[Exemption]:
    """Pack-config exemptions whose `resource` glob matches this resource's URN or name."""
    raw = config.get("exemptions") if isinstance(config, Mapping) else None
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    out = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        pattern = _text(item.get("resource"))
        if pattern and (fnmatch.fnmatchcase(urn or "", pattern) or fnmatch.fnmatchcase(name or "", pattern)):
            out.append(parse_record(item, "pack config"))
    return out


def exemptions_for(
    props: Mapping[str, Any], config: Mapping[str, Any], urn: str, name: str
) -> list[Exemption]:
    ann = resource_annotations(props)
    records = parse_annotation(ann.get(EXEMPTIONS_ANNOTATION))
    return records + config_records(config, urn, name)
