#!/usr/bin/env python3
"""Mutation score per module of the code that decides hardening (issue 18). On demand, not in CI.

    .venv/bin/pip install -e ".[dev,mutation]"
    .venv/bin/python scripts/mutation-score.py                  # every module, then the table
    .venv/bin/python scripts/mutation-score.py rke2_config cli  # some modules
    .venv/bin/python scripts/mutation-score.py --survivors cli  # after adding tests: rerun the survivors
    .venv/bin/python scripts/mutation-score.py --report         # the table from the last runs, no run
    .venv/bin/python scripts/mutation-score.py --list           # the modules and the tests each runs
    .venv/bin/python scripts/mutation-score.py --max-children 2 network  # two mutants at once (default 1)

`--survivors` is for tests added since the last run. After a change to the module's own code, delete
`mutants/<module>/` and run it in full: the mutants of changed functions lose their earlier results.

Each module runs mutmut (shared settings in pyproject.toml `[tool.mutmut]`) in its own stage
`mutants/<module>/`: links to the repository, a copy of the module's file, and a pyproject.toml whose
`[tool.mutmut]` mutates only that file and selects only the tests in `MODULES`. mutmut then runs, for each
mutant, only those of the selected tests that called the mutated function. Runs are niced (`nice -n 19`)
and run one mutant at a time unless `--max-children N` says otherwise;
a module's results stay in its stage (delete `mutants/<module>/` to start over).

Prints the survivors and then `module: killed/total = N%` per module (a timeout counts as killed); a
survivor listed in docs/mutation-testing.md (a line `- `name`: reason`) is marked `equivalent`, and the
score of the other mutants is printed next to it. Exit status 1 if any module is below 90%.

Two adaptations to this repository:
- mutmut 3 does not mutate decorated functions, and every policy check is registered by a decorator (the
  components' rules are pydantic `@field_validator`/`@model_validator` methods). The staged copy applies
  module-level and method decorators by assignment after the definition (`undecorate`): the same module,
  with the checks mutable.
- The pack's modules import as `nsa_cisa.*` (the analyzer puts the pack directory first on sys.path), so
  the mutant names mutmut derives from the file path (`policy-packs.nsa-cisa-hardening.nsa_cisa.*`) are
  rewritten to that import name, or no test would ever select the mutants.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
STAGES = ROOT / "mutants"
DOC = ROOT / "docs" / "mutation-testing.md"
PACK = "policy-packs/nsa-cisa-hardening"
PACK_PREFIX = "policy-packs.nsa-cisa-hardening."

# name -> (file to mutate, the tests that cover it). The tests are the module's mirror test file plus
# those that exercise its decisions end to end; keep each list small enough for a few minutes per module.
MODULES: dict[str, tuple[str, list[str]]] = {
    "rke2_config": ("components/rke2_config.py", ["tests/components/test_rke2_config.py"]),
    # test_cluster.py and test_node_pools.py run whole programs under the mock engine (seconds per mutant);
    # the *_steps files test the same decisions without the engine.
    "cluster": ("components/cluster.py", ["tests/components/test_cluster_steps.py"]),
    "node_pools": ("components/node_pools.py", ["tests/components/test_node_pool_steps.py"]),
    "pod_security": (f"{PACK}/nsa_cisa/pod_security.py", ["tests/policy/test_pod_security.py"]),
    "rbac": (f"{PACK}/nsa_cisa/rbac.py", ["tests/policy/test_rbac.py"]),
    "network": (f"{PACK}/nsa_cisa/network.py", ["tests/policy/test_network.py"]),
    "secrets": (f"{PACK}/nsa_cisa/secrets.py", ["tests/policy/test_secrets.py"]),
    # The engine-driven test_rancher_cluster.py runs every cluster policy per case (seconds per mutant);
    # the checks are pure functions, called directly by the focused file.
    "rancher_cluster": (
        f"{PACK}/nsa_cisa/rancher_cluster.py",
        ["tests/policy/test_rancher_cluster_checks.py", "tests/policy/test_fips_choices_check.py"],
    ),
    # The CLI's exit codes: PreviewResult.exit_code decides them, cli.main/_preview/_controls return them.
    "cli": (
        "hardened_rke2/cli.py",
        [
            "tests/hardened_rke2/test_cli.py",
            "tests/hardened_rke2/test_render.py",
            "tests/hardened_rke2/test_cli_hostile.py",
        ],
    ),
    "preview_exit_code": (
        "hardened_rke2/preview.py",
        ["tests/hardened_rke2/test_cli.py", "tests/hardened_rke2/test_preview.py"],
    ),
}
# Functions whose mutants count for a module (default: all of the file). The CLI's text rendering is
# not an exit-code decision.
ONLY_FUNCTIONS: dict[str, list[str]] = {
    "cli": [
        "x_main",
        "x__preview",
        "x__run_preview",
        "x__controls",
        "x__run_command",
    ],
    "preview_exit_code": ["xǁPreviewResultǁexit_code", "xǁPreviewResultǁhas_mandatory"],
}
# Functions whose mutants are not counted, with the reason (printed with the score). They register Pulumi
# resources, which needs the engine: the whole-program tests and the golden snapshot cover them.
NOT_COUNTED: dict[str, dict[str, str]] = {
    "cluster": {
        "xǁHardenedClusterǁ__init__": "registers the resources (test_cluster.py, golden snapshot)",
        "x_audit_policy_secret": "registers the audit-policy Secret (test_cluster.py)",
        "x_etcd_s3_credential": "registers the S3 cloud credential (test_cluster.py)",
        "x_kubeconfig_token": "registers the Rancher token (test_cluster.py)",
        "x_proxy_kubeconfig": "an Output applied by the engine (test_cluster.py)",
    },
    "node_pools": {
        "x_build_machine_pools": "registers the MachineConfigV2s (test_node_pools.py, golden snapshot)",
    },
}
KILLED = {1, 3, 36, 37, -24, 24, 152, 255}  # failed, pytest internal error, timeout, caught by type check
STATUS = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", None: "not checked"}


def _patched_mutmut(argv: list[str]) -> None:
    """Run mutmut's CLI with mutant names derived as the modules import (`nsa_cisa.x`)."""
    import mutmut.__main__ as main_mod
    import mutmut.mutation.file_mutation as file_mutation
    import mutmut.utils.format_utils as format_utils

    original = format_utils.get_mutant_name

    def get_mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
        name = original(relative_source_path, mutant_method_name)
        return name.removeprefix(PACK_PREFIX)

    for mod in (format_utils, file_mutation, main_mod):
        mod.get_mutant_name = get_mutant_name  # type: ignore[attr-defined]
    sys.argv = ["mutmut", *argv]
    main_mod.cli()


