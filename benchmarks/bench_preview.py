#!/usr/bin/env python
"""Wall time of the offline preview of every example stack (several repetitions, median).

    python benchmarks/bench_preview.py [--repeat 5] [--pack DIR | --no-pack]

Stacks: every `Pulumi.<stack>.yaml` of the main project (`stackConfigDir`), plus every team-owned project
under `stacks/` (a folder with its own `Pulumi.yaml`). A project that reads other stacks through a
`StackReference` keeps their outputs next to its `Pulumi.yaml` in `stack-reference-outputs.yaml|json` or
`platform-outputs.yaml|json`.
Each run is a full `preview_project` (program under the mock engine, policy pack through the analyzer
protocol). The first run per stack also pays one-time imports; it is reported separately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

try:
    from benchmarks.machine import header
except ModuleNotFoundError:  # run as a script: benchmarks/ itself is first on sys.path
    from machine import header  # type: ignore[no-redef]
from hardened_rke2.preview import preview_project
from hardened_rke2.project import load_stack_reference_outputs, read_project

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
REFS_FILES = (
    "stack-reference-outputs.yaml",
    "stack-reference-outputs.json",
    "platform-outputs.yaml",
    "platform-outputs.json",
)


def example_stacks(repo: Path = REPO) -> list[tuple[Path, str]]:
    projects = [repo, *sorted(p.parent for p in (repo / "stacks").rglob("Pulumi.yaml"))]
    found: list[tuple[Path, str]] = []
    for project_dir in projects:
        project = read_project(project_dir)
        for f in sorted(project.stack_config_dir.glob("Pulumi.*.yaml")):
            found.append((project_dir, f.name[len("Pulumi.") : -len(".yaml")]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    parser.add_argument("--no-pack", action="store_true")
    parser.add_argument("--only", action="append", default=[], help="stack name filter (repeatable)")
    args = parser.parse_args(argv)
    for var in ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_CONFIG"):
        os.environ.pop(var, None)
    packs = [] if args.no_pack else [args.pack]
    stacks = [(d, s) for d, s in example_stacks() if not args.only or s in args.only]
    if not stacks:
        print("no example stacks found")
        return 0
    header("bench_preview")
    print(f"Offline preview, {args.repeat} runs per stack, policy packs: {[str(p) for p in packs] or 'none'}")
    print(f"{'project/stack':40} {'result':>8} {'resources':>9} {'first s':>8} {'median s':>9} {'min s':>7}")
    worst = 0
    for project_dir, stack in stacks:
        refs_path = next((project_dir / f for f in REFS_FILES if (project_dir / f).is_file()), None)
        refs = load_stack_reference_outputs(refs_path) if refs_path else None
        times: list[float] = []
        result = None
        for _ in range(args.repeat + 1):
            t0 = time.perf_counter()
            result = preview_project(project_dir, stack, policy_packs=packs, stack_reference_outputs=refs)
            times.append(time.perf_counter() - t0)
        assert result is not None
        worst = max(worst, result.exit_code)
        name = f"{result.project}/{stack}"
        verdict = {0: "ok", 1: "FAILED", 2: "invalid", 3: "error"}[result.exit_code]
        first, rest = times[0], times[1:]
        print(
            f"{name:40} {verdict:>8} {len(result.resources):>9} {first:>8.2f} "
            f"{statistics.median(rest):>9.2f} {min(rest):>7.2f}"
        )
        if result.timings:
            parts = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
            print(f"{'':40}   last run: {parts}")
    print("Nothing was deployed; no provider, Rancher, cluster or Pulumi service was contacted.")
    return 0 if worst in (0, 1) else worst


if __name__ == "__main__":
    sys.exit(main())
