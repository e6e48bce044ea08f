"""Pack-wide settings, set once for every policy (the engine's `all` key carries only a level).

Source, first found wins:
  1. the file named by the environment variable `NSA_CISA_PACK_SETTINGS` (YAML or JSON);
  2. `pack-settings.yaml` next to `PulumiPolicy.yaml` (a platform team edits it before publishing).
Keys: `exemptNamespaces`, `allowedRegistries`, `minKubernetesVersion`, `exemptions` (see
`framework.SHARED_KNOBS`) and `enforcementLevels: {policy-name: level}`. Absent keys keep the schema
defaults. A per-policy entry in `--policy-pack-config` still overrides these values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from nsa_cisa.framework import SHARED_KNOBS

ENV_VAR = "NSA_CISA_PACK_SETTINGS"
PACK_DIR = Path(__file__).resolve().parent.parent
DEFAULT_FILE = PACK_DIR / "pack-settings.yaml"
_ALLOWED = {*SHARED_KNOBS, "enforcementLevels"}


class PackSettingsError(ValueError):
    pass


def settings_path() -> Path | None:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


MAX_SETTINGS_BYTES = 1024 * 1024
MAX_SETTINGS_DEPTH = 32


def _safe_load(path: Path) -> Any:
    """`yaml.safe_load` with the limits of the offline engine's loader (hardened_rke2/safe_yaml.py, which
    the pack cannot import): size, UTF-8, nesting, no aliases (an alias bomb would hang the pack), no
    duplicate keys. Checked on the event stream first, which is linear and builds nothing."""
    if path.stat().st_size > MAX_SETTINGS_BYTES:
        raise yaml.YAMLError(f"larger than {MAX_SETTINGS_BYTES:,} bytes")
    text = path.read_bytes().decode("utf-8")
    # One frame per open collection: [seen keys, expecting a key] for a mapping, None for a sequence.
    frames: list[list[Any] | None] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            raise yaml.YAMLError(f"line {line}: aliases are not accepted in pack settings")
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frames.pop()
            continue
        if not isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            continue
        parent = frames[-1] if frames else None
        if parent is not None:
            seen, expecting_key = parent
            if expecting_key and isinstance(event, yaml.ScalarEvent):
                if event.value in seen:
                    raise yaml.YAMLError(
                        f"line {line}: duplicate key {event.value!r} (first at line {seen[event.value]})"
                    )
                seen[event.value] = line
            parent[1] = not expecting_key
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(frames) >= MAX_SETTINGS_DEPTH:
                raise yaml.YAMLError(f"line {line}: nested more than {MAX_SETTINGS_DEPTH} levels deep")
            frames.append([{}, True] if isinstance(event, yaml.MappingStartEvent) else None)
    return yaml.safe_load(text)


def load_pack_settings(path: Path | None = None) -> dict[str, Any]:
    """Parse and check the settings file; a bad file stops the pack with a message naming the key."""
    path = path if path is not None else settings_path()
    if path is None:
        return {}
    try:
        data = _safe_load(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PackSettingsError(
            f"{path}: cannot read pack settings: {exc} (fix: valid YAML/JSON mapping)"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise PackSettingsError(
            f"{path}: pack settings must be a mapping (fix: e.g. 'allowedRegistries: [...]')"
        )
    problems = []
    for key, value in data.items():
        if key not in _ALLOWED:
            problems.append(f"{key}: unknown setting (fix: one of {sorted(_ALLOWED)})")
            continue
        expected = SHARED_KNOBS[key]["type"] if key in SHARED_KNOBS else "object"
        ok = {
            "array": isinstance(value, list),
            "string": isinstance(value, str),
            "object": isinstance(value, Mapping),
        }[expected]
        if not ok:
            problems.append(f"{key}: expected {expected}, got {type(value).__name__}")
    if problems:
        raise PackSettingsError(f"{path}: invalid pack settings:\n  " + "\n  ".join(problems))
    return dict(data)
