"""Helpers: the example stacks' config in the forms Pulumi hands to the program."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

STACKS = Path(__file__).resolve().parents[2] / "stacks"
PREFIX = "hardened-rke2:"


def stack_values(stack: str) -> dict[str, Any]:
    """`hardened-rke2:*` values of stacks/Pulumi.<stack>.yaml without the prefix (load_stack_config input)."""
    raw = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k[len(PREFIX) :]: copy.deepcopy(v) for k, v in raw.items() if k.startswith(PREFIX)}


def wire_config(values: dict[str, Any]) -> dict[str, str]:
    """The engine's wire form: `<project>:<key>` -> string, structured values as JSON."""
    return {PREFIX + k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
