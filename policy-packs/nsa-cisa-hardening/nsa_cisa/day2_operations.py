"""Day-2 operations on a Rancher-provisioned cluster: certificate rotation, on-demand etcd snapshot and etcd
restore (`rancher2` ClusterV2 `rkeConfig`), and secrets-encryption key rotation (a server-side-apply patch of
the provisioning Cluster, `kubernetes:provisioning.cattle.io/v1:ClusterPatch`).

What a preview can know from the new inputs alone, and so what this pack checks:
- an etcd restore is configured: after it ran it must be removed (a later change of its name, mode or
  generation restores again; with `all`/`kubernetesVersion` Rancher rewrites the cluster spec from the
  snapshot). The pack cannot tell whether it already ran, so while it stays configured it says so;
- malformed requests Rancher would ignore or refuse silently: negative or fractional generations, a restore
  without a snapshot name (the planner skips it, rancher/rancher 59bd052e44 `pkg/capr/planner/
  etcdrestore.go:807`), a restore mode outside `none`/`kubernetesVersion`/`all` (rancher/webhook
  `pkg/resources/provisioning.cattle.io/v1/cluster/validator.go:834-895`), certificate services that match
  no node (`pkg/capr/planner/certificaterotation.go:262-307`: nothing rotates).
What it cannot know: a generation that went backwards needs the previous value, and a policy is given the
new inputs only (pulumi/pulumi `proto/pulumi/analyzer.proto:112-119`: no prior state).
`hardened-rke2 preview --against OLD.json` and `upgrade plan` compare two previews and warn about that
(hardened_rke2/day2_plan.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nsa_cisa import rke2_parsing as rp
from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import check_validator
from nsa_cisa.render import safe_repr

CLUSTER_V2 = "rancher2:index/clusterV2:ClusterV2"
CLUSTER_PATCH = "kubernetes:provisioning.cattle.io/v1:ClusterPatch"
RESTORE_MODES = ("none", "kubernetesVersion", "all")
CERTIFICATE_SERVICES = frozenset(
    {
        "admin", "api-server", "auth-proxy", "cloud-controller", "controller-manager", "etcd", "kube-proxy",
        "kubelet", "rke2-controller", "rke2-server", "scheduler",
    }
)  # fmt: skip
DAY2_URL = "https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/backup-restore-and-disaster-recovery/backup-restore-and-disaster-recovery"

GROUP = PolicyGroup(
    __name__,
    section="upgrades",
    resource_types=[CLUSTER_V2, CLUSTER_PATCH],
    url=DAY2_URL,
    honor_exempt_namespaces=False,
    adapt=check_validator,
    enforcement_level="advisory",
)


def _generation(where: str, op: Mapping[str, Any]) -> list[str]:
    value = op.get("generation")
    number = rp.as_int(value)
    if value is None:
        return [f"{where}.generation is not set: Rancher needs a generation to run the operation"]
    if number is None or number < 0:
        return [f"{where}.generation {safe_repr(value)} is not a non-negative integer: use 1, 2, 3, …"]
    return []


def _restore(op: Mapping[str, Any]) -> list[str]:
    where = "rkeConfig.etcdSnapshotRestore"
    out = _generation(where, op)
    name = op.get("name")
    mode = op.get("restoreRkeConfig")
    if not isinstance(name, str) or not name.strip():
        out.append(f"{where} has no snapshot name: Rancher's planner skips it and nothing is restored")
    if mode not in (None, "", *RESTORE_MODES):
        out.append(
            f"{where}.restoreRkeConfig {safe_repr(mode)} is not one of {', '.join(RESTORE_MODES)}: Rancher's "
            "webhook refuses the update"
        )
    if out:
        return out
    mode_text = mode or "none"
    rewrites = (
        f"; with restoreRkeConfig {mode_text} Rancher also rewrites the cluster spec from the snapshot, "
        "which the stack config must match or the next update changes it back"
        if mode_text != "none"
        else ""
    )
    return [
        f"an etcd restore is configured (snapshot {safe_repr(name)}, generation "
        f"{rp.as_int(op.get('generation'))}): once it has run, remove it from the stack config "
        "(cluster.operations.etcdSnapshotRestore); while it stays, any change of its name, mode or "
        f"generation restores etcd again{rewrites}"
    ]


def _rotation(op: Mapping[str, Any]) -> list[str]:
    where = "rkeConfig.rotateCertificates"
    out = _generation(where, op)
    services = op.get("services")
    names = [s for s in services if isinstance(s, str)] if rp.is_list(services) else []
    unknown = sorted({s for s in names if s not in CERTIFICATE_SERVICES})
    if unknown:
        out.append(
            f"{where}.services {unknown} match no RKE2 node role, so nothing rotates for them: use "
            f"{', '.join(sorted(CERTIFICATE_SERVICES))} (or none for all)"
        )
    return out


@GROUP.policy(
    name="cluster-day2-operations",
    description="Day-2 operations are well-formed, and an etcd restore is not left configured after it ran.",
    severity="medium",
    nsa=("NSA-2.14", "NSA-2.19"),
    remediation_steps="Give each operation a new, higher integer generation; name an existing snapshot for a "
    "restore (mode none, kubernetesVersion or all); after the restore ran, remove "
    "cluster.operations.etcdSnapshotRestore from the stack config (docs/day2.md).",
)
def check_day2_operations(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    rke = props.get("rkeConfig")
    if rp.is_mapping(rke):
        rotate = rke.get("rotateCertificates")
        if rp.is_mapping(rotate):
            out += _rotation(rotate)
        create = rke.get("etcdSnapshotCreate")
        if rp.is_mapping(create):
            out += _generation("rkeConfig.etcdSnapshotCreate", create)
        restore = rke.get("etcdSnapshotRestore")
        if rp.is_mapping(restore):
            out += _restore(restore)
    keys = rp.dig(props, "spec.rkeConfig.rotateEncryptionKeys")
    if rp.is_mapping(keys):
        out += _generation("spec.rkeConfig.rotateEncryptionKeys", keys)
    return out
