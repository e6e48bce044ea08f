"""What a plan between two previews means for the day-2 operations (components/cluster_operations.py).

Only a comparison with an earlier preview can say that an operation's generation went backwards or that an
etcd restore was left configured after it ran: a policy pack sees the new inputs only (pulumi/pulumi
`proto/pulumi/analyzer.proto:112-119`: an `AnalyzeRequest` carries no prior state). So `preview --against`
and `upgrade plan` say it:
- a generation lower than before: Rancher runs the operation again, since it compares generations for
  inequality (rancher/rancher 59bd052e44 `pkg/capr/planner/certificaterotation.go:86`, `etcdcreate.go:37`,
  `etcdrestore.go:565`, `encryptionkeyrotation.go:261-267`), which is rarely what a lower number meant;
- a restore that is new or changed: this update RESTORES etcd (loud, like a replacement);
- a restore unchanged since the earlier preview: if that preview was deployed, the restore has run and is
  only left configured (remove it);
- the other operations: a note that this update runs them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

CLUSTER_TYPE = "rancher2:index/clusterV2:ClusterV2"
PATCH_TYPE = "kubernetes:provisioning.cattle.io/v1:ClusterPatch"
RKE_OPERATIONS = {
    "rotateCertificates": "certificate rotation",
    "etcdSnapshotCreate": "on-demand etcd snapshot",
    "etcdSnapshotRestore": "etcd restore",
}
ENCRYPTION = "rotateEncryptionKeys"
RESTORE = "etcdSnapshotRestore"


def operations_of(doc: Mapping[str, Any]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """Per cluster name: each configured operation's settings (`generation`, restore `name`/mode)."""
    out: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in _resources(doc):
        inputs = r.get("inputs") or {}
        if r["type"] == CLUSTER_TYPE:
            rke = inputs.get("rkeConfig") or {}
            ops = {k: rke[k] for k in RKE_OPERATIONS if isinstance(rke.get(k), Mapping)}
            out.setdefault(str(inputs.get("name") or r.get("name")), {}).update(ops)
        elif r["type"] == PATCH_TYPE:
            rotate = ((inputs.get("spec") or {}).get("rkeConfig") or {}).get(ENCRYPTION)
            name = str((inputs.get("metadata") or {}).get("name") or "")
            if isinstance(rotate, Mapping) and name:
                ops_for = out.setdefault(name, {})
                previous = ops_for.get(ENCRYPTION)
                if previous is None or _gen(rotate) > _gen(previous):
                    ops_for[ENCRYPTION] = rotate
    return out


def _resources(doc: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for r in doc.get("resources") or []:
        if isinstance(r, Mapping) and isinstance(r.get("type"), str):
            yield r


def _gen(op: Mapping[str, Any]) -> float:
    value = op.get("generation")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _show(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def operation_warnings(old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(warnings, notes) about the day-2 operations between two previews."""
    warnings: list[str] = []
    notes: list[str] = []
    old_all, new_all = operations_of(old_doc), operations_of(new_doc)
    labels = {**RKE_OPERATIONS, ENCRYPTION: "secrets-encryption key rotation"}
    for cluster, new_ops in sorted(new_all.items()):
        old_ops = old_all.get(cluster, {})
        for key, op in sorted(new_ops.items()):
            label, before = labels[key], old_ops.get(key)
            if before is not None and _gen(op) < _gen(before):
                warnings.append(
                    f"cluster {cluster}: {label} generation went BACKWARDS ({_show(_gen(before))} -> "
                    f"{_show(_gen(op))}): Rancher runs it again whenever the generation differs from the "
                    f"last one it ran; use a value above {_show(_gen(before))}"
                )
                continue
            if key == RESTORE:
                what = f"snapshot {op.get('name')!r}, generation {_show(_gen(op))}, restoreRKEConfig " + (
                    f"{op.get('restoreRkeConfig') or 'none'}"
                )
                if before is not None and dict(before) == dict(op):
                    warnings.append(
                        f"cluster {cluster}: the etcd restore ({what}) is unchanged since the earlier "
                        "preview: if that config was deployed the restore has run; remove cluster.operations."
                        "etcdSnapshotRestore (docs/day2.md)"
                    )
                else:
                    warnings.append(
                        f"cluster {cluster}: this update RESTORES etcd ({what}): every change since that "
                        "snapshot is lost (docs/day2.md)"
                    )
            elif (before is None and _gen(op) > 0) or (before is not None and _gen(op) != _gen(before)):
                notes.append(
                    f"cluster {cluster}: this update runs the {label} (generation {_show(_gen(op))})"
                )
    return warnings, notes
