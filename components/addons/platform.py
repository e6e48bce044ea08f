"""What the add-ons must know about the cluster they run on, and the namespaces the platform itself runs in.

`AddonClusterArgs` (the `addons.cluster` stack setting) carries the cluster facts that change how add-ons
must be configured: SELinux on the nodes (rancher-logging's log readers, rancher-monitoring's exporters and
istio-cni need their SELinux options then) and which load-balancer implementation the cluster has (the
Istio gateway's Service type). A `kind: cluster` stack derives it from the cluster config
(`blueprint/config.py`); a program that builds `ClusterAddons` itself sets it.

`PLATFORM_BASE_NAMESPACES` + every enabled add-on's `namespaces(...)` is the ONE list of namespaces the
blueprint installs privileged platform workloads into (`platform_namespaces` in `components.addons`):
NeuVector's admission rules exempt exactly these namespaces (a team namespace gets the deny rules), and a
cluster stack's custom Pod Security template must exempt them (`blueprint/config.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from components.model import HardenedModel

LoadBalancer = Literal["none", "serviceLB", "cloudProvider", "external"]

# RKE2 `cloud-provider-name` values whose cloud controller implements `type: LoadBalancer` Services.
# `rancher-vsphere` / `vsphere` (CPI without a load balancer) and `external` (unknown CCM) are not here:
# declare `addons.cluster.loadBalancer: external` when such a cluster has a load-balancer controller.
LOAD_BALANCING_CLOUD_PROVIDERS = ("aws", "azure", "harvester")


class AddonClusterArgs(HardenedModel):
    """Facts about the cluster the add-ons run on. In a `kind: cluster` stack they are derived from the
    `cluster` settings; setting them by hand there is only needed for `loadBalancer: external`."""

    selinux: bool = False
    """The nodes run RKE2 with SELinux (`cluster.rke2.selinux`): add-ons set their SELinux options."""
    load_balancer: LoadBalancer = "none"
    """What serves `type: LoadBalancer` Services: `serviceLB` (RKE2 `enable-servicelb`), `cloudProvider`
    (a cloud provider with load balancers: aws, azure, harvester), `external` (a load-balancer controller
    you install, e.g. MetalLB) or `none` (such a Service never gets an address)."""


def derive_cluster_facts(rke2: Mapping[str, Any]) -> dict[str, Any]:
    """`addons.cluster` from the raw `cluster.rke2` stack config (camelCase or snake_case keys)."""
    extra = rke2.get("extraConfig", rke2.get("extra_config")) or {}
    extra = extra if isinstance(extra, Mapping) else {}
    load_balancer: LoadBalancer = "none"
    if str(extra.get("enable-servicelb", "")).lower() == "true":
        load_balancer = "serviceLB"
    elif str(extra.get("cloud-provider-name", "")) in LOAD_BALANCING_CLOUD_PROVIDERS:
        load_balancer = "cloudProvider"
    return {"selinux": bool(rke2.get("selinux", False)), "loadBalancer": load_balancer}


# Namespaces the platform runs privileged workloads in before any add-on: RKE2's own components (and
# istio-cni, installed there), Rancher's cluster agent and system-upgrade-controller, Fleet's agent.
PLATFORM_BASE_NAMESPACES: tuple[str, ...] = (
    "kube-system",
    "cattle-system",
    "cattle-fleet-system",
)
