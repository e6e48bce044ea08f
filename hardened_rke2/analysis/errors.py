"""Errors of a policy-pack run, each matching a way the real engine fails a preview."""

from __future__ import annotations

from collections.abc import Sequence


class PolicyConfigError(ValueError):
    """The policy pack configuration is invalid (parse, level or JSON-schema error)."""

    def __init__(self, problems: Sequence[str], pack: str = "") -> None:
        self.problems = list(problems)
        self.pack = pack
        where = f" for policy pack {pack!r}" if pack else ""
        super().__init__(f"invalid policy pack config{where}:\n  " + "\n  ".join(self.problems))


class PolicyPackLoadError(RuntimeError):
    """The policy pack could not be loaded or started (no such directory, not a pack: a usage error)."""


class PolicyPackImportError(PolicyPackLoadError):
    """The pack's own code failed while loading (an exception or exit at import, no `PolicyPack`, a pack
    process that never started serving): an internal error of the pack, exit code 3, not a usage error."""


class PolicyPackRuntimeError(RuntimeError):
    """A policy raised while the engine asked it something; the real engine fails the preview too."""
