"""Offline fleet preview: every stack with the pack in this process, dependencies' outputs passed on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardened_rke2.capture import UNKNOWN
from hardened_rke2.cli import main
from hardened_rke2.fleet.offline import reference_outputs, stack_references, without_unknowns
from tests.support.fleets import EXAMPLE_FLEET, TEAM_DIR, team_entry, write_fleet

SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "kubeconfig-text"}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_preview_s_exports_become_reference_outputs_with_their_secrets_marked() -> None:
    ref = reference_outputs({"clusterId": "c-1", "kubeconfig": SECRET, "nested": {"token": SECRET}})
    assert ref == {
        "outputs": {
            "clusterId": "c-1",
            "kubeconfig": "kubeconfig-text",
            "nested": {"token": "kubeconfig-text"},
        },
        "secretOutputNames": ["kubeconfig", "nested"],
    }


def test_unknown_values_come_from_the_deployed_outputs_or_are_left_out_with_a_warning() -> None:
    upstream = {
        "o/p/prod": {"outputs": {"id": UNKNOWN, "url": "https://new", "kc": UNKNOWN}, "secretOutputNames": []}
    }
    deployed = {"o/p/prod": {"id": "c-9", "url": "https://old", "only": 1}}
    warnings: list[str] = []
    refs = stack_references(upstream, deployed, warnings)
    assert refs == {
        "o/p/prod": {"outputs": {"id": "c-9", "url": "https://new", "only": 1}, "secretOutputNames": []}
    }
    assert len(warnings) == 1
    assert warnings[0].startswith("o/p/prod: its preview cannot know kc (computed when it is deployed)")
    dropped: list[str] = []
    assert without_unknowns({"a": [1, UNKNOWN], "b": {"c": UNKNOWN}}, "", dropped) == {"a": [1], "b": {}}
    assert dropped == ["a[…]", "b.c"]


def test_the_example_fleet_previews_clean_with_one_json_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(
        [
            "fleet",
            "preview",
            "--fleet",
            str(EXAMPLE_FLEET),
            "--json",
            "--report-json",
            str(tmp_path / "r.json"),
        ],
        capsys,
    )
    doc = json.loads(out)
    assert code == 0
    assert doc["summary"]["levels"] == [["management"], ["dev", "fips", "prod"], ["payments-dev"]]
    assert (doc["summary"]["mode"], doc["summary"]["exitCode"], doc["summary"]["mandatory"]) == (
        "offline",
        0,
        0,
    )
    rows = {s["name"]: s for s in doc["stacks"]}
    assert [rows[n]["status"] for n in ("management", "dev", "prod", "fips", "payments-dev")] == ["ok"] * 5
    assert all(rows[n]["resources"] > 0 for n in rows)
    assert doc["summary"]["resources"] == sum(s["resources"] for s in doc["stacks"])
    # One report per stack, named after it, as `preview --stack a --stack b` does.
    team = json.loads((tmp_path / "r.payments-dev.json").read_text(encoding="utf-8"))
    assert team["summary"]["stack"] == "dev" and team["summary"]["project"] == "payments-team"
    assert any("acme/hardened-rke2/prod: its preview cannot know kubeconfig" in w for w in team["warnings"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"r.{n}.json" for n in sorted(rows)]


def _wrong_namespaces(tmp: Path) -> Path:
    """Deployed outputs that give the team a namespace its workload does not use."""
    data = json.loads((TEAM_DIR / "platform-outputs.json").read_text(encoding="utf-8"))
    data["acme/hardened-rke2/prod"]["tenants"]["payments"]["namespaces"] = ["elsewhere"]
    path = tmp / "deployed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_dependent_sees_its_dependency_s_previewed_outputs_over_the_deployed_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = str(_wrong_namespaces(tmp_path))
    alone = write_fleet(tmp_path, {"team": team_entry(depends_on=(), stackReferenceOutputs=deployed)})
    code, out, _ = _run(["fleet", "preview", "--fleet", str(alone), "--json"], capsys)
    [team] = json.loads(out)["stacks"]
    assert (code, team["status"]) == (3, "error")
    assert "'payments-api' is not one of the team's namespaces (fix: use one of elsewhere" in team["detail"]

    (tmp_path / "with-prod").mkdir()
    fleet = write_fleet(
        tmp_path / "with-prod",
        {
            "prod": {"kind": "cluster"},
            "team": team_entry(depends_on=("prod",), stackReferenceOutputs=deployed),
        },
    )
    code, out, _ = _run(["fleet", "preview", "--fleet", str(fleet), "--json"], capsys)
    rows = {s["name"]: s for s in json.loads(out)["stacks"]}
    assert (code, rows["team"]["status"], rows["team"]["mandatory"]) == (0, "ok", 0)


def test_a_failed_dependency_skips_its_dependents_and_violations_set_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = write_fleet(
        tmp_path,
        {
            "prod": {"kind": "cluster"},
            "broken": team_entry("broken", stackReferenceOutputs=str(TEAM_DIR / "platform-outputs.json")),
        },
    )
    code, out, _ = _run(["fleet", "preview", "--fleet", str(fleet), "--no-color"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert (
        lines[0]
        == "Offline fleet preview of fleet.yaml: 2 stacks in 2 levels (policy packs: nsa-cisa-hardening)"
    )
    assert lines[2].split() == [
        "level",
        "stack",
        "kind",
        "resources",
        "mandatory",
        "advisory",
        "time",
        "result",
    ]
    broken = lines[4].split()
    assert broken[:3] == ["1", "broken", "team"] and int(broken[4]) > 0
    assert lines[4].endswith("mandatory violations")
    assert "FAILED: mandatory policy violations" in out
