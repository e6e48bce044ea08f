"""Stack config: valid examples load; every problem is reported with its YAML path and a fix, before
anything is registered; random mutations never produce a traceback or a partial program."""

from __future__ import annotations

import copy
import re
import runpy
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from blueprint.config import (
    ClusterStackConfig,
    StackConfigError,
    load_stack_config,
    read_pulumi_config,
)
from blueprint.program import STACK_KINDS, build
from hardened_rke2.capture import EchoMocks, RecordingMonitor, run_program
from tests.support.stack_configs import stack_values, wire_config

PROBLEM_LINE = re.compile(r"^\S.*?: .+ \(fix: .+\)$", re.S)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stacks_are_valid(stack: str) -> None:
    config = load_stack_config(stack_values(stack))
    assert isinstance(config, ClusterStackConfig)
    assert config.cluster.rke2.weakenings.enabled() == []
    assert config.cluster.network.project_network_isolation is True
    assert config.cluster.authorized_endpoint.enabled is False
    assert config.cluster.protect is True


def test_prod_is_production_ha_with_s3_and_mirror() -> None:
    c = load_stack_config(stack_values("prod")).cluster
    assert c.production is True
    counts = {
        r: sum(p.quantity for p in c.node_pools if r in p.roles.names())
        for r in ("etcd", "controlPlane", "worker")
    }
    assert counts["etcd"] == 3 and counts["controlPlane"] >= 2 and counts["worker"] >= 1
    assert not any(p.is_custom for p in c.node_pools)
    assert c.etcd.s3 is not None and c.etcd.s3.skip_ssl_verify is False
    assert c.registries.mirrors and c.registries.system_default_registry


def test_dev_is_custom_single_pool() -> None:
    c = load_stack_config(stack_values("dev")).cluster
    assert len(c.node_pools) == 1 and c.node_pools[0].is_custom


def test_kind_defaults_to_cluster_and_unknown_kind_is_an_error() -> None:
    values = stack_values("dev")
    del values["kind"]
    assert isinstance(load_stack_config(values), ClusterStackConfig)
    with pytest.raises(StackConfigError) as info:
        load_stack_config({**values, "kind": "clustr"})
    assert info.value.problems[0].startswith("kind: unknown stack kind 'clustr'")
    assert "cluster" in STACK_KINDS


def test_every_problem_is_listed_with_path_and_fix() -> None:
    values = stack_values("prod")
    c = values["cluster"]
    c["nodePools"][0]["quantity"] = 2
    c["typoField"] = True
    c["rke2"] = {"extraArgs": {"kube-apiserver-arg": {"anonymous-auth": "true"}}}
    c["etcd"]["s3"]["skipSslVerify"] = True
    values["rancher"]["url"] = "http://rancher.example.com"
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    problems = info.value.problems
    paths = {p.split(": ", 1)[0] for p in problems}
    assert {"cluster.typoField", "cluster.etcd.s3.skipSslVerify", "rancher.url"} <= paths
    assert all(PROBLEM_LINE.match(p) for p in problems), problems
    assert "nothing was registered" in str(info.value)


def test_cross_field_problems_are_listed_together() -> None:
    values = stack_values("prod")
    c = values["cluster"]
    c["nodePools"][0]["quantity"] = 2
    c["rke2"] = {"extraArgs": {"kube-apiserver-arg": {"anonymous-auth": "true"}}, "etcdExposeMetrics": True}
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    paths = [p.split(": ", 1)[0] for p in info.value.problems]
    assert "cluster.rke2.extraArgs.kube-apiserver-arg.anonymous-auth" in paths
    assert "cluster.rke2.etcdExposeMetrics" in paths
    assert "cluster.nodePools" in paths


def test_typo_gets_a_suggestion() -> None:
    values = stack_values("dev")
    values["cluster"]["kubernetesVersio"] = values["cluster"].pop("kubernetesVersion")
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    assert any("did you mean 'kubernetesVersion'" in p for p in info.value.problems)


