"""Packs load as `python -m pulumi.policy` loads them: in process, or as a subprocess started like the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardened_rke2.analysis.errors import PolicyPackLoadError
from hardened_rke2.analysis.packs import load_pack
from hardened_rke2.analysis.session import PolicyPackSession
from hardened_rke2.analysis.testing import UNKNOWN
from tests.support.mini_pack import DEPLOYMENT, PACK, POD, pod


def test_a_directory_without_pulumipolicy_yaml_is_not_a_pack(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("x = 1\n")
    with pytest.raises(PolicyPackLoadError, match=r"no PulumiPolicy\.yaml"):
        PolicyPackSession(tmp_path)


def test_pack_without_main_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackLoadError, match=r"no __main__\.py"):
        load_pack(tmp_path)
    (tmp_path / "__main__.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(PolicyPackLoadError, match="failed to load: RuntimeError: boom"):
        load_pack(tmp_path)
    (tmp_path / "__main__.py").write_text("x = 1\n")
    with pytest.raises(PolicyPackLoadError, match="never created a PolicyPack"):
        load_pack(tmp_path)


def test_loading_leaves_no_pack_modules_or_paths_behind() -> None:
    import sys

    load_pack(PACK)
    assert "mini_pack_policies" not in sys.modules
    assert str(PACK.resolve()) not in sys.path


@pytest.mark.slow
def test_subprocess_started_like_the_cli_gives_the_same_answers() -> None:
    resources = [
        {"type": POD, "name": "p", "props": pod(privileged=True)},
        {"type": "kubernetes:core/v1:Namespace", "name": "ns", "props": {"metadata": {"name": "ns"}}},
        {"type": DEPLOYMENT, "name": "d", "props": {"spec": {"replicas": UNKNOWN}}},
    ]
    config = {"drop-all-capabilities": "remediate", "min-replicas": {"minReplicas": 3}}
    from hardened_rke2.analysis.inputs import input_from_dict
    from hardened_rke2.analysis.session import run_analysis

    inputs = [input_from_dict(r) for r in resources]
    with PolicyPackSession(PACK, config=config, mode="subprocess", project="p", stack="s") as remote:
        assert remote.name == "mini-pack" and remote.version == "1.2.3"
        over_grpc = run_analysis([remote], inputs)
    with PolicyPackSession(PACK, config=config) as local:
        in_process = run_analysis([local], inputs)
    assert [v.to_dict() for v in over_grpc.violations] == [v.to_dict() for v in in_process.violations]
    assert over_grpc.remediations == in_process.remediations
    assert {(v.policy_name, v.resource_name) for v in over_grpc.violations} == {
        ("no-privileged", "p"),
        ("min-replicas", "d"),
        ("namespace-network-policy", "ns"),
    }
