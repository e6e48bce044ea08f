"""A faster analyzer loop for this pack, with answers identical to pulumi-policy's own.

Why: pulumi-policy 1.21's `_PolicyAnalyzerServicer.Analyze` decodes the request and rebuilds its read-only
property proxies (`unknown_checking_proxy`), the resource options and the provider resource once PER POLICY,
for all ~120 policies, including the ~110 whose resource types exclude the request's type (they return at
once). That rebuilding was 75-88% of an Analyze. `AnalyzeStack` does the same for every resource of the
stack, once per stack policy.

What this module changes (`install()`, called from the pack's `__main__.py`, so it runs under the real CLI's
`python -m pulumi.policy` as well as in the offline engine): the servicer class's `Analyze`,
`AnalyzeStack` and `Remediate` are replaced by versions that
  * decode the request and build its proxies, options and provider ONCE per call, shared by every policy of
    that call and dropped when the call returns (nothing is memoized across requests);
  * dispatch by resource type first: a plan, built once per `Configure` state, lists per resource type the
    enabled policies that can apply to it (this pack's policies record their types, see
    `framework.build_resource_policy`), so a Namespace never touches the workload policies; skipping a
    policy whose types exclude the request is exact, because its `validate`/`remediate` would return at once
    without reporting;
  * otherwise do what the SDK does, in its order: same enforcement-level logic (disabled skipped, remediate
    reported as mandatory), same `report_violation`, same "can't run policy" and not-applicable answers.
A servicer whose policies are not all this pack's (another pack in the same process) keeps the SDK's loop.

The replacement is written against pulumi-policy `SUPPORTED_SDK_VERSION` (it reads the servicer's private
state); `install()` raises at start-up on any other version rather than guessing.
`tests/policy/test_fastpath.py` compares every answer of both loops.
"""

from __future__ import annotations

import asyncio
import gc
import re
from inspect import isawaitable
from typing import Any

import pulumi_policy.policy as sdk
from pulumi_policy import proxy as sdk_proxy
from pulumi_policy.deserialize import SPECIAL_SIG_KEY
from pulumi_policy.version import VERSION as SDK_VERSION

SUPPORTED_SDK_VERSION = "1.21.0"
TYPES_ATTR = "_nsa_cisa_types"
"""Set on each of this pack's resource policies: frozenset of resource types, or None for all types."""

FAST_ATTR = "_nsa_cisa_fast"
"""Set on each of this pack's resource policies: (merge(config) -> merged config, validate_merged(args, margs)
-> [(message, urn)] or None), the body of its `validate` after the type test, so the fast loop can merge each
policy's config once per `Configure`, skip the SDK's per-call wrapper (which only calls `validate` and
collects awaitables; this pack's checks are synchronous) and build a policy's `report_violation` only when
it reports."""
_ARGS_CONFIG = "_ResourceValidationArgs__config"
_ORIGINALS_ATTR = "_nsa_cisa_fastpath_originals"
_PLAN_ATTR = "_nsa_cisa_fastpath_plan"
_S = "_PolicyAnalyzerServicer__"  # the servicer's private attributes, name-mangled
_ALL = object()
WELL_FORMED_ATTR = "_nsa_cisa_well_formed"
"""True on the top-level proxy `_decode` built itself: every number finite and nothing nested deeper than
`MAX_DEPTH`, so `robustness.decoded_problem` would find nothing (the well-formed policy skips its walk)."""
MAX_DEPTH = 64
"""robustness.MAX_PROPERTY_DEPTH is this value; properties nested deeper are decoded the SDK's way."""


class UnsupportedSdkError(RuntimeError):
    pass


def _check_version() -> None:
    if SDK_VERSION != SUPPORTED_SDK_VERSION:
        raise UnsupportedSdkError(
            f"nsa_cisa.fastpath replaces pulumi-policy {SUPPORTED_SDK_VERSION}'s analyzer loop, but "
            f"pulumi-policy {SDK_VERSION} is installed: pin pulumi-policy=={SUPPORTED_SDK_VERSION} "
            "(requirements.txt) or port nsa_cisa/fastpath.py to the new SDK"
        )


