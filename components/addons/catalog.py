"""Installing a chart on a downstream cluster through Rancher's catalog (`rancher2.AppV2`), one way for all.

Every add-on app:
- targets `handle.v1_id` (the `c-m-xxxx` id; an Output of the ClusterV2, so the engine and the policy pack
  see the AppV2 -> cluster link in its property dependencies),
- depends on the cluster's readiness gate (a catalog/app created before the agent connects hangs),
- renders its values as YAML with sorted keys (a second preview shows no diff),
- waits for the release (`wait=True`) and has explicit timeouts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_rancher2 as rancher2
import yaml

from components import yaml_render
from components.handles import ClusterHandle

RANCHER_CHARTS_REPO = "rancher-charts"
"""The catalog every Rancher-managed cluster already has (charts.rancher.io / rancher/charts)."""

APP_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="30m", delete="20m")


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_values(values: Mapping[str, Any]) -> str:
    """Deterministic chart values: sorted keys, block style, no YAML aliases."""
    return yaml_render.dump(values, Dumper=_NoAliases, sort_keys=True, default_flow_style=False)


def install_chart(
    resource_name: str,
    *,
    handle: ClusterHandle,
    chart: str,
    version: str,
    namespace: str,
    values: Mapping[str, Any] | pulumi.Output[Mapping[str, Any]],
    parent: pulumi.Resource,
    repo_name: pulumi.Input[str] = RANCHER_CHARTS_REPO,
    release_name: str | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
    secret_values: bool = False,
) -> rancher2.AppV2:
    """One Rancher app. `values` may contain Outputs (e.g. a generated password); with `secret_values` the
    whole rendered YAML is a Pulumi secret (state and previews never show it)."""
    rendered: pulumi.Output[str] = pulumi.Output.from_input(values).apply(render_values)
    if secret_values:
        rendered = pulumi.Output.secret(rendered)
    return rancher2.AppV2(
        resource_name,
        cluster_id=handle.v1_id,
        name=release_name or chart,
        namespace=namespace,
        repo_name=repo_name,
        chart_name=chart,
        chart_version=version,
        values=rendered,
        wait=True,
        cleanup_on_fail=True,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[*handle.depends_on(), *depends_on],
            custom_timeouts=APP_TIMEOUTS,
            additional_secret_outputs=["values"] if secret_values else None,
        ),
    )


def require_kubernetes_provider(handle: ClusterHandle, what: str) -> pulumi.ProviderResource:
    """In-cluster resources (CRs, Secrets, NetworkPolicies) go through the cluster's Kubernetes provider."""
    if handle.kubernetes_provider is None:
        raise ValueError(
            f"{what} needs the cluster's Kubernetes provider, but the ClusterHandle for {handle.name!r} "
            "has none (fix: build the handle from HardenedCluster, which creates it, or pass "
            "kubernetes_provider=)"
        )
    return handle.kubernetes_provider
