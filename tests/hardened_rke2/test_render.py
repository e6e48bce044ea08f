"""Terminal output: `rich` (colour, the tree, violations by severity and NSA section) on a terminal; the
plain text, unchanged, whenever stdout is not a terminal, with `--no-color`, or with NO_COLOR set."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

from hardened_rke2.analysis.results import Violation
from hardened_rke2.cli import main
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.render import render_plain, render_text, use_color, violation_table
from tests.support.fleets import EXAMPLE_FLEET, TEAM_DIR
from tests.support.paths import PACK_DIR

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def broken() -> PreviewResult:
    return preview_project(
        TEAM_DIR,
        "broken",
        policy_packs=[PACK_DIR],
        policy_pack_configs=[str(TEAM_DIR / "policy-pack-config.json")],
        stack_reference_outputs={"acme/hardened-rke2/prod": _platform()},
    )


def _platform() -> dict[str, object]:
    import json

    data: dict[str, dict[str, object]] = json.loads((TEAM_DIR / "platform-outputs.json").read_text("utf-8"))
    return data["acme/hardened-rke2/prod"]


def test_colour_only_on_a_terminal_and_never_when_asked_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Terminal()) is True
    assert use_color(io.StringIO()) is False
    assert use_color(Terminal(), no_color=True) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(Terminal()) is False


def test_plain_rendering_is_the_default_and_has_no_terminal_codes(broken: PreviewResult) -> None:
    default, plain = io.StringIO(), io.StringIO()
    render_text(broken, default)
    render_plain(broken, plain)
    assert default.getvalue() == plain.getvalue()
    assert "\x1b[" not in plain.getvalue()
    assert "Policy violations:\n  mandatory (" in plain.getvalue()


def test_rich_rendering_has_colour_the_tree_and_the_section_table(broken: PreviewResult) -> None:
    out = Terminal()
    render_text(broken, out, color=True)
    text = out.getvalue()
    assert ANSI.search(text)
    bare = ANSI.sub("", text)
    assert "Violations by NSA section and severity (mandatory / advisory)" in bare
    assert re.search(r"pod-security\s.*\d+ / \d+", bare)
    assert "└── " in bare  # rich's tree
    for v in broken.violations:
        assert v.policy_name in bare
    assert "FAILED: mandatory policy violations" in bare


def test_violation_table_counts_mandatory_and_advisory_per_section_and_severity() -> None:
    def violation(level: str, severity: str, section: str) -> Violation:
        return Violation("p", "d", "m", level, "urn", "t", "n", severity, (f"section:{section}",), "pack")

    table = violation_table(
        [
            violation("mandatory", "high", "rbac"),
            violation("mandatory", "high", "rbac"),
            violation("advisory", "high", "rbac"),
            violation("advisory", "low", "network"),
        ]
    )
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(table)
    lines = [line.replace("┃", "│") for line in out.getvalue().splitlines()]
    rows = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
        for line in lines
        if line.count("│") > 2
    }
    assert rows["section"] == ["high", "low", "total"]
    assert rows["rbac"] == ["2 / 1", "", "3"]
    assert rows["network"] == ["", "0 / 1", "1"]


def test_preview_no_color_on_a_terminal_prints_exactly_the_plain_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    argv = ["preview", "--stack", "dev", "--policy-pack", str(PACK_DIR)]
    main(argv)
    piped = capsys.readouterr().out
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    main([*argv, "--no-color"])
    assert terminal.getvalue() == piped
    terminal.truncate(0), terminal.seek(0)
    main(argv)
    assert ANSI.search(terminal.getvalue())


def test_fleet_progress_goes_to_stderr_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out, err = io.StringIO(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["fleet", "preview", "--fleet", str(EXAMPLE_FLEET)]) == 0
    assert "\x1b[" not in out.getvalue()  # stdout is not a terminal: the plain table
    assert "payments-dev" in ANSI.sub("", err.getvalue())  # the live progress named the stacks
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert main(["fleet", "preview", "--fleet", str(EXAMPLE_FLEET)]) == 0
    assert quiet.getvalue() == ""
    assert "Offline fleet preview" in ANSI.sub("", sys.stdout.getvalue())


def test_a_multi_stack_preview_shows_progress_on_a_terminal_stderr_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    argv = ["preview", "--stack", "dev", "--stack", "management", "--json"]
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(argv) == 0
    assert err.getvalue().splitlines() == ["[1/2] previewing dev…", "[2/2] previewing management…"]
    assert "previewing" not in capsys.readouterr().out  # stdout stays the JSON list
    quiet = io.StringIO()  # not a terminal: nothing
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main(argv) == 0
    assert quiet.getvalue() == ""
    err = Terminal()  # --no-color: nothing either
    monkeypatch.setattr(sys, "stderr", err)
    assert main([*argv, "--no-color"]) == 0
    assert err.getvalue() == ""
