"""The real pack started the way the Pulumi CLI starts it
(`<pack>/venv/bin/python -u -m pulumi.policy <engine> .` in the pack directory, over gRPC) answers exactly
as the in-process servicer the other tests use.

The CLI does not create the pack's venv (`pulumi install` in the pack directory does), so the test builds
that layout honestly: a copy of the pack whose `venv` is a symlink to this test run's own virtualenv."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from nsa_cisa import PACK_VERSION

from hardened_rke2.analysis.inputs import input_from_dict
from hardened_rke2.analysis.session import PolicyPackSession, run_analysis
from hardened_rke2.analysis.testing import UNKNOWN
from tests.support.paths import PACK_DIR, pack_layout
from tests.support.policy_builders import POD_TYPES, restricted_spec, wrap

FIXTURES = Path(__file__).parent / "fixtures" / "pss"


def _resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted((FIXTURES / "fail").glob("*.yaml")) + sorted((FIXTURES / "pass").glob("*.yaml")):
        out.append({"type": POD_TYPES["Pod"], "name": path.stem, "props": yaml.safe_load(path.read_text())})
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    expires = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()
    exemption = [{"policy": "pss-privileged-containers", "reason": "driver installer", "expires": expires}]
    out.append(
        {
            "type": POD_TYPES["DaemonSet"],
            "name": "exempted",
            "props": wrap(
                "DaemonSet", spec, annotations={"policy.hardened-rke2.io/exemptions": json.dumps(exemption)}
            ),
        }
    )
    unknown = restricted_spec()
    unknown["containers"][0]["securityContext"]["runAsUser"] = UNKNOWN
    out.append({"type": POD_TYPES["CronJob"], "name": "unknown", "props": wrap("CronJob", unknown)})
    bare = restricted_spec()
    bare["securityContext"].pop("seccompProfile")
    out.append({"type": POD_TYPES["Job"], "name": "remediated", "props": wrap("Job", bare)})
    out.append(
        {
            "type": "kubernetes:core/v1:Namespace",
            "name": "team",
            "props": {
                "metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
            },
        }
    )
    return out


@pytest.mark.slow
def test_subprocess_pack_gives_the_same_answers_as_in_process(tmp_path: Path) -> None:
    inputs = [input_from_dict(r) for r in _resources()]
    config = {"pss-seccomp-profile-required": "remediate"}
    installed = pack_layout(PACK_DIR, tmp_path / "pack", venv=Path(sys.prefix))
    with PolicyPackSession(installed, config=config, mode="subprocess", project="p", stack="s") as remote:
        assert remote.name == "nsa-cisa-hardening" and remote.version == PACK_VERSION
        over_grpc = run_analysis([remote], inputs)
    with PolicyPackSession(PACK_DIR, config=config) as local:
        in_process = run_analysis([local], inputs)
    assert [v.to_dict() for v in over_grpc.violations] == [v.to_dict() for v in in_process.violations]
    assert over_grpc.remediations == in_process.remediations
    by_resource = {(v.resource_name, v.policy_name): v for v in over_grpc.violations}
    assert by_resource[("privileged0", "pss-privileged-containers")].is_mandatory
    assert by_resource[("exempted", "exemption-applied")].enforcement_level == "advisory"
    assert ("exempted", "pss-privileged-containers") not in by_resource
    assert by_resource[("unknown", "pss-run-as-user-not-root")].is_preview_unknown
    assert ("remediated", "pss-seccomp-profile-required") not in by_resource
    assert by_resource[("team", "namespace-limit-range")].is_mandatory  # stack policy over gRPC too
