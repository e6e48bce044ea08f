"""Rancher ClusterV2, PSA-template and project props that pass every policy of the pack, and the helpers
that weaken one setting of them (shared by the rancher_cluster policy tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "resources": [{"group": "", "resources": ["secrets", "configmaps"]}]},
        {"level": "RequestResponse"},
    ],
}
API_ARGS = [
    "anonymous-auth=false",
    "authorization-mode=Node,RBAC",
    "tls-min-version=VersionTLS12",
    "tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "audit-log-path=/var/lib/rancher/rke2/server/logs/audit.log",
    "audit-log-maxage=30",
    "audit-log-maxbackup=10",
    "audit-log-maxsize=100",
]
GLOBAL = {
    "profile": "cis",
    "cni": "canal",
    "write-kubeconfig-mode": "0600",
    "audit-policy-file": yaml.safe_dump(AUDIT_POLICY, sort_keys=True),
    "kube-apiserver-arg": API_ARGS,
    "kubelet-arg": [
        "read-only-port=0",
        "anonymous-auth=false",
        "authorization-mode=Webhook",
        "pod-max-pids=4096",
    ],
    "etcd-expose-metrics": False,
}


def good_cluster() -> dict[str, Any]:
    return {
        "name": "prod",
        "kubernetesVersion": "v1.32.5+rke2r1",
        "defaultPodSecurityAdmissionConfigurationTemplateName": "rancher-restricted",
        "enableNetworkPolicy": True,
        "rkeConfig": {
            "machineGlobalConfig": yaml.safe_dump(GLOBAL, sort_keys=True),
            "machineSelectorConfigs": [{"config": yaml.safe_dump({"protect-kernel-defaults": True})}],
            "etcd": {
                "snapshotRetention": 5.0,
                "snapshotScheduleCron": "0 */5 * * *",
                "disableSnapshots": False,
                "s3Config": {"bucket": "b", "endpoint": "s3.example.com", "skipSslVerify": False},
            },
            "registries": {
                "configs": [{"hostname": "registry.example.com", "insecure": False}],
                "mirrors": [{"hostname": "docker.io", "endpoints": ["https://registry.example.com"]}],
            },
        },
    }


def with_global(**changes: Any) -> dict[str, Any]:
    cfg = dict(GLOBAL)
    for k, v in changes.items():
        key = k.replace("_", "-")
        if v is None:
            cfg.pop(key, None)
        else:
            cfg[key] = v
    props = good_cluster()
    props["rkeConfig"]["machineGlobalConfig"] = yaml.safe_dump(cfg, sort_keys=True)
    return props


def api_args(drop: str | None = None, *extra: str) -> list[str]:
    return [a for a in API_ARGS if drop is None or not a.startswith(drop + "=")] + list(extra)


def mutate(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    props = good_cluster()
    fn(props)
    return props


def good_template() -> dict[str, Any]:
    return {
        "name": "hardened-restricted",
        "description": "restricted, with the platform's system namespaces exempt",
        "defaults": {
            "enforce": "restricted",
            "enforceVersion": "latest",
            "audit": "restricted",
            "auditVersion": "latest",
            "warn": "restricted",
            "warnVersion": "latest",
        },
        "exemptions": {
            "namespaces": ["kube-system", "cattle-system", "cattle-neuvector-system"],
            "usernames": [],
            "runtimeClasses": [],
        },
        "annotations": {
            "psa.hardened-rke2.io/exemption-justifications": yaml.safe_dump(
                {"namespaces/cattle-neuvector-system": "NeuVector enforcers need host PID and privileged"}
            )
        },
    }


QUOTA = {"limitsCpu": "8", "limitsMemory": "16Gi", "requestsCpu": "4", "requestsMemory": "8Gi"}


def good_project() -> dict[str, Any]:
    return {
        "name": "payments",
        "clusterId": "c-m-abc",
        "resourceQuota": {"projectLimit": dict(QUOTA), "namespaceDefaultLimit": dict(QUOTA)},
        "containerResourceLimit": {
            "limitsCpu": "500m",
            "limitsMemory": "512Mi",
            "requestsCpu": "100m",
            "requestsMemory": "128Mi",
        },
    }
