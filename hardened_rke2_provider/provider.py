"""The component provider: `Construct` validates like the Python API, then builds the Python component.

Inputs arrive from any language as wire values. The args-model part is turned back into plain values and
validated by the same pydantic model (the same `Problem`s, rendered `path: message (fix: …)`); a bad
argument becomes an `InputPropertiesError` (the engine shows each problem under its property), never a
traceback, and nothing is registered. Outputs marked secret in the schema are secret Outputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import sys
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pulumi
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.output import Unknown
from pulumi.provider import ConstructResult, Provider
from pulumi.provider.server import ProviderServicer
from pulumi.resource import DependencyResource
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc
from pydantic import BaseModel, SecretStr, ValidationError

from components.problems import ConfigProblems, Problem, format_path
from components.validation_errors import validation_problems
from hardened_rke2_provider.model_schema import package_version
from hardened_rke2_provider.schema import build_schema, render
from hardened_rke2_provider.served import BY_TOKEN, Served


class HardenedRke2Provider(Provider):
    """Serves every component in `served.SERVED`; its schema is `schema.build_schema()`."""

    def __init__(self) -> None:
        super().__init__(package_version(), render(build_schema()))

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: Mapping[str, Any],
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        spec = BY_TOKEN.get(resource_type)
        if spec is None:
            # with an (empty) error list: without one the SDK's gRPC status lacks its trailing metadata
            raise InputPropertiesError(
                f"unknown component type {resource_type!r}; served: {sorted(BY_TOKEN)}", []
            )
        args, extras = validated(spec, inputs)
        try:
            component = spec.build(name, args, extras, options)
        except ConfigProblems as exc:  # checks that need the constructor (secrets, providers)
            raise problems_error(spec, list(exc.items)) from None
        state = {k: v for k, v in spec.state(component, args).items() if v is not None}
        return ConstructResult(component.urn, state)


def validated(spec: Served, inputs: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(the validated args model, the extra inputs), or `InputPropertiesError` with every problem."""
    extra_names = {p.name for p in spec.extra_inputs}
    extras: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for key, value in inputs.items():
        if isinstance(value, WireValue) and value.secret and key not in extra_names:
            _warn_if_not_secret_setting(spec, key)
        if isinstance(value, WireValue):  # from the engine: args are plain; extras keep deps and secrecy
            value = (
                _as_outputs(value.value, set(value.deps), value.secret) if key in extra_names else value.value
            )
        if value is None:
            continue
        (extras if key in extra_names else raw)[key] = value
    problems = [
        Problem(
            (key, *path),
            "must be known when the program runs (it is another resource's output that is not known yet)",
            "pass a literal or a stack config value",
        )
        for key, value in raw.items()
        for path in _unknown_paths(value)
    ]
    args = None
    if not problems:
        model = spec.args_model
        try:
            args = model.model_validate(raw)
        except ValidationError as exc:
            if spec.hints == "team":  # as parse_team_args reports it
                problems += validation_problems(exc, hints="team")
            else:
                problems += [_with_extras_in_hint(p, spec) for p in validation_problems(exc, model)]
    if args is not None:
        problems += spec.check_extras(args, extras)
    if problems:
        raise problems_error(spec, problems)
    return args, extras


def _with_extras_in_hint(problem: Problem, spec: Served) -> Problem:
    """A misspelled top-level input that is close to a constructor input (`rancherUlr`): suggest it too.
    Otherwise the problem stays exactly as the Python API reports it."""
    key = problem.path[0] if len(problem.path) == 1 else None
    known = {(f.alias or n) for n, f in spec.args_model.model_fields.items()}
    extras = {p.name for p in spec.extra_inputs}
    if not isinstance(key, str) or key in known or key in extras:
        return problem
    close = difflib.get_close_matches(key, sorted(known | extras), n=2, cutoff=0.6)
    if not extras & set(close):
        return problem
    return Problem(problem.path, problem.message, f"did you mean {' or '.join(repr(c) for c in close)}?")


def _holds_secrets(annotation: Any, seen: frozenset[type] = frozenset()) -> bool:
    """Whether a setting (or anything nested in it) is a `SecretStr`: the component keeps those secret."""
    if annotation is SecretStr:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return False
        fields = annotation.model_fields.values()
        return any(_holds_secrets(f.annotation, seen | {annotation}) for f in fields)
    return any(_holds_secrets(a, seen) for a in typing.get_args(annotation))


def _warn_if_not_secret_setting(spec: Served, key: str) -> None:
    field = next((f for n, f in spec.args_model.model_fields.items() if (f.alias or n) == key), None)
    if field is not None and not _holds_secrets(field.annotation):
        pulumi.log.warn(
            f"{spec.name}.{key} was passed as a secret, but it is no secret setting: the component registers "
            "it in plain text (pass secrets only where the schema marks a property secret)"
        )


