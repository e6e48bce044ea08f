"""The control catalogue: complete over the checklist, consistent with the pack's policies, and every
control either enforced by a policy or explained."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nsa_cisa import ALL_POLICIES
from nsa_cisa.catalogue import (
    PREVIEW_CHECKABLE,
    CatalogueError,
    ControlEntry,
    load_catalogue,
    read_controls,
)
from nsa_cisa.catalogue import format_table as catalogue_table

from tests.support import paths
from tests.support.paths import REPO_ROOT, shared_file

CHECKLIST = "notes/nsa-checklist.md"  # relative to the shared directory next to the repository
_ID_RE = re.compile(r"^NSA-\d+\.\d+$")


@pytest.fixture(scope="module")
def catalogue() -> list[ControlEntry]:
    return load_catalogue()


def checklist_ids(text: str) -> set[str]:
    """The ids of the shared checklist's table rows (`| NSA-x.y | …`)."""
    return set(re.findall(r"^\| (NSA-\d+\.\d+) \|", text, re.M))


def test_catalogue_ids_are_unique_and_complete(catalogue: list[ControlEntry]) -> None:
    ids = [e.id for e in catalogue]
    assert len(ids) == len(set(ids))
    assert len(ids) == 65


def test_catalogue_covers_every_checklist_id(catalogue: list[ControlEntry]) -> None:
    # Skips locally when ../shared is absent; fails under CI=true (tests/support/paths.py shared_file).
    listed = checklist_ids(shared_file(CHECKLIST).read_text())
    assert listed == {e.id for e in catalogue}


def test_shared_checklist_is_read_relative_to_the_repository_never_by_machine_path() -> None:
    absolute = re.compile(r"""Path\(\s*["']/""")
    offenders = [
        f"{f.relative_to(REPO_ROOT)}:{n}"
        for f in sorted((REPO_ROOT / "tests").rglob("*.py"))
        for n, line in enumerate(f.read_text().splitlines(), 1)
        if absolute.search(line)
    ]
    assert offenders == []
    assert REPO_ROOT.parent / "shared" == paths.SHARED_DIR


@pytest.mark.parametrize("ci", ["true", ""])
def test_missing_shared_checklist_fails_in_ci_and_skips_locally(
    ci: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "SHARED_DIR", tmp_path / "absent")
    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match=r"notes/nsa-checklist\.md"):
        shared_file(CHECKLIST)


def test_checklist_comparison_reads_the_shared_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "nsa-checklist.md").write_text("| NSA-1.1 | x |\n| NSA-2.3 | y |\ntext\n")
    monkeypatch.setattr(paths, "SHARED_DIR", tmp_path)
    assert checklist_ids(shared_file(CHECKLIST).read_text()) == {"NSA-1.1", "NSA-2.3"}


def test_every_policy_tag_names_a_known_control(catalogue: list[ControlEntry]) -> None:
    known = {e.id for e in catalogue}
    for policy in ALL_POLICIES:
        nsa_tags = [t for t in policy.tags or [] if t.startswith("NSA-")]
        unknown = [t for t in nsa_tags if t not in known]
        assert not unknown, f"{policy.name} names unknown ids {unknown}"
        if not policy.name.startswith("exemption"):  # pack governance policies carry no guide id
            assert nsa_tags, f"{policy.name} has no NSA checklist id"


def test_every_preview_checkable_control_has_a_policy_or_a_reason(catalogue: list[ControlEntry]) -> None:
    gaps = [
        e.id
        for e in catalogue
        if e.preview in PREVIEW_CHECKABLE and not e.enforced_by and not e.no_policy_reason
    ]
    assert gaps == []


def test_an_enforcing_policy_wins_over_a_documented_gap(catalogue: list[ControlEntry]) -> None:
    # Another helper may add a policy for a documented gap; the catalogue then reports it as enforced.
    fake = type("P", (), {"name": "psp-check", "tags": ["NSA-1.23"]})()
    entry = next(e for e in load_catalogue([fake]) if e.id == "NSA-1.23")
    assert entry.no_policy_reason and entry.status == "enforced"


def test_runtime_controls_say_why(catalogue: list[ControlEntry]) -> None:
    assert all(e.manual_reason for e in catalogue if e.preview == "RT")


def test_enforced_by_is_computed_from_tags(catalogue: list[ControlEntry]) -> None:
    by_id = {e.id: e for e in catalogue}
    assert "rke2-cis-profile" in by_id["NSA-5.2"].enforced_by
    assert "rke2-audit-logging" in by_id["NSA-4.1"].enforced_by
    fake = type("P", (), {"name": "only", "tags": ["NSA-1.1", "section:pod-security"]})()
    alone = {e.id: e for e in load_catalogue([fake])}
    assert alone["NSA-1.1"].enforced_by == ("only",) and alone["NSA-5.2"].enforced_by == ()


def test_implemented_by_points_at_real_component_files(catalogue: list[ControlEntry]) -> None:
    for e in catalogue:
        for item in e.implemented_by:
            path = item.split(":", 1)[0]
            assert (REPO_ROOT / path).is_file(), f"{e.id}: {path} does not exist"


def test_catalogue_rejects_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "controls.yaml"
    bad.write_text(
        "controls:\n- id: NSA-9.1\n  title: x\n  section: pod-security\n  preview: RT\n"
        "- id: NSA-9.1\n  title: y\n  section: nowhere\n  preview: Q\n"
    )
    with pytest.raises(CatalogueError) as err:
        read_controls(bad)
    text = str(err.value)
    assert "needs a manual_reason" in text and "duplicate id NSA-9.1" in text and "preview must be" in text
    assert "section must be" in text


def test_table_lists_every_control(catalogue: list[ControlEntry]) -> None:
    table = catalogue_table(catalogue)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["ID", "PREVIEW", "STATUS", "POLICIES"]
    assert sum(1 for line in lines if _ID_RE.match(line.split(" ", 1)[0])) == 65
    assert "65 controls:" in lines[-1] and "0 gaps" in lines[-1]
    assert all(c.to_dict()["status"] for c in catalogue)
