"""`hardened-rke2` command line: offline preview with policy packs, and the control catalogue.

Exit codes of `preview`: 0 passed; 1 mandatory policy violations; 2 invalid stack config, invalid policy
pack config or usage error; 3 the program failed for another reason; 141 the reader of the output went
away (e.g. `| head`), as for a process ended by SIGPIPE.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from hardened_rke2 import tune_gc
from hardened_rke2.analysis.errors import PolicyConfigError, PolicyPackLoadError, PolicyPackRuntimeError
from hardened_rke2.analysis.packs import pack_import_scope
from hardened_rke2.analysis.results import Violation
from hardened_rke2.capture import STACK_TYPE, CapturedResource
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import PreviewUsageError, find_project_dir, load_stack_reference_outputs
from hardened_rke2.reports import (
    LEVEL_ORDER,
    OFFLINE_STATEMENT,
    sorted_violations,
    summary,
    to_json,
    to_markdown,
    to_sarif,
    write_json,
)

DEFAULT_PACK = Path("policy-packs") / "nsa-cisa-hardening"
EXIT_OK, EXIT_MANDATORY, EXIT_USAGE, EXIT_PROGRAM = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hardened-rke2",
        description="Offline preview of the hardened RKE2 blueprint and its NSA/CISA policy pack. "
        "Nothing is deployed and no provider, Rancher, cluster or Pulumi service is contacted.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    pv = sub.add_parser("preview", help="run a stack's program under the mock engine and its policy packs")
    pv.add_argument(
        "--stack",
        "-s",
        required=True,
        action="append",
        help="stack name: reads <stackConfigDir>/Pulumi.<stack>.yaml; repeat it to preview several stacks in "
        "one process (imports and the policy pack load once; --json prints a list, report files get the "
        "stack name before their extension, the exit code is the highest)",
    )
    pv.add_argument(
        "--project", help="project directory (default: nearest directory upward with Pulumi.yaml)"
    )
    pv.add_argument(
        "--policy-pack", action="append", default=[], metavar="DIR", help="policy pack (repeatable)"
    )
    pv.add_argument(
        "--policy-pack-config",
        action="append",
        default=[],
        metavar="FILE",
        help="JSON config for the policy pack at the same position (repeatable), as `pulumi preview` takes",
    )
    pv.add_argument(
        "--stack-reference-outputs",
        metavar="FILE",
        help="YAML/JSON mapping of referenced stack name (org/project/stack) to its outputs",
    )
    pv.add_argument(
        "--secret-config",
        metavar="FILE",
        help="YAML/JSON map of config key -> plaintext for `secure:` values (keep it out of the repo)",
    )
    pv.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    pv.add_argument("--report-md", metavar="FILE", help="write a Markdown report")
    pv.add_argument("--report-sarif", metavar="FILE", help="write a SARIF 2.1.0 report")
    pv.add_argument("--report-json", metavar="FILE", help="write the JSON report")
    pv.add_argument(
        "--policy-pack-mode",
        choices=("inprocess", "subprocess"),
        default="inprocess",
        help="run packs in this process (fast) or as `python -m pulumi.policy` processes like the CLI",
    )

    ct = sub.add_parser("controls", help="print the policy pack's NSA/CISA control catalogue")
    ct.add_argument("--policy-pack", metavar="DIR", help=f"policy pack directory (default: {DEFAULT_PACK})")
    ct.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # Only a real run (the console script passes no argv) tunes the collector: callers in-process (tests)
    # keep theirs.
    tuned = tune_gc() if argv is None else False
    args = _parser().parse_args(argv)
    try:
        if args.command == "preview":
            code = _preview(args, sys.stdout, sys.stderr)
        else:
            code = _controls(args, sys.stdout, sys.stderr)
        sys.stdout.flush()
        if tuned:
            # Everything alive now lives until exit: move it out of the collector's reach so the
            # interpreter's final collection does not walk it (~0.4 s per run).
            gc.freeze()
        return code
    except BrokenPipeError:
        # `hardened-rke2 preview ... | head`: the reader left. Stop quietly instead of with a traceback, and
        # point stdout at /dev/null so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


# -- preview ------------------------------------------------------------------------------------------


def _read_mapping(path: str, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise PreviewUsageError(f"{path}: cannot read {what} ({e})") from e
    if not isinstance(data, dict):
        raise PreviewUsageError(f"{path}: {what} must be a mapping")
    return data


_PREVIEW_ERRORS = (PreviewUsageError, PolicyConfigError, PolicyPackLoadError, PolicyPackRuntimeError)
"""Problems found before the program runs: reported as usage errors (exit 2), never as a traceback."""


def _preview(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    stacks: list[str] = list(args.stack)
    if len(stacks) == 1:
        return _preview_one(args, stacks[0], out, err, report_suffix=None, as_list=False)
    codes = []
    if args.json:
        out.write("[\n")
    for i, stack in enumerate(stacks):
        if args.json and i:
            out.write(",\n")
        codes.append(_preview_one(args, stack, out, err, report_suffix=stack, as_list=args.json))
    if args.json:
        out.write("]\n")
    return max(codes)


def _with_suffix(path: str | None, suffix: str | None) -> str | None:
    """`report.json` -> `report.<stack>.json` when several stacks are previewed."""
    if not path or not suffix:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}.{suffix}{p.suffix}"))


def _preview_one(args: argparse.Namespace, stack: str, out: TextIO, err: TextIO, *, report_suffix: str | None,
                 as_list: bool) -> int:
    try:
        project_dir = Path(args.project).resolve() if args.project else find_project_dir()
        result = _run_preview(args, stack, project_dir)
    except _PREVIEW_ERRORS as e:
        return _report_usage_error(e, args.json, out, err, trailing_newline=not as_list)
    _write_reports(args, result, project_dir, report_suffix)
    _print_result(args, result, out, trailing_newline=not as_list)
    return result.exit_code


def _run_preview(args: argparse.Namespace, stack: str, project_dir: Path) -> PreviewResult:
    """Read the inputs the flags name, then run the offline preview."""
    refs = (
        load_stack_reference_outputs(args.stack_reference_outputs) if args.stack_reference_outputs else None
    )
    secrets = _read_mapping(args.secret_config, "secret config") if args.secret_config else None
    if len(args.policy_pack_config) > len(args.policy_pack):
        raise PreviewUsageError("each --policy-pack-config needs a --policy-pack before it")
    return preview_project(
        project_dir,
        stack,
        policy_packs=args.policy_pack,
        policy_pack_configs=args.policy_pack_config,
        stack_reference_outputs=refs,
        secret_values=secrets,
        policy_mode=args.policy_pack_mode,
    )


def _report_usage_error(e: Exception, as_json: bool, out: TextIO, err: TextIO,
                        trailing_newline: bool = True) -> int:
    if as_json:
        doc = {"summary": {"status": "usage-error", "exitCode": EXIT_USAGE, "statement": OFFLINE_STATEMENT}}
        doc["error"] = str(e)  # type: ignore[assignment]
        out.write(json.dumps(doc, indent=2, sort_keys=True) + ("\n" if trailing_newline else ""))
    else:
        err.write(f"error: {e}\n")
        err.write(OFFLINE_STATEMENT + "\n")
    return EXIT_USAGE


def _write_reports(args: argparse.Namespace, result: PreviewResult, project_dir: Path,
                   suffix: str | None = None) -> None:
    """The `--report-*` files, written for every preview that ran (passed or blocked), for CI to upload."""
    report_json = _with_suffix(args.report_json, suffix)
    report_sarif = _with_suffix(args.report_sarif, suffix)
    report_md = _with_suffix(args.report_md, suffix)
    if report_json:
        write_json(report_json, to_json(result))
    if report_sarif:
        write_json(report_sarif, to_sarif(result, base_dir=_repository_root(project_dir)))
    if report_md:
        Path(report_md).write_text(to_markdown(result) + "\n", encoding="utf-8")


def _print_result(args: argparse.Namespace, result: PreviewResult, out: TextIO,
                  trailing_newline: bool = True) -> None:
    if args.json:
        out.write(json.dumps(to_json(result), indent=2, sort_keys=True) + ("\n" if trailing_newline else ""))
    else:
        render_text(result, out)


def _repository_root(start: Path) -> Path:
    """Code scanning wants paths relative to the repository root: the nearest folder with `.git`."""
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return start


def render_text(result: PreviewResult, out: TextIO) -> None:
    packs = ", ".join(f"{p.name}@{p.version}" for p in result.packs) or "none"
    out.write(f"Offline preview of {result.project}/{result.stack} (policy packs: {packs})\n\n")
    for w in result.warnings:
        out.write(f"warning: {w}\n")
    if result.warnings:
        out.write("\n")
    if result.status == "invalid-config":
        where = result.stack_file.name if result.stack_file else result.stack
        out.write(f"Invalid stack config ({where}); nothing was registered:\n")
        for p in result.problems:
            out.write(f"  - {p}\n")
        if result.resources:
            out.write(f"  ! {len(result.resources)} resource(s) were registered before the error (a bug)\n")
        out.write("\n")
    elif result.status in ("error", "usage-error"):
        out.write(f"The preview failed: {result.error}\n\n")
    if result.resources:
        out.write(f"Resources ({len(result.resources)}):\n")
        for line in resource_tree(result.resources):
            out.write(f"  {line}\n")
        out.write("\n")
    if result.analysis is not None:
        _render_violations(sorted_violations(result), out)
        records = result.analysis.remediation_records
        if records:
            by_urn = {r.urn: r for r in result.resources}
            out.write(f"Remediations applied ({len(records)}):\n")
            for rec in records:
                r = by_urn.get(rec.urn)
                target = f"{r.type}  {r.name}" if r else rec.urn
                out.write(f"  ~ {rec.policy_name}: {target}\n")
            out.write("\n")
    s = summary(result)
    verdict = {
        0: "PASSED",
        1: "FAILED: mandatory policy violations",
        2: "FAILED: invalid config",
        3: "FAILED: error",
    }[result.exit_code]
    out.write(
        f"Summary: {s['resources']} resources; {s['mandatory']} mandatory and {s['advisory']} advisory "
        f"violations; {s['remediations']} remediations. {verdict}\n"
    )
    out.write(OFFLINE_STATEMENT + "\n")


def _render_violations(violations: list[Violation], out: TextIO) -> None:
    if not violations:
        out.write("Policy violations: none\n\n")
        return
    out.write("Policy violations:\n")
    for level in LEVEL_ORDER:
        group = [v for v in violations if v.enforcement_level == level]
        if not group:
            continue
        out.write(f"  {level} ({len(group)}):\n")
        for v in group:
            where = f"{v.resource_type}  {v.resource_name}" if v.resource_type else "(stack)"
            sev = f" [{v.severity}]" if v.severity else ""
            tags = f"  {', '.join(v.tags)}" if v.tags else ""
            out.write(f"    {v.policy_name}{sev}  {where}{tags}\n")
            out.write(f"      {v.description}\n")
            for line in v.message.splitlines():
                if line.strip() and line.strip() != v.description:
                    out.write(f"      {line}\n")
    out.write("\n")


def resource_tree(resources: Sequence[CapturedResource]) -> Iterator[str]:
    """Lines of a parent/child tree (siblings sorted by type and name); `[protect]` marks protected ones."""
    urns = {r.urn for r in resources}
    children: dict[str | None, list[CapturedResource]] = {}
    for r in resources:
        parent = r.parent if r.parent in urns else None
        if r.type == STACK_TYPE:
            parent = None
        children.setdefault(parent, []).append(r)

    def walk(parent: str | None, prefix: str) -> Iterator[str]:
        # Sorted: registration order under the (mock) engine is not deterministic.
        kids = sorted(children.get(parent, []), key=lambda r: (r.type != STACK_TYPE, r.type, r.name))
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            marks = "  [protect]" if r.protect else ""
            yield f"{prefix}{branch}{r.type}  {r.name}{marks}"
            yield from walk(r.urn, prefix + ("" if parent is None else ("   " if last else "│  ")))

    yield from walk(None, "")


# -- controls -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _pack_on_path(pack_dir: Path) -> Iterator[None]:
    with pack_import_scope(pack_dir):
        sys.path.insert(0, str(pack_dir))
        yield


def load_controls(pack_dir: Path) -> list[dict[str, Any]]:
    if not (pack_dir / "nsa_cisa").is_dir():
        raise PreviewUsageError(
            f"{pack_dir} has no nsa_cisa package: not the NSA/CISA pack (use --policy-pack)"
        )
    with _pack_on_path(pack_dir):
        try:
            module = importlib.import_module("nsa_cisa.catalogue")
        except ModuleNotFoundError as e:
            raise PreviewUsageError(
                f"{pack_dir}: the pack has no control catalogue (nsa_cisa/catalogue.py)"
            ) from e
        loader = getattr(module, "load_catalogue", None)
        if loader is None:
            raise PreviewUsageError(f"{pack_dir}: nsa_cisa.catalogue has no load_catalogue()")
        entries = loader()
    fields = ("id", "title", "section", "preview", "enforced_by", "implemented_by", "manual_reason")
    out = []
    for entry in entries:
        row = {f: _field(entry, f) for f in fields}
        for f in ("enforced_by", "implemented_by"):
            v = row[f]
            row[f] = [] if v is None else ([v] if isinstance(v, str) else list(v))
        out.append(row)
    return out


def _field(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)


def _controls(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        pack_dir = Path(args.policy_pack).resolve() if args.policy_pack else find_project_dir() / DEFAULT_PACK
        if not pack_dir.is_dir():
            raise PreviewUsageError(
                f"policy pack directory {pack_dir} does not exist (use --policy-pack DIR)"
            )
        rows = load_controls(pack_dir)
    except PreviewUsageError as e:
        err.write(f"error: {e}\n")
        return EXIT_USAGE
    if args.json:
        out.write(json.dumps(rows, indent=2, sort_keys=True, default=str) + "\n")
        return EXIT_OK
    out.write(render_controls(rows))
    return EXIT_OK


def _cell(value: Any, width: int) -> str:
    text = (
        ", ".join(map(str, value))
        if isinstance(value, (list, tuple))
        else ("" if value is None else str(value))
    )
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _preview_cell(value: Any) -> str:
    # The pack may give a bool or the checklist's code (K, K*, R = decidable at preview; RT = runtime).
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def render_controls(rows: list[dict[str, Any]]) -> str:
    columns = [
        ("ID", lambda r: r["id"], 9),
        ("Section", lambda r: r["section"], 18),
        ("Title", lambda r: r["title"], 44),
        ("Preview", lambda r: _preview_cell(r["preview"]), 7),
        ("Enforced by (policies)", lambda r: r["enforced_by"], 40),
        ("Implemented by / manual reason", lambda r: r["implemented_by"] or r["manual_reason"] or "", 60),
    ]
    cells = [[_cell(get(r), w) for _, get, w in columns] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (h, _, _) in enumerate(columns)]
    lines = ["  ".join(h.ljust(widths[i]) for i, (h, _, _) in enumerate(columns)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c[i].ljust(widths[i]) for i in range(len(columns))).rstrip() for c in cells]
    enforced = sum(1 for r in rows if r["enforced_by"])
    manual = sum(1 for r in rows if not r["enforced_by"])
    lines += [
        "",
        f"{len(rows)} controls: {enforced} enforced by policies, {manual} manual/runtime (reason given).",
    ]
    legend = {_preview_cell(r["preview"]) for r in rows}
    if legend & {"K", "K*", "R", "RT"}:
        lines.append(
            "Preview: K = one Kubernetes resource, K* = a stack-level view, R = rancher2 inputs, "
            "RT = runtime/organisational only."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
