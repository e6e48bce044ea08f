"""Team tenancy: a hardened tenant space for one application team on a Rancher-managed cluster.

A team gets a Rancher project (resource quota + default container limits), one or more namespaces
(restricted Pod Security Admission labels, ResourceQuota, LimitRange, default-deny network policies with
explicit DNS / same-namespace / ingress-controller / CIDR allowances, the `default` ServiceAccount with
token automount off) and SSO group bindings to Rancher project role templates.

Everything is validated before anything is registered. `scoped_kubernetes_provider` builds the
Kubernetes provider a team stack uses: a cluster-scoped Rancher token with an explicit TTL, minted with the
team's own Rancher credentials, and a kubeconfig that points at Rancher's authenticated, audited proxy
(`<rancherUrl>/k8s/clusters/<clusterV1Id>`), so team traffic is subject to Rancher RBAC and audit.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.gitops import GitOpsRepo, GitOpsRepoArgs, GitRepoRestriction, GitRepoRestrictionArgs
from components.handles import ClusterHandle
from components.kube_names import check_dns_label
from components.model import HardenedModel
from components.problems import ConfigProblems, Problem, ProblemList
from components.validation_errors import validation_problems

# --- constants -------------------------------------------------------------------------------------------

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
_PRINCIPAL_RE = re.compile(r"^(?P<scheme>[a-z]+_[a-z]+)://(?P<id>\S.*)$")

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

_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?|\.[0-9]+)(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_SUFFIX = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def parse_quantity(value: str) -> Decimal:
    """A Kubernetes resource quantity (`500m`, `2`, `512Mi`, `1G`) as a number; ValueError if malformed."""
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. '500m', '2', '512Mi', '4Gi')")
    try:
        return Decimal(match["num"]) * _SUFFIX[match["suffix"]]
    except InvalidOperation as exc:  # pragma: no cover - the regex only admits decimals
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from exc


# --- quotas and limits -----------------------------------------------------------------------------------

# Rancher quota field (camelCase, as in stack YAML and the rancher2 API) -> Kubernetes ResourceQuota key.
QUOTA_KEYS: Mapping[str, str] = {
    "limitsCpu": "limits.cpu",
    "limitsMemory": "limits.memory",
    "requestsCpu": "requests.cpu",
    "requestsMemory": "requests.memory",
    "requestsStorage": "requests.storage",
    "pods": "pods",
    "services": "services",
    "servicesLoadBalancers": "services.loadbalancers",
    "servicesNodePorts": "services.nodeports",
    "configMaps": "configmaps",
    "persistentVolumeClaims": "persistentvolumeclaims",
    "replicationControllers": "replicationcontrollers",
    "secrets": "secrets",
}


class QuotaArgs(HardenedModel):
    """A resource quota (NSA-2.8). Values are Kubernetes quantities as strings, as Rancher expects.

    CPU and memory requests and limits are required; LoadBalancer and NodePort Services default to 0 so
    a team cannot expose node ports or cloud load balancers without asking for it (`servicesNodePorts`).
    """

    limits_cpu: str
    """Total CPU limits, e.g. `"8"`."""
    limits_memory: str
    """Total memory limits, e.g. `16Gi`."""
    requests_cpu: str
    """Total CPU requests."""
    requests_memory: str
    """Total memory requests."""
    requests_storage: str | None = None
    """Total storage requests of PersistentVolumeClaims."""
    pods: str | None = None
    """Maximum number of pods."""
    services: str | None = None
    """Maximum number of Services."""
    services_load_balancers: str | None = "0"
    """Maximum LoadBalancer Services (default 0: none)."""
    services_node_ports: str | None = "0"
    """Maximum NodePort Services (default 0: none)."""
    config_maps: str | None = None
    """Maximum number of ConfigMaps."""
    persistent_volume_claims: str | None = None
    """Maximum number of PersistentVolumeClaims."""
    replication_controllers: str | None = None
    """Maximum number of ReplicationControllers."""
    secrets: str | None = None
    """Maximum number of Secrets."""

    @field_validator("*")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_quantity(value)
            except ValueError as exc:
                raise ConfigProblems.one(
                    str(exc), "use a Kubernetes quantity string such as '2', '500m' or '4Gi'"
                ) from exc
        return value

    @model_validator(mode="after")
    def _requests_within_limits(self) -> QuotaArgs:
        problems = ProblemList()
        for kind in ("Cpu", "Memory"):
            req, lim = getattr(self, f"requests_{kind.lower()}"), getattr(self, f"limits_{kind.lower()}")
            if parse_quantity(req) > parse_quantity(lim):
                problems.add(
                    [f"requests{kind}"],
                    f"requests{kind} {req} exceeds limits{kind} {lim}",
                    f"lower requests{kind} or raise limits{kind}",
                )
        problems.raise_if_any()
        return self

    def as_rancher(self) -> dict[str, str]:
        """camelCase fields that are set, as Rancher's quota JSON / the rancher2 SDK expect them."""
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}

    def as_kubernetes_hard(self) -> dict[str, str]:
        return {QUOTA_KEYS[k]: v for k, v in sorted(self.as_rancher().items())}


