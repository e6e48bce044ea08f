#!/usr/bin/env python
"""Pod Security Standards conformance: run upstream PSA test fixtures through the policy pack.

    python benchmarks/pss_conformance.py --fixtures DIR [--pack DIR] [--version v1.N] [--json]

DIR is a local copy of `staging/src/k8s.io/pod-security-admission/test/testdata` from a checkout of
kubernetes/kubernetes (or any directory laid out as `{baseline,restricted}/v1.N/{pass,fail}/<check><i>.yaml`).
Nothing is downloaded. For each level the newest `v1.N` folder is used unless `--version` is given.

Each fixture is a Pod analysed the way the engine does it (`analyze_props` over the analyzer protocol).
Expectations:
- restricted/fail: a mandatory violation from a `pss-*` policy tagged `pss-check:<the fixture's check>`;
- restricted/pass: no mandatory violation at all (the guide's extras only advise on such pods);
- baseline/fail: a mandatory violation tagged with the fixture's (baseline) check;
- baseline/pass: no violation tagged with that fixture's check (a baseline pod need not be restricted).
Outcomes: `agree`, `disagree`, or `stricter` (a baseline/pass fixture tripping a pack check that enforces
the restricted form of a check baseline relaxes: procMount with `hostUsers: false`).
Printed: per level/kind/check the count of each outcome, then every non-agreeing fixture with the
violations seen. Exit status 1 if any fixture disagrees or cannot be mapped to a check of the pack.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hardened_rke2.analysis.results import Violation  # noqa: E402
from hardened_rke2.analysis.testing import analyze_props, cached_session  # noqa: E402

DEFAULT_PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
POD = "kubernetes:core/v1:Pod"

# Older fixture file names that do not spell their check id (upstream renamed them over time).
ALIASES = {
    "addcapabilities": "capabilities_baseline",
    "hostpath": "hostPathVolumes",
    "hostprocess": "windowsHostProcess",
    "selinux": "seLinuxOptions",
    "seccomp_baseline": "seccompProfile_baseline",
    "seccomp_restricted": "seccompProfile_restricted",
}
# Upstream splits some checks into `<id>_baseline` / `<id>_restricted`; the pack enforces one policy
# with the restricted (stricter) semantics under the plain id.
SPLIT_SUFFIXES = ("_baseline", "_restricted")
STRICTER_THAN_BASELINE = {"procMount"}
"""Pack checks that enforce the restricted form of a check baseline relaxes (procMount: any value with
`hostUsers: false`). Firing on a baseline/pass fixture is then reported as `stricter`, not a disagreement."""

AGREE, DISAGREE, STRICTER = "agree", "disagree", "stricter"
OUTCOMES = (AGREE, DISAGREE, STRICTER)


def pack_check_ids(pack: Path) -> dict[str, str]:
    """lower-case id -> the pack's `pss-check:` id, as the pack reports its policies (GetAnalyzerInfo)."""
    ids: dict[str, str] = {}
    for policy in cached_session(pack).policies:
        for tag in policy.tags:
            if policy.name.startswith("pss-") and tag.startswith("pss-check:"):
                cid = tag.split(":", 1)[1]
                ids[cid.lower()] = cid
    return ids


def check_of(stem: str, ids: dict[str, str]) -> tuple[str | None, str]:
    """(pack check id or None, fixture check name) for a fixture file stem like `procmount_baseline1`."""
    name = stem.rstrip("0123456789")
    key = ALIASES.get(name, name).lower()
    if key in ids:
        return ids[key], name
    for suffix in SPLIT_SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in ids:
            return ids[key[: -len(suffix)]], name
    return None, name


def checks_hit(violations: list[Violation], *, mandatory: bool) -> set[str]:
    return {
        t.split(":", 1)[1]
        for v in violations
        if v.is_mandatory or not mandatory
        for t in v.tags
        if t.startswith("pss-check:") and v.policy_name.startswith("pss-")
    }


