"""The session speaks the engine's protocol to a pack: Remediate, Analyze, AnalyzeStack, in its order."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import pytest

from hardened_rke2.analysis.errors import PolicyConfigError, PolicyPackRuntimeError
from hardened_rke2.analysis.packs import InProcessTransport
from hardened_rke2.analysis.session import PolicyPackSession
from hardened_rke2.analysis.testing import (
    UNKNOWN,
    analyze_props,
    analyze_resource,
    analyze_stack,
    cached_session,
)
from tests.support.mini_pack import CLUSTER, PACK, POD, pod, policy_names


def test_failing_and_passing_resources() -> None:
    failing = analyze_props(PACK, POD, pod(privileged=True, drop=["ALL"]))
    assert policy_names(failing) == {"no-privileged"}
    v = failing[0]
    assert v.is_mandatory and v.message == "container app is privileged"
    assert v.description == "Pods must not run privileged containers."
    assert v.resource_type == POD and v.resource_name == "test" and v.pack_name == "mini-pack"
    assert analyze_props(PACK, POD, pod(privileged=False, drop=["ALL"])) == []


def test_disabled_policies_do_not_run() -> None:
    assert analyze_props(PACK, POD, pod(privileged=True), config={"all": "disabled"}) == []


def test_remediation_rewrites_inputs_before_analyze() -> None:
    result = analyze_resource(PACK, POD, pod(), config={"drop-all-capabilities": "remediate"})
    assert result.violations == []  # the remediated inputs pass
    new = result.remediations[next(iter(result.remediations))]
    assert new["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert [r.policy_name for r in result.remediation_records] == ["drop-all-capabilities"]
    # at its declared (advisory) level the remediation does not run, the violation is reported
    plain = analyze_resource(PACK, POD, pod())
    assert plain.remediations == {} and policy_names(plain.violations) == {"drop-all-capabilities"}


def test_unknown_values_give_the_preview_advisory_never_a_pass() -> None:
    props = {"spec": {"containers": [{"name": "app", "securityContext": UNKNOWN}]}}
    violations = analyze_props(PACK, POD, props)
    assert policy_names(violations) == {"no-privileged", "drop-all-capabilities"}
    for v in violations:
        assert v.enforcement_level == "advisory" and v.is_preview_unknown
        assert "can't be known during preview" in v.message


def test_resource_options_reach_the_policy() -> None:
    [v] = analyze_props(PACK, CLUSTER, {"name": "c"}, name="c")
    assert v.policy_name == "protected-cluster" and v.urn.endswith(f"{CLUSTER}::c") and v.resource_name == "c"
    assert analyze_props(PACK, CLUSTER, {"name": "c"}, options={"protect": True}) == []


def test_stack_policies_see_all_resources() -> None:
    ns = {"type": "kubernetes:core/v1:Namespace", "name": "team", "props": {"metadata": {"name": "team"}}}
    netpol = {
        "type": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "name": "deny",
        "props": {"metadata": {"namespace": "team"}},
        "parent": "team",
    }
    failing = analyze_stack(PACK, [ns])
    assert [(v.policy_name, v.resource_name, v.phase) for v in failing.violations] == [
        ("namespace-network-policy", "team", "analyze-stack")
    ]
    assert failing.has_mandatory
    assert analyze_stack(PACK, [ns, netpol]).violations == []


def test_cached_sessions_are_reused_per_pack_and_config() -> None:
    assert cached_session(PACK) is cached_session(PACK)
    assert cached_session(PACK) is not cached_session(PACK, {"all": "advisory"})


def test_a_captured_program_is_analyzed_with_components_and_stack(mock_run) -> None:
    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Team", "team")
        ns = k8s.core.v1.Namespace(
            "team-ns", metadata={"name": "team"}, opts=pulumi.ResourceOptions(parent=parent)
        )
        container = {
            "name": "app",
            "image": "x",
            "securityContext": {"privileged": True, "capabilities": {"drop": ["ALL"]}},
        }
        metadata: Any = {"namespace": ns.metadata.name}
        spec: Any = {"containers": [container]}
        k8s.core.v1.Pod(
            "pod",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        rancher2.ClusterV2(
            "c", name="c", kubernetes_version="v1.33.5+rke2r1", opts=pulumi.ResourceOptions(protect=True)
        )
        pulumi.export("token", pulumi.Output.secret("t"))

    run = mock_run(program)
    with PolicyPackSession(PACK) as pack:
        result = pack.analyze(run.resources, stack_outputs=run.stack_outputs)
    assert result.resources_analyzed == len(run.resources)
    assert {r.type for r in run.resources} >= {"pulumi:pulumi:Stack", "test:index:Team"}
    found = {(v.policy_name, v.resource_name) for v in result.violations}
    assert found == {("no-privileged", "pod"), ("namespace-network-policy", "team-ns")}


def test_a_raising_policy_is_a_named_runtime_error() -> None:
    with pytest.raises(
        PolicyPackRuntimeError, match=r"Analyze of urn:.*ConfigMap::cm raised RuntimeError: policy bug"
    ):
        analyze_props(PACK, "kubernetes:core/v1:ConfigMap", {"data": {"crash": "yes"}}, name="cm")


def _analyzer_info_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = InProcessTransport.call

    def counting(self: InProcessTransport, method: str, request: Any) -> Any:
        calls.append(method)
        return original(self, method, request)

    monkeypatch.setattr(InProcessTransport, "call", counting)
    return calls


def test_a_pack_started_again_is_described_once_and_configured_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _analyzer_info_calls(monkeypatch)
    with PolicyPackSession(PACK, {"all": "advisory"}) as first:
        pass
    with PolicyPackSession(PACK, {"all": "advisory"}) as second:
        pass
    # GetAnalyzerInfo depends only on PolicyPack(...)'s arguments; Configure carries each session's config.
    assert calls.count("GetAnalyzerInfo") <= 1 and calls.count("Configure") == 2
    assert (second.name, second.version, second.policies) == (first.name, first.version, first.policies)
    assert second.config == first.config and second.config is not first.config


def test_the_remembered_config_is_per_config_and_errors_are_never_remembered() -> None:
    with PolicyPackSession(PACK, {"all": "advisory"}) as advisory, PolicyPackSession(PACK) as default:
        assert {c.enforcement_level for c in advisory.config.values()} == {"advisory"}
        assert advisory.config != default.config
    bad = {"min-replicas": {"enforcementLevel": "mandatory", "minReplicas": 0}}
    for _ in range(2):  # the second start validates again and fails the same way
        with pytest.raises(PolicyConfigError, match=r"min-replicas\.minReplicas: 0 is less than the minimum"):
            PolicyPackSession(PACK, bad)
    with PolicyPackSession(PACK, {"min-replicas": {"minReplicas": 3}}) as three:
        assert three.config["min-replicas"].properties == {"minReplicas": 3}
