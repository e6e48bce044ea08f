"""Where things are in the repository."""

from __future__ import annotations

from pathlib import Path

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
