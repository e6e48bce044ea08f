"""`rke2-fips-choices`: on a cluster labelled `hardened-rke2.io/fips=true` the pack reports every non-FIPS
choice. The passing case is the ClusterV2 the FIPS example stack (`stacks/Pulumi.fips.yaml`) really
registers; each failing case changes one choice in it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardened_rke2.analysis.testing import analyze_props
from hardened_rke2.preview import preview_project
from tests.support.paths import PACK_DIR, REPO_ROOT
from tests.support.stack_previews import preview_doc

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
POLICY = "rke2-fips-choices"
CHACHA = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"


@cache
def _fips_stack_cluster() -> dict[str, Any]:
    result = preview_project(REPO_ROOT, "fips")
    assert result.status == "ok", result.error or result.problems
    (cluster,) = [r for r in result.resources if r.type == CLUSTER]
    return dict(cluster.inputs)


def fips_cluster() -> dict[str, Any]:
    return copy.deepcopy(_fips_stack_cluster())


def violations(props: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in analyze_props(PACK_DIR, CLUSTER, props, name="fips", options={"protect": True}):
        out.setdefault(v.policy_name, []).append(v.message)
    return out


def with_global(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    props = fips_cluster()
    config = yaml.safe_load(props["rkeConfig"]["machineGlobalConfig"])
    change(config)
    props["rkeConfig"]["machineGlobalConfig"] = yaml.safe_dump(config, sort_keys=True)
    return props


def _set_arg(config: dict[str, Any], key: str, flag: str, value: str | None) -> None:
    entries = [e for e in config.get(key, []) if not e.startswith(flag + "=")]
    config[key] = entries + ([f"{flag}={value}"] if value is not None else [])


def test_the_fips_example_stack_cluster_is_marked_and_passes_every_policy() -> None:
    props = fips_cluster()
    assert props["labels"] == {"hardened-rke2.io/fips": "true"}
    assert violations(props) == {}


FIPS_LIST = ",".join(("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))

NON_FIPS: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    ("cilium", lambda: with_global(lambda c: c.update(cni=["cilium"])), "cni cilium: only canal is rebuilt"),
    ("calico string", lambda: with_global(lambda c: c.update(cni="calico")), "cni calico"),
    ("multus", lambda: with_global(lambda c: c.update(cni=["multus", "canal"])), "cni multus: only canal"),
    ("secretbox", lambda: with_global(lambda c: c.update({"secrets-encryption-provider": "secretbox"})),
     "secrets-encryption-provider 'secretbox': FIPS 140 compliance is only available with aescbc"),
    ("apiserver chacha", lambda: with_global(
        lambda c: _set_arg(c, "kube-apiserver-arg", "tls-cipher-suites", f"{FIPS_LIST},{CHACHA}")),
     f"kube-apiserver-arg tls-cipher-suites: not FIPS-approved: {CHACHA}"),
    ("kubelet without a list", lambda: with_global(
        lambda c: _set_arg(c, "kubelet-arg", "tls-cipher-suites", None)),
     "kubelet-arg: tls-cipher-suites is not set"),
    ("scheduler without any args", lambda: with_global(lambda c: c.pop("kube-scheduler-arg")),
     "kube-scheduler-arg does not set tls-cipher-suites"),
    ("etcd without a list", lambda: with_global(lambda c: c.pop("etcd-arg")),
     "etcd-arg does not set cipher-suites"),
    ("etcd chacha", lambda: with_global(
        lambda c: _set_arg(c, "etcd-arg", "cipher-suites", f"[{FIPS_LIST},{CHACHA}]")),
     f"etcd-arg cipher-suites: not FIPS-approved: {CHACHA}"),
    ("k3s release", lambda: {**fips_cluster(), "kubernetesVersion": "v1.33.5+k3s1"},
     "is not an RKE2 release"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "make", "says"), NON_FIPS, ids=[c[0] for c in NON_FIPS])
def test_each_non_fips_choice_on_the_fips_cluster_is_reported(
    case: str, make: Callable[[], dict[str, Any]], says: str
) -> None:
    found = violations(make())
    assert any(says in m for m in found.get(POLICY, [])), found
    if case != "k3s release":  # a K3s version also trips the version policies
        # Only the FIPS policy fires: each choice is hardened enough for the other policies.
        assert set(found) == {POLICY}, found


def test_a_selector_layer_replacing_the_args_must_keep_the_fips_list() -> None:
    props = fips_cluster()
    layer = {"kube-apiserver-arg": ["tls-min-version=VersionTLS12", f"tls-cipher-suites={CHACHA}"]}
    props["rkeConfig"]["machineSelectorConfigs"].append({"config": yaml.safe_dump(layer)})
    assert any(f"not FIPS-approved: {CHACHA}" in m for m in violations(props).get(POLICY, []))


def test_the_same_choices_on_a_cluster_not_marked_fips_are_not_this_policy_s_business() -> None:
    props = with_global(lambda c: c.update(cni=["cilium"], **{"secrets-encryption-provider": "secretbox"}))
    props["labels"] = {}
    assert POLICY not in violations(props)
    props["labels"] = {"hardened-rke2.io/fips": "false"}
    assert POLICY not in violations(props)


def test_the_policy_is_mapped_to_the_guide() -> None:
    from nsa_cisa import ALL_POLICIES
    from nsa_cisa.catalogue import load_catalogue

    policy = next(p for p in ALL_POLICIES if p.name == POLICY)
    assert {"NSA-2.17", "NSA-2.19"} <= set(policy.tags or [])
    catalogue = {c.id: c for c in load_catalogue()}
    assert POLICY in catalogue["NSA-2.17"].enforced_by and POLICY in catalogue["NSA-2.19"].enforced_by


def test_a_named_weakening_passes_config_validation_and_the_pack_reports_it(tmp_path: Path) -> None:
    def weaken(config: dict[str, Any]) -> None:
        cluster = config["hardened-rke2:cluster"]
        cluster["network"] = {"cni": "cilium"}
        cluster["compliance"] = {"fips": True, "weakenings": {"nonFipsCni": True}}

    doc = preview_doc("fips", tmp_path, weaken)
    (cluster,) = [r for r in doc["resources"] if r["type"] == CLUSTER]
    found = violations(dict(cluster["inputs"]))
    assert set(found) == {POLICY}
    assert any("cni cilium: only canal is rebuilt for FIPS" in m for m in found[POLICY])
