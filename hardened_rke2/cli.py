"""`hardened-rke2` command line: offline preview with policy packs, and the control catalogue.

Exit codes of `preview`: 0 passed; 1 mandatory policy violations; 2 bad input or usage (invalid stack
config, an unreadable/invalid/oversized input file, invalid policy pack config, a report path that cannot
be written); 3 internal error (the program, a policy pack's own code or this tool failed; no traceback
unless HARDENED_RKE2_DEBUG is set); 141 the reader of the output went away (e.g. `| head`), as for a
process ended by SIGPIPE. A crash never exits 1, so CI can tell it from a policy failure.
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

from hardened_rke2 import tune_gc
from hardened_rke2.analysis.errors import (
    PolicyConfigError,
    PolicyPackImportError,
    PolicyPackLoadError,
    PolicyPackRuntimeError,
)
from hardened_rke2.analysis.packs import pack_import_scope
from hardened_rke2.evidence import assessment_results_text, catalogue_pack
from hardened_rke2.exit_codes import EXIT_BROKEN_PIPE, EXIT_OK, EXIT_PROGRAM, EXIT_USAGE
from hardened_rke2.plan import AgainstFileError, Plan, diff_previews, load_against
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import (
    DEFAULT_PACK,
    PreviewUsageError,
    find_project_dir,
    load_stack_reference_outputs,
    read_mapping_file,
)
from hardened_rke2.render import render_text, use_color
from hardened_rke2.render import resource_tree as resource_tree  # re-exported: callers import it from here
from hardened_rke2.reports import (
    repository_root,
    statement,
    to_json,
    to_markdown,
    to_sarif,
    write_json,
)

# Commands beyond `preview` and `controls` live in modules of their own, one command each. A module has
# `NAME`, `HELP`, `configure(parser)` (adds its flags) and `run(args, out, err) -> int` (an exit code from
# `hardened_rke2.exit_codes`). Listing it here is all it takes to add one.
COMMAND_MODULES: tuple[str, ...] = (
    "hardened_rke2.audit",
    "hardened_rke2.adopt",
    "hardened_rke2.evidence",
    "hardened_rke2.upgrade_plan",
    "hardened_rke2.fleet.command",
)


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
    pv.add_argument(
        "--no-color",
        action="store_true",
        help="plain text even on a terminal (also when NO_COLOR is set; output that is not a terminal is "
        "always plain)",
    )
    pv.add_argument(
        "--against",
        metavar="OLD.json",
        help="also plan the changes from an earlier `preview --json` of the same stack, as `pulumi preview` "
        "would: create, update, replace (with the input that forces it, or `provider replaced`; `possible` "
        "when it rests on a value unknown in preview), delete; loud warnings for the cluster, machine "
        "configs and add-on apps (a `diff` section in --json)",
    )
    pv.add_argument("--report-md", metavar="FILE", help="write a Markdown report")
    pv.add_argument("--report-sarif", metavar="FILE", help="write a SARIF 2.1.0 report")
    pv.add_argument("--report-json", metavar="FILE", help="write the JSON report")
    pv.add_argument(
        "--report-oscal",
        metavar="FILE",
        help="write OSCAL assessment results (needs the NSA/CISA pack among --policy-pack; docs/evidence.md)",
    )
    pv.add_argument(
        "--policy-pack-mode",
        choices=("inprocess", "subprocess"),
        default="inprocess",
        help="run packs in this process (fast) or as `python -m pulumi.policy` processes like the CLI",
    )

    ct = sub.add_parser("controls", help="print the policy pack's NSA/CISA control catalogue")
    ct.add_argument("--policy-pack", metavar="DIR", help=f"policy pack directory (default: {DEFAULT_PACK})")
    ct.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    for module in _command_modules():
        module.configure(sub.add_parser(module.NAME, help=module.HELP))
    return p


def _command_modules() -> list[Any]:
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def main(argv: Sequence[str] | None = None) -> int:
    # Only a real run (the console script passes no argv) tunes the collector: callers in-process (tests)
    # keep theirs.
    tuned = tune_gc() if argv is None else False
    args = _parser().parse_args(argv)  # a usage error exits 2 (argparse), --help 0
    try:
        return _main(args)
    finally:
        if argv is None:  # the command itself (not a caller in this process): leave nothing to the GC
            _close_event_loop()
        if tuned:
            # Everything alive now lives until exit: move it out of the collector's reach so the
            # interpreter's final collection does not walk it (~0.4 s per run).
            gc.freeze()


def _close_event_loop() -> None:
    """The Pulumi SDK runs the program on an asyncio loop it never closes; closed here so the interpreter's
    exit does not finalize it half-way ("Exception ignored in BaseEventLoop.__del__")."""
    import asyncio
    import warnings

    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if not loop.is_running() and not loop.is_closed():
            loop.close()
        asyncio.set_event_loop(None)


def _main(args: argparse.Namespace) -> int:
    try:
        code = _run_command(args, sys.stdout, sys.stderr)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `hardened-rke2 preview ... | head`: the reader left. Stop quietly instead of with a traceback, and
        # point stdout at /dev/null so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as e:  # a bug: exit 3 ("internal"), never 1 (which means "mandatory violations")
        return _internal_error(e, sys.stderr)


def _run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "preview":
        return _preview(args, out, err)
    if args.command == "controls":
        return _controls(args, out, err)
    module = next(m for m in _command_modules() if args.command == m.NAME)
    code: int = module.run(args, out, err)
    return code


def _internal_error(e: BaseException, err: TextIO) -> int:
    err.write(f"internal error: {type(e).__name__}: {_short(e)}\n")
    if os.environ.get("HARDENED_RKE2_DEBUG"):
        import traceback

        traceback.print_exception(e, file=err)
    else:
        err.write("(set HARDENED_RKE2_DEBUG=1 for the traceback)\n")
    return EXIT_PROGRAM


def _short(e: BaseException, limit: int = 2000) -> str:
    text = str(e)
    return text if len(text) <= limit else text[:limit] + "…"


# -- preview ------------------------------------------------------------------------------------------


_PREVIEW_ERRORS = (
    PreviewUsageError,
    PolicyConfigError,
    PolicyPackLoadError,
    PolicyPackRuntimeError,
    AgainstFileError,
)
"""Problems found before the program runs: reported as usage errors (exit 2), never as a traceback.
`PolicyPackImportError` (a `PolicyPackLoadError`) is caught before them: the pack's code failed, exit 3."""

