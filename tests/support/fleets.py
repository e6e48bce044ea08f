"""Helpers: fleet files over the repository's example projects, written to a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import PACK_DIR, REPO_ROOT

TEAM_DIR = REPO_ROOT / "stacks" / "teams" / "payments"
EXAMPLE_FLEET = REPO_ROOT / "fleet.yaml"


def team_entry(stack: str = "dev", depends_on: tuple[str, ...] = ("prod",), **extra: Any) -> dict[str, Any]:
    return {
        "kind": "team",
        "project": str(TEAM_DIR),
        "stack": stack,
        "dependsOn": list(depends_on),
        "policyPackConfigs": [str(TEAM_DIR / "policy-pack-config.json")],
        **extra,
    }


def write_fleet(tmp: Path, stacks: dict[str, Any], **top: Any) -> Path:
    """A fleet file in `tmp`; stacks of the root project default to `project: <repo>`."""
    doc: dict[str, Any] = {"organization": "acme", "policyPacks": [str(PACK_DIR)], **top}
    doc["stacks"] = {
        name: {"project": str(REPO_ROOT), **entry} if isinstance(entry, dict) else entry
        for name, entry in stacks.items()
    }
    path = tmp / "fleet.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path
