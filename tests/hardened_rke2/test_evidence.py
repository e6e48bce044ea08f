"""`hardened-rke2 evidence` and `preview --report-oscal`: the files an auditor gets; they validate."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from trestle.oscal import assessment_results as ar
from trestle.oscal import catalog as cat
from trestle.oscal import component as comp

from hardened_rke2 import oscal
from hardened_rke2.cli import _parser, main
from hardened_rke2.evidence import EVIDENCE_FILE, SARIF_FILE
from hardened_rke2.pack_catalogue import load_catalogue
from tests.support.paths import PACK_DIR, REPO_ROOT
from tests.support.sarif import sarif_errors
from tests.support.stack_previews import TEAM

FILES = {
    EVIDENCE_FILE,
    SARIF_FILE,
    oscal.ASSESSMENT_RESULTS_FILE,
    oscal.COMPONENT_DEFINITION_FILE,
    oscal.CATALOG_FILE,
}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _rows(markdown: str) -> dict[str, list[str]]:
    """Recommendation rows of the evidence tables: id -> [title, setting, policies, result]."""
    rows = {}
    for line in markdown.splitlines():
        m = re.match(r"^\| (NSA-\d+\.\d+) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = re.split(r" (?<!\\)\| ", m.group(2))
    return rows


@pytest.fixture(scope="module")
def prod_evidence(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    out = tmp_path_factory.mktemp("evidence") / "prod"
    code = main(["evidence", "--stack", "prod", "--out", str(out), "--project", str(REPO_ROOT)])
    return code, out, (out / EVIDENCE_FILE).read_text(encoding="utf-8")


def test_evidence_for_prod_writes_every_file_and_they_validate(prod_evidence: tuple[int, Path, str]) -> None:
    code, out, _ = prod_evidence
    assert code == 0
    assert {p.name for p in out.iterdir()} == FILES
    assert sarif_errors(json.loads((out / SARIF_FILE).read_text(encoding="utf-8"))) == []
    for name, model in (
        (oscal.ASSESSMENT_RESULTS_FILE, ar.AssessmentResults),
        (oscal.COMPONENT_DEFINITION_FILE, comp.ComponentDefinition),
        (oscal.CATALOG_FILE, cat.Catalog),
    ):
        loaded = oscal.read(model, out / name)
        assert oscal.dump(loaded) == (out / name).read_text(encoding="utf-8")


def test_evidence_markdown_lists_all_65_recommendations_with_setting_policy_and_result(
    prod_evidence: tuple[int, Path, str],
) -> None:
    _, _, markdown = prod_evidence
    catalogue = load_catalogue(PACK_DIR)
    rows = _rows(markdown)
    assert list(rows) == [c.id for c in catalogue.controls] and len(rows) == 65
    for control in catalogue.controls:
        _title, setting, policies, result = rows[control.id]
        for s in control.implemented_by:
            assert " ".join(s.split()).replace("|", "\\|") in setting
        if not control.implemented_by:
            assert setting.startswith("none")
        for p in control.enforced_by:
            assert f"`{p}` ({catalogue.policies[p].level})" in policies
        if not control.enforced_by:
            assert policies == "none"
        assert re.match(r"^(satisfied|\*\*not satisfied\*\*|not checkable at preview): \S", result), result
        if control.preview == "RT" and not control.enforced_by:
            assert result == f"not checkable at preview: {' '.join((control.manual_reason or '').split())}"
    assert "- Recommendations: 65: 59 satisfied, 0 not satisfied, 6 not checkable at preview" in markdown


def test_evidence_for_a_blocked_stack_exits_1_and_shows_what_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(
        capsys,
        "evidence",
        "--project",
        str(TEAM),
        "--stack",
        "broken",
        "--out",
        str(tmp_path / "ev"),
        # no --policy-pack: the team project inside this repository finds the repository's pack
        "--policy-pack-config",
        str(TEAM / "policy-pack-config.json"),
        "--stack-reference-outputs",
        str(TEAM / "platform-outputs.json"),
    )
    assert code == 1 and "preview exit code 1" in out
    rows = _rows((tmp_path / "ev" / EVIDENCE_FILE).read_text(encoding="utf-8"))
    assert rows["NSA-1.11"][3].startswith("**not satisfied**: 1 violation(s): pss-privileged-containers on")
    assert {p.name for p in (tmp_path / "ev").iterdir()} == FILES


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--out", "FILE"), "--out {file}: is a file; name a folder"),
        (("--out", "{tmp}/no/such/ev"), "does not exist"),
        (("--out", "{tmp}/ev", "--policy-pack", "{tmp}"), "not the NSA/CISA pack"),
        (("--out", "{tmp}/ev", "--secret-config", "{tmp}/none.yaml"), "none.yaml: cannot read secret config"),
    ],
)
def test_evidence_bad_input_exits_2_with_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    file = tmp_path / "a-file"
    file.write_text("x", encoding="utf-8")
    args = [a.replace("FILE", str(file)).replace("{tmp}", str(tmp_path)) for a in extra]
    code, _, err = _run(capsys, "evidence", "--stack", "prod", "--project", str(REPO_ROOT), *args)
    assert code == 2
    assert message.format(file=file) in err and "Traceback" not in err


def test_preview_report_oscal_writes_assessment_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "ar.json"
    code, _, _ = _run(
        capsys,
        "preview",
        "--project",
        str(REPO_ROOT),
        "--stack",
        "dev",
        "--policy-pack",
        str(PACK_DIR),
        "--report-oscal",
        str(report),
    )
    assert code == 0
    (result,) = oscal.read(ar.AssessmentResults, report).results
    findings = {f.target.target_id: f for f in result.findings or []}
    # dev installs no add-ons: the advisory stack rule fails the controls it checks
    nsa_4_5 = findings["NSA-4.5"].target.model_dump(mode="json")["status"]
    assert (nsa_4_5["state"], nsa_4_5["reason"]) == ("not-satisfied", "fail")


def test_preview_report_oscal_without_the_pack_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "ar.json"
    code, _, err = _run(
        capsys, "preview", "--project", str(REPO_ROOT), "--stack", "dev", "--report-oscal", str(report)
    )
    assert code == 2 and f"--report-oscal {report}: needs the NSA/CISA policy pack" in err
    assert not report.exists()


def _documented_commands(text: str) -> list[list[str]]:
    """`.venv/bin/hardened-rke2 ...` lines of the fenced bash blocks (continuations joined, comments cut)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == [".venv/bin/hardened-rke2"]:
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("doc", ["docs/evidence.md", "README.md"])
def test_documented_evidence_commands_use_real_flags(doc: str) -> None:
    text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    commands = [c for c in _documented_commands(text) if c[0] == "evidence" or "--report-oscal" in c]
    assert commands, f"{doc} documents no evidence command"
    parser = _parser()
    for argv in commands:
        args = parser.parse_args(argv)  # an unknown flag exits 2 (SystemExit) and fails the test
        assert args.command in ("evidence", "preview")


def test_a_plain_run_does_not_load_trestle() -> None:
    """compliance-trestle's models take about a second to import: only OSCAL output may pay for them, not
    every `hardened-rke2` run (which builds the parser from every command module)."""
    code = "import sys, hardened_rke2.cli as c; c._parser(); print('trestle' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "False"
