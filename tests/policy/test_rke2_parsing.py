"""The pure readers behind the Rancher/RKE2 policies: config layers, `*-arg` lists, CNI, versions,
audit policies and Helm values, including the malformed inputs a policy must survive."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from nsa_cisa import rke2_parsing as rp


def test_layers_parse_global_then_selectors_in_order() -> None:
    rke = {
        "machineGlobalConfig": yaml.safe_dump({"cni": "canal", "profile": "cis"}),
        "machineSelectorConfigs": [
            {"config": yaml.safe_dump({"protect-kernel-defaults": True})},
            {
                "config": "kubelet-arg: [read-only-port=0]\n",
                "machineLabelSelector": {"matchLabels": {"a": "b"}},
            },
        ],
    }
    got = rp.layers(rke)
    assert [layer.where for layer in got] == [
        "machineGlobalConfig",
        "machineSelectorConfigs[0].config",
        "machineSelectorConfigs[1].config",
    ]
    assert got[0].get("profile") == "cis"
    assert got[1].get("protect-kernel-defaults") is True
    assert rp.selector_matches_all(got[1].selector)
    assert not rp.selector_matches_all(got[2].selector)


@pytest.mark.parametrize(
    ("text", "error_part"),
    [("a: [", "not valid YAML"), ("- a\n- b\n", "must be a YAML mapping"), (42.0, "not a YAML string")],
)
def test_unreadable_config_is_reported_not_raised(text: object, error_part: str) -> None:
    layer = rp.parse_config_yaml(text, "machineGlobalConfig")
    assert layer.error is not None and error_part in layer.error
    assert dict(layer.data) == {}


def test_empty_and_absent_configs_are_empty_layers() -> None:
    for text in (None, "", "  \n", "# only a comment\n"):
        layer = rp.parse_config_yaml(text, "machineGlobalConfig")
        assert layer.error is None and dict(layer.data) == {}
    assert [lay.where for lay in rp.layers(None)] == ["machineGlobalConfig"]


def test_arg_list_parsing_last_wins_dashes_and_bare_flags() -> None:
    args = rp.parse_arg_list(
        ["--anonymous-auth=false", "authorization-mode=Node,RBAC", "profiling", "x=1", "x=2"]
    )
    assert args.get("anonymous-auth") == "false"
    assert args.get("authorization-mode") == "Node,RBAC"
    assert args.get("profiling") == "true"
    assert args.get("x") == "2"
    assert rp.parse_arg_list("read-only-port=0").get("read-only-port") == "0"
    assert rp.parse_arg_list({"a": 1}).malformed
    assert rp.parse_arg_list([None, "=x"]).malformed == ("None", "=x")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (None, True),
        ("canal", True),
        ("calico", True),
        ("cilium", True),
        (["multus", "canal"], True),
        ("multus,cilium", True),
        ("flannel", False),
        ("none", False),
        (["multus"], False),
        (["flannel", "canal"], False),
        (42.0, False),
    ],
)
def test_cni_enforcement(value: object, ok: bool) -> None:
    assert (rp.cni_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("have", "floor", "below"),
    [
        ("v1.32.5+rke2r1", "v1.32", False),
        ("v1.31.9+rke2r1", "v1.32", True),
        ("v1.33.0+rke2r2", "1.32", False),
        ("v1.32.1+rke2r1", "v1.32.3", True),
        ("v1.32.3+rke2r1", "v1.32.3", False),
        ("v1.100.0", "v1.32", False),
        ("latest", "v1.32", None),
        (None, "v1.32", None),
    ],
)
def test_version_floor(have: object, floor: str, below: bool | None) -> None:
    assert rp.version_below(have, floor) is below


def test_weak_ciphers_and_tls_versions() -> None:
    strong = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
    assert rp.weak_cipher_suites(strong) == []
    assert rp.weak_cipher_suites("TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA") == [
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    ]
    cbc = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
    assert rp.weak_cipher_suites(cbc) == [cbc]
    assert rp.is_weak_tls_version("VersionTLS11") and not rp.is_weak_tls_version("VersionTLS12")


GOOD_AUDIT = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "resources": [{"group": "", "resources": ["secrets", "configmaps"]}]},
        {"level": "RequestResponse"},
    ],
}


def test_good_audit_policy_passes() -> None:
    assert rp.audit_policy_problems(GOOD_AUDIT) == []


@pytest.mark.parametrize(
    ("policy", "part"),
    [
        ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None"}]}, "level None"),
        ({"kind": "Policy", "rules": []}, "no rules"),
        ({"kind": "Policy"}, "no rules"),
        ({"kind": "Policy", "rules": [{"level": "RequestResponse"}]}, "logs secrets at RequestResponse"),
        (
            {
                "kind": "Policy",
                "rules": [
                    {"level": "Request", "resources": [{"group": "", "resources": ["*"]}]},
                ],
            },
            "logs secrets at Request",
        ),
        ({"kind": "Policy", "rules": [{"level": "Loud"}]}, "is not one of"),
        ({"kind": "ConfigMap"}, "expected Policy"),
        ("rules: []", "not a YAML mapping"),
    ],
)
def test_weak_audit_policies_fail(policy: object, part: str) -> None:
    problems = rp.audit_policy_problems(policy)
    assert any(part in p for p in problems), problems


def test_audit_policy_first_matching_rule_wins() -> None:
    # Secrets are caught by the Metadata rule first; the later catch-all at RequestResponse is fine.
    assert rp.audit_policy_problems(GOOD_AUDIT) == []
    # A rule for another API group does not cover core Secrets.
    other_group = {
        "kind": "Policy",
        "rules": [
            {"level": "RequestResponse", "resources": [{"group": "apps", "resources": ["*"]}]},
            {"level": "Metadata"},
        ],
    }
    assert rp.audit_policy_problems(other_group) == []


def test_inline_audit_policy_vs_path() -> None:
    assert rp.load_inline_audit_policy("/etc/rancher/rke2/audit-policy.yaml") == (None, None)
    parsed, err = rp.load_inline_audit_policy(yaml.safe_dump(GOOD_AUDIT))
    assert err is None and parsed["kind"] == "Policy"
    assert rp.load_inline_audit_policy(GOOD_AUDIT)[0] is GOOD_AUDIT
    assert rp.load_inline_audit_policy("")[1] == "audit-policy-file is empty"
    assert rp.load_inline_audit_policy("kind: [\n")[1] is not None


def test_values_and_dig() -> None:
    vals, err = rp.load_values("auditLog:\n  enabled: true\n  level: 2\n")
    assert err is None and rp.dig(vals, "auditLog.level") == 2
    assert rp.load_values({"replicas": 3.0})[0]["replicas"] == 3.0
    assert rp.load_values(None) == ({}, None)
    assert rp.load_values("a: [")[1] == "values are not valid YAML"
    assert rp.load_values("- 1\n")[1] == "values are not a YAML mapping"
    assert rp.dig({"a": [{"b": 1}]}, "a.0.b") == 1
    assert rp.dig({"a": 1}, "a.b", "d") == "d"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3.0, 3), ("30", 30), (" 7 ", 7), (2.5, None), ("x", None), (True, None), (None, None)],
)
def test_as_int(value: object, expected: int | None) -> None:
    assert rp.as_int(value) == expected


def test_as_bool_and_text() -> None:
    assert rp.as_bool("TRUE") is True and rp.as_bool(False) is False and rp.as_bool("maybe") is None
    assert rp.as_text(True) == "true" and rp.as_text(30.0) == "30" and rp.as_text([1]) is None


_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_readers_never_raise_on_garbage(value: object) -> None:
    rp.layers(value)
    rp.layers({"machineGlobalConfig": value, "machineSelectorConfigs": value})
    rp.parse_arg_list(value)
    rp.cni_problem(value)
    rp.version_below(value, "v1.32")
    rp.audit_policy_problems(value)
    rp.load_inline_audit_policy(value)
    rp.load_values(value)
    rp.dig(value, "a.0.b")
