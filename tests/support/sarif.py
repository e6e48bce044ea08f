"""Validate SARIF documents against the vendored official SARIF 2.1.0 schema (tests/data/sarif/README.md)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from tests.support.paths import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


def sarif_errors(doc: dict[str, Any]) -> list[str]:
    """Every schema violation as `json/path: message` (empty when the document is valid)."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
