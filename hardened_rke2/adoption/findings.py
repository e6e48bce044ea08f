"""What `adopt` found: every difference between an existing cluster and the blueprint's hardened defaults.

A `Finding` is one setting. Its `kind` says how the adopted stack carries it:

- `weakening`: weaker than the hardened default and expressed through the blueprint's named weakening switch
  (`switch`); the policy pack reports it (`policies`) until the switch is turned off.
- `unrepresentable`: the blueprint cannot express the cluster's value (no switch, or a setting it does not
  manage); the stack carries the blueprint's value instead, so the first `pulumi up` after the import
  CHANGES the cluster there. Never dropped silently: it is in the plan, and `adopt` says so.
- `difference`: a value the stack reproduces as it is; it differs from the blueprint's default without being a
  weakening the pack reports (e.g. fewer snapshots kept, drain off during upgrades).

`rolls` names what changing it does to the nodes (`ROLLS`, each with the Rancher source that decides it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

FindingKind = Literal["weakening", "unrepresentable", "difference"]
Rolls = Literal["none", "rke2-config", "control-plane", "machines", "cluster-agent"]

RANCHER_REF = "rancher/rancher v2.13.8"
ROLLS: dict[str, str] = {
    "none": "no node change: a Rancher or stack-side setting only",
    "rke2-config": (
        "every matching node is re-planned: the RKE2 config file changes, so its restart stamp changes and "
        "RKE2 "
        "restarts node by node (control plane, then workers, at the upgrade strategy's concurrency, drained "
        "if "
        f"drain is on) — {RANCHER_REF} pkg/capr/planner/config.go:320-333 (restartStamp over the plan "
        f"files), "
        "pkg/capr/planner/drain.go:33-43 (shouldDrain), pkg/capr/planner/planner.go:374-418 (tiers and "
        "concurrency)"
    ),
    "control-plane": (
        "control-plane nodes are re-planned (their RKE2 config / API-server files change); workers are not — "
        f"{RANCHER_REF} pkg/capr/planner/config.go:189 (authorized-endpoint file), config.go:320-333"
    ),
    "machines": (
        "the pool's machines are REPLACED: the machine template name carries a hash of the machine config's "
        "data, so a different machine config rolls out new machines (CAPI MachineDeployment rollout) — "
        f"{RANCHER_REF} pkg/controllers/provisioningv2/provisioningcluster/template.go:204-207,249-267"
    ),
    "cluster-agent": "Rancher redeploys its cluster agent / project network policies; no node restarts",
}

# Application order: changes that restart nothing first, then one batch of RKE2 config changes (one rolling
# re-plan instead of several), then machine replacements, which bring up nodes that already get the hardened
# config. Host preparation must precede `protect-kernel-defaults` / `profile: cis` (RKE2 refuses to start on a
# node without the CIS sysctls).
STAGE_ORDER: dict[str, int] = {
    "none": 1,
    "cluster-agent": 1,
    "control-plane": 2,
    "rke2-config": 2,
    "machines": 3,
}
STAGE_TITLES = {
    1: "Rancher-side settings (no node restarts)",
    2: "RKE2 configuration (one rolling re-plan of the nodes)",
    3: "Node pools (machine replacement)",
}


@dataclass(frozen=True)
class Finding:
    key: str
    """Stable id, e.g. `rke2.kube-apiserver-arg.anonymous-auth`."""
    source: str
    """Where it is in the Cluster object (or machine config), e.g. `spec.rkeConfig.machineGlobalConfig`."""
    current: str
    """The cluster's value today (`unset` when absent)."""
    hardened: str
    """The blueprint's hardened value."""
    kind: FindingKind
    nsa: tuple[str, ...]
    """NSA/CISA checklist ids it touches (shared/notes/nsa-checklist.md, the pack's catalogue)."""
    rolls: Rolls
    stack_path: str | None = None
    """Where the adopted stack carries the cluster's value (weakening / difference)."""
    switch: str | None = None
    """The named weakening switch that expresses it (`weakening` only)."""
    policies: tuple[str, ...] = ()
    """Pack policies that report it on the adopted stack (`weakening` only)."""
    note: str = ""
    severity: int = 2
    """Order inside a stage: 0 critical … 3 low."""

    @property
    def stage(self) -> int:
        return STAGE_ORDER[self.rolls]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["nsa"] = list(self.nsa)
        out["policies"] = list(self.policies)
        out["stage"] = self.stage
        out["rollsDetail"] = ROLLS[self.rolls]
        return {_camel(k): v for k, v in out.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def ordered(findings: list[Finding]) -> list[Finding]:
    """The order to apply the hardening in: stage, then severity, then key (stable)."""
    return sorted(findings, key=lambda f: (f.stage, f.severity, f.key))
