"""What Rancher's built-in `project-member` role lets its holder do, and what a registered resource needs.

Transcribed (facts only) from:
- rancher/rancher `pkg/data/management/role_data.go:237-262` ("Project Member", `project-member`): its own
  rules, and `setRoleTemplateNames("edit")` (line 262), i.e. it also carries the Kubernetes `edit`
  ClusterRole (the external "Kubernetes edit" role template, line 121).
- Kubernetes `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`: `edit` aggregates
  `system:aggregate-to-edit` and `system:aggregate-to-view` (Read = get/list/watch; Write = create/delete/
  deletecollection/patch/update). Only the rules for API groups a team stack could touch are transcribed.
- What `project-member` lacks, with the source that needs it:
  - `updatepsa` on `management.cattle.io` `projects`, which rancher/webhook's namespace admitter requires for
    a Namespace carrying `pod-security.kubernetes.io/*` labels (`pkg/resources/core/v1/namespace/
    psalabels.go:19-20, 85-114`); among the built-in roles only Cluster Owner has it (role_data.go:133);
  - `management.cattle.io` `projects` create, `roletemplates` (global objects) and writing
    `projectroletemplatebindings` (project-member may only read them, role_data.go:239);
  - writing `resourcequotas` / `limitranges` (`edit` only reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
CRUD = (*READ, *WRITE)
PSA_PREFIX = "pod-security.kubernetes.io/"

Rule = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # apiGroups, resources, verbs

# role_data.go:237-261, project-member's own rules (Istio, Traefik and Gateway API rules left out: a team
# stack of this repository registers none of those kinds).
PROJECT_MEMBER_OWN: tuple[Rule, ...] = (
    (("ui.cattle.io",), ("navlinks",), READ),
    (("management.cattle.io",), ("projectroletemplatebindings",), READ),
    (("",), ("namespaces",), ("create",)),
    (("",), ("persistentvolumes",), READ),
    (("storage.k8s.io",), ("storageclasses",), READ),
    (("apiregistration.k8s.io",), ("apiservices",), READ),
    (("",), ("persistentvolumeclaims",), ("*",)),
    (("metrics.k8s.io",), ("pods",), ("*",)),
    (("management.cattle.io",), ("clusterevents",), READ),
    (("monitoring.coreos.com",), ("prometheuses", "prometheusrules", "servicemonitors"), ("*",)),
    (("catalog.cattle.io",), ("clusterrepos", "operations", "releases", "apps"), READ),
)
# Kubernetes `edit` = system:aggregate-to-edit + system:aggregate-to-view (policy.go).
KUBERNETES_EDIT: tuple[Rule, ...] = (
    (
        ("",),
        ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
        READ,
    ),
    (("",), ("serviceaccounts",), ("impersonate",)),
    (("",), ("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"), WRITE),
    (
        ("",),
        (
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/proxy",
            "endpoints",
            "persistentvolumeclaims",
            "configmaps",
            "secrets",
        ),
        WRITE,
    ),
    (
        ("apps",),
        (
            "statefulsets",
            "statefulsets/scale",
            "daemonsets",
            "deployments",
            "deployments/scale",
            "deployments/rollback",
            "replicasets",
            "replicasets/scale",
        ),
        WRITE,
    ),
    (("autoscaling",), ("horizontalpodautoscalers",), WRITE),
    (("batch",), ("jobs", "cronjobs"), WRITE),
    (("policy",), ("poddisruptionbudgets",), WRITE),
    (("networking.k8s.io",), ("networkpolicies", "ingresses"), WRITE),
    # view
    (
        ("",),
        (
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "endpoints",
            "persistentvolumeclaims",
            "configmaps",
        ),
        READ,
    ),
    (
        ("",),
        (
            "limitranges",
            "resourcequotas",
            "bindings",
            "events",
            "pods/status",
            "resourcequotas/status",
            "namespaces/status",
            "replicationcontrollers/status",
            "pods/log",
        ),
        READ,
    ),
    (("",), ("namespaces",), READ),
    (
        ("apps",),
        (
            "controllerrevisions",
            "statefulsets",
            "daemonsets",
            "deployments",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
        ),
        READ,
    ),
    (("autoscaling",), ("horizontalpodautoscalers",), READ),
    (("batch",), ("jobs", "cronjobs"), READ),
    (("policy",), ("poddisruptionbudgets",), READ),
    (("networking.k8s.io",), ("networkpolicies", "ingresses", "ingresses/status"), READ),
)
PROJECT_MEMBER: tuple[Rule, ...] = PROJECT_MEMBER_OWN + KUBERNETES_EDIT


def allows(rules: Iterable[Rule], group: str, resource: str, verb: str) -> bool:
    return any(
        group in groups and resource in resources and (verb in verbs or "*" in verbs)
        for groups, resources, verbs in rules
    )


# Pulumi's create/read/update/delete of a Kubernetes object (server-side apply is a PATCH; refresh a GET),
# plus what pulumi-kubernetes' await logic watches for the kind (provider/pkg/await/deployment.go:165-195,
# service.go:138-148, ingress.go:117-137).
_OWN = ("create", "get", "patch", "update", "delete")
KUBERNETES_NEEDS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "kubernetes:apps/v1:Deployment": (
        ("apps", "deployments", (*_OWN, "list", "watch")),
        ("apps", "replicasets", READ),
        ("", "pods", READ),
        ("", "persistentvolumeclaims", READ),
    ),
    "kubernetes:core/v1:Service": (("", "services", (*_OWN, "list", "watch")), ("", "endpoints", READ)),
    "kubernetes:networking.k8s.io/v1:Ingress": (
        ("networking.k8s.io", "ingresses", (*_OWN, "list", "watch")),
        ("", "endpoints", READ),
        ("", "services", READ),
    ),
    "kubernetes:core/v1:ResourceQuota": (("", "resourcequotas", _OWN),),
    "kubernetes:core/v1:LimitRange": (("", "limitranges", _OWN),),
    "kubernetes:core/v1:ServiceAccountPatch": (("", "serviceaccounts", ("get", "patch")),),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": (("networking.k8s.io", "networkpolicies", _OWN),),
}
# Rancher API objects: what they need in Rancher's RBAC terms. `rancher2.Token` is the caller's own token
# (every logged-in user holds `user-base`, role_data.go:95-102, which grants `ext.cattle.io` `tokens`);
# a cluster-scoped one only works for a cluster the user can reach (project membership in it).
RANCHER_NEEDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "rancher2:index/token:Token": (),
    "rancher2:index/project:Project": (("management.cattle.io", "projects", "create"),),
    "rancher2:index/roleTemplate:RoleTemplate": (("management.cattle.io", "roletemplates", "create"),),
    "rancher2:index/projectRoleTemplateBinding:ProjectRoleTemplateBinding": (
        ("management.cattle.io", "projectroletemplatebindings", "create"),
    ),
}
# Registrations that are no API object (the engine's, a provider, a component, a stack reference).
NO_API_OBJECT = frozenset(
    {
        "pulumi:pulumi:Stack",
        "pulumi:pulumi:StackReference",
        "pulumi:providers:kubernetes",
        "pulumi:providers:rancher2",
    }
)


def needs(type_: str, inputs: Mapping[str, Any]) -> list[tuple[str, str, str]] | None:
    """(apiGroup, resource, verb) a registration needs, or None for a type this table does not know."""
    if type_ in NO_API_OBJECT or type_.startswith("hardened-rke2:"):
        return []
    if type_ == "kubernetes:core/v1:Namespace":
        labels = (inputs.get("metadata") or {}).get("labels") or {}
        # Creating it is the step that matters (Rancher's project namespace roles cover the rest).
        out = [("", "namespaces", "create")]
        if any(str(k).startswith(PSA_PREFIX) for k in labels):
            out.append(("management.cattle.io", "projects", "updatepsa"))
        return out
    if type_ in KUBERNETES_NEEDS:
        return [(g, r, v) for g, r, verbs in KUBERNETES_NEEDS[type_] for v in verbs]
    if type_ in RANCHER_NEEDS:
        return list(RANCHER_NEEDS[type_])
    return None


def missing(type_: str, inputs: Mapping[str, Any], rules: Iterable[Rule] = PROJECT_MEMBER) -> list[str]:
    """What `rules` do not grant for this registration ("unknown type" for a type the table lacks)."""
    required = needs(type_, inputs)
    if required is None:
        return [f"{type_}: not in the rights table (tests/support/rancher_rights.py)"]
    rules = tuple(rules)
    return [f"{g or 'core'}/{r}: {v}" for g, r, v in required if not allows(rules, g, r, v)]
