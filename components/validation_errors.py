"""The one renderer of pydantic errors: a `ValidationError` -> `Problem`s (path, message, fix).

`ConfigProblems` raised inside a validator arrive in the error's `ctx["error"]` and are expanded, one
problem each, under the validator's location. Every other pydantic error gets a fix from `hints`: the stack
config (`STACK_HINTS`, model-aware: did-you-mean for misspelled keys, quoting for YAML numbers, secret
references) or the team config (`TEAM_HINTS`, pointing at docs/teams.md). Input values are never echoed.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from components.problems import ConfigProblems, PathPart, Problem

Hints = Literal["stack", "team"]

_STACK_FIXES = {
    "missing": "add this required setting",
    "extra_forbidden": "remove it or correct its spelling",
    "literal_error": "use one of the listed values",
    "string_pattern_mismatch": "match the expected format",
    "union_tag_invalid": "use one of the listed values",
    "union_tag_not_found": "add the discriminator field",
    "greater_than_equal": "raise the value",
    "less_than_equal": "lower the value",
    "greater_than": "raise the value",
    "less_than": "lower the value",
    "too_short": "add entries",
    "too_long": "remove entries",
    "string_too_short": "give a longer value",
    "string_too_long": "give a shorter value",
}
_TEAM_FIXES = {
    "extra_forbidden": "remove the key or correct its spelling; see docs/teams.md",
    "missing": "add this required key; see docs/teams.md",
}
_TEAM_DEFAULT_FIX = "see docs/teams.md for the allowed values"


def validation_problems(
    exc: ValidationError,
    model: type[BaseModel] | None = None,
    *,
    prefix: Sequence[PathPart] = (),
    hints: Hints = "stack",
) -> list[Problem]:
    """One `Problem` per pydantic error (a validator's `ConfigProblems` expands to all of its problems)."""
    out: list[Problem] = []
    # Only the input's TYPE is used (a YAML number where text is expected); the value is never shown.
    numeric = [
        isinstance(e.get("input"), int | float) and not isinstance(e.get("input"), bool)
        for e in exc.errors(include_url=False)
    ]
    for i, err in enumerate(exc.errors(include_url=False, include_input=False)):
        raw_loc = tuple(err["loc"])
        # pydantic puts a discriminated union's tag (e.g. `vsphere`) in the location; the YAML has no such key
        loc = (*prefix, *(_walk(model, raw_loc)[0] if model is not None else raw_loc))
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, ConfigProblems):
            out.extend(p.under(loc) for p in error.items)
            continue
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if hints == "team":
            fix = _TEAM_FIXES.get(err["type"], _TEAM_DEFAULT_FIX)
        else:
            fix = _stack_fix(err, raw_loc, loc, model, numeric[i])
        out.append(Problem(loc, msg, fix))
    return out


def _stack_fix(
    err: Any, raw_loc: tuple[Any, ...], loc: tuple[Any, ...], model: type[BaseModel] | None, numeric: bool
) -> str:
    from components.management.secrets import SecretRef  # late: secrets raises ConfigProblems too

    kind = err["type"]
    ctx = err.get("ctx") or {}
    hint = _STACK_FIXES.get(kind)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        hint = "give a value of the expected type"
    expected = str(ctx.get("expected", ""))
    if numeric and (kind == "string_type" or (kind == "literal_error" and "'" in expected)):
        hint = f"{hint or 'use one of the listed values'}; YAML reads it as a number: quote it"
    if kind == "model_type" and model is not None and _walk(model, raw_loc)[1] is SecretRef:
        hint = (
            f"name a secret config key, e.g. {{configKey: {loc[-1]}}}, and set it with "
            f"`pulumi config set --secret {loc[-1]} <value>`; never put the secret itself here"
        )
    if kind == "string_pattern_mismatch":
        hint = _pattern_hint(str(ctx.get("pattern", ""))) or hint
    if kind == "extra_forbidden" and model is not None:
        known = _sibling_fields(model, raw_loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=2, cutoff=0.6) if known else []
        if close:
            hint = f"did you mean {' or '.join(repr(c) for c in close)}?"
        elif known:
            hint = f"remove it; known settings here: {', '.join(known)}"
    return hint or "see the message"


def _pattern_hint(pattern: str) -> str | None:
    if pattern.startswith("^https://"):
        return "use an https:// URL such as https://rancher.example.com"
    return None


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """Follow a pydantic error location: (the location without union tags, the model reached or None)."""
    current: Any = model
    clean: list[Any] = []
    for part in loc:
        if isinstance(part, int):
            clean.append(part)
            continue
        if isinstance(current, _Union):
            # a discriminated-union tag (e.g. `amazonec2`) selects the member model; it is no YAML key
            member = _union_member(current, part)
            if member is not None:
                current = member
                continue
        clean.append(part)
        fields = getattr(current, "model_fields", None) or {}
        match = next((f for n, f in fields.items() if (f.alias or n) == part or n == part), None)
        current = _model_in(match.annotation, None) if match is not None else None
    return tuple(clean), current


def _sibling_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Aliases of the model at `loc` (best effort; [] when the path cannot be followed)."""
    fields = getattr(_walk(model, loc)[1], "model_fields", None)
    return sorted((f.alias or n) for n, f in fields.items()) if fields else []


def _model_in(annotation: Any, tag: str | None) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(args[0], tag)
    if origin in (typing.Union, types.UnionType) or origin in (tuple, list):
        models = [m for a in args if (m := _model_in(a, tag)) is not None]
        return models[0] if len(models) == 1 else (_Union(models) if models else None)
    return None


class _Union:
    def __init__(self, members: list[Any]) -> None:
        self.members = members


def _union_member(current: Any, tag: str) -> Any:
    if not isinstance(current, _Union):
        return None
    # The discriminator is a Literal field (`type` for node drivers, `provider` for SSO, ...).
    for m in current.members:
        for f in getattr(m, "model_fields", {}).values():
            if typing.get_origin(f.annotation) is Literal and tag in typing.get_args(f.annotation):
                return m
    return None
