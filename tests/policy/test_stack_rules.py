"""Stack-level rules: every ClusterV2 has its security add-ons (linked through the resource graph, since
the v1 cluster id is unknown in a first preview), Istio brings a STRICT mesh-wide PeerAuthentication,
and every Fleet workspace has a GitRepoRestriction."""

from __future__ import annotations

from typing import Any

import pytest

from hardened_rke2.analysis.testing import UNKNOWN, analyze_stack
from tests.support.paths import PACK_DIR

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
SYNC = "rancher2:index/clusterSync:ClusterSync"
APP = "rancher2:index/appV2:AppV2"
PA = "kubernetes:security.istio.io/v1:PeerAuthentication"
GITREPO = "kubernetes:fleet.cattle.io/v1alpha1:GitRepo"
RESTRICTION = "kubernetes:fleet.cattle.io/v1alpha1:GitRepoRestriction"
STACK_POLICIES = {"cluster-required-addons", "istio-mesh-strict-mtls", "fleet-workspace-restricted"}


def cluster(name: str, v1_id: str = UNKNOWN) -> list[dict[str, Any]]:
    """A ClusterV2 and its ClusterSync gate, wired the way HardenedCluster wires them."""
    return [
        {
            "type": CLUSTER,
            "name": name,
            "options": {"protect": True},
            "props": {"name": name, "kubernetesVersion": "v1.32.5+rke2r1", "clusterV1Id": v1_id},
        },
        {
            "type": SYNC,
            "name": f"{name}-sync",
            "props": {"clusterId": v1_id},
            "dependencies": [name],
            "propertyDependencies": {"clusterId": [name]},
        },
    ]


def app(
    name: str,
    chart: str,
    cluster_name: str | None,
    *,
    via: str = "sync",
    cluster_id: str = UNKNOWN,
    namespace: str = "cattle-system",
) -> dict[str, Any]:
    """An AppV2; `via` = sync (clusterId from the gate), cluster (clusterId from ClusterV2), deps (only
    depends_on), none (no graph link: only the id can link it)."""
    target = (
        None
        if cluster_name is None
        else (f"{cluster_name}-sync" if via in ("sync", "deps") else cluster_name)
    )
    res: dict[str, Any] = {
        "type": APP,
        "name": name,
        "props": {
            "chartName": chart,
            "clusterId": cluster_id,
            "namespace": namespace,
            "repoName": "rancher-charts",
        },
    }
    if target and via in ("sync", "cluster"):
        res["propertyDependencies"] = {"clusterId": [target]}
        res["dependencies"] = [target]
    elif target and via == "deps":
        res["dependencies"] = [target]
    return res


def addons(cluster_name: str, **kw: Any) -> list[dict[str, Any]]:
    return [
        app(f"{cluster_name}-{c}", c, cluster_name, **kw)
        for c in ("neuvector", "rancher-compliance", "rancher-logging")
    ]


def stack_violations(
    resources: list[dict[str, Any]], config: dict[str, Any] | None = None
) -> dict[str, list[Any]]:
    result = analyze_stack(PACK_DIR, resources, config=config)
    out: dict[str, list[Any]] = {}
    for v in result.violations:
        if v.policy_name in STACK_POLICIES:
            out.setdefault(v.policy_name, []).append(v)
    return out


@pytest.mark.parametrize("via", ["sync", "cluster", "deps"])
def test_cluster_with_all_addons_passes(via: str) -> None:
    assert stack_violations([*cluster("prod"), *addons("prod", via=via)]) == {}


def test_missing_addon_is_reported_on_the_cluster() -> None:
    res = [*cluster("prod"), *[a for a in addons("prod") if a["props"]["chartName"] != "rancher-logging"]]
    got = stack_violations(res)["cluster-required-addons"]
    assert len(got) == 1
    assert got[0].urn.endswith("::prod") and got[0].resource_type == CLUSTER
    assert "audit-log shipping" in got[0].message and "neuvector" not in got[0].message
    assert got[0].enforcement_level == "advisory"


