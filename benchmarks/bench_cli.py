#!/usr/bin/env python
"""Wall time and peak memory of `hardened-rke2 preview --stack prod` as a user runs it, before and after.

    python benchmarks/bench_cli.py [--repeat 5] [--stack prod]

before = the pack on pulumi-policy's own analyzer loop (NSA_CISA_FASTPATH=0) and CPython's default
collector settings (HARDENED_RKE2_GC=default); after = the defaults (nsa_cisa.fastpath, tuned thresholds and
`gc.freeze()` before exit). Runs alternate, in one process, so both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
VARIANTS = {
    "before": {"NSA_CISA_FASTPATH": "0", "HARDENED_RKE2_GC": "default"},
    "after": {},
}


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "hardened-rke2"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hardened_rke2.cli"]


def run_once(stack: str, env_extra: dict[str, str]) -> tuple[float, float, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("NSA_CISA_FASTPATH", "HARDENED_RKE2_GC")}
    env.update(env_extra)
    cmd = [*_cli(), "preview", "--stack", stack, "--policy-pack", str(PACK), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stack", default="prod")
    args = parser.parse_args(argv)
    results: dict[str, list[tuple[float, float, int]]] = {k: [] for k in VARIANTS}
    for _ in range(args.repeat):
        for name, env in VARIANTS.items():
            results[name].append(run_once(args.stack, env))
    print(
        f"hardened-rke2 preview --stack {args.stack} --policy-pack {PACK.relative_to(REPO)} --json; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {args.repeat} alternating runs each"
    )
    medians = {}
    for name, runs in results.items():
        walls = [r[0] for r in runs]
        medians[name] = statistics.median(walls)
        print(
            f"  {name:<6} wall median {medians[name]:.2f} s (min {min(walls):.2f}), peak RSS median "
            f"{statistics.median(r[1] for r in runs):.0f} MiB, exit codes {sorted({r[2] for r in runs})}"
        )
    print(f"  wall time {100 * (1 - medians['after'] / medians['before']):.0f}% lower")
    return 0


if __name__ == "__main__":
    sys.exit(main())
