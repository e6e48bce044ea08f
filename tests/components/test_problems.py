"""components.problems / components.validation_errors: one structured problem type, one renderer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError, field_validator

from components.model import HardenedModel
from components.problems import ConfigProblems, Problem, ProblemList, format_path
from components.validation_errors import validation_problems


class _Inner(HardenedModel):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        raise ConfigProblems.one(f"{value!r} is taken", "pick another")


class _Outer(HardenedModel):
    items: list[_Inner]


def test_paths_render_in_both_styles() -> None:
    assert format_path(("a", 0, "b")) == "a.0.b"
    assert format_path(("a", 0, "b"), "yaml") == "a[0].b"
    assert format_path(("a", "odd key"), "yaml") == "a['odd key']"
    assert format_path(()) == "<root>"


def test_validator_problems_travel_structured_to_the_full_path() -> None:
    with pytest.raises(ValidationError) as err:
        _Outer.model_validate({"items": [{"name": "x"}], "extra": 1})
    problems = validation_problems(err.value, _Outer, prefix=("stack",))
    assert Problem(("stack", "items", 0, "name"), "'x' is taken", "pick another") in problems
    extra = next(p for p in problems if p.path[-1] == "extra")
    assert extra.fix.startswith("remove it; known settings here: items")
    team = validation_problems(err.value, prefix=("t",), hints="team")
    assert any(p.fix == "remove the key or correct its spelling; see docs/teams.md" for p in team)


def test_one_exception_type_renders_its_report() -> None:
    problems = ProblemList()
    problems.add(("a", 1), "bad", "fix it")
    with pytest.raises(ConfigProblems, match=r"^a\.1: bad \(fix: fix it\)$") as err:
        problems.raise_if_any()
    assert err.value.items == (Problem(("a", 1), "bad", "fix it"),)
    stack = ConfigProblems(err.value.items, heading="stack", style="yaml")
    assert (
        str(stack) == "invalid stack config (1 problem); nothing was registered:\n  - a[1]: bad (fix: fix it)"
    )
    team = ConfigProblems(err.value.items, heading="team")
    assert str(team) == "invalid team tenancy configuration:\n  a.1: bad (fix: fix it)"
    assert team.lines == ("a.1: bad (fix: fix it)",)
