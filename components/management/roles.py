"""Global roles, their bindings to SSO groups, and the role templates teams are granted.

New-user default (DISA Rancher STIG V-252845): `user-base` (login only) must be the ONLY new-user default
and the built-in `user` ("Standard User", can create clusters) must not be. Both are built-in
`GlobalRole`s that Rancher creates itself, so a `rancher2.GlobalRole` cannot own them (create fails on
the existing object; import would have to match first and delete would remove a built-in). Instead each
is patched in place with a server-side-apply patch of the `management.cattle.io/v3` object
(`kubernetes:management.cattle.io/v3:GlobalRolePatch`, the generic `<Kind>Patch` resource of the
Kubernetes provider) that owns only `newUserDefault`; Rancher's webhook allows exactly that field to change
on built-ins. `pulumi.com/patchForce` takes the field over from Rancher's field manager.

On destroy a Patch resource is normally *undone*: pulumi-kubernetes relinquishes its fields with an empty
server-side apply (`provider/pkg/await/await.go:958-961` -> `ssa.Relinquish`,
`provider/pkg/ssa/actions.go:27-59`), and a field no manager owns any more is removed, i.e. `newUserDefault`
would fall back to false on `user-base` and every new user would start without any global role. Users
destroying this stack (to move Rancher's configuration to another stack, or before uninstalling Rancher)
want the STIG default to survive, so both patches are registered with `retain_on_delete=True`: destroy only
drops them from the state and the values stay as set. To hand the field back, edit the GlobalRole after the
destroy.

Role templates are validated: no `*` in apiGroups, resources, verbs or nonResourceURLs, and no
privilege-escalation verbs (escalate, bind, impersonate).
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
import pulumi_rancher2 as rancher2
from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from components.kube_names import DnsLabel
from components.model import HardenedModel
from components.problems import ProblemList

ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate"})
READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete")
BUILTIN_ADMIN_ROLE = "admin"
USER_BASE_ROLE = "user-base"
STANDARD_USER_ROLE = "user"


class RuleArgs(HardenedModel):
    """One RBAC rule: explicit groups, resources and verbs (never `*`)."""

    api_groups: tuple[str, ...] = ("",)
    """API groups (`""` is the core group)."""
    resources: tuple[str, ...] = ()
    """Resources, e.g. `pods` or `pods/log`."""
    resource_names: tuple[str, ...] = ()
    """Limits the rule to these object names."""
    non_resource_urls: tuple[str, ...] = ()
    """Non-resource URLs (cluster context), e.g. `/healthz`."""
    verbs: tuple[str, ...] = Field(min_length=1)
    """Verbs granted, e.g. `get`, `list`, `watch`."""

    @model_validator(mode="after")
    def _no_wildcards(self) -> RuleArgs:
        problems = ProblemList()
        for field in ("api_groups", "resources", "verbs", "non_resource_urls", "resource_names"):
            if any("*" in item for item in getattr(self, field)):
                problems.add((to_camel(field),), "wildcards are not allowed", "list the items explicitly")
        bad = sorted(ESCALATION_VERBS.intersection(self.verbs))
        if bad:
            problems.add(("verbs",), f"{', '.join(bad)} allow privilege escalation", "remove them")
        if not self.resources and not self.non_resource_urls:
            problems.add(
                ("resources",),
                "a rule needs resources or nonResourceUrls",
                "list the resources (or nonResourceUrls for a cluster-context rule)",
            )
        problems.raise_if_any()
        return self

    def sdk_args(self, cls: Any) -> Any:
        kwargs: dict[str, Any] = {"verbs": list(self.verbs)}
        if self.resources:
            kwargs.update(api_groups=list(self.api_groups), resources=list(self.resources))
        if self.resource_names:
            kwargs["resource_names"] = list(self.resource_names)
        if self.non_resource_urls:
            kwargs["non_resource_urls"] = list(self.non_resource_urls)
        return cls(**kwargs)


class RoleTemplateArgs(HardenedModel):
    name: DnsLabel
    """Key of the role template (DNS label), e.g. `team-developer`; teams refer to it as `platformRole`."""
    display_name: str | None = None
    """Name shown in the Rancher UI."""
    context: Literal["cluster", "project"]
    """`project` or `cluster` role template."""
    description: str = ""
    """What the role may do, shown in Rancher."""
    rules: tuple[RuleArgs, ...] = Field(min_length=1)
    """RBAC rules granted (explicit, no `*`, no escalate / bind / impersonate)."""


_WORKLOADS = (
    RuleArgs(
        api_groups=("apps",),
        resources=("deployments", "statefulsets", "daemonsets", "replicasets"),
        verbs=READ + WRITE,
    ),
    RuleArgs(api_groups=("batch",), resources=("jobs", "cronjobs"), verbs=READ + WRITE),
    RuleArgs(resources=("pods",), verbs=(*READ, "delete")),
    RuleArgs(resources=("pods/log",), verbs=("get", "list")),
    RuleArgs(resources=("configmaps", "services", "persistentvolumeclaims"), verbs=READ + WRITE),
    # Secrets can be written but not read back: reading is the usual exfiltration path.
    RuleArgs(resources=("secrets",), verbs=WRITE),
    RuleArgs(api_groups=("networking.k8s.io",), resources=("ingresses",), verbs=READ + WRITE),
    RuleArgs(api_groups=("autoscaling",), resources=("horizontalpodautoscalers",), verbs=READ + WRITE),
    RuleArgs(api_groups=("", "events.k8s.io"), resources=("events",), verbs=READ),
)
_VIEW = (
    RuleArgs(
        api_groups=("apps",),
        resources=("deployments", "statefulsets", "daemonsets", "replicasets"),
        verbs=READ,
    ),
    RuleArgs(api_groups=("batch",), resources=("jobs", "cronjobs"), verbs=READ),
    RuleArgs(resources=("pods", "configmaps", "services", "persistentvolumeclaims", "events"), verbs=READ),
    RuleArgs(api_groups=("networking.k8s.io",), resources=("ingresses", "networkpolicies"), verbs=READ),
)
_CLUSTER_VIEW = (
    RuleArgs(resources=("nodes", "namespaces", "persistentvolumes"), verbs=READ),
    RuleArgs(api_groups=("storage.k8s.io",), resources=("storageclasses",), verbs=READ),
    RuleArgs(api_groups=("networking.k8s.io",), resources=("networkpolicies", "ingressclasses"), verbs=READ),
    RuleArgs(
        api_groups=("rbac.authorization.k8s.io",),
        resources=("roles", "rolebindings", "clusterroles", "clusterrolebindings"),
        verbs=READ,
    ),
)

DEFAULT_ROLE_TEMPLATES: tuple[RoleTemplateArgs, ...] = (
    RoleTemplateArgs(
        name="team-developer",
        display_name="Team developer",
        context="project",
        description="Deploy and operate workloads in the team's namespaces; no exec, no secret reads",
        rules=_WORKLOADS,
    ),
    RoleTemplateArgs(
        name="team-viewer",
        display_name="Team viewer",
        context="project",
        description="Read workloads in the team's namespaces (not secrets)",
        rules=_VIEW,
    ),
    RoleTemplateArgs(
        name="cluster-auditor",
        display_name="Cluster auditor",
        context="cluster",
        description="Read cluster-scoped configuration and RBAC (not secrets)",
        rules=_CLUSTER_VIEW,
    ),
)

# Rancher-level objects an auditor may read (never tokens or secrets).
AUDITOR_GLOBAL_RULES: tuple[RuleArgs, ...] = (
    RuleArgs(
        api_groups=("management.cattle.io",),
        resources=(
            "clusters",
            "projects",
            "users",
            "globalroles",
            "globalrolebindings",
            "roletemplates",
            "clusterroletemplatebindings",
            "projectroletemplatebindings",
            "settings",
            "authconfigs",
            "podsecurityadmissionconfigurationtemplates",
            "features",
        ),
        verbs=READ,
    ),
    RuleArgs(api_groups=("provisioning.cattle.io",), resources=("clusters",), verbs=READ),
)


def _slug(principal: str) -> str:
    body = principal.split("://", 1)[-1]
    return "".join(c if c.isalnum() else "-" for c in body.lower()).strip("-")[:40]


class RolesArgs(HardenedModel):
    platform_admin_groups: tuple[str, ...] = Field(min_length=1)
    """SSO group principals bound to Rancher's built-in `admin` global role."""
    auditor_groups: tuple[str, ...] = ()
    """SSO group principals given a read-only auditor global role (inherits the `cluster-auditor` role
    template)."""
    role_templates: tuple[RoleTemplateArgs, ...] = DEFAULT_ROLE_TEMPLATES
    """Role templates teams bind (exported as `roleTemplateIds`); replacing the list replaces the built-in
    ones."""

    @model_validator(mode="after")
    def _unique(self) -> RolesArgs:
        problems = ProblemList()
        names = [t.name for t in self.role_templates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.add(
                ("roleTemplates",),
                f"duplicate names {', '.join(dupes)}",
                "give every role template its own name",
            )
        for field in ("platform_admin_groups", "auditor_groups"):
            key = to_camel(field)
            bad = [g for g in getattr(self, field) if "_group://" not in g]
            if bad:
                problems.add((key,), f"{bad} are not group principals", "<provider>_group://<group>")
            slugs = [_slug(g) for g in getattr(self, field)]
            clashes = sorted({g for g in getattr(self, field) if slugs.count(_slug(g)) > 1})
            if clashes:
                problems.add(
                    (key,),
                    f"{clashes} are duplicates or differ only in punctuation/case",
                    "list each group once",
                )
        problems.raise_if_any()
        return self

    @property
    def group_principals(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.platform_admin_groups) | set(self.auditor_groups)))