DEFAULT_PROJECT_QUOTA = QuotaArgs(
    limits_cpu="8", limits_memory="16Gi", requests_cpu="4", requests_memory="8Gi", pods="100"
)
DEFAULT_NAMESPACE_QUOTA = QuotaArgs(
    limits_cpu="4", limits_memory="8Gi", requests_cpu="2", requests_memory="4Gi", pods="50"
)


class ContainerResourcesArgs(HardenedModel):
    """Default requests/limits for containers that set none, and the per-container maximum (NSA-2.7, 2.9)."""

    limits_cpu: str = "500m"
    """Default CPU limit of a container that sets none."""
    limits_memory: str = "512Mi"
    """Default memory limit of a container that sets none."""
    requests_cpu: str = "100m"
    """Default CPU request of a container that sets none."""
    requests_memory: str = "128Mi"
    """Default memory request of a container that sets none."""
    max_cpu: str = "2"
    """Largest CPU limit one container may have."""
    max_memory: str = "4Gi"
    """Largest memory limit one container may have."""

    @field_validator("*")
    @classmethod
    def _quantity(cls, value: str) -> str:
        try:
            parse_quantity(value)
        except ValueError as exc:
            raise ConfigProblems.one(
                str(exc), "use a Kubernetes quantity string such as '500m' or '512Mi'"
            ) from exc
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ContainerResourcesArgs:
        problems = ProblemList()
        for kind in ("cpu", "memory"):
            cap = kind.capitalize()
            req, lim, mx = (getattr(self, f"{p}_{kind}") for p in ("requests", "limits", "max"))
            if parse_quantity(req) > parse_quantity(lim):
                problems.add(
                    [f"requests{cap}"],
                    f"default request {req} exceeds default limit {lim}",
                    f"lower requests{cap} or raise limits{cap}",
                )
            if parse_quantity(lim) > parse_quantity(mx):
                problems.add(
                    [f"limits{cap}"],
                    f"default limit {lim} exceeds the per-container maximum {mx}",
                    f"lower limits{cap} or raise max{cap}",
                )
        problems.raise_if_any()
        return self

    def as_rancher(self) -> dict[str, str]:
        return {
            "limitsCpu": self.limits_cpu,
            "limitsMemory": self.limits_memory,
            "requestsCpu": self.requests_cpu,
            "requestsMemory": self.requests_memory,
        }


# --- pod security, network ---------------------------------------------------------------------------------


