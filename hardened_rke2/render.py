"""How a preview (and a fleet run) looks in a terminal.

Two renderings of the same content: plain text (`render_plain`), the stable form written whenever stdout
is not a terminal or colour is off (`--no-color`, or `NO_COLOR` set: https://no-color.org), which logs,
pipes and tests read; and a `rich` one for terminals: colour, the resource tree, and a table of the
violations by severity and NSA guide section. Progress of long multi-stack runs goes to stderr, and only
when stderr is a terminal.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from hardened_rke2.analysis.results import Violation
from hardened_rke2.capture import STACK_TYPE, CapturedResource
from hardened_rke2.plan import Plan, render_plan
from hardened_rke2.preview import PreviewResult
from hardened_rke2.reports import LEVEL_ORDER, sorted_violations, summary

VERDICTS = {
    0: "PASSED",
    1: "FAILED: mandatory policy violations",
    2: "FAILED: invalid config",
    3: "FAILED: error",
}
SEVERITY_ORDER = ("critical", "high", "medium", "low")
_LEVEL_STYLE = {"mandatory": "bold red", "remediate": "bold red", "advisory": "yellow", "disabled": "dim"}
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def use_color(stream: TextIO, no_color: bool = False) -> bool:
    """Colour only on a terminal, and never with `--no-color` or `NO_COLOR` (any non-empty value)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def console(out: TextIO) -> Console:
    return Console(file=out, force_terminal=True, highlight=False, soft_wrap=False)


def render_text(result: PreviewResult, out: TextIO, plan: Plan | None = None, *, color: bool = False) -> None:
    """A preview for people: `rich` on a terminal (`color`), else the plain text."""
    if color:
        render_rich(result, out, plan)
    else:
        render_plain(result, out, plan)


def _title(result: PreviewResult) -> str:
    return "Audit of exported state" if result.operation == "audit" else "Offline preview"


def _applied(result: PreviewResult) -> str:
    """An audit reports what a remediation would change; only a preview applies it (as `pulumi preview`)."""
    return "reported, not applied" if result.operation == "audit" else "applied"


def render_plain(result: PreviewResult, out: TextIO, plan: Plan | None = None) -> None:
    """The plain text (no colour, no terminal codes): stable, for logs, pipes and tests."""
    packs = ", ".join(f"{p.name}@{p.version}" for p in result.packs) or "none"
    out.write(f"{_title(result)} of {result.project}/{result.stack} (policy packs: {packs})\n\n")
    for w in result.warnings:
        out.write(f"warning: {w}\n")
    if result.warnings:
        out.write("\n")
    if result.status == "invalid-config":
        where = result.stack_file.name if result.stack_file else result.stack
        out.write(f"Invalid stack config ({where}); nothing was registered:\n")
        for p in result.problems:
            out.write(f"  - {p}\n")
        if result.resources:
            out.write(f"  ! {len(result.resources)} resource(s) were registered before the error (a bug)\n")
        out.write("\n")
    elif result.status in ("error", "usage-error"):
        out.write(f"The {result.operation} failed: {result.error}\n\n")
    if result.resources:
        out.write(f"Resources ({len(result.resources)}):\n")
        for line in resource_tree(result.resources):
            out.write(f"  {line}\n")
        out.write("\n")
    if plan is not None:
        render_plan(plan, out)
    if result.analysis is not None:
        _render_violations(sorted_violations(result), out)
        records = result.analysis.remediation_records
        if records:
            by_urn = {r.urn: r for r in result.resources}
            out.write(f"Remediations {_applied(result)} ({len(records)}):\n")
            for rec in records:
                r = by_urn.get(rec.urn)
                target = f"{r.type}  {r.name}" if r else rec.urn
                out.write(f"  ~ {rec.policy_name}: {target}\n")
            out.write("\n")
    s = summary(result)
    verdict = VERDICTS[result.exit_code]
    out.write(
        f"Summary: {s['resources']} resources; {s['mandatory']} mandatory and {s['advisory']} advisory "
        f"violations; {s['remediations']} remediations. {verdict}\n"
    )
    out.write(s["statement"] + "\n")


def _render_violations(violations: list[Violation], out: TextIO) -> None:
    if not violations:
        out.write("Policy violations: none\n\n")
        return
    out.write("Policy violations:\n")
    for level in LEVEL_ORDER:
        group = [v for v in violations if v.enforcement_level == level]
        if not group:
            continue
        out.write(f"  {level} ({len(group)}):\n")
        for v in group:
            where = f"{v.resource_type}  {v.resource_name}" if v.resource_type else "(stack)"
            sev = f" [{v.severity}]" if v.severity else ""
            tags = f"  {', '.join(v.tags)}" if v.tags else ""
            out.write(f"    {v.policy_name}{sev}  {where}{tags}\n")
            out.write(f"      {v.description}\n")
            for line in v.message.splitlines():
                if line.strip() and line.strip() != v.description:
                    out.write(f"      {line}\n")
    out.write("\n")


def resource_tree(resources: Sequence[CapturedResource]) -> Iterator[str]:
    """Lines of a parent/child tree (siblings sorted by type and name); `[protect]` marks protected ones."""
    urns = {r.urn for r in resources}
    children: dict[str | None, list[CapturedResource]] = {}
    for r in resources:
        parent = r.parent if r.parent in urns else None
        if r.type == STACK_TYPE:
            parent = None
        children.setdefault(parent, []).append(r)

    def walk(parent: str | None, prefix: str) -> Iterator[str]:
        # Sorted: registration order under the (mock) engine is not deterministic.
        kids = sorted(children.get(parent, []), key=lambda r: (r.type != STACK_TYPE, r.type, r.name))
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            marks = "  [protect]" if r.protect else ""
            yield f"{prefix}{branch}{r.type}  {r.name}{marks}"
            yield from walk(r.urn, prefix + ("" if parent is None else ("   " if last else "│  ")))

    yield from walk(None, "")


