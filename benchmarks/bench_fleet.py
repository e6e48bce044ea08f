#!/usr/bin/env python
"""Offline preview of a program that builds many hardened clusters (a fleet), with the policy pack.

    python benchmarks/bench_fleet.py [--clusters 50] [--repeat 1] [--no-sdk-comparison]

A temporary project runs `build_cluster_stack` once per cluster, each from the `prod` stack's cluster
config (with its add-ons and GitOps objects) under its own name. Each configuration runs in a fresh
process (same imports to pay, its own peak RSS), alternating when `--repeat` > 1:

- after: the defaults (the pack's fast analyzer loop, hardened_rke2/sdk_speedups.py during the program,
  raised collector thresholds during the preview);
- SDK runtime: the same with the SDK's own registration code and CPython's collector settings
  (HARDENED_RKE2_RUNTIME=sdk HARDENED_RKE2_GC=default): what the preview cost before those two;
- before: that, and pulumi-policy's own analyzer loop (NSA_CISA_FASTPATH=0).

Printed per configuration: wall time, CPU time (all threads), the phase split (packs, program, policy),
the program's CPU time, peak RSS, and a digest of what was captured and reported (equal digests: the same
resources and violations).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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

CONFIGS: dict[str, dict[str, str]] = {
    "after": {},
    "SDK runtime": {"HARDENED_RKE2_RUNTIME": "sdk", "HARDENED_RKE2_GC": "default"},
    "before": {"HARDENED_RKE2_RUNTIME": "sdk", "HARDENED_RKE2_GC": "default", "NSA_CISA_FASTPATH": "0"},
}


def make_project(root: Path) -> Path:
    (root / "program").mkdir(parents=True)
    (root / "stacks").mkdir()
    (root / "Pulumi.yaml").write_text(
        "name: hardened-rke2\nruntime: python\nmain: program/\nstackConfigDir: stacks\n", encoding="utf-8"
    )
    (root / "program" / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    shutil.copy(REPO / "stacks" / "Pulumi.prod.yaml", root / "stacks" / "Pulumi.fleet.yaml")
    return root


def _digest(result: Any) -> str:
    """What was captured and reported, independent of registration order (the SDK registers from threads)."""
    resources = sorted(
        json.dumps(
            [
                r.urn,
                r.parent,
                r.custom,
                r.protect,
                r.provider,
                r.wire_inputs,
                sorted(r.dependencies),
                r.ignore_changes,
                r.additional_secret_outputs,
                r.custom_timeouts,
            ],
            sort_keys=True,
        )
        for r in result.resources
    )
    violations = sorted(
        json.dumps([v.policy_name, v.urn, v.message, v.enforcement_level], sort_keys=True)
        for v in result.violations
    )
    return hashlib.sha256(json.dumps([resources, violations]).encode()).hexdigest()[:12]


def run_once(project: Path) -> dict[str, Any]:
    """One offline preview in this process (a child started by main)."""
    sys.path.insert(0, str(REPO))
    import hardened_rke2.preview as preview

    program_cpu: list[float] = []
    run_program = preview._run_program

    def timed_run_program(*args: Any, **kwargs: Any) -> Any:
        c0 = time.process_time()
        try:
            return run_program(*args, **kwargs)
        finally:
            program_cpu.append(time.process_time() - c0)

    preview._run_program = timed_run_program
    t0, c0 = time.perf_counter(), time.process_time()
    result = preview.preview_project(project, "fleet", policy_packs=[PACK])
    return {
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "program_cpu": program_cpu[0],
        "timings": dict(result.timings),
        "resources": len(result.resources),
        "violations": len(result.violations),
        "status": result.status,
        "digest": _digest(result),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(project: Path, clusters: int, env: dict[str, str]) -> dict[str, Any]:
    child_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HARDENED_RKE2_RUNTIME", "HARDENED_RKE2_GC", "NSA_CISA_FASTPATH")
    }
    child_env.update(env, BENCH_FLEET_CLUSTERS=str(clusters))
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(project)],
        env=child_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs per configuration")
    parser.add_argument("--no-sdk-comparison", action="store_true", help="only the 'after' configuration")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_once(args.child)))
        return 0
    sys.path.insert(0, str(REPO))
    from benchmarks.machine import header

    header(f"bench_fleet --clusters {args.clusters}")
    names = ["after"] if args.no_sdk_comparison else list(CONFIGS)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        project = make_project(Path(tmp))
        for _ in range(args.repeat):
            for name in names:
                runs[name].append(_child(project, args.clusters, CONFIGS[name]))
    print(
        f"{args.clusters}-cluster program, {args.repeat} alternating run(s) per configuration (medians); "
        f"1-min load average after the runs {os.getloadavg()[0]:.2f}"
    )
    for name in names:
        rs = runs[name]

        def med(key: str, rs: list[dict[str, Any]] = rs) -> float:
            return statistics.median(r[key] for r in rs)

        def phase(key: str, rs: list[dict[str, Any]] = rs) -> float:
            return statistics.median(r["timings"].get(key, 0.0) for r in rs)

        first = rs[0]
        print(
            f"  {name:<12} wall {med('wall'):6.2f} s, CPU {med('cpu'):6.2f} s for {first['resources']} "
            f"resources ({first['violations']} violations, {first['status']}); packs {phase('packs'):.2f} s, "
            f"program {phase('program'):.2f} s (CPU {med('program_cpu'):.2f} s), "
            f"policy {phase('policy'):.2f} s; "
            f"peak RSS {med('max_rss_mib'):.0f} MiB; digest {','.join(sorted({r['digest'] for r in rs}))}"
        )
    if "SDK runtime" in runs:
        after, sdk = runs["after"], runs["SDK runtime"]
        ratio = statistics.median(r["program_cpu"] for r in sdk) / statistics.median(
            r["program_cpu"] for r in after
        )
        wall = statistics.median(r["wall"] for r in sdk) / statistics.median(r["wall"] for r in after)
        print(
            f"  program CPU: SDK runtime / after x{ratio:.2f}; "
            f"whole preview wall: SDK runtime / after x{wall:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
