"""The NSA/CISA pack's control catalogue and exemption records, read from the pack directory.

The engine never imports `nsa_cisa` as a package of its own (the pack runs in its own process under the
real engine); like the `controls` command, these readers put the pack directory on `sys.path` for the call
only (`pack_import_scope`) and return plain data, so nothing of the pack outlives the call.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hardened_rke2.analysis.packs import pack_import_scope, read_pack_yaml
from hardened_rke2.project import PreviewUsageError


@dataclass(frozen=True)
class Control:
    """One checklist id of the catalogue (`nsa_cisa/controls.yaml` plus the policies tagged with it)."""

    id: str
    title: str
    section: str
    preview: str
    """K, K* or R: decidable at preview; RT: runtime/organisational only."""
    enforced_by: tuple[str, ...]
    implemented_by: tuple[str, ...]
    """`<file>: <setting>` entries: the component settings that implement the control."""
    manual_reason: str | None
    no_policy_reason: str | None

    @property
    def checkable_at_preview(self) -> bool:
        return self.preview != "RT"


@dataclass(frozen=True)
class PolicyMeta:
    name: str
    level: str
    """The enforcement level the pack declares (a pack config may change it per run)."""
    severity: str
    url: str


@dataclass(frozen=True)
class Catalogue:
    pack_name: str
    pack_version: str
    framework: str
    framework_version: str
    guide_url: str
    sections: Mapping[str, str]
    """Section key -> title, in the guide's order (without the pack's own `governance`)."""
    controls: tuple[Control, ...]
    policies: Mapping[str, PolicyMeta]

    def control(self, cid: str) -> Control:
        return next(c for c in self.controls if c.id == cid)


@dataclass(frozen=True)
class ExemptionRecord:
    """An exemption in force on a resource (as `exemption-applied` reports it)."""

    policy: str
    reason: str
    expires: dt.date
    approved_by: str
    source: str


@contextmanager
def _pack_modules(pack_dir: Path) -> Iterator[None]:
    if not (pack_dir / "nsa_cisa" / "catalogue.py").is_file():
        raise PreviewUsageError(
            f"{pack_dir} has no nsa_cisa/catalogue.py: not the NSA/CISA pack (use --policy-pack)"
        )
    with pack_import_scope(pack_dir):
        sys.path.insert(0, str(pack_dir))
        yield


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _level(value: Any) -> str:
    return str(getattr(value, "value", value) or "advisory")


def load_catalogue(pack_dir: str | Path) -> Catalogue:
    """The catalogue of the pack at `pack_dir`, in the checklist's order."""
    path = Path(pack_dir).resolve()
    meta = read_pack_yaml(path)
    with _pack_modules(path):
        catalogue = _module("nsa_cisa.catalogue")
        framework = _module("nsa_cisa.framework")
        policies = _module("nsa_cisa").ALL_POLICIES
        entries = catalogue.load_catalogue(policies)
        return Catalogue(
            pack_name=str(meta.get("name") or path.name),
            pack_version=str(meta.get("version") or "0.0.0"),
            framework=framework.FRAMEWORK_NAME,
            framework_version=framework.FRAMEWORK_VERSION,
            guide_url=framework.GUIDE_URL,
            sections={k: framework.SECTIONS[k] for k in catalogue.SECTIONS},
            controls=tuple(
                Control(
                    id=e.id,
                    title=e.title,
                    section=e.section,
                    preview=e.preview,
                    enforced_by=tuple(e.enforced_by),
                    implemented_by=tuple(e.implemented_by),
                    manual_reason=e.manual_reason,
                    no_policy_reason=e.no_policy_reason,
                )
                for e in sorted(entries, key=lambda e: _id_key(e.id))
            ),
            policies={
                p.name: PolicyMeta(p.name, _level(p.enforcement_level), _level(p.severity), p.url or "")
                for p in policies
            },
        )


def _id_key(cid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in cid.removeprefix("NSA-").split("."))


ExemptionQuery = tuple[Mapping[str, Any], Mapping[str, Any], str, str]
"""(resource inputs, the `exemption-applied` policy's config, URN, resource name)."""


def exemptions_in_force(
    pack_dir: str | Path, queries: Sequence[ExemptionQuery], today: dt.date
) -> list[list[ExemptionRecord]]:
    """For each query, the records in force, evaluated by the pack's own code (`records_in_force`)."""
    with _pack_modules(Path(pack_dir).resolve()):
        policies = _module("nsa_cisa.exemption_policies")
        out: list[list[ExemptionRecord]] = []
        for props, config, urn, name in queries:
            out.append(
                [
                    ExemptionRecord(r.policy, r.reason, r.expires, r.approved_by, r.source)
                    for r in policies.records_in_force(props, config, urn, name, today)
                ]
            )
        return out
