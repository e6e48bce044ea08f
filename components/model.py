"""The base for every args model: strict, immutable, camelCase in stack config, snake_case in Python."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from components.problems import ConfigProblems, Problem


class HardenedModel(BaseModel):
    """Base of every component args / stack-config model.

    - `extra="forbid"`: a misspelled key is an error, never a silently ignored (weaker) setting.
    - camelCase aliases: stack YAML uses camelCase like the rest of Pulumi config; Python code may use
      either the field name or the alias.
    - frozen: args are values; components never mutate what the user passed.
    - numbers are numbers: `true`/`false` is refused where an integer or float is expected (pydantic
      would read `quantity: true` as 1).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
        str_strip_whitespace=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        problems: list[Problem] = []
        for name, info in cls.model_fields.items():
            for key in (info.alias or name, name):
                value = data.get(key)
                if isinstance(value, bool) and _numeric(info.annotation):
                    problems.append(
                        Problem((key,), f"expected a number, not {str(value).lower()}", "give an integer")
                    )
                    break
        if problems:
            raise ConfigProblems(problems)
        return data


def _numeric(annotation: Any) -> bool:
    """int / float, optionally inside `X | None` or `Annotated[...]` (bool excluded)."""
    if annotation in (int, float):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _numeric(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(_numeric(a) for a in args)
    return False
