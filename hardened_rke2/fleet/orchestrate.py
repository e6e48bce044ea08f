"""Run a fleet level by level through a workspace: the order, the concurrency bound, the stop rules and the
passing of each stack's outputs to the stacks that depend on it. What "running a stack" means (an offline
preview in this process, or `pulumi preview`/`up` through the Automation API) is the workspace's business.

Rules:
- a level starts only when the level before it has finished; within a level at most `parallel` stacks run
  at once (never more than the workspace allows: the offline engine is one process-wide runtime);
- a stack runs only when every stack it depends on finished with outputs; otherwise it is skipped, naming
  the dependency;
- with `stop_on_mandatory` (the real path), the first stack of a level that reports mandatory violations or
  fails stops the level: no further stack of it starts (those already running finish) and later levels
  are skipped. Offline previews report every stack instead (a dependency's violations still leave outputs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from hardened_rke2.exit_codes import EXIT_OK, EXIT_PROGRAM
from hardened_rke2.fleet.model import Fleet, FleetStack

ReferenceOutputs = Mapping[str, Any]
"""One referenced stack's entry in the `--stack-reference-outputs` format: `{outputs, secretOutputNames}`."""


@dataclass
class StackOutcome:
    name: str
    status: str
    """`ok`, `violations` (mandatory ones), `invalid-config`, `usage-error`, `error`, or `skipped`."""
    exit_code: int = EXIT_OK
    resources: int = 0
    mandatory: int = 0
    advisory: int = 0
    seconds: float = 0.0
    outputs: ReferenceOutputs | None = None
    """What dependents' StackReferences see; None when the stack did not finish (dependents are skipped)."""
    detail: str = ""
    changes: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Phases in seconds (offline: `packs`, `program`, `policy`, `total`, as `preview` measures them)."""
    result: Any = None
    """The workspace's own result object (the offline `PreviewResult`), for reports."""

    @property
    def stops_level(self) -> bool:
        return self.status != "ok"


class FleetWorkspace(Protocol):
    """Runs one stack. `upstream` maps each dependency's `org/project/stack` to its outputs."""

    max_parallel: int

    def run(self, stack: FleetStack, upstream: Mapping[str, ReferenceOutputs]) -> StackOutcome: ...


ProgressHook = Callable[[str, FleetStack, StackOutcome | None], None]
"""Called with `("start", stack, None)` and `("done", stack, outcome)`; from the calling thread only."""


@dataclass
class FleetRun:
    outcomes: dict[str, StackOutcome]
    """In the fleet's order (levels, then names)."""
    seconds: float

    @property
    def exit_code(self) -> int:
        return max((o.exit_code for o in self.outcomes.values()), default=EXIT_OK)


def run_fleet(
    fleet: Fleet,
    workspace: FleetWorkspace,
    *,
    parallel: int = 1,
    stop_on_mandatory: bool = False,
    progress: ProgressHook | None = None,
) -> FleetRun:
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    t0 = time.perf_counter()
    width = min(parallel, max(1, workspace.max_parallel))
    done: dict[str, StackOutcome] = {}
    stop_reason = ""
    for level in fleet.levels:
        ready: list[FleetStack] = []
        for name in level:
            stack = fleet.stacks[name]
            if stop_reason:
                done[name] = StackOutcome(name, "skipped", detail=f"not started: {stop_reason}")
                continue
            missing = [d for d in stack.depends_on if done[d].outputs is None]
            if missing:
                done[name] = StackOutcome(
                    name, "skipped", detail=f"not started: {', '.join(missing)} did not finish"
                )
                continue
            ready.append(stack)
        stop_reason = _run_level(ready, fleet, workspace, width, stop_on_mandatory, done, progress)
    ordered = {n: done[n] for level in fleet.levels for n in level}
    return FleetRun(ordered, time.perf_counter() - t0)


def _upstream(
    stack: FleetStack, fleet: Fleet, done: Mapping[str, StackOutcome]
) -> dict[str, ReferenceOutputs]:
    return {
        fleet.stacks[d].fqn: outputs for d in stack.depends_on if (outputs := done[d].outputs) is not None
    }


def _run_level(
    ready: list[FleetStack],
    fleet: Fleet,
    workspace: FleetWorkspace,
    width: int,
    stop_on_mandatory: bool,
    done: dict[str, StackOutcome],
    progress: ProgressHook | None,
) -> str:
    """Run one level's stacks; returns why the fleet stops (empty: it goes on)."""
    stop_reason = ""

    def finish(stack: FleetStack, outcome: StackOutcome) -> None:
        nonlocal stop_reason
        done[stack.name] = outcome
        if progress:
            progress("done", stack, outcome)
        if stop_on_mandatory and outcome.stops_level and not stop_reason:
            what = "mandatory policy violations" if outcome.status == "violations" else outcome.status
            stop_reason = f"{stack.name} stopped the fleet ({what})"

    if width == 1:  # in the calling thread: the offline engine's runtime is not thread-safe
        for stack in ready:
            if stop_reason:
                done[stack.name] = StackOutcome(stack.name, "skipped", detail=f"not started: {stop_reason}")
                continue
            if progress:
                progress("start", stack, None)
            finish(stack, _guarded(workspace, stack, _upstream(stack, fleet, done)))
        return stop_reason

    queue = list(ready)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="fleet") as pool:
        running: dict[Future[StackOutcome], FleetStack] = {}
        while queue or running:
            while queue and len(running) < width and not stop_reason:
                stack = queue.pop(0)
                if progress:
                    progress("start", stack, None)
                running[pool.submit(_guarded, workspace, stack, _upstream(stack, fleet, done))] = stack
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: running[f].name):
                finish(running.pop(future), future.result())
        for stack in queue:
            done[stack.name] = StackOutcome(stack.name, "skipped", detail=f"not started: {stop_reason}")
    return stop_reason


def _guarded(
    workspace: FleetWorkspace, stack: FleetStack, upstream: Mapping[str, ReferenceOutputs]
) -> StackOutcome:
    """A workspace that raises is a failed stack (exit 3), not a crashed fleet run."""
    t0 = time.perf_counter()
    try:
        return workspace.run(stack, upstream)
    except Exception as e:
        return StackOutcome(
            stack.name,
            "error",
            exit_code=EXIT_PROGRAM,
            seconds=time.perf_counter() - t0,
            detail=f"{type(e).__name__}: {e}",
        )
