"""The one loader for every YAML/JSON file the offline engine reads, with named limits.

Stack files, `Pulumi.yaml`, `--stack-reference-outputs`, `--secret-config`, `--policy-pack-config` and the
pack's `PulumiPolicy.yaml` all go through `load_file` (or `load_text`). A file that breaks a limit is an
input error (`InputFileError`, a `ValueError`), answered in milliseconds, never a traceback or a hang:

- `MAX_FILE_BYTES`: larger files are refused before they are read;
- the text must be UTF-8 (an undecodable byte is reported with its offset);
- `MAX_DEPTH`: nesting deeper than this is refused while composing (PyYAML and `json` recurse);
- `MAX_EXPANDED_NODES`: the number of nodes the document would have once every alias is expanded
  (an "alias bomb" of a few KB expands to billions); counted on the composed graph before anything is
  constructed;
- duplicate keys in one mapping are refused with both line numbers (YAML would silently keep the last);
- `.nan` / `.inf` (and JSON `NaN` / `Infinity`) are refused: no setting takes a non-finite number.

Machine-written JSON that is larger and deeper than hand-written config (`pulumi stack export` output, read
by `hardened-rke2 audit`) goes through `load_json_file` with limits of its own (`state_file.MAX_STATE_*`).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Largest file read (4 MiB): stack and reference files are a few KB."""
MAX_DEPTH = 64
"""Deepest nesting of mappings/sequences accepted (stack config nests about 8 levels)."""
MAX_EXPANDED_NODES = 200_000
"""Most nodes a document may have once aliases are expanded (the `prod` stack has about 600)."""


class InputFileError(ValueError):
    """A file the user gave cannot be used: unreadable, too large, not UTF-8, not valid YAML/JSON, or
    breaking a limit. The message names the file and, where known, the line."""


class _LimitError(yaml.YAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts nesting while composing (before PyYAML's recursion can overflow)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _LimitError(
                    f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep (limit MAX_DEPTH)"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_graph(root: Node) -> None:
    """Duplicate keys, and the alias-expanded size, on the composed node graph (each node visited once)."""
    expanded: dict[int, int] = {}
    # Iterative post-order walk: the graph is at most MAX_DEPTH deep, but stays cheap for wide documents.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in expanded and not done:
            continue
        if isinstance(node, ScalarNode):
            expanded[key] = 1
            continue
        children: list[Node]
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:  # pragma: no cover - composer yields only these three
            children = []
        if not done:
            if isinstance(node, MappingNode):
                _check_duplicates(node)
            expanded[key] = -1  # in progress
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in expanded)
            continue
        sizes = [expanded.get(id(c), 1) for c in children]
        if -1 in sizes:
            raise _LimitError(f"line {node.start_mark.line + 1}: an alias refers to a node that contains it")
        total = 1 + sum(sizes)
        expanded[key] = total
        if total > MAX_EXPANDED_NODES:
            raise _LimitError(
                f"line {node.start_mark.line + 1}: aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                "(limit MAX_EXPANDED_NODES; an alias bomb?)"
            )


def _check_duplicates(node: MappingNode) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key_node, _value in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag.endswith(":merge"):
            continue
        ident = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if ident in seen:
            raise _LimitError(
                f"line {line}: duplicate key {key_node.value!r} (first at line {seen[ident]}); "
                "YAML would silently keep the last value"
            )
        seen[ident] = line


def _check_finite(value: Any, path: str = "") -> None:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            raise _LimitError(f"{p or 'the document'}: {v!r} is not a finite number")
        if isinstance(v, dict):
            stack.extend((x, f"{p}.{k}" if p else str(k)) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{p}[{i}]") for i, x in enumerate(v))


def _load_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_graph(root)
        data = loader.construct_document(root)
    finally:
        loader.dispose()
    _check_finite(data)
    return data


def _reject_constant(name: str) -> Any:
    raise _LimitError(f"{name} is not a finite number")


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _LimitError(f"duplicate key {k!r}; JSON parsers would silently keep the last value")
        out[k] = v
    return out


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _json_depth_ok(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Cheap upper bound on JSON nesting (brackets inside strings only make it stricter)."""
    depth = deepest = 0
    for ch in _NOT_BRACKETS.sub("", text):  # the brackets alone: the loop is over far fewer characters
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest <= max_depth


def _load_json(text: str, max_depth: int = MAX_DEPTH, limit_name: str = "MAX_DEPTH") -> Any:
    if not _json_depth_ok(text, max_depth):
        raise _LimitError(f"nested more than {max_depth} levels deep (limit {limit_name})")
    return json.loads(text, object_pairs_hook=_json_pairs, parse_constant=_reject_constant)


def load_json_file(
    path: str | os.PathLike[str],
    what: str,
    *,
    max_bytes: int,
    max_depth: int,
    limit_names: tuple[str, str] = ("MAX_FILE_BYTES", "MAX_DEPTH"),
) -> Any:
    """A JSON-only file (no YAML fallback) under its own size and depth limits, named in the errors:
    for machine-written files larger and deeper than hand-written config (e.g. `pulumi stack export`)."""
    text = read_text(path, what, max_bytes=max_bytes, limit_name=limit_names[0])
    try:
        return _load_json(text, max_depth, limit_names[1])
    except _LimitError as e:
        raise InputFileError(f"{path}: {e}") from None
    except json.JSONDecodeError as e:
        raise InputFileError(
            f"{path}: {what} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    except RecursionError:  # belt and braces: the depth check above should make this unreachable
        raise InputFileError(f"{path}: nested too deeply") from None


def load_text(text: str, source: str = "<input>", *, json_first: bool = False) -> Any:
    """Parse YAML (or JSON first, falling back to YAML, when `json_first`) under the limits above."""
    if len(text) > MAX_FILE_BYTES:
        raise InputFileError(f"{source}: larger than {MAX_FILE_BYTES:,} bytes (limit MAX_FILE_BYTES)")
    try:
        if json_first:
            try:
                return _load_json(text)
            except json.JSONDecodeError:
                pass  # not JSON: YAML below (JSON is also YAML, with the same limits)
        return _load_yaml(text)
    except _LimitError as e:
        raise InputFileError(f"{source}: {e}") from None
    except yaml.YAMLError as e:
        raise InputFileError(f"{source}: not valid YAML ({_one_line(e)})") from None
    except RecursionError:  # belt and braces: the limits above should make this unreachable
        raise InputFileError(f"{source}: nested too deeply") from None


def read_text(
    path: str | os.PathLike[str],
    what: str = "file",
    *,
    max_bytes: int = MAX_FILE_BYTES,
    limit_name: str = "MAX_FILE_BYTES",
) -> str:
    """A file's text: refused when missing, a directory, larger than `max_bytes` or not UTF-8."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise InputFileError(f"{p}: {what} is a directory, not a file")
        if size > max_bytes:
            raise InputFileError(
                f"{p}: {what} is {size:,} bytes, larger than {max_bytes:,} (limit {limit_name})"
            )
        with p.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise InputFileError(f"{p}: cannot read {what} ({e.strerror or e})") from None
    if len(raw) > max_bytes:  # grew while reading, or a special file
        raise InputFileError(f"{p}: {what} is larger than {max_bytes:,} bytes (limit {limit_name})")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputFileError(f"{p}: {what} is not UTF-8 (invalid byte at offset {e.start})") from None


def load_file(path: str | os.PathLike[str], what: str = "file", *, json_first: bool = False) -> Any:
    """`read_text` then `load_text`: the one way the offline engine reads a YAML/JSON input file."""
    return load_text(read_text(path, what), f"{path}", json_first=json_first)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())
