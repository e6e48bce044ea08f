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


class _Legacy(HardenedModel):
    value: str

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        # Code not yet converted (host_prep's CloudInitError, add-ons) still writes the fix into the text.
        raise ValueError("old style (fix: do this)")


def test_a_message_that_carries_its_fix_is_shown_as_it_is() -> None:
    with pytest.raises(ValidationError) as err:
        _Legacy(value="x")
    (problem,) = validation_problems(err.value)
    assert problem == Problem(("value",), "old style (fix: do this)", "")
    assert problem.render() == "value: old style (fix: do this)"
