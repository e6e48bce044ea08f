"""Pytest fixtures for policy-pack tests (registered by `tests/policy/conftest.py`).

Policy tests run against one cached, configured in-process pack session per config; after a test that
changes how the pack loads (pack settings via the environment), `fresh_pack` drops the caches.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hardened_rke2.analysis import testing as analyzer


@pytest.fixture
def fresh_pack() -> Iterator[None]:
    analyzer.clear_cache()
    yield
    analyzer.clear_cache()