_REPORT_FLAGS = (
    ("--report-json", "report_json"),
    ("--report-sarif", "report_sarif"),
    ("--report-md", "report_md"),
    ("--report-oscal", "report_oscal"),
)


def report_path_problems(args: argparse.Namespace) -> list[str]:
    """Why a `--report-*` path cannot be written; checked before anything runs (not after the preview)."""
    problems: list[str] = []
    seen: dict[Path, str] = {}
    for flag, attr in _REPORT_FLAGS:
        value = getattr(args, attr, None)
        if not value:
            continue
        p = Path(value)
        try:
            resolved = p.resolve()
            parent = resolved.parent
            if p.is_dir():
                problems.append(f"{flag} {value}: is a directory; name a file")
            elif not parent.is_dir():
                problems.append(f"{flag} {value}: directory {parent} does not exist")
            elif not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
                problems.append(f"{flag} {value}: not writable")
            elif resolved in seen:
                problems.append(f"{flag} {value}: the same file as {seen[resolved]}")
            seen.setdefault(resolved, flag)
        except (OSError, ValueError) as e:
            problems.append(f"{flag} {value}: not a usable path ({e})")
    if getattr(args, "report_oscal", None) and catalogue_pack(getattr(args, "policy_pack", [])) is None:
        problems.append(
            f"--report-oscal {args.report_oscal}: needs the NSA/CISA policy pack (its control catalogue) "
            f"among --policy-pack, e.g. --policy-pack {DEFAULT_PACK}"
        )
    return problems


