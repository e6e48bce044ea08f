"""Fleet GitOps with safe defaults: a `GitRepo` and a per-workspace `GitRepoRestriction`
(NSA/CISA guide: controlled, auditable change delivery; least privilege for the deploy identity).

There is no rancher2 resource for either: both are Fleet custom resources (`fleet.cattle.io/v1alpha1`)
created on Rancher's LOCAL cluster, in a workspace namespace (`fleet-default` targets downstream
clusters), through a Kubernetes provider for the local cluster that the caller passes in.

GitRepo defaults: https or ssh only (ssh needs a client secret carrying `known_hosts`), TLS verification on
(`insecureSkipTlsVerify: true` is the named weakening), credentials only by Secret name, optional pinned
`revision`, drift correction on, a least-privilege `serviceAccount` on the target clusters (without one
the Fleet agent deploys with its own, cluster-admin, identity), and explicit targets by cluster labels or
cluster group — an empty selector (every cluster in the workspace) is refused.

GitRepoRestriction keeps its fields at the top level of the object (not under `spec`), so it is registered
as a raw Kubernetes object rather than through `apiextensions.CustomResource` (which only knows `spec`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import yaml
from pulumi_kubernetes import _utilities as k8s_utilities
from pydantic import Field, field_validator, model_validator

from components.kube_names import check_dns_label
from components.model import HardenedModel
from components.problems import ConfigProblems, ProblemList
from components.tls import certificate_authority_data, pem_certificates

FLEET_API_VERSION = "fleet.cattle.io/v1alpha1"
DEFAULT_WORKSPACE = "fleet-default"
_SCP_LIKE_SSH = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$")
SECURE_PATTERN_PREFIXES = ("^https://", "^ssh://", "^git@")


def repo_transport(url: str) -> str:
    """`https` or `ssh` for an allowed Git URL; ValueError (with the fix) for anything else.

    The URL is never echoed: it may carry a token (`https://user:token@host/...`).
    """
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0] and ":" in rest.split("/", 1)[0].rsplit("@", 1)[0]:
        raise ConfigProblems.one(
            "the URL embeds a password or token, which would be stored in plain text in the GitRepo",
            "remove it from the URL and put the credential in the Secret named by clientSecretName",
        )
    if url.startswith("https://") and len(url) > len("https://"):
        return "https"
    if url.startswith("ssh://") and len(url) > len("ssh://"):
        return "ssh"
    if _SCP_LIKE_SSH.match(url):
        return "ssh"
    shown = f"scheme {scheme}://" if sep else "no scheme"
    raise ConfigProblems.one(
        f"the URL has {shown}, not https:// or ssh; plain http://, git:// and file:// fetch without "
        "authenticating the server",
        "use https://… or ssh://… / git@host:path",
    )


class GitOpsTargetArgs(HardenedModel):
    """One Fleet target: clusters matching labels and/or a cluster group."""

    name: str | None = None
    """Name of the target."""
    cluster_selector: dict[str, str] = Field(default_factory=dict)
    """Label key -> value every target cluster must carry (matchLabels)."""
    cluster_group: str | None = None
    """A Fleet ClusterGroup in the workspace."""

    @model_validator(mode="after")
    def _not_everything(self) -> GitOpsTargetArgs:
        if not self.cluster_selector and not self.cluster_group:
            raise ConfigProblems.one(
                "a target needs clusterSelector labels or a clusterGroup; an empty selector matches every "
                "cluster in the workspace",
                "e.g. clusterSelector: {env: prod}",
            )
        return self

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.cluster_selector:
            out["clusterSelector"] = {"matchLabels": dict(sorted(self.cluster_selector.items()))}
        if self.cluster_group:
            out["clusterGroup"] = self.cluster_group
        return out


class GitOpsRepoArgs(HardenedModel):
    name: str
    """Name of the GitRepo object (DNS-1123 label)."""
    workspace: str = DEFAULT_WORKSPACE
    """Fleet workspace (namespace on the local cluster) of the GitRepo."""
    repo: str
    """Git URL, https:// or ssh (an ssh repo needs `clientSecretName` with known_hosts)."""
    branch: str | None = None
    """Branch to track; set exactly one of `branch` and `revision`."""
    revision: str | None = None
    """A pinned commit SHA or tag; wins over branch tracking."""
    paths: tuple[str, ...] = ()
    """Directories of the repo to deploy (default: the whole repo)."""
    client_secret_name: str | None = None
    """basic-auth (https) or ssh-auth (ssh, with `known_hosts`) Secret in the workspace namespace."""
    helm_secret_name: str | None = None
    """Secret in the workspace with credentials for Helm chart repositories."""
    ca_bundle: str | None = None
    """PEM CA bundle for the Git server (otherwise the system trust store)."""
    insecure_skip_tls_verify: bool = False
    """Named weakening: do not verify the Git server's certificate."""
    service_account: str
    """Least-privilege ServiceAccount on the target clusters used to apply the bundles."""
    target_namespace: str | None = None
    """Namespace every bundle is deployed into."""
    targets: tuple[GitOpsTargetArgs, ...] = Field(min_length=1)
    """Which clusters get the bundles (at least one)."""
    correct_drift: bool = True
    """Fleet reverts manual changes to deployed resources."""
    polling_interval: str = Field("60s", pattern=r"^[0-9]+(s|m|h)$")
    """How often Fleet polls the repo, e.g. `60s` (units s, m, h)."""

    @field_validator("name", "workspace")
    @classmethod
    def _dns(cls, value: str) -> str:
        return check_dns_label(value)

    @model_validator(mode="after")
    def _checks(self) -> GitOpsRepoArgs:
        problems = ProblemList()
        transport = None
        try:
            transport = repo_transport(self.repo)
        except ConfigProblems as exc:
            problems.extend(exc.items, prefix=["repo"])
        if transport == "ssh" and not self.client_secret_name:
            problems.add(
                ["clientSecretName"],
                "an ssh repo needs an ssh-auth Secret (with known_hosts, so the server is authenticated)",
                "create a kubernetes.io/ssh-auth Secret with known_hosts in the workspace and name it here",
            )
        if transport == "ssh" and self.insecure_skip_tls_verify:
            problems.add(["insecureSkipTlsVerify"], "has no meaning for ssh repos", "remove it")
        if not self.branch and not self.revision:
            problems.add(["branch"], "neither branch nor revision is set", "set branch, or pin a revision")
        if self.branch and self.revision:
            problems.add(["revision"], "both branch and revision are set", "keep only one of them")
        if self.ca_bundle and "-----BEGIN CERTIFICATE-----" not in self.ca_bundle:
            problems.add(["caBundle"], "is not a PEM certificate bundle", "paste the PEM text of the CA(s)")
        if not self.service_account.strip():
            problems.add(["serviceAccount"], "must name a ServiceAccount", "set a least-privilege account")
        problems.raise_if_any()
        return self


