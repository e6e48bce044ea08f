"""`Construct` over the provider's gRPC interface registers what the Python API registers for the same args.

Each case builds one component twice under the same mock engine (`hardened_rke2.capture`): once with the
Python API in a program, once through `ResourceProviderStub.Construct` with the args as the wire values
another language would send (camelCase, secrets as secrets, providers as resource references). The two
captures of the component and everything under it must be identical: types, names, parents, options,
dependencies and every input value, secrets included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import rpc

from components.addons import ClusterAddons
from components.cluster import HardenedCluster
from components.gitops import GitOpsRepo, GitRepoRestriction
from components.management.plane import ManagementPlane
from components.tenancy import TeamTenancy
from hardened_rke2.capture import CapturedResource, EchoMocks, plain, run_program
from hardened_rke2_provider.schema import SCHEMA_PATH
from tests.support import addons as addon_support
from tests.support.provider_harness import (
    PROJECT,
    STACK,
    STACK_URN,
    ConstructOutcome,
    provider_harness,
    secret,
)
from tests.support.stack_configs import stack_values

PROD = stack_values("prod")
DEV = stack_values("dev")
MANAGEMENT = stack_values("management")
RANCHER_URL = "https://rancher.example.com"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def python_api(
    program: Callable[[], Any], mocks: EchoMocks | None = None, **kw: Any
) -> list[CapturedResource]:
    return run_program(program, project=PROJECT, stack=STACK, mocks=mocks, **kw).resources


def comparable(resources: list[CapturedResource], token: str) -> list[tuple[Any, ...]]:
    """The component (registered under the stack) and everything below it, in URN order."""
    mine = [r for r in resources if f"::{token}::" in r.urn or f"${token}" in r.urn]
    assert mine, f"nothing registered under {token}"
    return sorted(
        (
            r.urn,
            r.type,
            r.custom,
            r.parent,
            # the construct request sets `protect`/`retainOnDelete: false` on the component itself (engine
            # defaults); a program leaves them unset
            r.protect if r.protect or not _is_component(r, token) else None,
            r.provider,
            tuple(sorted(r.dependencies)),
            tuple(sorted((k, tuple(sorted(v))) for k, v in r.property_dependencies.items())),
            r.ignore_changes,
            tuple(sorted(r.additional_secret_outputs)),
            r.retain_on_delete if r.retain_on_delete or not _is_component(r, token) else None,
            r.delete_before_replace,
            tuple(sorted(r.custom_timeouts.items())),
            json.dumps(r.wire_inputs, sort_keys=True),
        )
        for r in mine
    )


def is_secret(wire: Any) -> bool:
    return isinstance(wire, dict) and wire.get(rpc._special_sig_key) == rpc._special_secret_sig


def without_secrets(wire: Any) -> Any:
    """The wire value with every secret replaced by a marker (what a log or a diff may show)."""
    if is_secret(wire):
        return "[secret]"
    if isinstance(wire, dict):
        return {k: without_secrets(v) for k, v in wire.items()}
    if isinstance(wire, list):
        return [without_secrets(v) for v in wire]
    return wire


def _is_component(r: CapturedResource, token: str) -> bool:
    return r.type == token


def assert_same_registrations(
    via_python: list[CapturedResource], via_grpc: ConstructOutcome, token: str
) -> None:
    expected = comparable(via_python, token)
    got = comparable(via_grpc.resources, token)
    assert [g[0] for g in got] == [e[0] for e in expected]
    for e, g in zip(expected, got, strict=True):
        assert g == e, f"{e[0]} differs"


def test_get_schema_returns_the_committed_schema() -> None:
    assert json.loads(provider_harness().schema()) == json.loads(SCHEMA_PATH.read_text())


def test_the_harness_parents_like_a_program() -> None:
    root = [r for r in python_api(lambda: None) if r.type == "pulumi:pulumi:Stack"]
    assert [r.urn for r in root] == [STACK_URN]


# ---- HardenedCluster ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_hardened_cluster_registers_what_the_python_api_registers(stack: str) -> None:
    values = {"prod": PROD, "dev": DEV}[stack]
    cluster = values["cluster"]
    line = values["rancher"]["line"]

    def program() -> None:
        HardenedCluster(cluster["name"], cluster, rancher_line=line, rancher_url=RANCHER_URL)

    token = "hardened-rke2:cluster:HardenedCluster"
    via_grpc = provider_harness().construct(
        token, cluster["name"], {**cluster, "rancherLine": line, "rancherUrl": RANCHER_URL}
    )
    assert_same_registrations(python_api(program), via_grpc, token)
    assert via_grpc.urn == urn(f"pulumi:pulumi:Stack${token}", cluster["name"])
    assert {"clusterId", "clusterV1Id", "kubeconfig", "registrationCommand", "handle"} <= set(via_grpc.state)
    if stack == "dev":  # custom nodes: the host preparation script is an output
        assert plain(via_grpc.state["hostPrepScript"]).startswith("#!")
    else:
        assert "hostPrepScript" not in via_grpc.state


def test_cluster_secrets_cross_the_boundary_as_secrets() -> None:
    """S3 keys sent as secrets reach the cloud credential as secrets; kubeconfig and registration
    commands come back as secret outputs."""
    cluster = json.loads(json.dumps(PROD["cluster"]))
    s3 = cluster["etcd"]["s3"]
    del s3["cloudCredentialName"]
    keys = {"accessKey": "AKIAEXAMPLE", "secretKey": "s3-secret-value"}

    def program() -> None:
        HardenedCluster(
            "prod", {**cluster, "etcd": {**cluster["etcd"], "s3": {**s3, **keys}}}, rancher_line="2.13"
        )

    token = "hardened-rke2:cluster:HardenedCluster"
    wire_s3 = {**s3, "accessKey": secret(keys["accessKey"]), "secretKey": secret(keys["secretKey"])}
    via_grpc = provider_harness().construct(
        token, "prod", {**cluster, "etcd": {**cluster["etcd"], "s3": wire_s3}, "rancherLine": "2.13"}
    )
    assert_same_registrations(python_api(program), via_grpc, token)
    credential = next(
        r for r in via_grpc.resources if r.type == "rancher2:index/cloudCredential:CloudCredential"
    )
    assert credential.is_secret("s3CredentialConfig.secretKey")
    assert credential.is_secret("s3CredentialConfig.accessKey")
    assert "s3-secret-value" not in json.dumps([without_secrets(r.wire_inputs) for r in via_grpc.resources])
    for name in ("kubeconfig", "registrationCommand", "registrationCommands"):
        assert is_secret(via_grpc.state[name])


# ---- ClusterAddons ------------------------------------------------------------------------------------

DOWNSTREAM_CLUSTER = urn("rancher2:index/clusterV2:ClusterV2", "downstream")
DOWNSTREAM_SYNC = urn("rancher2:index/clusterSync:ClusterSync", "downstream-sync")
DOWNSTREAM_K8S = urn("pulumi:providers:kubernetes", "downstream-k8s")


def test_cluster_addons_register_what_the_python_api_registers() -> None:
    addons = PROD["addons"]
    line = PROD["rancher"]["line"]
    version = PROD["cluster"]["kubernetesVersion"]

    def program() -> None:
        handle = addon_support.make_handle(line=line, kubernetes_version=version)
        ClusterAddons("prod-addons", addons, handle)

    token = "hardened-rke2:addons:ClusterAddons"
    harness = provider_harness()
    handle = {
        "name": "downstream",
        "clusterV1Id": addon_support.V1,
        "kubernetesVersion": version,
        "rancherLine": line,
        "networkIsolation": True,
        "rancherUrl": addon_support.RANCHER_URL,
        "kubernetesProvider": harness.existing(
            DOWNSTREAM_K8S, "downstream-k8s-id", {"kubeconfig": "offline"}
        ),
        "ready": harness.existing(DOWNSTREAM_SYNC, "downstream-sync-id", {"clusterId": addon_support.V1}),
    }
    via_grpc = harness.construct(
        token,
        "prod-addons",
        {**addons, "clusterHandle": handle},
        dependencies={"clusterHandle": [DOWNSTREAM_CLUSTER]},
        mocks=addon_support.mocks(),
    )
    assert_same_registrations(python_api(program, addon_support.mocks()), via_grpc, token)
    assert plain(via_grpc.state["enabled"]) == [
        "monitoring",
        "neuvector",
        "compliance",
        "audit_logging",
        "istio",
    ]
    assert is_secret(via_grpc.state["neuvectorBootstrapPassword"])


# ---- GitOps -------------------------------------------------------------------------------------------

LOCAL_K8S = urn("pulumi:providers:kubernetes", "local")


@pytest.mark.parametrize(
    ("token", "component", "args"),
    [
        ("hardened-rke2:gitops:GitRepoRestriction", GitRepoRestriction, PROD["gitops"]["restrictions"][0]),
        ("hardened-rke2:gitops:GitOpsRepo", GitOpsRepo, PROD["gitops"]["repos"][0]),
    ],
)
def test_gitops_components_register_what_the_python_api_registers(
    token: str, component: Any, args: Any
) -> None:
    def program() -> None:
        component("fleet", args, k8s.Provider("local", kubeconfig="offline"))

    harness = provider_harness()
    local = harness.existing(LOCAL_K8S, "local-id", {"kubeconfig": "offline"})
    via_grpc = harness.construct(token, "fleet", {**args, "localClusterProvider": local})
    assert_same_registrations(python_api(program), via_grpc, token)
    assert plain(via_grpc.state["workspace"]) == args.get("workspace", "fleet-default")


def test_the_encryption_key_rotation_patch_uses_the_given_local_cluster_provider() -> None:
    cluster = {**DEV["cluster"], "operations": {"rotateEncryptionKeys": {"generation": 2}}}
    line = DEV["rancher"]["line"]

    def program() -> None:
        local = k8s.Provider("local", kubeconfig="offline")
        HardenedCluster(
            cluster["name"],
            cluster,
            rancher_line=line,
            rancher_url=RANCHER_URL,
            local_kubernetes_provider=local,
        )

    token = "hardened-rke2:cluster:HardenedCluster"
    harness = provider_harness()
    local = harness.existing(LOCAL_K8S, "local-id", {"kubeconfig": "offline"})
    inputs = {**cluster, "rancherLine": line, "rancherUrl": RANCHER_URL, "localClusterProvider": local}
    via_grpc = harness.construct(token, cluster["name"], inputs)
    assert_same_registrations(python_api(program), via_grpc, token)
    patch = next(
        r for r in via_grpc.resources if r.type == "kubernetes:provisioning.cattle.io/v1:ClusterPatch"
    )
    assert patch.provider is not None and patch.provider.startswith(LOCAL_K8S)


# ---- ManagementPlane ----------------------------------------------------------------------------------


def test_management_plane_registers_what_the_python_api_registers() -> None:
    args = {**MANAGEMENT["management"], "rancherLine": MANAGEMENT["rancher"]["line"]}
    config = {f"{PROJECT}:ssoClientSecret": "client-secret-value"}

    def program() -> None:
        ManagementPlane("management", args)

    token = "hardened-rke2:management:ManagementPlane"
    via_grpc = provider_harness().construct(
        token, "management", args, config=config, secret_keys=list(config)
    )
    expected = python_api(program, config=config, secret_keys=list(config))
    assert_same_registrations(expected, via_grpc, token)
    for name in ("adminPassword", "automationToken"):
        assert is_secret(via_grpc.state[name])
    assert "client-secret-value" not in json.dumps(
        [without_secrets(r.wire_inputs) for r in via_grpc.resources]
    )


# ---- TeamTenancy --------------------------------------------------------------------------------------

TEAM_K8S = urn("pulumi:providers:kubernetes", "team-k8s")
ROLE_IDS = {"team-developer": "rt-dev123"}


def test_team_tenancy_registers_what_the_python_api_registers() -> None:
    import yaml

    from tests.support.paths import REPO_ROOT

    # the payments team's tenant space, as the platform's cluster stack declares it (`hardened-rke2:tenants`)
    prod = yaml.safe_load((REPO_ROOT / "stacks/Pulumi.prod.yaml").read_text())["config"]
    tenants = prod["hardened-rke2:tenants"]
    team = next(t for t in tenants["teams"] if t["team"] == "payments")

    def program() -> None:
        TeamTenancy(
            "payments",
            team,
            cluster_v1_id=addon_support.V1,
            kubernetes_provider=k8s.Provider("team-k8s", kubeconfig="offline"),
            platform_role_template_ids=ROLE_IDS,
        )

    token = "hardened-rke2:tenancy:TeamTenancy"
    harness = provider_harness()
    via_grpc = harness.construct(
        token,
        "payments",
        {
            **team,
            "clusterV1Id": addon_support.V1,
            "kubernetesProvider": harness.existing(TEAM_K8S, "team-k8s-id", {"kubeconfig": "offline"}),
            "platformRoleTemplateIds": ROLE_IDS,
        },
    )
    assert_same_registrations(python_api(program), via_grpc, token)
    assert plain(via_grpc.state["namespaces"]) == ["payments-api", "payments-jobs"]


def test_an_unknown_type_is_an_error_not_a_crash() -> None:
    with pytest.raises(grpc.RpcError) as err:
        provider_harness().construct("hardened-rke2:index:Nope", "x", {})
    assert "unknown component type" in str(err.value.details())


# ---- Output values: what the engine sends a provider that accepts outputs ------------------------------


def test_settings_sent_as_known_output_values_build_the_same_cluster() -> None:
    from tests.support.provider_harness import output_value

    cluster = DEV["cluster"]
    token = "hardened-rke2:cluster:HardenedCluster"
    wire = {k: output_value(v, deps=[DOWNSTREAM_CLUSTER]) for k, v in cluster.items()}
    via_grpc = provider_harness().construct(
        token, cluster["name"], {**wire, "rancherLine": output_value("2.13")}
    )

    def program() -> None:
        HardenedCluster(cluster["name"], cluster, rancher_line="2.13")

    assert_same_registrations(python_api(program), via_grpc, token)


def test_an_unknown_cluster_id_is_passed_on_as_unknown() -> None:
    from tests.support.provider_harness import output_value

    harness = provider_harness()
    handle = {
        "name": "downstream",
        "clusterV1Id": output_value(known=False, deps=[DOWNSTREAM_CLUSTER]),
        "kubernetesVersion": PROD["cluster"]["kubernetesVersion"],
        "rancherLine": "2.13",
        "rancherUrl": RANCHER_URL,
        "kubernetesProvider": harness.existing(
            DOWNSTREAM_K8S, "downstream-k8s-id", {"kubeconfig": "offline"}
        ),
        "ready": harness.existing(DOWNSTREAM_SYNC, "downstream-sync-id", {"clusterId": addon_support.V1}),
    }
    addons = {
        "compliance": {"enabled": True},
        "auditLogging": {"enabled": False},
        "neuvector": {"enabled": False},
    }
    via_grpc = harness.construct(
        "hardened-rke2:addons:ClusterAddons", "preview-addons", {**addons, "clusterHandle": handle}
    )
    apps = [r for r in via_grpc.resources if r.type == addon_support.APP]
    assert apps
    for app in apps:
        assert app.wire_inputs["clusterId"] == rpc.UNKNOWN
        assert DOWNSTREAM_CLUSTER in app.property_dependencies["clusterId"]
        assert DOWNSTREAM_SYNC in app.dependencies


def test_the_clusters_handle_output_feeds_cluster_addons() -> None:
    """What `cluster: ${cluster.handle}` does in the YAML example: the handle HardenedCluster returns over
    the wire (with its provider and sync gate as resource references) is ClusterAddons' `cluster`."""
    harness = provider_harness()
    cluster = {**PROD["cluster"], "name": "edge"}
    built = harness.construct(
        "hardened-rke2:cluster:HardenedCluster", "edge", {**cluster, "rancherUrl": RANCHER_URL}
    )
    handle = built.state["handle"]
    assert handle["kubernetesProvider"][rpc._special_sig_key] == rpc._special_resource_sig
    assert handle["ready"][rpc._special_sig_key] == rpc._special_resource_sig
    sync_urn = next(r.urn for r in built.resources if r.type == addon_support.SYNC)
    k8s_urn = next(r.urn for r in built.resources if r.type == addon_support.K8S_PROVIDER)
    assert (handle["ready"]["urn"], handle["kubernetesProvider"]["urn"]) == (sync_urn, k8s_urn)

    addons = harness.construct(
        "hardened-rke2:addons:ClusterAddons",
        "edge-addons",
        {**PROD["addons"], "clusterHandle": handle},
        dependencies={"cluster": [built.urn]},
    )
    apps = [r for r in addons.resources if r.type == addon_support.APP]
    assert apps
    for app in apps:
        assert sync_urn in app.dependencies  # gated on the cluster's ClusterSync
    in_cluster = [r for r in addons.resources if r.custom and r.type.startswith("kubernetes:")]
    assert in_cluster and all(r.provider and r.provider.startswith(k8s_urn) for r in in_cluster)
