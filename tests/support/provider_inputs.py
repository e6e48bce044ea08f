"""Provider input types (e.g. `rancher2.ClusterV2RkeConfigArgs`) as plain data, for tests of the functions
that build them without running a Pulumi program."""

from __future__ import annotations

from typing import Any


def plain(value: Any) -> Any:
    """Nested dicts of the values an input type was given (Python argument names; unset ones absent)."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if type(value).__module__.startswith("pulumi_"):
        return {k: plain(v) for k, v in vars(value).items()}
    return value
