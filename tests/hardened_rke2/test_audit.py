"""`hardened-rke2 audit --state FILE`: policy packs over a `pulumi stack export`, as `pulumi policy analyze`.

Upstream behaviour matched (pulumi/pulumi@1b5949891b3c): pkg/cmd/pulumi/policy/policy_analyze.go (the
command, flags, exit) and pkg/resource/deploy/analyze_snapshot.go (`AnalyzeSnapshot`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.cli import main
from hardened_rke2.preview import PreviewResult
from hardened_rke2.reports import AUDIT_STATEMENT
from tests.support.mini_pack import PACK as MINI_PACK
from tests.support.mini_pack import pod
from tests.support.stack_previews import EXAMPLES, PACK, example_with_pack
from tests.support.state_export import (
    ciphertext,
    export,
    export_from_preview,
    plaintext,
    resource,
    stack_resource,
    urn,
)

POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _audit(capsys: pytest.CaptureFixture[str], state: Path, *args: str) -> tuple[int, str, str]:
    code = main(["audit", "--state", str(state), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, doc: Any, name: str = "state.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _key(v: dict[str, Any]) -> tuple[str, ...]:
    return (
        v["policyName"],
        v["enforcementLevel"],
        v["resourceType"],
        v["resourceName"],
        v["urn"],
        v["message"],
    )


def _ciphertexts(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["ciphertext"]] if isinstance(value.get("ciphertext"), str) else []
        return found + [c for v in value.values() for c in _ciphertexts(v)]
    if isinstance(value, list):
        return [c for v in value for c in _ciphertexts(v)]
    return []


@functools.cache
def _example(name: str) -> tuple[PreviewResult, list[Path]]:
    return example_with_pack(name)


# -- every example stack: the audit of its export agrees with its preview -----------------------------------


@pytest.mark.parametrize("secrets", ["plaintext", "ciphertext"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_audit_of_example_export_gives_the_same_policy_results_as_its_preview(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, secrets: str
) -> None:
    preview, configs = _example(name)
    exported = export_from_preview(preview, secrets=secrets)
    state = _write(tmp_path, exported)
    pack_args = ["--policy-pack", str(PACK), *(a for c in configs for a in ("--policy-pack-config", str(c)))]
    code, out, err = _audit(capsys, state, *pack_args, "--json")
    doc = json.loads(out)
    expected = sorted(_key(v.to_dict()) for v in preview.violations)
    assert sorted(_key(v) for v in doc["violations"]) == expected
    assert (code, doc["summary"]["exitCode"]) == (preview.exit_code, preview.exit_code), err
    assert doc["summary"]["statement"] == AUDIT_STATEMENT and doc["audit"]["remediationsApplied"] is False
    # Providers are resources of the export: the audit analyzed the preview's resources plus its default ones.
    assert len(doc["resources"]) == len(preview.resources) + len(preview.default_providers)
    if secrets == "ciphertext":
        assert doc["audit"]["encryptedSecrets"] > 0
        assert any("were not decrypted" in w for w in doc["warnings"])
        sealed = _ciphertexts(exported)
        assert sealed and not [c for c in sealed if c in out]


def test_blocked_example_reports_its_mandatory_violations_in_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    preview, configs = _example("team-broken")
    state = _write(tmp_path, export_from_preview(preview))
    code, out, _ = _audit(capsys, state, "--policy-pack", str(PACK), "--policy-pack-config", str(configs[0]))
    lines = out.splitlines()
    assert code == 1 and preview.exit_code == 1
    assert (
        lines[0] == "Audit of exported state of payments-team/broken (policy packs: nsa-cisa-hardening@0.1.0)"
    )
    assert any(line.startswith("  mandatory (") for line in lines)
    assert "FAILED: mandatory policy violations" in out and lines[-1] == AUDIT_STATEMENT


# -- what each request carries --------------------------------------------------------------------------


def test_analyze_judges_inputs_and_analyze_stack_judges_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """analyze_snapshot.go:208 (`res.Inputs` for Analyze) and :263 (`res.Outputs` for AnalyzeStack)."""
    resources = [
        stack_resource(),
        # Inputs say privileged, outputs do not: the resource policy must see the inputs.
        resource(POD, "web", pod(privileged=True, drop=["ALL"]), outputs=pod(privileged=False, drop=["ALL"])),
        # The namespace's inputs name `old`, its outputs `apps`; the network policy covers `apps` only in its
        # outputs: the stack policy (every namespace has a network policy) must see the outputs.
        resource(NAMESPACE, "ns", {"metadata": {"name": "old"}}, outputs={"metadata": {"name": "apps"}}),
        resource(NETPOL, "deny", {}, outputs={"metadata": {"namespace": "apps"}}),
    ]
    code, out, _ = _audit(
        capsys, _write(tmp_path, export(resources)), "--policy-pack", str(MINI_PACK), "--json"
    )
    found = {(v["policyName"], v["resourceName"]) for v in json.loads(out)["violations"]}
    assert ("no-privileged", "web") in found
    assert not any(policy == "namespace-network-policy" for policy, _ in found)
    assert code == 1


def test_encrypted_secret_is_not_judged_and_plaintext_secret_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = pod(privileged=True, drop=["ALL"])["spec"]
    hidden = export([resource(POD, "web", {"metadata": {"name": "web"}, "spec": ciphertext(spec)})])
    code, out, _ = _audit(capsys, _write(tmp_path, hidden), "--policy-pack", str(MINI_PACK), "--json")
    doc = json.loads(out)
    cant = [v for v in doc["violations"] if v["policyName"] == "no-privileged"]
    assert [v["enforcementLevel"] for v in cant] == ["advisory"]
    assert cant[0]["message"].startswith("can't run policy 'no-privileged'")
    assert code == 0  # nothing could be judged mandatory: the advisory says so instead
    assert doc["audit"]["encryptedSecrets"] == 2 and any("--show-secrets" in w for w in doc["warnings"])
    web = next(r for r in doc["resources"] if r["name"] == "web")
    assert web["secretInputs"] == ["spec"] and web["inputs"]["spec"] == "[unknown]"

    shown = export([resource(POD, "web", {"metadata": {"name": "web"}, "spec": plaintext(spec)})])
    code, out, _ = _audit(
        capsys, _write(tmp_path, shown, "shown.json"), "--policy-pack", str(MINI_PACK), "--json"
    )
    doc = json.loads(out)
    assert code == 1 and [v["enforcementLevel"] for v in doc["violations"]] == ["mandatory"]
    web = next(r for r in doc["resources"] if r["name"] == "web")
    assert web["inputs"]["spec"] == "[secret]" and "privileged" not in json.dumps(web)


def test_remediation_is_reported_not_applied(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """analyze_snapshot.go:234-237: the remediation is reported; Analyze still sees the recorded inputs."""
    config = _write(tmp_path, {"drop-all-capabilities": "remediate"}, "config.json")
    state = _write(tmp_path, export([resource(POD, "web", pod(drop=[]))]))
    code, out, _ = _audit(capsys, state, "--policy-pack", str(MINI_PACK), "--policy-pack-config", str(config))
    assert "Remediations reported, not applied (1):" in out
    assert "  ~ drop-all-capabilities: kubernetes:core/v1:Pod  web" in out
    assert "drop-all-capabilities [medium]  kubernetes:core/v1:Pod  web" in out  # still violated
    assert code == 1  # a remediate-level violation counts as mandatory
    assert json.loads(state.read_text())["deployment"]["resources"][0]["inputs"] == pod(drop=[])


def test_deleted_resources_and_pending_operations_are_not_analyzed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """analyze_snapshot.go:204 skips `Delete`; pending operations are not among the snapshot's resources."""
    deleted = resource(POD, "old", pod(privileged=True, drop=["ALL"]), delete=True)
    replacing = resource(POD, "dbr", pod(privileged=True, drop=["ALL"]), pendingReplacement=True)
    op = {"type": "creating", "resource": resource(POD, "half", pod(privileged=True, drop=["ALL"]))}
    doc = export([stack_resource(), deleted, replacing], pending_operations=[op])
    code, out, _ = _audit(capsys, _write(tmp_path, doc), "--policy-pack", str(MINI_PACK), "--json")
    result = json.loads(out)
    assert {v["resourceName"] for v in result["violations"]} == {"dbr"}
    assert code == 1
    assert result["audit"]["skippedDeleted"] == [deleted["urn"]]
    assert result["audit"]["pendingOperations"] == [{"type": "creating", "urn": op["resource"]["urn"]}]
    assert result["audit"]["pendingReplacement"] == [replacing["urn"]]
    assert {r["name"] for r in result["resources"]} == {"brownfield-audit", "dbr"}
    warnings = "\n".join(result["warnings"])
    assert "1 resource(s) marked for deletion" in warnings and "1 pending operation(s)" in warnings


