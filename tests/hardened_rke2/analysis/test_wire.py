"""The engine's wire form as a pack receives it: references resolved, secrets and unknowns kept, durations."""

from __future__ import annotations

import pytest

from hardened_rke2.analysis.wire import (
    RESOURCE_SIG,
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN,
    engine_wire,
    parse_duration,
)


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
