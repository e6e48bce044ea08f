"""The engine's wire form as a pack receives it: references resolved, secrets and unknowns kept, durations."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2

from hardened_rke2.analysis.wire import (
    OUTPUT_SIG,
    RESOURCE_SIG,
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN,
    engine_struct,
    engine_wire,
    parse_duration,
    to_struct,
)
from tests.support.fuzz import valid_examples


def test_engine_wire_resolves_references_keeps_secrets_and_unknowns() -> None:
    wire = {
        "ref": {SIG_KEY: RESOURCE_SIG, "urn": "urn:x", "id": "id-1"},
        "component": {SIG_KEY: RESOURCE_SIG, "urn": "urn:comp"},
        "secret": {SIG_KEY: SECRET_SIG, "value": 3},
        "unknown": UNKNOWN,
        "__internal": 1,
        "n": 1,
    }
    out = engine_wire(wire)
    assert out == {
        "ref": "id-1",
        "component": "urn:comp",
        "secret": {SIG_KEY: SECRET_SIG, "value": 3.0},
        "unknown": UNKNOWN,
        "n": 1.0,
    }
    assert "__internal" in engine_wire(wire, skip_internal_keys=False)


def test_parse_duration() -> None:
    assert parse_duration("90m") == 5400.0
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("") == 0.0
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("ten minutes")


SIGNED = {
    "ref": {SIG_KEY: RESOURCE_SIG, "urn": "urn:x", "id": "id-1"},
    "component": {SIG_KEY: RESOURCE_SIG, "urn": "urn:comp", "id": ""},
    "odd-ref": {SIG_KEY: RESOURCE_SIG, "urn": {"__k": [1, {}]}},
    "secret": {SIG_KEY: SECRET_SIG, "value": {"b": 3, "a": [True, None, {"__x": 1}]}},
    "out-unknown": {SIG_KEY: OUTPUT_SIG, "dependencies": ["urn:y"]},
    "out-secret": {SIG_KEY: OUTPUT_SIG, "value": {"k": (1, 2)}, "secret": True},
    "out-plain": {SIG_KEY: OUTPUT_SIG, "value": [{SIG_KEY: SECRET_SIG, "value": "s"}], "secret": False},
    "__internal": {"x": 1},
    "nested": {"__skip": 1, "keep": {"empty": {}, "list": [], "tuple": (), "z": 0, "y": -1.5, "x": "s"}},
    "unknown": UNKNOWN,
    "n": 7,
    "b": False,
    "none": None,
}


def _order(value: struct_pb2.Value | struct_pb2.Struct) -> Any:
    """Keys in the map's own iteration order (the order a pack decodes and its policies iterate)."""
    if isinstance(value, struct_pb2.Struct):
        return [(k, _order(v)) for k, v in value.fields.items()]
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return _order(value.struct_value)
    if kind == "list_value":
        return [_order(v) for v in value.list_value.values]
    return kind


@pytest.mark.parametrize("skip", [True, False])
def test_engine_struct_encodes_exactly_like_to_struct_of_engine_wire(skip: bool) -> None:
    from benchmarks.bench_policy_pack import build_stack  # the repository root is on pytest's pythonpath

    cases = [SIGNED, {}, {SIG_KEY: SECRET_SIG, "value": {"a": 1}}]
    cases += [props for _, props in valid_examples()]
    cases += [spec["props"] for spec in build_stack(200)]
    for props in cases:
        expected = to_struct(engine_wire(props, skip_internal_keys=skip))
        ours = struct_pb2.Struct()
        engine_struct(ours, props, skip_internal_keys=skip)
        assert ours.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
        assert _order(ours) == _order(expected)


def test_engine_struct_refuses_what_engine_wire_refuses() -> None:
    with pytest.raises(TypeError, match="cannot send a value of type object to a policy pack"):
        engine_struct(struct_pb2.Struct(), {"a": [object()]}, skip_internal_keys=True)
