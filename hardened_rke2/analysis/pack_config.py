"""Policy-pack config: parsing the user's file and reconciling it the way the engine does.

Reconciliation mirrors the engine (`pkg/resource/analyzer/config.go` in pulumi/pulumi):
1. one entry per policy with the level the pack declares and the `default` of each config-schema property;
2. the pack's `initial_config` (as reported by `GetAnalyzerInfo`), then the user's config, each applied as:
   - an `all` key that carries an enforcement level sets that level on EVERY policy first; properties under
     `all` are NOT copied to the policies (they only land in an `all` entry that no policy reads);
   - then each per-policy entry: its level (if given) replaces the level, its properties are merged on top
     (top-level keys only);
   - a bare string is an enforcement level; an object may carry `enforcementLevel` plus properties;
   - entries for names that are not policies are accepted by the engine (we keep them and warn);
   - an `initial_config` entry without a level arrives over the wire as `advisory` (proto default 0), as in
     the engine: pack authors should always give a level there;
3. JSON-schema validation of each policy's merged properties (`type: object`, its `properties` with an
   injected `enforcementLevel` enum, `required`); any error fails the run before `Configure`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi.runtime import proto

from hardened_rke2.analysis.errors import PolicyConfigError
from hardened_rke2.analysis.results import PolicyInfo
from hardened_rke2.analysis.wire import LEVEL_TO_PROTO, LEVELS
from hardened_rke2.safe_yaml import InputFileError, load_text, read_text


@dataclass(frozen=True)
class PolicyConfig:
    enforcement_level: str
    """One of LEVELS, or "" when none was given (only possible for names that are not policies)."""
    properties: Mapping[str, Any] | None


def parse_policy_pack_config(
    raw: Mapping[str, Any] | None, *, source: str = "config"
) -> dict[str, PolicyConfig]:
    """User config (the `--policy-pack-config` JSON) -> entries, with the engine's parsing rules."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PolicyConfigError(
            [f"{source}: must be a JSON object mapping policy names (or 'all') to config"]
        )
    problems: list[str] = []
    result: dict[str, PolicyConfig] = {}
    for key, value in raw.items():
        level = ""
        props: dict[str, Any] | None = None
        if isinstance(value, str):
            if value not in LEVELS:
                problems.append(
                    f"{key}: {value!r} is not a valid enforcement level (use one of {', '.join(LEVELS)})"
                )
                continue
            level = value
        elif isinstance(value, Mapping):
            body = dict(value)
            if "enforcementLevel" in body:
                el = body.pop("enforcementLevel")
                if not isinstance(el, str) or el not in LEVELS:
                    problems.append(
                        f"{key}.enforcementLevel: {el!r} is not a valid enforcement level "
                        f"(use one of {', '.join(LEVELS)})"
                    )
                    continue
                level = el
            props = body or None
        else:
            problems.append(
                f"{key}: {value!r} is not a valid value; must be an enforcement level string or an object"
            )
            continue
        if not level and not props:
            continue  # the engine drops empty entries
        result[str(key)] = PolicyConfig(level, props)
    if problems:
        raise PolicyConfigError(problems)
    return result