class NamespacePodSecurityArgs(HardenedModel):
    """Pod Security Admission for the team's namespaces (NSA-1.10).

    `audit` and `warn` are always `restricted`; `enforce` is `restricted` unless a team explicitly asks
    for `baseline` (a weakening the policy pack reports).
    """

    enforce: Literal["restricted", "baseline"] = "restricted"
    """Enforced PSA level; `baseline` weakens the restricted default."""
    version: str = "latest"
    """PSA policy version label (`latest` or e.g. `v1.33`)."""

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value != "latest" and not re.match(r"^v1\.[0-9]+$", value):
            raise ConfigProblems.one(
                f"version {value!r} is not 'latest' or 'v1.<minor>'", "e.g. 'latest' or 'v1.33'"
            )
        return value

    def labels(self) -> dict[str, str]:
        return {
            f"{PSA_LABEL_PREFIX}enforce": self.enforce,
            f"{PSA_LABEL_PREFIX}enforce-version": self.version,
            f"{PSA_LABEL_PREFIX}audit": "restricted",
            f"{PSA_LABEL_PREFIX}audit-version": self.version,
            f"{PSA_LABEL_PREFIX}warn": "restricted",
            f"{PSA_LABEL_PREFIX}warn-version": self.version,
        }


class PeerSelectorArgs(HardenedModel):
    """Pods (by labels) in one namespace (by name): a cluster component a team's pods talk to."""

    namespace: str
    """Namespace of the peer pods."""
    pod_labels: dict[str, str]
    """Labels selecting the peer pods."""

    @field_validator("pod_labels")
    @classmethod
    def _non_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ConfigProblems.one(
                "podLabels is empty, which would select every pod of the namespace",
                "name the component's pod labels",
            )
        return value

    def peer(self) -> dict[str, Any]:
        return {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: self.namespace}},
            "podSelector": {"matchLabels": dict(sorted(self.pod_labels.items()))},
        }


# RKE2's CoreDNS (chart rke2-coredns) pods carry `k8s-app: kube-dns`; ingress-nginx is rke2-ingress-nginx.
DEFAULT_DNS = PeerSelectorArgs(namespace="kube-system", pod_labels={"k8s-app": "kube-dns"})
DEFAULT_INGRESS_CONTROLLER = PeerSelectorArgs(
    namespace="kube-system", pod_labels={"app.kubernetes.io/name": "rke2-ingress-nginx"}
)


class PortArgs(HardenedModel):
    port: int = Field(ge=1, le=65535)
    """Port number."""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """`TCP`, `UDP` or `SCTP`."""


