"""components.problems: one structured problem type and the one exception that carries it."""

from __future__ import annotations

import pytest

from components.problems import ConfigProblems, Problem, ProblemList, format_path


def test_paths_render_in_both_styles() -> None:
    assert format_path(("a", 0, "b")) == "a.0.b"
    assert format_path(("a", 0, "b"), "yaml") == "a[0].b"
    assert format_path(("a", "odd key"), "yaml") == "a['odd key']"
    assert format_path(()) == "<root>"


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
