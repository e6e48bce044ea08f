"""Requests: a resource as the engine would send it to an analyzer (from a capture or from a dict)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import proto

from hardened_rke2.analysis.wire import parse_duration
from hardened_rke2.capture import STACK_TYPE, CapturedResource


@dataclass(frozen=True)
class AnalyzerInput:
    """A resource as the engine analyzes it (wire properties: secrets kept, references resolved)."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str = ""
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    custom_timeouts: tuple[float, float, float] = (0.0, 0.0, 0.0)
    delete_before_replace: bool | None = None
    aliases: tuple[str, ...] = ()
    provider: str = ""
    """URN of the resource's provider (a resource in the same analysis), if any."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stack_props: Mapping[str, Any] | None = None
    """What AnalyzeStack sees when it differs from the inputs (the Stack's exports); else the inputs."""


def from_captured(
    resources: Sequence[CapturedResource], stack_outputs: Mapping[str, Any] | None = None
) -> list[AnalyzerInput]:
    """Captured registrations -> analyzer inputs. The Stack's properties are its exports, as in the engine."""
    out: list[AnalyzerInput] = []
    for r in resources:
        # Analyze sees the Stack's registration (no inputs); AnalyzeStack sees its exports.
        stack_props = stack_outputs if r.type == STACK_TYPE and stack_outputs else None
        provider = ""
        if r.provider:
            provider = r.provider.rsplit("::", 1)[0] if "::" in r.provider else r.provider
        ct = r.custom_timeouts
        out.append(
            AnalyzerInput(
                urn=r.urn,
                type=r.type,
                name=r.name,
                props=r.wire_inputs,
                stack_props=stack_props,
                parent=r.parent or "",
                protect=bool(r.protect),
                ignore_changes=tuple(r.ignore_changes),
                additional_secret_outputs=tuple(r.additional_secret_outputs),
                custom_timeouts=(
                    parse_duration(ct.get("create")),
                    parse_duration(ct.get("update")),
                    parse_duration(ct.get("delete")),
                ),
                delete_before_replace=r.delete_before_replace or None,
                provider=provider,
                dependencies=tuple(r.dependencies),
                property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
            )
        )
    return out


def _opt(options: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in options:
            return options[n]
    return default


def input_from_dict(
    spec: Mapping[str, Any],
    *,
    project: str = "test",
    stack: str = "test",
    by_name: Mapping[str, str] | None = None,
) -> AnalyzerInput:
    """A resource given as a dict (`type`, `name`, `props`|`inputs`, optional `urn`, `parent`, `options`,
    `dependencies`, `propertyDependencies`, `provider`) -> analyzer input. `parent`, `provider` and
    dependencies may name another resource of the same stack instead of giving its URN."""
    by_name = by_name or {}
    if "type" not in spec or "name" not in spec:
        raise ValueError(f"a resource needs 'type' and 'name': {dict(spec)!r}")
    type_, name = str(spec["type"]), str(spec["name"])
    options: Mapping[str, Any] = spec.get("options") or {}
    urn = str(spec.get("urn") or make_urn(type_, name, project=project, stack=stack))
    timeouts = _opt(options, "customTimeouts", "custom_timeouts", default={}) or {}
    dbr = _opt(options, "deleteBeforeReplace", "delete_before_replace")

    def ref(value: Any) -> str:
        return by_name.get(str(value), str(value)) if value else ""

    props = spec.get("props", spec.get("inputs", {}))
    return AnalyzerInput(
        urn=urn,
        type=type_,
        name=name,
        props=props,
        parent=ref(spec.get("parent") or _opt(options, "parent", default="")),
        protect=bool(_opt(options, "protect", default=False)),
        ignore_changes=tuple(_opt(options, "ignoreChanges", "ignore_changes", default=()) or ()),
        additional_secret_outputs=tuple(
            _opt(options, "additionalSecretOutputs", "additional_secret_outputs", default=()) or ()
        ),
        custom_timeouts=(
            parse_duration(timeouts.get("create")),
            parse_duration(timeouts.get("update")),
            parse_duration(timeouts.get("delete")),
        ),
        delete_before_replace=None if dbr is None else bool(dbr),
        aliases=tuple(_opt(options, "aliases", default=()) or ()),
        provider=ref(spec.get("provider") or _opt(options, "provider", default="")),
        dependencies=tuple(ref(d) for d in spec.get("dependencies", ()) or ()),
        property_dependencies={
            str(k): tuple(ref(d) for d in v)
            for k, v in (spec.get("propertyDependencies") or spec.get("property_dependencies") or {}).items()
        },
    )


def make_urn(type_: str, name: str, *, project: str = "test", stack: str = "test") -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def options_proto(r: AnalyzerInput) -> Any:
    opts = proto.AnalyzerResourceOptions(
        protect=r.protect,
        ignoreChanges=list(r.ignore_changes),
        deleteBeforeReplace=bool(r.delete_before_replace),
        deleteBeforeReplaceDefined=r.delete_before_replace is not None,
        additionalSecretOutputs=list(r.additional_secret_outputs),
        aliases=list(r.aliases),
        parent=r.parent,
    )
    # The engine always sends custom timeouts (zeros when unset).
    opts.customTimeouts.create, opts.customTimeouts.update, opts.customTimeouts.delete = r.custom_timeouts
    return opts
