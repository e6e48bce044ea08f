"""The typed RKE2 config: allow-listed keys per RKE2 version, hardened flags, deterministic rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import components
from components.rke2_config import (
    CIPHER_LIST_FLAGS,
    GUARDED_FLAGS,
    HARDENED_FLAGS,
    STRONG_CIPHER_SUITES,
    Rke2ConfigArgs,
    Rke2Version,
    allow_list,
    hardened_component_flags,
    render,
)
from components.tls import FIPS_CIPHER_SUITES
from tests.support.validation import rejected_at

V133 = "v1.33.5+rke2r1"


def _render(args: Rke2ConfigArgs | None = None, version: str = V133, **kw: Any) -> dict:
    return yaml.safe_load(render(args or Rke2ConfigArgs(), kubernetes_version=version, **kw).global_yaml)


def _flags(config: dict, key: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config[key])


def _messages(args: Rke2ConfigArgs, version: str = V133) -> dict[str, str]:
    return {".".join(map(str, p.path)): p.message + " | " + p.fix for p in args.problems(version)}


# --- allow-list ---------------------------------------------------------------------------------


def test_allow_list_rejects_keys_rancher_drops() -> None:
    al, v = allow_list(), Rke2Version.parse(V133)
    assert al.check("secrets-encryption", v) is not None
    assert al.check("secrets-encryption-provider", v) is not None
    assert al.check("use-service-account-credentials", v) is not None
    assert al.check("profile", v) is None
    assert al.check("kube-apiserver-arg", v) is None
    assert al.check("protect-kernel-defaults", v) is None


@pytest.mark.parametrize(
    ("version", "allowed"),
    [
        ("v1.33.4+rke2r1", False),
        ("v1.33.5+rke2r1", True),
        ("v1.32.8+rke2r1", False),
        ("v1.32.9+rke2r1", True),
        ("v1.31.13+rke2r1", True),
        ("v1.34.1+rke2r1", False),  # not confirmed for 1.34: treated as not passed
    ],
)
def test_write_kubeconfig_mode_is_version_gated(version: str, allowed: bool) -> None:
    assert (allow_list().check("write-kubeconfig-mode", Rke2Version.parse(version)) is None) is allowed
    rendered = _render(version=version)
    assert ("write-kubeconfig-mode" in rendered) is allowed
    if allowed:
        assert rendered["write-kubeconfig-mode"] == "0600"


def test_every_rendered_key_is_allowed_for_the_version() -> None:
    for version in ("v1.30.5+rke2r1", "v1.32.5+rke2r1", V133, "v1.34.1+rke2r1"):
        out = render(
            Rke2ConfigArgs(selinux=True), kubernetes_version=version, system_default_registry="r.example"
        )
        v = Rke2Version.parse(version)
        for key in [*out.global_config, *out.all_nodes_selector_config]:
            assert allow_list().check(key, v) is None, (version, key)


def test_version_must_parse() -> None:
    with pytest.raises(ValueError, match="RKE2 version"):
        Rke2Version.parse("1.33.5")


# --- hardened defaults ------------------------------------------------------------------------------


def test_hardened_defaults_render() -> None:
    cfg = _render()
    assert cfg["profile"] == "cis"
    assert cfg["etcd-expose-metrics"] is False
    assert cfg["cni"] == ["canal"]
    assert "secrets-encryption" not in cfg and "secrets-encryption-provider" not in cfg
    api = _flags(cfg, "kube-apiserver-arg")
    assert api["anonymous-auth"] == "false"
    assert api["authorization-mode"] == "Node,RBAC"
    assert api["tls-min-version"] == "VersionTLS12"
    assert api["tls-cipher-suites"].split(",") == list(STRONG_CIPHER_SUITES)
    assert api["service-account-extend-token-expiration"] == "false"
    assert api["profiling"] == "false"
    kcm = _flags(cfg, "kube-controller-manager-arg")
    assert kcm["bind-address"] == "127.0.0.1"
    assert kcm["use-service-account-credentials"] == "true"
    assert kcm["tls-min-version"] == "VersionTLS12"
    sched = _flags(cfg, "kube-scheduler-arg")
    assert sched["bind-address"] == "127.0.0.1" and sched["tls-min-version"] == "VersionTLS12"
    kubelet = _flags(cfg, "kubelet-arg")
    assert kubelet["read-only-port"] == "0"
    assert kubelet["anonymous-auth"] == "false"
    assert kubelet["authorization-mode"] == "Webhook"
    assert kubelet["streaming-connection-idle-timeout"] == "5m"
    assert kubelet["pod-max-pids"] == "4096"
    assert "selinux" not in cfg


def test_selector_config_always_protects_kernel_defaults() -> None:
    out = render(Rke2ConfigArgs(), kubernetes_version=V133)
    assert yaml.safe_load(out.selector_yaml) == {"protect-kernel-defaults": True}


def test_arg_lists_are_sorted_key_value_and_rendering_is_byte_identical() -> None:
    args = Rke2ConfigArgs(
        extra_args={"kube-apiserver-arg": {"request-timeout": "60s", "audit-webhook-batch-max-size": 5}}
    )
    a = render(args, kubernetes_version=V133).global_yaml
    b = render(
        Rke2ConfigArgs.model_validate(args.model_dump(by_alias=True)), kubernetes_version=V133
    ).global_yaml
    assert a == b
    cfg = yaml.safe_load(a)
    for key in ("kube-apiserver-arg", "kubelet-arg"):
        names = [i.split("=", 1)[0] for i in cfg[key]]
        assert names == sorted(names)
        assert all("=" in i for i in cfg[key])


def test_numbers_are_rendered_as_strings() -> None:
    cfg = _render(Rke2ConfigArgs(extra_args={"kube-apiserver-arg": {"max-requests-inflight": 800}}))
    assert "max-requests-inflight=800" in cfg["kube-apiserver-arg"]
    out = render(
        Rke2ConfigArgs(extra_config={"cluster-dns": "10.43.0.10", "debug": False}), kubernetes_version=V133
    )
    assert out.global_config["debug"] is False
    from components.rke2_config import to_rancher_value

    assert to_rancher_value(5) == "5"
    assert to_rancher_value([1, "a", True]) == ["1", "a", "true"]


def test_selinux_and_registry_and_multus() -> None:
    cfg = _render(
        Rke2ConfigArgs(selinux=True), cni=["multus", "canal"], system_default_registry="reg.example:5000"
    )
    assert cfg["selinux"] is True
    assert cfg["cni"] == ["multus", "canal"]
    assert cfg["system-default-registry"] == "reg.example:5000"


# --- validation -------------------------------------------------------------------------------------


def test_unknown_and_misspelled_keys_are_errors() -> None:
    msgs = _messages(
        Rke2ConfigArgs(extra_config={"clustr-cidr": "10.0.0.0/16", "etcd-snapshot-retention": "5"})
    )
    assert "did you mean 'cluster-cidr'" in msgs["rke2.extraConfig.clustr-cidr"]
    assert "rke2.extraConfig.etcd-snapshot-retention" in msgs
    rejected_at(lambda: Rke2ConfigArgs.model_validate({"protectKernelDefault": True}), "protectKernelDefault")


def test_managed_keys_cannot_be_set_through_extra_config() -> None:
    msgs = _messages(
        Rke2ConfigArgs(
            extra_config={"profile": "cis-1.23", "secrets-encryption": True, "kubelet-arg": ["a=b"]}
        )
    )
    assert set(msgs) == {
        "rke2.extraConfig.profile",
        "rke2.extraConfig.secrets-encryption",
        "rke2.extraConfig.kubelet-arg",
    }


def test_secretbox_is_rejected_because_rancher_does_not_pass_the_key() -> None:
    msgs = _messages(Rke2ConfigArgs(secrets_encryption_provider="secretbox"))
    assert "secrets-encryption-provider" in msgs["rke2.secretsEncryptionProvider"]
    assert Rke2ConfigArgs(secrets_encryption_provider="aescbc").problems(V133) == []


@pytest.mark.parametrize(
    ("arg_key", "flag", "value", "weakening"),
    [
        ("kube-apiserver-arg", "anonymous-auth", "true", "apiserverAnonymousAuth"),
        ("kube-apiserver-arg", "authorization-mode", "AlwaysAllow", "insecureAuthorizationMode"),
        ("kube-apiserver-arg", "authorization-mode", "Node,RBAC,AlwaysAllow", "insecureAuthorizationMode"),
        ("kubelet-arg", "read-only-port", "10255", "kubeletReadOnlyPort"),
        ("kubelet-arg", "anonymous-auth", True, "kubeletAnonymousAuth"),
        ("kube-scheduler-arg", "bind-address", "0.0.0.0", "nonLocalhostBind"),
        (
            "kube-controller-manager-arg",
            "use-service-account-credentials",
            False,
            "sharedControllerCredentials",
        ),
    ],
)
def test_weakening_a_hardened_flag_needs_its_named_setting(
    arg_key: str, flag: str, value: object, weakening: str
) -> None:
    weak = Rke2ConfigArgs.model_validate({"extraArgs": {arg_key: {flag: value}}})
    msgs = _messages(weak)
    assert f"rke2.weakenings.{weakening}: true" in msgs[f"rke2.extraArgs.{arg_key}.{flag}"]
    with pytest.raises(ValueError, match=flag):
        render(weak, kubernetes_version=V133)
    allowed = Rke2ConfigArgs.model_validate(
        {"extraArgs": {arg_key: {flag: value}}, "weakenings": {weakening: True}}
    )
    assert allowed.problems(V133) == []
    expected = "true" if value is True else "false" if value is False else value
    assert _flags(_render(allowed), arg_key)[flag] == expected
    assert weakening in allowed.weakenings.enabled()


def test_stricter_values_and_same_values_need_no_weakening() -> None:
    args = Rke2ConfigArgs(
        extra_args={
            "kube-apiserver-arg": {"authorization-mode": "Node,RBAC,Webhook", "anonymous-auth": "false"},
            "kube-scheduler-arg": {"bind-address": "::1"},
        }
    )
    assert args.problems(V133) == []
    assert _flags(_render(args), "kube-apiserver-arg")["authorization-mode"] == "Node,RBAC,Webhook"


def test_typed_flags_and_bad_flag_names_are_rejected_in_extra_args() -> None:
    msgs = _messages(
        Rke2ConfigArgs(
            extra_args={
                "kube-apiserver-arg": {"tls-min-version": "VersionTLS10", "--x": "1", "audit-log-maxage": "1"}
            }
        )
    )
    assert "rke2.tlsMinVersion" in msgs["rke2.extraArgs.kube-apiserver-arg.tls-min-version"]
    assert "audit.maxAgeDays" in msgs["rke2.extraArgs.kube-apiserver-arg.audit-log-maxage"]
    assert "rke2.extraArgs.kube-apiserver-arg.--x" in msgs


def test_unknown_arg_key_is_rejected() -> None:
    rejected_at(
        lambda: Rke2ConfigArgs.model_validate({"extraArgs": {"kube-apiservr-arg": {"a": "b"}}}),
        "extraArgs",
        "kube-apiservr-arg",
    )


def test_tls_and_timeouts_are_validated() -> None:
    with pytest.raises(ValidationError, match="ECDHE"):
        Rke2ConfigArgs(tls_cipher_suites=("TLS_RSA_WITH_AES_128_CBC_SHA",))
    rejected_at(lambda: Rke2ConfigArgs(tls_cipher_suites=()), "tls_cipher_suites")
    rejected_at(lambda: Rke2ConfigArgs.model_validate({"tlsMinVersion": "VersionTLS11"}), "tlsMinVersion")
    assert (
        _flags(_render(Rke2ConfigArgs(tls_min_version="VersionTLS13")), "kubelet-arg")["tls-min-version"]
        == "VersionTLS13"
    )
    for bad in ("0", "0s", "5 minutes", "5h"):
        rejected_at(
            lambda: Rke2ConfigArgs(streaming_connection_idle_timeout=bad),  # noqa: B023 (called at once)
            "streaming_connection_idle_timeout",
        )
    rejected_at(lambda: Rke2ConfigArgs(pod_max_pids=0), "pod_max_pids")


def test_permissive_kubeconfig_mode_and_etcd_metrics_need_weakenings() -> None:
    msgs = _messages(Rke2ConfigArgs(write_kubeconfig_mode="0644", etcd_expose_metrics=True))
    assert "permissiveKubeconfigMode" in msgs["rke2.writeKubeconfigMode"]
    assert "etcdExposeMetrics" in msgs["rke2.etcdExposeMetrics"]
    ok = Rke2ConfigArgs.model_validate(
        {
            "writeKubeconfigMode": "0640",
            "etcdExposeMetrics": True,
            "weakenings": {"permissiveKubeconfigMode": True, "etcdExposeMetrics": True},
        }
    )
    cfg = _render(ok)
    assert cfg["write-kubeconfig-mode"] == "0640" and cfg["etcd-expose-metrics"] is True
    # stricter than 0600 is fine, but only where Rancher passes the key
    assert Rke2ConfigArgs(write_kubeconfig_mode="0400").problems(V133) == []
    assert "rke2.writeKubeconfigMode" in _messages(
        Rke2ConfigArgs(write_kubeconfig_mode="0400"), "v1.34.1+rke2r1"
    )


@pytest.mark.parametrize("mode", ["0640", "0620", "0610", "0604", "0602", "0601"])
def test_every_group_or_other_bit_of_the_kubeconfig_mode_needs_its_weakening(mode: str) -> None:
    # one bit at a time: a narrower mask than 0o077 (0o007, 0o070) would let one of these through
    msgs = _messages(Rke2ConfigArgs(write_kubeconfig_mode=mode))
    assert "lets group/other read the admin kubeconfig" in msgs["rke2.writeKubeconfigMode"]
    weakened = Rke2ConfigArgs.model_validate(
        {"writeKubeconfigMode": mode, "weakenings": {"permissiveKubeconfigMode": True}}
    )
    assert "rke2.writeKubeconfigMode" not in _messages(weakened)


def test_debug_endpoints_need_their_weakening() -> None:
    for key in ("enable-pprof", "debug"):
        msgs = _messages(Rke2ConfigArgs.model_validate({"extraConfig": {key: True}}))
        assert "debugEndpoints" in msgs[f"rke2.extraConfig.{key}"]
        # turning it off explicitly is not a weakening
        assert f"rke2.extraConfig.{key}" not in _messages(
            Rke2ConfigArgs.model_validate({"extraConfig": {key: False}})
        )
    ok = Rke2ConfigArgs.model_validate(
        {"extraConfig": {"enable-pprof": True}, "weakenings": {"debugEndpoints": True}}
    )
    assert _render(ok)["enable-pprof"] is True


def test_every_hardened_flag_has_a_weakening_field() -> None:
    names = set(Rke2ConfigArgs().weakenings.model_dump(by_alias=True))
    for flags in HARDENED_FLAGS.values():
        for flag in flags.values():
            assert flag.weakening in names
    for guarded in GUARDED_FLAGS.values():
        for _, weakening, _ in guarded.values():
            assert weakening in names


def test_allow_list_data_file_is_well_formed() -> None:
    al = allow_list()
    assert "profile" in al.agent and "kube-apiserver-arg" in al.server
    assert {"secrets-encryption", "secrets-encryption-provider", "use-service-account-credentials"} <= set(
        al.not_passed
    )
    assert not set(al.not_passed) & (al.server | al.agent | set(al.later))
    for key, (role, mins) in al.later.items():
        assert role in ("server", "agent"), key
        for minor, first in mins.items():
            v = Rke2Version.parse(first)
            assert v.minor_key == minor, (key, first)


# --- every problem's wording (mutation testing: docs/mutation-testing.md) ----------------------------
# The reason and the fix are what a user acts on: each names the setting to change or the weakening that
# allows it. One config that trips every check, for a version that passes write-kubeconfig-mode and one
# that does not.

_EVERY_PROBLEM = {
    "secretsEncryptionProvider": "secretbox",
    "writeKubeconfigMode": "0640",
    "etcdExposeMetrics": True,
    "extraConfig": {
        "enable-pprof": True,
        "debug": "false",
        "profile": "cis",
        "kubelet-arg": ["a"],
        "tls-sann": "x",
        "node-taint": [],
        "disable": [],
        "cluster-cidr": "10.0.0.0/16",
    },
    "extraArgs": {
        "kube-apiserver-arg": {
            "--bad": "1",
            "tls-min-version": "x",
            "anonymous-auth": True,
            "disable-admission-plugins": "PodSecurity,Foo",
            "request-timeout": "60s",
            "authorization-mode": "RBAC,Node",
        },
        "etcd-arg": {"client-cert-auth": False, "peer-client-cert-auth": "true"},
    },
}
_WEAKENS = "(reported by the policy pack)"
_EXPECTED_PROBLEMS = {
    "rke2.secretsEncryptionProvider": "'secretbox' cannot be selected through Rancher: Rancher does not pass "
    "'secrets-encryption-provider' to RKE2: ",
    "rke2.writeKubeconfigMode": "0640 lets group/other read the admin kubeconfig"
    " | use '0600' or set rke2.weakenings.permissiveKubeconfigMode: true",
    "rke2.etcdExposeMetrics": "exposes etcd metrics on all interfaces"
    " | set it false, or set rke2.weakenings.etcdExposeMetrics: true",
    "rke2.extraConfig.cluster-cidr": "is managed by the component | use network.clusterCidr",
    "rke2.extraConfig.disable": "empty list | remove the key or give values",
    "rke2.extraConfig.enable-pprof": "serves Go profiling (heap, goroutines, command lines) on the "
    "supervisor port | remove it, or set rke2.weakenings.debugEndpoints: true",
    "rke2.extraConfig.kubelet-arg": "flags go in extraArgs | use rke2.extraArgs.kubelet-arg: {flag: value}",
    "rke2.extraConfig.node-taint": "'node-taint' is not an RKE2 config key that Rancher passes through"
    " | remove it",
    "rke2.extraConfig.profile": "is managed by the component | always 'cis'",
    "rke2.extraConfig.tls-sann": "'tls-sann' is not an RKE2 config key that Rancher passes through"
    " | remove it; did you mean 'tls-san'?",
    "rke2.extraArgs.etcd-arg.client-cert-auth": "'false' turns off etcd client certificate auth"
    f" | remove it, or set rke2.weakenings.etcdCertAuth: true {_WEAKENS}",
    "rke2.extraArgs.kube-apiserver-arg.--bad": "not a flag name"
    " | write the flag without leading dashes, e.g. 'request-timeout'",
    "rke2.extraArgs.kube-apiserver-arg.anonymous-auth": "'true' weakens the hardened value 'false'"
    f" | remove it, or set rke2.weakenings.apiserverAnonymousAuth: true {_WEAKENS}",
    "rke2.extraArgs.kube-apiserver-arg.disable-admission-plugins": "'PodSecurity,Foo' disables "
    "NodeRestriction, PodSecurity or ServiceAccount admission"
    f" | remove it, or set rke2.weakenings.disableAdmissionPlugins: true {_WEAKENS}",
    "rke2.extraArgs.kube-apiserver-arg.tls-min-version": "is set by a typed setting | use rke2.tlsMinVersion",
}


def _problem_lines(args: Rke2ConfigArgs, version: str) -> list[tuple[str, str]]:
    return [(".".join(map(str, p.path)), f"{p.message} | {p.fix}") for p in args.problems(version)]


def test_every_problem_names_its_path_reason_and_fix() -> None:
    args = Rke2ConfigArgs.model_validate(_EVERY_PROBLEM)
    got = _problem_lines(args, V133)
    assert [path for path, _ in got] == list(_EXPECTED_PROBLEMS)  # in this order: a stable report
    for (path, text), expected in zip(got, _EXPECTED_PROBLEMS.values(), strict=True):
        assert text.startswith(expected), path
    secretbox = dict(got)["rke2.secretsEncryptionProvider"]
    assert secretbox.endswith(
        " | keep 'aescbc' (RKE2's FIPS-compatible default; Secrets are encrypted either way)"
    )
    # The same config for a version that does not pass write-kubeconfig-mode: one more problem, after the
    # group/other one, saying why and what to do.
    older = _problem_lines(args, "v1.32.8+rke2r1")
    assert older[2] == (
        "rke2.writeKubeconfigMode",
        "cannot be set for v1.32.8+rke2r1: Rancher passes 'write-kubeconfig-mode' only from RKE2 "
        "v1.32.9+rke2r1 on this minor | leave it at '0600' (RKE2 then writes its default 0600) or pick a "
        "newer RKE2 version",
    )
    assert older[:2] + older[3:] == got


def test_a_weakening_allows_exactly_its_own_flag() -> None:
    allowed = _EVERY_PROBLEM | {
        "weakenings": {
            "permissiveKubeconfigMode": True,
            "etcdExposeMetrics": True,
            "debugEndpoints": True,
            "etcdCertAuth": True,
            "apiserverAnonymousAuth": True,
            "disableAdmissionPlugins": True,
        }
    }
    left = dict(_problem_lines(Rke2ConfigArgs.model_validate(allowed), V133))
    weakened = {
        "rke2.writeKubeconfigMode",
        "rke2.etcdExposeMetrics",
        "rke2.extraConfig.enable-pprof",
        "rke2.extraArgs.etcd-arg.client-cert-auth",
        "rke2.extraArgs.kube-apiserver-arg.anonymous-auth",
        "rke2.extraArgs.kube-apiserver-arg.disable-admission-plugins",
    }
    assert set(left) == set(_EXPECTED_PROBLEMS) - weakened


def test_an_unparsable_version_is_the_only_problem() -> None:
    args = Rke2ConfigArgs.model_validate(_EVERY_PROBLEM)
    assert _problem_lines(args, "1.33") == [
        (
            "kubernetesVersion",
            "'1.33' is not an RKE2 version like 'v1.33.5+rke2r1'"
            " | use an RKE2 release such as 'v1.33.5+rke2r1'",
        )
    ]


def test_authorization_mode_in_another_order_is_still_hardened() -> None:
    for mode in ("RBAC,Node", "Node, RBAC", "Node,RBAC,Webhook"):
        args = Rke2ConfigArgs(extra_args={"kube-apiserver-arg": {"authorization-mode": mode}})
        assert not args.problems(V133), mode
    for mode in ("RBAC", "Node,RBAC,AlwaysAllow"):
        args = Rke2ConfigArgs(extra_args={"kube-apiserver-arg": {"authorization-mode": mode}})
        messages = [p.message for p in args.problems(V133)]
        assert messages == [f"'{mode}' weakens the hardened value 'Node,RBAC'"]


# --- the allow-list data and its messages -----------------------------------------------------------


def test_allow_list_loads_every_section_of_the_data_file() -> None:
    from components.rke2_config import KeyAllowList, allow_list

    raw = json.loads((Path(components.__file__).parent / "data" / "rke2_keys.json").read_text("utf-8"))
    loaded = KeyAllowList.load()
    assert loaded == allow_list()
    assert loaded.base_min_version == Rke2Version.parse(raw["base_min_version"])
    assert loaded.server == frozenset(raw["base"]["server"])
    assert loaded.agent == frozenset(raw["base"]["agent"])
    assert loaded.later == {k: (v["role"], v["min_version_per_minor"]) for k, v in raw["later"].items()}
    assert loaded.not_passed == raw["not_passed"]
    assert loaded.all_keys() == sorted({*raw["base"]["server"], *raw["base"]["agent"], *raw["later"]})


def test_allow_list_reasons_name_the_versions() -> None:
    al = allow_list()
    base = al.base_min_version
    assert al.check("profile", base) is None  # the oldest supported version itself is supported
    older = Rke2Version(base.major, base.minor, base.patch - 1, base.revision)
    oldest = f"v{base.major}.{base.minor}.{base.patch}+rke2r{base.revision}"
    assert al.check("profile", older) == f"RKE2 versions older than {oldest} are not supported"
    mins = al.later["write-kubeconfig-mode"][1]
    confirmed = ", ".join(f"{m}: {v}" for m, v in sorted(mins.items()))
    assert al.check("write-kubeconfig-mode", Rke2Version.parse("v1.34.1+rke2r1")) == (
        "Rancher's allow-list for RKE2 1.34 is not confirmed to include 'write-kubeconfig-mode' "
        f"(confirmed from: {confirmed})"
    )
    assert "1.31: v1.31.13+rke2r1, 1.32: " in confirmed


def test_close_key_suggestions() -> None:
    from components.rke2_config import _close_keys

    assert _close_keys("tls-sann", ["tls-san", "token"]) == "; did you mean 'tls-san'?"
    assert _close_keys("node-nam", ["node-name", "node-named", "node-nameless"]) == (
        "; did you mean 'node-name' or 'node-named'?"
    )
    assert _close_keys("zzzz", ["tls-san"]) == ""


def test_unknown_weakening_name_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="noSuchWeakening"):
        Rke2ConfigArgs().weakenings.allows("noSuchWeakening")


@pytest.mark.parametrize(
    ("timeout", "accepted"),
    [
        ("4h", True),
        ("3h59m60s", True),
        ("1s", True),
        ("4h1s", False),
        ("3h60m1s", False),
        ("239m61s", False),
    ],
)
def test_idle_timeout_counts_hours_minutes_and_seconds(timeout: str, accepted: bool) -> None:
    if accepted:
        assert Rke2ConfigArgs(streaming_connection_idle_timeout=timeout).streaming_connection_idle_timeout
    else:
        with pytest.raises(ValidationError, match="between 1s and 4h"):
            Rke2ConfigArgs(streaming_connection_idle_timeout=timeout)


# --- rendering details ------------------------------------------------------------------------------


def test_dump_yaml_is_sorted_block_style_and_never_wraps() -> None:
    from components.rke2_config import dump_yaml

    long = "a b " * 40
    assert dump_yaml({"z": ["x", "y"], "a": long.strip()}) == f"a: {long.strip()}\nz:\n- x\n- y\n"


def test_extra_args_for_a_component_without_hardened_flags_and_tls_san_render() -> None:
    config = _render(
        Rke2ConfigArgs(tls_san=("api.example.com",), extra_args={"etcd-arg": {"quota-backend-bytes": 8}})
    )
    assert config["etcd-arg"] == ["quota-backend-bytes=8"]
    assert config["tls-san"] == ["api.example.com"]


def test_render_refuses_with_every_problem_and_keys_rancher_would_drop() -> None:
    args = Rke2ConfigArgs(extra_config={"profile": "cis", "cluster-cidr": "10.0.0.0/16"})
    both = r"^rke2\.extraConfig\.cluster-cidr: .*; rke2\.extraConfig\.profile: "
    with pytest.raises(ValueError, match=both):
        render(args, kubernetes_version=V133)
    bogus = {"bogus-key": "x", "other-bogus": "y"}
    with pytest.raises(ValueError, match=r"^keys Rancher would drop: bogus-key: 'bogus-key' is not") as e:
        render(Rke2ConfigArgs(), kubernetes_version=V133, extra_keys=bogus)
    assert "'bogus-key' is not an RKE2 config key that Rancher passes through; other-bogus: " in str(e.value)


def test_to_rancher_value_keeps_strings_and_names_a_bad_type() -> None:
    from components.rke2_config import to_rancher_value

    assert to_rancher_value([1, True, "a"]) == ["1", "true", "a"]
    assert to_rancher_value(("x",)) == ["x"]
    with pytest.raises(TypeError, match=r"bools, numbers or lists, not dict$"):
        to_rancher_value({})


def test_every_arg_key_is_refused_for_a_version_rancher_does_not_support() -> None:
    args = Rke2ConfigArgs(
        extra_args={"kube-apiserver-arg": {"request-timeout": "60s"}, "kubelet-arg": {"--bad": "x"}}
    )
    problems = [p for p in args.problems("v1.29.0+rke2r1") if "extraArgs" in p.path]
    oldest = "RKE2 versions older than v1.30.2+rke2r1 are not supported"
    # One problem per refused arg key, and none for its flags (they would never reach RKE2).
    assert [(p.path, p.message, p.fix) for p in problems] == [
        (("rke2", "extraArgs", "kube-apiserver-arg"), oldest, "remove it"),
        (("rke2", "extraArgs", "kubelet-arg"), oldest, "remove it"),
    ]


def test_known_keys_are_those_of_any_role_or_release() -> None:
    al = allow_list()
    server_only = next(iter(sorted(al.server - al.agent)))
    agent_only = next(iter(sorted(al.agent - al.server)))
    for key in (server_only, agent_only, "write-kubeconfig-mode"):
        assert al.known(key), key
    assert not al.known("tls-sann")


# --- cipher suites and FIPS -------------------------------------------------------------------------


def _validation_messages(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        Rke2ConfigArgs.model_validate(data)
    return [e["msg"] for e in info.value.errors()]


def test_cipher_suite_errors_name_every_bad_suite_and_the_accepted_ones() -> None:
    weak = ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_GCM_SHA384"]
    assert _validation_messages({"tlsCipherSuites": [STRONG_CIPHER_SUITES[0], *weak]}) == [
        "Value error, not ECDHE+AEAD suites: TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_GCM_SHA384; "
        f"use any of {', '.join(STRONG_CIPHER_SUITES)}"
    ]
    assert _validation_messages({"tlsCipherSuites": []}) == [
        "Value error, at least one cipher suite is required"
    ]
    twice = [STRONG_CIPHER_SUITES[0], STRONG_CIPHER_SUITES[1], STRONG_CIPHER_SUITES[0]]
    assert _validation_messages({"tlsCipherSuites": twice}) == ["Value error, duplicate cipher suites"]
    assert _validation_messages({"streamingConnectionIdleTimeout": "5h"}) == [
        "Value error, must be a duration like '5m' between 1s and 4h (0 disables the timeout)"
    ]


def test_cipher_suites_are_the_fips_list_on_a_fips_cluster_unless_the_user_chose_one() -> None:
    default = Rke2ConfigArgs()
    assert default.cipher_suites() == STRONG_CIPHER_SUITES  # not FIPS unless asked
    assert default.cipher_suites(False) == STRONG_CIPHER_SUITES
    assert default.cipher_suites(True) == FIPS_CIPHER_SUITES
    # A chosen list is rendered as chosen, even the default one spelled out: on a FIPS cluster its
    # non-FIPS suites are then a config problem (components.fips), not silently replaced.
    for chosen in (STRONG_CIPHER_SUITES, (FIPS_CIPHER_SUITES[1],)):
        explicit = Rke2ConfigArgs.model_validate({"tlsCipherSuites": list(chosen)})
        assert explicit.cipher_suites(True) == chosen
        assert explicit.cipher_suites(False) == chosen


def test_fips_pins_the_fips_list_on_every_component_etcd_as_a_flow_list() -> None:
    fips_list = ",".join(FIPS_CIPHER_SUITES)
    flags = hardened_component_flags(Rke2ConfigArgs(), fips=True)
    assert {k: flags[k][f] for k, f in CIPHER_LIST_FLAGS.items()} == {
        "kube-apiserver-arg": fips_list,
        "kube-controller-manager-arg": fips_list,
        "kube-scheduler-arg": fips_list,
        "kubelet-arg": fips_list,
        "etcd-arg": f"[{fips_list}]",  # RKE2 reads etcd-arg values as YAML: only a flow list is a list
    }
    assert flags["etcd-arg"] == {"cipher-suites": f"[{fips_list}]"}
    # Without FIPS (the default) etcd keeps RKE2's own list: no etcd-arg at all.
    plain_flags = hardened_component_flags(Rke2ConfigArgs())
    assert "etcd-arg" not in plain_flags
    assert plain_flags["kubelet-arg"]["tls-cipher-suites"] == ",".join(STRONG_CIPHER_SUITES)
    # render passes its fips switch through, and leaves it off by default.
    rendered = _render(fips=True)
    assert rendered["etcd-arg"] == [f"cipher-suites=[{fips_list}]"]
    assert _flags(rendered, "kube-apiserver-arg")["tls-cipher-suites"] == fips_list
    assert "etcd-arg" not in _render()
