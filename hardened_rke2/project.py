"""A Pulumi project and its stack config, read the way the CLI reads them.

- the project from `Pulumi.yaml` (`name`, `main`, `stackConfigDir`, project `config:` defaults and types);
- the stack's config from `<stackConfigDir>/Pulumi.<stack>.yaml`, turned into the engine's wire config
  (scalars as strings, objects and lists as JSON) and checked against the project's typed config;
- StackReference outputs from a file (offline there is no backend to ask).
Encrypted (`secure:`) config cannot be decrypted offline; ESC `environment:` imports are not resolved.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardened_rke2.safe_yaml import InputFileError, load_file

DEFAULT_PACK = Path("policy-packs") / "nsa-cisa-hardening"
"""Where this repository keeps the NSA/CISA policy pack, relative to a project (the CLI's default pack)."""


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
    data = _load(path, "project file") or {}
    if not isinstance(data, dict) or not data.get("name"):
        raise PreviewUsageError(f"{path}: a project needs a `name`")
    name = str(data["name"])
    runtime = data.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise PreviewUsageError(f"{path}: runtime {runtime_name!r} is not supported offline (python only)")
    try:
        main = (d / str(data.get("main") or ".")).resolve()
        main_exists = main.exists()
    except (OSError, ValueError):  # e.g. a NUL byte or an over-long name
        main_exists = False
    if not main_exists:
        raise PreviewUsageError(f"{path}: main {data.get('main')!r} does not exist")
    defaults: dict[str, Any] = {}
    types: dict[str, Mapping[str, Any]] = {}
    project_config = data.get("config") or {}
    if isinstance(project_config, str):
        project_config = {}  # legacy `config: <dir>` is the stack config directory
    if not isinstance(project_config, dict):
        raise PreviewUsageError(f"{path}: `config:` must be a mapping of config keys to their settings")
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
    project: Project,
    stack: str,
    *,
    secret_values: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> StackConfig:
    """`Pulumi.<stack>.yaml` `config:` -> wire config. Encrypted values must be supplied in `secret_values`
    (keys as in the stack file); they are passed to the program as secrets. `overrides` replace whole
    config values in memory (keys namespaced or not), e.g. `upgrade plan`'s changed cluster config."""
    path = project.stack_file(stack)
    if not path.is_file():
        known = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in project.stack_config_dir.glob("Pulumi.*.yaml")
        )
        raise PreviewUsageError(
            f"stack {stack!r} has no config file {path}"
            + (f" (stacks here: {', '.join(known)})" if known else "")
        )
    data = _load(path, "stack file") or {}
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
    for key, value in (overrides or {}).items():
        values[_namespaced(project, key)] = value
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
        if not isinstance(items, Mapping):
            return isinstance(value, list)
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
    data = _load(p, "stack reference outputs") or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise PreviewUsageError(f"{p}: expected a mapping of stack name -> mapping of outputs")
    return {str(k): dict(v) for k, v in data.items()}


def read_mapping_file(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """A YAML/JSON file that must hold a mapping (e.g. `--secret-config`); every problem a usage error."""
    data = _load(Path(path), what) or {}
    if not isinstance(data, dict):
        raise PreviewUsageError(f"{path}: {what} must be a mapping")
    return data


def _load(path: Path, what: str) -> Any:
    """Every YAML file the preview reads goes through `safe_yaml` (size, UTF-8, depth, aliases,
    duplicate keys); its problems are usage errors."""
    try:
        return load_file(path, what)
    except InputFileError as e:
        raise PreviewUsageError(str(e)) from None


def stack_tags(project: Project) -> dict[str, str]:
    """The tags the engine derives from the project (no service-side or VCS tags offline)."""
    tags = {"pulumi:project": project.name, "pulumi:runtime": "python"}
    if project.description:
        tags["pulumi:description"] = project.description
    return tags
