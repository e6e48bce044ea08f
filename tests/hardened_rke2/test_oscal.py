"""OSCAL documents built with compliance-trestle: the committed catalog and component definition are fresh
and round-trip through trestle's models; assessment results of a preview carry one observation per policy
result, a finding per control and exemptions as risks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from trestle.oscal import assessment_results as ar
from trestle.oscal import catalog as cat
from trestle.oscal import component as comp

from hardened_rke2 import oscal
from hardened_rke2.assessment import assess
from hardened_rke2.pack_catalogue import Catalogue, load_catalogue
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import load_stack_reference_outputs
from tests.support.paths import PACK_DIR, REPO_ROOT
from tests.support.stack_previews import TEAM

DOCS = REPO_ROOT / "docs" / "oscal"
CONTROLS_YAML = PACK_DIR / "nsa_cisa" / "controls.yaml"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(PACK_DIR)


def _team_broken(config: dict[str, Any] | None = None) -> PreviewResult:
    base = json.loads((TEAM / "policy-pack-config.json").read_text(encoding="utf-8"))
    result = preview_project(
        TEAM,
        "broken",
        policy_packs=[PACK_DIR],
        policy_pack_configs=[{**base, **(config or {})}],
        stack_reference_outputs=load_stack_reference_outputs(str(TEAM / "platform-outputs.json")),
    )
    assert result.status == "ok", result.error
    return result


def _results(tmp_path: Path, result: PreviewResult, catalogue: Catalogue) -> ar.Result:
    """Build, write, read back (validated) and check the round trip; the one `Result`."""
    doc = oscal.build_assessment_results(assess(result, catalogue), tool_version="test")
    path = tmp_path / "assessment-results.json"
    oscal.write(doc, path)
    loaded = oscal.read(ar.AssessmentResults, path)
    assert oscal.dump(loaded) == path.read_text(encoding="utf-8")
    (only,) = loaded.results
    return only


def _status(finding: Any) -> dict[str, str]:
    """A finding's objective status as in the JSON (trestle parses the unions to varying types)."""
    status: dict[str, str] = finding.target.model_dump(mode="json", by_alias=True, exclude_none=True)[
        "status"
    ]
    return status


def _prop(props: Any, name: str) -> list[str]:
    return [p.value for p in props or [] if p.name == name]


# -- the committed catalog and component definition ------------------------------------------------------


def test_committed_documents_are_fresh(catalogue: Catalogue) -> None:
    assert oscal.stale_documents(catalogue, DOCS) == [], "run `python -m hardened_rke2.oscal write`"


@pytest.mark.parametrize(
    ("name", "model"),
    [(oscal.CATALOG_FILE, cat.Catalog), (oscal.COMPONENT_DEFINITION_FILE, comp.ComponentDefinition)],
)
def test_committed_documents_round_trip_through_trestle(name: str, model: type[Any]) -> None:
    path = DOCS / name
    loaded = oscal.read(model, path)
    assert oscal.dump(loaded) == path.read_text(encoding="utf-8")


