"""components.validation_errors: the one renderer of pydantic errors into Problems."""

from __future__ import annotations

import pytest
from pydantic import ValidationError, field_validator

from components.model import HardenedModel
from components.problems import ConfigProblems, Problem
from components.validation_errors import validation_problems


class _Inner(HardenedModel):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        raise ConfigProblems.one(f"{value!r} is taken", "pick another")


class _Outer(HardenedModel):
    items: list[_Inner]


def test_validator_problems_travel_structured_to_the_full_path() -> None:
    with pytest.raises(ValidationError) as err:
        _Outer.model_validate({"items": [{"name": "x"}], "extra": 1})
    problems = validation_problems(err.value, _Outer, prefix=("stack",))
    assert Problem(("stack", "items", 0, "name"), "'x' is taken", "pick another") in problems
    extra = next(p for p in problems if p.path[-1] == "extra")
    assert extra.fix.startswith("remove it; known settings here: items")
    team = validation_problems(err.value, prefix=("t",), hints="team")
    assert any(p.fix == "remove the key or correct its spelling; see docs/teams.md" for p in team)


class _PlainValueError(HardenedModel):
    value: str

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        raise ValueError("plain message")


def test_a_plain_value_error_gets_the_generic_fix_never_a_parsed_one() -> None:
    # Validators raise ConfigProblems; a plain ValueError (e.g. pydantic's own) still gets a fix, and no
    # text is parsed back out of a message.
    with pytest.raises(ValidationError) as err:
        _PlainValueError(value="x")
    (problem,) = validation_problems(err.value)
    assert problem.path == ("value",) and problem.message == "plain message"
    assert problem.fix and "(fix:" not in problem.message
