"""The `TeamTenancy` component and its steps, one function each."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2

from components.gitops import GitOpsRepo, GitRepoRestriction
from components.handles import ClusterHandle
from components.problems import Problem
from components.tenancy.args import (
    TeamTenancyArgs,
    check_providers,
    fleet_restriction,
    parse_team_args,
    team_config_error,
)
from components.tenancy.constants import (
    PERSONA_ROLE_TEMPLATES,
    PROJECT_ID_ANNOTATION,
    RANCHER_CONTAINER_LIMIT_ANNOTATION,
    RANCHER_QUOTA_ANNOTATION,
    TEAM_LABEL,
)
from components.tenancy.namespaces import TeamNamespaceArgs
from components.tenancy.network_policies import network_policies
from components.tenancy.quotas import ContainerResourcesArgs, QuotaArgs


@dataclass(frozen=True)
class TenantNamespace:
    """What the team's own resources need about one of its namespaces."""

    name: str
    namespace: k8s.core.v1.Namespace


class TeamTenancy(pulumi.ComponentResource):
    """A team's tenant space on one cluster (see the module docstring).

    `cluster_v1_id` is the cluster's `c-m-…` id (platform output `clusterV1Id`); `kubernetes_provider` is
    the provider for in-cluster objects. It must carry platform rights: a Namespace with Pod Security labels
    needs Rancher's `updatepsa` verb on the project (rancher/webhook
    `pkg/resources/core/v1/namespace/psalabels.go:85-114`, Cluster Owner only), and role templates are
    global objects, so a team's `project-member` credentials (`scoped_kubernetes_provider`) cannot create a
    tenant space; the cluster stack does (`blueprint/tenants.py`, `for_cluster`).
    `depends_on` gates everything (e.g. the platform's ClusterSync when used inside a cluster stack).
    """

    project: rancher2.Project
    namespaces: dict[str, TenantNamespace]
    project_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: TeamTenancyArgs | Mapping[str, Any],
        *,
        cluster_v1_id: pulumi.Input[str],
        kubernetes_provider: pulumi.ProviderResource,
        depends_on: Sequence[pulumi.Resource] = (),
        fleet_provider: pulumi.ProviderResource | None = None,
        platform_role_template_ids: pulumi.Input[Mapping[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Validate before registering anything: a bad config must leave no partial tenant behind.
        self.args = args = parse_team_args(args)
        check_providers(args, platform_role_template_ids, fleet_provider)
        super().__init__("hardened-rke2:tenancy:TeamTenancy", name, None, opts)
        base = pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))
        kube = pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(provider=kubernetes_provider))

        self.project = team_project(name, args, cluster_v1_id, base)
        # rancher2.Project ids are already `<clusterV1Id>:<projectId>`, the form the annotation needs.
        self.project_id = self.project.id
        self.role_templates = custom_role_templates(name, args, base)
        self.bindings = group_bindings(
            name, args, self.project, self.role_templates, platform_role_template_ids, base
        )
        self.namespaces = {
            ns.name: tenant_namespace(f"{name}-{ns.name}", args, ns, self.project.id, kube)
            for ns in args.namespaces
        }
        self.fleet_repo = team_fleet_repo(name, args, fleet_provider, base)

        self.register_outputs(
            {"projectId": self.project.id, "namespaces": [ns.name for ns in args.namespaces]}
        )

    @classmethod
    def for_cluster(
        cls,
        name: str,
        args: TeamTenancyArgs | Mapping[str, Any],
        cluster: ClusterHandle,
        *,
        fleet_provider: pulumi.ProviderResource | None = None,
        platform_role_template_ids: pulumi.Input[Mapping[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> TeamTenancy:
        """Platform side: a tenant space on a cluster this stack provisions, gated on its ClusterSync."""
        if cluster.kubernetes_provider is None:
            raise team_config_error(
                [
                    Problem(
                        (),
                        f"cluster {cluster.name!r} has no Kubernetes provider",
                        "create the cluster with one, or pass TeamTenancy a kubernetes_provider from "
                        "scoped_kubernetes_provider()",
                    )
                ]
            )
        return cls(
            name,
            args,
            cluster_v1_id=cluster.v1_id,
            kubernetes_provider=cluster.kubernetes_provider,
            depends_on=cluster.depends_on(),
            fleet_provider=fleet_provider,
            platform_role_template_ids=platform_role_template_ids,
            opts=opts,
        )


# --- the steps of TeamTenancy, in the order it runs them ----------------------------------------------


def team_project(
    name: str, args: TeamTenancyArgs, cluster_v1_id: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> rancher2.Project:
    """The team's Rancher project: project and per-namespace default quotas, container default limits."""
    return rancher2.Project(
        f"{name}-project",
        name=args.team,
        cluster_id=cluster_v1_id,
        description=args.description or f"Tenant space of team {args.team} (hardened-rke2)",
        labels={TEAM_LABEL: args.team},
        resource_quota=rancher2.ProjectResourceQuotaArgs(
            project_limit=rancher2.ProjectResourceQuotaProjectLimitArgs(**_snake(args.project_quota)),
            namespace_default_limit=rancher2.ProjectResourceQuotaNamespaceDefaultLimitArgs(
                **_snake(args.namespace_default_quota)
            ),
        ),
        container_resource_limit=rancher2.ProjectContainerResourceLimitArgs(
            limits_cpu=args.container_resources.limits_cpu,
            limits_memory=args.container_resources.limits_memory,
            requests_cpu=args.container_resources.requests_cpu,
            requests_memory=args.container_resources.requests_memory,
        ),
        opts=opts,
    )


def custom_role_templates(
    name: str, args: TeamTenancyArgs, opts: pulumi.ResourceOptions
) -> dict[str, rancher2.RoleTemplate]:
    """The team's own project role templates, by name (never administrative, external or default)."""
    return {
        role.name: rancher2.RoleTemplate(
            f"{name}-role-{role.name}",
            name=f"{args.team}-{role.name}",
            context="project",
            description=role.description or f"Custom project role of team {args.team}",
            rules=[rancher2.RoleTemplateRuleArgs(**r.as_rancher()) for r in role.rules],
            administrative=False,
            default_role=False,
            external=False,
            locked=False,
            labels={TEAM_LABEL: args.team},
            opts=opts,
        )
        for role in args.custom_roles
    }


def group_bindings(
    name: str,
    args: TeamTenancyArgs,
    project: rancher2.Project,
    role_templates: Mapping[str, rancher2.RoleTemplate],
    platform_role_template_ids: pulumi.Input[Mapping[str, str]] | None,
    opts: pulumi.ResourceOptions,
) -> list[rancher2.ProjectRoleTemplateBinding]:
    """One project role binding per SSO group (persona, custom or platform role)."""
    bindings = []
    for binding in args.groups:
        role_id: pulumi.Input[str]
        kind, role_name = binding.role_key
        if kind == "persona":
            role_id = PERSONA_ROLE_TEMPLATES[role_name]
        elif kind == "custom":
            role_id = role_templates[role_name].id
        else:
            role_id = pulumi.Output.from_input(platform_role_template_ids).apply(
                functools.partial(_platform_role_id, role=role_name)
            )
        digest = hashlib.sha256(binding.group_principal_id.encode()).hexdigest()[:8]
        bindings.append(
            rancher2.ProjectRoleTemplateBinding(
                f"{name}-{kind}-{role_name}-{digest}",
                project_id=project.id,
                role_template_id=role_id,
                group_principal_id=binding.group_principal_id,
                opts=opts,
            )
        )
    return bindings


def namespace_annotations(
    args: TeamTenancyArgs, ns: TeamNamespaceArgs, project_id: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    quota = args.quota_for(ns)
    return {
        PROJECT_ID_ANNOTATION: project_id,
        # Keep Rancher's own per-namespace quota/limit objects equal to ours.
        RANCHER_QUOTA_ANNOTATION: _json({"limit": quota.as_rancher()}),
        RANCHER_CONTAINER_LIMIT_ANNOTATION: _json(args.container_resources.as_rancher()),
    }


def limit_range_spec(cr: ContainerResourcesArgs) -> dict[str, Any]:
    """Container defaults and maximum for the namespace's LimitRange."""
    return {
        "limits": [
            {
                "type": "Container",
                "default": {"cpu": cr.limits_cpu, "memory": cr.limits_memory},
                "defaultRequest": {"cpu": cr.requests_cpu, "memory": cr.requests_memory},
                "max": {"cpu": cr.max_cpu, "memory": cr.max_memory},
            }
        ]
    }


def tenant_namespace(
    res: str,
    args: TeamTenancyArgs,
    ns: TeamNamespaceArgs,
    project_id: pulumi.Input[str],
    kube: pulumi.ResourceOptions,
) -> TenantNamespace:
    """A namespace with restricted PSA labels, quota, limits, no SA token automount, default-deny policies."""
    namespace = k8s.core.v1.Namespace(
        res,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=ns.name,
            labels={**args.pod_security.labels(), TEAM_LABEL: args.team},
            annotations=namespace_annotations(args, ns, project_id),
        ),
        opts=kube,
    )
    in_ns = pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[namespace]))
    ns_name = namespace.metadata.name

    def meta(obj: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=obj, namespace=ns_name, labels={TEAM_LABEL: args.team})

    k8s.core.v1.ResourceQuota(
        f"{res}-quota",
        metadata=meta("team-quota"),
        spec={"hard": args.quota_for(ns).as_kubernetes_hard()},
        opts=in_ns,
    )
    spec: Any = limit_range_spec(args.container_resources)
    k8s.core.v1.LimitRange(f"{res}-limits", metadata=meta("team-limits"), spec=spec, opts=in_ns)
    # The `default` ServiceAccount already exists (created by kube-controller-manager): patch it.
    k8s.core.v1.ServiceAccountPatch(
        f"{res}-default-sa",
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="default", namespace=ns_name),
        automount_service_account_token=False,
        opts=in_ns,
    )
    policies: dict[str, Any] = network_policies(args, ns)
    for policy_name, policy in policies.items():
        k8s.networking.v1.NetworkPolicy(
            f"{res}-{policy_name}", metadata=meta(policy_name), spec=policy, opts=in_ns
        )
    return TenantNamespace(ns.name, namespace)


def team_fleet_repo(
    name: str,
    args: TeamTenancyArgs,
    fleet_provider: pulumi.ProviderResource | None,
    opts: pulumi.ResourceOptions,
) -> GitOpsRepo | None:
    """The team's Fleet GitRepo on the local cluster, after its workspace restriction (if managed)."""
    if args.fleet is None or fleet_provider is None:
        return None
    after: list[pulumi.Resource] = []
    if args.fleet.manage_restriction:
        restriction = GitRepoRestriction(
            f"{name}-fleet",
            fleet_restriction(args.fleet, [ns.name for ns in args.namespaces]),
            fleet_provider,
            opts=opts,
        )
        after.append(restriction.restriction)
    return GitOpsRepo(f"{name}-fleet", args.fleet.repo, fleet_provider, opts=opts, after=after)


def _platform_role_id(ids: Mapping[str, str] | None, role: str) -> str:
    if not ids or role not in ids:
        raise ValueError(
            f"platformRole {role!r} is not a role template of the management stack "
            f"(fix: use one of {', '.join(sorted(ids or {})) or 'none exported'})"
        )
    return ids[role]


def _snake(quota: QuotaArgs) -> dict[str, Any]:
    return {k: v for k, v in quota.model_dump().items() if v is not None}


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
