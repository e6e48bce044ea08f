"""Add-ons and GitOps wired into the cluster stack: the prod example turns everything on; config errors
are reported with YAML paths before any resource exists."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from blueprint.config import StackConfigError, load_stack_config
from blueprint.program import build
from hardened_rke2.capture import EchoMocks, ProgramRun, run_program
from tests.support.stack_configs import stack_values

APP = "rancher2:index/appV2:AppV2"
MOCKS = EchoMocks(
    extra_outputs={
        "rancher2:index/clusterV2:ClusterV2": lambda a: {"clusterV1Id": "c-m-prod1"},
        "rancher2:index/token:Token": lambda a: {"token": "token-u-1:abcdef"},
        "random:index/randomPassword:RandomPassword": lambda a: {"result": "Generated-Pw-1!"},
    }
)


def run_stack(values: dict[str, Any]) -> ProgramRun:
    config = load_stack_config(values)
    return run_program(lambda: build(config), project="hardened-rke2", stack="t", mocks=MOCKS)


@pytest.fixture(autouse=True)
def _no_provider_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANCHER_URL", raising=False)


def test_prod_turns_every_addon_on() -> None:
    run = run_stack(stack_values("prod"))
    assert run.stack_outputs["addons"] == ["monitoring", "neuvector", "compliance", "audit_logging", "istio"]
    charts = {a.inputs["chartName"] for a in run.of_type(APP)}
    assert {"neuvector", "rancher-compliance", "rancher-logging", "rancher-monitoring", "istiod"} <= charts
    sync = run.one("rancher2:index/clusterSync:ClusterSync")
    cluster = run.one("rancher2:index/clusterV2:ClusterV2")
    for app in run.of_type(APP):
        assert app.inputs["clusterId"] == "c-m-prod1"
        assert sync.urn in app.dependencies
        assert cluster.urn in app.property_dependencies["clusterId"]
    (pa,) = [r for r in run.resources if r.type.endswith(":PeerAuthentication")]
    assert pa.inputs["spec"]["mtls"]["mode"] == "STRICT"


def test_prod_gitops_on_the_local_cluster() -> None:
    run = run_stack(stack_values("prod"))
    token = run.one("rancher2:index/token:Token", "prod-gitops-local-token")
    assert token.inputs["clusterId"] == "local" and token.inputs["ttl"] <= 86400
    local = run.one("pulumi:providers:kubernetes", "prod-gitops-local")
    repo = run.one("kubernetes:fleet.cattle.io/v1alpha1:GitRepo")
    restriction = run.one("kubernetes:fleet.cattle.io/v1alpha1:GitRepoRestriction")
    for obj in (repo, restriction):
        assert obj.provider is not None and obj.provider.startswith(local.urn)
    spec = repo.inputs["spec"]
    assert spec["revision"] == "v1.4.2" and spec["insecureSkipTLSVerify"] is False
    assert spec["correctDrift"] == {"enabled": True}
    # The workspace's restriction exists before the GitRepo it governs.
    assert restriction.urn in repo.dependencies


def test_stack_without_addons_warns_and_exports_none() -> None:
    values = stack_values("prod")
    values.pop("addons")
    values.pop("gitops")
    run = run_stack(values)
    assert run.stack_outputs["addons"] == []
    assert run.of_type(APP) == []
    assert any("has no add-ons" in w for w in run.warnings)


def test_addon_config_errors_have_yaml_paths() -> None:
    values = stack_values("prod")
    values["addons"]["auditLogging"]["output"] = {"type": "http", "endpoint": "http://logs.example.com"}
    values["addons"]["neuVector"] = {}
    with pytest.raises(StackConfigError) as err:
        load_stack_config(values)
    problems = "\n".join(err.value.problems)
    assert "addons.auditLogging.output" in problems and "https://" in problems
    assert "addons.neuVector" in problems


def test_missing_rancher_url_is_reported_before_any_resource() -> None:
    values = copy.deepcopy(stack_values("prod"))
    values["rancher"].pop("url")
    errors: list[StackConfigError] = []

    def program() -> None:
        try:
            build(load_stack_config(values))
        except StackConfigError as exc:
            errors.append(exc)

    run = run_program(program, project="hardened-rke2", stack="t", mocks=MOCKS)
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]
    problems = "\n".join(errors[0].problems)
    assert "addons.neuvector.rancherSso" in problems and "gitops" in problems
    assert problems.count("(fix: ") == 2
