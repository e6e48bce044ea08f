"""Pack settings are read with the same limits as every other input (issue 15): no hang, a clear error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nsa_cisa.settings import PackSettingsError, load_pack_settings

from tests.support.hostile_yaml import alias_bomb
from tests.support.paths import PACK_DIR


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (alias_bomb().encode(), "aliases are not accepted"),
        (
            b"exemptNamespaces: [a]\nexemptNamespaces: [b]\n",
            r"line 2: duplicate key 'exemptNamespaces' \(first at line 1\)",
        ),
        (b"exemptNamespaces: " + b"[" * 5000 + b"]" * 5000, "nested more than"),
        (b"exemptNamespaces: [\xff]\n", "can't decode"),
    ],
    ids=["alias-bomb", "duplicate-key", "deep", "not-utf8"],
)
def test_hostile_settings_are_refused_quickly(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_bytes(content)
    t0 = time.perf_counter()
    with pytest.raises(PackSettingsError, match=message):
        load_pack_settings(path)
    assert time.perf_counter() - t0 < 1.0


def test_the_example_settings_still_load() -> None:
    assert load_pack_settings(PACK_DIR / "pack-settings.example.yaml")
