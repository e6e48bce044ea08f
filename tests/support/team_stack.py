"""The example team project (stacks/teams/payments) under the mock engine, with offline platform outputs."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import yaml

from hardened_rke2.capture import EchoMocks, ProgramRun

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "stacks" / "teams" / "payments"
PLATFORM_OUTPUTS = json.loads((PROJECT_DIR / "platform-outputs.json").read_text())
PLATFORM = PLATFORM_OUTPUTS["acme/hardened-rke2/prod"]


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]


def wire(config: dict[str, Any]) -> dict[str, str]:
    """Pulumi config as the engine hands it to the program: strings as-is, structured values as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run_team_stack(mock_run, config: dict[str, Any], references: dict[str, Any] | None = None) -> ProgramRun:
    return mock_run(
        lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__"),
        config=wire(config),
        mocks=EchoMocks(stack_references=PLATFORM_OUTPUTS if references is None else references),
        project="payments-team",
        stack="dev",
    )
