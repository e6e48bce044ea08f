"""The stack program: `build(config)` dispatches on the stack kind and composes the components.

`STACK_KINDS` maps a stack `kind` to (its config model, its build function). Other stack kinds register
themselves here (e.g. `management`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pulumi
from pydantic import BaseModel

from blueprint.config import ClusterStackConfig
from blueprint.management import ManagementStackConfig, build_management_stack
from components.cluster import HardenedCluster


def rancher_api_url() -> str | None:
    """Rancher's URL from the rancher2 provider's own config (`rancher2:apiUrl` or RANCHER_URL)."""
    url = pulumi.Config("rancher2").get("apiUrl") or os.environ.get("RANCHER_URL")
    return url.rstrip("/") if url else None


def build_cluster_stack(config: ClusterStackConfig) -> HardenedCluster:
    """One hardened downstream cluster, and the outputs application teams read via a StackReference."""
    c = config.cluster
    rancher_url = config.rancher.url or rancher_api_url()
    cluster = HardenedCluster(c.name, c, rancher_line=config.rancher.line, rancher_url=rancher_url)
    pulumi.export("clusterName", c.name)
    pulumi.export("clusterId", cluster.cluster_id)
    pulumi.export("clusterV1Id", cluster.cluster_v1_id)
    pulumi.export("rancherUrl", rancher_url)
    pulumi.export("rancherLine", config.rancher.line)
    pulumi.export("kubernetesVersion", c.kubernetes_version)
    pulumi.export("allowedRegistries", c.registries.allowed_registries())
    pulumi.export("projectNetworkIsolation", c.network.project_network_isolation)
    pulumi.export("podSecurityTemplate", c.pod_security.template_name)
    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    if cluster.host_prep_script is not None:
        # Custom nodes: run the host preparation, then the registration command, on every host.
        pulumi.export("hostPrepScript", cluster.host_prep_script)
        pulumi.export("registrationCommand", pulumi.Output.secret(cluster.registration_command))
    return cluster


STACK_KINDS: dict[str, tuple[type[BaseModel], Callable[[Any], Any]]] = {
    "cluster": (ClusterStackConfig, build_cluster_stack),
    "management": (ManagementStackConfig, build_management_stack),
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
