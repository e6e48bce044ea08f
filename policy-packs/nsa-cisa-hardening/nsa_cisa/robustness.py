"""The pack answers every request: a resource it cannot read is a violation, never a crash.

pulumi-policy 1.21 turns a request's properties into Python values with protobuf's recursive
`MessageToDict`, which raises on a NaN or ±Infinity number and overflows the stack on properties nested
about 200 levels deep; the exception fails the whole `pulumi preview` (the engine sees an error status).
`install()` guards the SDK's analyzer: when `Analyze`, `Remediate` or `AnalyzeStack` raises and the
request holds such a value, the pack answers instead — `resource-properties-well-formed` is reported for
that resource (Remediate changes nothing) and AnalyzeStack judges the stack's other resources. A
request that raises for any other reason still raises (a policy bug must stay visible).

The well-formedness check walks protobuf messages without recursion, so it cannot overflow itself; it only
runs after a failure, so well-formed requests cost nothing extra.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pulumi_policy.policy as sdk_policy
from pulumi.runtime import proto

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.fastpath import MAX_DEPTH, WELL_FORMED_ATTR
from nsa_cisa.framework import ReportFn

MAX_PROPERTY_DEPTH = MAX_DEPTH
"""Nesting (mappings and lists) beyond which properties are reported as unreadable."""
WELL_FORMED = "resource-properties-well-formed"
_GUARD_ATTR = "_nsa_cisa_request_guard"
_MAX_PATH = 200

GROUP = PolicyGroup(__name__, section="governance", resource_types=None, adapt=None)


@GROUP.policy(
    name=WELL_FORMED,
    description="Resource properties can be read by the pack: finite numbers, nested at most "
    f"{MAX_PROPERTY_DEPTH} levels deep.",
    severity="high",
    nsa=("NSA-1.8",),
    remediation_steps="Remove NaN/Infinity numbers (Kubernetes and Rancher accept none) and flatten the "
    f"properties to at most {MAX_PROPERTY_DEPTH} levels; such a resource cannot be checked against any "
    "other policy.",
    honor_exempt_namespaces=False,
    exemptible=False,
)
def _well_formed(args: Any, report: ReportFn) -> None:
    # Properties the SDK could not decode never get here: the request guard below answers for them. This
    # catches the rest (e.g. 70 levels that happened to fit the stack), so the verdict never depends on
    # where the decoding ran out of room.
    if getattr(args.props, WELL_FORMED_ATTR, False):
        return  # the fast loop's decoder checked it while decoding (finite numbers, at most MAX_DEPTH deep)
    problem = decoded_problem(args.props)
    if problem is not None:
        report(f"the pack cannot read this resource: {problem}")


_PROXY_TYPES = ("_DictProxy", "_ListProxy")


def _raw(value: Any) -> Any:
    # The SDK's unknown-checking proxies hand out their target under this key; unknowns are not judged.
    return value["__target"] if type(value).__name__ in _PROXY_TYPES else value


def decoded_problem(props: Any, max_depth: int = MAX_PROPERTY_DEPTH) -> str | None:
    """`value_problem` for decoded properties (plain values or the SDK's proxies), without recursion."""
    stack: list[tuple[Any, int, str]] = [(props, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        raw = _raw(node)
        items = raw.items() if isinstance(raw, Mapping) else enumerate(raw)
        for key, item in items:
            where = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
            if isinstance(item, float) and not math.isfinite(item):
                return f"{_short(where)} is {item}, not a finite number"
            inner = _raw(item)
            if isinstance(inner, Mapping | list | tuple):
                if depth >= max_depth:
                    return f"{_short(where)} nests more than {max_depth} levels deep"
                stack.append((inner, depth + 1, where))
    return None


def value_problem(value: Any, max_depth: int = MAX_PROPERTY_DEPTH) -> str | None:
    """Why a protobuf `Struct` / `ListValue` cannot be decoded safely (a path, never the value), or None."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        msg, depth, path = stack.pop()
        fields = getattr(msg, "fields", None)
        items = fields.items() if fields is not None else enumerate(msg.values)
        for key, item in items:
            where = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
            kind = item.WhichOneof("kind")
            if kind == "number_value" and not math.isfinite(item.number_value):
                return f"{_short(where)} is {item.number_value}, not a finite number"
            if kind in ("struct_value", "list_value"):
                if depth >= max_depth:
                    return f"{_short(where)} nests more than {max_depth} levels deep"
                stack.append((getattr(item, kind), depth + 1, where))
    return None


def _short(path: str) -> str:
    path = path.lstrip(".") or "properties"
    return path if len(path) <= _MAX_PATH else path[:_MAX_PATH] + "…"


def _request_problem(request: Any) -> str | None:
    problem = value_problem(request.properties)
    if problem is None and request.HasField("provider"):
        inner = value_problem(request.provider.properties)
        problem = f"its provider's properties: {inner}" if inner else None
    return problem


def _well_formed_policy(servicer: Any) -> Any:
    policies = getattr(servicer, "_PolicyAnalyzerServicer__policies", None) or ()
    return next((p for p in policies if getattr(p, "name", None) == WELL_FORMED), None)


def _report(servicer: Any, response: Any, urn: str, problem: str) -> bool:
    policy = _well_formed_policy(servicer)
    if policy is None:
        return False
    level = servicer._get_enforcement_level(policy)
    if level != sdk_policy.EnforcementLevel.DISABLED:
        report = servicer._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        report(f"the pack cannot read this resource: {problem}", urn)
    return True


def _with_headroom(call: Callable[[], Any]) -> Any:
    """Run `call` with room for properties up to MAX_PROPERTY_DEPTH deep: the SDK's decoding takes about a
    dozen frames per level, so a well-formed request near the limit can exceed Python's default 1,000
    (e.g. in a gRPC worker thread). Raised for this call only; Python frames do not use the C stack."""
    import sys

    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, before + 20 * MAX_PROPERTY_DEPTH))
    try:
        return call()
    finally:
        sys.setrecursionlimit(before)


def _guard_analyze(original: Callable[..., Any]) -> Callable[..., Any]:
    def Analyze(self: Any, request: Any, context: Any) -> Any:
        try:
            return original(self, request, context)
        except (RecursionError, ValueError, OverflowError) as exc:
            problem = _request_problem(request)
            if problem is None and isinstance(exc, RecursionError):
                return _with_headroom(lambda: original(self, request, context))
            response = proto.AnalyzeResponse()
            if problem is None or not _report(self, response, request.urn, problem):
                raise
            return response

    return Analyze


def _guard_remediate(original: Callable[..., Any]) -> Callable[..., Any]:
    def Remediate(self: Any, request: Any, context: Any) -> Any:
        try:
            return original(self, request, context)
        except (RecursionError, ValueError, OverflowError) as exc:
            problem = _request_problem(request)
            if problem is None and isinstance(exc, RecursionError):
                return _with_headroom(lambda: original(self, request, context))
            if problem is None or _well_formed_policy(self) is None:
                raise
            return proto.RemediateResponse()  # nothing is changed; Analyze reports the resource

    return Remediate


def _guard_analyze_stack(original: Callable[..., Any]) -> Callable[..., Any]:
    def AnalyzeStack(self: Any, request: Any, context: Any) -> Any:
        try:
            return original(self, request, context)
        except (RecursionError, ValueError, OverflowError) as exc:
            bad = {i: p for i, r in enumerate(request.resources) if (p := _request_problem(r)) is not None}
            if not bad and isinstance(exc, RecursionError):
                return _with_headroom(lambda: original(self, request, context))
            if not bad or _well_formed_policy(self) is None:
                raise
            readable = type(request)()
            readable.CopyFrom(request)
            del readable.resources[:]
            readable.resources.extend(r for i, r in enumerate(request.resources) if i not in bad)
            # The unreadable resources were reported by their own Analyze; the rest is judged as usual.
            return _with_headroom(lambda: original(self, readable, context))

    return AnalyzeStack


GUARDS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "Analyze": _guard_analyze,
    "Remediate": _guard_remediate,
    "AnalyzeStack": _guard_analyze_stack,
}
"""How each servicer method is guarded; the fast analyzer loop (fastpath.py) wraps its own methods too."""


def install() -> bool:
    """Guard the SDK's analyzer servicer (idempotent); returns whether the guard is active."""
    cls = getattr(sdk_policy, "_PolicyAnalyzerServicer", None)
    cls = getattr(cls, "__wrapped__", cls)  # the offline engine wraps it while loading a pack
    if not isinstance(cls, type):
        return False
    if getattr(cls, _GUARD_ATTR, False):
        return True
    for name, guard in GUARDS.items():
        original = getattr(cls, name, None)
        if original is None:
            return False
        setattr(cls, name, guard(original))
    setattr(cls, _GUARD_ATTR, True)
    return True


install()  # importing the pack guards the servicer it is about to create (under the engine and offline)
