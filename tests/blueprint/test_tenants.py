"""Tenant spaces in the cluster stack (`hardened-rke2:tenants`): created with the platform's credentials.

A team stack's `project-member` credentials cannot create them: a Namespace with Pod Security labels needs
`updatepsa` on the project (rancher/webhook pkg/resources/core/v1/namespace/psalabels.go:85-114, Cluster
Owner only: rancher/rancher pkg/data/management/role_data.go:133), and role templates are global objects.
"""

from __future__ import annotations

import copy
import runpy
from typing import Any

import pytest

from blueprint.config import StackConfigError, load_stack_config
from hardened_rke2.capture import EchoMocks, ProgramRun, plain, run_program
from tests.support.stack_configs import MOCKS, stack_values, wire_config

PRT = "rancher2:index/projectRoleTemplateBinding:ProjectRoleTemplateBinding"
NAMESPACE = "kubernetes:core/v1:Namespace"


def prod_with(tenants: dict[str, Any] | None) -> dict[str, Any]:
    values = copy.deepcopy(stack_values("prod"))
    if tenants is None:
        values.pop("tenants", None)
    else:
        values["tenants"] = tenants
    return values


def run(values: dict[str, Any], references: dict[str, Any] | None = None) -> ProgramRun:
    mocks = (
        MOCKS
        if references is None
        else EchoMocks(extra_outputs=MOCKS.extra_outputs, stack_references=references)
    )
    return run_program(
        lambda: runpy.run_module("blueprint.__main__", run_name="__main__"),
        project="hardened-rke2",
        stack="prod",
        config=wire_config(values),
        mocks=mocks,
    )


def payments() -> dict[str, Any]:
    return copy.deepcopy(stack_values("prod")["tenants"]["teams"][0])


def test_prod_creates_the_payments_tenant_space_through_the_clusters_provider() -> None:
    result = run(stack_values("prod"))
    namespaces = {r.inputs["metadata"]["name"]: r for r in result.of_type(NAMESPACE)}
    assert {"payments-api", "payments-jobs"} <= set(namespaces)
    cluster_provider = next(r for r in result.of_type("pulumi:providers:kubernetes") if r.name == "prod-k8s")
    for name in ("payments-api", "payments-jobs"):
        ns = namespaces[name]
        assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        assert ns.provider is not None and ns.provider.startswith(cluster_provider.urn)
        assert any("ClusterSync" in d or "clusterSync" in d for d in ns.dependencies), ns.dependencies
    project = result.one("rancher2:index/project:Project")
    assert project.inputs["clusterId"] == "c-m-12345"
    assert {r.inputs["name"] for r in result.of_type("rancher2:index/roleTemplate:RoleTemplate")} >= {
        "payments-developer",
        "payments-log-reader",
    }
    member = [b for b in result.of_type(PRT) if b.inputs["roleTemplateId"] == "project-member"]
    assert [b.inputs["groupPrincipalId"] for b in member] == ["keycloakoidc_group://payments-deployers"]
    tenants = plain(result.stack_outputs)["tenants"]
    assert tenants["payments"]["namespaces"] == ["payments-api", "payments-jobs"]


def test_no_tenants_exports_an_empty_map() -> None:
    result = run(prod_with(None))
    assert result.of_type("rancher2:index/project:Project") == []
    assert plain(result.stack_outputs)["tenants"] == {}


def test_platform_roles_come_from_the_management_stack() -> None:
    team = payments()
    team["groups"].append(
        {"groupPrincipalId": "keycloakoidc_group://payments-devs", "platformRole": "team-developer"}
    )
    refs = {"acme/hardened-rke2/management": {"roleTemplateIds": {"team-developer": "rt-8vd3n"}}}
    result = run(prod_with({"managementStack": "acme/hardened-rke2/management", "teams": [team]}), refs)
    bindings = {b.inputs["groupPrincipalId"]: b.inputs["roleTemplateId"] for b in result.of_type(PRT)}
    assert bindings["keycloakoidc_group://payments-devs"] == "rt-8vd3n"


@pytest.mark.parametrize(
    ("tenants", "expected"),
    [
        (
            {
                "teams": [
                    {
                        **payments(),
                        "groups": [
                            {"groupPrincipalId": "keycloakoidc_group://x", "platformRole": "team-developer"}
                        ],
                    }
                ]
            },
            "tenants.teams[0].groups[0].platformRole: platform roles come from the management stack",
        ),
        ({"managementStack": "management", "teams": []}, "tenants.managementStack: 'management' is not"),
        ({"teams": [payments(), payments()]}, "tenants.teams[1].team: team 'payments' is listed twice"),
        (
            {"teams": [payments(), {**payments(), "team": "billing"}]},
            "tenants.teams[1].namespaces[0].name: namespace 'payments-api' already belongs to team",
        ),
        (
            {"teams": [{**payments(), "team": "Payments"}]},
            "tenants.teams[0].team",
        ),
    ],
)
def test_invalid_tenants_are_reported_with_their_path(tenants: dict[str, Any], expected: str) -> None:
    with pytest.raises(StackConfigError) as err:
        load_stack_config(prod_with(tenants))
    assert any(line.startswith(expected) for line in err.value.lines), err.value.lines


def test_a_teams_fleet_repo_goes_to_the_local_cluster_through_the_platforms_provider() -> None:
    from tests.support.tenancy import FLEET, GITREPO

    team = {**payments(), "fleet": FLEET}
    result = run(prod_with({"teams": [team]}))
    repo = result.one(GITREPO, "prod-tenant-payments-fleet-gitrepo")
    local = next(
        r for r in result.of_type("pulumi:providers:kubernetes") if r.name == "prod-tenants-fleet-local"
    )
    assert repo.provider is not None and repo.provider.startswith(local.urn)


def test_a_teams_fleet_repo_without_rancher_url_is_a_config_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi

    from tests.support.tenancy import FLEET

    monkeypatch.delenv("RANCHER_URL", raising=False)
    values = prod_with({"teams": [{**payments(), "fleet": FLEET}]})
    values["rancher"] = {k: v for k, v in values["rancher"].items() if k != "url"}
    values.pop("gitops", None)
    with pytest.raises((StackConfigError, pulumi.RunError), match=r"tenants\.teams: a team's Fleet repo"):
        run(values)