def test_foreign_resource_types_and_their_providers_are_analyzed_without_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    aws = resource("pulumi:providers:aws", "default_6_0_0", {"region": "eu-west-1"})
    bucket = resource(
        "aws:s3/bucket:Bucket",
        "logs",
        {"bucket": "logs", "acl": "public-read"},
        provider=f"{aws['urn']}::{aws['id']}",
    )
    pvt = resource(POD, "web", pod(privileged=True, drop=["ALL"]))
    code, out, _ = _audit(
        capsys,
        _write(tmp_path, export([stack_resource(), aws, bucket, pvt])),
        "--policy-pack",
        str(PACK),
        "--json",
    )
    doc = json.loads(out)
    assert {"aws:s3/bucket:Bucket", "pulumi:providers:aws"} <= {r["type"] for r in doc["resources"]}
    assert not [
        v for v in doc["violations"] if v["resourceType"].startswith(("aws:", "pulumi:providers:aws"))
    ]
    assert code == 1 and any(
        v["resourceName"] == "web" and v["enforcementLevel"] == "mandatory" for v in doc["violations"]
    )


def test_a_policy_that_raises_is_an_internal_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = _write(
        tmp_path, export([resource("kubernetes:core/v1:ConfigMap", "cm", {"data": {"crash": "1"}})])
    )
    code, out, err = _audit(capsys, state, "--policy-pack", str(MINI_PACK))
    assert code == 3 and "Traceback" not in out + err
    assert "The audit failed: policy pack Analyze of urn:pulumi:audit::brownfield::" in out
    assert "raised RuntimeError: policy bug" in out and "FAILED: error" in out


