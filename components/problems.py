"""Several validation problems from one model validator, each with its own field path and fix.

Pydantic collects one error per failing validator. A cross-field validator that finds several problems
raises `FieldProblems`; pydantic keeps the exception object in the error's `ctx["error"]`, so the stack
config loader can expand it into one line per problem, each with its full YAML path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    """Path relative to the model that raised it (camelCase YAML keys)."""
    message: str
    fix: str

    def render(self, prefix: Sequence[str | int] = ()) -> str:
        where = ".".join(str(p) for p in (*prefix, *self.path)) or "<root>"
        return f"{where}: {self.message} (fix: {self.fix})"


class FieldProblems(ValueError):
    """Raised from a model validator; `str()` is readable on its own, `problems` is the structured list."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(p.render() for p in self.problems))

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)


class ProblemList:
    """Collects problems; `raise_if_any()` raises them all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: Sequence[str | int], message: str, fix: str) -> None:
        self.items.append(Problem(tuple(path), message, fix))

    def extend(self, problems: Sequence[Problem], prefix: Sequence[str | int] = ()) -> None:
        for p in problems:
            self.items.append(Problem((*prefix, *p.path), p.message, p.fix))

    def raise_if_any(self) -> None:
        if self.items:
            raise FieldProblems(self.items)
