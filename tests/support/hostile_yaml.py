"""Hostile YAML documents shared by the input-hardening tests."""

from __future__ import annotations


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The classic "billion laughs": ~5 KB that expands to width**levels nodes."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"