def gitrepo_spec(args: GitOpsRepoArgs) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "repo": args.repo,
        "insecureSkipTLSVerify": args.insecure_skip_tls_verify,
        "serviceAccount": args.service_account,
        "targets": [t.render() for t in args.targets],
        "correctDrift": {"enabled": args.correct_drift},
        "pollingInterval": args.polling_interval,
    }
    if args.revision:
        spec["revision"] = args.revision
    if args.branch:
        spec["branch"] = args.branch
    if args.paths:
        spec["paths"] = list(args.paths)
    if args.client_secret_name:
        spec["clientSecretName"] = args.client_secret_name
    if args.helm_secret_name:
        spec["helmSecretName"] = args.helm_secret_name
    if args.ca_bundle:
        # Fleet's caBundle is bytes: base64 in the object.
        spec["caBundle"] = base64.b64encode(args.ca_bundle.encode()).decode()
    if args.target_namespace:
        spec["targetNamespace"] = args.target_namespace
    return spec


class GitOpsRepo(pulumi.ComponentResource):
    """A Fleet GitRepo on Rancher's local cluster."""

    def __init__(
        self,
        name: str,
        args: GitOpsRepoArgs,
        local_cluster_provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
        *,
        after: Sequence[pulumi.Resource] = (),
    ) -> None:
        """`after`: resources the GitRepo itself must wait for (e.g. its workspace's GitRepoRestriction);
        a component's depends_on would not reach its child."""
        args = GitOpsRepoArgs.model_validate(args)
        if local_cluster_provider is None:
            raise ValueError(
                "GitOpsRepo needs a Kubernetes provider for Rancher's local cluster "
                "(fix: pass local_cluster_provider=)"
            )
        super().__init__("hardened-rke2:gitops:GitOpsRepo", name, None, opts)
        self.git_repo = k8s.apiextensions.CustomResource(
            f"{name}-gitrepo",
            api_version=FLEET_API_VERSION,
            kind="GitRepo",
            metadata={"name": args.name, "namespace": args.workspace},
            spec=gitrepo_spec(args),
            opts=pulumi.ResourceOptions(parent=self, provider=local_cluster_provider, depends_on=list(after)),
        )
        self.register_outputs({"workspace": args.workspace, "name": args.name})


