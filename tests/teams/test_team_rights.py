"""The team stack registers nothing its credentials' role (`project-member` on the team's project) cannot do.

The rights table is tests/support/rancher_rights.py, transcribed from rancher/rancher
`pkg/data/management/role_data.go:237-262` (project-member, which also carries the Kubernetes `edit` role)
and what it lacks (`updatepsa`, rancher/webhook `pkg/resources/core/v1/namespace/psalabels.go:85-114`).
"""

from __future__ import annotations

import pytest

from tests.support import rancher_rights as rr
from tests.support.team_stack import PLATFORM, run_team_stack, stack_config


@pytest.mark.parametrize("stack", ["dev", "broken"])
def test_team_stack_needs_only_project_member_rights(mock_run, stack: str) -> None:
    run = run_team_stack(mock_run, stack_config(stack))
    registered = [(r.type, r.name) for r in run.resources]
    problems = {f"{r.type} {r.name}": gaps for r in run.resources if (gaps := rr.missing(r.type, r.inputs))}
    assert problems == {}, registered
    # Every Kubernetes object it registers lives in one of the team's namespaces.
    team_namespaces = set(PLATFORM["tenants"]["payments"]["namespaces"])
    for r in run.resources:
        if r.type.startswith("kubernetes:") and r.type != "kubernetes:core/v1:Namespace":
            assert r.inputs["metadata"]["namespace"] in team_namespaces, r.name
    assert not run.of_type("kubernetes:core/v1:Namespace")


def test_the_rights_table_refuses_what_needs_platform_rights() -> None:
    """What the team stack used to register (TeamTenancy) is exactly what project-member cannot do."""
    psa = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    assert rr.missing("kubernetes:core/v1:Namespace", psa) == ["management.cattle.io/projects: updatepsa"]
    assert rr.missing("kubernetes:core/v1:Namespace", {"metadata": {"labels": {}}}) == []
    assert rr.missing("rancher2:index/roleTemplate:RoleTemplate", {})
    assert rr.missing("rancher2:index/project:Project", {})
    assert rr.missing("rancher2:index/projectRoleTemplateBinding:ProjectRoleTemplateBinding", {})
    assert rr.missing("kubernetes:core/v1:ResourceQuota", {})
    assert rr.missing("kubernetes:core/v1:LimitRange", {})
    # ... while project-member (through Kubernetes `edit`) may write network policies and ServiceAccounts:
    # the platform owns the default-deny policies, and a member could still delete them (docs/teams.md).
    assert rr.missing("kubernetes:networking.k8s.io/v1:NetworkPolicy", {}) == []
    assert rr.missing("kubernetes:core/v1:ServiceAccountPatch", {}) == []
    assert rr.missing("kubernetes:apps/v1:Deployment", {}) == []
    assert rr.missing("some:unknown/v1:Thing", {}) == [
        "some:unknown/v1:Thing: not in the rights table (tests/support/rancher_rights.py)"
    ]


def test_cluster_owner_is_the_only_builtin_with_updatepsa() -> None:
    # role_data.go:125-136 (Cluster Owner) lists `updatepsa` on projects (line 133); project-owner and
    # project-member (lines 212-262) do not.
    assert not rr.allows(rr.PROJECT_MEMBER, "management.cattle.io", "projects", "updatepsa")