def test_a_changed_catalogue_makes_the_documents_stale_and_write_refreshes_them(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    for name in (oscal.CATALOG_FILE, oscal.COMPONENT_DEFINITION_FILE):
        shutil.copy(DOCS / name, tmp_path / name)
    pack = tmp_path / "pack"
    shutil.copytree(PACK_DIR, pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    controls = yaml.safe_load(CONTROLS_YAML.read_text(encoding="utf-8"))
    controls["controls"][0]["title"] = "Every container runs as non-root (edited)"
    (pack / "nsa_cisa" / "controls.yaml").write_text(yaml.safe_dump(controls), encoding="utf-8")
    edited = load_catalogue(pack)
    assert oscal.stale_documents(edited, tmp_path) == [oscal.CATALOG_FILE, oscal.COMPONENT_DEFINITION_FILE]
    assert oscal.write_static_documents(edited, tmp_path) == [
        oscal.CATALOG_FILE,
        oscal.COMPONENT_DEFINITION_FILE,
    ]
    assert oscal.stale_documents(edited, tmp_path) == []
    assert "(edited)" in (tmp_path / oscal.CATALOG_FILE).read_text(encoding="utf-8")
    # an unchanged catalogue is not rewritten (its last-modified stays)
    before = (tmp_path / oscal.CATALOG_FILE).read_text(encoding="utf-8")
    assert oscal.write_static_documents(edited, tmp_path) == []
    assert (tmp_path / oscal.CATALOG_FILE).read_text(encoding="utf-8") == before


def test_a_setting_in_a_file_of_no_piece_is_refused_not_dropped(catalogue: Catalogue) -> None:
    control = catalogue.controls[0]
    orphan = "components/brand_new.py: a setting no piece owns"
    edited = dataclasses.replace(
        catalogue,
        controls=(
            dataclasses.replace(control, implemented_by=(*control.implemented_by, orphan)),
            *catalogue.controls[1:],
        ),
    )
    with pytest.raises(ValueError, match=r"belong to no OSCAL piece .*components/brand_new\.py"):
        oscal.build_component_definition(edited, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))


def test_trestle_validation_rejects_a_duplicate_uuid(tmp_path: Path) -> None:
    doc = json.loads((DOCS / oscal.COMPONENT_DEFINITION_FILE).read_text(encoding="utf-8"))
    components = doc["component-definition"]["components"]
    components[1]["uuid"] = components[0]["uuid"]
    path = tmp_path / "component-definition.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match=r"component-definition\.json: .*duplicate uuids"):
        oscal.read(comp.ComponentDefinition, path)


def test_catalog_has_every_checklist_id_grouped_by_section(catalogue: Catalogue) -> None:
    model = oscal.read(cat.Catalog, DOCS / oscal.CATALOG_FILE)
    controls = yaml.safe_load(CONTROLS_YAML.read_text(encoding="utf-8"))["controls"]
    assert len(controls) == 65
    groups = model.groups or []
    assert [g.id for g in groups] == ["pod-security", "network", "authn-authz", "logging", "upgrades"]
    by_id = {c.id: (g.id, c) for g in groups for c in g.controls or []}
    assert set(by_id) == {c["id"] for c in controls}
    for c in controls:
        section, control = by_id[c["id"]]
        assert section == c["section"]
        assert control.title == " ".join(c["title"].split())
        assert _prop(control.props, "preview-class") == [c["preview"]]


def test_component_definition_has_the_five_pieces_with_settings_and_policies(catalogue: Catalogue) -> None:
    model = oscal.read(comp.ComponentDefinition, DOCS / oscal.COMPONENT_DEFINITION_FILE)
    pieces = {_prop(c.props, "piece")[0]: c for c in model.components or []}
    assert list(pieces) == ["cluster", "add-ons", "management-plane", "tenancy", "policy-pack"]
    assert pieces["policy-pack"].model_dump(mode="json")["type"] == "validation"
    settings_seen: list[str] = []
    for piece, component in pieces.items():
        (implementation,) = component.control_implementations or []
        assert implementation.source == oscal.CATALOG_FILE
        for req in implementation.implemented_requirements:
            control = catalogue.control(req.control_id)
            policies = [(p.value, p.class_) for p in req.props or [] if p.name == "policy"]
            assert policies == [(n, catalogue.policies[n].level) for n in control.enforced_by]
            settings = _prop(req.props, "setting")
            settings_seen += settings
            if piece == "policy-pack":
                assert settings == [] and control.enforced_by
            else:
                assert settings and all(oscal.piece_of(s) == piece for s in settings)
    every_setting = [" ".join(s.split()) for c in catalogue.controls for s in c.implemented_by]
    assert sorted(settings_seen) == sorted(every_setting)  # each setting in exactly one piece
    enforced = [c.id for c in catalogue.controls if c.enforced_by]
    assert [
        r.control_id for r in pieces["policy-pack"].control_implementations[0].implemented_requirements
    ] == (enforced)


# -- assessment results of a preview ---------------------------------------------------------------------


def test_one_observation_per_policy_result_and_a_finding_per_control(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    result = _team_broken()
    res = _results(tmp_path, result, catalogue)
    observations = res.observations or []
    violations = [o for o in observations if _prop(o.props, "result") == ["fail"]]
    passes = [o for o in observations if _prop(o.props, "result") == ["pass"]]
    assert len(violations) == len(result.violations) == 16
    assert len(passes) == len(result.packs[0].policies) - len({v.policy_name for v in result.violations})
    findings = {f.target.target_id: f for f in res.findings or []}
    assert len(findings) == 65
    # NSA-1.1: two runAsNonRoot violations on the Deployment
    run_as_non_root = findings["NSA-1.1"]
    assert _status(run_as_non_root) == {
        "state": "not-satisfied",
        "reason": "fail",
        "remarks": next(c.reason for c in assess(result, catalogue).controls if c.control.id == "NSA-1.1"),
    }
    assert run_as_non_root.description.startswith("2 violation(s): pss-run-as-non-root on")
    related = {r.observation_uuid for r in run_as_non_root.related_observations or []}
    mine = {o.uuid for o in violations if _prop(o.props, "policy") == ["pss-run-as-non-root"]}
    assert len(mine) == 2 and mine <= related
    subject = next(o for o in violations if o.uuid in mine).subjects[0]
    items = {i.uuid: i for i in res.local_definitions.inventory_items}
    assert _prop(items[subject.subject_uuid].props, "resource-type") == ["kubernetes:apps/v1:Deployment"]
    # NSA-1.4 is runtime only: not claimed, with the catalogue's reason
    image_user = findings["NSA-1.4"]
    status = _status(image_user)
    assert (status["state"], status["reason"]) == ("not-satisfied", "other")
    assert status["remarks"].startswith("Not checkable at preview: Whether an image declares")
    assert _prop(image_user.props, "preview-result") == ["not-checkable"]
    # a control the broken workload does not touch is satisfied
    assert _status(findings["NSA-2.12"])["state"] == "satisfied"


def test_exemptions_are_risks_with_reason_and_expiry(tmp_path: Path, catalogue: Catalogue) -> None:
    expires = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=30)).isoformat()
    record = {
        "policy": "pss-privileged-containers",
        "resource": "*payments-api-deployment",
        "reason": "vendor agent needs privileged mode until release 4.2 (SEC-9)",
        "expires": expires,
        "approvedBy": "security@example.com",
    }
    expired = {**record, "policy": "pss-host-path-volumes", "expires": "2020-01-01"}
    config = {
        name: {"exemptions": [record, expired]}
        for name in ("pss-privileged-containers", "pss-host-path-volumes", "exemption-applied")
    }
    result = _team_broken(config)
    assert not [v for v in result.violations if v.policy_name == "pss-privileged-containers"]
    assert [v for v in result.violations if v.policy_name == "pss-host-path-volumes"]  # expired: not exempt
    res = _results(tmp_path, result, catalogue)
    (risk,) = res.risks or []
    assert risk.description == record["reason"]
    assert risk.model_dump(mode="json")["status"] == "deviation-approved"
    assert risk.deadline.date().isoformat() == expires
    assert _prop(risk.props, "policy") == ["pss-privileged-containers"]
    assert _prop(risk.props, "expires") == [expires]
    assert _prop(risk.props, "approved-by") == ["security@example.com"]
    applied = {o.uuid for o in res.observations or [] if _prop(o.props, "policy") == ["exemption-applied"]}
    assert {r.observation_uuid for r in risk.related_observations or []} == applied != set()
    nsa_1_11 = next(f for f in res.findings or [] if f.target.target_id == "NSA-1.11")
    assert [r.risk_uuid for r in nsa_1_11.related_risks or []] == [risk.uuid]


