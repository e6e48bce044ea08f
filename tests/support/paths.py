"""Where things are in the repository, and the shared data next to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
PACK_DIR = REPO_ROOT / "policy-packs" / "nsa-cisa-hardening"


def pack_layout(pack: Path, dest: Path, *, venv: Path | None = None) -> Path:
    """A copy of `pack` at `dest` as `pulumi install` leaves it: with `venv/` when `venv` is given (a
    symlink to an existing virtualenv that has the pack's requirements, e.g. this test run's own,
    `sys.prefix`).

    The Pulumi CLI starts a local Python pack with `<pack>/venv/bin/python` and never creates that venv
    (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go RunPlugin); tests that start the pack the
    way the CLI does build this layout instead of writing into the repository's pack directory.
    """
    import shutil

    shutil.copytree(pack, dest, ignore=shutil.ignore_patterns("venv", "__pycache__", ".*"))
    if venv is not None:
        (dest / "venv").symlink_to(venv, target_is_directory=True)
    return dest


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
