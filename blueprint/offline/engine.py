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
import importlib.metadata
import json
import os
import runpy
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from blueprint.offline.analyzer import (
    SECRET_SIG,
    SIG_KEY,
    AnalysisResult,
    AnalyzerInput,
    PolicyPackRuntimeError,
    PolicyPackSession,
    from_captured,
    load_policy_pack_config_file,
    run_analysis,
)
from blueprint.offline.capture import (
    STACK_REFERENCE_TYPE,
    STACK_TYPE,
    CapturedResource,
    EchoMocks,
    RecordingMonitor,
    run_program,
)


class PreviewUsageError(Exception):
    """The preview cannot start: missing project or stack file, unreadable config, encrypted values."""


@dataclass(frozen=True)
class Project:
    dir: Path
    name: str
    main: Path
    """The program folder (or file) that Pulumi's language host runs."""
    stack_config_dir: Path
    config_defaults: Mapping[str, Any]
    """Project-level `config:` defaults, keys namespaced (`<project>:<key>` unless already namespaced)."""
    description: str = ""
    config_types: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Typed project config (`type`, `items`, `secret`) by namespaced key, validated like the engine does."""

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


def find_project_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest directory upward from `start` (default: cwd) that holds a `Pulumi.yaml`, like the CLI."""
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        if (d / "Pulumi.yaml").is_file() or (d / "Pulumi.yml").is_file():
            return d
    raise PreviewUsageError(f"no Pulumi.yaml found in {here} or any parent directory (use --project DIR)")


