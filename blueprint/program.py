"""The stack program: `build(config)` dispatches on the stack kind and composes the components.

`STACK_KINDS` maps a stack `kind` to (its config model, its build function). A new kind adds its model to
`blueprint.config.STACK_CONFIG_MODELS` and its build function to `_BUILDERS` here (e.g. `management`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel

from blueprint.config import STACK_CONFIG_MODELS, ClusterStackConfig, stack_config_error
from blueprint.management import build_management_stack
from blueprint.tenants import build_tenants
from components.addons import ClusterAddons, preflight_problems
from components.cluster import HardenedCluster
from components.gitops import GitOpsRepo, GitRepoRestriction, local_cluster_provider
from components.problems import ConfigProblems, Problem
from components.tls import pem_certificates


def rancher_api_url() -> str | None:
    """Rancher's URL from the rancher2 provider's own config (`rancher2:apiUrl` or RANCHER_URL)."""
    url = pulumi.Config("rancher2").get("apiUrl") or os.environ.get("RANCHER_URL")
    return url.rstrip("/") if url else None


def rancher_provider_ca() -> str | None:
    """The CA the rancher2 provider trusts: `rancher2:caCerts` or RANCHER_CA_CERTS
    (terraform-provider-rancher2 rancher2/provider.go:71-75)."""
    return pulumi.Config("rancher2").get("caCerts") or os.environ.get("RANCHER_CA_CERTS") or None


def rancher_ca_certs(config: ClusterStackConfig) -> tuple[str | None, list[Problem]]:
    """Rancher's private CA for every kubeconfig this stack builds: `rancher.caCerts`, else the rancher2
    provider's. Both set: they must agree; `rancher.caCerts` alone: the rancher2 provider would not trust
    Rancher, so every rancher2 call would fail TLS verification."""
    own, provider = config.rancher.ca_certs, rancher_provider_ca()
    if provider is not None:
        try:
            provider = pem_certificates(provider, "rancher2:caCerts")
        except ConfigProblems as exc:
            return None, [Problem(("rancher2:caCerts",), p.message, p.fix) for p in exc.items]
    if own is None:
        return provider, []
    if provider is None:
        return own, [
            Problem(
                ("rancher", "caCerts"),
                "the rancher2 provider is not given this CA (rancher2:caCerts / RANCHER_CA_CERTS unset), "
                "so it cannot verify Rancher's certificate",
                'pulumi config set rancher2:caCerts -- "$(cat rancher-ca.pem)" with the same PEM, or '
                "export RANCHER_CA_CERTS",
            )
        ]
    if provider != own:
        return own, [
            Problem(
                ("rancher", "caCerts"),
                "differs from the rancher2 provider's CA (rancher2:caCerts / RANCHER_CA_CERTS)",
                "set the same PEM (the management stack's rancherCaCerts output) in both",
            )
        ]
    return own, []


def build_cluster_stack(config: ClusterStackConfig) -> HardenedCluster:
    """One hardened downstream cluster, and the outputs application teams read via a StackReference."""
    c = config.cluster
    rancher_url = config.rancher.url or rancher_api_url()
    ca_certs = _check_before_registering(config, rancher_url)
    local = _local_cluster_provider(config, rancher_url, ca_certs)
    cluster = HardenedCluster(
        c.name,
        c,
        rancher_line=config.rancher.line,
        rancher_url=rancher_url,
        rancher_ca_certs=ca_certs,
        local_kubernetes_provider=local,
    )
    pulumi.export("clusterName", c.name)
    pulumi.export("clusterId", cluster.cluster_id)
    pulumi.export("clusterV1Id", cluster.cluster_v1_id)
    pulumi.export("rancherUrl", rancher_url)
    if ca_certs:
        pulumi.export("rancherCaCerts", ca_certs)  # team stacks' kubeconfigs trust the same CA
    pulumi.export("rancherLine", config.rancher.line)
    pulumi.export("kubernetesVersion", c.kubernetes_version)
    pulumi.export("allowedRegistries", c.registries.allowed_registries())
    pulumi.export("projectNetworkIsolation", c.network.project_network_isolation)
    pulumi.export("podSecurityTemplate", c.pod_security.template_name)
    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    if c.operations.generations():
        # What the last update requested, so the next runbook step can read it (`pulumi stack output`).
        pulumi.export("clusterOperations", c.operations.generations())
    if cluster.host_prep_script is not None:
        # Custom nodes: run the host preparation, then the registration command, on every host.
        pulumi.export("hostPrepScript", cluster.host_prep_script)
        pulumi.export("registrationCommand", pulumi.Output.secret(cluster.registration_command))
        pulumi.export("registrationCommands", cluster.registration_commands)
    _build_addons_and_gitops(config, cluster, local)
    build_tenants(c.name, config.tenants, cluster.handle, rancher_url, ca_certs)
    return cluster


def _local_cluster_provider(
    config: ClusterStackConfig, rancher_url: str | None, ca_certs: str | None
) -> k8s.Provider | None:
    """One Kubernetes provider for Rancher's local cluster, when Fleet objects or the encryption-key rotation
    patch need it. Its name (`<cluster>-gitops`) predates the rotation and is kept: renaming it would
    replace it, and with it every Fleet object on it."""
    needed = not config.gitops.empty or config.cluster.operations.rotate_encryption_keys is not None
    if not needed or not rancher_url:
        return None
    return local_cluster_provider(
        f"{config.cluster.name}-gitops", rancher_url, config.gitops.local_token_ttl_hours, ca_certs=ca_certs
    )


def _check_before_registering(config: ClusterStackConfig, rancher_url: str | None) -> str | None:
    """Problems that need resolved provider config (Rancher's URL and CA), reported before any resource
    exists; returns Rancher's private CA, if any."""
    ca_certs, problems = rancher_ca_certs(config)
    problems += _addons_and_gitops_problems(config, rancher_url)
    if problems:
        raise stack_config_error(problems)
    return ca_certs


def _addons_and_gitops_problems(config: ClusterStackConfig, rancher_url: str | None) -> list[Problem]:
    """Add-on / GitOps problems that need the resolved Rancher URL."""
    problems: list[Problem] = []
    if config.addons is not None:
        problems += preflight_problems(
            config.addons,
            rancher_line=config.rancher.line,
            kubernetes_version=config.cluster.kubernetes_version,
            rancher_url=rancher_url,
            has_kubernetes_provider=True,  # HardenedCluster always creates one
        )
    if not config.gitops.empty and not rancher_url:
        problems.append(
            Problem(
                ("gitops",),
                "Fleet objects are created on Rancher's local cluster, and Rancher's URL is unknown",
                "set rancher.url (or rancher2:apiUrl / RANCHER_URL)",
            )
        )
    if config.cluster.operations.rotate_encryption_keys is not None and not rancher_url:
        problems.append(
            Problem(
                ("cluster", "operations", "rotateEncryptionKeys"),
                "the key rotation patches the provisioning Cluster on Rancher's local cluster, and Rancher's "
                "URL is unknown",
                "set rancher.url (or rancher2:apiUrl / RANCHER_URL)",
            )
        )
    if config.tenants.needs_fleet and not rancher_url:
        problems.append(
            Problem(
                ("tenants", "teams"),
                "a team's Fleet repo is created on Rancher's local cluster, and Rancher's URL is unknown",
                "set rancher.url (or rancher2:apiUrl / RANCHER_URL)",
            )
        )
    return problems


def _build_addons_and_gitops(
    config: ClusterStackConfig, cluster: HardenedCluster, local: k8s.Provider | None
) -> None:
    if config.addons is None:
        pulumi.log.warn(
            f"cluster {config.cluster.name!r} has no add-ons (addons is not set): no NeuVector, compliance "
            "scanning or audit-log shipping; the policy pack's stack rule reports this"
        )
        pulumi.export("addons", [])
    else:
        ClusterAddons(f"{config.cluster.name}-addons", config.addons, cluster.handle)
        pulumi.export("addons", config.addons.enabled_addons)
    gitops = config.gitops
    if gitops.empty or local is None:
        return
    restrictions = [
        GitRepoRestriction(f"{config.cluster.name}-{r.workspace}-restriction", r, local)
        for r in gitops.restrictions
    ]
    for repo in gitops.repos:
        GitOpsRepo(
            f"{config.cluster.name}-{repo.workspace}-{repo.name}",
            repo,
            local,
            after=[r.restriction for r in restrictions],
        )


_BUILDERS: dict[str, Callable[[Any], Any]] = {
    "cluster": build_cluster_stack,
    "management": build_management_stack,
}
STACK_KINDS: dict[str, tuple[type[BaseModel], Callable[[Any], Any]]] = {
    kind: (model, _BUILDERS[kind]) for kind, model in STACK_CONFIG_MODELS.items()
}


def build(config: BaseModel) -> Any:
    """Build the stack for a validated config (from `blueprint.config.load_stack_config`)."""
    kind = getattr(config, "kind", None)
    if kind not in STACK_KINDS:
        raise ValueError(f"unknown stack kind {kind!r}; known: {', '.join(sorted(STACK_KINDS))}")
    model, build_fn = STACK_KINDS[kind]
    if not isinstance(config, model):
        raise TypeError(f"a {kind!r} stack needs a {model.__name__}, got {type(config).__name__}")
    return build_fn(config)
