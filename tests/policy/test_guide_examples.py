"""The guide's own appendix examples are known-good for the controls they illustrate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hardened_rke2.analysis.testing import analyze_stack
from tests.support.paths import PACK_DIR

EXAMPLES = Path(__file__).parent / "fixtures" / "nsa" / "appendix-examples.yaml"
TYPES = {
    ("apps/v1", "Deployment"): "kubernetes:apps/v1:Deployment",
    ("v1", "Namespace"): "kubernetes:core/v1:Namespace",
    ("networking.k8s.io/v1", "NetworkPolicy"): "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ("v1", "LimitRange"): "kubernetes:core/v1:LimitRange",
    ("v1", "ResourceQuota"): "kubernetes:core/v1:ResourceQuota",
    ("rbac.authorization.k8s.io/v1", "Role"): "kubernetes:rbac.authorization.k8s.io/v1:Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
    ): "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
}


def _stack() -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(EXAMPLES.read_text(encoding="utf-8")) if d]
    return [
        {"type": TYPES[(d["apiVersion"], d["kind"])], "name": d["metadata"]["name"], "props": d} for d in docs
    ]


def test_appendix_examples_satisfy_the_controls_they_illustrate() -> None:
    result = analyze_stack(PACK_DIR, _stack())
    found = {(v.resource_name, v.policy_name) for v in result.violations}
    # Network separation: the namespace is covered (ingress + egress default-deny, LimitRange, quota).
    assert not {p for _, p in found} & {
        "namespace-default-deny-network-policy",
        "namespace-limit-range",
        "namespace-resource-quota",
        "namespace-pod-security-enforced",
    }
    # RBAC examples are least privilege.
    assert not [p for _, p in found if p.startswith("rbac-")]
    # The Deployment illustrates the read-only root filesystem only: that control passes, while the
    # rest of the restricted profile (which the example does not attempt) is still reported.
    assert ("web", "read-only-root-filesystem") not in found
    assert ("web", "pss-run-as-non-root") in found
    # The deny-all-egress example still lets DNS out to 0.0.0.0/0:53 — not the metadata endpoint.
    assert ("deny-all-egress", "network-policy-blocks-metadata-endpoint") not in found
