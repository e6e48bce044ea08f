"""`hardened-rke2 preview --against OLD.json`: what `pulumi preview` would plan between two offline previews.

Both sides are `--json` documents (every resource's type, URN, inputs with secrets redacted, provider,
dependencies). Each resource gets one step, decided the way the engine decides it:
- `create` / `delete`: the URN is only in the new / old preview;
- `replace`, reason `provider replaced`: its explicit provider is replaced (the engine replaces every
  resource whose provider reference changes: pulumi/pulumi step_generator.go, see the table's `engine`);
- `replace`, reason = the input path: a changed input that the provider's schema marks as forcing a new
  resource (`replacements.py`);
- `update` (with the changed input paths) / `same`.
Providers follow their own DiffConfig: pulumi-kubernetes replaces when the kubeconfig is unknown (or its
cluster changes) unless `clusterIdentifier` is set and unchanged; rancher2's (TF-bridged) never replaces.

Unknown values: the offline engine knows no computed output, so an input built from one is `[unknown]` in
both previews. The real engine knows it from state unless the resource it comes from is created or
replaced; so an unknown input counts as changed only when one of its dependencies is created or replaced,
and a change that rests on such an unknown is reported as *possible*, as the engine's own preview would
show it (an unknown in a replace-forcing input is planned as a replacement).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hardened_rke2.day2_plan import operation_warnings
from hardened_rke2.replacements import (
    KUBERNETES_PROVIDER,
    RANCHER2_PROVIDER,
    forcing_rule,
    provider_versions,
    replace_rules,
)

UNKNOWN = "[unknown]"
_RAW_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the SDK's wire sentinel (older --json documents)
STACK_TYPE = "pulumi:pulumi:Stack"
OPS = ("create", "update", "replace", "delete", "same")
LOUD_TYPES = {
    "rancher2:index/clusterV2:ClusterV2": "the cluster",
    "rancher2:index/machineConfigV2:MachineConfigV2": "a node pool's machine config",
    "rancher2:index/appV2:AppV2": "an add-on app",
    "kubernetes:helm.sh/v3:Release": "a Helm release",
}
MACHINE_CONFIG = "rancher2:index/machineConfigV2:MachineConfigV2"
ROLL_SOURCE = (
    "rancher/rancher pkg/controllers/provisioningv2/provisioningcluster/template.go:211 (59bd052e44)"
)


class AgainstFileError(ValueError):
    """The `--against` document is not an earlier `hardened-rke2 preview --json` output."""


@dataclass
class Step:
    op: str
    urn: str
    type: str
    name: str
    paths: list[str] = field(default_factory=list)
    """update: the changed input paths; replace: the path that forces it (or `provider`)."""
    reason: str = ""
    possible: bool = False
    """True when the step rests on a value that is unknown in preview."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "urn": self.urn, "type": self.type, "name": self.name}
        if self.paths:
            out["paths"] = list(self.paths)
        if self.reason:
            out["reason"] = self.reason
        if self.possible:
            out["possible"] = True
        return out


@dataclass
class Plan:
    against: str
    steps: list[Step]
    warnings: list[str]
    notes: list[str]

    def of(self, op: str) -> list[Step]:
        return [s for s in self.steps if s.op == op]

    def find(self, type_: str, name: str) -> Step:
        found = [s for s in self.steps if s.type == type_ and s.name == name]
        if len(found) != 1:
            names = [s.name for s in self.steps if s.type == type_]
            raise LookupError(f"no single step for {type_} {name}: {names}")
        return found[0]

    def summary(self) -> dict[str, int]:
        counts = {op: len(self.of(op)) for op in OPS}
        counts["possibleReplace"] = sum(1 for s in self.of("replace") if s.possible)
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "summary": self.summary(),
            "steps": [s.to_dict() for s in self.steps if s.op != "same"],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "replacementRules": provider_versions(),
        }


# ------------------------------------------------------------------------------------------ loading


