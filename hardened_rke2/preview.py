"""Offline `pulumi preview`: run a project's program under the mock engine and its policy packs through the
analyzer protocol. No provider, Rancher, cluster or Pulumi service is contacted; nothing is deployed.

What is faithful to `pulumi preview`:
- the project is read from `Pulumi.yaml` (`name`, `main`, `stackConfigDir`, project `config:` defaults) and
  the stack's config from `<stackConfigDir>/Pulumi.<stack>.yaml`, turned into the engine's wire config
  (scalars as strings, objects and lists as JSON);
- the program runs as Pulumi's Python language host runs it: cwd is the `main` folder and `runpy` runs it
  with ONLY that folder prepended to `sys.path` (so it must import the installed project absolutely);
- policy packs are started (and their config reconciled and validated) before the program runs, then
  Remediate/Analyze per registered resource, including the Stack, components and the default providers the
  engine would create, then AnalyzeStack.
What is not: provider `Check`/`Diff` never run (no schema defaults, no auto-naming), computed outputs are
unknown, encrypted (`secure:`) config cannot be decrypted, ESC `environment:` imports are not resolved.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardened_rke2 import tuned_gc
from hardened_rke2.analysis.errors import PolicyPackRuntimeError
from hardened_rke2.analysis.inputs import AnalyzerInput, from_captured
from hardened_rke2.analysis.pack_config import PolicyConfig, load_policy_pack_config_file
from hardened_rke2.analysis.results import AnalysisResult
from hardened_rke2.analysis.session import PolicyPackSession, run_analysis
from hardened_rke2.capture import (
    STACK_TYPE,
    CapturedResource,
    ProgramRun,
    RecordingMonitor,
    run_program,
)
from hardened_rke2.language_host import (
    OfflineMocks,
    as_language_host,
    config_problems,
    program_fn,
    scrubbed_pulumi_env,
)
from hardened_rke2.project import (
    PreviewUsageError,
    Project,
    StackConfig,
    load_stack_config,
    read_project,
    stack_tags,
)
from hardened_rke2.providers import default_providers, disabled_default_providers


@dataclass
class PackSummary:
    name: str
    version: str
    dir: Path
    policies: list[Any]
    config_warnings: list[str]
    config: Mapping[str, PolicyConfig] = field(default_factory=dict)
    """Each policy's reconciled config (level and properties) as sent with `Configure`."""


@dataclass
class PreviewResult:
    project: str
    stack: str
    status: str
    """`ok`; `invalid-config` (the program rejected its stack config); `usage-error` (an input the offline
    engine needs, e.g. StackReference outputs, was not supplied); `error` (the program failed)."""
    resources: list[CapturedResource] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    error: str = ""
    analysis: AnalysisResult | None = None
    packs: list[PackSummary] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    default_providers: list[AnalyzerInput] = field(default_factory=list)
    stack_file: Path | None = None
    program_dir: Path | None = None
    """The project's `main` folder (where a finding without a known config key is located)."""
    timings: dict[str, float] = field(default_factory=dict)
    operation: str = "preview"
    """`preview` (the program ran under the mock engine) or `audit` (`hardened-rke2 audit`: the resources
    came from a `pulumi stack export` file, `stack_file`; no program ran, remediations were not applied)."""

    @property
    def violations(self) -> list[Any]:
        return list(self.analysis.violations) if self.analysis else []

    @property
    def has_mandatory(self) -> bool:
        return bool(self.analysis and self.analysis.has_mandatory)

    @property
    def exit_code(self) -> int:
        if self.status in ("invalid-config", "usage-error"):
            return 2
        if self.status != "ok":
            return 3
        return 1 if self.has_mandatory else 0


PackConfigSource = str | os.PathLike[str] | Mapping[str, Any] | None
"""A pack's config: a `--policy-pack-config` file path, an already-parsed mapping, or none."""


def preview_project(
    project_dir: str | os.PathLike[str],
    stack: str,
    *,
    policy_packs: Sequence[str | os.PathLike[str]] = (),
    policy_pack_configs: Sequence[PackConfigSource] = (),
    stack_reference_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    secret_values: Mapping[str, Any] | None = None,
    policy_mode: str = "inprocess",
    config_overrides: Mapping[str, Any] | None = None,
) -> PreviewResult:
    """Run the stack program offline and drive the policy packs over what it registered.

    `policy_pack_configs[i]` (a file path or a dict) configures `policy_packs[i]`, like the CLI's repeated
    `--policy-pack-config`. `config_overrides` replace stack config values in memory (the stack file is
    not touched). Raises `PreviewUsageError` / `PolicyConfigError` / `PolicyPackLoadError` for
    problems found before the program runs.
    """
    t0 = time.perf_counter()
    project = read_project(project_dir)
    stack_config = load_stack_config(project, stack, secret_values=secret_values, overrides=config_overrides)
    if len(policy_pack_configs) > len(policy_packs):
        raise PreviewUsageError("more --policy-pack-config than --policy-pack values")
    result = _new_result(project, stack, stack_config)
    # tuned_gc: a preview allocates ~10^6 long-lived objects; the CLI tunes its whole process the same way.
    with tuned_gc(), scrubbed_pulumi_env(), contextlib.ExitStack() as open_packs:
        # Packs start (and their config is validated) before the program runs, as in the engine.
        sessions = _start_packs(
            open_packs, policy_packs, policy_pack_configs, policy_mode, project, stack, stack_config, result
        )
        result.timings["packs"] = time.perf_counter() - t0
        run = _run_program(project, stack, stack_config, stack_reference_outputs, result)
        if run is None:
            return result
        inputs = _with_default_providers(run, project, stack, stack_config, result)
        if inputs is None:
            return result
        if sessions:
            _analyze(sessions, inputs, result)
    result.timings["total"] = time.perf_counter() - t0
    return result


