"""The add-on contract (after cdk-eks-blueprints' `ClusterAddOn`): what `ClusterAddons` needs from an add-on.

Each add-on module exposes one component class that also carries, as class members, everything the
composite needs to know about it: the stack-config field that switches it on (`config_key`), its args
model, its version pin, its preflight rules and how to install it. `ClusterAddons` then only loops over
`components.addons.registry.ADDONS`; it never names an add-on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pulumi

from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import Problem
from components.versions import LinePins

if TYPE_CHECKING:
    from components.addons import AddonsArgs


@dataclass(frozen=True)
class PreflightContext:
    """What preflight rules may look at: the target cluster as the stack config describes it."""

    rancher_line: str
    kubernetes_version: str
    rancher_url: str | None
    has_kubernetes_provider: bool
    cluster_name: str


@dataclass(frozen=True)
class InstallContext:
    """What an add-on gets when it is installed."""

    handle: ClusterHandle
    config: AddonsArgs
    """Every add-on's settings: some defaults follow another add-on (compliance alerting -> monitoring)."""
    installed: Mapping[str, pulumi.ComponentResource]
    """Add-ons already registered, by config key (registry order), e.g. to depend on their CRDs."""
    opts: pulumi.ResourceOptions
    """Options for the add-on component (parented to `ClusterAddons`)."""
    platform_namespaces: tuple[str, ...] = ()
    """Every namespace the platform runs privileged workloads in (`components.addons.platform_namespaces`):
    the Kubernetes/Rancher base namespaces plus each enabled add-on's `namespaces`."""


class Addon(Protocol):
    """One add-on: a `pulumi.ComponentResource` class with these class-level members."""

    config_key: ClassVar[str]
    """Field of `AddonsArgs` with this add-on's settings; also its name in `enabled_addons` and the
    suffix of its component name (`_` -> `-`)."""
    args_model: ClassVar[type[HardenedModel]]
    """Type of that field; it must have an `enabled: bool` field."""

    @staticmethod
    def pinned_version(pins: LinePins) -> str:
        """The chart version pinned for a Rancher line (`components/versions.py`)."""
        ...

    @classmethod
    def namespaces(cls, args: Any, rancher_line: str) -> tuple[str, ...]:
        """The namespaces where this (enabled) add-on runs privileged pods (host access, root): part of the
        platform namespace list that admission control and Pod Security exempt
        (`components.addons.platform_namespaces`). `()` when its pods meet the restricted level."""
        ...

    @classmethod
    def preflight(cls, args: Any, cluster: PreflightContext) -> list[Problem]:
        """Problems with this (enabled) add-on on that cluster, found before any resource registers.
        Paths are stack-config paths (`addons.<field>...`). The Rancher line is checked by `ClusterAddons`:
        a rule that needs its pins skips an unsupported line."""
        ...

    @classmethod
    def install(cls, name: str, args: Any, context: InstallContext) -> pulumi.ComponentResource:
        """Register the add-on's component (only called when `args.enabled`)."""
        ...
