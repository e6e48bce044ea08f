"""Day-2 changes to the example stacks, previewed twice and planned with `--against`: none of them may
replace the cluster, its machine configs or the add-ons; where a change really does roll nodes (a machine
config change) the plan says so loudly and docs/previewing-changes.md explains it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.plan import Plan, diff_previews
from tests.support.stack_previews import REPO, Mutation, preview_doc

pytestmark = pytest.mark.slow

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
MACHINE_CONFIG = "rancher2:index/machineConfigV2:MachineConfigV2"
APP = "rancher2:index/appV2:AppV2"
TOKEN = "rancher2:index/token:Token"
K8S_PROVIDER = "pulumi:providers:kubernetes"
KEY = "hardened-rke2:cluster"


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {s: preview_doc(s, tmp_path_factory.mktemp(f"base-{s}")) for s in ("dev", "prod")}


def _plan(stack: str, mutate: Mutation, baselines: dict[str, Any], tmp_path: Path) -> Plan:
    return diff_previews(baselines[stack], preview_doc(stack, tmp_path, mutate), "baseline.json")


def _assert_nothing_precious_replaced(plan: Plan) -> None:
    replaced = [(s.type, s.name, s.reason) for s in plan.of("replace") + plan.of("delete")]
    precious = [
        r for r in replaced if r[0] in (CLUSTER, MACHINE_CONFIG, APP) or r[0].startswith("kubernetes:")
    ]
    assert not precious, precious
    assert not [w for w in plan.warnings if "REPLACED" in w or "DELETED" in w], plan.warnings


def _bump_kubernetes(cfg: dict[str, Any]) -> None:
    cfg[KEY]["kubernetesVersion"] = "v1.34.2+rke2r1"  # the next RKE2 patch of the pinned v1.34.1+rke2r1


def _token_ttl(cfg: dict[str, Any]) -> None:
    # Token.ttl forces a new token: a token rotation (kept within Rancher's 24 h maximum)
    cfg[KEY]["kubeconfigTokenTtlHours"] = 12


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_kubernetes_patch_upgrade_updates_the_cluster_in_place(
    stack: str, baselines: dict[str, Any], tmp_path: Path
) -> None:
    plan = _plan(stack, _bump_kubernetes, baselines, tmp_path)
    step = plan.find(CLUSTER, stack)
    assert (step.op, step.paths) == ("update", ["kubernetesVersion"])
    assert plan.summary()["replace"] == 0 and plan.summary()["create"] == 0
    _assert_nothing_precious_replaced(plan)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_token_rotation_replaces_only_the_token(
    stack: str, baselines: dict[str, Any], tmp_path: Path
) -> None:
    """Defect 5: with no clusterIdentifier, the unknown kubeconfig replaced the provider and every add-on."""
    plan = _plan(stack, _token_ttl, baselines, tmp_path)
    assert [(s.type, s.name, s.paths) for s in plan.of("replace")] == [
        (TOKEN, f"{stack}-kubeconfig-token", ["ttl"])
    ]
    provider = plan.find(K8S_PROVIDER, f"{stack}-k8s")
    assert provider.op == "update"  # DiffConfig: clusterIdentifier set and unchanged -> never a replace
    _assert_nothing_precious_replaced(plan)


def test_gitops_token_rotation_keeps_the_fleet_objects(baselines: dict[str, Any], tmp_path: Path) -> None:
    def ttl(cfg: dict[str, Any]) -> None:
        cfg["hardened-rke2:gitops"]["localTokenTtlHours"] = 12

    plan = _plan("prod", ttl, baselines, tmp_path)
    assert [(s.type, s.name) for s in plan.of("replace")] == [(TOKEN, "prod-gitops-local-token")]
    assert plan.find(K8S_PROVIDER, "prod-gitops-local").op == "update"
    repo = plan.find(
        "kubernetes:fleet.cattle.io/v1alpha1:GitRepo", "prod-fleet-default-prod-platform-baseline-gitrepo"
    )
    assert repo.op == "same"


def test_adding_a_node_pool_creates_its_machine_config_and_updates_the_cluster(
    baselines: dict[str, Any], tmp_path: Path
) -> None:
    def add_pool(cfg: dict[str, Any]) -> None:
        pools = cfg[KEY]["nodePools"]
        extra = dict(pools[-1], name="workers-b", quantity=2)
        pools.append(extra)

    plan = _plan("prod", add_pool, baselines, tmp_path)
    assert [(s.type, s.op) for s in plan.of("create")] == [(MACHINE_CONFIG, "create")]
    cluster = plan.find(CLUSTER, "prod")
    assert cluster.op == "update" and all(p.startswith("rkeConfig.machinePools") for p in cluster.paths)
    _assert_nothing_precious_replaced(plan)


def test_adding_a_custom_pool_updates_nothing_but_outputs(baselines: dict[str, Any], tmp_path: Path) -> None:
    def add_pool(cfg: dict[str, Any]) -> None:
        cfg[KEY]["nodePools"].append(
            {"name": "workers", "roles": ["worker"], "quantity": 2, "driver": {"type": "custom"}}
        )

    plan = _plan("dev", add_pool, baselines, tmp_path)
    # Custom pools are not part of the ClusterV2: the new pool is only a new registration command (an output).
    assert plan.summary()["replace"] == 0 and plan.summary()["delete"] == 0
    _assert_nothing_precious_replaced(plan)


def test_a_chart_version_pin_updates_the_add_on_in_place(baselines: dict[str, Any], tmp_path: Path) -> None:
    def pin(cfg: dict[str, Any]) -> None:
        cfg["hardened-rke2:addons"]["compliance"]["chartVersion"] = "108.1.0+up1.3.1"

    plan = _plan("prod", pin, baselines, tmp_path)
    changed = [(s.type, s.op, s.paths) for s in plan.steps if s.op != "same"]
    assert (APP, "update", ["chartVersion"]) in changed
    assert all(op == "update" for _, op, _ in changed), changed
    _assert_nothing_precious_replaced(plan)


def test_a_machine_config_change_rolls_its_nodes_and_says_so(
    baselines: dict[str, Any], tmp_path: Path
) -> None:
    def bigger_workers(cfg: dict[str, Any]) -> None:
        next(p for p in cfg[KEY]["nodePools"] if p["name"] == "workers")["driver"]["cpuCount"] = 16

    plan = _plan("prod", bigger_workers, baselines, tmp_path)
    step = plan.find(MACHINE_CONFIG, "prod-workers")
    assert step.op == "update" and step.paths == ["vsphereConfig.cpuCount"]
    assert plan.summary()["replace"] == 0
    assert any("machine config prod-workers" in w and "Rancher rolls every node" in w for w in plan.warnings)
    doc = (REPO / "docs" / "previewing-changes.md").read_text(encoding="utf-8")
    assert "rolls" in doc and "template.go:211" in doc


def test_every_kubernetes_provider_has_a_stable_cluster_identifier(example_previews: dict[str, Any]) -> None:
    providers = [
        (stack, r)
        for stack, doc in example_previews.items()
        for r in doc["resources"]
        if r["type"] == K8S_PROVIDER
    ]
    assert len(providers) >= 5
    for stack, r in providers:
        ident = r["inputs"].get("clusterIdentifier")
        assert ident, f"{stack}: {r['name']} has no clusterIdentifier"
        assert "clusterIdentifier" not in r["secretInputs"], (stack, r["name"])
        if stack in ("dev", "prod", "management"):
            assert ident != "[unknown]" and "token" not in ident.lower(), (stack, r["name"], ident)


def test_renaming_the_cluster_is_a_delete_and_create_of_everything_and_says_so(
    baselines: dict[str, Any], tmp_path: Path
) -> None:
    def rename(cfg: dict[str, Any]) -> None:
        cfg[KEY]["name"] = "prod2"

    plan = _plan("prod", rename, baselines, tmp_path)
    assert plan.find(CLUSTER, "prod").op == "delete" and plan.find(CLUSTER, "prod2").op == "create"
    assert plan.summary()["same"] == 0
    assert any(w.startswith("the cluster prod (") and "WILL BE DELETED" in w for w in plan.warnings)
    assert sum("an add-on app" in w and "DELETED" in w for w in plan.warnings) >= 5
