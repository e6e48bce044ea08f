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


# -- the pack's own virtualenv (issue 10, defect 7) -----------------------------------------------------
# For a local pack the CLI's Python host runs `<pack>/<virtualenv>/bin/python -u -m pulumi.policy` and
# creates no virtualenv (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go:1528-1625 RunPlugin,
# sdk/python/toolchain/pip.go:178-191); `pulumi install` in the pack directory does (install.go:76-82).


def _pack_with_venv_option(tmp_path: Path) -> Path:
    from tests.support.paths import pack_layout

    pack = pack_layout(PACK, tmp_path / "pack")
    (pack / "PulumiPolicy.yaml").write_text(
        "runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\nversion: 1.2.3\n"
    )
    return pack


def test_subprocess_mode_refuses_a_pack_whose_virtualenv_the_cli_would_not_find(tmp_path: Path) -> None:
    pack = _pack_with_venv_option(tmp_path)
    with pytest.raises(PolicyPackLoadError) as err:
        PolicyPackSession(pack, mode="subprocess", project="p", stack="s")
    message = str(err.value)
    assert f"{pack / 'venv' / 'bin' / 'python'} does not exist" in message
    assert message.endswith(f"(fix: (cd {pack} && pulumi install))")
    with PolicyPackSession(pack) as local:  # in process needs no pack venv
        assert local.name == "mini-pack"


def test_subprocess_mode_starts_the_pack_with_its_own_virtualenv(tmp_path: Path) -> None:
    import sys

    from hardened_rke2.analysis.packs import pack_python, read_pack_yaml

    pack = _pack_with_venv_option(tmp_path)
    (pack / "venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    assert pack_python(pack, read_pack_yaml(pack)) == str(pack / "venv" / "bin" / "python")
    # A pack without a virtualenv option runs with the `python` on PATH: this interpreter.
    assert pack_python(PACK, read_pack_yaml(PACK)) == sys.executable
