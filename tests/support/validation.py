"""Asserting WHICH rule rejected an input: a test for one rule must not pass because another one fired."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from components.validation_errors import validation_problems


def _contains_in_order(path: tuple[Any, ...], keys: tuple[Any, ...]) -> bool:
    it = iter(path)
    return all(any(part == key for part in it) for key in keys)


def rejected_at(call: Callable[[], Any], *keys: Any) -> list[str]:
    """`call()` must raise a ValidationError with a problem whose path holds `keys` in order (other parts,
    such as a discriminated union's tag or a parent prefix, may sit between them); returns the problems."""
    with pytest.raises(ValidationError) as info:
        call()
    problems = validation_problems(info.value)
    paths = [p.path for p in problems]
    assert any(_contains_in_order(tuple(path), keys) for path in paths), f"no problem at {keys}: {paths}"
    return [p.render() for p in problems]


def leading_path(override: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys a test override sets, down to the first level that sets more than one (or a list)."""
    path: list[str] = []
    node: Any = override
    while isinstance(node, Mapping) and len(node) == 1:
        key, node = next(iter(node.items()))
        path.append(key)
    return tuple(path)
