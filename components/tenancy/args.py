"""The team tenancy config (`TeamTenancyArgs`), its cross-field checks and its problem report."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pulumi
from pydantic import Field, ValidationError, field_validator, model_validator

from components.gitops import GitOpsRepoArgs, GitRepoRestrictionArgs
from components.kube_names import check_dns_label
from components.model import HardenedModel
from components.problems import ConfigProblems, Problem, ProblemList
from components.tenancy.namespaces import (
    DEFAULT_DNS,
    DEFAULT_INGRESS_CONTROLLER,
    NamespacePodSecurityArgs,
    PeerSelectorArgs,
    TeamNamespaceArgs,
)
from components.tenancy.quotas import (
    DEFAULT_NAMESPACE_QUOTA,
    DEFAULT_PROJECT_QUOTA,
    ContainerResourcesArgs,
    QuotaArgs,
    parse_quantity,
)
from components.tenancy.rbac import CustomRoleArgs, GroupBindingArgs
from components.validation_errors import validation_problems

# --- Fleet ---------------------------------------------------------------------------------------------


class TeamFleetArgs(HardenedModel):
    """A Fleet GitRepo for the team, restricted to the team's namespaces (objects on Rancher's local cluster).

    `manageRestriction` creates the workspace's GitRepoRestriction (allowed target namespaces = the team's
    namespaces, the repo patterns, the one deploy ServiceAccount). Fleet keeps ONE restriction per
    workspace, so only a workspace dedicated to this team may be managed here; in a shared workspace
    (e.g. `fleet-default`) the platform owns the restriction and this must be `false`.
    """

    repo: GitOpsRepoArgs
    """The team's GitRepo (same keys as a cluster stack's `gitops.repos[]`)."""
    allowed_repo_patterns: tuple[str, ...] = Field(min_length=1)
    """Anchored regular expressions the GitRepoRestriction admits (`^https://git.example.com/payments/`)."""
    manage_restriction: bool = True
    """Create the workspace's GitRepoRestriction; `false` in a shared workspace whose restriction the platform
    owns."""


# --- the tenancy ---------------------------------------------------------------------------------------


class TeamTenancyArgs(HardenedModel):
    """A team's tenant space. The defaults are the hardened settings."""

    team: str
    """Team name (DNS label, at most 30 characters): names the Rancher project, labels the team's objects."""
    description: str = ""
    """Description of the Rancher project."""
    namespaces: list[TeamNamespaceArgs] = Field(min_length=1)
    """The team's namespaces (at least one); each gets restricted PSA, default-deny NetworkPolicies and a
    quota."""
    project_quota: QuotaArgs = DEFAULT_PROJECT_QUOTA
    """Resource quota of the whole Rancher project."""
    namespace_default_quota: QuotaArgs = DEFAULT_NAMESPACE_QUOTA
    """Quota each namespace gets unless it sets its own `quota`."""
    container_resources: ContainerResourcesArgs = ContainerResourcesArgs()
    """Container default requests / limits and the per-container maximum (LimitRange)."""
    pod_security: NamespacePodSecurityArgs = NamespacePodSecurityArgs()
    """Pod Security Admission level of the team's namespaces."""
    dns: PeerSelectorArgs = DEFAULT_DNS
    """The cluster DNS pods the team's pods may reach (the only default egress)."""
    ingress_controller: PeerSelectorArgs = DEFAULT_INGRESS_CONTROLLER
    """The ingress controller pods that namespaces with `allowFromIngressController` accept traffic from."""
    groups: list[GroupBindingArgs] = Field(default_factory=list)
    """SSO groups bound to the project, each with exactly one of `persona`, `customRole`, `platformRole`."""
    custom_roles: list[CustomRoleArgs] = Field(default_factory=list)
    """Project role templates defined by the team (explicit rules, no wildcards or escalation verbs)."""
    fleet: TeamFleetArgs | None = None
    """Optional Fleet GitRepo deploying into the team's namespaces only."""

    @field_validator("team")
    @classmethod
    def _team(cls, value: str) -> str:
        return check_dns_label(value, "team name", 30)

    @model_validator(mode="after")
    def _consistent(self) -> TeamTenancyArgs:
        problems = ProblemList()
        names = [ns.name for ns in self.namespaces]
        for i, name in enumerate(names):
            if name in names[:i]:
                problems.add(
                    ["namespaces", i, "name"],
                    f"namespace {name!r} is listed twice",
                    "list every namespace once",
                )
        self._check_quotas(problems)
        roles = [r.name for r in self.custom_roles]
        for i, name in enumerate(roles):
            if name in roles[:i]:
                problems.add(
                    ["customRoles", i, "name"],
                    f"custom role {name!r} is defined twice",
                    "give every custom role a unique name",
                )
        seen: set[tuple[str, str, str]] = set()
        for i, binding in enumerate(self.groups):
            if binding.custom_role is not None and binding.custom_role not in roles:
                problems.add(
                    ["groups", i, "customRole"],
                    f"custom role {binding.custom_role!r} is not defined",
                    f"define it under customRoles, or use one of {', '.join(roles) or 'the personas'}",
                )
            key = (binding.group_principal_id, *binding.role_key)
            if key in seen:
                problems.add(
                    ["groups", i],
                    f"{binding.group_principal_id} is bound to {key[2]!r} twice",
                    "remove the duplicate binding",
                )
            seen.add(key)
        if self.fleet is not None:
            self._check_fleet(self.fleet, names, problems)
        problems.raise_if_any()
        return self

    @staticmethod
    def _check_fleet(fleet: TeamFleetArgs, names: list[str], problems: ProblemList) -> None:
        target = fleet.repo.target_namespace
        if target is None or target not in names:
            problems.add(
                ["fleet", "repo", "targetNamespace"],
                f"{target!r} is not one of the team's namespaces",
                f"set targetNamespace to one of {', '.join(names)}",
            )
        if not any(_matches(p, fleet.repo.repo) for p in fleet.allowed_repo_patterns):
            problems.add(
                ["fleet", "repo", "repo"],
                f"{fleet.repo.repo} matches none of allowedRepoPatterns",
                "use a repository the patterns admit, or add an anchored pattern for it",
            )
        if fleet.manage_restriction:
            try:
                fleet_restriction(fleet, names)
            except ValidationError as err:
                problems.extend(validation_problems(err, prefix=("fleet",), hints="team"))

    def _check_quotas(self, problems: ProblemList) -> None:
        project = self.project_quota.as_rancher()
        default = self.namespace_default_quota.as_rancher()
        for key in sorted(set(project) ^ set(default)):
            problems.add(
                ["namespaceDefaultQuota", key],
                f"{key} is set in {'projectQuota' if key in project else 'namespaceDefaultQuota'} only; "
                "Rancher needs the same resources in both",
                f"set {key} in both projectQuota and namespaceDefaultQuota, or in neither",
            )
        totals: dict[str, Decimal] = {}
        for i, ns in enumerate(self.namespaces):
            quota = self.quota_for(ns).as_rancher()
            for key in sorted(set(project) ^ set(quota)):
                if ns.quota is not None:
                    problems.add(
                        ["namespaces", i, "quota", key],
                        f"{key} is set in {'projectQuota' if key in project else 'the namespace quota'} only",
                        f"set {key} in both projectQuota and the namespace quota, or in neither",
                    )
            for key, value in quota.items():
                totals[key] = totals.get(key, Decimal(0)) + parse_quantity(value)
            cr = self.container_resources
            for kind, mx in (("Cpu", cr.max_cpu), ("Memory", cr.max_memory)):
                if parse_quantity(mx) > parse_quantity(quota[f"limits{kind}"]):
                    problems.add(
                        ["containerResources", f"max{kind}"],
                        f"a single container may use {mx}, more than namespace {ns.name!r} allows "
                        f"(limits{kind} {quota[f'limits{kind}']})",
                        f"lower containerResources.max{kind} or raise that namespace's limits{kind}",
                    )
        for key, limit in sorted(project.items()):
            if key in totals and totals[key] > parse_quantity(limit):
                problems.add(
                    ["projectQuota", key],
                    f"the namespaces' quotas add up to {_fmt(totals[key])} {key}, more than the project "
                    f"limit {limit}",
                    f"raise projectQuota.{key} to at least {_fmt(totals[key])}, or give the namespaces "
                    "smaller quotas (namespaces[].quota / namespaceDefaultQuota)",
                )

    def quota_for(self, ns: TeamNamespaceArgs) -> QuotaArgs:
        return ns.quota if ns.quota is not None else self.namespace_default_quota


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


