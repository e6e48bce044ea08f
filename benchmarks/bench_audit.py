#!/usr/bin/env python
"""`hardened-rke2 audit` of a `pulumi stack export` file, as a user runs it, at growing sizes.

    python benchmarks/bench_audit.py [--copies 1 10 50] [--repeat 3]

The export is the `prod` example stack's (previewed offline with the pack, converted by
tests/support/state_export.py, secrets as ciphertext), repeated `copies` times under distinct stack names in
one file (the CLI labels such a file's stack `multiple`). Each size is timed as a subprocess
(`hardened-rke2 audit --state F --policy-pack nsa-cisa-hardening --json`, wall time, median of `repeat`) and,
in this process, the reading and checking of the file alone (`read_state_file`).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the tests' helpers live in the repository

from benchmarks.machine import header  # noqa: E402
from hardened_rke2.state_file import read_state_file  # noqa: E402
from tests.support.stack_previews import PACK, example_with_pack  # noqa: E402
from tests.support.state_export import export_from_preview  # noqa: E402


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return value


def fleet_export(base: dict[str, Any], copies: int) -> dict[str, Any]:
    """`copies` stacks' resources in one export: every URN of copy i names stack `prod-i`."""
    doc = copy.deepcopy(base)
    resources = base["deployment"]["resources"]
    doc["deployment"]["resources"] = [
        _renamed(r, "urn:pulumi:prod::", f"urn:pulumi:prod-{i}::") for i in range(copies) for r in resources
    ]
    return doc


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "hardened-rke2"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hardened_rke2.cli"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    header("bench_audit")
    preview, _ = example_with_pack("prod")
    base = export_from_preview(preview, secrets="ciphertext")
    with tempfile.TemporaryDirectory() as tmp:
        for copies in args.copies:
            path = Path(tmp) / f"prod-x{copies}.json"
            path.write_text(json.dumps(fleet_export(base, copies)), encoding="utf-8")
            t0 = time.perf_counter()
            state = read_state_file(path)
            read = time.perf_counter() - t0
            walls, codes = [], set()
            for _ in range(args.repeat):
                cmd = [*_cli(), "audit", "--state", str(path), "--policy-pack", str(PACK), "--json"]
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, cwd=REPO, capture_output=True, check=False)
                walls.append(time.perf_counter() - t0)
                codes.add(proc.returncode)
            size = path.stat().st_size / 1024 / 1024
            print(
                f"{len(state.resources):>6} resources, {size:6.2f} MiB: read+check {read * 1000:7.0f} ms; "
                f"audit (CLI, median of {args.repeat}) {statistics.median(walls):6.2f} s; "
                f"exit {sorted(codes)}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
