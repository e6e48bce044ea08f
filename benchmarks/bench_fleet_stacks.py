#!/usr/bin/env python
"""`hardened-rke2 fleet preview` of a generated fleet: N cluster stacks + 1 management + 2N team stacks.

    python benchmarks/bench_fleet_stacks.py [--clusters 1 10 50]

Each cluster stack is the `prod` example under its own name (add-ons, GitOps, the payments tenant space);
each team stack is the payments team's `dev` stack on one of them (two per cluster), depending on it and
reading its previewed outputs. For 50 clusters that is 151 stacks: the issue's fleet (50 clusters + 1
management + 100 teams). Every run is the real command in a fresh process (`hardened-rke2 fleet preview
--json`), so the wall time includes the interpreter, the imports and loading the pack once. The pack's
share is its time in the stacks' own timings (pack start + Remediate/Analyze/AnalyzeStack) over the wall
time. `cpu s` is the command's CPU time (user + system): on a shared, loaded machine it is the better guide
to the wall time an idle machine would see (the command is single-threaded); `load` is the 1-minute load
average after each run. Targets (issue 13): 50 clusters in <= 20 s on 2 cores, the pack <= 25 % of it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.machine import header  # noqa: E402

PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
TEAM = REPO / "stacks" / "teams" / "payments"
ORG = "bench"


def make_fleet(root: Path, clusters: int) -> Path:
    """The platform project (the repo's program, generated stack files), the team project (the payments
    program, generated stack files) and the fleet file, all under `root`."""
    platform, team = root / "platform", root / "team"
    (platform / "stacks").mkdir(parents=True)
    team.mkdir()
    (platform / "Pulumi.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "hardened-rke2",
                "runtime": "python",
                "main": str(REPO / "blueprint"),
                "stackConfigDir": "stacks",
            }
        ),
        encoding="utf-8",
    )
    shutil.copy(REPO / "stacks" / "Pulumi.management.yaml", platform / "stacks" / "Pulumi.management.yaml")
    prod = yaml.safe_load((REPO / "stacks" / "Pulumi.prod.yaml").read_text(encoding="utf-8"))
    project = yaml.safe_load((TEAM / "Pulumi.yaml").read_text(encoding="utf-8"))
    project["main"] = str(TEAM)
    (team / "Pulumi.yaml").write_text(yaml.safe_dump(project), encoding="utf-8")
    team_dev = yaml.safe_load((TEAM / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    deployed = json.loads((TEAM / "platform-outputs.json").read_text(encoding="utf-8"))[
        "acme/hardened-rke2/prod"
    ]
    stacks: dict[str, dict[str, object]] = {"management": {"kind": "management", "project": "platform"}}
    for i in range(clusters):
        name = f"c{i:02d}"
        config = json.loads(json.dumps(prod))
        config["config"]["hardened-rke2:cluster"]["name"] = name
        (platform / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        stacks[name] = {"kind": "cluster", "project": "platform", "dependsOn": ["management"]}
        # What the cluster would have deployed: the ids its preview cannot know (one file per cluster).
        ref = {f"{ORG}/hardened-rke2/{name}": {**deployed, "clusterName": name}}
        (root / f"deployed-{name}.json").write_text(json.dumps(ref), encoding="utf-8")
        for j in range(2):
            stack = f"{name}-t{j}"
            config = json.loads(json.dumps(team_dev))
            config["config"]["payments-team:platformStack"] = f"{ORG}/hardened-rke2/{name}"
            (team / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
            stacks[stack] = {
                "kind": "team",
                "project": "team",
                "stack": stack,
                "dependsOn": [name],
                "policyPackConfigs": [str(TEAM / "policy-pack-config.json")],
                "stackReferenceOutputs": f"deployed-{name}.json",
            }
    fleet = {"organization": ORG, "policyPacks": [str(PACK)], "stacks": stacks}
    path = root / "fleet.yaml"
    path.write_text(yaml.safe_dump(fleet, sort_keys=False), encoding="utf-8")
    return path


def run(fleet: Path) -> tuple[float, float, dict[str, object]]:
    """Wall and CPU seconds (user + system of the child process) of one `fleet preview`."""
    exe = Path(sys.executable).parent / "hardened-rke2"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "fleet", "preview", "--fleet", str(fleet), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(
            f"fleet preview exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return wall, cpu, json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, nargs="+", default=[1, 10, 50])
    args = parser.parse_args(argv)
    header("bench_fleet_stacks")
    print(
        f"{'clusters':>8} {'stacks':>6} {'resources':>9} {'wall s':>7} {'cpu s':>6} {'pack s':>7} "
        f"{'pack %':>6} {'program s':>9} {'ms/stack':>8} {'load':>5}"
    )
    for n in args.clusters:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-stacks-") as tmp:
            wall, cpu, doc = run(make_fleet(Path(tmp), n))
        stacks = doc["stacks"]
        assert isinstance(stacks, list)
        pack = sum(s["timings"].get("packs", 0) + s["timings"].get("policy", 0) for s in stacks)
        program = sum(s["timings"].get("program", 0) for s in stacks)
        resources = sum(s["resources"] for s in stacks)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"{n:>8} {len(stacks):>6} {resources:>9} {wall:>7.2f} {cpu:>6.2f} {pack:>7.2f} "
            f"{100 * pack / wall:>6.1f} {program:>9.2f} {1000 * wall / len(stacks):>8.1f} {load:>5.2f}"
        )
    print("targets (issue 13): 50 clusters (151 stacks) <= 20 s wall, pack <= 25 %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
