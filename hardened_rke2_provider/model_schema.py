"""pydantic args models -> Pulumi schema object types and properties (the generator; see schema.py).

Every field of an args model becomes a property: its camelCase alias is the name, its annotation the type,
its attribute docstring the description, its default the schema `default` (primitive values) or a
`Default: …` sentence (objects and lists; Pulumi schema defaults are primitives only). Nested models become
object types named `hardened-rke2:<module>:<ClassName>`; a union of models tagged by a Literal field (node
drivers, SSO providers) becomes `oneOf` with a `discriminator`; `SecretStr` fields are `secret`; a
`Literal` of several strings is an enum type named after the class declaring the field and the field
(`NetworkArgsCni`), with the values also listed in the description, and a one-value `Literal` is a `const`.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.field_docs import attribute_docs
from hardened_rke2_provider import PACKAGE

ANY = {"$ref": "pulumi.json#/Any"}
_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}

JsonDict = dict[str, Any]


class SchemaError(Exception):
    """An args model uses an annotation the schema cannot express (fix the generator, not the model)."""


def type_module(model: type) -> str:
    """`components.addons.istio` -> `addons`, `components.node_pools` -> `node_pools`."""
    parts = model.__module__.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def type_token(model: type) -> str:
    return f"{PACKAGE}:{type_module(model)}:{model.__name__}"


def model_description(model: type) -> str:
    doc = inspect.getdoc(model) or ""
    return " ".join(doc.split("\n\n")[0].split())


class SchemaBuilder:
    """Collects the object types reached from the args models while it turns fields into properties."""

    def __init__(self) -> None:
        self.types: dict[str, JsonDict] = {}
        self._owners: dict[str, type] = {}

    # ---- models -> object types -------------------------------------------------------------------
    def ref(self, model: type[BaseModel]) -> JsonDict:
        token = type_token(model)
        owner = self._owners.get(token)
        if owner is not None and owner is not model:
            raise SchemaError(f"two models map to {token}: {owner.__module__} and {model.__module__}")
        if owner is None:
            self._owners[token] = model
            self.types[token] = {}  # placeholder: recursion stops here
            props, required = self.properties(model)
            spec: JsonDict = {"type": "object", "description": model_description(model), "properties": props}
            if required:
                spec["required"] = required
            self.types[token] = spec
        return {"$ref": f"#/types/{token}"}

    def properties(self, model: type[BaseModel]) -> tuple[dict[str, JsonDict], list[str]]:
        """(properties by alias, required aliases) of one model."""
        props: dict[str, JsonDict] = {}
        required: list[str] = []
        for name, info in model.model_fields.items():
            key = info.alias or name
            props[key] = self.field(model, name, info)
            if info.is_required():
                required.append(key)
        return props, sorted(required)

    def field(self, model: type[BaseModel], name: str, info: FieldInfo) -> JsonDict:
        where = f"{model.__module__}.{model.__name__}.{name}"
        # a Literal of several values is an enum type named after the class that declares the field
        owner = next((k for k in model.__mro__ if name in getattr(k, "__annotations__", {})), model)
        owner_name = owner.__name__.lstrip("_")  # a private base (`_SsoBase`) names no public type
        enum_token = f"{PACKAGE}:{type_module(owner)}:{owner_name}{_pascal(info.alias or name)}"
        spec = self.annotation(info.annotation, where, info, enum_token)
        text = info.description or attribute_docs(model).get(name, "")
        if not text:
            subs = [m for m in _models_in(info.annotation)]
            text = model_description(subs[0]) if len(subs) == 1 else ""
        allowed = _literal_values(info.annotation)
        if allowed:
            text += f" One of: {', '.join(json.dumps(v) for v in allowed)}."
        if not info.is_required():
            value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
            if value is not PydanticUndefined and value is not None:
                if isinstance(value, (str, int, float, bool)) and not isinstance(value, SecretStr):
                    spec["default"] = value
                else:
                    text += f" Default: `{_compact(value)}`."
        spec["description"] = text.strip()
        return spec

    # ---- annotations -> property types ------------------------------------------------------------
    def annotation(
        self, annotation: Any, where: str, info: FieldInfo | None = None, enum_token: str | None = None
    ) -> JsonDict:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            return self.annotation(args[0], where, info, enum_token)
        if annotation is SecretStr:
            return {"type": "string", "secret": True}
        if annotation in _PRIMITIVES:
            return {"type": _PRIMITIVES[annotation]}
        if annotation is Any:
            return dict(ANY)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.ref(annotation)
        if origin is typing.Literal:
            kinds = {type(a) for a in args}
            if len(kinds) != 1 or next(iter(kinds)) not in _PRIMITIVES:
                raise SchemaError(f"{where}: Literal of mixed or odd types {args}")
            spec = {"type": _PRIMITIVES[next(iter(kinds))]}
            if len(args) == 1:  # a union tag (`type: custom`) or a pinned value (`mtlsMode: STRICT`)
                spec["const"] = args[0]
                return spec
            if enum_token is None or spec["type"] != "string":
                raise SchemaError(f"{where}: a Literal of several values needs a string enum name")
            return self.enum(enum_token, args, where)
        if origin in (typing.Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            if len(members) == 1:
                return self.annotation(members[0], where, info, enum_token)
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if len(models) == len(members):
                return self.tagged_union(models, where, info)
            return dict(ANY)  # e.g. `bool | int | str | list[str]`: a free-form value
        if origin in (list, tuple):
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                raise SchemaError(f"{where}: fixed-length tuple {annotation}")
            return {"type": "array", "items": self.annotation(args[0], where, None, enum_token)}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.annotation(args[1], where)}
        raise SchemaError(f"{where}: unsupported annotation {annotation!r}")

    def enum(self, token: str, values: tuple[Any, ...], where: str) -> JsonDict:
        spec: JsonDict = {
            "type": "string",
            "description": f"The allowed values of `{token.rsplit(':', 1)[-1]}`.",
            "enum": [{"name": _enum_name(str(v)), "value": v} for v in values],
        }
        existing = self.types.get(token)
        if existing is not None and existing != spec:
            raise SchemaError(f"{where}: enum {token} already has other values")
        names = [e["name"] for e in spec["enum"]]
        if len(set(names)) != len(names):
            raise SchemaError(f"{where}: enum {token} values clash as names {names}")
        self.types[token] = spec
        return {"$ref": f"#/types/{token}"}

    def tagged_union(self, models: list[type[BaseModel]], where: str, info: FieldInfo | None) -> JsonDict:
        tag = info.discriminator if info is not None and isinstance(info.discriminator, str) else None
        if tag is None:
            raise SchemaError(f"{where}: a union of models needs a discriminator")
        mapping: dict[str, str] = {}
        alias = tag
        for m in models:
            field = m.model_fields[tag]
            alias = field.alias or tag
            for value in typing.get_args(field.annotation):
                mapping[str(value)] = self.ref(m)["$ref"]
        return {
            "oneOf": [self.ref(m) for m in models],
            "discriminator": {"propertyName": alias, "mapping": mapping},
        }


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _enum_name(value: str) -> str:
    """A language-safe name for an enum value: `blocking-strict` -> `BlockingStrict`, `REGISTRY_ONLY` ->
    `RegistryOnly`, `VersionTLS12` as is, `2.13` -> `V2_13`."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", value) if p]
    if all(p.isdigit() for p in parts):
        return "V" + "_".join(parts)
    return "".join(p.capitalize() if p.isupper() and len(p) > 1 else _pascal(p) for p in parts)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    """The allowed values of a Literal field (through Optional / list / tuple / Annotated)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return args if len(args) > 1 else ()
    if origin is typing.Annotated:
        return _literal_values(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return _literal_values(members[0]) if len(members) == 1 else ()
    if origin in (list, tuple) and args:
        return _literal_values(args[0])
    return ()


def _compact(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    elif isinstance(value, (list, tuple)):
        value = [v.model_dump(mode="json", by_alias=True) if isinstance(v, BaseModel) else v for v in value]
    text = json.dumps(value, sort_keys=False, separators=(", ", ": "))
    return text if len(text) <= 300 else text[:297] + "..."


def package_version() -> str:
    return metadata.version("hardened-rke2")


def dependency_versions() -> Mapping[str, str]:
    return {
        "kubernetes": metadata.version("pulumi_kubernetes"),
        "rancher2": metadata.version("pulumi_rancher2"),
    }