def load_policy_pack_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a `--policy-pack-config` file (JSON, as the CLI reads; YAML also accepted)."""
    p = Path(path)
    try:
        text = read_text(p, "policy pack config")
        if not text.strip():
            return {}
        data = load_text(text, str(p), json_first=True)
    except InputFileError as e:
        raise PolicyConfigError([str(e)]) from None
    if not isinstance(data, dict):
        raise PolicyConfigError([f"{p}: must contain an object mapping policy names (or 'all') to config"])
    return data


def _apply_config(
    result: dict[str, PolicyConfig], given: Mapping[str, PolicyConfig]
) -> dict[str, PolicyConfig]:
    all_entry = given.get("all")
    if all_entry is not None and all_entry.enforcement_level in LEVELS:
        result = {k: PolicyConfig(all_entry.enforcement_level, v.properties) for k, v in result.items()}
    for name, cfg in given.items():
        level, props = "", None
        if name in result:
            level, props = result[name].enforcement_level, result[name].properties
        if cfg.enforcement_level in LEVELS:
            level = cfg.enforcement_level
        if cfg.properties:
            props = {**(props or {}), **cfg.properties}
        result[name] = PolicyConfig(level, props)
    return result


def reconcile_config(
    policies: Sequence[PolicyInfo],
    initial_config: Mapping[str, PolicyConfig] | None,
    config: Mapping[str, Any] | Mapping[str, PolicyConfig] | None,
    *,
    pack: str = "",
) -> tuple[dict[str, PolicyConfig], list[str]]:
    """Defaults -> pack initial config -> user config -> JSON-schema validation, as the engine does.

    Returns the config to send with `Configure` and warnings (config for names that are not policies).
    Raises `PolicyConfigError` naming the policy and property of every problem.
    """
    user: Mapping[str, PolicyConfig]
    if config and not all(isinstance(v, PolicyConfig) for v in config.values()):
        user = parse_policy_pack_config(config)
    else:
        user = dict(config or {})

    result: dict[str, PolicyConfig] = {}
    for p in policies:
        props = {
            k: v["default"]
            for k, v in ((p.config_schema or {}).get("properties") or {}).items()
            if isinstance(v, Mapping) and "default" in v
        }
        result[p.name] = PolicyConfig(p.enforcement_level, props or None)
    if initial_config:
        result = _apply_config(result, initial_config)
    if user:
        result = _apply_config(result, user)

    names = {p.name for p in policies}
    warnings = [
        f"policy pack config names {k!r}, which is not a policy of {pack or 'the pack'}: it has no effect"
        for k in user
        if k != "all" and k not in names
    ]
    if policies and all(result[p.name].enforcement_level == "disabled" for p in policies):
        warnings.append(
            f"every policy of {pack or 'the pack'} is disabled by the policy pack config: nothing is enforced"
        )
    problems = _validate(policies, result)
    for k, v in result.items():
        if v.enforcement_level not in LEVELS:
            problems.append(
                f"{k}: no enforcement level (the engine rejects config entries without one; "
                f'add "enforcementLevel" or remove the entry)'
            )
    if problems:
        raise PolicyConfigError(problems, pack)
    return result, warnings


def _validate(policies: Sequence[PolicyInfo], config: Mapping[str, PolicyConfig]) -> list[str]:
    problems: list[str] = []
    for p in policies:
        if p.config_schema is None:
            continue
        schema: dict[str, Any] = {"type": "object"}
        props = dict(p.config_schema.get("properties") or {})
        props["enforcementLevel"] = {"type": "string", "enum": list(LEVELS)}
        schema["properties"] = props
        if p.config_schema.get("required"):
            schema["required"] = list(p.config_schema["required"])
        entry = config.get(p.name)
        doc = dict(entry.properties or {}) if entry else {}
        validator = _validator(json.dumps(schema, sort_keys=True))
        for err in sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.path)), e.message)):
            path = ".".join(str(x) for x in err.path)
            problems.append(f"{p.name}{'.' + path if path else ''}: {err.message}")
    return problems


@functools.lru_cache(maxsize=1024)
def _validator(schema: str) -> Any:
    """One validator per distinct schema: a fleet preview configures the same pack for every stack, and
    building the validators was most of that."""
    import jsonschema

    return jsonschema.Draft7Validator(json.loads(schema))


def config_to_proto(config: Mapping[str, PolicyConfig]) -> Any:
    req = proto.ConfigureAnalyzerRequest()
    for k, v in config.items():
        pc = proto.PolicyConfig(enforcementLevel=LEVEL_TO_PROTO[v.enforcement_level])
        if v.properties:
            pc.properties.update(dict(v.properties))
        req.policyConfig[k].CopyFrom(pc)
    return req
