"""`hardened-rke2 fleet`: flags, bad input (exit 2 with the field), and the CI matrix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hardened_rke2.cli import main
from tests.support.fleets import EXAMPLE_FLEET, write_fleet


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["fleet", "up"],
            "error: fleet up changes real infrastructure: add --real (there is no offline update)\n",
        ),
        (
            ["fleet", "preview", "--parallel", "2"],
            "error: --parallel needs --real: offline previews share one runtime and run one at a time\n",
        ),
        (
            ["fleet", "preview", "--real", "--report-json", "r.json"],
            "error: --report-* files come from offline previews; with --real use Pulumi's own output\n",
        ),
    ],
)
def test_flag_combinations_that_cannot_work_exit_2_before_anything_runs(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run([*argv, "--fleet", str(EXAMPLE_FLEET)], capsys) == (2, "", message)


def test_an_invalid_fleet_file_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = write_fleet(tmp_path, {"prod": {"kind": "cluster", "dependsOn": ["nope"]}})
    code, out, err = _run(["fleet", "preview", "--fleet", str(fleet)], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"error: {fleet}: invalid fleet file:\n"
        "  - stacks.prod.dependsOn.0: unknown stack 'nope' (fix: use one of prod)\n"
    )


def test_without_a_fleet_file_the_error_names_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(["fleet", "matrix", "--format", "github"], capsys)
    assert code == 2
    assert err.startswith("error: fleet.yaml: ") and "fleet.yaml" in err


def test_parallel_must_be_a_positive_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["fleet", "preview", "--real", "--parallel", "0"])
    assert exit_.value.code == 2
    assert "--parallel: must be at least 1" in capsys.readouterr().err


def test_github_matrix_has_one_job_per_stack_with_needs_from_depends_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["fleet", "matrix", "--format", "github", "--fleet", str(EXAMPLE_FLEET)], capsys)
    assert code == 0
    jobs = yaml.safe_load(out)["jobs"]
    assert {k: v["needs"] for k, v in jobs.items()} == {
        "fleet-management": [],
        "fleet-dev": ["fleet-management"],
        "fleet-prod": ["fleet-management"],
        "fleet-fips": ["fleet-management"],
        "fleet-payments-dev": ["fleet-prod"],
    }
    team_steps = jobs["fleet-payments-dev"]["steps"]
    assert team_steps[-2] == {"run": "(cd policy-packs/nsa-cisa-hardening && pulumi install)"}
    assert team_steps[-1] == {
        "run": "pulumi preview --cwd stacks/teams/payments --stack acme/payments-team/dev "
        "--policy-pack policy-packs/nsa-cisa-hardening "
        "--policy-pack-config stacks/teams/payments/policy-pack-config.json"
    }
    assert jobs["fleet-prod"]["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}


def test_gitlab_matrix_extends_the_pipeline_s_template_and_can_run_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["fleet", "matrix", "--format", "gitlab", "--operation", "up", "--fleet", str(EXAMPLE_FLEET)]
    code, out, _ = _run(argv, capsys)
    jobs = yaml.safe_load(out)
    assert code == 0
    assert jobs["fleet:payments-dev"]["needs"] == ["fleet:prod"]
    assert jobs["fleet:prod"] == {
        "extends": ".hardened-rke2-fleet",
        "needs": ["fleet:management"],
        "variables": {"FLEET_STACK": "acme/hardened-rke2/prod"},
        "script": [
            "(cd policy-packs/nsa-cisa-hardening && pulumi install)",
            "pulumi up --yes --cwd . --stack acme/hardened-rke2/prod "
            "--policy-pack policy-packs/nsa-cisa-hardening",
        ],
    }


def test_job_ids_stay_valid_for_stack_names_with_dots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = write_fleet(
        tmp_path, {"prod": {"kind": "cluster"}, "prod.eu": {"kind": "cluster", "stack": "dev"}}
    )
    jobs = yaml.safe_load(_run(["fleet", "matrix", "--format", "github", "--fleet", str(fleet)], capsys)[1])[
        "jobs"
    ]
    assert list(jobs) == ["fleet-prod", "fleet-prod-eu"]


def test_real_without_the_pulumi_cli_on_path_exits_2_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `pulumi`
    code, out, err = _run(["fleet", "preview", "--real", "--fleet", str(EXAMPLE_FLEET)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: --real needs the Pulumi CLI on PATH (`pulumi version` failed: ")
    assert err.endswith("install it: https://www.pulumi.com/docs/install/\n")