def test_addons_of_one_cluster_do_not_count_for_another() -> None:
    res = [*cluster("a"), *cluster("b"), *addons("a")]
    got = stack_violations(res)["cluster-required-addons"]
    assert [v.resource_name for v in got] == ["b"]


def test_cis_benchmark_chart_satisfies_compliance_on_older_lines() -> None:
    res = [
        *cluster("prod"),
        app("nv", "neuvector", "prod"),
        app("cis", "rancher-cis-benchmark", "prod"),
        app("log", "rancher-logging", "prod"),
    ]
    assert stack_violations(res) == {}


def test_known_ids_link_when_the_graph_does_not() -> None:
    res = [*cluster("prod", v1_id="c-m-abc123"), *addons("prod", via="none", cluster_id="c-m-abc123")]
    assert stack_violations(res) == {}
    other = [*cluster("prod", v1_id="c-m-abc123"), *addons("prod", via="none", cluster_id="c-m-zzz")]
    assert "cluster-required-addons" in stack_violations(other)


def test_required_addons_and_level_are_configurable() -> None:
    res = [*cluster("prod"), app("nv", "neuvector", "prod")]
    cfg = {
        "cluster-required-addons": {
            "enforcementLevel": "mandatory",
            "requiredAddons": {"threat detection": ["neuvector"]},
        }
    }
    assert stack_violations(res, cfg) == {}
    cfg = {
        "cluster-required-addons": {
            "enforcementLevel": "mandatory",
            "requiredAddons": {"monitoring": ["rancher-monitoring"]},
        }
    }
    got = stack_violations(res, cfg)["cluster-required-addons"]
    assert got[0].enforcement_level == "mandatory" and "monitoring" in got[0].message


def mesh_pa(mode: str = "STRICT", namespace: str = "istio-system", **spec: Any) -> dict[str, Any]:
    return {
        "type": PA,
        "name": f"pa-{namespace}-{mode}",
        "props": {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": namespace},
            "spec": {"mtls": {"mode": mode}, **spec},
        },
    }


def test_istio_with_strict_mesh_policy_passes() -> None:
    res = [
        *cluster("prod"),
        *addons("prod"),
        app("istiod", "istiod", "prod", namespace="istio-system"),
        mesh_pa(),
    ]
    assert stack_violations(res) == {}


@pytest.mark.parametrize(
    "pas",
    [
        [],
        [mesh_pa("PERMISSIVE")],
        [mesh_pa(namespace="team-a")],
        [mesh_pa(selector={"matchLabels": {"app": "x"}})],
    ],
)
def test_istio_without_strict_mesh_policy_fails(pas: list[dict[str, Any]]) -> None:
    res = [*cluster("prod"), *addons("prod"), app("istiod", "istiod", "prod", namespace="istio-system"), *pas]
    got = stack_violations(res)["istio-mesh-strict-mtls"]
    assert len(got) == 1 and got[0].resource_name == "istiod" and got[0].enforcement_level == "mandatory"


def test_each_mesh_needs_its_own_strict_policy() -> None:
    res = [
        *cluster("a"),
        *addons("a"),
        *cluster("b"),
        *addons("b"),
        app("istiod-a", "istiod", "a"),
        app("istiod-b", "istiod", "b"),
        mesh_pa(),
    ]
    assert len(stack_violations(res)["istio-mesh-strict-mtls"]) == 2
    res.append({**mesh_pa(), "name": "pa-b"})
    assert stack_violations(res) == {}


def test_no_istio_no_requirement() -> None:
    assert stack_violations([*cluster("prod"), *addons("prod")]) == {}


def gitrepo(name: str, namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "type": GITREPO,
        "name": name,
        "props": {
            "apiVersion": "fleet.cattle.io/v1alpha1",
            "kind": "GitRepo",
            "metadata": meta,
            "spec": {
                "repo": "https://git.example.com/a.git",
                "revision": "abc",
                "serviceAccount": "deployer",
            },
        },
    }