class GitRepoRestrictionArgs(HardenedModel):
    workspace: str
    """Fleet workspace the restriction applies to."""
    name: str = "hardened-rke2"
    """Name of the GitRepoRestriction object."""
    allowed_repo_patterns: tuple[str, ...] = Field(min_length=1)
    """Anchored regular expressions (`^https://git.example.com/team-a/`)."""
    allowed_service_accounts: tuple[str, ...] = Field(min_length=1)
    """ServiceAccounts GitRepos in the workspace may deploy as."""
    default_service_account: str | None = None
    """ServiceAccount used when a GitRepo names none; must be one of `allowedServiceAccounts`."""
    allowed_client_secret_names: tuple[str, ...] = ()
    """Git credential Secrets GitRepos may use (empty: none)."""
    allowed_target_namespaces: tuple[str, ...] = Field(min_length=1)
    """Namespaces GitRepos may deploy into."""

    @field_validator("name", "workspace")
    @classmethod
    def _dns(cls, value: str) -> str:
        return check_dns_label(value)

    @model_validator(mode="after")
    def _checks(self) -> GitRepoRestrictionArgs:
        problems = ProblemList()
        for i, pattern in enumerate(self.allowed_repo_patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.add(
                    ["allowedRepoPatterns", i], f"is not a valid regular expression ({exc})", "fix it"
                )
                continue
            if not pattern.startswith(SECURE_PATTERN_PREFIXES):
                problems.add(
                    ["allowedRepoPatterns", i],
                    "must be anchored and start with a secure scheme (so it cannot admit http://, git:// "
                    "or file:// URLs, nor URLs that merely contain it)",
                    "start it with ^https:// , ^ssh:// or ^git@ followed by the host",
                )
        if self.default_service_account and self.default_service_account not in self.allowed_service_accounts:
            problems.add(
                ["defaultServiceAccount"],
                "is not one of allowedServiceAccounts",
                "add it to allowedServiceAccounts or pick one of them",
            )
        problems.raise_if_any()
        return self


def restriction_object(args: GitRepoRestrictionArgs) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "allowedRepoPatterns": list(args.allowed_repo_patterns),
        "allowedServiceAccounts": list(args.allowed_service_accounts),
        "allowedTargetNamespaces": list(args.allowed_target_namespaces),
    }
    if args.default_service_account:
        obj["defaultServiceAccount"] = args.default_service_account
    if args.allowed_client_secret_names:
        obj["allowedClientSecretNames"] = list(args.allowed_client_secret_names)
    return obj


class _TopLevelObject(pulumi.CustomResource):
    """A Kubernetes object whose fields sit at the top level (no `spec`), via the Kubernetes provider."""

    def __init__(
        self,
        resource_name: str,
        *,
        api_version: str,
        kind: str,
        metadata: dict[str, Any],
        fields: dict[str, Any],
        opts: pulumi.ResourceOptions,
    ) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=k8s_utilities.get_version()))
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)


