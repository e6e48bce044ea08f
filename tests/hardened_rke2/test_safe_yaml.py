"""`safe_yaml`: every input file is refused quickly and clearly when hostile or careless (issue 15)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hardened_rke2 import safe_yaml
from hardened_rke2.safe_yaml import InputFileError, load_file, load_text
from tests.support.hostile_yaml import alias_bomb


def test_alias_bomb_is_refused_in_milliseconds() -> None:
    t0 = time.perf_counter()
    with pytest.raises(InputFileError, match="alias bomb"):
        load_text(alias_bomb(), "Pulumi.x.yaml")
    assert time.perf_counter() - t0 < 1.0  # before: 46 s and 4.5 GB, then refused by the program


def test_modest_aliases_still_work() -> None:
    assert load_text("base: &b {a: 1}\nother:\n  <<: *b\n  c: 2\n") == {
        "base": {"a": 1},
        "other": {"a": 1, "c": 2},
    }


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(InputFileError, match="contains it"):
        load_text("a: &x [1, *x]\n")


def test_duplicate_keys_name_both_lines() -> None:
    with pytest.raises(InputFileError, match=r"line 3: duplicate key 'name' \(first at line 1\)"):
        load_text("name: prod\nother: 1\nname: evil\n")
    with pytest.raises(InputFileError, match="line 3: duplicate key 'name'"):
        load_text("config:\n  name: prod\n  name: evil\n")
    with pytest.raises(InputFileError, match="duplicate key 'a'"):
        load_text('{"a": 1, "a": 2}', json_first=True)


@pytest.mark.parametrize(
    "text", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * i + "- \n" for i in range(1, 200))]
)
def test_deep_nesting_is_refused(text: str) -> None:
    with pytest.raises(InputFileError, match="MAX_DEPTH"):
        load_text(text, json_first=True)
    with pytest.raises(InputFileError, match="MAX_DEPTH"):
        load_text(text)


def test_nesting_below_the_limit_loads() -> None:
    assert load_text("[" * 60 + "]" * 60) is not None


@pytest.mark.parametrize("text", ["a: .nan\n", "a: [-.inf]\n", '{"a": NaN}', '{"a": -Infinity}'])
def test_non_finite_numbers_are_refused(text: str) -> None:
    with pytest.raises(InputFileError, match="not a finite number"):
        load_text(text, json_first=True)


def test_non_utf8_file_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_bytes(b"config:\n  a: \xff\xfe\n")
    with pytest.raises(InputFileError, match="not UTF-8"):
        load_file(p, "stack file")


def test_size_limit_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_yaml, "MAX_FILE_BYTES", 100)
    p = tmp_path / "big.yaml"
    p.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(InputFileError, match="MAX_FILE_BYTES"):
        load_file(p)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="directory"):
        load_file(tmp_path, "secret config")
    with pytest.raises(InputFileError, match="cannot read"):
        load_file(tmp_path / "nope.yaml")