def restriction(namespace: str) -> dict[str, Any]:
    return {
        "type": RESTRICTION,
        "name": f"restrict-{namespace}",
        "props": {
            "metadata": {"name": "r", "namespace": namespace},
            "allowedRepoPatterns": ["^https://.*"],
            "defaultServiceAccount": "deployer",
        },
    }


def test_workspace_restrictions() -> None:
    assert stack_violations([gitrepo("apps", "fleet-default"), restriction("fleet-default")]) == {}
    got = stack_violations(
        [gitrepo("apps", "fleet-default"), gitrepo("t", "team-a"), restriction("fleet-default")]
    )
    assert [v.resource_name for v in got["fleet-workspace-restricted"]] == ["t"]
    assert got["fleet-workspace-restricted"][0].enforcement_level == "advisory"


def test_garbage_in_stack_resources_never_crashes() -> None:
    res: list[dict[str, Any]] = [
        *cluster("prod"),
        {"type": APP, "name": "weird", "props": {"chartName": ["istiod"], "clusterId": {"a": 1}}},
        {"type": APP, "name": "weird2", "props": {"chartName": None}},
        {"type": PA, "name": "pa", "props": {"metadata": ["x"], "spec": "STRICT"}},
        {"type": GITREPO, "name": "g", "props": {"metadata": {"namespace": 5.0}}},
        {"type": RESTRICTION, "name": "r", "props": {"metadata": None}},
        {"type": CLUSTER, "name": "odd", "props": {"clusterV1Id": ["x"]}},
    ]
    got = stack_violations(res, {"cluster-required-addons": {"requiredAddons": {"x": ["neuvector"]}}})
    messages = [v.message for vs in got.values() for v in vs]
    assert not [m for m in messages if "could not evaluate" in m], messages
    assert {v.resource_name for v in got["cluster-required-addons"]} == {"prod", "odd"}


# --- cluster-psa-template-defined (issue 15) ---------------------------------------------------------

PSACT = "rancher2:index/podSecurityAdmissionConfigurationTemplate:PodSecurityAdmissionConfigurationTemplate"


def _psa_findings(template: str, defined: list[str]) -> list[str]:
    resources = cluster("c1")
    resources[0]["props"]["defaultPodSecurityAdmissionConfigurationTemplateName"] = template
    for name in defined:
        resources.append(
            {
                "type": PSACT,
                "name": f"{name}-psa",
                "props": {"name": name, "defaults": {"enforce": "restricted"}},
            }
        )
    result = analyze_stack(PACK_DIR, resources)
    return [v.message for v in result.violations if v.policy_name == "cluster-psa-template-defined"]


def test_psa_template_not_defined_in_the_stack_is_reported() -> None:
    found = _psa_findings("team-lenient", [])
    assert len(found) == 1 and "'team-lenient', a template this stack does not define" in found[0]


@pytest.mark.parametrize(
    ("template", "defined"),
    [("rancher-restricted", []), ("hardened", ["hardened"]), ("rancher-privileged", [])],
)
def test_psa_template_restricted_or_defined_passes(template: str, defined: list[str]) -> None:
    assert _psa_findings(template, defined) == []


def test_missing_addons_are_listed_in_one_order_whatever_the_config_mapping_order() -> None:
    # The real engine builds the Configure request from a Go map (pulumi/pulumi
    # pkg/resource/plugin/analyzer_plugin.go), so the mapping's order differs from run to run; the message
    # must not (CI compares reports across runs).
    required = {"zeta": ["chart-z"], "alpha": ["chart-a"], "mid": ["chart-m"]}
    messages = set()
    for order in (list(required), list(reversed(required))):
        cfg = {"cluster-required-addons": {"requiredAddons": {k: required[k] for k in order}}}
        (v,) = stack_violations(cluster("prod"), cfg)["cluster-required-addons"]
        messages.add(v.message)
    (message,) = messages
    assert message.index("alpha") < message.index("mid") < message.index("zeta")
