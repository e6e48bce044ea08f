"""Day-2 operations as code: certificate rotation, on-demand etcd snapshot, etcd restore and
secrets-encryption key rotation, each requested by changing a generation counter in stack config.

Rancher runs an operation when its generation differs from the one it last ran (not when it is larger):
- certificates: rancher/rancher (59bd052e44) `pkg/capr/planner/certificaterotation.go:86`
  (`Status.CertificateRotationGeneration != Spec.RotateCertificates.Generation`);
- etcd snapshot: `pkg/capr/planner/etcdcreate.go:37` (spec differs from the last-created status);
- etcd restore: `pkg/capr/planner/etcdrestore.go:565` (name + restoreRKEConfig + generation);
- encryption keys: `pkg/capr/planner/encryptionkeyrotation.go:261-267` (spec generation != status).
So lowering a generation runs the operation again; only a new, higher value says what was meant.

The first three are `rke_config` blocks of the rancher2 `ClusterV2` (terraform-provider-rancher2
`rancher2/schema_cluster_v2_rke_config.go:159-185`; `..._certificate_rotation.go`, `..._snapshot_create.go`,
`..._snapshot_restore.go`), so they go through the cluster resource itself.

Secrets-encryption key rotation is `spec.rkeConfig.rotateEncryptionKeys.generation` on Rancher's provisioning
Cluster (`pkg/apis/provisioning.cattle.io/v1/cluster_types.go:142-146` -> `pkg/apis/rke.cattle.io/v1/
common_types.go:110-117`), which the rancher2 provider does not expose: its RKE config expander builds the
spec from its schema only (`structure_cluster_v2_rke_config.go:68-128`, no such field). It is driven here by a
server-side-apply patch (`kubernetes:provisioning.cattle.io/v1:ClusterPatch`) of that object on Rancher's
local cluster. The conflict with the rancher2 provider's own writes, and how it is handled:
- the provider updates the cluster with a full-object PUT built from its schema (`expandClusterV2`,
  `structure_cluster_v2.go:86-90` starts from an empty object; `updateClusterV2`,
  `resource_rancher2_cluster_v2.go:354-380`, retries a conflict with the fresh resourceVersion), so every
  later ClusterV2 update REMOVES `rotateEncryptionKeys`. Rancher then clears the rotation status
  (`encryptionkeyrotation.go:123-124`), and re-adding the same generation would rotate the keys again
  (`:261`: generation > 0 and no status);
- a pulumi-kubernetes Patch normally re-applies such drift: refresh reads the live object pruned to the
  patch's inputs (pulumi-kubernetes 94977969d `provider/pkg/provider/provider.go:2083`, `pruneLiveState`),
  and the diff then shows the field missing. So the patch is registered with `ignore_changes=["spec"]`
  (Diff drops ignored paths, `provider.go:1577-1600`: drift is not re-applied), its resource name
  carries the generation (a new generation is a new patch, created in full; `pulumi.com/patchForce` takes
  the field over from the previous one's field manager), it depends on the ClusterV2 (the provider's PUT
  of the same update lands first), and it is `retain_on_delete` (dropping the old generation's patch must
  not relinquish the field while the new one owns it: a server-side-apply patch gives its fields up on
  delete, pulumi-kubernetes `provider/pkg/ssa/actions.go:34` `Relinquish`).
  Do not run another update that changes the cluster while a rotation is in progress (docs/day2.md).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import pulumi
import pulumi_rancher2 as rancher2
from pydantic import Field

from components.kube_names import DnsSubdomain
from components.model import HardenedModel

MAX_GENERATION = 2_147_483_647
"""Generations fit every field they land in (Go `int`/`int64` in Rancher, TypeInt in the provider, a float64
in Pulumi's wire format)."""

RestoreRkeConfig = Literal["none", "kubernetesVersion", "all"]
"""rancher/rancher `pkg/apis/rke.cattle.io/v1/etcdsnapshot_types.go:10-12`; rancher/webhook
`pkg/resources/provisioning.cattle.io/v1/cluster/validator.go:834-895` refuses any other mode."""

CertificateService = Literal[
    "admin",
    "api-server",
    "auth-proxy",
    "cloud-controller",
    "controller-manager",
    "etcd",
    "kube-proxy",
    "kubelet",
    "rke2-controller",
    "rke2-server",
    "scheduler",
]
"""The RKE2 services Rancher's planner matches a node against (`certificaterotation.go:262-307`,
`shouldRotateEntry`); a name outside this list matches no node, and nothing would rotate, silently."""
RKE2_CERTIFICATE_SERVICES: tuple[str, ...] = get_args(CertificateService)

PATCH_TYPE = "kubernetes:provisioning.cattle.io/v1:ClusterPatch"


class CertificateRotationArgs(HardenedModel):
    """Rotate the cluster's certificates: change `generation` (e.g. 1 -> 2) and `pulumi up`."""

    generation: int = Field(ge=0, le=MAX_GENERATION)
    """Requested rotation; Rancher rotates whenever it differs from the last rotated one (0 = never)."""
    services: tuple[CertificateService, ...] = ()
    """RKE2 services whose certificates rotate; empty = all of them."""


class EtcdSnapshotCreateArgs(HardenedModel):
    """Take an etcd snapshot now (beside the scheduled ones): change `generation` and `pulumi up`."""

    generation: int = Field(ge=0, le=MAX_GENERATION)
    """Requested snapshot; each new value takes one snapshot."""


class EtcdSnapshotRestoreArgs(HardenedModel):
    """Restore an etcd snapshot: name it, set a new `generation`, `pulumi up`; remove it once it ran."""

    name: DnsSubdomain
    """The `ETCDSnapshot` object in `fleet-default` (Rancher's snapshot list of the cluster), e.g.
    `prod-etcd-snapshot-prod-etcd-abc12-1733480000-s3`."""
    generation: int = Field(ge=0, le=MAX_GENERATION)
    """Requested restore; Rancher restores whenever name, mode or generation change."""
    restore_rke_config: RestoreRkeConfig = "none"
    """`none`: etcd data only (the stack config stays the source of truth). `kubernetesVersion` / `all`:
    Rancher also rewrites the cluster's Kubernetes version / whole RKE config from the snapshot, which the
    stack config must then match, or the next `pulumi up` changes it back."""


class EncryptionKeyRotationArgs(HardenedModel):
    """Rotate the secrets-encryption key (prepare, rotate, re-encrypt every Secret): change `generation`."""

    generation: int = Field(ge=1, le=MAX_GENERATION)
    """Requested rotation (>= 1: 0 is Rancher's "never"); a patch of the provisioning Cluster on Rancher's
    local cluster, which needs Rancher's URL (`rancher.url` or `rancher2:apiUrl`)."""


class ClusterOperationsArgs(HardenedModel):
    """Day-2 operations, each requested by a new generation (docs/day2.md has the runbook of each)."""

    rotate_certificates: CertificateRotationArgs | None = None
    """Certificate rotation (`rkeConfig.rotateCertificates`)."""
    etcd_snapshot_create: EtcdSnapshotCreateArgs | None = None
    """On-demand etcd snapshot (`rkeConfig.etcdSnapshotCreate`)."""
    etcd_snapshot_restore: EtcdSnapshotRestoreArgs | None = None
    """etcd restore (`rkeConfig.etcdSnapshotRestore`); the policy pack warns while it stays configured."""
    rotate_encryption_keys: EncryptionKeyRotationArgs | None = None
    """Secrets-encryption key rotation (`spec.rkeConfig.rotateEncryptionKeys`, patched)."""

    def generations(self) -> dict[str, int]:
        """Every configured operation's generation by its config key (exported as `clusterOperations`)."""
        out: dict[str, int] = {}
        for key, value in (
            ("rotateCertificates", self.rotate_certificates),
            ("etcdSnapshotCreate", self.etcd_snapshot_create),
            ("etcdSnapshotRestore", self.etcd_snapshot_restore),
            ("rotateEncryptionKeys", self.rotate_encryption_keys),
        ):
            if value is not None:
                out[key] = value.generation
        return out


def rke_config_operations(ops: ClusterOperationsArgs) -> dict[str, Any]:
    """The `ClusterV2RkeConfigArgs` keyword arguments of the operations the rancher2 provider exposes."""
    out: dict[str, Any] = {}
    if ops.rotate_certificates is not None:
        out["rotate_certificates"] = rancher2.ClusterV2RkeConfigRotateCertificatesArgs(
            generation=ops.rotate_certificates.generation,
            services=sorted(ops.rotate_certificates.services) or None,
        )
    if ops.etcd_snapshot_create is not None:
        out["etcd_snapshot_create"] = rancher2.ClusterV2RkeConfigEtcdSnapshotCreateArgs(
            generation=ops.etcd_snapshot_create.generation
        )
    if ops.etcd_snapshot_restore is not None:
        restore = ops.etcd_snapshot_restore
        out["etcd_snapshot_restore"] = rancher2.ClusterV2RkeConfigEtcdSnapshotRestoreArgs(
            name=restore.name, generation=restore.generation, restore_rke_config=restore.restore_rke_config
        )
    return out


def encryption_key_rotation_name(component: str, generation: int) -> str:
    """One patch resource per generation (see the module doc for why)."""
    return f"{component}-rotate-encryption-keys-g{generation}"


class EncryptionKeyRotation(pulumi.CustomResource):
    """Server-side-apply patch of `provisioning.cattle.io/v1` Cluster `spec.rkeConfig.rotateEncryptionKeys`
    on Rancher's local cluster (see the module doc for the conflict handling)."""

    def __init__(
        self,
        component: str,
        cluster_name: str,
        namespace: str,
        args: EncryptionKeyRotationArgs,
        *,
        provider: pulumi.ProviderResource,
        cluster: pulumi.Resource,
        parent: pulumi.Resource,
    ) -> None:
        props = {
            "apiVersion": "provisioning.cattle.io/v1",
            "kind": "Cluster",
            "metadata": {
                "name": cluster_name,
                "namespace": namespace,
                "annotations": {"pulumi.com/patchForce": "true"},
            },
            "spec": {"rkeConfig": {"rotateEncryptionKeys": {"generation": args.generation}}},
        }
        opts = pulumi.ResourceOptions(
            parent=parent,
            provider=provider,
            depends_on=[cluster],
            ignore_changes=["spec"],
            retain_on_delete=True,
        )
        super().__init__(PATCH_TYPE, encryption_key_rotation_name(component, args.generation), props, opts)
