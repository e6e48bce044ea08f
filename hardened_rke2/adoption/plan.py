"""The hardening plan of an adopted cluster, as Markdown (for people) and JSON (for machines)."""

from __future__ import annotations

from typing import Any

from hardened_rke2.adoption.compare import Change
from hardened_rke2.adoption.findings import ROLLS, STAGE_TITLES, Finding, ordered
from hardened_rke2.adoption.mapping import Adoption


def plan_document(
    adoption: Adoption,
    *,
    stack_file: str,
    import_path: str,
    first_up: list[Change] | None = None,
    unexplained: list[Change] | None = None,
) -> dict[str, Any]:
    findings = ordered(adoption.findings)
    return {
        "cluster": adoption.cluster_name,
        "rancherId": adoption.rancher_id,
        "rancherLine": adoption.rancher_line,
        "stackFile": stack_file,
        "importFile": import_path,
        "summary": {
            kind: sum(1 for f in findings if f.kind == kind)
            for kind in ("weakening", "unrepresentable", "difference")
        },
        "expectedPolicies": sorted({p for f in findings if f.kind == "weakening" for p in f.policies}),
        "findings": [f.to_dict() for f in findings],
        "notes": list(adoption.notes),
        "machineConfigs": [
            {"pool": r.pool, "kind": r.kind, "id": r.rancher_id, "imported": False}
            for r in adoption.machine_configs
        ],
        "firstUpChanges": [_change(c) for c in first_up] if first_up is not None else None,
        "unexplainedChanges": [_change(c) for c in unexplained or []],
    }


def _change(c: Change) -> dict[str, Any]:
    return {"path": c[0], "cluster": _short(c[1]), "stack": _short(c[2])}


def _short(value: Any, limit: int = 160) -> Any:
    text = value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
    if isinstance(text, str) and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def _row(f: Finding) -> str:
    what = f"`{f.switch}`" if f.switch else (f"`{f.stack_path}`" if f.stack_path else "—")
    pol = ", ".join(f"`{p}`" for p in f.policies) or "—"
    cells = [
        f"`{f.key}`",
        _cell(f.current),
        _cell(f.hardened),
        what,
        ", ".join(f.nsa),
        pol,
        f.rolls,
        _cell(f.note),
    ]
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_HEADER = (
    "| setting | now | hardened | stack carries it as | NSA | reported by | rolls | note |\n"
    + "|---|---|---|---|---|---|---|---|"
)


def plan_markdown(doc: dict[str, Any], findings: list[Finding]) -> str:
    findings = ordered(findings)
    lines = [
        f"# Adoption plan: {doc['cluster']}",
        "",
        f"Rancher cluster `{doc['rancherId']}` (Rancher line {doc['rancherLine']}) → stack file "
        f"`{doc['stackFile']}`, import file `{doc['importFile']}`.",
        "",
        f"{doc['summary']['weakening']} weakenings kept through named switches (the policy pack reports "
        f"them), "
        f"{doc['summary']['unrepresentable']} settings the blueprint cannot express (the first `pulumi up` "
        f"changes them), {doc['summary']['difference']} other differences the stack reproduces.",
        "",
        "## What the first `pulumi up` after the import changes",
        "",
    ]
    unrep = [f for f in findings if f.kind == "unrepresentable"]
    if unrep:
        lines += [
            "These settings cannot be represented by the blueprint; the stack carries the hardened value.",
            "",
            _HEADER,
            *(_row(f) for f in unrep),
            "",
        ]
    else:
        lines += ["No setting is beyond the blueprint.", ""]
    lines += [f"- {n}" for n in doc["notes"]]
    if doc["notes"]:
        lines.append("")
    if doc["firstUpChanges"] is not None:
        changes = doc["firstUpChanges"]
        lines += [
            f"ClusterV2 inputs the first `pulumi up` changes (offline preview of the stack against the "
            f"Cluster object): {len(changes)}.",
            "",
        ]
        lines += [f"- `{c['path']}`: `{c['cluster']}` → `{c['stack']}`" for c in changes]
        if changes:
            lines.append("")
    if doc["unexplainedChanges"]:
        lines += ["**Changes no finding explains (report this as a bug):**", ""]
        lines += [f"- `{c['path']}`: `{c['cluster']}` → `{c['stack']}`" for c in doc["unexplainedChanges"]]
        lines.append("")
    weak = [f for f in findings if f.kind == "weakening"]
    lines += ["## Weakenings kept (named switches)", ""]
    lines += [_HEADER, *(_row(f) for f in weak), ""] if weak else ["None.", ""]
    diff = [f for f in findings if f.kind == "difference"]
    lines += ["## Other differences the stack reproduces", ""]
    lines += [_HEADER, *(_row(f) for f in diff), ""] if diff else ["None.", ""]
    lines += [
        "## Order to apply the hardening",
        "",
        "Import first and make the first `pulumi up` (it applies the changes above). Then turn the "
        "weakening switches off and adopt the blueprint's defaults stage by stage, one `pulumi up` per "
        "stage, checking workloads in between:",
        "",
    ]
    step = 0
    for stage in sorted(STAGE_TITLES):
        items = [f for f in findings if f.kind != "unrepresentable" and f.stage == stage]
        if not items:
            continue
        lines.append(f"### Stage {stage}: {STAGE_TITLES[stage]}")
        lines.append("")
        for f in items:
            step += 1
            if f.switch and f.stack_path and f.stack_path != f.switch:
                how = f"set `{f.stack_path}` back to {f.hardened} (or remove it) and turn off `{f.switch}`"
            elif f.switch:
                how = f"turn off `{f.switch}`"
            elif f.kind == "weakening":
                how = f"configure `{f.stack_path}`"
            else:
                how = f"set `{f.stack_path}` to {f.hardened}"
            lines.append(f"{step}. `{f.key}` ({', '.join(f.nsa)}): {how}; {ROLLS[f.rolls]}.")
        lines.append("")
    lines += ["## How changes roll the nodes", ""]
    lines += [f"- **{k}**: {v}" for k, v in ROLLS.items()]
    return "\n".join(lines) + "\n"
