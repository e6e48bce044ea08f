"""`preview --against` on day-2 operations: a generation that goes backwards and an etcd restore left
configured are only knowable against an earlier preview, so the plan says them (the pack cannot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.day2_plan import operation_warnings
from hardened_rke2.plan import diff_previews
from tests.support.stack_previews import preview_doc

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
PATCH = "kubernetes:provisioning.cattle.io/v1:ClusterPatch"
KEY = "hardened-rke2:cluster"
RESTORE = {"name": "prod-etcd-snapshot-abc", "generation": 1, "restoreRkeConfig": "none"}


def _doc(rke: dict[str, Any], encryption: int | None = None) -> dict[str, Any]:
    urn = "urn:pulumi:prod::hardened-rke2::rancher2:index/clusterV2:ClusterV2::prod"
    resources: list[dict[str, Any]] = [
        {"urn": urn, "type": CLUSTER, "name": "prod", "inputs": {"name": "prod", "rkeConfig": rke}}
    ]
    if encryption is not None:
        resources.append(
            {
                "urn": f"urn:pulumi:prod::hardened-rke2::{PATCH}::prod-rotate-encryption-keys-g{encryption}",
                "type": PATCH,
                "name": f"prod-rotate-encryption-keys-g{encryption}",
                "inputs": {
                    "metadata": {"name": "prod", "namespace": "fleet-default"},
                    "spec": {"rkeConfig": {"rotateEncryptionKeys": {"generation": float(encryption)}}},
                },
            }
        )
    return {"resources": resources}


def test_generations_going_backwards_are_warned() -> None:
    old = _doc({"rotateCertificates": {"generation": 3.0}, "etcdSnapshotCreate": {"generation": 5.0}}, 2)
    new = _doc({"rotateCertificates": {"generation": 2.0}, "etcdSnapshotCreate": {"generation": 5.0}}, 1)
    warnings, notes = operation_warnings(old, new)
    assert [w.split(":")[1].strip() for w in warnings] == [
        "certificate rotation generation went BACKWARDS (3 -> 2)",
        "secrets-encryption key rotation generation went BACKWARDS (2 -> 1)",
    ]
    assert all("use a value above" in w for w in warnings) and notes == []


def test_higher_generations_are_notes_not_warnings() -> None:
    old = _doc({"rotateCertificates": {"generation": 3.0}}, 2)
    new = _doc({"rotateCertificates": {"generation": 4.0}, "etcdSnapshotCreate": {"generation": 1.0}}, 3)
    warnings, notes = operation_warnings(old, new)
    assert warnings == []
    assert notes == [
        "cluster prod: this update runs the on-demand etcd snapshot (generation 1)",
        "cluster prod: this update runs the certificate rotation (generation 4)",
        "cluster prod: this update runs the secrets-encryption key rotation (generation 3)",
    ]


def test_a_new_restore_is_loud_and_an_unchanged_one_is_left_configured() -> None:
    (new_restore,), _ = operation_warnings(_doc({}), _doc({"etcdSnapshotRestore": RESTORE}))
    assert "this update RESTORES etcd (snapshot 'prod-etcd-snapshot-abc', generation 1" in new_restore
    (left,), _ = operation_warnings(
        _doc({"etcdSnapshotRestore": RESTORE}), _doc({"etcdSnapshotRestore": RESTORE})
    )
    assert (
        "unchanged since the earlier preview" in left
        and "remove cluster.operations.etcdSnapshotRestore" in left
    )


@pytest.mark.slow
def test_runbook_steps_plan_updates_and_a_new_patch_per_key_rotation(tmp_path: Path) -> None:
    def ops(certs: int, keys: int) -> Any:
        def mutate(cfg: dict[str, Any]) -> None:
            cfg[KEY]["operations"] = {
                "rotateCertificates": {"generation": certs},
                "rotateEncryptionKeys": {"generation": keys},
            }

        return mutate

    before = preview_doc("prod", tmp_path / "a", ops(1, 1))
    after = preview_doc("prod", tmp_path / "b", ops(2, 2))
    plan = diff_previews(before, after, "before.json")
    cluster = plan.find(CLUSTER, "prod")
    assert (cluster.op, cluster.paths) == ("update", ["rkeConfig.rotateCertificates.generation"])
    assert plan.find(PATCH, "prod-rotate-encryption-keys-g2").op == "create"
    assert plan.find(PATCH, "prod-rotate-encryption-keys-g1").op == "delete"  # retained on delete
    assert plan.summary()["replace"] == 0
    assert "cluster prod: this update runs the certificate rotation (generation 2)" in plan.notes
    assert not [w for w in plan.warnings if "BACKWARDS" in w or "REPLACED" in w]
