"""Validation problems as structured values, and the ONE exception type that carries them.

A `Problem` is (path, message, fix). Validators raise `ConfigProblems` (a `ValueError`, so pydantic keeps
the exception object in the error's `ctx["error"]`); `components.validation_errors` turns a pydantic
`ValidationError` back into `Problem`s, prefixing each path with where the validator sat. Problems are only
turned into text where they are printed: `ConfigProblems.problems` / `str()`, as
`<path>: <message> (fix: <fix>)`.

Two path styles exist because two audiences read them: stack config (`yaml`, `nodePools[0].name`, the
key path `pulumi config set --path` takes) and team config (`dotted`, `namespaces.0.name`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

PathPart = str | int
PathStyle = Literal["dotted", "yaml"]

_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./:-]*$")


def format_path(path: Sequence[PathPart], style: PathStyle = "dotted") -> str:
    """`a.0.b` (dotted) or `a[0].b` (yaml; keys with spaces or odd characters are quoted)."""
    if style == "dotted":
        return ".".join(str(p) for p in path) or "<root>"
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.match(str(part)):
            text += ("." if text else "") + str(part)
        else:  # keys with spaces or odd characters stay readable and unambiguous
            text += f"[{str(part)!r}]"
    return text or "<root>"


@dataclass(frozen=True)
class Problem:
    path: tuple[PathPart, ...]
    """Path relative to the model that raised it (camelCase YAML keys)."""
    message: str
    fix: str
    """How to fix it; rendered as ` (fix: …)` after the message (never parsed back out of text)."""

    def under(self, prefix: Sequence[PathPart]) -> Problem:
        """The same problem seen from a model `prefix` levels up."""
        return Problem((*prefix, *self.path), self.message, self.fix)

    def render(self, prefix: Sequence[PathPart] = (), style: PathStyle = "dotted") -> str:
        fix = f" (fix: {self.fix})" if self.fix else ""
        return f"{format_path((*prefix, *self.path), style)}: {self.message}{fix}"


Heading = Literal["none", "stack", "team"]


class ConfigProblems(ValueError):
    """Every validation problem found, at once. The only exception type validation raises.

    `items` are the structured `Problem`s; `problems` (and its older name `lines`) the rendered lines.
    `heading` picks the first line of `str()`: none (the lines joined by `; `, as inside a pydantic
    error), `stack` (the stack-config report) or `team` (the team-tenancy report).
    """

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        heading: Heading = "none",
        style: PathStyle = "dotted",
    ) -> None:
        self.items: tuple[Problem, ...] = tuple(problems)
        self.heading: Heading = heading
        self.style: PathStyle = style
        self.problems: list[str] = [p.render(style=style) for p in self.items]
        super().__init__(self._text())

    @classmethod
    def one(cls, message: str, fix: str, *path: PathPart) -> ConfigProblems:
        """A single problem, e.g. from a field validator (path relative to the field)."""
        return cls([Problem(tuple(path), message, fix)])

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def _text(self) -> str:
        if self.heading == "stack":
            n = len(self.problems)
            head = f"invalid stack config ({n} problem{'s' if n != 1 else ''}); nothing was registered:"
            return "\n".join([head, *(f"  - {p}" for p in self.problems)])
        if self.heading == "team":
            return "invalid team tenancy configuration:\n  " + "\n  ".join(self.problems)
        return "; ".join(self.problems)


class ProblemList:
    """Collects problems; `raise_if_any()` raises them all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: Sequence[PathPart], message: str, fix: str) -> None:
        self.items.append(Problem(tuple(path), message, fix))

    def extend(self, problems: Sequence[Problem], prefix: Sequence[PathPart] = ()) -> None:
        self.items.extend(p.under(prefix) for p in problems)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigProblems(self.items)
