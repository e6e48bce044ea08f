"""Fixtures shared by the offline-engine tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack_previews import example_docs


@pytest.fixture(scope="session")
def example_previews() -> dict[str, dict[str, Any]]:
    """The `--json` documents of every example stack (offline, no policy pack), computed once."""
    return example_docs()
