"""The mini fixture pack (tests/hardened_rke2/fixtures/mini_pack) and the resources its policies look at."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

PACK = Path(__file__).resolve().parent.parent / "hardened_rke2" / "fixtures" / "mini_pack"
POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CLUSTER = "rancher2:index/clusterV2:ClusterV2"


def pod(privileged: bool = False, drop: list[str] | None = None) -> dict:
    sc: dict = {"privileged": privileged}
    if drop is not None:
        sc["capabilities"] = {"drop": drop}
    return {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "x", "securityContext": sc}]},
    }


def policy_names(violations: Iterable[Any]) -> set[str]:
    return {v.policy_name for v in violations}
