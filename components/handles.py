"""What a downstream component (add-on, tenancy, GitOps) needs to know about the cluster it targets."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class ClusterHandle:
    """A provisioned (or referenced) Rancher-managed cluster.

    Every downstream resource uses `v1_id` (the `c-m-xxxx` id Rancher's v1 APIs need, not the
    `fleet-default/<name>` ClusterV2 id) and depends on `ready` (a `rancher2.ClusterSync` gate) so it is
    not created before the cluster agent has connected.
    """

    name: str
    v1_id: pulumi.Input[str]
    ready: pulumi.Resource | None
    kubernetes_version: str
    rancher_line: str
    network_isolation: bool = True
    rancher_url: str | None = None
    kubernetes_provider: pulumi.ProviderResource | None = None

    def depends_on(self) -> list[pulumi.Resource]:
        return [self.ready] if self.ready is not None else []