class EgressRuleArgs(HardenedModel):
    """An explicit egress allowance to a CIDR on named ports. Metadata endpoints are always excluded."""

    name: str
    """Name of the allowance (NetworkPolicy `allow-egress-<name>`)."""
    cidr: str
    """Destination CIDR, e.g. `10.40.12.0/24`."""
    ports: list[PortArgs] = Field(min_length=1)
    """Destination ports (at least one)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dns_label(value, "egress rule name", 40)

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ConfigProblems.one(
                f"cidr {value!r} is not a network in CIDR form", "e.g. '10.20.0.0/16'"
            ) from exc
        for meta in METADATA_ENDPOINTS:
            if net.version == meta.version and net.subnet_of(meta):  # type: ignore[arg-type]
                raise ConfigProblems.one(
                    f"cidr {value} is the cloud metadata endpoint, which team pods may never reach (NSA-2.6)",
                    "remove this rule; use workload identity / a secrets store instead",
                )
        return value

    def excluded(self) -> list[str]:
        """Metadata endpoints inside this CIDR, which the rule carves out with `ipBlock.except`."""
        net = ipaddress.ip_network(self.cidr)
        return [
            str(meta)
            for meta in METADATA_ENDPOINTS
            if net.version == meta.version and meta.subnet_of(net)  # type: ignore[arg-type]
        ]


class TeamNamespaceArgs(HardenedModel):
    """One namespace of the team."""

    name: str
    """Namespace name (DNS label; not a platform prefix such as `kube-`, `cattle-`, `fleet-`, `rancher-`)."""
    quota: QuotaArgs | None = None
    """The namespace's share of the project quota; `None` = the tenancy's `namespaceDefaultQuota`."""
    allow_same_namespace: bool = True
    """Allow pod-to-pod traffic inside the namespace (ingress and egress)."""
    allow_from_ingress_controller: bool = False
    """Allow ingress from the cluster's ingress controller pods (needed to serve an Ingress)."""
    egress: list[EgressRuleArgs] = Field(default_factory=list)
    """Explicit egress allowances beyond DNS (default: none)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        check_dns_label(value, "namespace name")
        if value in RESERVED_NAMESPACES or value.startswith(RESERVED_NAMESPACE_PREFIXES):
            raise ConfigProblems.one(
                f"namespace {value!r} is reserved for the platform (NSA-2.1/2.2: no 'kube-' prefix, no "
                f"'default', no {', '.join(repr(p + '*') for p in RESERVED_NAMESPACE_PREFIXES[1:])})",
                "prefix it with your team name, e.g. 'payments-api'",
            )
        return value

    @model_validator(mode="after")
    def _unique_egress(self) -> TeamNamespaceArgs:
        problems = ProblemList()
        seen: set[str] = set()
        for i, rule in enumerate(self.egress):
            if rule.name in seen:
                problems.add(
                    ["egress", i, "name"],
                    f"duplicate egress rule name {rule.name!r}",
                    "give every egress rule a unique name",
                )
            seen.add(rule.name)
        problems.raise_if_any()
        return self


# --- RBAC ---------------------------------------------------------------------------------------------------


class RuleArgs(HardenedModel):
    """A Kubernetes policy rule of a custom project role. No wildcards (NSA-3.4), no escalation verbs."""

    api_groups: list[str] = Field(default_factory=lambda: [""])
    """API groups (`""` is the core group)."""
    resources: list[str] = Field(min_length=1)
    """Resources, e.g. `pods`, `pods/log`."""
    verbs: list[str] = Field(min_length=1)
    """Verbs granted, e.g. `get`, `list`, `watch`."""
    resource_names: list[str] = Field(default_factory=list)
    """Limits the rule to these object names."""

    @model_validator(mode="after")
    def _least_privilege(self) -> RuleArgs:
        problems = ProblemList()
        for field in ("api_groups", "resources", "verbs", "resource_names"):
            alias = to_camel(field)
            for i, item in enumerate(getattr(self, field)):
                if "*" in item:
                    problems.add(
                        [alias, i],
                        f"wildcard {item!r} grants everything, including what does not exist yet (NSA-3.4)",
                        f"list the exact {alias} the role needs",
                    )
        for i, verb in enumerate(self.verbs):
            if verb in ESCALATION_VERBS:
                problems.add(
                    ["verbs", i],
                    f"verb {verb!r} lets the holder grant itself more rights (NSA-3.6)",
                    f"remove {verb!r}; ask the platform team for a reviewed role instead",
                )
        problems.raise_if_any()
        return self

    def as_rancher(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "api_groups": list(self.api_groups),
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }
        if self.resource_names:
            rule["resource_names"] = list(self.resource_names)
        return rule


class CustomRoleArgs(HardenedModel):
    """A project-scoped Rancher role template defined by the team."""

    name: str
    """Role name (DNS label); must not collide with a persona."""
    description: str = ""
    """What the role may do, shown in Rancher."""
    rules: list[RuleArgs] = Field(min_length=1)
    """RBAC rules granted (at least one)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        check_dns_label(value, "custom role name")
        if value in PERSONA_ROLE_TEMPLATES.values():
            raise ValueError(
                f"custom role {value!r} shadows Rancher's built-in role "
                "(fix: use the persona instead, or pick another name)"
            )
        return value


