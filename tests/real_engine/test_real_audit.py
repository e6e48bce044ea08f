"""`hardened-rke2 audit --state F` against the REAL `pulumi policy analyze --file F` (CLI v3.276.0).

The same export file goes to both: exports of every example stack (built from the offline preview by
tests/support/state_export.py) and a hand-written brownfield export (deleted, pending-replacement and
pending-operation resources, a foreign provider's resource, inputs that differ from outputs, a remediation).
They must report the same violations (policy, resource, level, message), the same remediations and the
same exit code. The one deliberate difference, encrypted secrets, is pinned down as well.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.cli import main
from tests.support.mini_pack import PACK as MINI_PACK
from tests.support.mini_pack import pod
from tests.support.real_preview import analyze_state_file
from tests.support.stack_previews import EXAMPLES, PACK, example_with_pack
from tests.support.state_export import (
    PASSPHRASE_PROVIDER,
    ciphertext,
    export,
    export_from_preview,
    resource,
    stack_resource,
)

pytestmark = [pytest.mark.real_engine, pytest.mark.slow]

POD = "kubernetes:core/v1:Pod"


def _ours(state: Path, packs: list[Path], configs: list[Path]) -> tuple[int, dict[str, Any]]:
    args = ["audit", "--state", str(state), "--json"]
    args += [a for p in packs for a in ("--policy-pack", str(p))]
    args += [a for c in configs for a in ("--policy-pack-config", str(c))]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(args)
    return code, json.loads(out.getvalue())


def _both(tmp: Path, doc: dict[str, Any], packs: list[Path], configs: list[Path]) -> tuple[Any, ...]:
    state = tmp / "state.json"
    state.write_text(json.dumps(doc), encoding="utf-8")
    real = analyze_state_file(state, packs, configs, tmp)
    code, ours = _ours(state, packs, configs)
    return real, code, ours


def _ours_as_cli(items: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """(policy, URN, level, message) as the CLI's policy event carries it: the policy's description, a
    newline, the violation message; the SDK's "can't run policy" advisories stand alone."""
    out = set()
    for v in items:
        message = v["message"]
        if v.get("description") and not message.startswith("can't run policy"):
            message = f"{v['description']}\n{message}"
        out.add((v["policyName"], v["urn"], v["enforcementLevel"], message))
    return out


def _real(items: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(v["policyName"], v["urn"], v["enforcementLevel"], v["message"]) for v in items}


@functools.cache
def _example(name: str) -> tuple[Any, list[Path]]:
    return example_with_pack(name)


@pytest.mark.parametrize("name", EXAMPLES)
def test_audit_agrees_with_real_policy_analyze_on_each_example_export(
    real_cli: Path, tmp_path: Path, name: str
) -> None:
    preview, configs = _example(name)
    real, code, ours = _both(tmp_path, export_from_preview(preview), [PACK], configs)
    assert real["policyPacks"] == {"nsa-cisa-hardening": "0.1.0"}, real["stderr"]
    assert _real(real["violations"]) == _ours_as_cli(ours["violations"])
    assert real["exitCode"] == code == preview.exit_code, real["stderr"]


def test_audit_agrees_with_real_policy_analyze_on_a_brownfield_export(real_cli: Path, tmp_path: Path) -> None:
    """analyze_snapshot.go (pulumi/pulumi@1b5949891b3c): deleted skipped (:204), pending replacement and
    foreign types analyzed, pending operations ignored, Analyze on inputs (:208), AnalyzeStack on outputs
    (:263), remediations reported and not applied (:236)."""
    aws = resource("pulumi:providers:aws", "default_6_0_0", {"region": "eu-west-1"})
    doc = export(
        [
            stack_resource(),
            aws,
            resource(
                "aws:s3/bucket:Bucket", "logs", {"bucket": "logs"}, provider=f"{aws['urn']}::{aws['id']}"
            ),
            resource(POD, "old", pod(privileged=True, drop=["ALL"]), delete=True),
            resource(POD, "dbr", pod(privileged=True, drop=["ALL"]), pendingReplacement=True),
            resource(POD, "web", pod(drop=[])),
            resource(
                "kubernetes:core/v1:Namespace",
                "ns",
                {"metadata": {"name": "old"}},
                outputs={"metadata": {"name": "apps"}},
            ),
            resource(
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                "deny",
                {},
                outputs={"metadata": {"namespace": "apps"}},
            ),
        ],
        pending_operations=[{"type": "creating", "resource": resource(POD, "half", pod(privileged=True))}],
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"drop-all-capabilities": "remediate"}), encoding="utf-8")
    real, code, ours = _both(tmp_path, doc, [MINI_PACK], [config])
    assert _real(real["violations"]) == _ours_as_cli(ours["violations"])
    assert {(r["policyName"], r["urn"]) for r in real["remediations"]} == {
        (r["policyName"], r["urn"]) for r in ours["remediations"]
    }
    assert len(ours["remediations"]) == 2 and real["exitCode"] == code == 1


def test_encrypted_secret_real_cli_redacts_to_a_string_audit_leaves_it_unjudged(
    real_cli: Path, tmp_path: Path
) -> None:
    """The deliberate difference. Unable to decrypt, the CLI sends every secret as the string `[secret]`
    (policy_analyze.go:146-159): a policy reading a secret object then sees a string (here it raises and
    the whole analysis fails). The audit sends the secret as unknown: the policy says it cannot judge it."""
    spec = pod(privileged=True, drop=["ALL"])["spec"]
    doc = export(
        [resource(POD, "web", {"metadata": {"name": "web"}, "spec": ciphertext(spec)})],
        secrets_providers=PASSPHRASE_PROVIDER,
    )
    real, code, ours = _both(tmp_path, doc, [MINI_PACK], [])
    assert "could not decrypt secrets" in real["stderr"] and "failed to run policy" in real["stderr"]
    assert real["exitCode"] != 0
    assert code == 0 and {v["enforcementLevel"] for v in ours["violations"]} == {"advisory"}
    assert all(v["message"].startswith("can't run policy") for v in ours["violations"])