# Invalid team configuration is a `ConfigProblems`; this name is what `except` clauses and tests read.
TeamConfigError = ConfigProblems


def team_config_error(problems: Sequence[Problem]) -> ConfigProblems:
    """The invalid-team-config report: one `<path>: <message> (fix: <hint>)` line per problem."""
    return ConfigProblems(problems, heading="team")


def team_problems(err: ValidationError, prefix: Sequence[str | int] = ()) -> list[Problem]:
    """A pydantic error of team config as `Problem`s (fixes point at docs/teams.md)."""
    return validation_problems(err, prefix=prefix, hints="team")


def parse_team_args(values: Mapping[str, Any] | TeamTenancyArgs) -> TeamTenancyArgs:
    """Validate team config (camelCase mapping) into `TeamTenancyArgs`, or raise `TeamConfigError`."""
    if isinstance(values, TeamTenancyArgs):
        return values
    try:
        return TeamTenancyArgs.model_validate(values)
    except ValidationError as err:
        raise team_config_error(team_problems(err)) from None


def check_providers(
    args: TeamTenancyArgs,
    platform_role_template_ids: object | None,
    fleet_provider: pulumi.ProviderResource | None,
) -> None:
    """Step 1 of TeamTenancy: the config needs providers/ids the caller did not pass."""
    problems: list[Problem] = []
    if platform_role_template_ids is None:
        problems += [
            Problem(
                ("groups", i, "platformRole"),
                "no platform role template ids were given",
                "pass platform_role_template_ids= (the management stack's roleTemplateIds output), "
                "or use a persona / customRole",
            )
            for i, b in enumerate(args.groups)
            if b.platform_role is not None
        ]
    if problems:
        raise team_config_error(problems)
    if args.fleet is not None and fleet_provider is None:
        raise team_config_error(
            [
                Problem(
                    ("fleet",),
                    "a Fleet repo lives on Rancher's local cluster and needs a provider for it",
                    "pass fleet_provider= (components.gitops.local_cluster_provider); a team stack "
                    "normally cannot reach the local cluster, so the platform stack creates the Fleet part",
                )
            ]
        )


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.match(pattern, value) is not None
    except re.error:  # reported by the restriction's own validation
        return False


def fleet_restriction(fleet: TeamFleetArgs, namespaces: Sequence[str]) -> GitRepoRestrictionArgs:
    repo = fleet.repo
    return GitRepoRestrictionArgs(
        workspace=repo.workspace,
        allowed_repo_patterns=fleet.allowed_repo_patterns,
        allowed_service_accounts=(repo.service_account,),
        default_service_account=repo.service_account,
        allowed_client_secret_names=tuple(n for n in (repo.client_secret_name, repo.helm_secret_name) if n),
        allowed_target_namespaces=tuple(namespaces),
    )