class _Plan:
    """The enabled resource policies with their effective levels, per resource type (built lazily)."""

    def __init__(self, servicer: Any) -> None:
        self.levels = getattr(servicer, _S + "policy_pack_config_enforcement_level")
        self.config = getattr(servicer, _S + "policy_pack_config")
        resource: list[tuple[Any, Any, Any]] = []  # (policy, reported level, types)
        remediate: list[tuple[Any, Any]] = []  # (policy, types) at the remediate level
        stack: list[tuple[Any, Any]] = []
        for policy in getattr(servicer, _S + "policies"):
            level = servicer._get_enforcement_level(policy)
            if isinstance(policy, sdk.ResourceValidationPolicy):
                types = getattr(policy, TYPES_ATTR, _ALL)
                if level == sdk.EnforcementLevel.REMEDIATE:
                    remediate.append((policy, types))
                if level == sdk.EnforcementLevel.DISABLED:
                    continue
                if not policy.has_validation():
                    types = _ALL  # reported as not applicable for every type, as the SDK does
                reported = (
                    sdk.EnforcementLevel.MANDATORY if level == sdk.EnforcementLevel.REMEDIATE else level
                )
                resource.append((policy, reported, types))
            elif isinstance(policy, sdk.StackValidationPolicy) and level != sdk.EnforcementLevel.DISABLED:
                stack.append(
                    (
                        policy,
                        sdk.EnforcementLevel.MANDATORY if level == sdk.EnforcementLevel.REMEDIATE else level,
                    )
                )
        self._resource = resource
        self._remediate = remediate
        self.stack = stack
        self._by_type: dict[str, list[tuple[Any, Any, Any, Any]]] = {}
        self._servicer_config = {p.name: servicer._get_policy_config(p.name) for p, _, _ in resource}
        self._remediate_by_type: dict[str, list[tuple[Any, Any]]] = {}

    def current(self, servicer: Any) -> bool:
        return (
            getattr(servicer, _S + "policy_pack_config_enforcement_level") is self.levels
            and getattr(servicer, _S + "policy_pack_config") is self.config
        )

    def for_type(self, resource_type: str) -> list[tuple[Any, Any, Any, Any]]:
        """(policy, reported level, validate_merged or None, merged config) for the type, in pack order."""
        found = self._by_type.get(resource_type)
        if found is None:
            found = []
            for p, lvl, types in self._resource:
                if types is _ALL or types is None or resource_type in types:
                    fast = getattr(p, FAST_ATTR, None)
                    if fast is not None and p.has_validation():
                        found.append((p, lvl, fast[1], fast[0](self._servicer_config[p.name])))
                    else:
                        found.append((p, lvl, None, None))
            self._by_type[resource_type] = found
        return found

    def remediations_for(self, resource_type: str) -> list[tuple[Any, bool]]:
        """(policy, has_remediation) at the remediate level that can apply to `resource_type`."""
        found = self._remediate_by_type.get(resource_type)
        if found is None:
            found = []
            for p, types in self._remediate:
                has = p.has_remediation()
                if not has or types is _ALL or types is None or resource_type in types:
                    found.append((p, has))
            self._remediate_by_type[resource_type] = found
        return found


def _eligible(servicer: Any) -> bool:
    flag = getattr(servicer, "_nsa_cisa_fastpath_ok", None)
    if flag is None:
        flag = all(
            isinstance(p, sdk.StackValidationPolicy) or hasattr(p, TYPES_ATTR)
            for p in getattr(servicer, _S + "policies")
        )
        servicer._nsa_cisa_fastpath_ok = flag
    return bool(flag)


def _plan(servicer: Any) -> _Plan:
    plan: _Plan | None = getattr(servicer, _PLAN_ATTR, None)
    if plan is None or not plan.current(servicer):
        plan = _Plan(servicer)
        setattr(servicer, _PLAN_ATTR, plan)
    return plan


def _run(result: Any) -> Any:
    if isawaitable(result):  # as the SDK does for async policies
        loop = asyncio.new_event_loop()
        task: Any = asyncio.Task(result, loop=loop)  # type: ignore[arg-type]
        value = loop.run_until_complete(task)
        loop.close()
        return value
    return result


def _cant_run(servicer: Any, policy: Any, e: Any, what: str = "policy") -> str:
    name = getattr(servicer, _S + "policy_pack_name")
    version = getattr(servicer, _S + "policy_pack_version")
    return (
        f"can't run {what} '{policy.name}' from policy pack '{name}@v{version}' during preview: {e.message}"
    )


def _unknown_diagnostic(servicer: Any, policy: Any, e: Any) -> Any:
    return sdk.proto.AnalyzeDiagnostic(
        policyName=policy.name,
        policyPackName=getattr(servicer, _S + "policy_pack_name"),
        policyPackVersion=getattr(servicer, _S + "policy_pack_version"),
        message=_cant_run(servicer, policy, e),
        urn="",
        description=policy.description,
        enforcementLevel=servicer._map_enforcement_level(sdk.EnforcementLevel.ADVISORY),
    )


