"""Where things are in the repository, and the shared data next to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
PACK_DIR = REPO_ROOT / "policy-packs" / "nsa-cisa-hardening"
# The team workspace's shared data sits next to the checkout (`<workspace>/shared`), never at a fixed
# machine path: a test reads it relative to the repository root only.
SHARED_DIR = REPO_ROOT.parent / "shared"


def in_ci() -> bool:
    """True under CI (`CI=true`, the variable GitHub Actions, GitLab CI and others set)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def shared_file(relative: str) -> Path:
    """`<repo>/../shared/<relative>`; when it is missing, skip locally but fail in CI.

    A CI job that silently skips the comparison would report green for a check it never ran.
    """
    path = SHARED_DIR / relative
    if path.is_file():
        return path
    message = f"shared data {path} is missing (expected next to the repository, at ../shared/{relative})"
    if in_ci():
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)
