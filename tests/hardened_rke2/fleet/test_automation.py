"""The Automation API adapter, checked by the exact `pulumi` invocations it makes: a recording stand-in
(tests/support/pulumi_standin/pulumi) is first on PATH and answers as the CLI would."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.fleet.automation import AutomationWorkspace
from hardened_rke2.fleet.model import load_fleet
from hardened_rke2.fleet.orchestrate import run_fleet
from tests.support.fleets import EXAMPLE_FLEET, TEAM_DIR
from tests.support.paths import PACK_DIR, REPO_ROOT

STANDIN = REPO_ROOT / "tests" / "support" / "pulumi_standin"
PROD, DEV, FIPS, MGMT, TEAM = (
    "acme/hardened-rke2/prod",
    "acme/hardened-rke2/dev",
    "acme/hardened-rke2/fips",
    "acme/hardened-rke2/management",
    "acme/payments-team/dev",
)


class StandIn:
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.log = tmp / "calls.jsonl"
        self.scenario_file = tmp / "scenario.json"
        monkeypatch.setenv("PATH", f"{STANDIN}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("PULUMI_STANDIN_LOG", str(self.log))
        monkeypatch.setenv("PULUMI_STANDIN_SCENARIO", str(self.scenario_file))
        monkeypatch.delenv("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", raising=False)
        self.scenario({})

    def scenario(self, data: dict[str, Any]) -> None:
        self.scenario_file.write_text(json.dumps(data), encoding="utf-8")

    def calls(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines]

    def argv(self) -> list[list[str]]:
        """Each call's argv with the temporary event-log path replaced by `<log>`."""
        out = []
        for call in self.calls():
            argv = list(call["argv"])
            if "--event-log" in argv:
                argv[argv.index("--event-log") + 1] = "<log>"
            out.append(argv)
        return out


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    return StandIn(tmp_path, monkeypatch)


def _preview_args(stack: str, *configs: str) -> list[str]:
    extra = [a for c in configs for a in ("--policy-pack-config", c)]
    return [
        "--non-interactive", "preview", "--policy-pack", str(PACK_DIR), *extra,
        "--exec-kind", "auto.local", "--event-log", "<log>", "--stack", stack,
    ]  # fmt: skip


def test_preview_selects_each_stack_and_previews_it_with_the_pack_in_dependency_order(
    standin: StandIn,
) -> None:
    fleet = load_fleet(EXAMPLE_FLEET)
    run = run_fleet(fleet, AutomationWorkspace("preview", fleet.policy_packs), stop_on_mandatory=True)
    select = ["--non-interactive", "stack", "select", "--stack"]
    assert standin.argv() == [
        ["version"],
        [*select, MGMT],
        _preview_args(MGMT),
        [*select, DEV],
        _preview_args(DEV),
        [*select, FIPS],
        _preview_args(FIPS),
        [*select, PROD],
        _preview_args(PROD),
        [*select, TEAM],
        _preview_args(TEAM, str(TEAM_DIR / "policy-pack-config.json")),
    ]
    # Each stack runs in its own project folder, as `pulumi` run there would.
    assert [Path(c["cwd"]) for c in standin.calls()][-2:] == [TEAM_DIR, TEAM_DIR]
    assert run.exit_code == 0
    assert run.outcomes["prod"].changes == {"create": 2, "same": 3}


def test_up_never_asks_for_secrets_and_passes_masked_outputs(standin: StandIn) -> None:
    standin.scenario(
        {
            "outputs": {PROD: {"clusterId": "c-1", "kubeconfig": "apiVersion: v1"}},
            "secret": {PROD: ["kubeconfig"]},
        }
    )
    fleet = load_fleet(EXAMPLE_FLEET)
    run = run_fleet(fleet, AutomationWorkspace("up", fleet.policy_packs), stop_on_mandatory=True)
    argv = standin.argv()
    assert not any("--show-secrets" in a for a in argv)
    assert [
        "--non-interactive", "up", "--yes", "--skip-preview", "--policy-pack", str(PACK_DIR),
        "--exec-kind", "auto.local", "--event-log", "<log>", "--stack", PROD,
    ] in argv  # fmt: skip
    assert ["--non-interactive", "stack", "output", "--json", "--stack", PROD] in argv
    assert run.outcomes["prod"].outputs == {
        "outputs": {"clusterId": "c-1", "kubeconfig": "[secret]"},
        "secretOutputNames": ["kubeconfig"],
    }
    assert run.exit_code == 0


def test_a_mandatory_policy_event_stops_the_level(standin: StandIn) -> None:
    standin.scenario({"policy": {DEV: [["pod-privileged", "mandatory"], ["image-tag-pinned", "advisory"]]}})
    fleet = load_fleet(EXAMPLE_FLEET)
    run = run_fleet(fleet, AutomationWorkspace("preview", fleet.policy_packs), stop_on_mandatory=True)
    stacks = [a[-1] for a in standin.argv() if a[1:2] == ["preview"]]
    assert stacks == [MGMT, DEV]  # fips and prod (same level) and the team stack never start
    dev = run.outcomes["dev"]
    assert (dev.status, dev.mandatory, dev.advisory, dev.exit_code) == ("violations", 1, 1, 1)
    assert dev.detail == "pulumi exited 255: error: preview failed"
    assert [run.outcomes[n].status for n in ("prod", "fips", "payments-dev")] == ["skipped"] * 3
    assert run.exit_code == 1


def test_a_missing_stack_is_an_error_that_names_it(standin: StandIn) -> None:
    standin.scenario({"missing": [MGMT]})
    fleet = load_fleet(EXAMPLE_FLEET)
    run = run_fleet(fleet, AutomationWorkspace("preview", fleet.policy_packs), stop_on_mandatory=True)
    mgmt = run.outcomes["management"]
    assert (mgmt.status, mgmt.exit_code) == ("error", 3)
    assert mgmt.detail == f"pulumi exited 255: error: no stack named '{MGMT}' found"
    assert all(o.status == "skipped" for n, o in run.outcomes.items() if n != "management")


def test_parallel_real_runs_overlap_within_a_level_but_not_beyond_the_bound(standin: StandIn) -> None:
    standin.scenario({"delay": 0.4})
    fleet = load_fleet(EXAMPLE_FLEET)
    run_fleet(fleet, AutomationWorkspace("preview", fleet.policy_packs, max_parallel=2), parallel=2)
    spans = {c["argv"][-1]: (c["start"], c["end"]) for c in standin.calls() if "preview" in c["argv"]}
    level = [spans[DEV], spans[FIPS], spans[PROD]]  # one level of three stacks, at most two at a time
    mgmt, team = spans[MGMT], spans[TEAM]

    def running_at(t: float) -> int:
        return sum(start <= t < end for start, end in level)

    assert max(running_at(start) for start, _ in level) == 2  # they overlapped, never all three
    assert mgmt[1] <= min(s for s, _ in level) and max(e for _, e in level) <= team[0]  # levels did not