def load_against(path: str) -> dict[str, Any]:
    """Read and check an earlier `--json` preview; `AgainstFileError` with a clear message otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise AgainstFileError(f"--against {path}: cannot read it ({e.strerror or e})") from e
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise AgainstFileError(
            f"--against {path}: not JSON ({e.msg} at line {e.lineno}); expected the output of "
            "`hardened-rke2 preview --json`"
        ) from e
    check_document(doc, f"--against {path}")
    return doc


def check_document(doc: Any, what: str) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise AgainstFileError(f"{what}: not a `hardened-rke2 preview --json` document (no `resources` list)")
    for i, r in enumerate(doc["resources"]):
        if not isinstance(r, dict) or not isinstance(r.get("urn"), str) or not isinstance(r.get("type"), str):
            raise AgainstFileError(f"{what}: resources[{i}] has no `urn`/`type` (not a preview document)")
        if "inputs" in r and not isinstance(r["inputs"], dict):
            raise AgainstFileError(f"{what}: resources[{i}].inputs is not an object")
    status = (doc.get("summary") or {}).get("status") if isinstance(doc.get("summary"), dict) else None
    if status not in (None, "ok"):
        raise AgainstFileError(f"{what}: that preview did not run to the end (status {status!r})")


# ------------------------------------------------------------------------------------------- diffing


def is_unknown(value: Any) -> bool:
    return value in (UNKNOWN, _RAW_UNKNOWN) if isinstance(value, str) else False


@dataclass
class _Change:
    path: str
    unknown: bool


def _changes(old: Any, new: Any, path: str = "") -> Iterator[_Change]:
    if is_unknown(old) or is_unknown(new):
        yield _Change(path, True)
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for k in sorted(set(old) | set(new), key=str):
            yield from _changes(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _changes(a, b, f"{path}.{i}" if path else str(i))
        return
    if old != new:
        yield _Change(path, False)


def _provider_urn(ref: str | None) -> str | None:
    return ref.rsplit("::", 1)[0] if ref else None


class _Planner:
    def __init__(self, old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]) -> None:
        self.old = {r["urn"]: r for r in old_doc["resources"] if r["type"] != STACK_TYPE}
        self.new = {r["urn"]: r for r in new_doc["resources"] if r["type"] != STACK_TYPE}
        self.steps: dict[str, Step] = {}
        self.notes: list[str] = []
        self._visiting: set[str] = set()

    def step(self, urn: str) -> Step:
        if urn in self.steps:
            return self.steps[urn]
        if urn in self._visiting:  # a dependency cycle cannot happen in a real program; stay safe
            r = self.new[urn]
            return Step("same", urn, r["type"], r["name"])
        self._visiting.add(urn)
        r = self.new[urn]
        old = self.old.get(urn)
        if old is None:
            s = Step("create", urn, r["type"], r["name"])
        elif not r.get("custom", True):
            s = Step("same", urn, r["type"], r["name"])
        elif r["type"].startswith("pulumi:providers:"):
            s = self._provider_step(r, old)
        else:
            s = self._resource_step(r, old)
        self._visiting.discard(urn)
        self.steps[urn] = s
        return s

    def _resolved_changes(self, r: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """(definite changed paths, possible changed paths) after resolving unknowns like the engine."""
        definite: list[str] = []
        possible: list[str] = []
        for c in _changes(old.get("inputs", {}), r.get("inputs", {})):
            if not c.unknown:
                definite.append(c.path)
                continue
            top = c.path.split(".", 1)[0]
            deps = (r.get("propertyDependencies") or {}).get(top)
            if deps is None:
                deps = r.get("dependencies", [])
            if any(self._creates_new_outputs(d) for d in deps):
                possible.append(c.path)
        return definite, possible

    def _creates_new_outputs(self, urn: str) -> bool:
        """True when the resource at `urn` gets new (unknown) outputs in this plan: created or replaced."""
        if urn not in self.new:
            return False
        return self.step(urn).op in ("create", "replace")

    def _provider_step(self, r: Mapping[str, Any], old: Mapping[str, Any]) -> Step:
        s = Step("same", r["urn"], r["type"], r["name"])
        definite, possible = self._resolved_changes(r, old)
        changed = sorted({p.split(".", 1)[0] for p in definite + possible})
        if not changed:
            return s
        s.op, s.paths = "update", changed
        if r["type"] != KUBERNETES_PROVIDER:
            if r["type"] != RANCHER2_PROVIDER:
                self.notes.append(f"{r['type']} {r['name']}: replacement rules unknown; shown as an update")
            return s
        new_in, old_in = r.get("inputs", {}), old.get("inputs", {})
        ident_new, ident_old = new_in.get("clusterIdentifier"), old_in.get("clusterIdentifier")
        if "clusterIdentifier" in changed and ident_old is not None and ident_new is not None:
            s.op, s.paths, s.reason = "replace", ["clusterIdentifier"], "clusterIdentifier changed"
            s.possible = "clusterIdentifier" not in {p.split(".", 1)[0] for p in definite}
            return s
        if ident_new is not None and ident_new == ident_old and not is_unknown(ident_new):
            return s  # DiffConfig drops every replacement while the identifier is set and unchanged
        for key in ("kubeconfig", "context", "cluster"):
            if any(p.split(".", 1)[0] == key for p in possible):
                s.op, s.paths = "replace", [key]
                s.reason = f"{key} is unknown in preview and no clusterIdentifier is set"
                s.possible = not self._surely_new(r, key)
                return s
            if key in {p.split(".", 1)[0] for p in definite}:
                s.op, s.paths, s.possible = "replace", [key], True
                s.reason = f"{key} changed: replaced if it now points at another cluster"
                return s
        if "renderYamlToDirectory" in changed:
            s.op, s.paths, s.reason = "replace", ["renderYamlToDirectory"], "renderYamlToDirectory changed"
        return s

    def _surely_new(self, r: Mapping[str, Any], key: str) -> bool:
        deps = (r.get("propertyDependencies") or {}).get(key) or r.get("dependencies", [])
        return any(self._creates_new_outputs(d) and not self.step(d).possible for d in deps if d in self.new)

    def _resource_step(self, r: Mapping[str, Any], old: Mapping[str, Any]) -> Step:
        s = Step("same", r["urn"], r["type"], r["name"])
        prov_new, prov_old = _provider_urn(r.get("provider")), _provider_urn(old.get("provider"))
        if prov_new != prov_old:
            s.op, s.paths, s.reason = "replace", ["provider"], "provider changed"
            return s
        if prov_new and prov_new in self.new:
            p = self.step(prov_new)
            if p.op == "replace":
                s.op, s.paths, s.possible = "replace", ["provider"], p.possible
                s.reason = f"provider replaced ({p.name}: {p.reason})"
                return s
        definite, possible = self._resolved_changes(r, old)
        if not definite and not possible:
            return s
        provider_inputs = self.new[prov_new].get("inputs", {}) if prov_new in self.new else {}
        rules = replace_rules(r["type"], r.get("inputs", {}), provider_inputs)
        if rules is None:
            self.notes.append(f"{r['type']}: not in the replacement table; changes shown as an update")
            rules = []
        for path in definite:
            rule = forcing_rule(rules, path)
            if rule:
                s.op, s.paths, s.reason = "replace", [path], f"{rule.path} forces replacement ({rule.source})"
                return s
        for path in possible:
            rule = forcing_rule(rules, path)
            if rule:
                s.op, s.paths, s.possible = "replace", [path], True
                s.reason = f"{rule.path} is unknown in preview and forces replacement ({rule.source})"
                return s
        s.op, s.paths = "update", definite + possible
        s.possible = not definite
        return s


def diff_previews(old_doc: Mapping[str, Any], new_doc: Mapping[str, Any], against: str = "") -> Plan:
    planner = _Planner(old_doc, new_doc)
    for urn in planner.new:
        planner.step(urn)
    steps = [planner.steps[u] for u in planner.new]
    for urn, r in planner.old.items():
        if urn not in planner.new:
            steps.append(Step("delete", urn, r["type"], r["name"]))
    steps.sort(key=lambda s: (OPS.index(s.op), s.type, s.name))
    day2_warnings, day2_notes = operation_warnings(old_doc, new_doc)
    return Plan(against, steps, _warnings(steps) + day2_warnings, sorted(set(planner.notes + day2_notes)))


def _warnings(steps: list[Step]) -> list[str]:
    out: list[str] = []
    for s in steps:
        what = LOUD_TYPES.get(s.type)
        if s.op in ("replace", "delete") and what:
            verb = "REPLACED" if s.op == "replace" else "DELETED"
            why = f": {s.reason}" if s.reason else ""
            will = "MAY BE" if s.possible else "WILL BE"
            out.append(f"{what} {s.name} ({s.type}) {will} {verb}{why}")
        elif s.op == "replace" and s.type == KUBERNETES_PROVIDER:
            out.append(
                f"Kubernetes provider {s.name} {'MAY BE' if s.possible else 'WILL BE'} REPLACED "
                f"({s.reason}): "
                "every resource it manages is replaced with it"
            )
        elif s.op == "update" and s.type == MACHINE_CONFIG:
            out.append(
                f"machine config {s.name} changes ({', '.join(s.paths)}): Rancher rolls every node of the "
                f"pools that use it (new machines, old ones drained and deleted; {ROLL_SOURCE})"
            )
    return out


# ------------------------------------------------------------------------------------------ rendering

_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def render_plan(plan: Plan, out: TextIO) -> None:
    where = plan.against or "the earlier preview"
    out.write(f"Changes against {where} (as `pulumi preview` would plan them):\n")
    changed = [s for s in plan.steps if s.op != "same"]
    if not changed:
        out.write("  no changes\n")
    for s in changed:
        maybe = " (possible)" if s.possible else ""
        detail = ""
        if s.op == "update":
            detail = f"  [{', '.join(s.paths[:6])}{', …' if len(s.paths) > 6 else ''}]"
        elif s.op == "replace":
            detail = f"  [{s.reason}]"
        out.write(f"  {_SYMBOL[s.op]:<2} {s.op}{maybe}  {s.type}  {s.name}{detail}\n")
    c = plan.summary()
    out.write(
        f"Plan: {c['create']} to create, {c['update']} to update, {c['replace']} to replace "
        f"({c['possibleReplace']} possible), {c['delete']} to delete, {c['same']} unchanged\n"
    )
    for w in plan.warnings:
        out.write(f"WARNING: {w}\n")
    for n in plan.notes:
        out.write(f"note: {n}\n")
    out.write(
        "Replacement rules: "
        + "; ".join(f"{k}: {v}" for k, v in sorted(provider_versions().items()))
        + ". Secret inputs are redacted in --json documents, so changes to them cannot be seen. "
        "See docs/previewing-changes.md.\n\n"
    )
