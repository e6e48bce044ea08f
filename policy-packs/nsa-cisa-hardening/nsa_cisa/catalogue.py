"""The control catalogue: every NSA/CISA checklist id with how it is covered.

`controls.yaml` (next to this file) holds what people decide: title, section, preview class, the
component setting(s) implementing the control, and the reasons a control is manual or has no policy.
What machines can derive is derived here: `enforced_by` lists the policies whose tags carry the id, so
the catalogue cannot drift from the pack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

CONTROLS_FILE = Path(__file__).with_name("controls.yaml")
PREVIEW_CLASSES = ("K", "K*", "R", "RT")
PREVIEW_CHECKABLE = frozenset({"K", "K*", "R"})
SECTIONS = ("pod-security", "network", "authn-authz", "logging", "upgrades")


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class ControlEntry:
    id: str
    title: str
    section: str
    preview: str
    enforced_by: tuple[str, ...]
    implemented_by: tuple[str, ...]
    manual_reason: str | None = None
    no_policy_reason: str | None = None

    @property
    def status(self) -> str:
        """enforced (a policy checks it at preview), manual (runtime/organisational), or documented gap."""
        if self.enforced_by:
            return "enforced" if self.preview != "RT" else "enforced (partial) + manual"
        if self.preview == "RT":
            return "manual"
        return "no policy (documented)" if self.no_policy_reason else "GAP"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["enforced_by"] = list(self.enforced_by)
        d["implemented_by"] = list(self.implemented_by)
        d["status"] = self.status
        return d


def _policies() -> list[Any]:
    from nsa_cisa import ALL_POLICIES  # late: the package imports every policy module

    return list(ALL_POLICIES)


def policy_ids(policies: Iterable[Any]) -> dict[str, list[str]]:
    """Checklist id -> names of the policies tagged with it (in pack order)."""
    out: dict[str, list[str]] = {}
    for p in policies:
        for tag in getattr(p, "tags", None) or []:
            if isinstance(tag, str) and tag.startswith("NSA-"):
                out.setdefault(tag, []).append(p.name)
    return out


def read_controls(path: Path = CONTROLS_FILE) -> list[Mapping[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    controls = data.get("controls") if isinstance(data, Mapping) else None
    if not isinstance(controls, list):
        raise CatalogueError(f"{path}: expected a top-level 'controls' list")
    problems = []
    seen: set[str] = set()
    for i, c in enumerate(controls):
        where = f"{path.name}: controls[{i}]"
        if not isinstance(c, Mapping):
            problems.append(f"{where}: not a mapping")
            continue
        cid = c.get("id")
        if not isinstance(cid, str) or not cid.startswith("NSA-"):
            problems.append(f"{where}: id {cid!r} is not an NSA-x.y id")
        elif cid in seen:
            problems.append(f"{where}: duplicate id {cid}")
        else:
            seen.add(cid)
        if c.get("preview") not in PREVIEW_CLASSES:
            problems.append(f"{where} ({cid}): preview must be one of {PREVIEW_CLASSES}")
        if c.get("section") not in SECTIONS:
            problems.append(f"{where} ({cid}): section must be one of {SECTIONS}")
        if not isinstance(c.get("title"), str) or not c.get("title"):
            problems.append(f"{where} ({cid}): title is required")
        if c.get("preview") == "RT" and not c.get("manual_reason"):
            problems.append(f"{where} ({cid}): an RT control needs a manual_reason")
        impl = c.get("implemented_by", [])
        if not isinstance(impl, list) or not all(isinstance(x, str) for x in impl):
            problems.append(f"{where} ({cid}): implemented_by must be a list of strings")
    if problems:
        raise CatalogueError("invalid control catalogue:\n  " + "\n  ".join(problems))
    return controls


def load_catalogue(policies: Sequence[Any] | None = None, path: Path = CONTROLS_FILE) -> list[ControlEntry]:
    """Every checklist control with `enforced_by` computed from the policies' tags (the pack's by default)."""
    by_id = policy_ids(_policies() if policies is None else policies)
    return [
        ControlEntry(
            id=str(c["id"]),
            title=str(c["title"]),
            section=str(c["section"]),
            preview=str(c["preview"]),
            enforced_by=tuple(by_id.get(str(c["id"]), [])),
            implemented_by=tuple(c.get("implemented_by") or ()),
            manual_reason=c.get("manual_reason") or None,
            no_policy_reason=c.get("no_policy_reason") or None,
        )
        for c in read_controls(path)
    ]


def _id_key(cid: str) -> tuple[int, int]:
    major, _, minor = cid.removeprefix("NSA-").partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else (999, 999)


def format_table(entries: Sequence[ControlEntry], *, width: int = 60) -> str:
    """A plain-text table: id, preview class, status, enforcing policies, title (truncated)."""

    def cut(text: str, n: int) -> str:
        return text if len(text) <= n else text[: n - 1] + "…"

    rows = [("ID", "PREVIEW", "STATUS", "POLICIES", "CONTROL")]
    for e in sorted(entries, key=lambda x: _id_key(x.id)):
        rows.append((e.id, e.preview, e.status, str(len(e.enforced_by)), cut(e.title, width)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    enforced = sum(1 for e in entries if e.enforced_by)
    manual = sum(1 for e in entries if e.preview == "RT")
    lines.append("")
    lines.append(
        f"{len(entries)} controls: {enforced} enforced by at least one policy, {manual} runtime/manual, "
        f"{sum(1 for e in entries if e.status == 'GAP')} gaps"
    )
    return "\n".join(lines)