def test_typo_in_a_node_driver_names_the_yaml_path_and_suggests() -> None:
    # The driver is a discriminated union: pydantic's location holds its tag (`vsphere`), the YAML does not.
    values = stack_values("prod")
    values["cluster"]["nodePools"][0]["driver"]["cpuCont"] = 4
    values["cluster"]["nodePools"][1]["driver"]["cfgparams"] = {"isolation.tools.copy.disable": "FALSE"}
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    problems = info.value.problems
    assert (
        "cluster.nodePools[0].driver.cpuCont: Extra inputs are not permitted (fix: did you mean 'cpuCount'?)"
        in problems
    )
    vmx = "cluster.nodePools[1].driver: cfgparams.isolation.tools.copy.disable"
    assert any(p.startswith(vmx) for p in problems)
    assert not any(".vsphere" in p for p in problems)


def test_version_defaults_from_rancher_line_and_must_match_it() -> None:
    values = stack_values("dev")
    del values["cluster"]["kubernetesVersion"]
    values["rancher"]["line"] = "2.12"
    assert load_stack_config(values).cluster.kubernetes_version == "v1.33.5+rke2r1"
    values["cluster"]["kubernetesVersion"] = "v1.34.1+rke2r1"
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    assert info.value.problems[0].startswith(
        "cluster.kubernetesVersion: RKE2 1.34 is not supported by Rancher 2.12"
    )


def test_secret_values_are_not_echoed_in_errors() -> None:
    values = stack_values("prod")
    values["cluster"]["etcd"]["s3"] = {
        "bucket": "b",
        "endpoint": "s3.example.com",
        "accessKey": "AKIAVERYSECRET",
    }
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    assert "AKIAVERYSECRET" not in str(info.value)


def test_read_pulumi_config_parses_structured_values(monkeypatch: pytest.MonkeyPatch) -> None:
    wire = wire_config(stack_values("dev")) | {"other:key": "x", "hardened-rke2:note": "123"}
    pulumi.runtime.set_all_config(wire, [])
    try:
        values = read_pulumi_config()
    finally:
        pulumi.runtime.set_all_config({}, [])
    assert values["kind"] == "cluster" and values["note"] == "123"
    assert values["cluster"] == stack_values("dev")["cluster"]
    assert "other:key" not in values and "key" not in values


# --- property-based: mutate valid configs --------------------------------------------------------

Path = tuple[Any, ...]


def _paths(node: Any, prefix: Path = ()) -> list[Path]:
    out: list[Path] = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get_parent(root: Any, path: Path) -> Any:
    for p in path[:-1]:
        root = root[p]
    return root


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=100_000),
    st.sampled_from(
        ["", "true", "0600", "0644", "cis", "v1.33.5+rke2r1", "calico", "AlwaysAllow", "10%", "x" * 70]
    ),
    st.text(max_size=12),
)
_values = st.one_of(
    _scalars, st.lists(_scalars, max_size=3), st.dictionaries(st.text(max_size=8), _scalars, max_size=2)
)


# Edits a real user makes that keep the config valid: most generated cases must reach the build assertions
# (a strategy of only hostile edits made ~90% of cases stop at the first validation error).
_CRONS = st.sampled_from(["0 */4 * * *", "0 3 * * *", "30 */6 * * *"])
_BENIGN_EDITS: list[tuple[tuple[str | int, ...], st.SearchStrategy[Any]]] = [
    (("cluster", "etcd", "snapshotRetention"), st.integers(min_value=5, max_value=50)),
    (("cluster", "etcd", "snapshotScheduleCron"), _CRONS),
    (("cluster", "network", "cni"), st.sampled_from(["canal", "calico", "cilium"])),
    (("cluster", "nodePools", -1, "quantity"), st.integers(min_value=1, max_value=9)),
    (("cluster", "protect"), st.booleans()),
    (("rancher", "url"), st.sampled_from(["https://rancher.example.com", "https://r.internal.example.org"])),
]


