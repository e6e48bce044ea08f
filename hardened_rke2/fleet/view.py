"""What a fleet run shows: one table (per stack: level, kind, resources, mandatory, advisory, time,
result), the failures, the `--json` document, and a progress display on stderr for terminals."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hardened_rke2.fleet.model import Fleet, FleetStack
from hardened_rke2.fleet.orchestrate import FleetRun, ProgressHook, StackOutcome
from hardened_rke2.render import console
from hardened_rke2.reports import OFFLINE_STATEMENT

RESULT = {
    "ok": "passed",
    "violations": "mandatory violations",
    "invalid-config": "invalid config",
    "usage-error": "usage error",
    "error": "error",
    "skipped": "skipped",
}
_STYLE = {"ok": "green", "skipped": "dim", "violations": "bold red"}
COLUMNS = ("level", "stack", "kind", "resources", "mandatory", "advisory", "time", "result")


def _level_of(fleet: Fleet) -> dict[str, int]:
    return {name: i for i, level in enumerate(fleet.levels) for name in level}


def rows(fleet: Fleet, run: FleetRun) -> list[list[str]]:
    level = _level_of(fleet)
    out = []
    for name, o in run.outcomes.items():
        ran = o.status != "skipped"
        out.append(
            [
                str(level[name]),
                name,
                fleet.stacks[name].kind,
                str(o.resources) if ran else "-",
                str(o.mandatory) if ran else "-",
                str(o.advisory) if ran else "-",
                f"{o.seconds:.1f}s" if ran else "-",
                RESULT.get(o.status, o.status),
            ]
        )
    return out


def verdict(run: FleetRun) -> str:
    return {0: "PASSED", 1: "FAILED: mandatory policy violations", 2: "FAILED: bad input"}.get(
        run.exit_code, "FAILED: error"
    )


def totals(run: FleetRun) -> dict[str, int]:
    outcomes = list(run.outcomes.values())
    return {
        "stacks": len(outcomes),
        "resources": sum(o.resources for o in outcomes),
        "mandatory": sum(o.mandatory for o in outcomes),
        "advisory": sum(o.advisory for o in outcomes),
        "passed": sum(1 for o in outcomes if o.status == "ok"),
        "failed": sum(1 for o in outcomes if o.status not in ("ok", "skipped")),
        "skipped": sum(1 for o in outcomes if o.status == "skipped"),
    }


def headline(fleet: Fleet, title: str) -> str:
    packs = ", ".join(p.name for p in fleet.policy_packs) or "none"
    size = f"{len(fleet.stacks)} stacks in {len(fleet.levels)} levels"
    return f"{title} of {fleet.source.name}: {size} (policy packs: {packs})"


def _summary_line(run: FleetRun) -> str:
    t = totals(run)
    return (
        f"Summary: {t['stacks']} stacks, {t['resources']} resources; {t['mandatory']} mandatory and "
        f"{t['advisory']} advisory violations; {t['passed']} passed, {t['failed']} failed, "
        f"{t['skipped']} skipped in {run.seconds:.1f}s. {verdict(run)}"
    )


def _problems(run: FleetRun) -> list[tuple[str, StackOutcome]]:
    return [(n, o) for n, o in run.outcomes.items() if o.status != "ok" and o.detail]


def render_plain(fleet: Fleet, run: FleetRun, title: str, out: TextIO, *, offline: bool) -> None:
    table = [list(COLUMNS), *rows(fleet, run)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    numeric = {3, 4, 5, 6}
    out.write(headline(fleet, title) + "\n\n")
    for r in table:
        cells = [c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write("\n")
    for name, o in _problems(run):
        first, *rest = o.detail.splitlines() or [""]
        out.write(f"{name}: {first}\n")
        for line in rest:
            out.write(f"  {line}\n")
    if _problems(run):
        out.write("\n")
    out.write(_summary_line(run) + "\n")
    if offline:
        out.write(OFFLINE_STATEMENT + "\n")


def render_rich(fleet: Fleet, run: FleetRun, title: str, out: TextIO, *, offline: bool) -> None:
    c = console(out)
    c.print(Text(headline(fleet, title), style="bold"))
    table = Table(box=None, pad_edge=False, header_style="bold")
    for i, col in enumerate(COLUMNS):
        last = i == len(COLUMNS) - 1
        # Names never shorten; the result text folds instead when the terminal is narrow.
        table.add_column(
            col,
            justify="right" if i in (3, 4, 5, 6) else "left",
            no_wrap=not last,
            min_width=8 if last else None,
            overflow="fold" if last else "ellipsis",
        )
    for r, o in zip(rows(fleet, run), run.outcomes.values(), strict=True):
        style = _STYLE.get(o.status, "red")
        cells: list[Any] = [*r[:-1], Text(r[-1], style=style)]
        if o.mandatory:
            cells[4] = Text(r[4], style="bold red")
        table.add_row(*cells)
    c.print(table)
    for name, o in _problems(run):
        c.print(Text(f"{name}: ", style="bold") + Text(o.detail, style=_STYLE.get(o.status, "red")))
    c.print(Text(_summary_line(run), style="bold green" if run.exit_code == 0 else "bold red"))
    if offline:
        c.print(Text(OFFLINE_STATEMENT, style="dim"))


def to_json(fleet: Fleet, run: FleetRun, *, mode: str, operation: str) -> dict[str, Any]:
    level = _level_of(fleet)
    stacks = []
    for name, o in run.outcomes.items():
        s: FleetStack = fleet.stacks[name]
        stacks.append(
            {
                "name": name,
                "stack": s.fqn,
                "kind": s.kind,
                "level": level[name],
                "dependsOn": list(s.depends_on),
                "status": o.status,
                "exitCode": o.exit_code,
                "resources": o.resources,
                "mandatory": o.mandatory,
                "advisory": o.advisory,
                "seconds": round(o.seconds, 3),
                "detail": o.detail,
                **({"changes": o.changes} if o.changes else {}),
                **({"timings": {k: round(v, 4) for k, v in o.timings.items()}} if o.timings else {}),
            }
        )
    summary = {
        "fleet": str(fleet.source),
        "mode": mode,
        "operation": operation,
        "levels": [list(level_) for level_ in fleet.levels],
        "exitCode": run.exit_code,
        "seconds": round(run.seconds, 3),
        **totals(run),
    }
    if mode == "offline":
        summary["statement"] = OFFLINE_STATEMENT
    return {"summary": summary, "stacks": stacks}


@contextlib.contextmanager
def progress(err: TextIO, total: int, enabled: bool) -> Iterator[ProgressHook | None]:
    """A live progress bar on stderr (only for terminals; never mixed into stdout)."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=err, force_terminal=True),
        transient=True,
    )
    task = bar.add_task("fleet", total=total)
    running: list[str] = []

    def hook(event: str, stack: FleetStack, outcome: StackOutcome | None) -> None:
        if event == "start":
            running.append(stack.name)
        else:
            if stack.name in running:
                running.remove(stack.name)
            bar.advance(task)
        bar.update(task, description=", ".join(running) or "fleet")
        # Drawn now, not at the next 10 Hz tick: a stack that runs faster than a tick is still shown.
        bar.refresh()

    with bar:
        yield hook