def undecorate(source: str) -> str:
    """`@d(...)\ndef f` at module level -> `def f` then `f = d(...)(f)`: the same module, but mutable.

    mutmut 3 leaves decorated functions alone (a decorator runs at definition time), and every policy
    check is registered by a decorator (`@GROUP.policy`, `@_pss`). Applying the decorators by assignment
    after the definition lets mutmut mutate the checks; the module registers the same functions.
    """
    import libcst as cst

    body: list[cst.CSTNode] = []
    module = cst.parse_module(source)
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef):
            stmt = stmt.with_changes(body=stmt.body.with_changes(body=_unproperty(stmt.body.body)))
        if not (isinstance(stmt, cst.FunctionDef) and stmt.decorators):
            body.append(stmt)
            continue
        applied: cst.BaseExpression = cst.Name(stmt.name.value)
        for decorator in reversed(stmt.decorators):
            applied = cst.Call(func=decorator.decorator, args=[cst.Arg(applied)])
        target = cst.AssignTarget(cst.Name(stmt.name.value))
        body.append(stmt.with_changes(decorators=[]))
        body.append(cst.SimpleStatementLine([cst.Assign(targets=[target], value=applied)]))
    return module.with_changes(body=body).code


def _unproperty(statements: Any) -> list[Any]:
    """In a class body, `@d def f` -> `def f` then `f = d(f)` for every decorator (mutmut skips decorated
    methods): `@property`, `@classmethod`, pydantic's `@field_validator(...)` / `@model_validator(...)` all
    take the function (or the classmethod) as an argument, so the class is built the same."""
    import libcst as cst

    out: list[Any] = []
    for stmt in statements:
        if not (isinstance(stmt, cst.FunctionDef) and stmt.decorators):
            out.append(stmt)
            continue
        name = stmt.name.value
        applied: cst.BaseExpression = cst.Name(name)
        for decorator in reversed(stmt.decorators):
            applied = cst.Call(func=decorator.decorator, args=[cst.Arg(applied)])
        out.append(stmt.with_changes(decorators=[]))
        assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=applied)
        out.append(cst.SimpleStatementLine([assign]))
    return out


