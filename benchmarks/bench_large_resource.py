#!/usr/bin/env python
"""Pack time on one very large resource: a Deployment with N containers must cost linear time.

    python benchmarks/bench_large_resource.py [--sizes 1000 2000 4000 10000]

Each size is analyzed once through the in-process analyzer session (Remediate, Analyze, as the engine does)
after a warm-up; printed: seconds and milliseconds per container. Issue 15 measured 70 s for 10,000
containers before the pack's fast loop; linear scaling shows as a flat ms/container column.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "policy-packs" / "nsa-cisa-hardening")]  # a script, not a test

from benchmarks.machine import header  # noqa: E402
from hardened_rke2.analysis.testing import analyze_props  # noqa: E402
from tests.support.policy_builders import restricted_spec, wrap  # noqa: E402

PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def deployment(containers: int) -> dict[str, object]:
    spec = restricted_spec()
    first = spec["containers"][0]
    spec["containers"] = [dict(first, name=f"c{i}") for i in range(containers)]
    return wrap("Deployment", spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 10000])
    args = parser.parse_args(argv)
    header("bench_large_resource")
    analyze_props(PACK, DEPLOYMENT, deployment(10))  # warm-up: imports, pack load
    print(f"{'containers':>10} {'seconds':>8} {'ms/container':>13} {'violations':>10}")
    for n in args.sizes:
        t0 = time.perf_counter()
        found = analyze_props(PACK, DEPLOYMENT, deployment(n))
        took = time.perf_counter() - t0
        print(f"{n:>10} {took:>8.2f} {took / n * 1000:>13.3f} {len(found):>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
