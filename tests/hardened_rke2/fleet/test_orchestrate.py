"""Fleet orchestration through an injected workspace: order, concurrency bound, stop rules, outputs."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.fleet.model import Fleet, FleetStack, dependency_levels
from hardened_rke2.fleet.orchestrate import ReferenceOutputs, StackOutcome, run_fleet


def _fleet(graph: dict[str, tuple[str, ...]]) -> Fleet:
    stacks = {
        name: FleetStack(
            name=name,
            kind="cluster",
            project_dir=Path("nowhere"),  # never read: the fake workspace runs nothing
            project_name="proj",
            stack=name,
            depends_on=deps,
            policy_pack_configs=(),
            stack_reference_outputs=None,
            organization="org",
        )
        for name, deps in graph.items()
    }
    return Fleet(Path("fleet.yaml"), "org", (), stacks, dependency_levels(graph))


class FakeWorkspace:
    """Records calls and the peak number of stacks running at once; `results` sets a stack's status."""

    def __init__(
        self,
        max_parallel: int = 8,
        results: dict[str, str] | None = None,
        delay: float | dict[str, float] = 0.0,
    ):
        self.max_parallel = max_parallel
        self.results = results or {}
        self.delay = delay
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()

    def run(self, stack: FleetStack, upstream: Mapping[str, ReferenceOutputs]) -> StackOutcome:
        with self.lock:
            self.calls.append((stack.name, dict(upstream)))
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.delay.get(stack.name, 0.0) if isinstance(self.delay, dict) else self.delay)
        with self.lock:
            self.running -= 1
        status = self.results.get(stack.name, "ok")
        if status == "raise":
            raise RuntimeError(f"{stack.name} blew up")
        code = {"ok": 0, "violations": 1, "error": 3}[status]
        outputs = None if status == "error" else {"outputs": {"from": stack.name}, "secretOutputNames": []}
        return StackOutcome(
            stack.name, status, exit_code=code, mandatory=int(status == "violations"), outputs=outputs
        )


FLEET = {"mgmt": (), "a": ("mgmt",), "b": ("mgmt",), "c": ("mgmt",), "t1": ("a",), "t2": ("b", "c")}


def test_stacks_run_level_by_level_and_get_only_their_dependencies_outputs() -> None:
    ws = FakeWorkspace(max_parallel=1)
    run = run_fleet(_fleet(FLEET), ws)
    assert [name for name, _ in ws.calls] == ["mgmt", "a", "b", "c", "t1", "t2"]
    upstream = dict(ws.calls)
    assert upstream["mgmt"] == {}
    assert upstream["t2"] == {
        "org/proj/b": {"outputs": {"from": "b"}, "secretOutputNames": []},
        "org/proj/c": {"outputs": {"from": "c"}, "secretOutputNames": []},
    }
    assert list(run.outcomes) == ["mgmt", "a", "b", "c", "t1", "t2"]
    assert run.exit_code == 0


def test_a_level_never_runs_more_than_parallel_stacks_at_once() -> None:
    graph = {"mgmt": (), **{f"c{i}": ("mgmt",) for i in range(6)}}
    ws = FakeWorkspace(delay=0.05)
    run_fleet(_fleet(graph), ws, parallel=3)
    assert ws.peak == 3
    ws = FakeWorkspace(max_parallel=2, delay=0.05)  # the workspace's own bound wins over --parallel
    run_fleet(_fleet(graph), ws, parallel=5)
    assert ws.peak == 2


def test_a_later_level_starts_only_after_the_whole_level_before_it() -> None:
    ws = FakeWorkspace(delay=0.02)
    run_fleet(_fleet(FLEET), ws, parallel=4)
    order = [name for name, _ in ws.calls]
    assert set(order[1:4]) == {"a", "b", "c"}
    assert set(order[4:]) == {"t1", "t2"}


def test_stop_rule_a_mandatory_violation_stops_its_level_and_skips_the_rest() -> None:
    ws = FakeWorkspace(max_parallel=1, results={"a": "violations"})
    run = run_fleet(_fleet(FLEET), ws, stop_on_mandatory=True)
    assert [name for name, _ in ws.calls] == ["mgmt", "a"]
    assert {n: o.status for n, o in run.outcomes.items()} == {
        "mgmt": "ok",
        "a": "violations",
        "b": "skipped",
        "c": "skipped",
        "t1": "skipped",
        "t2": "skipped",
    }
    assert run.outcomes["b"].detail == "not started: a stopped the fleet (mandatory policy violations)"
    assert run.exit_code == 1


def test_stop_rule_with_parallel_stacks_running_ones_finish_and_no_new_one_starts() -> None:
    graph = {"mgmt": (), **{f"c{i}": ("mgmt",) for i in range(5)}}
    # c0 fails fast while c1 is still running, so the stop is seen before any slot frees up.
    ws = FakeWorkspace(results={"c0": "violations"}, delay={"c0": 0.01, "c1": 0.3})
    run = run_fleet(_fleet(graph), ws, parallel=2, stop_on_mandatory=True)
    started = [name for name, _ in ws.calls]
    assert started[:3] == ["mgmt", "c0", "c1"]  # c1 was already running: it finishes
    assert len(started) == 3
    assert [o.status for o in run.outcomes.values()] == [
        "ok",
        "violations",
        "ok",
        "skipped",
        "skipped",
        "skipped",
    ]


def test_without_the_stop_rule_violations_still_feed_dependents_but_failures_do_not() -> None:
    ws = FakeWorkspace(max_parallel=1, results={"a": "violations", "b": "error"})
    run = run_fleet(_fleet(FLEET), ws)
    statuses = {n: o.status for n, o in run.outcomes.items()}
    assert statuses == {"mgmt": "ok", "a": "violations", "b": "error", "c": "ok", "t1": "ok", "t2": "skipped"}
    assert run.outcomes["t2"].detail == "not started: b did not finish"
    assert dict(ws.calls)["t1"] == {"org/proj/a": {"outputs": {"from": "a"}, "secretOutputNames": []}}
    assert run.exit_code == 3


def test_a_workspace_that_raises_fails_its_stack_not_the_run() -> None:
    ws = FakeWorkspace(max_parallel=1, results={"a": "raise"})
    run = run_fleet(_fleet(FLEET), ws)
    assert run.outcomes["a"].status == "error"
    assert run.outcomes["a"].detail == "RuntimeError: a blew up"
    assert run.outcomes["t1"].status == "skipped"
    assert run.exit_code == 3


def test_progress_reports_each_start_and_finish_in_order() -> None:
    events: list[tuple[str, str]] = []
    run_fleet(
        _fleet({"m": (), "c": ("m",)}),
        FakeWorkspace(max_parallel=1),
        progress=lambda e, s, o: events.append((e, s.name)),
    )
    assert events == [("start", "m"), ("done", "m"), ("start", "c"), ("done", "c")]


def test_parallel_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_fleet(_fleet({"m": ()}), FakeWorkspace(), parallel=0)