def _link_tree(real: Path, stage: Path, keep: Path, skip: set[str]) -> list[str]:
    """Link `real`'s entries into `stage`, except along the path to `keep`: real folders, and `keep`
    itself an undecorated copy. Returns the names linked or made at this level."""
    names = []
    for entry in sorted(real.iterdir()):
        if entry.name in skip or entry.name.startswith(".") or entry.name.endswith(".egg-info"):
            continue
        target = stage / entry.name
        names.append(entry.name)
        if keep == entry:
            if target.is_symlink():
                target.unlink()
            text = undecorate(entry.read_text(encoding="utf-8"))
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
        elif entry in keep.parents:
            if target.is_symlink():
                target.unlink()
            target.mkdir(exist_ok=True)
            _link_tree(entry, target, keep, {"__pycache__"})
        elif not target.is_symlink():
            target.symlink_to(entry)
    return names


def _stage(name: str) -> Path:
    source, tests = MODULES[name]
    stage = STAGES / name
    stage.mkdir(parents=True, exist_ok=True)
    skip = {".git", ".venv", "venv", "mutants", "pyproject.toml", "build", "reports"}
    linked = _link_tree(ROOT, stage, ROOT / source, skip)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shared = project["tool"]["mutmut"]
    source_dir = str(Path(source).parent)
    conf = {
        **shared,
        "source_paths": [source_dir],
        "only_mutate": [source],
        "also_copy": [n for n in linked if n not in ("tests",)],
        "pytest_add_cli_args_test_selection": tests,
    }
    pytest_ini = project["tool"]["pytest"]["ini_options"]
    text = "# Generated by scripts/mutation-score.py; do not edit.\n"
    text += "[tool.pytest.ini_options]\n" + _toml_table(pytest_ini)
    text += "\n[tool.mutmut]\n" + _toml_table(conf)
    target = stage / "pyproject.toml"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return stage


def _toml_table(table: dict[str, object]) -> str:
    return "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in table.items())


