#!/usr/bin/env python
"""Golden snapshot of what the project produces, to prove a restructuring changed no behaviour.

    python scripts/golden_snapshot.py write   # (re)write tests/golden/*.json from the current code
    python scripts/golden_snapshot.py check   # compare the current code with the committed snapshot

It deliberately uses only stable, public surfaces so the same script runs before and after a refactor:
- every example stack through the CLI (`hardened-rke2 preview --json`, a subprocess): every registered
  resource with its inputs and options, every violation, the stack outputs;
- the policy pack through the SDK's own analyzer servicer, loaded the way `python -m pulumi.policy` loads
  it (run `__main__.py`, stop at `PolicyPack(...)`): `GetAnalyzerInfo` (all policy metadata) and the
  answers (`Remediate`, `Analyze`, `AnalyzeStack`) over the pack's own fixtures and the benchmark mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
TEAM = "stacks/teams/payments"
TEAM_FILES = [
    "--stack-reference-outputs",
    f"{TEAM}/platform-outputs.json",
    "--policy-pack-config",
    f"{TEAM}/policy-pack-config.json",
]
STACKS: dict[str, list[str]] = {
    "dev": ["--stack", "dev"],
    "prod": ["--stack", "prod"],
    "management": ["--stack", "management"],
    "fips": ["--stack", "fips"],
    "team-dev": ["--project", TEAM, "--stack", "dev", *TEAM_FILES],
    "team-broken": ["--project", TEAM, "--stack", "broken", *TEAM_FILES],
}


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "hardened-rke2"
    return [str(exe)] if exe.exists() else ["hardened-rke2"]


def stack_snapshot(name: str) -> dict[str, Any]:
    cmd = [*_cli(), "preview", *STACKS[name], "--policy-pack", str(PACK.relative_to(REPO)), "--json"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{name}: preview exited {proc.returncode}\n{proc.stderr}")
    doc = json.loads(proc.stdout)
    doc["exitCode"] = proc.returncode
    return doc


# ---------------------------------------------------------------------------------------------- the pack


def load_servicer() -> Any:
    from pulumi_policy import policy as sdk

    class Captured(BaseException):
        pass

    holder: dict[str, Any] = {}
    original = sdk._PolicyAnalyzerServicer

    def capture(*args: Any, **kwargs: Any) -> Any:
        holder["servicer"] = original(*args, **kwargs)
        raise Captured

    sdk._PolicyAnalyzerServicer = capture  # type: ignore[assignment,misc]
    cwd = os.getcwd()
    try:
        os.chdir(PACK)
        runpy.run_path(str(PACK), run_name="__main__")
    except Captured:
        pass
    finally:
        sdk._PolicyAnalyzerServicer = original  # type: ignore[misc]
        os.chdir(cwd)
    return holder["servicer"]


def pack_inputs() -> list[dict[str, Any]]:
    """The pack's own fixtures (guide appendix examples) and the benchmark's mixed stack."""
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_policy_pack import build_stack

    out: list[dict[str, Any]] = []
    appendix = REPO / "tests" / "policy" / "fixtures" / "nsa" / "appendix-examples.yaml"
    for i, doc in enumerate(d for d in yaml.safe_load_all(appendix.read_text()) if d):
        api, kind = doc["apiVersion"], doc["kind"]
        group, _, version = api.rpartition("/")
        out.append(
            {"type": f"kubernetes:{group or 'core'}/{version}:{kind}", "name": f"appendix-{i}", "props": doc}
        )
    for spec in build_stack(600):
        out.append({"type": spec["type"], "name": spec["name"], "props": spec["props"]})
    return out


def pack_snapshot() -> dict[str, Any]:
    from google.protobuf import empty_pb2, json_format, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    def to_dict(msg: Any) -> Any:
        return json_format.MessageToDict(msg, preserving_proto_field_name=True)

    servicer = load_servicer()
    info = to_dict(servicer.GetAnalyzerInfo(empty_pb2.Empty(), None))
    answers: list[dict[str, Any]] = []
    stack_resources = []
    specs = pack_inputs()
    for spec in specs:
        urn = f"urn:pulumi:golden::golden::{spec['type']}::{spec['name']}"
        props = struct_pb2.Struct()
        props.update(spec["props"])
        req = analyzer_pb2.AnalyzeRequest(type=spec["type"], name=spec["name"], urn=urn, properties=props)
        rem = to_dict(servicer.Remediate(req, None))
        ana = to_dict(servicer.Analyze(req, None))
        answers.append({"urn": urn, "remediate": rem, "analyze": ana})
        stack_resources.append(
            analyzer_pb2.AnalyzerResource(type=spec["type"], name=spec["name"], urn=urn, properties=props)
        )
    stack = to_dict(servicer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=stack_resources), None))
    digest = hashlib.sha256(json.dumps(specs, sort_keys=True).encode()).hexdigest()
    return {"info": info, "inputsSha256": digest, "answers": answers, "analyzeStack": stack}


# ---------------------------------------------------------------------------------------------- driver


def snapshots() -> dict[str, Any]:
    docs = {f"stack-{name}": stack_snapshot(name) for name in STACKS}
    docs["pack"] = pack_snapshot()
    return docs


def dump(doc: Any) -> str:
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "check"
    current = snapshots()
    if mode == "write":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, doc in current.items():
            (GOLDEN / f"{name}.json").write_text(dump(doc), encoding="utf-8")
        print(f"wrote {len(current)} snapshots to {GOLDEN}")
        return 0
    changed = []
    for name, doc in current.items():
        path = GOLDEN / f"{name}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != dump(doc):
            changed.append(name)
            out = Path(os.environ.get("GOLDEN_DIFF_DIR", "/tmp")) / f"golden-{name}.json"
            out.write_text(dump(doc), encoding="utf-8")
            print(f"DIFFERENT: {name} (current written to {out}; diff it against {path})")
        else:
            print(f"identical: {name}")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
