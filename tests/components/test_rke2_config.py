"""The typed RKE2 config: allow-listed keys per RKE2 version, hardened flags, deterministic rendering."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components.rke2_config import (
    GUARDED_FLAGS,
    HARDENED_FLAGS,
    STRONG_CIPHER_SUITES,
    Rke2ConfigArgs,
    Rke2Version,
    allow_list,
    render,
)
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
