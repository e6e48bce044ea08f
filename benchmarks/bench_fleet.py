#!/usr/bin/env python
"""Offline preview of a program that builds many hardened clusters (a fleet), with the policy pack.

    python benchmarks/bench_fleet.py [--clusters 50] [--no-sdk-comparison]

A temporary project runs `build_cluster_stack` once per cluster, each from the `prod` stack's cluster
config (with its add-ons and GitOps objects) under its own name. The whole offline preview (program under
the mock engine, Remediate/Analyze of every resource, AnalyzeStack) is timed in this process with the pack's
fast analyzer loop, and again with pulumi-policy's own loop (before), with the phase split printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACK = REPO / "policy-packs" / "nsa-cisa-hardening"

PROGRAM = '''\
"""A fleet: the prod cluster config, built N times under different names."""
import os

from blueprint.config import load_stack_config, read_pulumi_config
from blueprint.program import build_cluster_stack

config = load_stack_config(read_pulumi_config())
for i in range(int(os.environ["BENCH_FLEET_CLUSTERS"])):
    cluster = config.cluster.model_copy(update={"name": f"{config.cluster.name}-{i:02d}"})
    build_cluster_stack(config.model_copy(update={"cluster": cluster}))  # cluster, add-ons, GitOps
'''


def make_project(root: Path) -> Path:
    (root / "program").mkdir(parents=True)
    (root / "stacks").mkdir()
    (root / "Pulumi.yaml").write_text(
        "name: hardened-rke2\nruntime: python\nmain: program/\nstackConfigDir: stacks\n", encoding="utf-8")
    (root / "program" / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    shutil.copy(REPO / "stacks" / "Pulumi.prod.yaml", root / "stacks" / "Pulumi.fleet.yaml")
    return root


def run(project: Path) -> tuple[float, int, dict[str, float], int]:
    from hardened_rke2.preview import preview_project

    t0 = time.perf_counter()
    result = preview_project(project, "fleet", policy_packs=[PACK])
    wall = time.perf_counter() - t0
    return wall, len(result.resources), dict(result.timings), len(result.violations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--no-sdk-comparison", action="store_true")
    args = parser.parse_args(argv)
    os.environ["BENCH_FLEET_CLUSTERS"] = str(args.clusters)
    sys.path.insert(0, str(REPO))
    import pulumi_policy

    from benchmarks.bench_policy_pack import sdk_loop

    print(f"{args.clusters}-cluster program, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"pulumi-policy {pulumi_policy.version.VERSION}, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        project = make_project(Path(tmp))
        runs = [("after (fast path)", False)]
        if not args.no_sdk_comparison:
            runs.append(("before (SDK loop)", True))
        for label, sdk in runs:
            if sdk:
                with sdk_loop():
                    wall, n, timings, found = run(project)
            else:
                wall, n, timings, found = run(project)
            split = ", ".join(f"{k} {v:.2f}s" for k, v in timings.items())
            print(f"  {label:<18} wall {wall:6.2f} s for {n} resources ({found} violations); {split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
