"""The analyzer driver speaks the engine's protocol to a pack: config, Remediate, Analyze, AnalyzeStack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardened_rke2.analysis.errors import PolicyConfigError, PolicyPackLoadError, PolicyPackRuntimeError
from hardened_rke2.analysis.pack_config import PolicyConfig, parse_policy_pack_config, reconcile_config
from hardened_rke2.analysis.packs import load_pack
from hardened_rke2.analysis.session import PolicyPackSession
from hardened_rke2.analysis.testing import (
    UNKNOWN,
    analyze_props,
    analyze_resource,
    analyze_stack,
    cached_session,
)
from hardened_rke2.analysis.wire import LEVELS, RESOURCE_SIG, SECRET_SIG, SIG_KEY, engine_wire, parse_duration

PACK = Path(__file__).parent.parent / "fixtures" / "mini_pack"
POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CLUSTER = "rancher2:index/clusterV2:ClusterV2"


def _pod(privileged: bool = False, drop: list[str] | None = None) -> dict:
    sc: dict = {"privileged": privileged}
    if drop is not None:
        sc["capabilities"] = {"drop": drop}
    return {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "x", "securityContext": sc}]},
    }


def _names(violations) -> set[str]:
    return {v.policy_name for v in violations}


# -- metadata and config reconciliation ---------------------------------------------------------------


def test_session_reports_metadata_and_reconciled_defaults() -> None:
    with PolicyPackSession(PACK) as pack:
        assert pack.name == "mini-pack"
        assert pack.version == "1.2.3"  # PulumiPolicy.yaml wins over the SDK's 0.0.1, as in the engine
        info = pack.policy("no-privileged")
        assert info.severity == "critical" and info.tags == ("FIX-1",) and info.policy_type == "resource"
        assert info.framework == {"name": "fixture", "version": "1", "reference": "1.1"}
        assert pack.policy("namespace-network-policy").policy_type == "stack"
        # declared levels: pack default mandatory, policy override advisory
        assert pack.config["no-privileged"].enforcement_level == "mandatory"
        assert pack.config["drop-all-capabilities"].enforcement_level == "advisory"
        # schema default 1 is overridden by the pack's initial_config (level advisory, minReplicas 2)
        assert pack.config["min-replicas"].enforcement_level == "advisory"
        assert pack.config["min-replicas"].properties == {"minReplicas": 2}


def test_all_key_sets_every_level_first_then_per_policy_entries_win() -> None:
    config = {"all": "disabled", "no-privileged": "advisory"}
    with PolicyPackSession(PACK, config=config) as pack:
        levels = {k: v.enforcement_level for k, v in pack.config.items()}
    assert levels["no-privileged"] == "advisory"
    assert levels["min-replicas"] == "disabled"  # user `all` beats the pack's initial_config level
    assert levels["namespace-network-policy"] == "disabled"
    violations = analyze_props(PACK, POD, _pod(privileged=True), config=config)
    assert [(v.policy_name, v.enforcement_level) for v in violations] == [("no-privileged", "advisory")]


def test_all_properties_are_not_copied_to_policies() -> None:
    with PolicyPackSession(PACK, config={"all": {"enforcementLevel": "mandatory", "minReplicas": 5}}) as pack:
        assert pack.config["min-replicas"].properties == {"minReplicas": 2}
        assert pack.config["min-replicas"].enforcement_level == "mandatory"


def test_object_entry_with_level_and_properties() -> None:
    config = {"min-replicas": {"enforcementLevel": "mandatory", "minReplicas": 3}}
    violations = analyze_props(PACK, DEPLOYMENT, {"spec": {"replicas": 2}}, config=config)
    assert [(v.policy_name, v.enforcement_level) for v in violations] == [("min-replicas", "mandatory")]
    # numbers reach the policy as floats, as the engine sends them
    assert "2.0" in violations[0].message and "3" in violations[0].message
    assert analyze_props(PACK, DEPLOYMENT, {"spec": {"replicas": 3}}, config=config) == []


def test_schema_errors_name_policy_and_property() -> None:
    with pytest.raises(PolicyConfigError) as err:
        PolicyPackSession(PACK, config={"min-replicas": {"minReplicas": "three"}})
    assert any(p.startswith("min-replicas.minReplicas:") and "integer" in p for p in err.value.problems)
    with pytest.raises(PolicyConfigError, match=r"min-replicas\.minReplicas: 0 is less than the minimum"):
        PolicyPackSession(PACK, config={"min-replicas": {"minReplicas": 0}})


def test_invalid_levels_and_values_are_rejected() -> None:
    with pytest.raises(PolicyConfigError, match="no-privileged: 'strict' is not a valid enforcement level"):
        parse_policy_pack_config({"no-privileged": "strict"})
    with pytest.raises(PolicyConfigError, match=r"no-privileged\.enforcementLevel"):
        parse_policy_pack_config({"no-privileged": {"enforcementLevel": 1}})
    with pytest.raises(PolicyConfigError, match="must be an enforcement level string or an object"):
        parse_policy_pack_config({"no-privileged": 3})


def test_unknown_policy_names_warn_and_need_a_level() -> None:
    with PolicyPackSession(PACK, config={"no-such-policy": "advisory"}) as pack:
        assert any("no-such-policy" in w for w in pack.config_warnings)
    # the engine refuses to Configure an entry without an enforcement level
    with pytest.raises(PolicyConfigError, match="no-such-policy: no enforcement level"):
        PolicyPackSession(PACK, config={"no-such-policy": {"x": 1}})


# -- Analyze, Remediate, unknowns, options ------------------------------------------------------------


def test_failing_and_passing_resources() -> None:
    failing = analyze_props(PACK, POD, _pod(privileged=True, drop=["ALL"]))
    assert _names(failing) == {"no-privileged"}
    v = failing[0]
    assert v.is_mandatory and v.message == "container app is privileged"
    assert v.description == "Pods must not run privileged containers."
    assert v.resource_type == POD and v.resource_name == "test" and v.pack_name == "mini-pack"
    assert analyze_props(PACK, POD, _pod(privileged=False, drop=["ALL"])) == []


def test_disabled_policies_do_not_run() -> None:
    assert analyze_props(PACK, POD, _pod(privileged=True), config={"all": "disabled"}) == []


def test_remediation_rewrites_inputs_before_analyze() -> None:
    result = analyze_resource(PACK, POD, _pod(), config={"drop-all-capabilities": "remediate"})
    assert result.violations == []  # the remediated inputs pass
    new = result.remediations[next(iter(result.remediations))]
    assert new["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert [r.policy_name for r in result.remediation_records] == ["drop-all-capabilities"]
    # at its declared (advisory) level the remediation does not run, the violation is reported
    plain = analyze_resource(PACK, POD, _pod())
    assert plain.remediations == {} and _names(plain.violations) == {"drop-all-capabilities"}


def test_unknown_values_give_the_preview_advisory_never_a_pass() -> None:
    props = {"spec": {"containers": [{"name": "app", "securityContext": UNKNOWN}]}}
    violations = analyze_props(PACK, POD, props)
    assert _names(violations) == {"no-privileged", "drop-all-capabilities"}
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


# -- wire form ----------------------------------------------------------------------------------------


def test_engine_wire_resolves_references_keeps_secrets_and_unknowns() -> None:
    wire = {
        "ref": {SIG_KEY: RESOURCE_SIG, "urn": "urn:x", "id": "id-1"},
        "component": {SIG_KEY: RESOURCE_SIG, "urn": "urn:comp"},
        "secret": {SIG_KEY: SECRET_SIG, "value": 3},
        "unknown": UNKNOWN,
        "__internal": 1,
        "n": 1,
    }
    out = engine_wire(wire)
    assert out == {
        "ref": "id-1",
        "component": "urn:comp",
        "secret": {SIG_KEY: SECRET_SIG, "value": 3.0},
        "unknown": UNKNOWN,
        "n": 1.0,
    }
    assert "__internal" in engine_wire(wire, skip_internal_keys=False)


def test_parse_duration() -> None:
    assert parse_duration("90m") == 5400.0
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("") == 0.0
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("ten minutes")


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


def test_a_directory_without_pulumipolicy_yaml_is_not_a_pack(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("x = 1\n")
    with pytest.raises(PolicyPackLoadError, match=r"no PulumiPolicy\.yaml"):
        PolicyPackSession(tmp_path)


def test_pack_without_main_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackLoadError, match=r"no __main__\.py"):
        load_pack(tmp_path)
    (tmp_path / "__main__.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(PolicyPackLoadError, match="failed to load: RuntimeError: boom"):
        load_pack(tmp_path)
    (tmp_path / "__main__.py").write_text("x = 1\n")
    with pytest.raises(PolicyPackLoadError, match="never created a PolicyPack"):
        load_pack(tmp_path)


def test_loading_leaves_no_pack_modules_or_paths_behind() -> None:
    import sys

    load_pack(PACK)
    assert "mini_pack_policies" not in sys.modules
    assert str(PACK.resolve()) not in sys.path


@pytest.mark.slow
def test_subprocess_started_like_the_cli_gives_the_same_answers() -> None:
    resources = [
        {"type": POD, "name": "p", "props": _pod(privileged=True)},
        {"type": "kubernetes:core/v1:Namespace", "name": "ns", "props": {"metadata": {"name": "ns"}}},
        {"type": DEPLOYMENT, "name": "d", "props": {"spec": {"replicas": UNKNOWN}}},
    ]
    config = {"drop-all-capabilities": "remediate", "min-replicas": {"minReplicas": 3}}
    from hardened_rke2.analysis.inputs import input_from_dict
    from hardened_rke2.analysis.session import run_analysis

    inputs = [input_from_dict(r) for r in resources]
    with PolicyPackSession(PACK, config=config, mode="subprocess", project="p", stack="s") as remote:
        assert remote.name == "mini-pack" and remote.version == "1.2.3"
        over_grpc = run_analysis([remote], inputs)
    with PolicyPackSession(PACK, config=config) as local:
        in_process = run_analysis([local], inputs)
    assert [v.to_dict() for v in over_grpc.violations] == [v.to_dict() for v in in_process.violations]
    assert over_grpc.remediations == in_process.remediations
    assert {(v.policy_name, v.resource_name) for v in over_grpc.violations} == {
        ("no-privileged", "p"),
        ("min-replicas", "d"),
        ("namespace-network-policy", "ns"),
    }


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_names_or_all = st.sampled_from(
    ["all", "no-privileged", "min-replicas", "drop-all-capabilities", "namespace-network-policy", "x"]
)
_entry = (
    st.sampled_from([*LEVELS, "strict", ""])
    | _json
    | st.fixed_dictionaries(
        {},
        optional={
            "enforcementLevel": st.sampled_from([*LEVELS, "loud"]) | _json,
            "minReplicas": _json,
            "other": _json,
        },
    )
)


@settings(max_examples=200, deadline=None)
@given(config=st.dictionaries(_names_or_all, _entry, max_size=4))
def test_any_user_config_reconciles_or_fails_with_a_config_error(config: dict) -> None:
    session = cached_session(PACK)
    initial = {"min-replicas": PolicyConfig("advisory", {"minReplicas": 2})}
    try:
        result, _ = reconcile_config(session.policies, initial, config)
    except PolicyConfigError as e:
        assert e.problems and all(isinstance(p, str) and ":" in p for p in e.problems)
        return
    assert {p.name for p in session.policies} <= set(result)
    assert all(v.enforcement_level in LEVELS for v in result.values())
    level = config.get("no-privileged")
    if isinstance(level, str):
        assert result["no-privileged"].enforcement_level == level


def test_a_raising_policy_is_a_named_runtime_error() -> None:
    with pytest.raises(
        PolicyPackRuntimeError, match=r"Analyze of urn:.*ConfigMap::cm raised RuntimeError: policy bug"
    ):
        analyze_props(PACK, "kubernetes:core/v1:ConfigMap", {"data": {"crash": "yes"}}, name="cm")