_UNKNOWNS = frozenset(
    {
        sdk_proxy.UNKNOWN_BOOLEAN_VALUE,
        sdk_proxy.UNKNOWN_NUMBER_VALUE,
        sdk_proxy.UNKNOWN_STRING_VALUE,
        sdk_proxy.UNKNOWN_ARRAY_VALUE,
        sdk_proxy.UNKNOWN_ASSET_VALUE,
        sdk_proxy.UNKNOWN_ARCHIVE_VALUE,
        sdk_proxy.UNKNOWN_OBJECT_VALUE,
    }
)
_UnknownValueError = sdk_proxy.UnknownValueError


class _DictProxy(sdk_proxy._DictProxy):
    """The SDK's `_DictProxy` (same name, module, class and behaviour: a subclass) with its reads written
    out instead of going through `Mapping`'s generic `get`/`__contains__` (a `try: self[key]` each), which
    the policies call thousands of times per request. Like the SDK's: `"__target"` reads the target, and
    reading a value unknown during preview (also through `in`) raises `UnknownValueError` with its path."""

    def __getitem__(self, key: Any) -> Any:
        if key == "__target":
            return self._DictProxy__target  # type: ignore[attr-defined]
        value = self._DictProxy__target[key]  # type: ignore[attr-defined]
        if isinstance(value, str) and value in _UNKNOWNS:
            raise _UnknownValueError(value, [*self._DictProxy__props_acc, str(key)])  # type: ignore[attr-defined]
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        if key == "__target":
            return self._DictProxy__target  # type: ignore[attr-defined]
        target = self._DictProxy__target  # type: ignore[attr-defined]
        if key not in target:
            return default
        value = target[key]
        if isinstance(value, str) and value in _UNKNOWNS:
            raise _UnknownValueError(value, [*self._DictProxy__props_acc, str(key)])  # type: ignore[attr-defined]
        return value

    def __contains__(self, key: Any) -> bool:
        if key == "__target":
            return True
        target = self._DictProxy__target  # type: ignore[attr-defined]
        if key not in target:
            return False
        value = target[key]
        if isinstance(value, str) and value in _UNKNOWNS:
            raise _UnknownValueError(value, [*self._DictProxy__props_acc, str(key)])  # type: ignore[attr-defined]
        return True


class _ListProxy(sdk_proxy._ListProxy):
    """The SDK's `_ListProxy` (a subclass, same name and module) with `__getitem__` and `__iter__` written
    out; `Sequence.__iter__` calls `self[i]` until an IndexError."""

    def __getitem__(self, key: Any) -> Any:
        if key == "__target":
            return self._ListProxy__target  # type: ignore[attr-defined]
        value = self._ListProxy__target[key]  # type: ignore[attr-defined]
        if isinstance(value, str) and value in _UNKNOWNS:
            raise _UnknownValueError(value, [*self._ListProxy__props_acc, str(key)])  # type: ignore[attr-defined]
        return value

    def __iter__(self) -> Any:
        target = self._ListProxy__target  # type: ignore[attr-defined]
        i = 0
        while i < len(target):
            value = target[i]
            if isinstance(value, str) and value in _UNKNOWNS:
                raise _UnknownValueError(value, [*self._ListProxy__props_acc, str(i)])  # type: ignore[attr-defined]
            yield value
            i += 1


class _WellFormedDictProxy(_DictProxy):
    """The top-level proxy of properties `_decode` decoded itself (it carries WELL_FORMED_ATTR)."""


setattr(_WellFormedDictProxy, WELL_FORMED_ATTR, True)


FAST_MAPPING_TYPES: tuple[type, ...] = (_DictProxy, _WellFormedDictProxy)
FAST_SEQUENCE_TYPES: tuple[type, ...] = (_ListProxy,)

for _cls in (_DictProxy, _ListProxy, _WellFormedDictProxy):  # reprs and error messages name the SDK's classes
    _cls.__module__ = sdk_proxy.__name__
    _cls.__name__ = _cls.__qualname__ = _cls.__bases__[0].__name__


class _Fallback(Exception):
    """The request holds something only the SDK's own decoding handles (assets, archives, secrets'
    signatures, NaN/Infinity): decode it the SDK's way."""


