"""Hundreds of generated bad `pulumi stack export` files through `hardened-rke2 audit`: every one exits 2 with
an error naming the file, never a traceback, never 1 (violations) or 3 (internal error).

The corpus is deterministic: a valid export (which passes, exit 0) cut short at many offsets, with non-UTF-8
bytes, nested too deep, and with every structural field of the envelope and of a resource given a value of
each wrong JSON type. A failure names the exact input.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2.cli import main
from tests.support.mini_pack import PACK, pod
from tests.support.state_export import export, plaintext, resource, stack_resource

POD = "kubernetes:core/v1:Pod"
_WRONG = {"number": 7, "string": "x", "list": [1], "object": {"a": 1}, "bool": True, "float": 1.5}
# Each structural field and the JSON types it accepts (null is always its zero value, as for Go's decoder).
_RESOURCE_FIELDS = {
    "urn": {"string"},
    "type": {"string"},
    "custom": {"bool"},
    "delete": {"bool"},
    "protect": {"bool"},
    "pendingReplacement": {"bool"},
    "external": {"bool"},
    "taint": {"bool"},
    "retainOnDelete": {"bool"},
    "id": {"string"},
    "parent": {"string"},
    "provider": {"string"},
    "dependencies": {"list"},
    "aliases": {"list"},
    "ignoreChanges": {"list"},
    "additionalSecretOutputs": {"list"},
    "propertyDependencies": {"object"},
    "customTimeouts": {"object"},
    "inputs": {"object"},
    "outputs": {"object"},
}
_ENVELOPE_FIELDS = {
    ("version",): {"number"},
    ("features",): {"list"},
    ("deployment",): {"object"},
    ("deployment", "manifest"): {"object"},
    ("deployment", "resources"): {"list"},
    ("deployment", "pending_operations"): {"list"},
    ("deployment", "secrets_providers"): {"object"},
}


def _good() -> dict[str, Any]:
    web = resource(POD, "web", {**pod(drop=["ALL"]), "token": plaintext("t")}, parent="", dependencies=[])
    return export([stack_resource(), web])


def _corpus() -> Iterator[tuple[str, bytes]]:
    good = json.dumps(_good()).encode()
    for cut in range(1, len(good), max(1, len(good) // 40)):
        yield f"truncated-at-{cut}", good[:cut]
    for i, junk in enumerate([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]):
        for pos in (0, 1, len(good) // 2, len(good) - 1):
            yield f"not-utf8-{i}-at-{pos}", good[:pos] + junk + good[pos:]
    for depth in (300, 1000, 50_000):
        deep = _good()
        deep["deployment"]["resources"][1]["inputs"]["deep"] = "@"
        yield f"nested-{depth}", json.dumps(deep).replace('"@"', "[" * depth + "]" * depth).encode()
    yield "empty-file", b""
    yield "whitespace", b"   \n"
    yield "yaml-not-json", b"version: 3\ndeployment: {}\n"
    yield "duplicate-key", b'{"version": 3, "version": 3, "deployment": {}}'
    yield "nan", json.dumps(_good()).replace('"ALL"', "NaN", 1).encode()
    for path, ok in _ENVELOPE_FIELDS.items():
        for kind, value in _WRONG.items():
            if kind in ok or (kind == "float" and "number" in ok and path != ("version",)):
                continue
            doc = _good()
            target = doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            yield f"{'.'.join(path)}-{kind}", json.dumps(doc).encode()
    for field, ok in _RESOURCE_FIELDS.items():
        for kind, value in _WRONG.items():
            if kind in ok:
                continue
            doc = _good()
            doc["deployment"]["resources"][1][field] = copy.deepcopy(value)
            yield f"resource.{field}-{kind}", json.dumps(doc).encode()


_CASES = list(_corpus())


def test_the_good_export_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(_good()), encoding="utf-8")
    assert main(["audit", "--state", str(state), "--policy-pack", str(PACK)]) == 0, capsys.readouterr()


def test_the_corpus_is_large() -> None:
    assert len(_CASES) >= 150


@pytest.mark.parametrize(("case", "content"), _CASES, ids=[c[0] for c in _CASES])
def test_bad_export_exits_2_with_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, content: bytes
) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(content)
    code = main(["audit", "--state", str(state), "--policy-pack", str(PACK)])
    out, err = capsys.readouterr()
    assert code == 2, (case, out[-500:], err[-500:])
    assert err.startswith(f"error: {state}") and "Traceback" not in out + err, err[-800:]