def problems_error(spec: Served, problems: Sequence[Problem]) -> InputPropertiesError:
    """All problems at once: the message lists them as the Python API renders them."""
    rendered = ConfigProblems(problems, style=spec.style)
    n = len(problems)
    message = "\n".join(
        [
            f"invalid {spec.name} arguments ({n} problem{'s' if n != 1 else ''}); nothing was registered:",
            *(f"  - {line}" for line in rendered.problems),
        ]
    )
    details: list[InputPropertyErrorDetails] = [
        {
            "property_path": format_path(p.path, spec.style),
            "reason": p.message + (f" (fix: {p.fix})" if p.fix else ""),
        }
        for p in problems
    ]
    return InputPropertiesError(message, details)


def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def _unknown_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, pulumi.Output) or _is_unknown(value):
        return [path]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _unknown_paths(v, (*path, k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _unknown_paths(v, (*path, i))]
    return []


# ---- the gRPC side: plain values for the models ---------------------------------------------------------


def _future(value: Any) -> asyncio.Future[Any]:
    fut: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
    fut.set_result(value)
    return fut


@dataclass
class _Found:
    secret: bool = False
    deps: set[str] = field(default_factory=set)


async def _resolve(value: Any, found: _Found) -> Any:
    """The value with every Output awaited and every secret unwrapped; what was secret, and the URNs the
    Outputs depended on, are added to `found`. Unknown values become `Unknown`; resources stay resources."""
    if isinstance(value, pulumi.Output):
        found.secret = found.secret or await value.is_secret()
        for resource in await value.resources():
            urn = await resource.urn.future()
            if urn:
                found.deps.add(urn)
        resolved = await value.future(with_unknowns=True)
        if resolved is None and not await value.is_known():
            return Unknown()  # a wholly unknown Output (e.g. a cluster id during preview)
        return await _resolve(resolved, found)
    if rpc.is_rpc_secret(value):
        found.secret = True
        return await _resolve(rpc.unwrap_rpc_secret(value), found)
    if isinstance(value, pulumi.Resource):
        return value
    if isinstance(value, Mapping):
        return {k: await _resolve(v, found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [await _resolve(v, found) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The wire (protobuf Struct) has only doubles: a count or a port written as 514 in any language
        # arrives as 514.0, and the args models take counts and ports as strict integers.
        return int(value)
    return value


_CARRIES_DEPENDENCIES = frozenset({"clusterV1Id"})
"""Nested leaves that keep their input's dependencies (the cluster handle's id, as in the Python API where
it is the ClusterV2's output); other nested leaves of a handle are plain settings."""


def _as_outputs(value: Any, deps: set[str], secret: bool, *, top: bool = True) -> Any:
    """An extra input for the constructor: a value that is unknown, secret or (at the top, or as a
    handle's id) depends on other resources becomes an Output again; mappings stay mappings (a handle's
    plain fields stay plain) and resources stay resources."""
    if isinstance(value, pulumi.Resource):
        return value
    if isinstance(value, Mapping):
        return {
            k: _as_outputs(
                v, deps if k in _CARRIES_DEPENDENCIES else set(), secret, top=k in _CARRIES_DEPENDENCIES
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_as_outputs(v, deps, secret, top=False) for v in value]
    unknown = _is_unknown(value)
    if not unknown and not secret and not (top and deps):
        return value
    return pulumi.Output(
        {DependencyResource(urn) for urn in deps},
        _future(None if unknown else value),
        _future(not unknown),
        _future(secret),
    )


@dataclass(frozen=True)
class WireValue:
    """One construct input as the engine sent it: plain value, the URNs it depends on, secret or not."""

    value: Any
    deps: frozenset[str] = frozenset()
    secret: bool = False


class HardenedRke2Servicer(ProviderServicer):
    """The SDK's provider servicer, with construct inputs made plain (the args models take plain values)."""

    async def _construct_inputs(  # type: ignore[override]
        self, inputs: Any, input_dependencies: Any
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in rpc.deserialize_properties(inputs, keep_unknowns=True).items():
            deps = set(input_dependencies[key].urns) if key in input_dependencies else set()
            found = _Found(deps=deps)
            plain = await _resolve(value, found)
            out[key] = WireValue(plain, frozenset(found.deps), found.secret)
        return out


def serve(args: Sequence[str], provider: Provider | None = None) -> None:
    """The plugin's main: serve on a free local port and print it, as the engine expects."""
    # `python <plugin dir> <engine address> [flags]`: the engine address is the positional host:port.
    engine = next((a for a in reversed(args) if not a.startswith("-") and ":" in a), "")
    servicer = HardenedRke2Servicer(provider or HardenedRke2Provider(), list(args), engine_address=engine)

    async def run() -> None:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        await server.wait_for_termination()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


__all__ = ["HardenedRke2Provider", "HardenedRke2Servicer", "proto", "serve"]