def _set_path(values: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    parent: Any = values
    for part in path[:-1]:
        parent = parent.setdefault(part, {}) if isinstance(part, str) else parent[part]
    parent[path[-1]] = value


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    values = stack_values(draw(st.sampled_from(["dev", "prod"])))
    # three in four cases make only benign edits; the rest make hostile ones (delete/replace/add/rename)
    if draw(st.sampled_from(["benign", "benign", "benign", "hostile"])) == "benign":
        for path, strategy in draw(st.lists(st.sampled_from(_BENIGN_EDITS), min_size=1, max_size=3)):
            _set_path(values, path, draw(strategy))
        return values
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(values)
        path = draw(st.sampled_from(paths))
        parent = _get_parent(values, path)
        op = draw(st.sampled_from(["delete", "replace", "add", "rename"]))
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(_values)
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(_values)
        elif op == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["s", "_", "X"]))] = parent.pop(key)
    return values


def _main() -> None:
    runpy.run_module("blueprint.__main__", run_name="__main__")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=mutated())
def test_mutated_configs_either_fail_cleanly_or_build(values: dict[str, Any]) -> None:
    try:
        config = load_stack_config(copy.deepcopy(values))
    except StackConfigError as exc:
        event("invalid config")
        _assert_readable(exc)
        return
    monitor = RecordingMonitor(EchoMocks())
    try:
        run = run_program(lambda: build(config), project="hardened-rke2", stack="prop", monitor=monitor)
    except StackConfigError as exc:  # checks on resolved values, before the first resource
        event("invalid resolved values")
        _assert_readable(exc)
        assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []
        return
    event("valid: built")
    assert run.of_type("rancher2:index/clusterV2:ClusterV2")


def _assert_readable(exc: StackConfigError) -> None:
    assert exc.problems
    for line in exc.problems:
        assert PROBLEM_LINE.match(line), line


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=mutated())
def test_the_program_registers_nothing_on_invalid_config(values: dict[str, Any]) -> None:
    monitor = RecordingMonitor(EchoMocks())
    try:
        load_stack_config(copy.deepcopy(values))
        loads = True
    except StackConfigError:
        loads = False
    try:
        run = run_program(
            _main, project="hardened-rke2", stack="prop", config=wire_config(values), monitor=monitor
        )
    except pulumi.RunError as exc:
        event("invalid config")
        assert str(exc).startswith("invalid stack config")
        assert "Traceback" not in str(exc)
        assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []
        return
    event("valid: built")
    assert loads
    assert run.of_type("rancher2:index/clusterV2:ClusterV2")


def test_build_rejects_a_config_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="ClusterStackConfig"):
        build(RecordingMonitorLike())  # type: ignore[arg-type]


class RecordingMonitorLike:
    kind = "cluster"


def test_numbers_where_text_is_expected_get_a_quoting_hint() -> None:
    values = stack_values("prod")
    values["rancher"]["line"] = 2.13  # `line: 2.13` unquoted in YAML
    values["cluster"]["upgrade"]["workerConcurrency"] = 1
    values["rancher"]["url"] = "http://rancher.example.com"
    values["cluster"]["name"] = "Prod_1"
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    problems = {p.split(":", 1)[0]: p for p in info.value.problems}
    assert problems["rancher.line"].endswith("YAML reads it as a number: quote it)")
    assert problems["cluster.upgrade.workerConcurrency"].endswith("YAML reads it as a number: quote it)")
    assert "(fix: use an https:// URL" in problems["rancher.url"]
    assert "(fix: use lowercase letters, digits and '-' (a DNS label)" in problems["cluster.name"]
    assert not any("http://rancher.example.com" in p for p in info.value.problems)  # values are not echoed


def test_authorized_endpoint_without_fqdn_names_each_missing_field() -> None:
    values = stack_values("prod")
    values["cluster"]["authorizedEndpoint"] = {"enabled": True}
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    paths = [p.split(":", 1)[0] for p in info.value.problems]
    assert paths == ["cluster.authorizedEndpoint.fqdn", "cluster.authorizedEndpoint.caCerts"]
    assert all(PROBLEM_LINE.match(p) and "or enabled: false" in p for p in info.value.problems)
