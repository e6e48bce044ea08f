"""The base for every args model: strict, immutable, camelCase in stack config, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class HardenedModel(BaseModel):
    """Base of every component args / stack-config model.

    - `extra="forbid"`: a misspelled key is an error, never a silently ignored (weaker) setting.
    - camelCase aliases: stack YAML uses camelCase like the rest of Pulumi config; Python code may use
      either the field name or the alias.
    - frozen: args are values; components never mutate what the user passed.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
        str_strip_whitespace=True,
    )
