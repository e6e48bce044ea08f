"""Hostile and careless input to `hardened-rke2 preview` (issue 15): never a traceback, exit 2 for bad
input or usage, 3 for an internal error, never 1 (which means "mandatory violations")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hardened_rke2 import cli
from hardened_rke2.cli import main
from tests.support.hostile_yaml import alias_bomb

FIXTURES = Path(__file__).parent / "fixtures"
PACK = FIXTURES / "mini_pack"
NOT_UTF8 = b"config:\n  mini:namespace: \xff\xfeteam\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(FIXTURES / "mini_project", dst)
    return dst


def run(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str]:
    code = main(["preview", "--project", str(project), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def test_non_utf8_stack_file(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "stacks" / "Pulumi.x.yaml").write_bytes(NOT_UTF8)
    code, text = run(capsys, project, "--stack", "x")
    assert code == 2 and "not UTF-8" in text


def test_non_utf8_pulumi_yaml(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "Pulumi.yaml").write_bytes(b"name: mini\xff\n")
    code, text = run(capsys, project, "--stack", "dev")
    assert code == 2 and "not UTF-8" in text


@pytest.mark.parametrize("flag", ["--secret-config", "--stack-reference-outputs", "--policy-pack-config"])
def test_non_utf8_side_files(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, flag: str
) -> None:
    bad = tmp_path / "side.yaml"
    bad.write_bytes(b"a: \xff\n")
    extra = ["--policy-pack", str(PACK)] if flag == "--policy-pack-config" else []
    code, text = run(capsys, project, "--stack", "dev", *extra, flag, str(bad))
    assert code == 2 and "not UTF-8" in text


def test_yaml_nested_5000_levels(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "stacks" / "Pulumi.x.yaml").write_text("config:\n  mini:namespace: " + "[" * 5000 + "]" * 5000)
    code, text = run(capsys, project, "--stack", "x")
    assert code == 2 and "MAX_DEPTH" in text


def test_alias_bomb_stack_file(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "stacks" / "Pulumi.x.yaml").write_text(
        "bomb:\n" + "".join(f"  {x}\n" for x in alias_bomb().splitlines())
    )
    code, text = run(capsys, project, "--stack", "x")
    assert code == 2 and "alias bomb" in text


def test_duplicate_keys_in_stack_file(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "stacks" / "Pulumi.x.yaml").write_text(
        "config:\n  mini:namespace: prod\n  mini:namespace: evil\n"
    )
    code, text = run(capsys, project, "--stack", "x")
    assert code == 2 and "line 3: duplicate key 'mini:namespace' (first at line 2)" in text


def test_pulumi_yaml_config_list(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    p = project / "Pulumi.yaml"
    p.write_text(p.read_text().split("config:")[0] + "config:\n  - a\n  - b\n")
    code, text = run(capsys, project, "--stack", "dev")
    assert code == 2 and "`config:` must be a mapping" in text


@pytest.mark.parametrize("kind", ["missing-dir", "a-dir"])
def test_unwritable_report_path_is_refused_before_the_program_runs(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("the preview ran although a report path is unusable")

    monkeypatch.setattr(cli, "preview_project", never)
    target = tmp_path / "no" / "such" / "r.sarif" if kind == "missing-dir" else tmp_path
    good = tmp_path / "r.json"
    code, text = run(
        capsys, project, "--stack", "dev", "--report-sarif", str(target), "--report-json", str(good)
    )
    assert code == 2 and "--report-sarif" in text
    # The usable report is still written, carrying the error.
    doc = json.loads(good.read_text())
    assert doc["summary"]["status"] == "usage-error" and "--report-sarif" in doc["error"]


def test_pack_failing_at_import_exits_3(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path
) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    (pack / "__main__.py").write_text("raise RuntimeError('boom at import')\n")
    code, text = run(capsys, project, "--stack", "dev", "--policy-pack", str(pack))
    assert code == 3 and "boom at import" in text


def test_internal_error_exits_3_without_traceback(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(cli, "preview_project", broken)
    md = tmp_path / "r.md"
    code, text = run(capsys, project, "--stack", "dev", "--report-md", str(md))
    assert code == 3 and "internal error: KeyError" in text
    assert "KeyError" in md.read_text()


def test_usage_error_still_writes_the_requested_reports(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path
) -> None:
    sarif, md = tmp_path / "r.sarif", tmp_path / "r.md"
    code, _ = run(capsys, project, "--stack", "nope", "--report-sarif", str(sarif), "--report-md", str(md))
    assert code == 2
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert len(results) == 1 and results[0]["level"] == "error" and "nope" in results[0]["message"]["text"]
    assert "could not run" in md.read_text()


def test_all_disabled_warns_that_nothing_is_enforced(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path
) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"all": "disabled"}')
    code, text = run(
        capsys, project, "--stack", "dev", "--policy-pack", str(PACK), "--policy-pack-config", str(cfg)
    )
    assert code == 0 and text.count("is disabled by the policy pack config: nothing is enforced") == 1


def test_a_warning_is_printed_once(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    main_py = project / "prog" / "__main__.py"
    main_py.write_text(
        main_py.read_text() + "\nimport pulumi\n\nfor _ in range(3):\n    pulumi.log.warn('same warning')\n"
    )
    code, text = run(capsys, project, "--stack", "dev")
    assert code == 0 and text.count("warning: same warning") == 1


def test_subprocess_pack_mode_leaves_nothing_on_stderr(project: Path) -> None:
    """The pack process, its pipes, the engine server and the SDK's event loop are shut down in order:
    no "Exception ignored in BaseEventLoop.__del__" at exit (seen in about a third of runs before)."""
    import subprocess
    import sys

    for _ in range(2):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "hardened_rke2.cli",
                "preview",
                "--project",
                str(project),
                "--stack",
                "dev",
                "--policy-pack",
                str(PACK),
                "--policy-pack-mode",
                "subprocess",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode in (0, 1), proc.stderr
        assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_invalid_config_problems_are_sarif_results(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path
) -> None:
    sarif, md = tmp_path / "r.sarif", tmp_path / "r.md"
    code, _ = run(capsys, project, "--stack", "bad", "--report-sarif", str(sarif), "--report-md", str(md))
    assert code == 2
    run_ = json.loads(sarif.read_text())["runs"][0]
    results = run_["results"]
    assert results and all(r["ruleId"] == "invalid-config" and r["level"] == "error" for r in results)
    assert any("replicas" in r["message"]["text"] for r in results)
    assert run_["tool"]["driver"]["rules"][results[0]["ruleIndex"]]["id"] == "invalid-config"
    assert "## Invalid config" in md.read_text()


def test_sarif_fingerprints_are_distinct() -> None:
    from hardened_rke2.analysis.results import AnalysisResult, Violation
    from hardened_rke2.preview import PreviewResult
    from hardened_rke2.reports import to_sarif

    def v(message: str) -> Violation:
        return Violation(
            "pss-capabilities", "Drop ALL.", message, "mandatory", "urn:x", "Pod", "p", "high", (), "pack"
        )

    # The same policy on the same resource several times (one per container), plus an exact duplicate.
    violations = [v("container a adds NET_ADMIN"), v("container b adds NET_ADMIN"), v("x"), v("x")]
    result = PreviewResult(
        project="p", stack="s", status="ok", analysis=AnalysisResult(violations=violations, remediations={})
    )
    prints = [r["partialFingerprints"]["policyResource/v1"] for r in to_sarif(result)["runs"][0]["results"]]
    assert len(prints) == 4 and len(set(prints)) == 4
