"""Running a stack program the way Pulumi's Python language host does, under the mock engine.

cwd is the `main` folder and `runpy` runs it with ONLY that folder prepended to `sys.path` (so it must
import the installed project absolutely); afterwards the process is put back as it was, so a second
preview in the same process sees nothing of the first.
"""

from __future__ import annotations

import contextlib
import functools
import os
import runpy
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pulumi.config import ConfigMissingError, ConfigTypeError

from hardened_rke2.capture import (
    STACK_REFERENCE_TYPE,
    EchoMocks,
)


@contextlib.contextmanager
def scrubbed_pulumi_env() -> Iterator[None]:
    # The in-process policy servicer reconfigures the runtime when it sees these (see offline notes).
    names = ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.contextmanager
def as_language_host(program: Path) -> Iterator[Path]:
    """cwd = the program folder; afterwards, sys.path and the modules imported from that folder (as
    top-level modules) are restored so a second run, or the caller, sees nothing of it."""
    folder = program if program.is_dir() else program.parent
    saved_path = list(sys.path)
    saved_cwd = os.getcwd()
    before = dict(sys.modules)
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            if _imported_from_folder(name, module, folder):
                if name in before:
                    sys.modules[name] = before[name]
                else:
                    del sys.modules[name]


@functools.lru_cache(maxsize=8192)
def _resolved(file: str) -> str:
    """A module file's real path. Cached: every run checks every loaded module (~1,000), and a fleet
    preview runs many stacks in one process (resolving them each time was a fifth of its time)."""
    return str(Path(file).resolve())


def _imported_from_folder(name: str, module: Any, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file or not isinstance(file, str):
        return False
    resolved = _resolved(file)
    if not resolved.startswith(str(folder) + os.sep):  # most modules: a string test, no Path objects
        return False
    rel = Path(resolved).relative_to(folder)
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) == name


class OfflineMocks(EchoMocks):
    """EchoMocks that note a StackReference without supplied outputs instead of failing inside the
    SDK's event loop (which would bury the cause under unretrieved-future noise)."""

    def __init__(self, stack_references: Mapping[str, Mapping[str, Any]] | None) -> None:
        outputs: dict[str, Mapping[str, Any]] = {}
        self.secret_names: dict[str, list[str]] = {}
        for name, entry in (stack_references or {}).items():
            if _is_reference_spec(entry):
                outputs[name] = entry.get("outputs") or {}
                self.secret_names[name] = [str(n) for n in entry.get("secretOutputNames") or []]
            else:
                outputs[name] = entry
        super().__init__(stack_references=outputs)
        self.missing_references: list[str] = []

    def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE_TYPE:
            ref = str(args.inputs.get("name", args.name))
            if ref not in self.stack_references:
                self.missing_references.append(ref)
                return f"{args.name}-id", {"name": ref, "outputs": {}, "secretOutputNames": []}
            ref_id, state = super().new_resource(args)
            state["secretOutputNames"] = list(self.secret_names.get(ref, []))
            return ref_id, state
        return super().new_resource(args)


def _is_reference_spec(entry: Mapping[str, Any]) -> bool:
    return isinstance(entry.get("outputs"), Mapping) and set(entry) <= {"outputs", "secretOutputNames"}


def program_fn(program: Path) -> Any:
    def run() -> None:
        # `runpy.run_path(<folder>)` puts the folder first on sys.path and runs its __main__.py, exactly
        # what pulumi-language-python-exec does with the program path.
        runpy.run_path(str(program), run_name="__main__")

    return run


def config_problems(exc: BaseException) -> list[str] | None:
    """Any exception whose class defines `problems` is the blueprint's invalid-config signal
    (`blueprint.config.StackConfigError`); its causes are searched too (applies wrap exceptions)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConfigMissingError, ConfigTypeError)):
            # Pulumi's own config errors (a required key missing, a value of the wrong type): bad input.
            return [" ".join(str(current).split())]
        if "problems" in dir(type(current)) or hasattr(current, "problems"):
            problems = getattr(current, "problems", None)
            if isinstance(problems, (list, tuple)):
                return [str(p) for p in problems]
            return [str(problems)]
        current = current.__cause__ or current.__context__
    return None
