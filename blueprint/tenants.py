"""Tenant spaces of application teams on a cluster stack's cluster (`hardened-rke2:tenants`).

Why here, with the platform's credentials, and not in the team's own stack:
- A Namespace carrying `pod-security.kubernetes.io/*` labels is admitted only for a user with the
  `updatepsa` verb on the namespace's project (rancher/webhook `pkg/resources/core/v1/namespace/psalabels.go`
  lines 19-20 and 85-114, a SubjectAccessReview for `updatepsa` on `management.cattle.io` `projects`); of
  Rancher's built-in role templates only Cluster Owner grants it (rancher/rancher
  `pkg/data/management/role_data.go:133`).
- `rancher2.Project`, its `ProjectRoleTemplateBinding`s and `rancher2.RoleTemplate`s (global objects) need
  cluster-owner / global rights, and a project member cannot write `ResourceQuota`s or `LimitRange`s (the
  Kubernetes `edit` role it inherits only reads them).
- The default-deny NetworkPolicies are the team's isolation boundary: the platform owns them.

So the cluster stack, which already holds the cluster's administrative Kubernetes provider and its
`ClusterSync` gate, creates every team's project, namespaces (PSA labels, quota, limits, network policies,
`default` ServiceAccount without token automount), custom role templates and group bindings; the team's own
stack only deploys workloads into its namespaces with the `project-member` rights it is given (see
docs/teams.md, "Which credentials each stack needs"). Onboarding a team is a reviewed change to the
cluster stack's config: the tenant space lives and dies with its cluster.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
from pydantic import Field, model_validator

from components.gitops import local_cluster_provider
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import ProblemList
from components.tenancy import TeamTenancy, TeamTenancyArgs

_STACK_NAME = re.compile(r"^[^/\s]+/[^/\s]+/[^/\s]+$")


class TenantsArgs(HardenedModel):
    """Application teams' tenant spaces on this cluster, created with the platform's credentials."""

    management_stack: str | None = None
    """`<org>/<project>/<stack>` of the management stack whose `roleTemplateIds` output `platformRole`
    bindings use (required when any team binds a `platformRole`)."""
    teams: list[TeamTenancyArgs] = Field(default_factory=list)
    """One tenant space per team (TeamTenancy: project, namespaces with restricted PSA, quotas, limits,
    default-deny network policies, custom role templates and SSO group bindings)."""
    fleet_token_ttl_hours: int = Field(default=8, ge=1, le=24)
    """TTL of the local-cluster token used for teams' Fleet repos (only when a team sets `fleet`)."""

    @model_validator(mode="after")
    def _consistent(self) -> TenantsArgs:
        p = ProblemList()
        if self.management_stack is not None and not _STACK_NAME.match(self.management_stack):
            p.add(
                ("managementStack",),
                f"{self.management_stack!r} is not '<org>/<project>/<stack>'",
                "e.g. acme/hardened-rke2/management",
            )
        teams: dict[str, int] = {}
        owners: dict[str, str] = {}
        for i, team in enumerate(self.teams):
            if team.team in teams:
                p.add(("teams", i, "team"), f"team {team.team!r} is listed twice", "list every team once")
            teams.setdefault(team.team, i)
            for j, ns in enumerate(team.namespaces):
                owner = owners.setdefault(ns.name, team.team)
                if owner != team.team:
                    p.add(
                        ("teams", i, "namespaces", j, "name"),
                        f"namespace {ns.name!r} already belongs to team {owner!r}",
                        "give every team its own namespaces",
                    )
            if self.management_stack is None:
                for j, group in enumerate(team.groups):
                    if group.platform_role is not None:
                        p.add(
                            ("teams", i, "groups", j, "platformRole"),
                            "platform roles come from the management stack, which is not configured",
                            "set tenants.managementStack, e.g. acme/hardened-rke2/management",
                        )
        p.raise_if_any()
        return self

    @property
    def needs_fleet(self) -> bool:
        return any(team.fleet is not None for team in self.teams)


def build_tenants(
    cluster: str,
    args: TenantsArgs,
    handle: ClusterHandle,
    rancher_url: str | None,
    ca_certs: str | None = None,
) -> dict[str, TeamTenancy]:
    """Every team's TeamTenancy on the cluster, gated on its ClusterSync; exports `tenants`."""
    if not args.teams:
        pulumi.export("tenants", {})
        return {}
    role_ids: pulumi.Output[Any] | None = None
    if args.management_stack is not None:
        role_ids = pulumi.StackReference(args.management_stack).require_output("roleTemplateIds")
    fleet = None
    if args.needs_fleet and rancher_url:
        fleet = local_cluster_provider(
            f"{cluster}-tenants-fleet", rancher_url, args.fleet_token_ttl_hours, ca_certs=ca_certs
        )
    tenancies = {
        team.team: TeamTenancy.for_cluster(
            f"{cluster}-tenant-{team.team}",
            team,
            handle,
            fleet_provider=fleet,
            platform_role_template_ids=role_ids,
        )
        for team in args.teams
    }
    # What a team stack reads (StackReference output `tenants`): its project and namespaces.
    pulumi.export(
        "tenants",
        {
            name: {"projectId": t.project_id, "namespaces": [ns.name for ns in t.args.namespaces]}
            for name, t in sorted(tenancies.items())
        },
    )
    return tenancies
