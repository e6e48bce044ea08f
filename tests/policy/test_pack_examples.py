"""The pack's example configs (`examples/audit-only.json`, `examples/enforce.json`) are valid for its
policies' schemas, and do what they say through the offline CLI's `--policy-pack-config`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from nsa_cisa import ALL_POLICIES

from hardened_rke2.cli import main
from tests.support.paths import PACK_DIR, REPO_ROOT

EXAMPLES = PACK_DIR / "examples"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
POLICIES = {p.name: p for p in ALL_POLICIES}
TEAM = REPO_ROOT / "stacks" / "teams" / "payments"


def config_problems(config: dict[str, Any]) -> list[str]:
    """Every way `config` is not a valid config for this pack: unknown policy names, unknown knobs
    (the schemas do not forbid extra properties, so a typo would otherwise pass silently), levels, and
    JSON-schema errors of each entry."""
    problems: list[str] = []
    for name, entry in config.items():
        if name != "all" and name not in POLICIES:
            problems.append(f"{name}: not a policy of the pack")
            continue
        if isinstance(entry, str):
            if entry not in LEVELS:
                problems.append(f"{name}: {entry!r} is not an enforcement level")
            continue
        if name == "all" or not isinstance(entry, dict):
            problems.append(f"{name}: must be an enforcement level or an object")
            continue
        schema = POLICIES[name].config_schema
        props = dict(schema.properties or {}) if schema else {}
        unknown = sorted(set(entry) - set(props) - {"enforcementLevel"})
        problems += [f"{name}.{k}: not a knob of this policy" for k in unknown]
        full = {"type": "object", "properties": {**props, "enforcementLevel": {"enum": list(LEVELS)}}}
        problems += [f"{name}: {e.message}" for e in jsonschema.Draft7Validator(full).iter_errors(entry)]
    return problems


def _load(name: str) -> dict[str, Any]:
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", ["audit-only.json", "enforce.json"])
def test_example_config_is_valid_for_the_pack(name: str) -> None:
    assert config_problems(_load(name)) == []


def test_the_validator_rejects_a_typo_a_bad_type_and_a_bad_level() -> None:
    bad = {
        "rke2-audit-logging": {"minAuditLogMaxAgeDay": 30, "minAuditLogMaxBackup": "ten"},
        "no-such-policy": "advisory",
        "all": "strict",
    }
    problems = config_problems(bad)
    assert "rke2-audit-logging.minAuditLogMaxAgeDay: not a knob of this policy" in problems
    assert any(p.startswith("rke2-audit-logging: 'ten' is not of type 'integer'") for p in problems)
    assert "no-such-policy: not a policy of the pack" in problems
    assert "all: 'strict' is not an enforcement level" in problems


def test_audit_only_makes_every_policy_advisory_and_enforce_every_policy_but_the_notice_mandatory() -> None:
    assert _load("audit-only.json") == {"all": "advisory"}
    enforce = _load("enforce.json")
    assert enforce["all"] == "mandatory"
    # Only the exemption notice stays advisory: as mandatory it would block every justified exemption.
    relaxed = {
        k
        for k, v in enforce.items()
        if k != "all" and (v if isinstance(v, str) else v.get("enforcementLevel")) == "advisory"
    }
    assert relaxed == {"exemption-applied"}


def _preview(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str, *args: str) -> tuple[int, Any]:
    report = tmp_path / "report.json"
    code = main(
        [
            "preview",
            *args,
            "--policy-pack",
            str(PACK_DIR),
            "--policy-pack-config",
            str(EXAMPLES / config),
            "--report-json",
            str(report),
        ]
    )
    capsys.readouterr()
    return code, json.loads(report.read_text(encoding="utf-8"))


def test_audit_only_lets_the_broken_team_stack_through_with_every_finding_advisory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, doc = _preview(
        capsys,
        tmp_path,
        "audit-only.json",
        "--project",
        str(TEAM),
        "--stack",
        "broken",
        "--stack-reference-outputs",
        str(TEAM / "platform-outputs.json"),
    )
    assert code == 0
    assert doc["summary"]["mandatory"] == 0 and doc["summary"]["advisory"] > 0


def test_enforce_passes_prod_and_blocks_dev_without_its_addons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, doc = _preview(capsys, tmp_path, "enforce.json", "--project", str(REPO_ROOT), "--stack", "prod")
    assert code == 0, doc["violations"]
    code, doc = _preview(capsys, tmp_path, "enforce.json", "--project", str(REPO_ROOT), "--stack", "dev")
    assert code == 1
    assert {(v["policyName"], v["enforcementLevel"]) for v in doc["violations"]} == {
        ("cluster-required-addons", "mandatory")
    }
