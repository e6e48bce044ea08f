"""`resource-properties-well-formed`: the pack answers every request (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.policy_builders import analyze, names

CM = "kubernetes:core/v1:ConfigMap"


def configmap(**extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "a"},
        "data": {},
        **extra,
    }


def nested(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cur = root
    for _ in range(levels):
        cur["a"] = {}
        cur = cur["a"]
    return root


@pytest.mark.parametrize(
    "extra",
    [{"deep": nested(200)}, {"n": float("nan")}, {"n": float("inf")}, {"l": [float("-inf")]}],
    ids=["200 levels", "nan", "inf", "-inf in a list"],
)
def test_unreadable_properties_are_a_violation_not_a_crash(extra: dict[str, Any]) -> None:
    violations = analyze(CM, configmap(**extra))
    assert names(violations) == {"resource-properties-well-formed"}
    assert violations[0].enforcement_level == "mandatory"
    assert "the pack cannot read this resource" in violations[0].message


def test_readable_properties_pass() -> None:
    assert analyze(CM, configmap(deep=nested(20), n=1.5)) == []


def test_value_problem_names_the_path_only() -> None:
    from google.protobuf import struct_pb2
    from nsa_cisa.robustness import value_problem

    s = struct_pb2.Struct()
    s.update({"spec": {"replicas": float("nan")}})
    assert value_problem(s) == "spec.replicas is nan, not a finite number"
    s = struct_pb2.Struct()
    s.update({"spec": {"x": 1}})
    assert value_problem(s) is None


def test_nesting_beyond_the_limit_is_reported_even_when_it_decodes() -> None:
    from nsa_cisa.robustness import MAX_PROPERTY_DEPTH

    violations = analyze(CM, configmap(deep=nested(MAX_PROPERTY_DEPTH + 5)))
    assert names(violations) == {"resource-properties-well-formed"}
    assert analyze(CM, configmap(deep=nested(MAX_PROPERTY_DEPTH - 5))) == []
