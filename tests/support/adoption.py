"""Helpers for the `adopt` tests: the fixture Cluster objects, running the command, previewing what it wrote,
and turning a blueprint stack's ClusterV2 inputs back into the Rancher Cluster object they produce (the
"already hardened" case: the rancher2 provider's expand, terraform-provider-rancher2 v13.5.0
rancher2/structure_cluster_v2_rke_config*.go)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hardened_rke2.adopt import PROJECT, engine_urns, preview_adopted
from hardened_rke2.adoption.importfile import import_urns
from hardened_rke2.cli import main
from hardened_rke2.preview import PreviewResult

FIXTURES = Path(__file__).resolve().parent.parent / "hardened_rke2" / "fixtures" / "adoption"
PACK_DIR = Path(__file__).resolve().parents[2] / "policy-packs" / "nsa-cisa-hardening"
CLUSTER_V2 = "rancher2:index/clusterV2:ClusterV2"


@dataclass
class Adopted:
    code: int
    out: str
    err: str
    stack_file: Path
    import_file: Path
    plan_file: Path

    @property
    def stack_text(self) -> str:
        return self.stack_file.read_text(encoding="utf-8")

    @property
    def stack(self) -> dict[str, Any]:
        return yaml.safe_load(self.stack_text)["config"]

    @property
    def plan(self) -> dict[str, Any]:
        return json.loads(self.plan_file.read_text(encoding="utf-8"))

    @property
    def imports(self) -> dict[str, Any]:
        return json.loads(self.import_file.read_text(encoding="utf-8"))


def run_adopt(cluster_file: Path, tmp: Path, *extra: str) -> Adopted:
    """`hardened-rke2 adopt` in this process, every output under `tmp` (the plan as JSON)."""
    name = cluster_file.stem
    stack_file = tmp / "stacks" / f"Pulumi.{name}.yaml"
    import_file, plan_file = tmp / f"{name}.import.json", tmp / f"{name}.plan.json"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            [
                "adopt",
                "--cluster",
                str(cluster_file),
                "--out",
                str(stack_file),
                "--import-file",
                str(import_file),
                "--plan",
                str(plan_file),
                *extra,
            ]
        )
    return Adopted(code, out.getvalue(), err.getvalue(), stack_file, import_file, plan_file)


def preview_with_pack(adopted: Adopted, stack: str) -> PreviewResult:
    result = preview_adopted(adopted.stack_text, stack, policy_packs=(str(PACK_DIR),))
    assert result.status == "ok", result.error or result.problems
    return result


def cluster_v2_inputs(
    result: PreviewResult, stack: str, imports: Mapping[str, Any], name: str
) -> dict[str, Any]:
    """The ClusterV2 inputs of the previewed program, found by the URN the import file gives it."""
    urn = import_urns(dict(imports), stack=stack, project=PROJECT)[name]
    resource = engine_urns(result.resources, stack=stack, project=PROJECT)[urn]
    assert resource.type == CLUSTER_V2
    return resource.inputs


def load_fixture(name: str) -> dict[str, Any]:
    data = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    if data.get("kind") == "List":
        return next(i for i in data["items"] if i.get("kind") == "Cluster")
    return data


# --- the provider's expand, for the "already hardened" round trip -------------------------------------------


def _drain(d: Mapping[str, Any]) -> dict[str, Any]:
    keys = {
        "enabled": "enabled",
        "force": "force",
        "ignoreDaemonSets": "ignoreDaemonSets",
        "deleteEmptyDirData": "deleteEmptyDirData",
        "gracePeriod": "gracePeriod",
        "timeout": "timeout",
    }
    return {k: (int(d[s]) if isinstance(d[s], float) else d[s]) for s, k in keys.items() if s in d}


def cluster_from_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The `provisioning.cattle.io/v1` Cluster a custom-cluster ClusterV2 with these inputs produces."""
    rke = inputs["rkeConfig"]
    etcd = rke.get("etcd") or {}
    s3 = etcd.get("s3Config")
    spec: dict[str, Any] = {
        "kubernetesVersion": inputs["kubernetesVersion"],
        "enableNetworkPolicy": inputs.get("enableNetworkPolicy"),
        "defaultPodSecurityAdmissionConfigurationTemplateName": inputs.get(
            "defaultPodSecurityAdmissionConfigurationTemplateName"
        ),
        "localClusterAuthEndpoint": {k: v for k, v in (inputs.get("localAuthEndpoint") or {}).items() if v},
        "rkeConfig": {
            "machineGlobalConfig": yaml.safe_load(rke["machineGlobalConfig"]),
            "machineSelectorConfig": [
                {"config": yaml.safe_load(e["config"])} for e in rke.get("machineSelectorConfigs") or []
            ],
            "etcd": {
                "disableSnapshots": etcd.get("disableSnapshots", False),
                "snapshotScheduleCron": etcd.get("snapshotScheduleCron"),
                "snapshotRetention": int(etcd["snapshotRetention"]),
                **(
                    {
                        "s3": {
                            "bucket": s3.get("bucket"),
                            "endpoint": s3.get("endpoint"),
                            "folder": s3.get("folder"),
                            "region": s3.get("region"),
                            "cloudCredentialName": s3.get("cloudCredentialName"),
                            "skipSSLVerify": s3.get("skipSslVerify", False),
                        }
                    }
                    if s3
                    else {}
                ),
            },
            "upgradeStrategy": {
                "controlPlaneConcurrency": rke["upgradeStrategy"]["controlPlaneConcurrency"],
                "workerConcurrency": rke["upgradeStrategy"]["workerConcurrency"],
                "controlPlaneDrainOptions": _drain(rke["upgradeStrategy"]["controlPlaneDrainOptions"]),
                "workerDrainOptions": _drain(rke["upgradeStrategy"]["workerDrainOptions"]),
            },
        },
    }
    registries = rke.get("registries")
    if registries:
        spec["rkeConfig"]["registries"] = {
            "configs": {
                c["hostname"]: {
                    k: v
                    for k, v in {
                        "authConfigSecretName": c.get("authConfigSecretName"),
                        "tlsSecretName": c.get("tlsSecretName"),
                        "caBundle": base64.b64encode(c["caBundle"].encode()).decode()
                        if c.get("caBundle")
                        else None,
                    }.items()
                    if v
                }
                for c in registries.get("configs") or []
            },
            "mirrors": {
                m["hostname"]: {
                    "endpoint": m["endpoints"],
                    **({"rewrite": m["rewrites"]} if m.get("rewrites") else {}),
                }
                for m in registries.get("mirrors") or []
            },
        }
    metadata = {"name": inputs["name"], "namespace": inputs["fleetNamespace"]}
    if inputs.get("labels"):
        metadata["labels"] = dict(inputs["labels"])
    return {"apiVersion": "provisioning.cattle.io/v1", "kind": "Cluster", "metadata": metadata, "spec": spec}