class GitRepoRestriction(pulumi.ComponentResource):
    """The GitRepoRestriction of one Fleet workspace."""

    def __init__(
        self,
        name: str,
        args: GitRepoRestrictionArgs,
        local_cluster_provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = GitRepoRestrictionArgs.model_validate(args)
        if local_cluster_provider is None:
            raise ValueError(
                "GitRepoRestriction needs a Kubernetes provider for Rancher's local cluster "
                "(fix: pass local_cluster_provider=)"
            )
        super().__init__("hardened-rke2:gitops:GitRepoRestriction", name, None, opts)
        self.restriction = _TopLevelObject(
            f"{name}-restriction",
            api_version=FLEET_API_VERSION,
            kind="GitRepoRestriction",
            metadata={"name": args.name, "namespace": args.workspace},
            fields=restriction_object(args),
            opts=pulumi.ResourceOptions(parent=self, provider=local_cluster_provider),
        )
        self.register_outputs({"workspace": args.workspace})


class GitOpsArgs(HardenedModel):
    """Fleet objects a cluster stack manages on Rancher's local cluster."""

    repos: tuple[GitOpsRepoArgs, ...] = ()
    """Fleet GitRepos to create on Rancher's local cluster."""
    restrictions: tuple[GitRepoRestrictionArgs, ...] = ()
    """GitRepoRestrictions, one per Fleet workspace that gets GitRepos (the policy pack requires one)."""
    local_token_ttl_hours: int = Field(24, ge=1, le=720)
    """TTL of the Rancher token (scoped to the local cluster) behind the local-cluster provider; once
    expired it is replaced by the next update that refreshes first (`refresh: always`, docs/tokens.md).
    24h is the policy pack's default maximum; at most `rancher.tokenMaxTtlMinutes`."""

    @model_validator(mode="after")
    def _unique(self) -> GitOpsArgs:
        problems = ProblemList()
        seen: set[tuple[str, str]] = set()
        for i, repo in enumerate(self.repos):
            key = (repo.workspace, repo.name)
            if key in seen:
                problems.add(
                    ["repos", i, "name"], f"duplicate GitRepo {repo.name!r} in {repo.workspace}", "rename it"
                )
            seen.add(key)
        workspaces: set[str] = set()
        for i, restriction in enumerate(self.restrictions):
            if restriction.workspace in workspaces:
                problems.add(
                    ["restrictions", i, "workspace"],
                    f"a second restriction for workspace {restriction.workspace!r}",
                    "keep one GitRepoRestriction per workspace",
                )
            workspaces.add(restriction.workspace)
        problems.raise_if_any()
        return self

    @property
    def empty(self) -> bool:
        return not self.repos and not self.restrictions


def _local_kubeconfig(server: str, token: str, ca_certs: str | None = None) -> str:
    entry: dict[str, str] = {"server": server}
    if ca_certs:
        entry["certificate-authority-data"] = certificate_authority_data(ca_certs)
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": entry}],
        "users": [{"name": "hardened-rke2-gitops", "user": {"token": token}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "hardened-rke2-gitops"}}],
        "current-context": "local",
    }
    return yaml.safe_dump(doc, sort_keys=True)


def local_cluster_provider(
    name: str,
    rancher_url: str,
    token_ttl_hours: int,
    opts: pulumi.ResourceOptions | None = None,
    *,
    ca_certs: str | None = None,
) -> k8s.Provider:
    """A Kubernetes provider for Rancher's local cluster through Rancher's authenticating proxy, with a
    dedicated, expiring token scoped to the local cluster (the kubeconfig is a secret). `ca_certs` (PEM):
    the private CA that signed Rancher's certificate, carried as `certificate-authority-data`."""
    ca = pem_certificates(ca_certs, "ca_certs") if ca_certs else None
    token = rancher2.Token(
        f"{name}-local-token",
        cluster_id="local",
        description="hardened-rke2 Fleet GitOps (local cluster)",
        ttl=token_ttl_hours * 3600,
        renew=True,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["token", "secret_key"])
        ),
    )
    server = f"{rancher_url.rstrip('/')}/k8s/clusters/local"
    rendered: pulumi.Output[str] = token.token.apply(lambda t: _local_kubeconfig(server, t or "", ca))
    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(rendered)
    return k8s.Provider(
        f"{name}-local",
        kubeconfig=kubeconfig,
        # A stable identity: the renewed or replaced token must not replace every Fleet object.
        cluster_identifier=f"rancher-local-cluster@{rancher_url.rstrip('/')}",
        opts=opts,
    )
