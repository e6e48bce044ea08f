"""The engine's wire encoding as an analyzer receives it: signatures, unknowns, levels, durations, Structs.

The engine marshals properties with `KeepSecrets` and `KeepUnknowns` and sends them as protobuf Structs;
this module is the one place that knows that encoding, so packs see what `pulumi preview` would send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto

# Wire signatures (sdk/go/common/resource/properties.go); the same constants the SDKs use.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine sends a value unknown during preview (`MarshalOptions{KeepUnknowns: true}`)."""

# Enforcement levels and severities, by name and as the proto enums carry them.
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
BLOCKING_LEVELS = frozenset({"mandatory", "remediate"})
"""A violation reported at `remediate` level counts as mandatory (the SDK and the engine agree)."""

LEVEL_FROM_PROTO = {
    proto.ADVISORY: "advisory",
    proto.MANDATORY: "mandatory",
    proto.REMEDIATE: "remediate",
    proto.DISABLED: "disabled",
}
LEVEL_TO_PROTO = {v: k for k, v in LEVEL_FROM_PROTO.items()}
SEVERITY_FROM_PROTO = {
    proto.POLICY_SEVERITY_LOW: "low",
    proto.POLICY_SEVERITY_MEDIUM: "medium",
    proto.POLICY_SEVERITY_HIGH: "high",
    proto.POLICY_SEVERITY_CRITICAL: "critical",
}

_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | float | int | None) -> float:
    """A Go duration string (`90m`, `1h30m`) in seconds, as the engine turns custom timeouts into numbers."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ValueError(f"invalid duration {value!r} (expected e.g. '90m', '1h30m')")
    return total


def engine_wire(value: Any, *, skip_internal_keys: bool = True) -> Any:
    """Wire value -> what the engine marshals to an analyzer.

    Secrets keep their signature (`KeepSecrets`), unknowns stay the unknown sentinel (`KeepUnknowns`),
    resource references become the target's id (custom) or URN (component), output values become their
    value (or unknown), and `__`-prefixed internal keys are dropped for Analyze (`SkipInternalKeys`).
    """
    if isinstance(value, Mapping):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return {
                SIG_KEY: SECRET_SIG,
                "value": engine_wire(value.get("value"), skip_internal_keys=skip_internal_keys),
            }
        if sig == RESOURCE_SIG:
            ref_id = value.get("id")
            return ref_id if isinstance(ref_id, str) and ref_id != "" else value.get("urn", "")
        if sig == OUTPUT_SIG:
            if "value" not in value:
                return UNKNOWN
            inner = engine_wire(value["value"], skip_internal_keys=skip_internal_keys)
            return {SIG_KEY: SECRET_SIG, "value": inner} if value.get("secret") else inner
        return {
            str(k): engine_wire(v, skip_internal_keys=skip_internal_keys)
            for k, v in value.items()
            if not (skip_internal_keys and str(k).startswith("__"))
        }
    if isinstance(value, (list, tuple)):
        return [engine_wire(v, skip_internal_keys=skip_internal_keys) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)  # Struct numbers are doubles: policies see 1000.0
    raise TypeError(f"cannot send a value of type {type(value).__name__} to a policy pack")


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(props))
    return s


def engine_struct(target: struct_pb2.Struct, props: Mapping[str, Any], *, skip_internal_keys: bool) -> None:
    """Fill the empty `target` with `to_struct(engine_wire(props, ...))` in one pass: the same fields, values
    and map iteration order, without building the intermediate wire dict (an Analyze's largest engine-side
    cost). tests/hardened_rke2/analysis/test_wire.py compares both byte for byte."""
    if props.get(SIG_KEY) in _SIGS:  # a signature at the top level: not a resource's properties; rare
        target.update(dict(engine_wire(props, skip_internal_keys=skip_internal_keys)))
        return
    fields = target.fields
    for k, item in props.items():
        key = str(k)
        if not (skip_internal_keys and key.startswith("__")):
            _put(fields[key], item, skip_internal_keys)


_SIGS = (SECRET_SIG, RESOURCE_SIG, OUTPUT_SIG)


def _put(v: struct_pb2.Value, value: Any, skip: bool) -> None:
    """protobuf `Struct.update`'s setter (well_known_types `_SetStructValue`) on `engine_wire(value)`."""
    if isinstance(value, str):
        v.string_value = value
    elif isinstance(value, bool):
        v.bool_value = value
    elif value is None:
        v.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, Mapping):
        sig = value.get(SIG_KEY)
        if sig in _SIGS:
            _put_signed(v, value, sig, skip)
            return
        s = v.struct_value
        s.SetInParent()  # an empty mapping is still a Struct
        fields = s.fields
        for k, item in value.items():
            key = str(k)
            if not (skip and key.startswith("__")):
                _put(fields[key], item, skip)
    elif isinstance(value, (list, tuple)):
        lv = v.list_value
        lv.SetInParent()
        values = lv.values
        for item in value:
            _put(values.add(), item, skip)
    elif isinstance(value, (int, float)):
        v.number_value = float(value)
    else:
        raise TypeError(f"cannot send a value of type {type(value).__name__} to a policy pack")


def _put_signed(v: struct_pb2.Value, value: Mapping[str, Any], sig: str, skip: bool) -> None:
    if sig == SECRET_SIG or (sig == OUTPUT_SIG and "value" in value and value.get("secret")):
        fields = v.struct_value.fields
        fields[SIG_KEY].string_value = SECRET_SIG
        _put(fields["value"], value.get("value"), skip)
    elif sig == OUTPUT_SIG:
        if "value" not in value:
            v.string_value = UNKNOWN
        else:
            _put(v, value["value"], skip)
    else:  # a resource reference: its id or URN, whatever engine_wire returns, set as protobuf would
        holder = struct_pb2.Struct()
        holder.update({"v": engine_wire(value, skip_internal_keys=skip)})
        v.CopyFrom(holder.fields["v"])


def from_struct(s: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(s)


def unwrap_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value
