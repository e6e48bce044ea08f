"""Team tenancy: a hardened tenant space for one application team on a Rancher-managed cluster.

A team gets a Rancher project (resource quota + default container limits), one or more namespaces
(restricted Pod Security Admission labels, ResourceQuota, LimitRange, default-deny network policies with
explicit DNS / same-namespace / ingress-controller / CIDR allowances, the `default` ServiceAccount with
token automount off) and SSO group bindings to Rancher project role templates.

Everything is validated before anything is registered. The tenant space needs platform rights (Cluster
Owner: `updatepsa` for the PSA-labelled namespaces, global role templates), so a platform stack creates it
(the cluster stack's `tenants`). `scoped_kubernetes_provider` builds the
Kubernetes provider a team stack uses: a cluster-scoped Rancher token with an explicit TTL, minted with the
team's own Rancher credentials, and a kubeconfig that points at Rancher's authenticated, audited proxy
(`<rancherUrl>/k8s/clusters/<clusterV1Id>`), so team traffic is subject to Rancher RBAC and audit.

One concept per module: `constants`, `quotas`, `namespaces`, `rbac`, `args` (the config model and its
problem report), `network_policies`, `component` (TeamTenancy and its steps), `access` (a team's scoped
Kubernetes provider).
"""

from __future__ import annotations

from components.tenancy.access import (
    ScopedKubernetes,
    TeamAccessArgs,
    proxy_server,
    render_kubeconfig,
    scoped_kubernetes_provider,
)
from components.tenancy.args import (
    TeamConfigError,
    TeamFleetArgs,
    TeamTenancyArgs,
    check_providers,
    fleet_restriction,
    parse_team_args,
    team_config_error,
    team_problems,
)
from components.tenancy.component import (
    TeamTenancy,
    TenantNamespace,
    custom_role_templates,
    group_bindings,
    limit_range_spec,
    namespace_annotations,
    team_fleet_repo,
    team_project,
    tenant_namespace,
)
from components.tenancy.constants import (
    ESCALATION_VERBS,
    GROUP_PRINCIPAL_SCHEMES,
    METADATA_ENDPOINTS,
    NAMESPACE_NAME_LABEL,
    PERSONA_ROLE_TEMPLATES,
    PROJECT_ID_ANNOTATION,
    PSA_LABEL_PREFIX,
    RANCHER_CONTAINER_LIMIT_ANNOTATION,
    RANCHER_QUOTA_ANNOTATION,
    RESERVED_NAMESPACE_PREFIXES,
    RESERVED_NAMESPACES,
    TEAM_LABEL,
)
from components.tenancy.namespaces import (
    DEFAULT_DNS,
    DEFAULT_INGRESS_CONTROLLER,
    EgressRuleArgs,
    NamespacePodSecurityArgs,
    PeerSelectorArgs,
    PortArgs,
    TeamNamespaceArgs,
)
from components.tenancy.network_policies import network_policies
from components.tenancy.quotas import (
    DEFAULT_NAMESPACE_QUOTA,
    DEFAULT_PROJECT_QUOTA,
    QUOTA_KEYS,
    ContainerResourcesArgs,
    QuotaArgs,
    parse_quantity,
)
from components.tenancy.rbac import CustomRoleArgs, GroupBindingArgs, RuleArgs

__all__ = [
    "DEFAULT_DNS",
    "DEFAULT_INGRESS_CONTROLLER",
    "DEFAULT_NAMESPACE_QUOTA",
    "DEFAULT_PROJECT_QUOTA",
    "ESCALATION_VERBS",
    "GROUP_PRINCIPAL_SCHEMES",
    "METADATA_ENDPOINTS",
    "NAMESPACE_NAME_LABEL",
    "PERSONA_ROLE_TEMPLATES",
    "PROJECT_ID_ANNOTATION",
    "PSA_LABEL_PREFIX",
    "QUOTA_KEYS",
    "RANCHER_CONTAINER_LIMIT_ANNOTATION",
    "RANCHER_QUOTA_ANNOTATION",
    "RESERVED_NAMESPACES",
    "RESERVED_NAMESPACE_PREFIXES",
    "TEAM_LABEL",
    "ContainerResourcesArgs",
    "CustomRoleArgs",
    "EgressRuleArgs",
    "GroupBindingArgs",
    "NamespacePodSecurityArgs",
    "PeerSelectorArgs",
    "PortArgs",
    "QuotaArgs",
    "RuleArgs",
    "ScopedKubernetes",
    "TeamAccessArgs",
    "TeamConfigError",
    "TeamFleetArgs",
    "TeamNamespaceArgs",
    "TeamTenancy",
    "TeamTenancyArgs",
    "TenantNamespace",
    "check_providers",
    "custom_role_templates",
    "fleet_restriction",
    "group_bindings",
    "limit_range_spec",
    "namespace_annotations",
    "network_policies",
    "parse_quantity",
    "parse_team_args",
    "proxy_server",
    "render_kubeconfig",
    "scoped_kubernetes_provider",
    "team_config_error",
    "team_fleet_repo",
    "team_problems",
    "team_project",
    "tenant_namespace",
]
