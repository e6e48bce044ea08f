"""Day-2 operations in a cluster stack: the encryption-key rotation patch goes through the local-cluster
provider (the same one Fleet uses), needs Rancher's URL, and the requested generations are exported."""

from __future__ import annotations

import runpy
from typing import Any

import pulumi
import pytest

from hardened_rke2.capture import EchoMocks, ProgramRun, RecordingMonitor, run_program
from tests.support.stack_configs import MOCKS, stack_values, wire_config

PATCH = "kubernetes:provisioning.cattle.io/v1:ClusterPatch"
K8S = "pulumi:providers:kubernetes"
OPERATIONS = {
    "rotateCertificates": {"generation": 2},
    "etcdSnapshotCreate": {"generation": 7},
    "rotateEncryptionKeys": {"generation": 1},
}


def _main() -> None:
    runpy.run_module("blueprint.__main__", run_name="__main__")


def _run(values: dict[str, Any], stack: str) -> ProgramRun:
    return run_program(_main, project="hardened-rke2", stack=stack, config=wire_config(values), mocks=MOCKS)


def test_dev_without_gitops_gets_a_local_provider_for_the_key_rotation() -> None:
    values = stack_values("dev")
    assert "gitops" not in values  # the patch alone needs the local-cluster provider
    values["cluster"]["operations"] = OPERATIONS
    run = _run(values, "dev")
    patch = run.one(PATCH)
    local = [p for p in run.of_type(K8S) if p.name == "dev-gitops-local"]
    assert len(local) == 1 and patch.provider is not None and patch.provider.startswith(local[0].urn)
    assert run.stack_outputs["clusterOperations"] == {
        "rotateCertificates": 2,
        "etcdSnapshotCreate": 7,
        "rotateEncryptionKeys": 1,
    }


def test_prod_shares_fleets_local_provider() -> None:
    values = stack_values("prod")
    values["cluster"]["operations"] = {"rotateEncryptionKeys": {"generation": 4}}
    run = _run(values, "prod")
    assert [p.name for p in run.of_type(K8S) if p.name.endswith("-local")] == ["prod-gitops-local"]
    assert run.one(PATCH).name == "prod-rotate-encryption-keys-g4"


def test_no_operations_no_output() -> None:
    assert "clusterOperations" not in _run(stack_values("dev"), "dev").stack_outputs


def test_key_rotation_without_rancher_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANCHER_URL", raising=False)
    values = stack_values("dev")
    del values["rancher"]["url"]
    values["cluster"]["operations"] = {"rotateEncryptionKeys": {"generation": 1}}
    monitor = RecordingMonitor(EchoMocks())
    with pytest.raises(pulumi.RunError, match=r"cluster\.operations\.rotateEncryptionKeys: the key rotation"):
        run_program(_main, project="hardened-rke2", stack="dev", config=wire_config(values), monitor=monitor)
    assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []
