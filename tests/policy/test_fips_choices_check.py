"""`rke2-fips-choices` called directly, `(props, config) -> messages`, one non-FIPS choice at a time, every
message pinned (issue 18: fast enough to run per mutant; tests/policy/test_fips.py drives the same policy
through the pack from the ClusterV2 the `fips` example stack registers)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from nsa_cisa import rancher_cluster as rc

from tests.support.rancher_clusters import GLOBAL, good_cluster

FIPS = ",".join(rc.FIPS_CIPHER_SUITES)
CHACHA = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
GLOBAL_AT = "machineGlobalConfig"


def fips_global(**changes: Any) -> dict[str, Any]:
    """The hardened global config with FIPS choices: canal, aescbc, the FIPS list on all five components."""
    cfg: dict[str, Any] = {**GLOBAL, "secrets-encryption-provider": "aescbc"}
    for key, flag in rc.FIPS_CIPHER_FLAGS:
        value = f"[{FIPS}]" if key == "etcd-arg" else FIPS
        kept = [a for a in cfg.get(key, []) if not a.startswith(f"{flag}=")]
        cfg[key] = [*kept, f"{flag}={value}"]
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    return cfg


def fips_cluster(cfg: dict[str, Any] | None = None, **props: Any) -> dict[str, Any]:
    cluster = good_cluster()
    cluster["labels"] = {rc.FIPS_LABEL: "true"}
    cluster["rkeConfig"]["machineGlobalConfig"] = yaml.safe_dump(cfg or fips_global(), sort_keys=True)
    cluster.update(props)
    return cluster


def check(props: dict[str, Any]) -> list[str]:
    return rc.check_fips_choices(props, {})


def where(layer: str = GLOBAL_AT) -> str:
    """How the pack names the config layer a finding is in."""
    (message,) = check(fips_cluster(fips_global(cni="calico")))
    return message.split(": cni", 1)[0] if layer == GLOBAL_AT else layer


def test_a_cluster_making_only_fips_choices_passes() -> None:
    assert check(fips_cluster()) == []


@pytest.mark.parametrize("labels", [None, {}, {rc.FIPS_LABEL: "false"}, {rc.FIPS_LABEL: "True "}, "fips"])
def test_a_cluster_not_labelled_fips_is_not_judged(labels: Any) -> None:
    props = fips_cluster(fips_global(cni="calico"), kubernetesVersion="v1.32.5+k3s1", labels=labels)
    assert check(props) == []


@pytest.mark.parametrize(
    ("version", "shown"), [("v1.32.5+k3s1", "'v1.32.5+k3s1'"), (None, "None"), (132, "132")]
)
def test_only_an_rke2_release_is_fips(version: Any, shown: str) -> None:
    assert check(fips_cluster(kubernetesVersion=version)) == [
        f"kubernetesVersion {shown} is not an RKE2 release: RKE2's FIPS enablement covers RKE2 builds only"
    ]


@pytest.mark.parametrize(
    ("cni", "shown"),
    [("calico", "calico"), ("canal,multus", "multus"), (["multus", "canal"], "multus"), ("", "''")],
)
def test_only_canal_is_rebuilt_for_fips(cni: Any, shown: str) -> None:
    (message,) = check(fips_cluster(fips_global(cni=cni)))
    assert message.endswith(f": cni {shown}: only canal is rebuilt for FIPS")
    assert message.startswith(where())


def test_canal_alone_in_any_spelling_passes() -> None:
    assert check(fips_cluster(fips_global(cni=["canal"]))) == []


@pytest.mark.parametrize(("provider", "shown"), [("secretbox", "'secretbox'"), ("identity", "'identity'")])
def test_only_aescbc_encrypts_secrets_for_fips(provider: str, shown: str) -> None:
    assert check(fips_cluster(fips_global(**{"secrets-encryption-provider": provider}))) == [
        f"{where()}: secrets-encryption-provider {shown}: FIPS 140 compliance is only available with aescbc"
    ]


@pytest.mark.parametrize(("key", "flag"), rc.FIPS_CIPHER_FLAGS)
def test_a_component_without_its_argument_list_offers_go_s_default_suites(key: str, flag: str) -> None:
    assert check(fips_cluster(fips_global(**{key: None}))) == [
        f"{key} does not set {flag}: the component offers Go's default suites, which include the non-FIPS "
        "ChaCha20-Poly1305 ones"
    ]


@pytest.mark.parametrize(("key", "flag"), rc.FIPS_CIPHER_FLAGS)
def test_a_component_whose_arguments_do_not_set_the_list_is_reported(key: str, flag: str) -> None:
    assert check(fips_cluster(fips_global(**{key: ["v=2"]}))) == [
        f"{where()} {key}: {flag} is not set (Go's default list has non-FIPS suites)"
    ]


@pytest.mark.parametrize(("key", "flag"), rc.FIPS_CIPHER_FLAGS)
def test_a_non_fips_suite_in_any_component_s_list_is_named(key: str, flag: str) -> None:
    listed = f"[{FIPS},{CHACHA}]" if key == "etcd-arg" else f"{FIPS},{CHACHA}"
    assert check(fips_cluster(fips_global(**{key: [f"{flag}={listed}"]}))) == [
        f"{where()} {key} {flag}: not FIPS-approved: {CHACHA}"
    ]


def test_several_non_fips_suites_are_all_named_in_order() -> None:
    weak = "TLS_RSA_WITH_AES_128_GCM_SHA256"
    cfg = fips_global(**{"kubelet-arg": [f"tls-cipher-suites={CHACHA},{rc.FIPS_CIPHER_SUITES[0]},{weak}"]})
    assert check(fips_cluster(cfg)) == [
        f"{where()} kubelet-arg tls-cipher-suites: not FIPS-approved: {CHACHA}, {weak}"
    ]


@pytest.mark.parametrize("value", ["[]", "", " , "])
def test_an_empty_list_is_not_a_fips_list(value: str) -> None:
    assert check(fips_cluster(fips_global(**{"etcd-arg": [f"cipher-suites={value}"]}))) == [
        f"{where()} etcd-arg cipher-suites: not FIPS-approved: empty list"
    ]


def test_quoted_items_of_etcd_s_flow_list_are_read_as_suites() -> None:
    quoted = ",".join(f"'{s}'" for s in rc.FIPS_CIPHER_SUITES[:2]) + f', "{rc.FIPS_CIPHER_SUITES[2]}" '
    assert check(fips_cluster(fips_global(**{"etcd-arg": [f"cipher-suites=[{quoted}]"]}))) == []


def test_a_selector_layer_is_judged_too_and_named() -> None:
    props = fips_cluster()
    layer = {"kube-apiserver-arg": [f"tls-cipher-suites={CHACHA}"], "cni": "cilium"}
    props["rkeConfig"]["machineSelectorConfigs"] = [{"config": yaml.safe_dump(layer)}]
    messages = check(props)
    assert len(messages) == 2
    assert messages[0].endswith(": cni cilium: only canal is rebuilt for FIPS")
    assert messages[1].endswith(f" kube-apiserver-arg tls-cipher-suites: not FIPS-approved: {CHACHA}")
    assert not messages[0].startswith(where()) and not messages[1].startswith(where())


def test_every_choice_wrong_at_once_gives_one_message_each_in_a_stable_order() -> None:
    cfg = fips_global(cni="calico", **{"secrets-encryption-provider": "secretbox", "etcd-arg": None})
    messages = check(fips_cluster(cfg, kubernetesVersion="v1.32.5+k3s1"))
    assert [m.split(":")[0] for m in messages] == [
        "kubernetesVersion 'v1.32.5+k3s1' is not an RKE2 release",
        where(),
        where(),
        "etcd-arg does not set cipher-suites",
    ]


def test_every_non_canal_cni_is_named() -> None:
    (message,) = check(fips_cluster(fips_global(cni="calico,multus")))
    assert message == f"{where()}: cni calico, multus: only canal is rebuilt for FIPS"


def test_a_misspelt_suite_is_not_approved() -> None:
    misspelt = rc.FIPS_CIPHER_SUITES[0] + "X"  # only quotes and the flow list's brackets are stripped
    assert check(fips_cluster(fips_global(**{"kubelet-arg": [f"tls-cipher-suites={misspelt}"]}))) == [
        f"{where()} kubelet-arg tls-cipher-suites: not FIPS-approved: {misspelt}"
    ]


def test_a_layer_without_the_list_does_not_hide_a_later_layer_s_list() -> None:
    props = fips_cluster(fips_global(**{"kube-apiserver-arg": ["v=2"]}))
    layer = {"kube-apiserver-arg": [f"tls-cipher-suites={CHACHA}"]}
    props["rkeConfig"]["machineSelectorConfigs"] = [{"config": yaml.safe_dump(layer)}]
    messages = check(props)
    not_set = "tls-cipher-suites is not set (Go's default list has non-FIPS suites)"
    assert messages[0] == f"{where()} kube-apiserver-arg: {not_set}"
    assert len(messages) == 2 and messages[1].endswith(
        f" kube-apiserver-arg tls-cipher-suites: not FIPS-approved: {CHACHA}"
    )