class GroupBindingArgs(HardenedModel):
    """An SSO group bound to the project: as a persona (Rancher's built-in project roles), with one of the
    team's custom roles, or with a role template the platform's management stack publishes
    (`roleTemplateIds` output, e.g. `team-developer`)."""

    group_principal_id: str
    """SSO group principal, e.g. `keycloakoidc_group://payments-developers`."""
    persona: Literal["owner", "member", "read-only"] | None = None
    """Rancher's built-in project role: `owner`, `member` or `read-only`."""
    custom_role: str | None = None
    """Name of one of the team's `customRoles`."""
    platform_role: str | None = None
    """Key of a role template the management stack publishes (e.g. `team-developer`); needs `managementStack`.
    Key of a role template the management stack publishes (e.g. `team-developer`); needs `managementStack`."""

    @field_validator("group_principal_id")
    @classmethod
    def _principal(cls, value: str) -> str:
        match = _PRINCIPAL_RE.match(value)
        if not match or match["scheme"] not in GROUP_PRINCIPAL_SCHEMES:
            kind = (
                "a user or local principal"
                if match and match["scheme"].endswith("_user")
                else "not a group principal"
            )
            raise ValueError(
                f"{value!r} is {kind} "
                f"(fix: use an IdP group principal id '<scheme>://<group id>' with scheme one of "
                f"{', '.join(GROUP_PRINCIPAL_SCHEMES)}, e.g. 'keycloakoidc_group://payments-devs')"
            )
        return value

    @model_validator(mode="after")
    def _one_role(self) -> GroupBindingArgs:
        if sum(x is not None for x in (self.persona, self.custom_role, self.platform_role)) != 1:
            raise ValueError(
                "a group binding needs exactly one of persona, customRole and platformRole "
                "(fix: set persona: owner|member|read-only, customRole: <a customRoles entry>, or "
                "platformRole: <a role template of the management stack, e.g. team-developer>)"
            )
        return self

    @property
    def role_key(self) -> tuple[str, str]:
        if self.persona is not None:
            return ("persona", self.persona)
        if self.custom_role is not None:
            return ("custom", self.custom_role)
        return ("platform", self.platform_role or "")


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


@dataclass(frozen=True)
class TenantNamespace:
    """What the team's own resources need about one of its namespaces."""

    name: str
    namespace: k8s.core.v1.Namespace


class TeamTenancy(pulumi.ComponentResource):
    """A team's tenant space on one cluster (see the module docstring).

    `cluster_v1_id` is the cluster's `c-m-…` id (platform output `clusterV1Id`); `kubernetes_provider` is
    the provider for in-cluster objects (for a team: `scoped_kubernetes_provider(...).provider`).
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


def network_policies(args: TeamTenancyArgs, ns: TeamNamespaceArgs) -> dict[str, dict[str, Any]]:
    """The namespace's NetworkPolicy specs by name: default deny, then explicit allowances (NSA-2.4..2.6)."""
    both = ["Ingress", "Egress"]
    policies: dict[str, dict[str, Any]] = {
        "default-deny-all": {"podSelector": {}, "policyTypes": both},
        "allow-dns-egress": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [args.dns.peer()],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                }
            ],
        },
    }
    if ns.allow_same_namespace:
        same: dict[str, Any] = {"podSelector": {}}
        policies["allow-same-namespace"] = {
            "podSelector": {},
            "policyTypes": both,
            "ingress": [{"from": [same]}],
            "egress": [{"to": [same]}],
        }
    if ns.allow_from_ingress_controller:
        policies["allow-from-ingress-controller"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [args.ingress_controller.peer()]}],
        }
    for rule in ns.egress:
        block: dict[str, Any] = {"cidr": rule.cidr}
        if rule.excluded():
            block["except"] = rule.excluded()
        policies[f"allow-egress-{rule.name}"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": block}],
                    "ports": [{"port": p.port, "protocol": p.protocol} for p in rule.ports],
                }
            ],
        }
    return policies


def _snake(quota: QuotaArgs) -> dict[str, Any]:
    return {k: v for k, v in quota.model_dump().items() if v is not None}


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- scoped Kubernetes access for a team -------------------------------------------------------------------


