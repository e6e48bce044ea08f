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


def load_pack_settings(path: Path | None = None) -> dict[str, Any]:
    """Parse and check the settings file; a bad file stops the pack with a message naming the key."""
    path = path if path is not None else settings_path()
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
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
        ok = {"array": isinstance(value, list), "string": isinstance(value, str),
              "object": isinstance(value, Mapping)}[expected]
        if not ok:
            problems.append(f"{key}: expected {expected}, got {type(value).__name__}")
    if problems:
        raise PackSettingsError(f"{path}: invalid pack settings:\n  " + "\n  ".join(problems))
    return dict(data)
