"""NSA/CISA Kubernetes Hardening Guide v1.2 policy pack: every policy, in one list.

Each policy module declares its policies with `@GROUP.policy(...)` (see `declare.py`); importing the
modules in `MODULE_ORDER` registers them, and `ALL_POLICIES` lists them module by module in that order,
each module's in declaration order. A new policy module is added to `MODULE_ORDER` (an unlisted one is an
error). The order is the pack's public order (the engine reports policies in it).
"""

from __future__ import annotations

import importlib
from typing import Any

import yaml
from pulumi_policy import Policy

from nsa_cisa.declare import PACK
from nsa_cisa.framework import pack_initial_config
from nsa_cisa.settings import PACK_DIR, load_pack_settings

PACK_NAME = "nsa-cisa-hardening"
# The CLI reads the version from PulumiPolicy.yaml (`pulumi policy publish`): that file is the one source.
PACK_VERSION: str = str(
    yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))["version"]
)

MODULE_ORDER = (
    "exemption_policies",
    "pod_security",
    "workload_extras",
    "network",
    "rbac",
    "secrets",
    "upgrades",
    "rancher_cluster",
    "day2_operations",
    "rancher_mgmt",
    "delivery",
    "stack_rules",
    "node_drivers",
    "robustness",
)
"""Policy modules in pack order (relative to this package)."""

for _module in MODULE_ORDER:  # importing a module runs its declarations
    importlib.import_module(f"{__name__}.{_module}")
ALL_POLICIES: list[Policy] = PACK.policies([f"{__name__}.{m}" for m in MODULE_ORDER])


def initial_config() -> dict[str, Any]:
    """The pack's `initial_config`: pack-wide settings (see `settings.py`) spread to each policy."""
    return pack_initial_config(ALL_POLICIES, load_pack_settings())
