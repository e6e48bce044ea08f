"""Deterministic rendering of input values in messages (no module of the pack imported here).

`repr()` of the SDK's property proxies prints an object address (`<..._DictProxy object at 0x...>`), so a
message about a garbled value would differ from run to run. `safe_repr` renders strings, numbers, booleans
and None exactly as `repr` does, and mappings and lists (proxies or not) item by item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_ADDRESS = re.compile(r" (?:object )?at 0x[0-9a-fA-F]+")


def safe_repr(value: Any) -> str:
    if value is None or isinstance(value, (str, int, float, bool)):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{safe_repr(k)}: {safe_repr(value[k])}" for k in value) + "}"
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return "[" + ", ".join(safe_repr(value[i]) for i in range(len(value))) + "]"
    return _ADDRESS.sub("", repr(value))  # e.g. a date keeps its repr; an object loses its address