def _warn(result: PreviewResult, warnings: Sequence[str]) -> None:
    """Add warnings once each: a program may log the same one for several resources, a pack per policy."""
    for w in warnings:
        if w not in result.warnings:
            result.warnings.append(w)


def _new_result(project: Project, stack: str, stack_config: StackConfig) -> PreviewResult:
    return PreviewResult(
        project=project.name,
        stack=stack,
        status="ok",
        stack_file=stack_config.path,
        program_dir=project.main,
        warnings=list(stack_config.warnings),
    )


def _start_packs(
    open_packs: contextlib.ExitStack,
    policy_packs: Sequence[str | os.PathLike[str]],
    policy_pack_configs: Sequence[PackConfigSource],
    policy_mode: str,
    project: Project,
    stack: str,
    stack_config: StackConfig,
    result: PreviewResult,
) -> list[PolicyPackSession]:
    """Start every pack for this stack; `open_packs` closes them when the preview ends."""
    sessions: list[PolicyPackSession] = []
    for i, pack_dir in enumerate(policy_packs):
        raw = policy_pack_configs[i] if i < len(policy_pack_configs) else None
        cfg = load_policy_pack_config_file(raw) if isinstance(raw, (str, os.PathLike)) else raw
        session = open_packs.enter_context(
            PolicyPackSession(
                pack_dir,
                config=cfg,
                mode=policy_mode,
                project=project.name,
                stack=stack,
                stack_config=stack_config.wire,
                stack_secret_keys=stack_config.secret_keys,
                stack_tags=stack_tags(project),
            )
        )
        sessions.append(session)
        result.packs.append(
            PackSummary(
                session.name,
                session.version,
                session.pack_dir,
                session.policies,
                session.config_warnings,
                dict(session.config),
            )
        )
        _warn(result, session.config_warnings)
    return sessions


def _run_program(
    project: Project,
    stack: str,
    stack_config: StackConfig,
    stack_reference_outputs: Mapping[str, Mapping[str, Any]] | None,
    result: PreviewResult,
) -> ProgramRun | None:
    """Run the program as the language host would; on failure record why in `result` and return None."""
    t1 = time.perf_counter()
    mocks = OfflineMocks(stack_reference_outputs)
    monitor = RecordingMonitor(mocks)
    program_error: Exception | None = None
    run: ProgramRun | None = None
    try:
        with as_language_host(project.main):
            run = run_program(
                program_fn(project.main),
                project=project.name,
                stack=stack,
                config=stack_config.wire,
                secret_keys=stack_config.secret_keys,
                monitor=monitor,
            )
    except Exception as exc:
        program_error = exc
    result.timings["program"] = time.perf_counter() - t1
    registered = [r for r in monitor.captured if r.type != STACK_TYPE]
    if mocks.missing_references:
        _record_missing_references(result, mocks.missing_references, registered)
        return None
    if program_error is not None or run is None:
        _record_program_error(result, program_error, registered)
        return None
    result.resources = run.resources
    result.stack_outputs = run.stack_outputs
    _warn(result, run.warnings)
    return run


def _record_missing_references(
    result: PreviewResult, missing: Sequence[str], registered: list[CapturedResource]
) -> None:
    # A StackReference without supplied outputs is an input the user must give, not a program failure.
    result.status = "usage-error"
    refs = ", ".join(sorted(set(missing)))
    result.error = (
        f"StackReference outputs are not available offline for: {refs}. Supply them with "
        "--stack-reference-outputs FILE (YAML/JSON: <org>/<project>/<stack>: {output: value})."
    )
    result.resources = registered


def _record_program_error(
    result: PreviewResult, program_error: BaseException | None, registered: list[CapturedResource]
) -> None:
    problems = config_problems(program_error) if program_error is not None else None
    if problems is not None:
        result.status = "invalid-config"
        result.problems = problems
    else:
        result.status = "error"
        result.error = f"{type(program_error).__name__}: {program_error}"
    # Invalid config must fail before anything is registered; report anything that was.
    result.resources = registered


def _with_default_providers(
    run: ProgramRun, project: Project, stack: str, stack_config: StackConfig, result: PreviewResult
) -> list[AnalyzerInput] | None:
    """What the engine analyzes: its default providers, then every registration (pointing at its default
    provider when it has no explicit one). None (and `result` failed) when a needed default is disabled."""
    providers, assignment = default_providers(
        run.resources,
        stack_config.wire,
        project=project.name,
        stack=stack,
        secret_keys=stack_config.secret_keys,
    )
    result.default_providers = providers
    disabled = disabled_default_providers(stack_config.wire, providers, assignment)
    if disabled:
        result.status = "error"
        result.error = "; ".join(disabled)
        return None
    inputs = list(providers)
    for r in from_captured(run.resources, run.stack_outputs):
        if r.urn in assignment:
            r = AnalyzerInput(**{**r.__dict__, "provider": assignment[r.urn]})
        inputs.append(r)
    return inputs


def _analyze(
    sessions: Sequence[PolicyPackSession], inputs: list[AnalyzerInput], result: PreviewResult
) -> None:
    """Remediate/Analyze every resource with every pack, then AnalyzeStack (`run_analysis`)."""
    t2 = time.perf_counter()
    try:
        result.analysis = run_analysis(sessions, inputs)
    except PolicyPackRuntimeError as exc:
        # The real engine fails the preview when a policy raises; so does this one.
        result.status = "error"
        result.error = str(exc)
    result.timings["policy"] = time.perf_counter() - t2
