"""Memoized YAML rendering gives exactly what PyYAML gives, for every document shape."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components import yaml_render


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _docs() -> list[dict[str, Any]]:
    shared = ["a", {"b": 1}]
    return [
        {"x": 1, "y": 1.0, "z": True, "n": None, "s": "1"},
        {"x": 1.0, "y": 1, "z": 1, "n": "null", "s": 1},  # same JSON-ish values, other types
        {"f": 0.0},
        {"f": -0.0},
        {"shared": shared, "again": shared},  # one list twice: an anchor and an alias
        {"shared": ["a", {"b": 1}], "again": ["a", {"b": 1}]},  # equal lists, two objects: no alias
        {"t": ("a", "b"), "l": ["a", "b"]},
        {"b": 2, "a": 1},
        {"a": 1, "b": 2},
        {"multi": "line one\nline two\n", "unicode": "é"},
        {"set": {"a", "b"}},  # not described by the cache key: rendered directly
    ]


@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("dumper", [yaml.SafeDumper, _NoAliases])
def test_memoized_dump_equals_pyyaml(dumper: type[yaml.SafeDumper], sort_keys: bool) -> None:
    for _ in range(2):  # the second round is served from the cache
        for doc in _docs():
            options = {"sort_keys": sort_keys, "default_flow_style": False}
            assert yaml_render.dump(doc, Dumper=dumper, **options) == yaml.dump(doc, Dumper=dumper, **options)


def test_aliasing_is_part_of_the_key() -> None:
    shared = ["x"]
    aliased = yaml_render.dump({"a": shared, "b": shared}, Dumper=yaml.SafeDumper)
    copied = yaml_render.dump({"a": ["x"], "b": ["x"]}, Dumper=yaml.SafeDumper)
    assert "&id001" in aliased and "&id001" not in copied


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_render, "MAX_ENTRIES", 3)
    for i in range(10):
        yaml_render.dump({"i": i}, Dumper=yaml.SafeDumper)
    assert len(yaml_render._cache) <= 3