# -- rich -----------------------------------------------------------------------------------------------


def section_of(v: Violation) -> str:
    """The NSA guide section a violation belongs to (the pack tags each policy `section:<name>`)."""
    for tag in v.tags:
        if tag.startswith("section:"):
            return tag.split(":", 1)[1]
    return "stack" if not v.resource_type else "other"


def violation_table(violations: Sequence[Violation]) -> Table:
    """Counts by NSA section (rows) and severity (columns); `m` mandatory, `a` advisory."""
    counts: Counter[tuple[str, str, bool]] = Counter(
        (section_of(v), v.severity or "none", v.is_mandatory) for v in violations
    )
    severities = [s for s in SEVERITY_ORDER if any(k[1] == s for k in counts)]
    severities += sorted({k[1] for k in counts} - set(severities))
    table = Table()
    table.add_column("section")
    for sev in severities:
        table.add_column(sev, justify="right", style=_SEVERITY_STYLE.get(sev, ""))
    table.add_column("total", justify="right", style="bold")
    for section in sorted({k[0] for k in counts}):
        cells = []
        for sev in severities:
            m, a = counts[(section, sev, True)], counts[(section, sev, False)]
            cells.append(f"{m} / {a}" if m or a else "")
        total = sum(n for k, n in counts.items() if k[0] == section)
        table.add_row(section, *cells, str(total))
    return table


def _tree(resources: Sequence[CapturedResource]) -> Tree:
    urns = {r.urn for r in resources}
    children: dict[str | None, list[CapturedResource]] = {}
    for r in resources:
        parent = None if r.type == STACK_TYPE or r.parent not in urns else r.parent
        children.setdefault(parent, []).append(r)
    root = Tree(f"[bold]Resources ({len(resources)})[/]")

    def add(node: Tree, parent: str | None) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r.type != STACK_TYPE, r.type, r.name)):
            label = Text(r.type, style="cyan")
            label.append(f"  {r.name}", style="bold")
            if r.protect:
                label.append("  [protect]", style="magenta")
            add(node.add(label), r.urn)

    add(root, None)
    return root


def render_rich(result: PreviewResult, out: TextIO, plan: Plan | None = None) -> None:
    c = console(out)
    packs = ", ".join(f"{p.name}@{p.version}" for p in result.packs) or "none"
    title = Text(f"{_title(result)} of {result.project}/{result.stack}", style="bold")
    c.print(title.append(f" (policy packs: {packs})", style=""))
    c.print()
    for w in result.warnings:
        c.print(f"[yellow]warning:[/] {escape(w)}")
    if result.status == "invalid-config":
        where = result.stack_file.name if result.stack_file else result.stack
        c.print(f"[bold red]Invalid stack config ({escape(where)}); nothing was registered:[/]")
        for p in result.problems:
            c.print(f"  [red]-[/] {escape(p)}")
    elif result.status in ("error", "usage-error"):
        c.print(f"[bold red]The {result.operation} failed:[/] {escape(result.error)}")
    if result.resources:
        c.print(_tree(result.resources))
        c.print()
    if plan is not None:
        render_plan(plan, out)
    if result.analysis is not None:
        violations = sorted_violations(result)
        if violations:
            c.print(Text("Violations by NSA section and severity (mandatory / advisory):", style="bold"))
            c.print(violation_table(violations))
            for level in LEVEL_ORDER:
                group = [v for v in violations if v.enforcement_level == level]
                if not group:
                    continue
                style = _LEVEL_STYLE.get(level, "")
                c.print(f"[{style}]{level} ({len(group)})[/]")
                for v in group:
                    line = Text("  ")
                    line.append(v.policy_name, style=style)
                    if v.severity:
                        line.append(f" {v.severity}", style=_SEVERITY_STYLE.get(v.severity, ""))
                    line.append(f"  {v.resource_type}  {v.resource_name}" if v.resource_type else "  (stack)")
                    ids = [t for t in v.tags if t.startswith("NSA-")]  # the section is in the table
                    if ids:
                        line.append(f"  {', '.join(ids)}", style="dim")
                    c.print(line)
                    c.print(Text(f"    {v.description}"))
                    for text in v.message.splitlines():
                        if text.strip() and text.strip() != v.description:
                            c.print(Text(f"    {text}", style="dim"))
        else:
            c.print("[green]Policy violations: none[/]")
        c.print()
        records = result.analysis.remediation_records
        if records:
            by_urn = {r.urn: r for r in result.resources}
            c.print(f"[bold]Remediations {_applied(result)} ({len(records)}):[/]")
            for rec in records:
                r = by_urn.get(rec.urn)
                c.print(
                    Text(f"  ~ {rec.policy_name}: {f'{r.type}  {r.name}' if r else rec.urn}", style="cyan")
                )
            c.print()
    s = summary(result)
    ok = result.exit_code == 0
    verdict = Text(VERDICTS[result.exit_code], style="bold green" if ok else "bold red")
    verdict.append(
        f"  {s['resources']} resources; {s['mandatory']} mandatory and {s['advisory']} advisory violations; "
        f"{s['remediations']} remediations.",
        style="",
    )
    c.print(verdict)
    c.print(f"[dim]{escape(s['statement'])}[/]")