def newest(level_dir: Path) -> Path | None:
    versions = [p for p in level_dir.glob("v1.*") if p.is_dir() and p.name[3:].isdigit()]
    return max(versions, key=lambda p: int(p.name[3:]), default=None)


def judge(level: str, kind: str, check: str | None, name: str, v: list[Violation]) -> tuple[str, str]:
    """(outcome, why) for one fixture: AGREE, DISAGREE or STRICTER (see STRICTER_THAN_BASELINE)."""
    if kind == "pass" and level == "restricted":
        bad = sorted(f"{x.policy_name} ({x.enforcement_level})" for x in v if x.is_mandatory)
        if bad:
            return DISAGREE, f"mandatory violations on a restricted-compliant pod: {bad}"
        return AGREE, ""
    if check is None:
        return DISAGREE, f"fixture check '{name}' maps to no pss-check tag of the pack"
    if kind == "fail":
        if check in checks_hit(v, mandatory=True):
            return AGREE, ""
        return DISAGREE, f"expected a mandatory pss-check:{check} violation"
    # baseline/pass: the fixture's own check must stay quiet (the rest of restricted may fire).
    if check not in checks_hit(v, mandatory=False):
        return AGREE, ""
    if check in STRICTER_THAN_BASELINE:
        return STRICTER, f"pss-check:{check} enforces the restricted form on a baseline-compliant pod"
    return DISAGREE, f"pss-check:{check} fired on a baseline-compliant pod"


def run(fixtures: Path, pack: Path, version: str | None) -> dict[str, Any]:
    ids = pack_check_ids(pack)
    rows: list[dict[str, Any]] = []
    used: dict[str, str] = {}
    for level in ("restricted", "baseline"):
        vdir = fixtures / level / version if version else newest(fixtures / level)
        if vdir is None or not vdir.is_dir():
            continue
        used[level] = vdir.name
        for kind in ("fail", "pass"):
            for path in sorted((vdir / kind).glob("*.yaml")):
                pod = yaml.safe_load(path.read_text(encoding="utf-8"))
                check, name = check_of(path.stem, ids)
                v = analyze_props(pack, POD, pod, name=path.stem)
                outcome, why = judge(level, kind, check, name, v)
                rows.append(
                    {
                        "level": level,
                        "kind": kind,
                        "file": path.name,
                        "check": check or name,
                        "outcome": outcome,
                        "why": why,
                        "violations": sorted(f"{x.policy_name}:{x.enforcement_level}" for x in v),
                    }
                )
    return {"versions": used, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", type=Path, required=True, help="local copy of PSA test/testdata")
    ap.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    ap.add_argument("--version", help="v1.N folder to use for both levels (default: the newest of each)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    if not args.fixtures.is_dir():
        ap.error(f"--fixtures {args.fixtures} is not a directory")
    result = run(args.fixtures.resolve(), args.pack.resolve(), args.version)
    rows = result["rows"]
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print("versions:", ", ".join(f"{k} {v}" for k, v in sorted(result["versions"].items())) or "none")
        counts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
        for r in rows:
            counts[(r["level"], r["kind"], r["check"])][r["outcome"]] += 1
        print(f"{'level':<11}{'kind':<6}{'check':<30}" + "".join(f"{o:>10}" for o in OUTCOMES))
        for (level, kind, check), n in sorted(counts.items()):
            print(f"{level:<11}{kind:<6}{check:<30}" + "".join(f"{n[o]:>10}" for o in OUTCOMES))
        total = {o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES}
        print(f"fixtures: {len(rows)}, " + ", ".join(f"{o}: {total[o]}" for o in OUTCOMES))
        for r in rows:
            if r["outcome"] != AGREE:
                print(
                    f"{r['outcome'].upper()} {r['level']}/{r['kind']}/{r['file']}: {r['why']}; "
                    f"seen: {r['violations']}"
                )
    return 1 if any(r["outcome"] == DISAGREE for r in rows) or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