_UNLIMITED = 1 << 30


def _value(v: Any, path: list[str], deep: int = _UNLIMITED) -> Any:
    """One Struct value; `deep` counts the container levels still allowed (from the top-level's MAX_DEPTH)."""
    which = v.WhichOneof("kind")
    if which == "string_value":
        return v.string_value
    if which == "struct_value":
        return _struct(v.struct_value, path, deep)
    if which == "number_value":
        x = v.number_value
        if x - x != 0:  # Infinity or NaN (x - x is NaN); any finite x gives 0.0
            raise _Fallback
        return x
    if which == "bool_value":
        return v.bool_value
    if which == "list_value":
        return _list(v.list_value, path, deep)
    return None


def _fields(fields: Any, path: list[str], deep: int) -> dict[str, Any]:
    # `_value` written out for the scalars (most values): no call and no path list for each of them.
    out: dict[str, Any] = {}
    for key, v in fields.items():
        which = v.WhichOneof("kind")
        if which == "string_value":
            out[key] = v.string_value
        elif which == "struct_value":
            out[key] = _struct(v.struct_value, [*path, key], deep)
        elif which == "number_value":
            x = v.number_value
            if x - x != 0:
                raise _Fallback
            out[key] = x
        elif which == "bool_value":
            out[key] = v.bool_value
        elif which == "list_value":
            out[key] = _list(v.list_value, [*path, key], deep)
        else:
            out[key] = None
    return out


def _list(lv: Any, path: list[str], deep: int) -> Any:
    if deep <= 0:
        raise _Fallback
    deep -= 1
    return _ListProxy([_value(e, [*path, str(i)], deep) for i, e in enumerate(lv.values)], path)


def _struct(s: Any, path: list[str], deep: int = _UNLIMITED) -> Any:
    if deep <= 0:
        raise _Fallback
    fields = s.fields
    if SPECIAL_SIG_KEY in fields:
        raise _Fallback
    return _DictProxy(_fields(fields, path, deep - 1), path)


_PENDING = object()
_SIG_BYTES = SPECIAL_SIG_KEY.encode()
# The last two little-endian bytes of an IEEE double whose exponent is all ones (Infinity, NaN). Any match
# (or a false one in other bytes) only sends the resource through the eager decoder, which checks exactly.
_NON_FINITE = re.compile(rb"[\xf0-\xff][\x7f\xff]")


class _LazyTarget(dict):
    """The target dict of a resource's top-level proxy whose values are decoded on first read.

    AnalyzeStack hands every policy every resource, but stack policies read a few top-level fields of most
    of them; decoding only what is read keeps the answer and saves most of the work. Every read path of a
    dict goes through `__getitem__` (`__iter__` is overridden too, so CPython's dict-merge shortcut that
    reads raw values is not taken); anything else materializes the whole dict first.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Any) -> None:
        super().__init__(dict.fromkeys(fields, _PENDING))
        self._fields = fields

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if value is _PENDING:
            value = _value(self._fields[key], [key])
            dict.__setitem__(self, key, value)
        return value

    def _materialize(self) -> None:
        for key in dict.keys(self):
            self[key]

    def __iter__(self) -> Any:
        return dict.__iter__(self)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if dict.__contains__(self, key) else default

    def items(self) -> Any:
        self._materialize()
        return dict.items(self)

    def values(self) -> Any:
        self._materialize()
        return dict.values(self)

    def copy(self) -> dict[Any, Any]:
        self._materialize()
        return dict(dict.items(self))

    def __eq__(self, other: Any) -> bool:
        self._materialize()
        return dict.__eq__(self, other)

    __hash__ = None

    def __repr__(self) -> str:
        self._materialize()
        return dict.__repr__(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        self._materialize()
        return (dict, (dict(dict.items(self)),))

    def pop(self, *args: Any) -> Any:
        self._materialize()
        return dict.pop(self, *args)

    def popitem(self) -> Any:
        self._materialize()
        return dict.popitem(self)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._materialize()
        return dict.setdefault(self, key, default)


def _decode_lazy(props: Any) -> Any:
    """`_decode` for AnalyzeStack: the top-level values are decoded when first read. Resources with anything
    the SDK decodes specially go through `_decode`, so a request the SDK would reject still fails at once."""
    data = props.SerializeToString()
    if _SIG_BYTES in data or _NON_FINITE.search(data):
        return _decode(props)
    return _DictProxy(_LazyTarget(props.fields), [])


def _decode(props: Any, keep_secrets: bool = False) -> Any:
    """What the SDK builds per policy (`unknown_checking_proxy(deserialize_properties(MessageToDict(...)))`),
    built once and in one pass: protobuf's JSON mapping of a Struct (null -> None, numbers -> float,
    strings, bools, lists, nested Structs, in map order) and the SDK's proxies with the same paths. Anything
    the SDK decodes specially (signature keys, NaN/Infinity), and properties nested deeper than MAX_DEPTH,
    go through the SDK's own functions."""
    if not keep_secrets:
        try:
            fields = props.fields
            if SPECIAL_SIG_KEY not in fields:
                return _WellFormedDictProxy(_fields(fields, [], MAX_DEPTH - 1), [])
        except _Fallback:
            pass
    decoded = sdk.json_format.MessageToDict(props)
    return sdk.unknown_checking_proxy(
        sdk.deserialize_properties(decoded, True) if keep_secrets else sdk.deserialize_properties(decoded)
    )


