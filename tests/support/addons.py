"""Shared helpers for the add-on tests: a minimal provisioned cluster (ClusterV2 + ClusterSync gate +
Kubernetes provider) turned into a ClusterHandle, and readers for what the engine received."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import yaml

from components.handles import ClusterHandle
from components.versions import pins_for
from hardened_rke2.capture import CapturedResource, EchoMocks, ProgramRun

V1 = "c-m-test1234"
RANCHER_URL = "https://rancher.example.com"
CLUSTER = "rancher2:index/clusterV2:ClusterV2"
SYNC = "rancher2:index/clusterSync:ClusterSync"
APP = "rancher2:index/appV2:AppV2"
CATALOG = "rancher2:index/catalogV2:CatalogV2"
K8S_PROVIDER = "pulumi:providers:kubernetes"
SECRET = "kubernetes:core/v1:Secret"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PASSWORD = "random:index/randomPassword:RandomPassword"

SYSLOG_OUTPUT: dict[str, Any] = {"type": "syslog", "host": "siem.example.com"}


def mocks() -> EchoMocks:
    """A first preview in which Rancher has assigned the cluster's v1 id (as the provider does on create)."""
    return EchoMocks(
        extra_outputs={
            CLUSTER: lambda a: {"clusterV1Id": V1},
            PASSWORD: lambda a: {"result": "generated-Password-123!"},
        }
    )


def make_handle(
    *,
    line: str = "2.13",
    kubernetes_version: str | None = None,
    rancher_url: str | None = RANCHER_URL,
    with_provider: bool = True,
    network_isolation: bool = True,
) -> ClusterHandle:
    version = kubernetes_version or pins_for(line).default_kubernetes_version
    cluster = rancher2.ClusterV2("downstream", name="downstream", kubernetes_version=version)
    sync = rancher2.ClusterSync("downstream-sync", cluster_id=cluster.cluster_v1_id)
    provider = k8s.Provider("downstream-k8s", kubeconfig="offline") if with_provider else None
    return ClusterHandle(
        name="downstream",
        v1_id=cluster.cluster_v1_id,
        ready=sync,
        kubernetes_version=version,
        rancher_line=line,
        network_isolation=network_isolation,
        rancher_url=rancher_url,
        kubernetes_provider=provider,
    )


def program(build: Callable[[ClusterHandle], Any], **handle_kw: Any) -> Callable[[], None]:
    def _program() -> None:
        build(make_handle(**handle_kw))

    return _program


def apps(run: ProgramRun) -> dict[str, CapturedResource]:
    """AppV2 registrations keyed by chart name."""
    out: dict[str, CapturedResource] = {}
    for app in run.of_type(APP):
        chart = app.inputs["chartName"]
        assert chart not in out, f"chart {chart} installed twice"
        out[chart] = app
    return out


def values(app: CapturedResource) -> dict[str, Any]:
    loaded = yaml.safe_load(app.inputs["values"])
    return loaded if loaded is not None else {}


def urn_of(run: ProgramRun, type_: str, name: str | None = None) -> str:
    return run.one(type_, name).urn


def gate_urn(run: ProgramRun) -> str:
    return run.one(SYNC).urn


def depends_on(resource: CapturedResource, other: CapturedResource) -> bool:
    return other.urn in resource.dependencies


def custom_resources(run: ProgramRun, kind: str) -> list[CapturedResource]:
    return [r for r in run.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def dig(mapping: Any, path: str) -> Any:
    for part in path.split("."):
        mapping = mapping[part]
    return mapping


def assert_app_contract(run: ProgramRun, app: CapturedResource) -> None:
    """The contract every add-on app honours: v1 id from the ClusterV2, gate, wait, timeouts, sorted YAML."""
    assert app.inputs["clusterId"] == V1
    cluster_urn = run.one(CLUSTER).urn
    assert cluster_urn in app.property_dependencies.get("clusterId", ())
    assert gate_urn(run) in app.dependencies
    assert app.inputs["wait"] is True
    assert app.custom_timeouts == {"create": "30m", "update": "30m", "delete": "20m"}
    text = app.inputs["values"]
    assert text == yaml.safe_dump(yaml.safe_load(text) or {}, sort_keys=True, default_flow_style=False)