def test_a_disabled_policy_leaves_its_control_not_checkable(tmp_path: Path, catalogue: Catalogue) -> None:
    result = _team_broken({"pss-run-as-non-root": "disabled"})
    a = assess(result, catalogue)
    nsa_1_1 = next(c for c in a.controls if c.control.id == "NSA-1.1")
    assert nsa_1_1.state == "not-checkable" and "disabled by the pack config" in nsa_1_1.reason
    outcome = next(o for o in a.policies if o.name == "pss-run-as-non-root")
    assert (outcome.outcome, outcome.level) == ("disabled", "disabled")


def test_a_value_unknown_at_preview_is_not_claimed_as_satisfied(catalogue: Catalogue) -> None:
    result = preview_project(REPO_ROOT, "prod", policy_packs=[PACK_DIR])
    a = assess(result, catalogue)
    nsa_3_2 = next(c for c in a.controls if c.control.id == "NSA-3.2")
    assert nsa_3_2.state == "not-checkable"
    assert "unknown until deployment (neuvector-bootstrap-password on" in nsa_3_2.reason
    assert a.counts() == {"satisfied": 59, "not-satisfied": 0, "not-checkable": 6}


def test_a_preview_that_did_not_complete_decides_no_control(tmp_path: Path, catalogue: Catalogue) -> None:
    failed = PreviewResult(
        project="hardened-rke2", stack="prod", status="invalid-config", problems=["x: bad"]
    )
    res = _results(tmp_path, failed, catalogue)
    findings = res.findings or []
    assert len(findings) == 65
    assert {_status(f)["reason"] for f in findings} == {"other"}
    assert res.observations is None
