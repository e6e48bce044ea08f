"""SARIF that code scanning accepts: valid against the official 2.1.0 schema, stable fingerprints, locations
on the stack config key that sets the value (or the program file), help per rule."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import load_stack_reference_outputs
from hardened_rke2.reports import to_sarif
from tests.support.paths import PACK_DIR, REPO_ROOT
from tests.support.sarif import SCHEMA_FILE, SCHEMA_SHA256, sarif_errors
from tests.support.stack_previews import TEAM, preview_changed

_errors = sarif_errors


def _team_broken() -> PreviewResult:
    refs = load_stack_reference_outputs(str(TEAM / "platform-outputs.json"))
    result = preview_project(
        TEAM,
        "broken",
        policy_packs=[PACK_DIR],
        policy_pack_configs=[str(TEAM / "policy-pack-config.json")],
        stack_reference_outputs=refs,
    )
    assert result.status == "ok", result.error
    return result


@pytest.fixture(scope="module")
def team_broken() -> PreviewResult:
    return _team_broken()


def test_the_vendored_schema_is_the_official_file_unmodified() -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")


@pytest.mark.parametrize("stack", ["prod", "dev", "management"])
def test_example_stack_sarif_is_valid(stack: str) -> None:
    result = preview_project(REPO_ROOT, stack, policy_packs=[PACK_DIR])
    doc = to_sarif(result, base_dir=REPO_ROOT)
    assert _errors(doc) == []


def test_blocked_team_stack_sarif_is_valid_and_has_results(team_broken: PreviewResult) -> None:
    doc = to_sarif(team_broken, base_dir=REPO_ROOT)
    assert _errors(doc) == []
    assert len(doc["runs"][0]["results"]) == len(team_broken.violations) >= 10


def test_failed_runs_sarif_is_valid(tmp_path: Path) -> None:
    result = preview_project(REPO_ROOT, "prod", policy_packs=[PACK_DIR])
    failed = PreviewResult(
        project=result.project, stack="prod", status="usage-error", error="--stack-reference-outputs missing"
    )
    doc = to_sarif(failed, base_dir=REPO_ROOT)
    assert _errors(doc) == []
    rule = doc["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["id"] == "usage-error" and rule["help"]["text"] and rule["helpUri"].startswith("https://")


def test_the_validator_rejects_a_broken_document(team_broken: PreviewResult) -> None:
    """The schema check can fail: a result without its required `message` is refused."""
    doc = copy.deepcopy(to_sarif(team_broken, base_dir=REPO_ROOT))
    del doc["runs"][0]["results"][0]["message"]
    doc["runs"][0]["results"][1]["level"] = "fatal"
    errors = _errors(doc)
    assert any("'message' is a required property" in e for e in errors)
    assert any("'fatal' is not one of" in e for e in errors)


def test_every_rule_has_help_uri_and_remediation(team_broken: PreviewResult) -> None:
    rules = to_sarif(team_broken, base_dir=REPO_ROOT)["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == len(team_broken.packs[0].policies)
    missing = [
        r["id"] for r in rules if not r.get("helpUri", "").startswith("https://") or not r["help"]["text"]
    ]
    assert missing == []


def test_two_runs_give_identical_fingerprints_and_distinct_results_differ(team_broken: PreviewResult) -> None:
    def prints(result: PreviewResult) -> list[tuple[str, str]]:
        return [
            (r["ruleId"], r["partialFingerprints"]["policyResource/v1"])
            for r in to_sarif(result, base_dir=REPO_ROOT)["runs"][0]["results"]
        ]

    first, second = prints(team_broken), prints(_team_broken())
    assert first == second
    values = [fp for _, fp in first]
    assert len(set(values)) == len(values) == len(team_broken.violations)
    # One policy reporting the same Deployment three times still yields three distinct alerts.
    assert sum(1 for rule, _ in first if rule == "non-root-groups") == 3


def test_results_in_the_blueprint_open_on_the_config_key_that_sets_the_value(tmp_path: Path) -> None:
    def unprotect(config: dict[str, Any]) -> None:
        config["hardened-rke2:cluster"]["protect"] = False

    result = preview_changed("prod", tmp_path, unprotect, policy_packs=[PACK_DIR])
    stack_file = tmp_path / "stacks" / "Pulumi.prod.yaml"
    lines = stack_file.read_text(encoding="utf-8").splitlines()
    doc = to_sarif(result, base_dir=tmp_path)
    found = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "cluster-protected"]
    assert len(found) == 1
    physical = found[0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "stacks/Pulumi.prod.yaml"
    assert lines[physical["region"]["startLine"] - 1].strip() == "protect: false"
    assert found[0]["properties"]["configKey"] == "hardened-rke2:cluster.protect"
    assert found[0]["properties"]["configKeyPresent"] is True


def test_a_setting_left_at_its_default_opens_on_the_parent_where_it_would_be_added() -> None:
    result = preview_project(REPO_ROOT, "dev", policy_packs=[PACK_DIR])
    doc = to_sarif(result, base_dir=REPO_ROOT)
    (addons,) = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "cluster-required-addons"]
    lines = (REPO_ROOT / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8").splitlines()
    line = addons["locations"][0]["physicalLocation"]["region"]["startLine"]
    # dev has no `hardened-rke2:addons` at all: the alert opens on `config:`, where it would be added
    assert lines[line - 1].strip() == "config:"
    assert addons["properties"] == {**addons["properties"], "configKey": "hardened-rke2:addons"}
    assert addons["properties"]["configKeyPresent"] is False
    assert "not in the stack file" in addons["locations"][0]["message"]["text"]


def test_a_project_the_blueprint_does_not_know_falls_back_to_the_program_file(
    team_broken: PreviewResult,
) -> None:
    doc = to_sarif(team_broken, base_dir=REPO_ROOT)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]
    }
    assert uris == {"stacks/teams/payments/__main__.py"}
    assert all("configKey" not in r["properties"] for r in doc["runs"][0]["results"])
