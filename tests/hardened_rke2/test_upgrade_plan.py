"""`hardened-rke2 upgrade plan`: the checks refuse a bad move with its reason and fix (exit 2); a supported
move is previewed twice and planned like `preview --against`, loud about replacements first."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.cli import main
from hardened_rke2.plan import diff_previews
from hardened_rke2.upgrade_plan import Check, UpgradePlan, plan_upgrade, render
from tests.support.paths import PACK_DIR
from tests.support.stack_previews import REPO, throwaway_project

pytestmark = pytest.mark.slow

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
KEY = "hardened-rke2:cluster"


def _prod(
    tmp: Path,
    version: str | None = None,
    line: str | None = None,
    snapshot_generation: int | None = None,
    **addon_pins: str,
) -> Path:
    def mutate(cfg: dict[str, Any]) -> None:
        if snapshot_generation is not None:
            cfg[KEY]["operations"] = {"etcdSnapshotCreate": {"generation": snapshot_generation}}
        if version:
            cfg[KEY]["kubernetesVersion"] = version
        if line:
            cfg["hardened-rke2:rancher"]["line"] = line
        for addon, pin in addon_pins.items():
            cfg["hardened-rke2:addons"].setdefault(addon, {})["chartVersion"] = pin

    return throwaway_project("prod", tmp, mutate)


def _failed(plan: UpgradePlan) -> dict[str, Check]:
    return {c.name: c for c in plan.checks if not c.ok}


def test_a_patch_bump_plans_one_in_place_update_of_the_cluster() -> None:
    plan = plan_upgrade(REPO, "prod", "v1.34.2+rke2r1", policy_pack=PACK_DIR)
    assert not plan.refused and plan.exit_code == 0, plan.checks
    assert plan.plan is not None
    summary = plan.plan.summary()
    assert (summary["create"], summary["replace"], summary["delete"]) == (0, 0, 0)
    step = plan.plan.find(CLUSTER, "prod")
    assert (step.op, step.paths) == ("update", ["kubernetesVersion"])
    assert plan.replacements == []
    assert {c.name for c in plan.checks} >= {"newer", "one-minor", "rancher-line", "config", "version-policy"}


def test_a_supported_minor_bump_plans_updates_only(tmp_path: Path) -> None:
    project = _prod(tmp_path, "v1.33.5+rke2r1", snapshot_generation=4)
    plan = plan_upgrade(project, "prod", "v1.34.1+rke2r1", policy_pack=PACK_DIR)
    assert not plan.refused, _failed(plan)
    assert plan.plan is not None
    ops = {s.op for s in plan.plan.steps} - {"same"}
    assert ops == {"update"}, [s.to_dict() for s in plan.plan.steps if s.op != "same"]
    assert plan.plan.find(CLUSTER, "prod").paths[0] == "kubernetesVersion"
    assert plan.replacements == [] and plan.exit_code == 0
    assert "cluster.operations.etcdSnapshotCreate.generation 5" in plan.next_steps()[0]


def test_a_two_minor_jump_is_refused_with_the_intermediate_minor_as_fix(tmp_path: Path) -> None:
    plan = plan_upgrade(_prod(tmp_path, "v1.32.5+rke2r1"), "prod", "v1.34.1+rke2r1", policy_pack=PACK_DIR)
    failed = _failed(plan)
    assert list(failed) == ["one-minor"] and plan.exit_code == 2
    assert "1.32 -> 1.34 skips 1 Kubernetes minor" in failed["one-minor"].detail
    assert "newest 1.33 release first" in failed["one-minor"].fix
    assert plan.plan is None  # nothing previewed


def test_a_minor_the_rancher_line_does_not_offer_is_refused() -> None:
    plan = plan_upgrade(REPO, "prod", "v1.35.0+rke2r1", policy_pack=PACK_DIR)
    failed = _failed(plan)
    assert list(failed) == ["rancher-line"] and plan.exit_code == 2
    assert "not offered for Rancher 2.13 (it offers 1.32, 1.33, 1.34)" in failed["rancher-line"].detail
    assert "add the new line to components/versions.py" in failed["rancher-line"].fix


def test_a_minor_of_a_newer_rancher_line_names_the_rancher_upgrade(tmp_path: Path) -> None:
    project = _prod(tmp_path, "v1.33.5+rke2r1", line="2.12")
    plan = plan_upgrade(project, "prod", "v1.34.1+rke2r1", policy_pack=PACK_DIR)
    assert "upgrade Rancher to 2.13 first" in _failed(plan)["rancher-line"].fix


@pytest.mark.parametrize(
    ("target", "detail"),
    [("v1.34.1+rke2r1", "already at v1.34.1+rke2r1"), ("v1.33.9+rke2r1", "older than v1.34.1+rke2r1")],
)
def test_same_or_older_versions_are_refused(target: str, detail: str) -> None:
    failed = _failed(plan_upgrade(REPO, "prod", target, policy_pack=PACK_DIR))
    assert detail in failed["newer"].detail and "not downgraded" in failed["newer"].fix


def test_an_incompatible_addon_pin_is_refused_with_the_lines_pin_as_fix(tmp_path: Path) -> None:
    # rancher-monitoring 107.x is the Rancher 2.12 chart line: its kube-version ends at 1.33.
    project = _prod(tmp_path, "v1.33.5+rke2r1", monitoring="107.1.0+up69.8.2-rancher.15")
    plan = plan_upgrade(project, "prod", "v1.34.1+rke2r1", policy_pack=PACK_DIR)
    failed = _failed(plan)
    assert list(failed) == ["addon:monitoring"] and plan.exit_code == 2
    assert "supports Kubernetes up to 1.33, not 1.34" in failed["addon:monitoring"].detail
    assert "addons.monitoring.chartVersion" in failed["addon:monitoring"].fix
    assert "108.0.2+up77.9.1-rancher.11" in failed["addon:monitoring"].fix


def test_an_addon_pin_without_compatibility_data_is_refused(tmp_path: Path) -> None:
    plan = plan_upgrade(_prod(tmp_path, istio="1.99.0"), "prod", "v1.34.2+rke2r1", policy_pack=PACK_DIR)
    assert "no compatibility data" in _failed(plan)["addon:istio"].detail


def test_the_packs_version_support_policy_must_pass(tmp_path: Path) -> None:
    config = tmp_path / "pack-config.json"
    policy = {"enforcementLevel": "mandatory", "minKubernetesVersion": "v1.35.0"}
    config.write_text(json.dumps({"cluster-kubernetes-version-supported": policy}), encoding="utf-8")
    plan = plan_upgrade(REPO, "prod", "v1.34.2+rke2r1", policy_pack=PACK_DIR, policy_pack_config=str(config))
    failed = _failed(plan)
    assert list(failed) == ["version-policy"] and plan.exit_code == 2
    assert "older than the supported floor v1.35.0" in failed["version-policy"].detail
    assert "minKubernetesVersion" in failed["version-policy"].fix


def test_json_document_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["upgrade", "plan", "--project", str(REPO), "--stack", "prod", "--to", "v1.34.2+rke2r1", "--json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(doc) == {
        "project", "stack", "from", "to", "rancherLine", "status", "exitCode", "replacements", "checks",
        "refusals", "diff", "violations", "next", "statement",
    }  # fmt: skip
    assert (doc["from"], doc["to"], doc["status"], doc["refusals"]) == (
        "v1.34.1+rke2r1", "v1.34.2+rke2r1", "planned", [],
    )  # fmt: skip
    assert doc["diff"]["summary"]["update"] == 1 and doc["diff"]["summary"]["replace"] == 0
    assert [s["name"] for s in doc["diff"]["steps"]] == ["prod"]
    assert all(set(c) <= {"name", "ok", "detail", "fix"} for c in doc["checks"])
    assert doc["next"][0] == (
        "pulumi config set --stack prod --path cluster.operations.etcdSnapshotCreate.generation 1"
    )  # a snapshot first: the way back
    assert doc["next"][2] == "pulumi config set --stack prod --path cluster.kubernetesVersion v1.34.2+rke2r1"


def test_refusal_json_and_text_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["upgrade", "plan", "--project", str(REPO), "--stack", "prod", "--to", "v1.36.0+rke2r1"]
    assert main([*args, "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "refused" and doc["diff"] is None and doc["next"] == []
    assert [r["name"] for r in doc["refusals"]] == ["one-minor", "rancher-line"]
    assert main(args) == 2
    text = capsys.readouterr().out
    assert "FAIL  one-minor" in text and "fix: upgrade to the newest 1.35 release first" in text
    assert "REFUSED: 2 check(s) failed" in text


def test_a_management_stack_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["upgrade", "plan", "--project", str(REPO), "--stack", "management", "--to", "v1.34.2+rke2r1"]
    )
    assert code == 2
    assert "not a cluster stack" in capsys.readouterr().err


def test_replacements_are_said_before_anything_else() -> None:
    def doc(name: str) -> dict[str, Any]:
        urn = "urn:pulumi:prod::hardened-rke2::rancher2:index/clusterV2:ClusterV2::prod"
        return {"resources": [{"urn": urn, "type": CLUSTER, "name": "prod", "inputs": {"name": name}}]}

    plan = UpgradePlan("hardened-rke2", "prod", "v1.33.5+rke2r1", "v1.34.1+rke2r1", "2.13")
    plan.checks = [Check("newer", True, "ok")]
    plan.plan = diff_previews(doc("prod"), doc("prod-2"), "before")
    out = StringIO()
    render(plan, out)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("WARNING: the cluster prod") and "WILL BE REPLACED" in lines[1]
    assert lines.index("Checks:") > 1
