"""NSA/CISA Kubernetes Hardening Guide v1.2 policy pack: every policy, in one list.

Other modules add their policies with one additive line each: `ALL_POLICIES += <module>.POLICIES`.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import Policy

from nsa_cisa import (
    delivery,
    exemption_policies,
    network,
    node_drivers,
    pod_security,
    rancher_cluster,
    rancher_mgmt,
    rbac,
    secrets,
    stack_rules,
    upgrades,
    workload_extras,
)
from nsa_cisa.framework import pack_initial_config
from nsa_cisa.settings import load_pack_settings

PACK_NAME = "nsa-cisa-hardening"
PACK_VERSION = "0.1.0"  # keep equal to PulumiPolicy.yaml `version`

ALL_POLICIES: list[Policy] = []
ALL_POLICIES += exemption_policies.POLICIES
ALL_POLICIES += pod_security.POLICIES
ALL_POLICIES += workload_extras.POLICIES
ALL_POLICIES += network.POLICIES
ALL_POLICIES += rbac.POLICIES
ALL_POLICIES += secrets.POLICIES
ALL_POLICIES += upgrades.POLICIES
ALL_POLICIES += rancher_cluster.POLICIES
ALL_POLICIES += rancher_mgmt.POLICIES
ALL_POLICIES += delivery.POLICIES
ALL_POLICIES += stack_rules.POLICIES
ALL_POLICIES += node_drivers.POLICIES


def initial_config() -> dict[str, Any]:
    """The pack's `initial_config`: pack-wide settings (see `settings.py`) spread to each policy."""
    return pack_initial_config(ALL_POLICIES, load_pack_settings())
