"""Shared builders for policy tests: a restricted-compliant pod spec and every pod-bearing kind around it.

Tests drive the pack through `hardened_rke2.analysis.testing` (the engine's protocol, in process): props go
over the wire as a protobuf Struct, so policies see read-only proxies and float numbers, exactly as under
`pulumi preview`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from hardened_rke2.analysis.results import Violation
from hardened_rke2.analysis.testing import analyze_props
from tests.support.paths import PACK_DIR

POD_TYPES: dict[str, str] = {
    "Pod": "kubernetes:core/v1:Pod",
    "Deployment": "kubernetes:apps/v1:Deployment",
    "StatefulSet": "kubernetes:apps/v1:StatefulSet",
    "DaemonSet": "kubernetes:apps/v1:DaemonSet",
    "ReplicaSet": "kubernetes:apps/v1:ReplicaSet",
    "ReplicationController": "kubernetes:core/v1:ReplicationController",
    "Job": "kubernetes:batch/v1:Job",
    "CronJob": "kubernetes:batch/v1:CronJob",
    "PodTemplate": "kubernetes:core/v1:PodTemplate",
}
API_VERSIONS = {
    "Pod": "v1",
    "ReplicationController": "v1",
    "PodTemplate": "v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
IMAGE = "registry.example.com/team/app:1.4.2"


def hardened_container(name: str, *, ephemeral: bool = False) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if not ephemeral:  # the API forbids resources on ephemeral containers
        c["resources"] = {
            "requests": {"cpu": "100m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "128Mi"},
        }
    return c


def restricted_spec() -> dict[str, Any]:
    """A pod spec that satisfies every workload policy of the pack (PSS restricted + the guide's extras)."""
    return {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [hardened_container("app")],
        "initContainers": [hardened_container("init")],
        "ephemeralContainers": [hardened_container("debug", ephemeral=True)],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }


def wrap(
    kind: str,
    spec: dict[str, Any],
    *,
    namespace: str | None = "app",
    name: str = "web",
    pod_annotations: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Props of `kind` (camelCase inputs, as the engine sends them) carrying `spec` as its pod spec."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    pod_meta: dict[str, Any] = {"labels": {"app": name}}
    if pod_annotations:
        pod_meta["annotations"] = pod_annotations
    template = {"metadata": pod_meta, "spec": spec}
    api = API_VERSIONS.get(kind, "apps/v1")
    if kind == "Pod":
        if pod_annotations:
            meta = {**meta, "annotations": {**(annotations or {}), **pod_annotations}}
        return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}
    if kind == "PodTemplate":
        return {"apiVersion": api, "kind": kind, "metadata": meta, "template": template}
    if kind == "CronJob":
        return {
            "apiVersion": api,
            "kind": kind,
            "metadata": meta,
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}},
        }
    body: dict[str, Any] = {"template": template}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        body["selector"] = {"matchLabels": {"app": name}}
    if kind == "ReplicationController":
        body["selector"] = {"app": name}
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": body}


def pod_spec_of(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    if kind == "Pod":
        return props["spec"]
    if kind == "PodTemplate":
        return props["template"]["spec"]
    if kind == "CronJob":
        return props["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return props["spec"]["template"]["spec"]


def analyze(
    resource_type: str, props: Any, *, config: dict[str, Any] | None = None, name: str = "test"
) -> list[Violation]:
    return analyze_props(PACK_DIR, resource_type, props, name=name, config=config)


def names(violations: Iterable[Violation], *, level: str | None = None) -> set[str]:
    return {v.policy_name for v in violations if level is None or v.enforcement_level == level}


def mutated(base: dict[str, Any], edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    edit(out)
    return out