class GlobalRoleNewUserDefaultPatch(pulumi.CustomResource):
    """Server-side-apply patch of one built-in Rancher `GlobalRole`'s `newUserDefault` (see module doc).

    Retained on delete: destroying the stack leaves the value as set instead of relinquishing the field.
    """

    def __init__(self, name: str, role: str, new_user_default: bool, opts: pulumi.ResourceOptions) -> None:
        props = {
            "apiVersion": "management.cattle.io/v3",
            "kind": "GlobalRole",
            "metadata": {"name": role, "annotations": {"pulumi.com/patchForce": "true"}},
            "newUserDefault": new_user_default,
        }
        retained = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
        super().__init__("kubernetes:management.cattle.io/v3:GlobalRolePatch", name, props, retained)


class Roles(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: RolesArgs | dict[str, Any],
        *,
        provider: pulumi.ProviderResource,
        kubernetes_provider: pulumi.ProviderResource,
        depends_on: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args if isinstance(args, RolesArgs) else RolesArgs.model_validate(args)
        super().__init__("hardened-rke2:management:Roles", name, None, opts)
        rancher_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=kubernetes_provider, depends_on=depends_on or []
        )

        self.new_user_defaults = [
            GlobalRoleNewUserDefaultPatch(f"{name}-user-base-default", USER_BASE_ROLE, True, k8s_opts),
            GlobalRoleNewUserDefaultPatch(
                f"{name}-standard-user-not-default", STANDARD_USER_ROLE, False, k8s_opts
            ),
        ]
        self.role_templates = {
            t.name: rancher2.RoleTemplate(
                f"{name}-{t.name}",
                name=t.display_name or t.name,
                context=t.context,
                description=t.description,
                default_role=False,
                locked=False,
                rules=[r.sdk_args(rancher2.RoleTemplateRuleArgs) for r in t.rules],
                opts=rancher_opts,
            )
            for t in args.role_templates
        }
        self.bindings: list[rancher2.GlobalRoleBinding] = [
            rancher2.GlobalRoleBinding(
                f"{name}-platform-admin-{_slug(group)}",
                global_role_id=BUILTIN_ADMIN_ROLE,
                group_principal_id=group,
                opts=rancher_opts,
            )
            for group in args.platform_admin_groups
        ]
        self.auditor_role: rancher2.GlobalRole | None = None
        if args.auditor_groups:
            inherited = [rt.id for key, rt in self.role_templates.items() if key == "cluster-auditor"]
            self.auditor_role = rancher2.GlobalRole(
                f"{name}-auditor",
                name="Auditor",
                description="Read-only Rancher configuration, clusters and RBAC (no secrets or tokens)",
                new_user_default=False,
                rules=[r.sdk_args(rancher2.GlobalRoleRuleArgs) for r in AUDITOR_GLOBAL_RULES],
                inherited_cluster_roles=inherited or None,
                opts=rancher_opts,
            )
            self.bindings += [
                rancher2.GlobalRoleBinding(
                    f"{name}-auditor-{_slug(group)}",
                    global_role_id=self.auditor_role.id,
                    group_principal_id=group,
                    opts=rancher_opts,
                )
                for group in args.auditor_groups
            ]
        self.register_outputs({"roleTemplates": sorted(self.role_templates)})
