"""`hardened-rke2 preview|controls`: output, exit codes and reports."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from hardened_rke2.cli import main, resource_tree
from hardened_rke2.preview import preview_project
from hardened_rke2.project import PreviewUsageError
from hardened_rke2.reports import OFFLINE_STATEMENT, to_sarif

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = FIXTURES / "mini_project"
PACK = FIXTURES / "mini_pack"


def _preview(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["preview", "--project", str(PROJECT), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_has_tree_violations_summary_and_statement(capsys) -> None:
    code, out, _ = _preview(capsys, "--stack", "privileged", "--policy-pack", str(PACK))
    assert code == 1
    lines = out.splitlines()
    assert "pulumi:pulumi:Stack  mini-privileged" in lines[lines.index("Resources (5):") + 1]
    assert "  └─ kubernetes:core/v1:Namespace  ns" in lines
    at = lines.index("  └─ kubernetes:core/v1:Namespace  ns")
    assert lines[at + 1 : at + 4] == [
        "     ├─ kubernetes:apps/v1:Deployment  web",
        "     ├─ kubernetes:core/v1:Pod  pod  [protect]",
        "     └─ kubernetes:networking.k8s.io/v1:NetworkPolicy  deny",
    ]
    mandatory_at = lines.index("  mandatory (1):")
    assert lines[mandatory_at + 1].startswith("    no-privileged [critical]  kubernetes:core/v1:Pod  pod")
    assert "  advisory (1):" in lines
    assert any(line.startswith("Summary: 5 resources; 1 mandatory and 1 advisory") for line in lines)
    assert lines[-1] == OFFLINE_STATEMENT
    assert "no provider, Rancher server, cluster or Pulumi service was contacted" in OFFLINE_STATEMENT
    assert "nothing was deployed" in OFFLINE_STATEMENT


def test_json_is_one_document_with_resources_violations_summary(capsys) -> None:
    code, out, _ = _preview(capsys, "--stack", "privileged", "--policy-pack", str(PACK), "--json")
    doc = json.loads(out)
    assert code == 1
    assert doc["summary"]["mandatory"] == 1 and doc["summary"]["exitCode"] == 1 and doc["summary"]["offline"]
    assert {r["type"] for r in doc["resources"]} >= {"kubernetes:core/v1:Pod", "pulumi:pulumi:Stack"}
    pod = next(r for r in doc["resources"] if r["type"] == "kubernetes:core/v1:Pod")
    assert pod["protect"] is True
    assert pod["inputs"]["spec"]["containers"][0]["securityContext"]["privileged"] is True
    assert [(v["policyName"], v["enforcementLevel"]) for v in doc["violations"]] == [
        ("no-privileged", "mandatory"),
        ("min-replicas", "advisory"),
    ]


def test_secret_config_file_and_redaction(capsys, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("mini:token: s3cret\nkubernetes:kubeconfig: kube-s3cret\n")
    code, out, _ = _preview(capsys, "--stack", "encrypted", "--secret-config", str(secrets), "--json")
    assert code == 0
    assert "s3cret" not in out  # neither the program's secret output nor the provider's secret config
    assert json.loads(out)["stackOutputs"]["token"] == "[secret]"


def test_invalid_config_exit_2_and_lists_problems(capsys) -> None:
    code, out, _ = _preview(capsys, "--stack", "bad", "--policy-pack", str(PACK))
    assert code == 2
    assert "Invalid stack config (Pulumi.bad.yaml); nothing was registered:" in out
    assert "  - replicas: must be >= 0 (fix: use 1 or more)" in out
    code, out, _ = _preview(capsys, "--stack", "bad", "--json")
    assert code == 2 and json.loads(out)["problems"][0].startswith("namespace:")


def test_usage_errors_exit_2(capsys, tmp_path: Path) -> None:
    code, _, err = _preview(capsys, "--stack", "nope")
    assert code == 2 and "stack 'nope'" in err and OFFLINE_STATEMENT in err
    code, _, err = _preview(capsys, "--stack", "encrypted")
    assert code == 2 and "--secret-config" in err
    bad = tmp_path / "cfg.json"
    bad.write_text('{"no-privileged": "loud"}')
    code, out, _ = _preview(
        capsys, "--stack", "dev", "--policy-pack", str(PACK), "--policy-pack-config", str(bad), "--json"
    )
    assert code == 2 and "not a valid enforcement level" in json.loads(out)["error"]
    code, _, err = _preview(capsys, "--stack", "peer")
    assert code == 2 and "--stack-reference-outputs" in _ + err


def test_stack_reference_outputs_file(capsys, tmp_path: Path) -> None:
    refs = tmp_path / "refs.yaml"
    refs.write_text("org/platform/prod:\n  clusterName: p1\n")
    code, out, _ = _preview(capsys, "--stack", "peer", "--stack-reference-outputs", str(refs), "--json")
    assert code == 0 and json.loads(out)["stackOutputs"]["peerCluster"] == "p1"


def test_reports_are_written(capsys, tmp_path: Path) -> None:
    md, sarif, js = tmp_path / "r.md", tmp_path / "r.sarif", tmp_path / "r.json"
    code, _, _ = _preview(
        capsys,
        "--stack",
        "privileged",
        "--policy-pack",
        str(PACK),
        "--report-md",
        str(md),
        "--report-sarif",
        str(sarif),
        "--report-json",
        str(js),
    )
    assert code == 1
    text = md.read_text()
    assert "# Offline preview: `mini` / `privileged`" in text and "## Mandatory (1)" in text
    assert "| `no-privileged` | critical |" in text and OFFLINE_STATEMENT in text
    doc = json.loads(sarif.read_text())
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {
        "buggy-policy",
        "stack-peer-export",
        "drop-all-capabilities",
        "min-replicas",
        "namespace-network-policy",
        "no-privileged",
        "protected-cluster",
    }
    assert rules["no-privileged"]["helpUri"] == "https://example.invalid/no-privileged"
    assert rules["no-privileged"]["properties"]["security-severity"] == "9.5"
    results = {(r["ruleId"], r["level"]) for r in run["results"]}
    assert results == {("no-privileged", "error"), ("min-replicas", "warning")}
    first = run["results"][0]
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == first["ruleId"]
    loc = first["locations"][0]
    # relative to the repository root (nearest .git), as code scanning resolves it; not the blueprint, so
    # no config key is known: the program file (hardened_rke2/config_locations.py's fallback)
    uri = loc["physicalLocation"]["artifactLocation"]["uri"]
    assert not uri.startswith("/") and uri.endswith("mini_project/prog/__main__.py")
    assert loc["logicalLocations"][0]["fullyQualifiedName"].endswith("kubernetes:core/v1:Pod::pod")
    assert json.loads(js.read_text())["summary"]["mandatory"] == 1


def test_values_unknown_during_preview_are_advisory_notes_not_passes() -> None:
    result = preview_project(PROJECT, "unknown", policy_packs=[PACK])
    assert result.exit_code == 0
    unknown = [v for v in result.violations if v.resource_name == "pod"]
    assert {v.policy_name for v in unknown} == {"no-privileged"}
    assert all(v.is_preview_unknown and v.enforcement_level == "advisory" for v in unknown)
    sarif = to_sarif(result)["runs"][0]["results"]
    assert {r["level"] for r in sarif if r["ruleId"] == "no-privileged"} == {"note"}


def test_resource_tree_orders_children_under_parents() -> None:
    result = preview_project(PROJECT, "dev")
    lines = list(resource_tree(result.resources))
    assert lines[0].startswith("pulumi:pulumi:Stack")
    assert lines[1] == "└─ kubernetes:core/v1:Namespace  ns"
    assert all(line.startswith("   ") for line in lines[2:])


def test_controls_table_and_json(capsys) -> None:
    assert main(["controls", "--policy-pack", str(FIXTURES / "catalogue_pack")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "Section", "Title", "Preview"]
    row = next(line for line in lines if line.startswith("NSA-1.1"))
    assert "pod-run-as-non-root" in row and "PodSecurity" in row and " yes " in row
    manual = next(line for line in lines if line.startswith("NSA-9.9"))
    assert "a human process at runtime" in manual and " no " in manual
    assert "2 controls: 1 enforced by policies, 1 manual/runtime (reason given)." in out
    assert main(["controls", "--policy-pack", str(FIXTURES / "catalogue_pack"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == "NSA-1.1" and rows[0]["enforced_by"] == ["pod-run-as-non-root"]


def test_controls_without_catalogue_is_a_clear_error(capsys) -> None:
    assert main(["controls", "--policy-pack", str(PACK)]) == 2
    assert "no nsa_cisa package" in capsys.readouterr().err


class _ClosedPipe:
    """stdout whose reader went away (`hardened-rke2 preview ... | head`)."""

    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_output_pipe_ends_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    assert main(["preview", "--project", str(PROJECT), "--stack", "privileged"]) == 141


def test_subprocess_mode_refuses_the_real_pack_without_its_venv_exit_2(capsys, tmp_path: Path) -> None:
    # The CLI cannot start a local pack whose venv `pulumi install` has not created (issue 10, defect 7).
    from tests.support.paths import PACK_DIR, pack_layout

    pack = pack_layout(PACK_DIR, tmp_path / "nsa-cisa-hardening")
    code, _, err = _preview(
        capsys, "--stack", "privileged", "--policy-pack", str(pack), "--policy-pack-mode", "subprocess"
    )
    assert code == 2
    assert f"(fix: (cd {pack} && pulumi install))" in err


# -- preview --against ----------------------------------------------------------------------------


def test_against_an_earlier_preview_prints_the_plan_and_keeps_the_exit_code(capsys, tmp_path: Path) -> None:
    code, out, _ = _preview(capsys, "--stack", "privileged", "--policy-pack", str(PACK), "--json")
    old = tmp_path / "old.json"
    old.write_text(out)
    again, text, _ = _preview(
        capsys, "--stack", "privileged", "--policy-pack", str(PACK), "--against", str(old)
    )
    assert again == code == 1
    assert f"Changes against {old} (as `pulumi preview` would plan them):" in text
    assert "  no changes" in text and "Plan: 0 to create, 0 to update, 0 to replace" in text
    assert "Replacement rules: kubernetes: pulumi_kubernetes" in text
    _, js, _ = _preview(
        capsys, "--stack", "privileged", "--policy-pack", str(PACK), "--against", str(old), "--json"
    )
    diff = json.loads(js)["diff"]
    assert diff["against"] == str(old) and diff["summary"]["same"] >= 4 and diff["steps"] == []
    assert set(diff["replacementRules"]) == {"kubernetes", "rancher2"}


def test_against_reports_a_deleted_and_a_changed_resource(capsys, tmp_path: Path) -> None:
    _, out, _ = _preview(capsys, "--stack", "privileged", "--json")
    doc = json.loads(out)
    ns = next(r for r in doc["resources"] if r["type"] == "kubernetes:core/v1:Namespace")
    ns["inputs"]["metadata"]["name"] = "old-name"
    doc["resources"].append({**ns, "urn": ns["urn"] + "-gone", "name": "gone"})
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    _, text, _ = _preview(capsys, "--stack", "privileged", "--against", str(old))
    assert "+- replace  kubernetes:core/v1:Namespace  ns  [metadata.name forces replacement" in text
    assert "-  delete  kubernetes:core/v1:Namespace  gone" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("{not json", "not JSON"),
        ('{"summary": {}}', "no `resources` list"),
        ('{"summary": {"stack": "other"}, "resources": []}', "a preview of stack 'other', not 'privileged'"),
    ],
)
def test_a_bad_against_file_is_a_usage_error(
    capsys, tmp_path: Path, content: str | None, message: str
) -> None:
    old = tmp_path / "old.json"
    if content is not None:
        old.write_text(content)
    code, out, err = _preview(capsys, "--stack", "privileged", "--against", str(old))
    assert code == 2 and out == ""
    assert err.startswith(f"error: --against {old}") and message in err
    code, out, _ = _preview(capsys, "--stack", "privileged", "--against", str(old), "--json")
    assert code == 2 and message in json.loads(out)["error"]


def test_against_with_a_failing_preview_says_there_is_no_plan(capsys, tmp_path: Path) -> None:
    _, out, _ = _preview(capsys, "--stack", "privileged", "--json")
    old = tmp_path / "old.json"
    old.write_text(out)
    code, text, _ = _preview(capsys, "--stack", "broken", "--against", str(old))
    assert code == 2  # the stack misses required config: invalid config, nothing to compare
    assert f"note: no plan against {old}: this preview did not run to the end" in text


def test_one_process_previews_several_stacks(capsys, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, _ = _preview(
        capsys,
        "--stack",
        "privileged",
        "--stack",
        "privileged",
        "--policy-pack",
        str(PACK),
        "--json",
        "--report-json",
        str(report),
    )
    docs = json.loads(out)
    single_code, single_out, _ = _preview(
        capsys, "--stack", "privileged", "--policy-pack", str(PACK), "--json"
    )
    assert isinstance(docs, list) and len(docs) == 2
    assert code == single_code == 1
    assert docs[0]["violations"] == docs[1]["violations"] == json.loads(single_out)["violations"]
    assert (tmp_path / "report.privileged.json").is_file() and not report.exists()


def test_gc_is_tuned_and_frozen_unless_asked_not_to(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import gc

    import hardened_rke2 as cli

    before = gc.get_threshold()
    try:
        monkeypatch.setenv(cli.GC_ENV, "default")
        assert cli.tune_gc() is False and gc.get_threshold() == before
        monkeypatch.delenv(cli.GC_ENV)
        assert cli.tune_gc() is True and gc.get_threshold() == cli.GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def test_tuned_gc_is_scoped_to_its_block(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import hardened_rke2 as cli

    monkeypatch.delenv(cli.GC_ENV, raising=False)
    before = gc.get_threshold()
    assert before != cli.GC_THRESHOLDS
    with cli.tuned_gc() as tuned:
        assert tuned and gc.get_threshold() == cli.GC_THRESHOLDS
    assert gc.get_threshold() == before
    monkeypatch.setenv(cli.GC_ENV, "default")
    with cli.tuned_gc() as tuned:
        assert not tuned and gc.get_threshold() == before


# --- exit codes and the usage-error report (mutation testing: docs/mutation-testing.md) ---------------


def test_program_error_exits_3(capsys) -> None:
    code, out, _ = _preview(capsys, "--stack", "crash", "--policy-pack", str(PACK), "--json")
    assert code == 3 and json.loads(out)["summary"]["exitCode"] == 3


def test_usage_error_report_is_exactly_the_error_and_the_offline_statement(capsys) -> None:
    code, out, err = _preview(capsys, "--stack", "nope")
    assert code == 2 and out == ""
    message, statement, end = err.split("\n")
    assert message.startswith("error: ") and "stack 'nope'" in message
    assert (statement, end) == (OFFLINE_STATEMENT, "")
    code, out, err = _preview(capsys, "--stack", "nope", "--json")
    assert code == 2 and err == ""
    assert out.endswith("}\n") and out.startswith('{\n  "error": ')  # indented, keys sorted
    doc = json.loads(out)
    assert doc == {
        "summary": {"status": "usage-error", "exitCode": 2, "statement": OFFLINE_STATEMENT},
        "error": message.removeprefix("error: "),
    }


def test_secret_config_must_be_a_readable_mapping(capsys, tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    code, _, err = _preview(capsys, "--stack", "encrypted", "--secret-config", str(listed))
    assert code == 2 and f"error: {listed}: secret config must be a mapping\n" in err
    missing = tmp_path / "missing.yaml"
    code, _, err = _preview(capsys, "--stack", "encrypted", "--secret-config", str(missing))
    assert code == 2 and f"error: {missing}: cannot read secret config (" in err
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    code, _, err = _preview(capsys, "--stack", "encrypted", "--secret-config", str(empty))
    assert code == 2 and "--secret-config" in err  # an empty file is no secrets, not an error of its own


def test_a_pack_config_needs_a_pack_before_it(capsys, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text("{}")
    code, _, err = _preview(capsys, "--stack", "dev", "--policy-pack-config", str(cfg))
    assert code == 2 and "error: each --policy-pack-config needs a --policy-pack before it\n" in err
    code, _, _ = _preview(
        capsys, "--stack", "dev", "--policy-pack", str(PACK), "--policy-pack-config", str(cfg)
    )
    assert code == 0


def test_controls_pack_directory_must_exist(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-pack"
    assert main(["controls", "--policy-pack", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"error: policy pack directory {missing.resolve()} does not exist (use --policy-pack DIR)\n"
    )
    # Without --policy-pack: the project's default pack directory, found from the working directory.
    monkeypatch.chdir(PROJECT / "prog")
    assert main(["controls"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: policy pack directory {PROJECT.resolve()}/policy-packs/")


def _keys_sorted(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys)
    return dict(pairs)


def test_controls_json_is_indented_and_sorted(capsys) -> None:
    assert main(["controls", "--policy-pack", str(FIXTURES / "catalogue_pack"), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[\n  {\n") and out.endswith("]\n")
    assert len(json.loads(out, object_pairs_hook=_keys_sorted)) == 2


def test_controls_json_prints_a_catalogue_value_json_does_not_know_as_text(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A third-party catalogue may carry a date or a Path: shown as text, not a traceback.
    monkeypatch.setattr("hardened_rke2.cli.load_controls", lambda _: [{"id": "X", "since": date(2026, 1, 2)}])
    assert main(["controls", "--policy-pack", str(FIXTURES / "catalogue_pack"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"id": "X", "since": "2026-01-02"}]


def test_preview_finds_the_project_from_the_working_directory(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PROJECT / "prog")
    assert main(["preview", "--stack", "dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["exitCode"] == 0


def test_preview_passes_the_pack_mode_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_preview(*args: object, **kwargs: object) -> object:
        seen.update(kwargs)
        raise PreviewUsageError("stop here")

    monkeypatch.setattr("hardened_rke2.cli.preview_project", fake_preview)
    argv = ["preview", "--project", str(PROJECT), "--stack", "dev", "--policy-pack-mode", "subprocess"]
    assert main(argv) == 2
    assert seen["policy_mode"] == "subprocess"


class _ClosedPipeWithFd(_ClosedPipe):
    def __init__(self, fileno: int | Exception) -> None:
        self._fileno = fileno

    def fileno(self) -> int:
        if isinstance(self._fileno, Exception):
            raise self._fileno
        return self._fileno


def test_closed_pipe_points_stdout_at_devnull(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # So that the interpreter's final flush does not raise again: the pipe's descriptor becomes /dev/null.
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        monkeypatch.setattr("sys.stdout", _ClosedPipeWithFd(fd))
        assert main(["preview", "--project", str(PROJECT), "--stack", "privileged"]) == 141
        now, devnull = os.fstat(fd), os.stat(os.devnull)
        assert (now.st_dev, now.st_ino) == (devnull.st_dev, devnull.st_ino)
    finally:
        os.close(fd)


@pytest.mark.parametrize("fileno", [ValueError("I/O operation on closed file"), 2**20])
def test_closed_pipe_without_a_usable_descriptor_still_ends_quietly(
    monkeypatch: pytest.MonkeyPatch, fileno: int | Exception
) -> None:
    # A stream with no descriptor (ValueError) or a descriptor that is not open (OSError from dup2).
    monkeypatch.setattr("sys.stdout", _ClosedPipeWithFd(fileno))
    assert main(["preview", "--project", str(PROJECT), "--stack", "privileged"]) == 141


def test_only_the_console_script_tunes_and_freezes_the_collector(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main()` from the console script (argv None) tunes the GC and freezes what is alive at exit; a caller
    in this process (`main([...])`, tests) keeps its collector as it is."""
    from hardened_rke2 import cli

    calls: list[str] = []
    monkeypatch.setattr(cli, "tune_gc", lambda: calls.append("tune") or True)
    monkeypatch.setattr(cli.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(cli, "_close_event_loop", lambda: calls.append("close-loop"))
    assert cli.main(["controls", "--json"]) == 0
    assert calls == []
    monkeypatch.setattr(cli.sys, "argv", ["hardened-rke2", "controls", "--json"])
    assert cli.main() == 0
    assert calls == ["tune", "close-loop", "freeze"]
    capsys.readouterr()


def test_a_failing_stack_among_several_reports_on_stderr_and_raises_the_exit_code(capsys) -> None:
    code, out, err = _preview(capsys, "--stack", "privileged", "--stack", "nope", "--policy-pack", str(PACK))
    assert code == 2  # the highest: usage error (no stack file) over mandatory violations
    assert "Offline preview of" in out and "Pulumi.nope.yaml" in err and err.startswith("error: ")