def _run(name: str, *, survivors_only: bool = False, max_children: int = 1) -> int:
    stage = _stage(name)
    module = _import_name(MODULES[name][0])
    selection = [f"{module}.{f}__mutmut_*" for f in ONLY_FUNCTIONS.get(name, [])] or [f"{module}.*"]
    if survivors_only:
        # After adding tests: only the mutants not yet killed, with the test-to-function map collected
        # anew so the new tests are selected (a mutant killed before stays killed: tests were only added).
        previous = _results(name)
        if previous is None:
            print(f"== {name}: no earlier run; running every mutant", flush=True)
        else:
            selection = [k for k, _ in previous[2]]
            if not selection:
                return 0
            (stage / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    cmd = ["nice", "-n", "19", sys.executable, str(Path(__file__).resolve()), "--mutmut", "run"]
    cmd += ["--max-children", str(max_children), *selection]
    log = stage / "run.log"
    where = f"in {stage.relative_to(ROOT)}, log {log.name}"
    many = survivors_only and len(selection) > 3
    what = f"{len(selection)} surviving mutants" if many else " ".join(selection)
    print(f"== {name}: mutmut run {what} ({where})", flush=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.call(cmd, cwd=stage, env=env, stdout=out, stderr=subprocess.STDOUT)
    if code:
        print(f"== {name}: mutmut exited {code}; the end of {log}:", file=sys.stderr)
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-20:]
        print("".join(tail), file=sys.stderr)
    return code


def _import_name(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".").removeprefix(PACK_PREFIX)


def _equivalent() -> dict[str, str]:
    """Mutants documented as equivalent: `- `name`: reason` lines in docs/mutation-testing.md."""
    if not DOC.exists():
        return {}
    found = {}
    for m in re.finditer(r"^- `([^`]+__mutmut_\d+)`:?\s*(.*)$", DOC.read_text(encoding="utf-8"), re.M):
        found[m.group(1)] = m.group(2)
    return found


def _results(name: str) -> tuple[int, int, list[tuple[str, str]]] | None:
    source, _ = MODULES[name]
    meta = STAGES / name / "mutants" / (source + ".meta")
    if not meta.exists():
        return None
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    prefix = _import_name(source) + "."
    wanted = ONLY_FUNCTIONS.get(name)
    if wanted:
        starts = tuple(f"{prefix}{f}__mutmut_" for f in wanted)
        codes = {k: v for k, v in codes.items() if k.startswith(starts)}
    skipped = tuple(f"{prefix}{f}__mutmut_" for f in NOT_COUNTED.get(name, {}))
    if skipped:
        codes = {k: v for k, v in codes.items() if not k.startswith(skipped)}
    killed = sum(1 for v in codes.values() if v in KILLED)
    others = sorted(
        ((k, STATUS.get(v, f"exit {v}")) for k, v in codes.items() if v not in KILLED),
        key=lambda kv: (kv[0].rsplit("__mutmut_", 1)[0], int(kv[0].rsplit("_", 1)[1])),
    )
    return killed, len(codes), others


def _machine() -> str:
    import datetime as dt
    import importlib.metadata
    import platform

    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"# {when}; mutmut {importlib.metadata.version('mutmut')}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, load {load}"
    )


def _report(names: list[str]) -> int:
    equivalent = _equivalent()
    worst = 100.0
    lines, details = [], []
    for name in names:
        r = _results(name)
        if r is None:
            lines.append(f"{name}: not run")
            worst = 0.0
            continue
        killed, total, others = r
        eq = [k for k, _ in others if k in equivalent]
        score = 100.0 * killed / total if total else 100.0
        adjusted = 100.0 * killed / (total - len(eq)) if total > len(eq) else 100.0
        worst = min(worst, adjusted)
        line = f"{name}: {killed}/{total} = {score:.1f}%"
        if eq:
            line += f" ({len(eq)} equivalent; {killed}/{total - len(eq)} = {adjusted:.1f}% of the others)"
        lines.append(line)
        lines += [f"  {name}: not counted: {f}: {why}" for f, why in NOT_COUNTED.get(name, {}).items()]
        for k, status in others:
            tag = "equivalent" if k in equivalent else status
            details.append(f"  {name}: {k}: {tag}")
    print("\n".join(details))
    print(_machine())
    print("\n".join(lines))
    return 0 if worst >= 90.0 else 1


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--mutmut":
        _patched_mutmut(sys.argv[2:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("modules", nargs="*", metavar="MODULE", help="default: all of " + ", ".join(MODULES))
    p.add_argument("--report", action="store_true", help="print the scores of the last runs; run nothing")
    p.add_argument("--list", action="store_true", help="list the modules and their tests")
    p.add_argument(
        "--survivors",
        action="store_true",
        help="rerun only the mutants the last run did not kill (after adding tests)",
    )
    p.add_argument(
        "--max-children",
        type=int,
        default=1,
        metavar="N",
        help="mutants run at once (default 1: the machine is shared)",
    )
    args = p.parse_args()
    if args.max_children < 1:
        p.error("--max-children must be at least 1")
    names = args.modules or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        p.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    if args.list:
        for n in names:
            print(f"{n}: {MODULES[n][0]} <- {' '.join(MODULES[n][1])}")
        return 0
    if shutil.which("nice") is None:
        print("nice not found", file=sys.stderr)
        return 2
    if not args.report:
        for n in names:
            _run(n, survivors_only=args.survivors, max_children=args.max_children)
    return _report(names)


if __name__ == "__main__":
    sys.exit(main())
