"""Behaviour snapshot: every example stack's resources and violations, and the pack's metadata and answers.

A deliberate behaviour change regenerates the snapshot (`python scripts/golden_snapshot.py write`) and the
diff of `tests/golden/*.json` is reviewed with it; a refactor must leave it untouched.
"""

from __future__ import annotations

import pytest

from scripts.golden_snapshot import GOLDEN, STACKS, dump, pack_snapshot, stack_snapshot


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STACKS))
def test_example_stack_matches_snapshot(name: str) -> None:
    expected = (GOLDEN / f"stack-{name}.json").read_text(encoding="utf-8")
    assert dump(stack_snapshot(name)) == expected


@pytest.mark.slow
def test_pack_metadata_and_answers_match_snapshot() -> None:
    expected = (GOLDEN / "pack.json").read_text(encoding="utf-8")
    assert dump(pack_snapshot()) == expected