# -- flags, bad input, reports ------------------------------------------------------------------------------


def test_flags_follow_pulumi_policy_analyze(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = _write(tmp_path, export([resource(POD, "web", pod())]))
    code, _, err = _audit(capsys, state)
    assert code == 2 and "at least one --policy-pack DIR is needed" in err
    config = _write(tmp_path, {}, "c.json")
    code, _, err = _audit(
        capsys,
        state,
        "--policy-pack",
        str(MINI_PACK),
        "--policy-pack",
        str(MINI_PACK),
        "--policy-pack-config",
        str(config),
    )
    assert code == 2 and "1 --policy-pack-config for 2 --policy-pack" in err


def test_an_export_without_resources_is_nothing_to_analyze(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """policy_analyze.go:186-189: exit 0 before any pack is loaded (this pack directory does not exist)."""
    state = _write(tmp_path, export([]))
    code, out, _ = _audit(capsys, state, "--policy-pack", str(tmp_path / "no-such-pack"))
    assert code == 0 and f"warning: {state} has no resources; nothing to analyze" in out
    # Resources that all await deletion are still a snapshot with resources: the packs are loaded and
    # analyze nothing (analyze_snapshot.go:203-206).
    gone = _write(tmp_path, export([resource(POD, "old", pod(privileged=True), delete=True)]), "gone.json")
    code, out, _ = _audit(capsys, gone, "--policy-pack", str(MINI_PACK))
    assert code == 0 and "nothing to analyze" not in out and "policy packs: mini-pack@1.2.3" in out
    assert "Policy violations: none" in out and "1 resource(s) marked for deletion" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "state file is not valid JSON (line 1, column 2"),
        (json.dumps({"version": 2, "deployment": {}}), "version: deployment version 2 is older"),
        (json.dumps({"version": 3}), "deployment: missing"),
        (b"\xff\xfe garbage", "state file is not UTF-8"),
    ],
    ids=["garbage", "old-version", "no-deployment", "binary"],
)
def test_bad_exports_exit_2_with_the_reason_and_still_write_reports(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes, message: str
) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(content if isinstance(content, bytes) else content.encode())
    report = tmp_path / "report.json"
    code, out, err = _audit(capsys, state, "--policy-pack", str(MINI_PACK), "--report-json", str(report))
    assert code == 2 and message in err and "Traceback" not in err and out == ""
    assert json.loads(report.read_text())["summary"]["status"] == "usage-error"
    code, out, _ = _audit(capsys, tmp_path / "missing.json", "--policy-pack", str(MINI_PACK), "--json")
    assert code == 2 and "cannot read state file" in json.loads(out)["error"]


def test_reports_say_audit_and_point_at_the_state_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    state = _write(
        tmp_path, export([stack_resource(), resource(POD, "web", pod(privileged=True, drop=["ALL"]))])
    )
    code, _, _ = _audit(
        capsys, state, "--policy-pack", str(MINI_PACK), "--report-md", "r.md", "--report-sarif", "r.sarif"
    )
    md = (tmp_path / "r.md").read_text()
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    assert code == 1 and md.startswith("# Audit of exported state: `brownfield` / `audit`")
    assert "- Remediations reported (not applied): 0" in md and AUDIT_STATEMENT in md
    run = sarif["runs"][0]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "state.json"
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == AUDIT_STATEMENT
    assert urn(POD, "web") == run["results"][0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]


def test_subprocess_packs_give_the_same_audit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--policy-pack-mode subprocess` starts the pack as `python -m pulumi.policy`, as the CLI does."""
    state = _write(tmp_path, export([stack_resource(), resource(POD, "web", pod(privileged=True, drop=[]))]))
    results = []
    for mode in ("inprocess", "subprocess"):
        code, out, _ = _audit(
            capsys, state, "--policy-pack", str(MINI_PACK), "--policy-pack-mode", mode, "--json"
        )
        results.append((code, sorted(_key(v) for v in json.loads(out)["violations"])))
    assert results[0] == results[1] and results[0][0] == 1 and len(results[0][1]) == 2