def fast_analyze(self: Any, request: Any, _context: Any) -> Any:
    if not _eligible(self):
        return _originals()["Analyze"](self, request, _context)
    self._configure_runtime_settings()
    response = sdk.proto.AnalyzeResponse()
    applicable = _plan(self).for_type(request.type)
    if not applicable:
        return response
    props = _decode(request.properties)
    opts = self._get_resource_options(request)
    provider = self._get_provider_resource(request)
    stack_tags = getattr(self, _S + "stack_tags")
    rtype, urn, name = request.type, request.urn, request.name
    # One args object for the call; only its config differs between this pack's policies (set below).
    margs = sdk.ResourceValidationArgs(rtype, props, urn, name, opts, provider, None, stack_tags)
    for policy, level, validate_merged, merged_config in applicable:
        if validate_merged is not None:
            setattr(margs, _ARGS_CONFIG, merged_config)  # policies only read their config: shared
            try:
                found = validate_merged(margs, margs)
            except sdk.UnknownValueError as e:
                response.diagnostics.append(_unknown_diagnostic(self, policy, e))
                continue
            except sdk._NotApplicableError as e:
                response.not_applicable.append(
                    sdk.proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
                )
                continue
            if found:
                report_violation = self._create_report_violation(
                    response, policy.name, policy.description, level, policy.severity
                )
                for message, violation_urn in found:
                    report_violation(message, violation_urn)
            continue
        if validate_merged is None and not policy.has_validation():
            response.not_applicable.append(
                sdk.proto.PolicyNotApplicable(
                    policy_name=policy.name, reason="Policy does not implement validate"
                )
            )
            continue
        report_violation = self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        try:
            args = sdk.ResourceValidationArgs(
                rtype, props, urn, name, opts, provider, self._get_policy_config(policy.name), stack_tags
            )
            _run(policy.validate(args, report_violation))
        except sdk.UnknownValueError as e:
            response.diagnostics.append(_unknown_diagnostic(self, policy, e))
        except sdk._NotApplicableError as e:
            response.not_applicable.append(
                sdk.proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
            )
    return response


def _stack_resources(self: Any, request: Any) -> list[Any]:
    """The SDK's PolicyResource graph for an AnalyzeStack request (its own construction, done once)."""
    intermediates = []
    for r in request.resources:
        resource = sdk.PolicyResource(
            r.type,
            _decode_lazy(r.properties),
            r.urn,
            r.name,
            self._get_resource_options(r),
            self._get_provider_resource(r),
            None,
            [],
            {},
        )
        property_dependencies = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
        intermediates.append((resource, r.parent, list(r.dependencies), property_dependencies))
    by_urn = {i[0].urn: i[0] for i in intermediates}
    for resource, parent, dependencies, property_dependencies in intermediates:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        for d in dependencies:
            if d in by_urn:
                resource.dependencies.append(by_urn[d])
        for k, v in property_dependencies.items():
            resource.property_dependencies[k] = [by_urn[d] for d in v if d in by_urn]
    return [i[0] for i in intermediates]


