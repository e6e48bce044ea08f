"""The replacement table (`data/replace-on-change.json`) and the `--against` plan, unit-level."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest

from hardened_rke2.plan import AgainstFileError, check_document, diff_previews, render_plan
from hardened_rke2.replacements import (
    ReplaceRule,
    covered_types,
    forcing_rule,
    is_covered,
    load_table,
    provider_versions,
    replace_rules,
)

K8S_PROVIDER = "urn:pulumi:s::p::pulumi:providers:kubernetes::k8s"


# -------------------------------------------------------------------------------------------- table


def test_table_records_the_provider_versions_it_was_read_from() -> None:
    versions = load_table()["providerVersions"]
    assert versions["rancher2"]["sdk"] == "pulumi_rancher2 13.0.1"
    assert "terraform-provider-rancher2 v15.0.0-rc.16" in versions["rancher2"]["readFrom"]
    assert versions["kubernetes"]["sdk"].startswith("pulumi_kubernetes 4.")
    assert "pulumi/pulumi-kubernetes" in versions["kubernetes"]["readFrom"]
    assert set(provider_versions()) == {"rancher2", "kubernetes"}


def test_every_rule_cites_its_source() -> None:
    for type_, entry in load_table()["resources"].items():
        for rule in entry["replaceOn"]:
            assert rule["path"] and ":" in rule["source"], (type_, rule)


@pytest.mark.parametrize(
    ("type_", "forcing", "not_forcing"),
    [
        (
            "rancher2:index/clusterV2:ClusterV2",
            ["name", "fleetNamespace"],
            ["kubernetesVersion", "rkeConfig"],
        ),
        ("rancher2:index/machineConfigV2:MachineConfigV2", ["generateName"], ["vsphereConfig.cpuCount"]),
        ("rancher2:index/appV2:AppV2", ["clusterId", "name", "namespace"], ["chartVersion", "values"]),
        ("rancher2:index/token:Token", ["ttl", "renew", "description", "clusterId"], []),
        ("rancher2:index/clusterSync:ClusterSync", ["clusterId"], ["waitCatalogs"]),
        ("kubernetes:helm.sh/v3:Release", ["name", "namespace"], ["version", "values"]),
        ("kubernetes:core/v1:Service", ["spec.clusterIP", "metadata.name"], ["spec.ports"]),
        (
            "kubernetes:apps/v1:Deployment",
            ["spec.selector.matchLabels.app"],
            ["spec.template", "spec.replicas"],
        ),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", ["metadata.namespace"], ["spec.podSelector"]),
        ("kubernetes:core/v1:ServiceAccountPatch", ["metadata.name"], ["automountServiceAccountToken"]),
    ],
)
def test_rules_match_the_provider_schemas(type_: str, forcing: list[str], not_forcing: list[str]) -> None:
    rules = replace_rules(type_, {})
    assert rules is not None
    for path in forcing:
        assert forcing_rule(rules, path), (type_, path)
    for path in not_forcing:
        assert forcing_rule(rules, path) is None, (type_, path)


def test_secret_data_forces_replacement_unless_the_provider_makes_secrets_mutable() -> None:
    secret = "kubernetes:core/v1:Secret"
    assert forcing_rule(replace_rules(secret, {}) or [], "stringData.password")
    mutable = replace_rules(secret, {}, {"enableSecretMutable": "true"}) or []
    assert forcing_rule(mutable, "stringData.password") is None
    assert forcing_rule(mutable, "type")
    immutable = replace_rules(secret, {"immutable": True}, {"enableSecretMutable": True}) or []
    assert forcing_rule(immutable, "data.x")


def test_rule_paths_match_list_elements_and_parents() -> None:
    rule = ReplaceRule("spec.selector.matchExpressions.key", "x")
    assert rule.forces("spec.selector.matchExpressions.0.key")
    assert rule.forces("spec.selector")  # the whole selector changed
    assert not rule.forces("spec.template")
    assert ReplaceRule("spec.containers.*.image", "x").forces("spec.containers.2.image")


def test_unknown_types_are_not_covered() -> None:
    assert replace_rules("rancher2:index/cluster:Cluster", {}) is None
    assert not is_covered("kubernetes:batch/v1:CronJob")
    assert is_covered("hardened-rke2:cluster:HardenedCluster") and is_covered(
        "random:index/randomId:RandomId"
    )


def test_every_type_the_example_stacks_register_is_in_the_table(example_previews: dict[str, Any]) -> None:
    registered = {r["type"] for doc in example_previews.values() for r in doc["resources"]}
    missing = sorted(t for t in registered if not is_covered(t))
    assert not missing, f"add these types to scripts/gen_replace_table.py and regenerate: {missing}"
    assert {t for t in registered if t.startswith(("rancher2:", "kubernetes:"))} <= covered_types()


# --------------------------------------------------------------------------------------------- diff


def _res(type_: str, name: str, inputs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:s::p::{type_}::{name}",
        "type": type_,
        "name": name,
        "custom": kw.pop("custom", True),
        "inputs": inputs,
        "dependencies": kw.pop("dependencies", []),
        "propertyDependencies": kw.pop("propertyDependencies", {}),
        "provider": kw.pop("provider", None),
    }


def _doc(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"summary": {"project": "p", "stack": "s", "status": "ok"}, "resources": list(resources)}


TOKEN = "rancher2:index/token:Token"
TOKEN_URN = f"urn:pulumi:s::p::{TOKEN}::tok"


def _k8s_world(ttl: int, identifier: str | None) -> dict[str, Any]:
    provider_inputs: dict[str, Any] = {"kubeconfig": "[unknown]"}
    if identifier:
        provider_inputs["clusterIdentifier"] = identifier
    return _doc(
        _res(TOKEN, "tok", {"ttl": ttl, "clusterId": "[unknown]"}),
        _res(
            "pulumi:providers:kubernetes",
            "k8s",
            provider_inputs,
            dependencies=[TOKEN_URN],
            propertyDependencies={"kubeconfig": [TOKEN_URN]},
        ),
        _res(
            "kubernetes:security.istio.io/v1:PeerAuthentication",
            "mtls",
            {"metadata": {"name": "default", "namespace": "istio-system"}},
            provider=f"{K8S_PROVIDER}::k8s-id",
        ),
    )


def test_identical_previews_plan_nothing_even_with_unknowns() -> None:
    doc = _k8s_world(3600, None)
    plan = diff_previews(doc, copy.deepcopy(doc))
    assert plan.summary()["same"] == 3 and not plan.warnings


def test_a_replaced_token_replaces_a_provider_without_cluster_identifier_and_everything_on_it() -> None:
    plan = diff_previews(_k8s_world(3600, None), _k8s_world(7200, None))
    assert plan.find(TOKEN, "tok").op == "replace"
    assert plan.find(TOKEN, "tok").paths == ["ttl"]
    provider = plan.find("pulumi:providers:kubernetes", "k8s")
    assert provider.op == "replace" and provider.paths == ["kubeconfig"]
    peer = plan.find("kubernetes:security.istio.io/v1:PeerAuthentication", "mtls")
    assert peer.op == "replace" and peer.reason.startswith("provider replaced")
    assert any("Kubernetes provider k8s WILL BE REPLACED" in w for w in plan.warnings)


def test_a_stable_cluster_identifier_keeps_the_provider_and_its_objects() -> None:
    plan = diff_previews(_k8s_world(3600, "c-1"), _k8s_world(7200, "c-1"))
    assert plan.find("pulumi:providers:kubernetes", "k8s").op == "update"
    assert plan.find("kubernetes:security.istio.io/v1:PeerAuthentication", "mtls").op == "same"
    changed = diff_previews(_k8s_world(3600, "c-1"), _k8s_world(3600, "c-2"))
    assert changed.find("pulumi:providers:kubernetes", "k8s").op == "replace"
    assert changed.find("pulumi:providers:kubernetes", "k8s").reason == "clusterIdentifier changed"


def test_creates_updates_deletes_and_replacement_paths() -> None:
    app = "rancher2:index/appV2:AppV2"
    old = _doc(
        _res(app, "nv", {"clusterId": "c-1", "name": "neuvector", "chartVersion": "1.0.0"}),
        _res(app, "gone", {"clusterId": "c-1", "name": "gone"}),
        _res(app, "moved", {"clusterId": "c-1", "name": "x", "namespace": "a"}),
    )
    new = _doc(
        _res(app, "nv", {"clusterId": "c-1", "name": "neuvector", "chartVersion": "1.1.0"}),
        _res(app, "moved", {"clusterId": "c-1", "name": "x", "namespace": "b"}),
        _res(app, "fresh", {"clusterId": "c-1", "name": "fresh"}),
    )
    plan = diff_previews(old, new, "old.json")
    assert (plan.find(app, "nv").op, plan.find(app, "nv").paths) == ("update", ["chartVersion"])
    assert (plan.find(app, "moved").op, plan.find(app, "moved").paths) == ("replace", ["namespace"])
    assert plan.find(app, "gone").op == "delete" and plan.find(app, "fresh").op == "create"
    assert any("an add-on app moved" in w and "WILL BE REPLACED" in w for w in plan.warnings)
    assert any("an add-on app gone" in w and "DELETED" in w for w in plan.warnings)
    text = io.StringIO()
    render_plan(plan, text)
    assert "+- replace  rancher2:index/appV2:AppV2  moved  [namespace forces replacement" in text.getvalue()
    assert "Plan: 1 to create, 1 to update, 1 to replace (0 possible), 1 to delete" in text.getvalue()
    assert plan.to_dict()["summary"]["replace"] == 1


def test_an_unknown_replace_forcing_input_from_a_replaced_resource_is_a_possible_replacement() -> None:
    cluster = "rancher2:index/clusterV2:ClusterV2"
    cluster_urn = f"urn:pulumi:s::p::{cluster}::prod"
    app = "rancher2:index/appV2:AppV2"

    def world(name: str) -> dict[str, Any]:
        return _doc(
            _res(cluster, "prod", {"name": name, "kubernetesVersion": "v1"}),
            _res(
                app,
                "nv",
                {"clusterId": "[unknown]", "name": "nv"},
                propertyDependencies={"clusterId": [cluster_urn]},
            ),
        )

    plan = diff_previews(world("prod"), world("prod-2"))
    assert plan.find(cluster, "prod").op == "replace"
    step = plan.find(app, "nv")
    assert step.op == "replace" and step.possible and "unknown in preview" in step.reason
    assert any("the cluster prod" in w and "WILL BE REPLACED" in w for w in plan.warnings)
    assert any("an add-on app nv" in w and "MAY BE REPLACED" in w for w in plan.warnings)


def test_machine_config_updates_warn_that_nodes_roll() -> None:
    mc = "rancher2:index/machineConfigV2:MachineConfigV2"
    old = _doc(_res(mc, "workers", {"generateName": "prod-workers", "vsphereConfig": {"cpuCount": "8"}}))
    new = _doc(_res(mc, "workers", {"generateName": "prod-workers", "vsphereConfig": {"cpuCount": "16"}}))
    plan = diff_previews(old, new)
    assert plan.find(mc, "workers").op == "update"
    assert any("Rancher rolls every node" in w for w in plan.warnings)


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"resources": "x"},
        {"resources": [{"type": "t"}]},
        {"resources": [], "summary": {"status": "error"}},
    ],
)
def test_documents_that_are_not_previews_are_rejected(doc: Any) -> None:
    with pytest.raises(AgainstFileError, match=r"^--against x\.json: "):
        check_document(doc, "--against x.json")


def test_the_committed_table_matches_its_sources() -> None:
    """Where the upstream mirrors exist, the table must be exactly what the script generates."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    from scripts.gen_replace_table import MIRRORS

    names = ("rancher+terraform-provider-rancher2", "pulumi+pulumi-kubernetes")
    mirrors = [MIRRORS / name / "repo" for name in names]
    if not all(m.is_dir() for m in mirrors):
        pytest.skip(f"provider source mirrors are not under {MIRRORS} (set UPSTREAM_MIRRORS)")
    proc = subprocess.run(
        [sys.executable, str(repo / "scripts" / "gen_replace_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
