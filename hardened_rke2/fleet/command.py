"""`hardened-rke2 fleet`: preview (offline, or `--real`), update (`up --real`) and CI matrix of a fleet.

    hardened-rke2 fleet preview [--fleet fleet.yaml] [--json] [--report-json FILE …]
    hardened-rke2 fleet preview --real [--parallel N]
    hardened-rke2 fleet up --real [--parallel N]
    hardened-rke2 fleet matrix --format github|gitlab [--operation preview|up]

Exit codes as for `preview`, over the whole fleet (the highest of its stacks): 0 passed, 1 mandatory
violations, 2 bad input (the fleet file, a stack's config), 3 an error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from hardened_rke2.exit_codes import EXIT_OK, EXIT_USAGE
from hardened_rke2.fleet import view
from hardened_rke2.fleet.matrix import FORMATS, render_matrix
from hardened_rke2.fleet.model import Fleet, FleetError, load_fleet
from hardened_rke2.fleet.orchestrate import FleetRun, FleetWorkspace, run_fleet
from hardened_rke2.render import use_color
from hardened_rke2.reports import to_json, to_markdown, to_sarif, write_json

NAME = "fleet"
HELP = "preview or update every stack of a fleet file in dependency order, or print it as a CI job matrix"
DEFAULT_FLEET = "fleet.yaml"

_REPORTS = (
    ("--report-json", "report_json"),
    ("--report-sarif", "report_sarif"),
    ("--report-md", "report_md"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="fleet_command", required=True)
    for op in ("preview", "up"):
        p = sub.add_parser(
            op,
            help="offline preview of every stack with the policy packs (--real: `pulumi preview`)"
            if op == "preview"
            else "`pulumi up` of every stack with the policy packs (needs --real)",
        )
        _fleet_flag(p)
        p.add_argument(
            "--real",
            action="store_true",
            help="use the Pulumi CLI through the Automation API (real backend, providers and Rancher); "
            "a level stops at its first mandatory violation or failure",
        )
        p.add_argument(
            "--parallel",
            type=_positive,
            default=1,
            metavar="N",
            help="with --real: at most N stacks of a level at once (default 1). Offline stacks run one "
            "after the other in this process",
        )
        p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
        p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")
        if op == "preview":
            for flag, _ in _REPORTS:
                kind = flag.removeprefix("--report-").upper()
                p.add_argument(
                    flag,
                    metavar="FILE",
                    help=f"offline: write each stack's {kind} report (FILE.<stack>.<ext>)",
                )
    m = sub.add_parser("matrix", help="print the fleet as CI jobs: one per stack, `needs` from dependsOn")
    _fleet_flag(m)
    m.add_argument("--format", required=True, choices=FORMATS, help="GitHub Actions jobs or GitLab CI jobs")
    m.add_argument(
        "--operation",
        choices=("preview", "up"),
        default="preview",
        help="what each job runs (default preview)",
    )


def _fleet_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fleet", metavar="FILE", default=DEFAULT_FLEET, help=f"the fleet file (default {DEFAULT_FLEET})"
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        fleet = load_fleet(args.fleet)
    except FleetError as e:
        err.write(f"error: {e}\n")
        return EXIT_USAGE
    if args.fleet_command == "matrix":
        out.write(render_matrix(fleet, args.format, args.operation))
        return EXIT_OK
    return _run(args, fleet, out, err)


def _usage(err: TextIO, text: str) -> int:
    err.write(f"error: {text}\n")
    return EXIT_USAGE


def _run(args: argparse.Namespace, fleet: Fleet, out: TextIO, err: TextIO) -> int:
    op = args.fleet_command
    if op == "up" and not args.real:
        return _usage(err, "fleet up changes real infrastructure: add --real (there is no offline update)")
    if not args.real and args.parallel != 1:
        return _usage(
            err, "--parallel needs --real: offline previews share one runtime and run one at a time"
        )
    reports = {attr: getattr(args, attr, None) for _, attr in _REPORTS}
    if args.real and any(reports.values()):
        return _usage(err, "--report-* files come from offline previews; with --real use Pulumi's own output")
    bad = _report_problems(reports)
    if bad:
        return _usage(err, "; ".join(bad))
    try:
        workspace = _workspace(args, fleet)
    except MissingCli as e:
        return _usage(err, str(e))
    show_progress = use_color(err, args.no_color)
    with view.progress(err, len(fleet.stacks), show_progress) as hook:
        result = run_fleet(
            fleet, workspace, parallel=args.parallel, stop_on_mandatory=args.real, progress=hook
        )
    if not args.real:
        _write_reports(reports, result, fleet)
    mode = "real" if args.real else "offline"
    if args.json:
        out.write(
            json.dumps(view.to_json(fleet, result, mode=mode, operation=op), indent=2, sort_keys=True) + "\n"
        )
    else:
        title = f"{'Fleet' if args.real else 'Offline fleet'} {op}"
        render = view.render_rich if use_color(out, args.no_color) else view.render_plain
        render(fleet, result, title, out, offline=not args.real)
    return result.exit_code


class MissingCli(Exception):
    """`--real` without a usable Pulumi CLI on PATH."""


def _workspace(args: argparse.Namespace, fleet: Fleet) -> FleetWorkspace:
    if args.real:
        import subprocess

        from pulumi.automation import InvalidVersionError

        from hardened_rke2.fleet.automation import AutomationWorkspace

        try:
            return AutomationWorkspace(args.fleet_command, fleet.policy_packs, max_parallel=args.parallel)
        except (OSError, subprocess.CalledProcessError, InvalidVersionError) as e:
            raise MissingCli(
                f"--real needs the Pulumi CLI on PATH (`pulumi version` failed: {e}); install it: "
                "https://www.pulumi.com/docs/install/"
            ) from None
    from hardened_rke2.fleet.offline import OfflineWorkspace

    return OfflineWorkspace(fleet.policy_packs)


def _report_problems(reports: dict[str, str | None]) -> list[str]:
    problems = []
    for flag, attr in _REPORTS:
        value = reports[attr]
        if value:
            parent = Path(value).resolve().parent
            if Path(value).is_dir():
                problems.append(f"{flag} {value}: is a directory; name a file")
            elif not parent.is_dir():
                problems.append(f"{flag} {value}: directory {parent} does not exist")
    return problems


def _with_stack(path: str, name: str) -> Path:
    p = Path(path)
    return p.with_name(f"{p.stem}.{name}{p.suffix}")


def _write_reports(reports: dict[str, Any], result: FleetRun, fleet: Fleet) -> None:
    """Each stack's report next to the named file (`report.<stack>.json`), as `preview --stack a --stack b`
    names them."""
    root = fleet.source.resolve().parent
    for name, outcome in result.outcomes.items():
        preview = outcome.result
        if preview is None:
            continue
        if reports["report_json"]:
            write_json(_with_stack(reports["report_json"], name), to_json(preview))
        if reports["report_sarif"]:
            write_json(_with_stack(reports["report_sarif"], name), to_sarif(preview, base_dir=root))
        if reports["report_md"]:
            _with_stack(reports["report_md"], name).write_text(to_markdown(preview) + "\n", encoding="utf-8")
