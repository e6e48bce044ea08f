"""`hardened-rke2 audit`: policy packs over existing state, as `pulumi policy analyze --file` runs them.

    pulumi stack export --file state.json
    hardened-rke2 audit --state state.json --policy-pack policy-packs/nsa-cisa-hardening

Matches pulumi/pulumi@1b5949891b3c, pkg/cmd/pulumi/policy/policy_analyze.go (the command) and
pkg/resource/deploy/analyze_snapshot.go (`AnalyzeSnapshot`):
- no program runs and no provider is called; every resource of the export is analyzed (the Stack,
  providers, components, resources pending replacement and resources of any provider, e.g.
  `aws:s3/bucket:Bucket`) except those marked `delete` (analyze_snapshot.go:203-206, 256-262); pending
  operations are not analyzed;
- `Analyze` is sent the resource's inputs, `AnalyzeStack` its outputs (analyze_snapshot.go:143-146, 263);
  the provider comes from the resource's provider reference (analyze_snapshot.go:166-177);
- `Remediate` runs for every pack on the resource's own inputs; what it would change is reported, never
  applied (analyze_snapshot.go:210-243); a remediation that could not run is an advisory;
- at least one `--policy-pack`, and either no `--policy-pack-config` or one per pack
  (policy_analyze.go:87-93); an export with no resources is "nothing to analyze", exit 0, and no pack is
  started (policy_analyze.go:186-189).
Exit codes and reports are `preview`'s: 0 passed, 1 mandatory violations, 2 bad input (an unreadable or
malformed export, a bad flag or pack config), 3 internal error (a pack's code failed).
Deliberate difference: encrypted secrets are never decrypted (see `state_file`); the CLI decrypts them
when it can.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from hardened_rke2.analysis.errors import (
    PolicyConfigError,
    PolicyPackImportError,
    PolicyPackLoadError,
    PolicyPackRuntimeError,
)
from hardened_rke2.analysis.pack_config import load_policy_pack_config_file
from hardened_rke2.analysis.session import PolicyPackSession, run_analysis
from hardened_rke2.cli import print_failure, report_path_problems
from hardened_rke2.exit_codes import EXIT_PROGRAM, EXIT_USAGE
from hardened_rke2.preview import PackSummary, PreviewResult
from hardened_rke2.project import PreviewUsageError
from hardened_rke2.render import render_text, use_color
from hardened_rke2.reports import to_json, to_markdown, to_sarif, write_json
from hardened_rke2.safe_yaml import InputFileError
from hardened_rke2.state_file import StateFile, read_state_file

NAME = "audit"
HELP = "run policy packs over a `pulumi stack export` file (existing state), as `pulumi policy analyze` does"
_LIST_LIMIT = 5


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state",
        required=True,
        metavar="FILE",
        help="the output of `pulumi stack export` (deployment version 3 or 4); secrets stay encrypted",
    )
    p.add_argument(
        "--policy-pack",
        action="append",
        default=[],
        metavar="DIR",
        help="policy pack (repeatable, at least one)",
    )
    p.add_argument(
        "--policy-pack-config",
        action="append",
        default=[],
        metavar="FILE",
        help="JSON config for the policy pack at the same position: none, or one per --policy-pack",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal (also NO_COLOR)")
    p.add_argument("--report-md", metavar="FILE", help="write a Markdown report")
    p.add_argument("--report-sarif", metavar="FILE", help="write a SARIF 2.1.0 report")
    p.add_argument("--report-json", metavar="FILE", help="write the JSON report")
    p.add_argument(
        "--policy-pack-mode",
        choices=("inprocess", "subprocess"),
        default="inprocess",
        help="run packs in this process (fast) or as `python -m pulumi.policy` processes like the CLI",
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    state: StateFile | None = None
    try:
        _check_flags(args)
        state = read_state_file(args.state)
        result = audit_state(
            state,
            policy_packs=args.policy_pack,
            policy_pack_configs=args.policy_pack_config,
            policy_mode=args.policy_pack_mode,
        )
    except PolicyPackImportError as e:
        return _failure(args, state, str(e), EXIT_PROGRAM, out, err)
    except (PreviewUsageError, InputFileError, PolicyConfigError, PolicyPackLoadError) as e:
        return _failure(args, state, str(e), EXIT_USAGE, out, err)
    except Exception as e:  # a bug: exit 3 (never 1), and still write the reports CI uploads
        return _failure(args, state, f"{type(e).__name__}: {e}", EXIT_PROGRAM, out, err)
    _write_reports(args, result, state)
    if args.json:
        out.write(json.dumps(audit_json(result, state), indent=2, sort_keys=True) + "\n")
    else:
        render_text(result, out, color=use_color(out, args.no_color))
    return result.exit_code


def _check_flags(args: argparse.Namespace) -> None:
    problems = report_path_problems(args)
    if not args.policy_pack:
        problems.append("at least one --policy-pack DIR is needed (as for `pulumi policy analyze`)")
    elif args.policy_pack_config and len(args.policy_pack_config) != len(args.policy_pack):
        problems.append(
            f"{len(args.policy_pack_config)} --policy-pack-config for {len(args.policy_pack)} --policy-pack: "
            "give none, or one per pack in the same order (as for `pulumi policy analyze`)"
        )
    if problems:
        raise PreviewUsageError("; ".join(problems))


def audit_state(
    state: StateFile,
    *,
    policy_packs: Sequence[str | os.PathLike[str]],
    policy_pack_configs: Sequence[str | os.PathLike[str]] = (),
    policy_mode: str = "inprocess",
) -> PreviewResult:
    """Drive the packs over the export's resources; a `PreviewResult` so every renderer and exit code of
    `preview` applies. Raises `PolicyConfigError` / `PolicyPackLoadError` for packs that cannot start."""
    t0 = time.perf_counter()
    result = PreviewResult(
        project=state.project,
        stack=state.stack,
        status="ok",
        operation="audit",
        stack_file=state.path,
        resources=list(state.resources),
        stack_outputs=state.stack_outputs,
        warnings=state_warnings(state),
    )
    if not state.resources and not state.deleted:  # the CLI checks the snapshot, deleted ones included
        return result
    with contextlib.ExitStack() as open_packs:
        sessions = []
        for i, pack_dir in enumerate(policy_packs):
            raw = policy_pack_configs[i] if i < len(policy_pack_configs) else None
            config = load_policy_pack_config_file(raw) if raw is not None else None
            # No ConfigureStack: `policy analyze` loads packs without a stack (policy_analyze.go:116).
            session = open_packs.enter_context(PolicyPackSession(pack_dir, config=config, mode=policy_mode))
            sessions.append(session)
            result.packs.append(
                PackSummary(
                    session.name, session.version, session.pack_dir, session.policies, session.config_warnings
                )
            )
            result.warnings += [w for w in session.config_warnings if w not in result.warnings]
        result.timings["packs"] = time.perf_counter() - t0
        try:
            result.analysis = run_analysis(sessions, state.analyzer_inputs(), apply_remediations=False)
        except PolicyPackRuntimeError as e:  # a policy raised: the CLI fails the analysis too
            result.status = "error"
            result.error = str(e)
    result.timings["total"] = time.perf_counter() - t0
    return result


def _some(urns: Sequence[str]) -> str:
    shown = ", ".join(urns[:_LIST_LIMIT])
    return shown + (f" and {len(urns) - _LIST_LIMIT} more" if len(urns) > _LIST_LIMIT else "")


def state_warnings(state: StateFile) -> list[str]:
    """What the export holds that the audit did not judge, or judged with less than the live state."""
    warnings = []
    if not state.resources and not state.deleted:
        warnings.append(f"{state.path} has no resources; nothing to analyze")
    if state.deleted:
        warnings.append(
            f"{len(state.deleted)} resource(s) marked for deletion (`delete: true`) were not analyzed, as "
            f"`pulumi policy analyze` skips them: {_some(state.deleted)}"
        )
    if state.pending_operations:
        ops = [f"{kind} {urn}" for kind, urn in state.pending_operations]
        warnings.append(
            f"{len(ops)} pending operation(s) from an interrupted update were not analyzed (their outcome is "
            f"unknown; `pulumi refresh`, then export again): {_some(ops)}"
        )
    if state.pending_replacement:
        warnings.append(
            f"{len(state.pending_replacement)} resource(s) are pending replacement (deleted, not yet "
            f"re-created) and were analyzed as recorded: {_some(state.pending_replacement)}"
        )
    if state.encrypted_secrets:
        provider = f" (secrets provider: {state.secrets_provider})" if state.secrets_provider else ""
        warnings.append(
            f"{state.encrypted_secrets} secret value(s) are encrypted{provider} and were not decrypted: a "
            'policy that reads one reports "can\'t run policy" (advisory) instead of a verdict. An export '
            "made with `pulumi stack export --show-secrets` lets them judge (keep that file private)."
        )
    return warnings


def audit_json(result: PreviewResult, state: StateFile | None) -> dict[str, Any]:
    """The `--json` document: `preview`'s, plus what the export held that was not analyzed."""
    doc = to_json(result)
    if state is not None:
        doc["audit"] = {
            "stateFile": str(state.path),
            "deploymentVersion": state.version,
            "skippedDeleted": list(state.deleted),
            "pendingReplacement": list(state.pending_replacement),
            "pendingOperations": [{"type": t, "urn": u} for t, u in state.pending_operations],
            "encryptedSecrets": state.encrypted_secrets,
            "remediationsApplied": False,
        }
    return doc