def _preview(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    stacks: list[str] = list(args.stack)
    if len(stacks) == 1:
        return _preview_one(args, stacks[0], out, err, report_suffix=None, as_list=False)
    codes = []
    if args.json:
        out.write("[\n")
    # Progress for people only: on stderr, and only when it is a terminal (never in logs, pipes or stdout).
    progress = use_color(err, args.no_color)
    for i, stack in enumerate(stacks):
        if progress:
            err.write(f"[{i + 1}/{len(stacks)}] previewing {stack}…\n")
            err.flush()
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


def _preview_one(
    args: argparse.Namespace,
    stack: str,
    out: TextIO,
    err: TextIO,
    *,
    report_suffix: str | None,
    as_list: bool,
) -> int:
    """One stack's preview; `as_list` leaves the JSON document's newline to the list around it."""
    newline = not as_list
    project_dir: Path | None = None
    bad_reports = report_path_problems(args)
    try:
        if bad_reports:
            raise PreviewUsageError("; ".join(bad_reports))
        against = load_against(args.against) if args.against else None
        project_dir = Path(args.project).resolve() if args.project else find_project_dir()
        result = _run_preview(args, stack, project_dir)
        plan = _plan(args, against, result)
    except PolicyPackImportError as e:
        return _report_failure(args, stack, e, EXIT_PROGRAM, project_dir, out, err, report_suffix, newline)
    except _PREVIEW_ERRORS as e:
        return _report_failure(args, stack, e, EXIT_USAGE, project_dir, out, err, report_suffix, newline)
    except Exception as e:  # a bug in the engine: still exit 3 and still write the reports CI uploads
        return _report_failure(args, stack, e, EXIT_PROGRAM, project_dir, out, err, report_suffix, newline)
    _write_reports(args, result, project_dir, plan, suffix=report_suffix)
    _print_result(args, result, out, plan, trailing_newline=newline)
    return result.exit_code


def _plan(args: argparse.Namespace, against: dict[str, Any] | None, result: PreviewResult) -> Plan | None:
    """The `--against` plan, when the preview ran to the end (else there is nothing to compare)."""
    if against is None or result.status != "ok":
        return None
    old = against.get("summary") or {}
    for key, now in (("project", result.project), ("stack", result.stack)):
        if old.get(key) not in (None, now):
            raise AgainstFileError(
                f"--against {args.against}: a preview of {key} {old.get(key)!r}, not {now!r}"
            )
    return diff_previews(against, to_json(result), args.against)


def _run_preview(args: argparse.Namespace, stack: str, project_dir: Path) -> PreviewResult:
    """Read the inputs the flags name, then run the offline preview."""
    refs = (
        load_stack_reference_outputs(args.stack_reference_outputs) if args.stack_reference_outputs else None
    )
    secrets = read_mapping_file(args.secret_config, "secret config") if args.secret_config else None
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


def _report_failure(
    args: argparse.Namespace,
    stack: str,
    e: Exception,
    code: int,
    project_dir: Path | None,
    out: TextIO,
    err: TextIO,
    report_suffix: str | None = None,
    trailing_newline: bool = True,
) -> int:
    """A run that stopped before a result: the error on stderr (or as the JSON document), and the requested
    report files written with it (those whose paths are usable), so CI still has something to upload."""
    status = "usage-error" if code == EXIT_USAGE else "error"
    plain = code == EXIT_USAGE or isinstance(e, PolicyPackImportError)
    text = str(e) if plain else f"{type(e).__name__}: {_short(e)}"
    failed = PreviewResult(project=_project_name(project_dir), stack=stack, status=status, error=text)
    with contextlib.suppress(Exception):
        _write_reports(args, failed, project_dir or Path.cwd(), suffix=report_suffix, skip_unusable=True)
    return print_failure(failed, code, args.json, out, err, trailing_newline)


def print_failure(
    failed: PreviewResult, code: int, as_json: bool, out: TextIO, err: TextIO, trailing_newline: bool = True
) -> int:
    """A run that stopped before a result (`preview`, `audit`): its error as the JSON document on stdout, or
    on stderr as `error:` (usage, exit 2) / `internal error:` (exit 3), with the run's statement."""
    if as_json:
        doc: dict[str, Any] = {
            "summary": {"status": failed.status, "exitCode": code, "statement": statement(failed)},
            "error": failed.error,
        }
        out.write(json.dumps(doc, indent=2, sort_keys=True) + ("\n" if trailing_newline else ""))
    else:
        err.write(f"error: {failed.error}\n" if code == EXIT_USAGE else f"internal error: {failed.error}\n")
        err.write(statement(failed) + "\n")
    return code


def _json_doc(result: PreviewResult, plan: Plan | None) -> dict[str, Any]:
    doc = to_json(result)
    if plan is not None:
        doc["diff"] = plan.to_dict()
    return doc


def _project_name(project_dir: Path | None) -> str:
    return project_dir.name if project_dir is not None else ""


def _write_reports(
    args: argparse.Namespace,
    result: PreviewResult,
    project_dir: Path,
    plan: Plan | None = None,
    *,
    suffix: str | None = None,
    skip_unusable: bool = False,
) -> None:
    """The `--report-*` files, written for every preview (passed, blocked or failed), for CI to upload;
    with several stacks, each file name carries the stack (`report.<stack>.json`)."""
    unusable = {p.split(" ", 1)[0] for p in report_path_problems(args)} if skip_unusable else set()
    report_json = _with_suffix(args.report_json, suffix)
    report_sarif = _with_suffix(args.report_sarif, suffix)
    report_md = _with_suffix(args.report_md, suffix)
    report_oscal = _with_suffix(getattr(args, "report_oscal", None), suffix)
    if report_json and "--report-json" not in unusable:
        write_json(report_json, _json_doc(result, plan))
    if report_sarif and "--report-sarif" not in unusable:
        write_json(report_sarif, to_sarif(result, base_dir=repository_root(project_dir)))
    if report_md and "--report-md" not in unusable:
        Path(report_md).write_text(to_markdown(result) + "\n", encoding="utf-8")
    if report_oscal and "--report-oscal" not in unusable:
        Path(report_oscal).write_text(assessment_results_text(result, args.policy_pack), encoding="utf-8")


def _print_result(
    args: argparse.Namespace,
    result: PreviewResult,
    out: TextIO,
    plan: Plan | None,
    trailing_newline: bool = True,
) -> None:
    if args.json:
        end = "\n" if trailing_newline else ""
        out.write(json.dumps(_json_doc(result, plan), indent=2, sort_keys=True) + end)
    else:
        render_text(result, out, plan, color=use_color(out, args.no_color))
        if args.against and plan is None:
            out.write(f"note: no plan against {args.against}: this preview did not run to the end\n")


def _repository_root(start: Path) -> Path:
    """Code scanning wants paths relative to the repository root: the nearest folder with `.git`."""
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return start


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
