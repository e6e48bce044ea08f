"""Decode a resource's properties once per request instead of once per policy.

pulumi-policy 1.21's analyzer turns the request's protobuf `Struct` into Python values inside its
per-policy loop (`deserialize_properties(json_format.MessageToDict(...))`), so with ~120 policies a
resource is decoded ~120 times and that dominates Analyze time. Both steps are pure functions of a
message that does not change during the request, so this module memoizes them by message identity for
the two names the SDK's `policy` module looks up at call time. Results are identical: policies only ever
see read-only proxies over the decoded values.

Safety: a cache entry holds a strong reference to its message, so an id cannot be reused by another
message while its entry exists; the cache is bounded (oldest entries dropped first). Only the plain call
shapes the Analyze/AnalyzeStack loops use are memoized; Remediate's secrets-preserving decode is not.
If the SDK no longer has these names (a different pulumi-policy), nothing is patched.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pulumi_policy.policy as sdk_policy

_MAX_ENTRIES = 8192
# Kept on the SDK module itself: the pack may be imported more than once in one process (the offline
# engine isolates pack imports), and every copy must see the one true set of originals.
_ORIGINALS_ATTR = "_nsa_cisa_shared_props_originals"


def _originals() -> dict[str, Any]:
    found = getattr(sdk_policy, _ORIGINALS_ATTR, None)
    if found is None:
        found = {}
        setattr(sdk_policy, _ORIGINALS_ATTR, found)
    return found


class _MemoizingJsonFormat:
    """Stands in for `google.protobuf.json_format` inside `pulumi_policy.policy` only."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._cache: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:  # protobuf's name
        if args or kwargs:
            return self._module.MessageToDict(message, *args, **kwargs)
        return _memo(self._cache, message, lambda: self._module.MessageToDict(message))


def _memo(cache: OrderedDict[int, tuple[Any, Any]], key_obj: Any, compute: Any) -> Any:
    key = id(key_obj)
    hit = cache.get(key)
    if hit is not None and hit[0] is key_obj:
        return hit[1]
    value = compute()
    cache[key] = (key_obj, value)
    if len(cache) > _MAX_ENTRIES:
        cache.popitem(last=False)
    return value


def install() -> bool:
    """Patch the SDK's analyzer module; returns whether the patch is active."""
    originals = _originals()
    if originals:
        return True
    json_format = getattr(sdk_policy, "json_format", None)
    deserialize = getattr(sdk_policy, "deserialize_properties", None)
    if json_format is None or deserialize is None or not hasattr(json_format, "MessageToDict"):
        return False
    decoded: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def deserialize_once(props: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # Remediate's secrets-preserving decode: never shared
            return deserialize(props, *args, **kwargs)
        return _memo(decoded, props, lambda: deserialize(props))

    originals["json_format"] = json_format
    originals["deserialize_properties"] = deserialize
    setattr(sdk_policy, "json_format", _MemoizingJsonFormat(json_format))  # noqa: B010 (patching a module)
    setattr(sdk_policy, "deserialize_properties", deserialize_once)  # noqa: B010
    return True


def uninstall() -> None:
    """Restore the SDK's own functions (tests compare both paths)."""
    originals = _originals()
    for name, original in originals.items():
        setattr(sdk_policy, name, original)
    originals.clear()


def installed() -> bool:
    return bool(_originals())
