"""Helpers: the example stacks' config in the forms Pulumi hands to the program."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from hardened_rke2.capture import EchoMocks

STACKS = Path(__file__).resolve().parents[2] / "stacks"
PREFIX = "hardened-rke2:"


def stack_values(stack: str) -> dict[str, Any]:
    """`hardened-rke2:*` values of stacks/Pulumi.<stack>.yaml without the prefix (load_stack_config input)."""
    raw = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k[len(PREFIX) :]: copy.deepcopy(v) for k, v in raw.items() if k.startswith(PREFIX)}


def wire_config(values: dict[str, Any]) -> dict[str, str]:
    """The engine's wire form: `<project>:<key>` -> string, structured values as JSON."""
    return {PREFIX + k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


# What the mock engine returns for the cluster stack's computed outputs.
NODE_COMMAND = (
    "curl -fL https://rancher.example.com/system-agent-install.sh"
    " | sudo sh -s - --server https://rancher.example.com --token t0k"
)
MOCKS = EchoMocks(
    extra_outputs={
        "rancher2:index/clusterV2:ClusterV2": lambda a: {
            "clusterV1Id": "c-m-12345",
            "clusterRegistrationToken": {"nodeCommand": NODE_COMMAND},
        },
        "rancher2:index/token:Token": lambda a: {"token": "kubeconfig-u-1:abcdef"},
    }
)