def _write_reports(args: argparse.Namespace, result: PreviewResult, state: StateFile | None) -> None:
    """The `--report-*` files for every audit (passed, blocked or failed), skipping unusable paths."""
    unusable = {p.split(" ", 1)[0] for p in report_path_problems(args)}
    if args.report_json and "--report-json" not in unusable:
        write_json(args.report_json, audit_json(result, state))
    if args.report_sarif and "--report-sarif" not in unusable:
        write_json(args.report_sarif, to_sarif(result, base_dir=Path.cwd()))
    if args.report_md and "--report-md" not in unusable:
        Path(args.report_md).write_text(to_markdown(result) + "\n", encoding="utf-8")


def _failure(
    args: argparse.Namespace, state: StateFile | None, text: str, code: int, out: TextIO, err: TextIO
) -> int:
    """An audit that stopped before a result: the error on stderr (or as the JSON document), and the
    requested reports written with it."""
    status = "usage-error" if code == EXIT_USAGE else "error"
    failed = PreviewResult(
        project=state.project if state else "",
        stack=state.stack if state else "",
        status=status,
        error=text,
        operation="audit",
        stack_file=Path(args.state),
    )
    with contextlib.suppress(Exception):
        _write_reports(args, failed, state)
    return print_failure(failed, code, args.json, out, err)