def read_project(project_dir: str | os.PathLike[str]) -> Project:
    d = Path(project_dir).resolve()
    path = d / "Pulumi.yaml" if (d / "Pulumi.yaml").is_file() else d / "Pulumi.yml"
    if not path.is_file():
        raise PreviewUsageError(f"{d} has no Pulumi.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise PreviewUsageError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict) or not data.get("name"):
        raise PreviewUsageError(f"{path}: a project needs a `name`")
    name = str(data["name"])
    runtime = data.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise PreviewUsageError(f"{path}: runtime {runtime_name!r} is not supported offline (python only)")
    main = (d / str(data.get("main") or ".")).resolve()
    if not main.exists():
        raise PreviewUsageError(f"{path}: main {data.get('main')!r} does not exist")
    defaults: dict[str, Any] = {}
    types: dict[str, Mapping[str, Any]] = {}
    project_config = data.get("config") or {}
    if isinstance(project_config, str):
        project_config = {}  # legacy `config: <dir>` is the stack config directory
    for key, spec in project_config.items():
        full = key if ":" in str(key) else f"{name}:{key}"
        if isinstance(spec, dict):
            if spec.get("type") or spec.get("secret"):
                types[full] = spec
            if "value" in spec:
                defaults[full] = spec["value"]
            elif "default" in spec:
                defaults[full] = spec["default"]
        else:
            defaults[full] = spec
    return Project(
        dir=d,
        name=name,
        main=main,
        stack_config_dir=(d / str(data.get("stackConfigDir") or ".")).resolve(),
        config_defaults=defaults,
        description=str(data.get("description") or ""),
        config_types=types,
    )


def _is_secure(value: Any) -> bool:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return True
        return any(_is_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_secure(v) for v in value)
    return False


def _secure_paths(value: Any, prefix: str = "") -> list[str]:
    """Where `secure:` values sit inside a structured config value (`pulumi config set --secret --path`)."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return [prefix]
        return [p for k, v in value.items() for p in _secure_paths(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _secure_paths(v, f"{prefix}[{i}]")]
    return []


def wire_value(value: Any) -> str:
    """A config value as the engine passes it to a program: strings as-is, other scalars as YAML-ish
    strings (`true`, `3`), objects and lists as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


@dataclass(frozen=True)
class StackConfig:
    values: dict[str, Any]
    """Parsed values, namespaced keys (`hardened-rke2:cluster`)."""
    wire: dict[str, str]
    secret_keys: list[str]
    warnings: list[str]
    path: Path | None


def load_stack_config(
    project: Project, stack: str, *, secret_values: Mapping[str, Any] | None = None
) -> StackConfig:
    """`Pulumi.<stack>.yaml` `config:` -> wire config. Encrypted values must be supplied in `secret_values`
    (keys as in the stack file); they are passed to the program as secrets."""
    path = project.stack_file(stack)
    if not path.is_file():
        known = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in project.stack_config_dir.glob("Pulumi.*.yaml")
        )
        raise PreviewUsageError(
            f"stack {stack!r} has no config file {path}"
            + (f" (stacks here: {', '.join(known)})" if known else "")
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise PreviewUsageError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise PreviewUsageError(f"{path}: expected a mapping with a `config:` section")
    warnings: list[str] = []
    if data.get("environment"):
        warnings.append(
            f"{path.name}: `environment:` (Pulumi ESC) imports cannot be resolved offline; "
            "their values are absent"
        )
    raw = data.get("config") or {}
    if not isinstance(raw, dict):
        raise PreviewUsageError(f"{path}: `config:` must be a mapping of `<namespace>:<key>` to values")
    values: dict[str, Any] = dict(project.config_defaults)
    secrets = {_namespaced(project, k): v for k, v in (secret_values or {}).items()}
    secret_keys: list[str] = []
    encrypted: list[str] = []
    for key, value in raw.items():
        full = _namespaced(project, key)
        if _is_secure(value):
            if full in secrets:
                values[full] = secrets[full]
                secret_keys.append(full)
            else:
                inside = [p for p in _secure_paths(value) if p]
                # A secret nested in a structured value: the plaintext must be the key's whole value.
                encrypted.append(f"{full} (at {', '.join(inside)}; give the whole value)" if inside else full)
            continue
        values[full] = value
    if encrypted:
        raise PreviewUsageError(
            f"{path}: encrypted config cannot be decrypted offline: {', '.join(encrypted)}. Supply the "
            "plaintext with --secret-config FILE (a YAML/JSON map of key: value; keep it out of the repo), "
            "or keep secrets out of the stack file (e.g. environment variables read by the provider)."
        )
    for full, value in secrets.items():
        if full not in values:
            values[full] = value
            secret_keys.append(full)
    _check_project_types(project, stack, values, set(secret_keys))
    wire = {k: wire_value(v) for k, v in values.items()}
    return StackConfig(
        values=values, wire=wire, secret_keys=sorted(set(secret_keys)), warnings=warnings, path=path
    )


def _type_name(spec: Mapping[str, Any]) -> str:
    t = str(spec.get("type") or "")
    items = spec.get("items")
    return f"array<{_type_name(items)}>" if t == "array" and isinstance(items, Mapping) else t


def _has_type(value: Any, spec: Mapping[str, Any]) -> bool:
    t = spec.get("type")
    if not t:
        return True
    if t == "string":
        return isinstance(value, str)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "array":
        items = spec.get("items") or {}
        return isinstance(value, list) and all(_has_type(v, items) for v in value)
    return True


def _check_project_types(project: Project, stack: str, values: Mapping[str, Any], secrets: set[str]) -> None:
    """The engine validates stack config against the project's typed `config:` before the program runs
    (`ValidateStackConfigAndApplyProjectConfig`); these messages follow its wording."""
    problems: list[str] = []
    missing: list[str] = []
    for full, spec in project.config_types.items():
        short = full.split(":", 1)[1] if full.startswith(project.name + ":") else full
        if full not in values:
            missing.append(short)
            continue
        if spec.get("secret") and full not in secrets:
            problems.append(
                f"Stack '{stack}' with configuration key '{short}' must be encrypted as it's secret"
            )
        # Supplied secrets are plaintext strings (as decrypted); only parsed YAML values have a type here.
        if full not in secrets and not _has_type(values[full], spec):
            problems.append(
                f"Stack '{stack}' with configuration key '{short}' must be of type '{_type_name(spec)}'"
            )
    if missing:
        quoted = [f"'{m}'" for m in sorted(missing)]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
        plural = "s" if len(quoted) > 1 else ""
        problems.insert(0, f"Stack '{stack}' is missing configuration value{plural} {listed}")
    if problems:
        raise PreviewUsageError("; ".join(problems))


def _namespaced(project: Project, key: Any) -> str:
    key = str(key)
    return key if ":" in key else f"{project.name}:{key}"


def load_stack_reference_outputs(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """A YAML/JSON file mapping a referenced stack name (`org/project/stack`) to its outputs.

    A stack's entry is either its outputs, or `{outputs: {...}, secretOutputNames: [...]}` to mark outputs
    that the referenced stack exports as secrets (e.g. a kubeconfig): `get_output` then returns secrets.
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise PreviewUsageError(f"{p}: cannot read stack reference outputs ({e})") from e
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise PreviewUsageError(f"{p}: expected a mapping of stack name -> mapping of outputs")
    return {str(k): dict(v) for k, v in data.items()}


# --------------------------------------------------------------------------------------------------------


@dataclass
class PackSummary:
    name: str
    version: str
    dir: Path
    policies: list[Any]
    config_warnings: list[str]


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
    timings: dict[str, float] = field(default_factory=dict)

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


@contextlib.contextmanager
def _scrubbed_pulumi_env() -> Iterator[None]:
    # The in-process policy servicer reconfigures the runtime when it sees these (see offline notes).
    names = ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.contextmanager
def _as_language_host(program: Path) -> Iterator[Path]:
    """cwd = the program folder; afterwards, sys.path and the modules imported from that folder (as
    top-level modules) are restored so a second run, or the caller, sees nothing of it."""
    folder = program if program.is_dir() else program.parent
    saved_path = list(sys.path)
    saved_cwd = os.getcwd()
    before = dict(sys.modules)
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            if _imported_from_folder(name, module, folder):
                if name in before:
                    sys.modules[name] = before[name]
                else:
                    del sys.modules[name]


def _imported_from_folder(name: str, module: Any, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file:
        return False
    try:
        rel = Path(file).resolve().relative_to(folder)
    except ValueError:
        return False
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) == name


class _OfflineMocks(EchoMocks):
    """EchoMocks that note a StackReference without supplied outputs instead of failing inside the
    SDK's event loop (which would bury the cause under unretrieved-future noise)."""

    def __init__(self, stack_references: Mapping[str, Mapping[str, Any]] | None) -> None:
        outputs: dict[str, Mapping[str, Any]] = {}
        self.secret_names: dict[str, list[str]] = {}
        for name, entry in (stack_references or {}).items():
            if _is_reference_spec(entry):
                outputs[name] = entry.get("outputs") or {}
                self.secret_names[name] = [str(n) for n in entry.get("secretOutputNames") or []]
            else:
                outputs[name] = entry
        super().__init__(stack_references=outputs)
        self.missing_references: list[str] = []

    def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE_TYPE:
            ref = str(args.inputs.get("name", args.name))
            if ref not in self.stack_references:
                self.missing_references.append(ref)
                return f"{args.name}-id", {"name": ref, "outputs": {}, "secretOutputNames": []}
            ref_id, state = super().new_resource(args)
            state["secretOutputNames"] = list(self.secret_names.get(ref, []))
            return ref_id, state
        return super().new_resource(args)


def _is_reference_spec(entry: Mapping[str, Any]) -> bool:
    return isinstance(entry.get("outputs"), Mapping) and set(entry) <= {"outputs", "secretOutputNames"}


def _program_fn(program: Path) -> Any:
    def run() -> None:
        # `runpy.run_path(<folder>)` puts the folder first on sys.path and runs its __main__.py, exactly
        # what pulumi-language-python-exec does with the program path.
        runpy.run_path(str(program), run_name="__main__")

    return run


def _config_problems(exc: BaseException) -> list[str] | None:
    """Any exception whose class defines `problems` is the blueprint's invalid-config signal
    (`blueprint.config.StackConfigError`); its causes are searched too (applies wrap exceptions)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if "problems" in dir(type(current)) or hasattr(current, "problems"):
            problems = getattr(current, "problems", None)
            if isinstance(problems, (list, tuple)):
                return [str(p) for p in problems]
            return [str(problems)]
        current = current.__cause__ or current.__context__
    return None


def default_providers(
    resources: Sequence[CapturedResource],
    config: Mapping[str, str],
    *,
    project: str,
    stack: str,
    secret_keys: Sequence[str] = (),
) -> tuple[list[AnalyzerInput], dict[str, str]]:
    """The default providers the engine would create for custom resources without an explicit provider.

    Their inputs are the `<package>:` stack config (as the engine passes it). Returns the provider inputs
    and a map resource URN -> default provider URN.
    """
    providers: dict[str, AnalyzerInput] = {}
    assignment: dict[str, str] = {}
    for r in resources:
        if not r.custom or r.provider or r.type.startswith("pulumi:"):
            continue
        package = r.type.split(":", 1)[0]
        if package not in providers:
            version = _package_version(package)
            name = "default" + (f"_{version.replace('.', '_').replace('-', '_')}" if version else "")
            # Secret config stays secret in the provider's inputs (the engine sends it with KeepSecrets).
            props: dict[str, Any] = {
                k.split(":", 1)[1]: ({SIG_KEY: SECRET_SIG, "value": v} if k in secret_keys else v)
                for k, v in config.items()
                if k.startswith(package + ":")
            }
            if version:
                props["version"] = version
            providers[package] = AnalyzerInput(
                urn=f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::{name}",
                type=f"pulumi:providers:{package}",
                name=name,
                props=props,
            )
        assignment[r.urn] = providers[package].urn
    return list(providers.values()), assignment


def _disabled_default_providers(
    config: Mapping[str, str], providers: Sequence[AnalyzerInput], assignment: Mapping[str, str]
) -> list[str]:
    """`pulumi:disable-default-providers` makes the engine fail a resource that needs a default provider."""
    raw = config.get("pulumi:disable-default-providers")
    if not raw:
        return []
    try:
        disabled = json.loads(raw)
    except json.JSONDecodeError:
        disabled = [raw]
    if not isinstance(disabled, list):
        disabled = [disabled]
    errors = []
    for provider in providers:
        package = provider.type.split(":")[-1]
        if "*" in disabled or package in disabled:
            users = sorted(urn for urn, p in assignment.items() if p == provider.urn)
            errors.append(
                f"Default provider for '{package}' disabled. '{users[0]}' must use an explicit provider"
                + (f" (and {len(users) - 1} more)" if len(users) > 1 else "")
            )
    return errors


def _stack_tags(project: Project) -> dict[str, str]:
    """The tags the engine derives from the project (no service-side or VCS tags offline)."""
    tags = {"pulumi:project": project.name, "pulumi:runtime": "python"}
    if project.description:
        tags["pulumi:description"] = project.description
    return tags


def _package_version(package: str) -> str:
    for dist in (f"pulumi_{package}", f"pulumi-{package}"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(dist)
    return ""


def preview_project(
    project_dir: str | os.PathLike[str],
    stack: str,
    *,
    policy_packs: Sequence[str | os.PathLike[str]] = (),
    policy_pack_configs: Sequence[str | os.PathLike[str] | Mapping[str, Any] | None] = (),
    stack_reference_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    secret_values: Mapping[str, Any] | None = None,
    policy_mode: str = "inprocess",
) -> PreviewResult:
    """Run the stack program offline and drive the policy packs over what it registered.

    `policy_pack_configs[i]` (a file path or a dict) configures `policy_packs[i]`, like the CLI's repeated
    `--policy-pack-config`. Raises `PreviewUsageError` / `PolicyConfigError` / `PolicyPackLoadError` for
    problems found before the program runs.
    """
    t0 = time.perf_counter()
    project = read_project(project_dir)
    stack_config = load_stack_config(project, stack, secret_values=secret_values)
    if len(policy_pack_configs) > len(policy_packs):
        raise PreviewUsageError("more --policy-pack-config than --policy-pack values")
    result = PreviewResult(
        project=project.name,
        stack=stack,
        status="ok",
        stack_file=stack_config.path,
        warnings=list(stack_config.warnings),
    )
    sessions: list[PolicyPackSession] = []
    with _scrubbed_pulumi_env(), contextlib.ExitStack() as stack_ctx:
        for i, pack_dir in enumerate(policy_packs):
            raw = policy_pack_configs[i] if i < len(policy_pack_configs) else None
            cfg = load_policy_pack_config_file(raw) if isinstance(raw, (str, os.PathLike)) else raw
            session = stack_ctx.enter_context(
                PolicyPackSession(
                    pack_dir,
                    config=cfg,
                    mode=policy_mode,
                    project=project.name,
                    stack=stack,
                    stack_config=stack_config.wire,
                    stack_secret_keys=stack_config.secret_keys,
                    stack_tags=_stack_tags(project),
                )
            )
            sessions.append(session)
            result.packs.append(
                PackSummary(
                    session.name, session.version, session.pack_dir, session.policies, session.config_warnings
                )
            )
            result.warnings += session.config_warnings
        result.timings["packs"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        mocks = _OfflineMocks(stack_reference_outputs)
        monitor = RecordingMonitor(mocks)
        program_error: Exception | None = None
        try:
            with _as_language_host(project.main):
                run = run_program(
                    _program_fn(project.main),
                    project=project.name,
                    stack=stack,
                    config=stack_config.wire,
                    secret_keys=stack_config.secret_keys,
                    monitor=monitor,
                )
        except Exception as exc:
            program_error = exc
        result.timings["program"] = time.perf_counter() - t1
        if mocks.missing_references:
            result.status = "usage-error"
            refs = ", ".join(sorted(set(mocks.missing_references)))
            result.error = (
                f"StackReference outputs are not available offline for: {refs}. Supply them with "
                "--stack-reference-outputs FILE (YAML/JSON: <org>/<project>/<stack>: {output: value})."
            )
            result.resources = [r for r in monitor.captured if r.type != STACK_TYPE]
            return result
        if program_error is not None:
            registered = [r for r in monitor.captured if r.type != STACK_TYPE]
            problems = _config_problems(program_error)
            if problems is not None:
                result.status = "invalid-config"
                result.problems = problems
            else:
                result.status = "error"
                result.error = f"{type(program_error).__name__}: {program_error}"
            # Invalid config must fail before anything is registered; report anything that was.
            result.resources = registered
            return result
        result.resources = run.resources
        result.stack_outputs = run.stack_outputs
        result.warnings += run.warnings

        providers, assignment = default_providers(
            run.resources,
            stack_config.wire,
            project=project.name,
            stack=stack,
            secret_keys=stack_config.secret_keys,
        )
        result.default_providers = providers
        disabled = _disabled_default_providers(stack_config.wire, providers, assignment)
        if disabled:
            result.status = "error"
            result.error = "; ".join(disabled)
            return result

        if sessions:
            t2 = time.perf_counter()
            inputs = list(providers)
            for r in from_captured(run.resources, run.stack_outputs):
                if r.urn in assignment:
                    r = AnalyzerInput(**{**r.__dict__, "provider": assignment[r.urn]})
                inputs.append(r)
            try:
                result.analysis = run_analysis(sessions, inputs)
            except PolicyPackRuntimeError as exc:
                # The real engine fails the preview when a policy raises; so does this one.
                result.status = "error"
                result.error = str(exc)
            result.timings["policy"] = time.perf_counter() - t2
    result.timings["total"] = time.perf_counter() - t0
    return result
