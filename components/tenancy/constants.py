"""Names, labels and limits of a tenant space shared by every tenancy module."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

PSA_LABEL_PREFIX = "pod-security.kubernetes.io/"
PROJECT_ID_ANNOTATION = "field.cattle.io/projectId"
RANCHER_QUOTA_ANNOTATION = "field.cattle.io/resourceQuota"
RANCHER_CONTAINER_LIMIT_ANNOTATION = "field.cattle.io/containerDefaultResourceLimit"
TEAM_LABEL = "hardened-rke2.io/team"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

METADATA_ENDPOINTS = (
    ipaddress.ip_network("169.254.169.254/32"),  # AWS/Azure/GCP/OpenStack instance metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS IMDS over IPv6
)

# Rancher's built-in project role templates per persona.
PERSONA_ROLE_TEMPLATES: Mapping[str, str] = {
    "owner": "project-owner",
    "member": "project-member",
    "read-only": "read-only",
}

# Group principal schemes of Rancher's auth providers (`<provider>_group://<id>`; GitHub uses org/team).
GROUP_PRINCIPAL_SCHEMES: tuple[str, ...] = (
    "activedirectory_group",
    "adfs_group",
    "azuread_group",
    "freeipa_group",
    "genericoidc_group",
    "github_org",
    "github_team",
    "githubapp_org",
    "githubapp_team",
    "googleoauth_group",
    "keycloak_group",
    "keycloakoidc_group",
    "okta_group",
    "openldap_group",
    "ping_group",
    "shibboleth_group",
)

RESERVED_NAMESPACES = frozenset(
    {
        "default",
        "local",
        "tigera-operator",
        "security-scan",
        "cis-operator-system",
        "compliance-operator-system",
    }
)
RESERVED_NAMESPACE_PREFIXES = ("kube-", "cattle-", "fleet-", "rancher-", "istio-", "calico-")

# Verbs that let a subject grant itself more than it has (NSA-3.6); never in a team's custom role.
ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate"})
