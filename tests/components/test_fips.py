"""FIPS 140 mode (`compliance.fips`): every FIPS-relevant choice is rendered or refused, the cluster is marked
for the policy pack, and custom nodes are checked for kernel FIPS mode before anything is changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from nsa_cisa import rancher_cluster as pack_cluster

from components.cluster import HardenedCluster, HardenedClusterArgs
from components.fips import FIPS_LABEL
from components.host_prep import host_prep_script
from components.rke2_config import STRONG_CIPHER_SUITES
from components.tls import FIPS_CIPHER_SUITES, cipher_list
from hardened_rke2.capture import ProgramRun
from tests.support.validation import rejected_at

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
CHACHA = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
COMPONENTS = ("kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kubelet-arg")


def args(fips: bool = True, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "gov",
        "kubernetesVersion": "v1.33.5+rke2r1",
        "production": False,
        "nodePools": [{"name": "all", "roles": ["etcd", "controlPlane", "worker"]}],
        "compliance": {"fips": fips},
    }
    base.update(over)
    return base


@pytest.fixture
def run(mock_run: Callable[..., ProgramRun]) -> Callable[[dict[str, Any]], ProgramRun]:
    def _run(a: dict[str, Any]) -> ProgramRun:
        box: dict[str, HardenedCluster] = {}

        def program() -> None:
            box["c"] = HardenedCluster(a["name"], a, rancher_url="https://rancher.example.com")

        result = mock_run(program)
        result.component = box["c"]  # type: ignore[attr-defined]
        return result

    return _run


def _rendered(result: ProgramRun) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = result.one(CLUSTER).inputs
    return yaml.safe_load(inputs["rkeConfig"]["machineGlobalConfig"]), dict(inputs.get("labels") or {})


def _arg(config: dict[str, Any], key: str, flag: str) -> str | None:
    for entry in config.get(key) or []:
        name, _, value = entry.partition("=")
        if name == flag:
            return value
    return None


def test_the_fips_list_is_go_s_fips_suites_and_the_pack_uses_the_same() -> None:
    assert set(FIPS_CIPHER_SUITES) < set(STRONG_CIPHER_SUITES)
    assert not any("CHACHA20" in s for s in FIPS_CIPHER_SUITES)
    assert tuple(pack_cluster.FIPS_CIPHER_SUITES) == FIPS_CIPHER_SUITES
    assert pack_cluster.FIPS_LABEL == FIPS_LABEL


def test_a_fips_cluster_renders_fips_suites_on_every_component_and_is_labelled(
    run: Callable[..., Any],
) -> None:
    result = run(args())
    config, labels = _rendered(result)
    assert labels == {FIPS_LABEL: "true"}
    assert config["cni"] == ["canal"]
    for key in COMPONENTS:
        assert cipher_list(_arg(config, key, "tls-cipher-suites") or "") == list(FIPS_CIPHER_SUITES), key
    # etcd reads its value as YAML (RKE2 writes etcd-arg into etcd's config file): a flow list.
    etcd = _arg(config, "etcd-arg", "cipher-suites")
    assert etcd == "[" + ",".join(FIPS_CIPHER_SUITES) + "]"
    assert yaml.safe_load(etcd) == list(FIPS_CIPHER_SUITES)
    assert "secrets-encryption-provider" not in config  # aescbc is RKE2's default
    assert "REQUIRE_FIPS=1" in (result.component.host_prep_script or "")  # type: ignore[attr-defined]


def test_a_cluster_without_fips_keeps_the_broader_list_and_no_mark(run: Callable[..., Any]) -> None:
    result = run(args(fips=False))
    config, labels = _rendered(result)
    assert FIPS_LABEL not in labels
    assert cipher_list(_arg(config, "kube-apiserver-arg", "tls-cipher-suites") or "") == list(
        STRONG_CIPHER_SUITES
    )
    assert "etcd-arg" not in config
    assert "REQUIRE_FIPS=0" in (result.component.host_prep_script or "")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("over", "path", "says"),
    [
        ({"network": {"cni": "calico"}}, ("network", "cni"), "'calico' is not rebuilt for FIPS"),
        ({"network": {"cni": "cilium"}}, ("network", "cni"), "compliance.weakenings.nonFipsCni"),
        ({"network": {"multus": True}}, ("network", "multus"), "Multus is not rebuilt for FIPS"),
        ({"rke2": {"secretsEncryptionProvider": "secretbox"}}, ("rke2", "secretsEncryptionProvider"),
         "'secretbox' is not FIPS-compliant (only aescbc is)"),
        ({"rke2": {"tlsCipherSuites": [FIPS_CIPHER_SUITES[0], CHACHA]}}, ("rke2", "tlsCipherSuites"),
         f"not FIPS-approved: {CHACHA}"),
        ({"rke2": {"extraArgs": {"etcd-arg": {"cipher-suites": f"[{CHACHA}]"}}}},
         ("rke2", "extraArgs", "etcd-arg", "cipher-suites"), f"not FIPS-approved: {CHACHA}"),
        ({"labels": {FIPS_LABEL: "true"}}, ("labels", FIPS_LABEL), "set compliance.fips: true"),
    ],
)  # fmt: skip
def test_every_non_fips_choice_is_an_error_naming_the_field_and_the_fix(
    over: dict[str, Any], path: tuple[str, ...], says: str
) -> None:
    fips = FIPS_LABEL not in str(over)  # a hand-set label is refused on any cluster
    problems = rejected_at(lambda: HardenedClusterArgs.model_validate(args(fips=fips, **over)), *path)
    assert any(says in p and "fix:" in p for p in problems), problems


def test_the_same_choices_are_fine_without_fips() -> None:
    a = HardenedClusterArgs.model_validate(
        args(fips=False, network={"cni": "calico", "multus": True},
             rke2={"tlsCipherSuites": [FIPS_CIPHER_SUITES[0], CHACHA]})
    )  # fmt: skip
    assert a.network.cni == "calico"


def test_named_weakenings_allow_one_non_fips_choice_each(run: Callable[..., Any]) -> None:
    over = {
        "network": {"cni": "cilium"},
        "rke2": {"tlsCipherSuites": [FIPS_CIPHER_SUITES[0], CHACHA]},
    }
    rejected_at(lambda: HardenedClusterArgs.model_validate(args(**over)), "network", "cni")
    weakened = args(
        **over, compliance={"fips": True, "weakenings": {"nonFipsCni": True, "nonFipsCipherSuites": True}}
    )
    config, labels = _rendered(run(weakened))
    assert config["cni"] == ["cilium"] and labels == {FIPS_LABEL: "true"}
    assert CHACHA in cipher_list(_arg(config, "kube-apiserver-arg", "tls-cipher-suites") or "")
    # The weakening covers exactly one choice: the CNI exception does not allow secretbox.
    rejected_at(
        lambda: HardenedClusterArgs.model_validate(
            {**weakened, "rke2": {"secretsEncryptionProvider": "secretbox"}}
        ),
        "rke2",
        "secretsEncryptionProvider",
    )
    # And FIPS exceptions without FIPS are a mistake, not a no-op.
    problems = rejected_at(
        lambda: HardenedClusterArgs.model_validate(
            args(fips=False, compliance={"weakenings": {"nonFipsCni": True}})
        ),
        "compliance",
        "weakenings",
    )
    assert any("without compliance.fips" in p for p in problems)


# ------------------------------------------------------------------------------ host prep on custom nodes
SH = shutil.which("dash") or shutil.which("sh")
PAST_THE_GATE = 7


def _run_script(
    tmp_path: Path, fips_flag: str | None, arch: str = "x86_64"
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "host-prep.sh"
    script.write_text(host_prep_script(fips=True))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # Stop right after the FIPS gate: a fake `id` says root, and the script's next step (creating the etcd
    # group) exits 7, so the exit code tells whether the gate let the node through; nothing is changed.
    for name, body in (
        ("id", "echo 0"),
        ("uname", f"echo {arch}"),
        ("getent", "exit 1"),
        ("groupadd", "exit 7"),
        ("addgroup", "exit 7"),
    ):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    flag = tmp_path / "fips_enabled"
    if fips_flag is not None:
        flag.write_text(fips_flag + "\n")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HARDENED_RKE2_FIPS_FLAG_FILE": str(flag),
        "HARDENED_RKE2_SYSCTL_DIR": str(tmp_path / "sysctl.d"),
    }
    assert SH is not None
    return subprocess.run([SH, str(script)], env=env, capture_output=True, text=True, check=False)


@pytest.mark.skipif(SH is None, reason="no POSIX sh on this machine")
@pytest.mark.parametrize(
    ("flag", "arch", "refused"),
    [("1", "x86_64", None), ("0", "x86_64", "kernel is not in FIPS mode"),
     (None, "x86_64", "not in FIPS mode"), ("1", "aarch64", "linux/amd64 only; this node is aarch64")],
)  # fmt: skip
def test_host_prep_refuses_a_node_without_kernel_fips_mode(
    tmp_path: Path, flag: str | None, arch: str, refused: str | None
) -> None:
    result = _run_script(tmp_path, flag, arch)
    if refused is None:
        assert "kernel FIPS mode is on" in result.stdout and result.returncode == PAST_THE_GATE
    else:
        assert result.returncode == 1 and refused in result.stderr  # refused before anything is changed


def test_host_prep_without_fips_has_the_gate_off() -> None:
    assert "REQUIRE_FIPS=0" in host_prep_script()
    assert "REQUIRE_FIPS=1" in host_prep_script(fips=True)
