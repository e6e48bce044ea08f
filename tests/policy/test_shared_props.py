"""Decoding properties once per request (nsa_cisa.shared_props) changes speed, never answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

from hardened_rke2.analysis.results import AnalysisResult
from hardened_rke2.analysis.testing import analyze_stack
from hardened_rke2.preview import preview_project
from tests.support.paths import PACK_DIR, REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"


def _manifests() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted((FIXTURES / "pss").rglob("*.yaml")):
        for i, doc in enumerate(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d):
            if doc.get("kind") == "Pod":
                out.append({"type": "kubernetes:core/v1:Pod", "name": f"{path.stem}-{i}", "props": doc})
    return out


def _fingerprint(result: AnalysisResult) -> list[tuple[str, str, str, str]]:
    return sorted(
        (v.resource_name or "", v.policy_name, v.enforcement_level, v.message) for v in result.violations
    )


def _shared_props() -> Any:
    # A standalone copy of the module: its state lives on the SDK module, shared by every copy.
    spec = importlib.util.spec_from_file_location(
        "shared_props_under_test", PACK_DIR / "nsa_cisa" / "shared_props.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memoized_decoding_gives_identical_violations() -> None:
    shared_props = _shared_props()
    resources = _manifests()
    assert len(resources) > 20
    prod = preview_project(REPO_ROOT, "prod")  # the real program's resources, including unknowns
    stack = list(prod.resources)
    assert shared_props.install()
    try:
        fast = (
            _fingerprint(analyze_stack(PACK_DIR, resources)),
            _fingerprint(analyze_stack(PACK_DIR, stack)),
        )
        shared_props.uninstall()
        assert not shared_props.installed()
        slow = (
            _fingerprint(analyze_stack(PACK_DIR, resources)),
            _fingerprint(analyze_stack(PACK_DIR, stack)),
        )
    finally:
        shared_props.install()
    assert fast == slow
    assert fast[0], "the PSS fail fixtures must produce violations, or this comparison proves nothing"


def test_the_pack_entry_point_installs_it() -> None:
    assert "shared_props.install()" in (PACK_DIR / "__main__.py").read_text(encoding="utf-8")
