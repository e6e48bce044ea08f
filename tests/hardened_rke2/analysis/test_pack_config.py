"""Pack config is parsed, reconciled and validated the way the engine does it, before `Configure`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardened_rke2.analysis.errors import PolicyConfigError
from hardened_rke2.analysis.pack_config import PolicyConfig, parse_policy_pack_config, reconcile_config
from hardened_rke2.analysis.session import PolicyPackSession
from hardened_rke2.analysis.testing import analyze_props, cached_session
from hardened_rke2.analysis.wire import LEVELS
from tests.support.mini_pack import DEPLOYMENT, PACK, POD, pod


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
    violations = analyze_props(PACK, POD, pod(privileged=True), config=config)
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