class TeamAccessArgs(HardenedModel):
    """How a team stack reaches its cluster: Rancher's proxy, with a short-lived cluster-scoped token."""

    token_ttl_seconds: int = Field(default=8 * 3600, ge=15 * 60, le=24 * 3600)
    """Explicit TTL of the scoped token (the provider takes seconds; Rancher also caps it with
    `auth-token-max-ttl-minutes`, and the policy pack's default maximum is 24h). An expired token is
    renewed on the next `pulumi up`."""
    certificate_authority: str | None = None
    """PEM of a private CA that signed Rancher's certificate; never `insecure-skip-tls-verify`."""

    @field_validator("certificate_authority")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if value is not None and "-----BEGIN CERTIFICATE-----" not in value:
            raise ValueError(
                "certificateAuthority is not a PEM certificate (fix: paste the CA's PEM, "
                "'-----BEGIN CERTIFICATE-----' … '-----END CERTIFICATE-----')"
            )
        return value


@dataclass(frozen=True)
class ScopedKubernetes:
    token: rancher2.Token
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    """A secret."""


def proxy_server(rancher_url: str, cluster_v1_id: str) -> str:
    """Rancher's authenticated Kubernetes API proxy for a downstream cluster."""
    if not rancher_url.startswith("https://"):
        raise ValueError(f"rancherUrl {rancher_url!r} is not https (fix: use Rancher's https:// server URL)")
    if not re.match(r"^c-[a-z0-9-]+$", cluster_v1_id):
        raise ValueError(
            f"clusterV1Id {cluster_v1_id!r} is not a Rancher v1 cluster id "
            "(fix: use the platform stack's clusterV1Id output, e.g. 'c-m-abcd1234')"
        )
    return f"{rancher_url.rstrip('/')}/k8s/clusters/{cluster_v1_id}"


def render_kubeconfig(server: str, token: str, context: str, certificate_authority: str | None = None) -> str:
    cluster: dict[str, Any] = {"server": server}
    if certificate_authority:
        cluster["certificate-authority-data"] = base64.b64encode(certificate_authority.encode()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }
    return yaml.safe_dump(config, sort_keys=True)


def scoped_kubernetes_provider(
    name: str,
    *,
    rancher_url: pulumi.Input[str],
    cluster_v1_id: pulumi.Input[str],
    args: TeamAccessArgs | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> ScopedKubernetes:
    """A Kubernetes provider for a team stack, authenticated by a cluster-scoped Rancher token.

    The token is minted with the rancher2 provider's credentials (the team's own `rancher2:apiUrl` /
    `rancher2:tokenKey` config or RANCHER_URL / RANCHER_TOKEN_KEY), so the team can do no more than
    Rancher lets it; all API traffic goes through Rancher's proxy (RBAC + API audit log).
    """
    args = args or TeamAccessArgs()
    if isinstance(rancher_url, str) and isinstance(cluster_v1_id, str):
        proxy_server(rancher_url, cluster_v1_id)  # plain values: reject before registering anything
    token = rancher2.Token(
        f"{name}-token",
        cluster_id=cluster_v1_id,
        ttl=args.token_ttl_seconds,
        renew=True,
        description=f"hardened-rke2 team stack {pulumi.get_project()}/{pulumi.get_stack()} ({name})",
        opts=opts,
    )
    ca = args.certificate_authority

    def _render(values: list[Any]) -> str:
        url, v1, value = values
        return render_kubeconfig(proxy_server(url, v1), value, f"rancher-{v1}", ca)

    rendered: pulumi.Output[str] = pulumi.Output.all(rancher_url, cluster_v1_id, token.token).apply(_render)
    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(rendered)
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        # A stable identity: renewing the token changes the kubeconfig but must not replace every object.
        cluster_identifier=pulumi.Output.concat("rancher-", cluster_v1_id),
        enable_server_side_apply=True,
        delete_unreachable=False,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[token])),
    )
    return ScopedKubernetes(token=token, provider=provider, kubeconfig=kubeconfig)