def fast_analyze_stack(self: Any, request: Any, _context: Any) -> Any:
    if not _eligible(self):
        return _originals()["AnalyzeStack"](self, request, _context)
    self._configure_runtime_settings()
    response = sdk.proto.AnalyzeResponse()
    policies = _plan(self).stack
    if not policies:
        return response
    # The stack's resources are thousands of acyclic objects that all live until the call returns: a
    # collection while they are built finds nothing to free but walks the whole heap (often more than the
    # decoding itself). Collect as usual again afterwards.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        resources = _stack_resources(self, request)
    finally:
        if gc_was_enabled:
            gc.enable()
    stack_tags = getattr(self, _S + "stack_tags")
    for policy, level in policies:
        report_violation = self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        # Each policy gets its own list (as with the SDK), over the shared, read-only resources.
        args = sdk.StackValidationArgs(list(resources), self._get_policy_config(policy.name), stack_tags)
        try:
            _run(policy.validate(args, report_violation))
        except sdk.UnknownValueError as e:
            response.diagnostics.append(_unknown_diagnostic(self, policy, e))
        except sdk._NotApplicableError as e:
            response.not_applicable.append(
                sdk.proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
            )
    return response


def fast_remediate(self: Any, request: Any, _context: Any) -> Any:
    if not _eligible(self):
        return _originals()["Remediate"](self, request, _context)
    self._configure_runtime_settings()
    response = sdk.proto.RemediateResponse()
    candidates = _plan(self).remediations_for(request.type)
    if not candidates:
        return response
    props = _decode(request.properties, keep_secrets=True)
    opts = self._get_resource_options(request)
    provider = self._get_provider_resource(request)
    stack_tags = getattr(self, _S + "stack_tags")
    for policy, has_remediation in candidates:
        if not has_remediation:
            response.not_applicable.append(
                sdk.proto.PolicyNotApplicable(
                    policy_name=policy.name, reason="Policy does not implement remediate"
                )
            )
            continue
        args = sdk.ResourceValidationArgs(
            request.type,
            props,
            request.urn,
            request.name,
            opts,
            provider,
            self._get_policy_config(policy.name),
            stack_tags,
        )
        rpc_props = None
        diagnostic = None
        try:
            new_props = _run(policy.remediate(args))
            if new_props:
                props = new_props
                rpc_props = sdk.struct_pb2.Struct()
                for k, v in sdk.serialize_properties(new_props).items():
                    rpc_props[k] = v
        except sdk.UnknownValueError as e:
            diagnostic = _cant_run(self, policy, e, "remediation")
        except sdk._NotApplicableError as e:
            response.not_applicable.append(
                sdk.proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
            )
        if rpc_props or diagnostic:
            response.remediations.append(
                sdk.proto.Remediation(
                    policyName=policy.name,
                    policyPackName=getattr(self, _S + "policy_pack_name"),
                    policyPackVersion=getattr(self, _S + "policy_pack_version"),
                    description=policy.description,
                    properties=rpc_props,
                    diagnostic=diagnostic or "",
                )
            )
    return response


_FAST = {"Analyze": fast_analyze, "AnalyzeStack": fast_analyze_stack, "Remediate": fast_remediate}


def servicer_class() -> Any:
    """The SDK's servicer class, found by its base: `sdk._PolicyAnalyzerServicer` may be temporarily stood in
    for while a pack loads (the offline engine intercepts the servicer that way)."""
    for cls in sdk.proto.AnalyzerServicer.__subclasses__():
        if cls.__module__ == sdk.__name__ and cls.__name__ == "_PolicyAnalyzerServicer":
            return cls
    raise UnsupportedSdkError("pulumi_policy.policy has no _PolicyAnalyzerServicer")


def _originals() -> dict[str, Any]:
    # Kept on the SDK class: the pack may be imported more than once in one process (the offline engine
    # isolates pack imports), and every copy must see the one true set of originals.
    cls = servicer_class()
    found = cls.__dict__.get(_ORIGINALS_ATTR)
    if found is None:
        found = {}
        setattr(cls, _ORIGINALS_ATTR, found)
    return found


def install() -> None:
    """Replace the servicer's Analyze/AnalyzeStack/Remediate; raises on an unsupported SDK version."""
    _check_version()
    originals = _originals()
    if originals:
        return
    from nsa_cisa import robustness  # late: robustness declares policies, and declare imports this module

    cls = servicer_class()
    for name, fast in _FAST.items():
        originals[name] = cls.__dict__[name]
        # the same request guard as the SDK's loop: a malformed request is a violation, never a crash
        setattr(cls, name, robustness.GUARDS[name](fast))


def uninstall() -> None:
    """Restore the SDK's own loop (tests and the benchmark compare both)."""
    cls = servicer_class()
    originals = _originals()
    for name, original in originals.items():
        setattr(cls, name, original)
    originals.clear()


def installed() -> bool:
    return bool(_originals())
