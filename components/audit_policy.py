"""Kubernetes API-server audit policy and audit-log flags (NSA/CISA guide: audit logging).

RKE2's CIS profile ships a single `level: None` rule, i.e. nothing is logged. This module supplies a
guide-aligned policy: request bodies of Secrets, ConfigMaps, token reviews and token requests are never
logged (Metadata only), noisy read-only system traffic is dropped, everything else is logged with request
and response, and the RequestReceived stage is omitted. Retention flags keep >= 30 days.

Delivery (`delivery`):
- `inline` (default): the policy text goes in `machine_global_config` under `audit-policy-file`; Rancher's
  planner writes it to a file on the node and points RKE2 at it. No extra resource is needed.
- `secret`: a `rancher2.SecretV2` in `fleet-default` on Rancher's local cluster (annotated
  `rke.cattle.io/object-authorized-for-clusters: <cluster>`) delivered to control-plane nodes with
  `machine_selector_files` at RKE2's default policy path, which the CIS profile already wires to the
  API server. Use it when the policy is large or must be managed separately.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from components import yaml_render
from components.model import HardenedModel

AUDIT_LEVELS = ("None", "Metadata", "Request", "RequestResponse")
# RKE2's default audit policy path; with profile cis RKE2 passes it to kube-apiserver and mounts it.
RKE2_AUDIT_POLICY_PATH = "/etc/rancher/rke2/audit-policy.yaml"
DEFAULT_LOG_PATH = "/var/lib/rancher/rke2/server/logs/audit.log"


def default_rules() -> list[dict[str, Any]]:
    """Guide-aligned rules; order matters (first match wins)."""
    return [
        # Noisy, read-only system traffic.
        {
            "level": "None",
            "users": ["system:kube-proxy"],
            "verbs": ["watch"],
            "resources": [
                {"group": "", "resources": ["endpoints", "services", "services/status"]},
                {"group": "discovery.k8s.io", "resources": ["endpointslices"]},
            ],
        },
        {
            "level": "None",
            "userGroups": ["system:nodes"],
            "verbs": ["get"],
            "resources": [{"group": "", "resources": ["nodes", "nodes/status"]}],
        },
        {
            "level": "None",
            "users": ["system:kube-controller-manager", "system:kube-scheduler"],
            "verbs": ["get", "list", "watch"],
            "namespaces": ["kube-system"],
            "resources": [
                {"group": "", "resources": ["endpoints"]},
                {"group": "coordination.k8s.io", "resources": ["leases"]},
            ],
        },
        {
            "level": "None",
            "verbs": ["get"],
            "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics"],
        },
        {
            "level": "None",
            "verbs": ["get", "list", "watch"],
            "resources": [{"group": "", "resources": ["events"]}],
        },
        # Sensitive payloads: who did what, never the content.
        {
            "level": "Metadata",
            "resources": [
                {"group": "", "resources": ["secrets", "configmaps", "serviceaccounts/token"]},
                {"group": "authentication.k8s.io", "resources": ["tokenreviews"]},
            ],
        },
        # Everything else, with request and response bodies.
        {"level": "RequestResponse"},
    ]


class AuditPolicyArgs(HardenedModel):
    """API-server audit policy + log retention. Defaults follow the guide and the RKE2 STIG."""

    rules: tuple[dict[str, Any], ...] | None = None
    """Custom rules replace the default list; they must log something (not empty, not all `None`)."""
    omit_stages: tuple[Literal["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"], ...] = (
        "RequestReceived",
    )
    """Audit stages not recorded; RequestReceived duplicates every event."""
    delivery: Literal["inline", "secret"] = "inline"
    """`inline` (global config) or `secret` (SecretV2 on the local cluster + machine selector files)."""
    log_path: str = Field(DEFAULT_LOG_PATH, pattern=r"^/[^\s]*$")
    """Audit log file on control-plane nodes (`audit-log-path`)."""
    max_age_days: int = Field(30, ge=30, le=3650)
    """Days to keep rotated audit logs (`audit-log-maxage`, >= 30)."""
    max_backups: int = Field(10, ge=10, le=1000)
    """Rotated audit files to keep (`audit-log-maxbackup`, >= 10)."""
    max_size_mb: int = Field(100, ge=10, le=10_000)
    """Size in MB before rotation (`audit-log-maxsize`)."""
    mode: Literal["blocking-strict", "blocking", "batch"] = "blocking-strict"
    """STIG: `blocking-strict` fails a request if its audit event cannot be written."""

    @field_validator("rules")
    @classmethod
    def _rules_log_something(cls, v: tuple[dict[str, Any], ...] | None) -> tuple[dict[str, Any], ...] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("an empty rule list logs nothing; omit `rules` to use the default policy")
        for i, rule in enumerate(v):
            level = rule.get("level") if isinstance(rule, dict) else None
            if level not in AUDIT_LEVELS:
                raise ValueError(f"rule {i}: level must be one of {', '.join(AUDIT_LEVELS)}")
        if all(r["level"] == "None" for r in v):
            raise ValueError("every rule is level None, so nothing would be logged")
        return v

    def policy(self) -> dict[str, Any]:
        return {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Policy",
            "omitStages": list(self.omit_stages),
            "rules": [dict(r) for r in self.rules] if self.rules is not None else default_rules(),
        }

    def policy_yaml(self) -> str:
        return yaml_render.dump(
            self.policy(), Dumper=yaml.SafeDumper, sort_keys=True, default_flow_style=False, width=4096
        )

    def apiserver_flags(self) -> dict[str, str]:
        """kube-apiserver audit flags (numbers as strings: Rancher drops YAML integers)."""
        return {
            "audit-log-path": self.log_path,
            "audit-log-maxage": str(self.max_age_days),
            "audit-log-maxbackup": str(self.max_backups),
            "audit-log-maxsize": str(self.max_size_mb),
            "audit-log-mode": self.mode,
        }
