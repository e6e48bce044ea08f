"""`cluster-day2-operations`: well-formed operation requests pass; a configured etcd restore, malformed
generations, restores and certificate services are reported (advisory), through the analyzer protocol."""

from __future__ import annotations

from typing import Any

import pytest

from hardened_rke2.analysis.testing import analyze_props
from tests.support.paths import PACK_DIR

POLICY = "cluster-day2-operations"
CLUSTER = "rancher2:index/clusterV2:ClusterV2"
PATCH = "kubernetes:provisioning.cattle.io/v1:ClusterPatch"


def _messages(resource_type: str, props: dict[str, Any]) -> list[str]:
    found = [v for v in analyze_props(PACK_DIR, resource_type, props, name="prod") if v.policy_name == POLICY]
    assert all(v.enforcement_level == "advisory" for v in found)
    return [v.message for v in found]


def _cluster(**rke: Any) -> dict[str, Any]:
    return {"name": "prod", "kubernetesVersion": "v1.34.1+rke2r1", "rkeConfig": rke}


def test_well_formed_rotation_and_snapshot_pass() -> None:
    props = _cluster(
        rotateCertificates={"generation": 3.0, "services": ["api-server", "etcd"]},
        etcdSnapshotCreate={"generation": 7.0},
    )
    assert _messages(CLUSTER, props) == []
    assert _messages(CLUSTER, _cluster()) == []


def test_a_configured_restore_is_reported_until_it_is_removed() -> None:
    restore = {"name": "prod-etcd-snapshot-abc", "generation": 1.0, "restoreRkeConfig": "none"}
    (message,) = _messages(CLUSTER, _cluster(etcdSnapshotRestore=restore))
    assert "an etcd restore is configured (snapshot 'prod-etcd-snapshot-abc', generation 1)" in message
    assert "remove it from the stack config" in message and "rewrites" not in message
    (message,) = _messages(CLUSTER, _cluster(etcdSnapshotRestore={**restore, "restoreRkeConfig": "all"}))
    assert "with restoreRkeConfig all Rancher also rewrites the cluster spec from the snapshot" in message


@pytest.mark.parametrize(
    ("rke", "expected"),
    [
        (
            {"etcdSnapshotCreate": {"generation": -1.0}},
            "etcdSnapshotCreate.generation -1.0 is not a non-negative",
        ),
        (
            {"rotateCertificates": {"generation": 1.5}},
            "rotateCertificates.generation 1.5 is not a non-negative",
        ),
        ({"rotateCertificates": {}}, "rotateCertificates.generation is not set"),
        (
            {"rotateCertificates": {"generation": 1.0, "services": ["apiserver"]}},
            "services ['apiserver'] match no RKE2 node role",
        ),
        ({"etcdSnapshotRestore": {"name": "", "generation": 1.0}}, "has no snapshot name"),
        (
            {"etcdSnapshotRestore": {"name": "s", "generation": 1.0, "restoreRkeConfig": "everything"}},
            "restoreRkeConfig 'everything' is not one of none, kubernetesVersion, all",
        ),
    ],
)
def test_malformed_requests_are_reported(rke: dict[str, Any], expected: str) -> None:
    messages = _messages(CLUSTER, _cluster(**rke))
    assert any(expected in m for m in messages), messages


def test_the_encryption_key_rotation_patch_is_checked() -> None:
    def patch(generation: Any) -> dict[str, Any]:
        return {
            "apiVersion": "provisioning.cattle.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "prod", "namespace": "fleet-default"},
            "spec": {"rkeConfig": {"rotateEncryptionKeys": {"generation": generation}}},
        }

    assert _messages(PATCH, patch(2.0)) == []
    (message,) = _messages(PATCH, patch(-2.0))
    assert "spec.rkeConfig.rotateEncryptionKeys.generation -2.0 is not a non-negative integer" in message


def test_the_policy_maps_to_the_etcd_and_secrets_encryption_controls() -> None:
    from nsa_cisa.catalogue import load_catalogue

    by_id = {e.id: e for e in load_catalogue()}
    assert POLICY in by_id["NSA-2.14"].enforced_by and POLICY in by_id["NSA-2.19"].enforced_by
