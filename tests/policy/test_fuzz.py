"""No policy raises on malformed input: thousands of random and garbled props, through the analyzer.

Each example is a small stack of resources (so resource AND stack policies see it) whose props are
either random JSON-like trees over Kubernetes/Rancher field names, or valid resources with random
subtrees replaced by garbage or by values unknown during preview. The pack must answer every request;
no policy may fall back to the framework's safety net ("could not evaluate the input"), which would mean
it raised on the input.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardened_rke2.analysis.testing import UNKNOWN, analyze_stack
from tests.support.fuzz import FIELD_NAMES, RESOURCE_TYPES, valid_examples
from tests.support.paths import PACK_DIR

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**31), max_value=2**31).map(float),
    st.text(max_size=20),
    st.sampled_from(
        [
            "ALL",
            "SYS_ADMIN",
            "Unconfined",
            "RuntimeDefault",
            "windows",
            "true",
            "false",
            "0",
            "*",
            "kube-system",
            "default",
            "restricted",
            "nginx:latest",
            "0.0.0.0/0",
            "[",
            "{",
            ":",
            "- policy: x\n  reason: y",
            '[{"policy": 1}]',
            UNKNOWN,
        ]
    ),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)


# A cloud-config with the CIS host preparation the machine-cis-host-prep policy looks for.


VALID = valid_examples()


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def garbled(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    rtype, base = draw(st.sampled_from(VALID))
    props = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(props) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = props
        for key in path[:-1]:
            parent = parent[key]
        replacement = draw(st.one_of(trees, st.just(UNKNOWN), st.just(None)))
        if replacement is None and isinstance(parent, dict):
            parent.pop(path[-1])
        else:
            parent[path[-1]] = replacement
    # the engine never sends None/absent as a whole property bag
    return rtype, props


@st.composite
def random_resource(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    rtype = draw(st.sampled_from(RESOURCE_TYPES))
    props = draw(st.dictionaries(keys, trees, max_size=6))
    return rtype, props


def _run(resources: list[tuple[str, dict[str, Any]]], config: dict[str, Any] | None = None) -> None:
    stack = [{"type": t, "name": f"r{i}", "props": p} for i, (t, p) in enumerate(resources)]
    result = analyze_stack(PACK_DIR, stack, config)
    crashed = [v for v in result.violations if "could not evaluate the input" in v.message]
    assert not crashed, [(v.policy_name, v.message) for v in crashed]


FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@FUZZ
@given(st.lists(random_resource(), min_size=1, max_size=5))
def test_random_props_never_crash_any_policy(resources: list[tuple[str, dict[str, Any]]]) -> None:
    _run(resources)


@FUZZ
@given(st.lists(garbled(), min_size=1, max_size=5))
def test_garbled_valid_resources_never_crash_any_policy(resources: list[tuple[str, dict[str, Any]]]) -> None:
    _run(resources)


REMEDIATE_ALL = {
    name: "remediate"
    for name in (
        "pss-allow-privilege-escalation",
        "pss-capabilities-drop-all",
        "pss-seccomp-profile-required",
        "pod-service-account-token-not-automounted",
        "read-only-root-filesystem",
    )
}


@FUZZ
@given(st.lists(garbled(), min_size=1, max_size=4))
def test_remediations_never_crash_on_garbled_input(resources: list[tuple[str, dict[str, Any]]]) -> None:
    _run(resources, REMEDIATE_ALL)
