"""Shared fixtures: every test runs programs under Pulumi's mock engine, never against real infrastructure."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.capture import EchoMocks, ProgramRun, run_program

REPO_ROOT = Path(__file__).resolve().parent.parent
PACK_DIR = REPO_ROOT / "policy-packs" / "nsa-cisa-hardening"


@pytest.fixture(autouse=True)
def _isolated_pulumi_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Any analyzer call that sees all three reconfigures the runtime in-process (see the offline notes).
    for var in (
        "PULUMI_PROJECT",
        "PULUMI_STACK",
        "PULUMI_DRY_RUN",
        "PULUMI_CONFIG",
        "PULUMI_CONFIG_SECRET_KEYS",
    ):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def mock_run() -> Callable[..., ProgramRun]:
    """`mock_run(program, config={...}, mocks=EchoMocks(...), preview=True)` -> ProgramRun."""

    def _run(
        program: Callable[[], Any],
        *,
        config: dict[str, str] | None = None,
        mocks: EchoMocks | None = None,
        preview: bool = True,
        project: str = "hardened-rke2",
        stack: str = "test",
    ) -> ProgramRun:
        return run_program(program, project=project, stack=stack, config=config, mocks=mocks, preview=preview)

    return _run


def pytest_report_header(config: pytest.Config) -> str:
    return f"hardened-rke2 tests (offline, mock engine); cores={os.cpu_count()}"
