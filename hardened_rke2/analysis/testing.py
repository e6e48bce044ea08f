"""Convenience for policy unit tests: one cached, configured in-process session per (pack, config).

Starting and configuring a pack costs far more than analyzing one resource, so tests share sessions.
`UNKNOWN` is re-exported because tests use it to write a value unknown during preview.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hardened_rke2.analysis.inputs import from_captured, input_from_dict, make_urn
from hardened_rke2.analysis.packs import forget_loaded_packs
from hardened_rke2.analysis.results import AnalysisResult, Violation
from hardened_rke2.analysis.session import PolicyPackSession, run_analysis
from hardened_rke2.analysis.wire import UNKNOWN
from hardened_rke2.capture import CapturedResource

__all__ = [
    "UNKNOWN",
    "analyze_props",
    "analyze_resource",
    "analyze_stack",
    "cached_session",
    "clear_cache",
]

_SESSIONS: dict[tuple[str, str], PolicyPackSession] = {}
_SESSIONS_LOCK = threading.Lock()


def _config_key(config: Mapping[str, Any] | None) -> str:
    return json.dumps(config or {}, sort_keys=True, default=str)


def cached_session(
    pack_dir: str | os.PathLike[str], config: Mapping[str, Any] | None = None
) -> PolicyPackSession:
    key = (str(Path(pack_dir).resolve()), _config_key(config))
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = PolicyPackSession(pack_dir, config=config)
            _SESSIONS[key] = session
        return session


def clear_cache() -> None:
    """Forget loaded packs and cached sessions (e.g. after editing a pack in the same process)."""
    with _SESSIONS_LOCK:
        _SESSIONS.clear()
        forget_loaded_packs()


def analyze_resource(
    pack_dir: str | os.PathLike[str],
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "test",
    config: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    provider: Mapping[str, Any] | None = None,
) -> AnalysisResult:
    """`Remediate` then `Analyze` of one resource (no stack policies); `.remediations` holds new inputs."""
    session = cached_session(pack_dir, config)
    spec: dict[str, Any] = {
        "type": resource_type,
        "name": name,
        "props": props,
        "options": dict(options or {}),
    }
    resources = []
    if provider is not None:
        prov = input_from_dict(provider)
        resources.append(prov)
        spec["provider"] = prov.urn
    resources.append(input_from_dict(spec))
    return run_analysis([session], resources, analyze_stack=False)


def analyze_props(
    pack_dir: str | os.PathLike[str],
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "test",
    config: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[Violation]:
    """Violations the pack reports for one resource with these inputs (plain camelCase values; use
    `UNKNOWN` for a value unknown during preview). Loaded and configured once per (pack, config)."""
    return analyze_resource(
        pack_dir, resource_type, props, name=name, config=config, options=options
    ).violations


def analyze_stack(
    pack_dir: str | os.PathLike[str],
    resources: Iterable[Mapping[str, Any] | CapturedResource],
    config: Mapping[str, Any] | None = None,
    *,
    stack_outputs: Mapping[str, Any] | None = None,
) -> AnalysisResult:
    """The full engine sequence over a small stack: Remediate+Analyze per resource, then AnalyzeStack.

    Dict resources: `{"type", "name", "props", "parent"?, "options"?, "dependencies"?, "provider"?}`; parent,
    provider and dependencies may give another resource's name instead of its URN.
    """
    items = list(resources)
    by_name = {
        str(i["name"]): str(i.get("urn") or make_urn(str(i["type"]), str(i["name"])))
        for i in items
        if isinstance(i, Mapping)
    }
    inputs = [
        input_from_dict(i, by_name=by_name)
        if isinstance(i, Mapping)
        else from_captured([i], stack_outputs)[0]
        for i in items
    ]
    return run_analysis([cached_session(pack_dir, config)], inputs, stack_outputs=stack_outputs)
