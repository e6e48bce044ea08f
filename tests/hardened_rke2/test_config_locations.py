"""The policy/resource -> stack config key tables stay true to the config models, the example stacks and the
pack; key lookup in a stack file finds the line that sets the value, or its nearest present parent."""

from __future__ import annotations

import fnmatch
import typing
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from blueprint.config import STACK_CONFIG_MODELS
from hardened_rke2.config_locations import (
    CHILD_KEYS,
    COMPONENT_KEYS,
    LIST_ITEM,
    POLICY_KEYS,
    Locator,
    locate_key,
)
from hardened_rke2.pack_catalogue import load_catalogue
from hardened_rke2.preview import preview_project
from tests.support.paths import PACK_DIR, REPO_ROOT
from tests.support.stack_previews import PLATFORM_STACKS


def _models(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model inside an annotation (Optional, unions, tuples, lists, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _has_path(path: str) -> bool:
    """Whether a dotted camelCase key path exists in some stack kind's config model."""
    segments = [s.removesuffix(LIST_ITEM) for s in path.split(".")]
    for root in STACK_CONFIG_MODELS.values():
        models: list[type[BaseModel]] = [root]
        for segment in segments:
            fields = [f for m in models for f in m.model_fields.values() if f.alias == segment]
            if not fields:
                break
            models = [m for f in fields for m in _models(f.annotation)]
        else:
            return True
    return False


CHILD_PATHS = {f"{COMPONENT_KEYS[t]}.{sub}" for t, children in CHILD_KEYS.items() for _, sub in children}


@pytest.mark.parametrize(
    "key", sorted({*COMPONENT_KEYS.values(), *(k for _, k in POLICY_KEYS), *CHILD_PATHS})
)
def test_every_mapped_key_exists_in_the_config_models(key: str) -> None:
    assert _has_path(key), f"{key} is not a key of any stack kind's config model"


def test_the_model_walk_rejects_a_wrong_key() -> None:
    assert not _has_path("cluster.etcdd") and not _has_path("addons.neuvector.nope")


def test_every_component_the_example_stacks_register_is_mapped() -> None:
    types = {
        r.type
        for stack in PLATFORM_STACKS
        for r in preview_project(REPO_ROOT, stack).resources
        if r.type.startswith("hardened-rke2:")
    }
    assert types - set(COMPONENT_KEYS) == set()


def test_every_policy_pattern_names_a_policy_of_the_pack() -> None:
    names = list(load_catalogue(PACK_DIR).policies)
    assert [p for p, _ in POLICY_KEYS if not fnmatch.filter(names, p)] == []


STACK = """\
config:
  hardened-rke2:cluster:
    name: prod
    etcd:
      snapshotRetention: 18
  hardened-rke2:tenants:
    teams:
      - team: payments
        namespaces:
          - name: payments
          - name: payments-api
"""


@pytest.mark.parametrize(
    ("path", "names", "expected"),
    [
        ("cluster.etcd", [], (4, True, "hardened-rke2:cluster.etcd")),
        ("cluster.etcd.s3", [], (4, False, "hardened-rke2:cluster.etcd")),  # default: its parent's line
        ("addons", [], (1, False, "")),  # not in the file at all: `config:`
        (
            "tenants.teams[].namespaces[]",
            ["prod-tenant-payments-payments-api-limits", "prod-tenant-payments"],
            (11, True, "hardened-rke2:tenants.teams[team=payments].namespaces[name=payments-api]"),
        ),
        (
            "tenants.teams[].namespaces[]",
            ["prod-tenant-payments-payments-limits"],
            (10, True, "hardened-rke2:tenants.teams[team=payments].namespaces[name=payments]"),
        ),
        ("tenants.teams[]", ["prod-tenant-billing"], (7, False, "hardened-rke2:tenants.teams")),
    ],
)
def test_locate_key(path: str, names: list[str], expected: tuple[int, bool, str]) -> None:
    root = yaml.compose(STACK, Loader=yaml.SafeLoader)
    assert locate_key(root, "hardened-rke2", path, names) == expected


def test_a_tenant_namespace_resource_opens_on_its_namespace_item() -> None:
    result = preview_project(REPO_ROOT, "prod")
    locator = Locator(
        project=result.project,
        stack_file=result.stack_file,
        program_dir=result.program_dir,
        resources=result.resources,
    )
    lines = (REPO_ROOT / "stacks" / "Pulumi.prod.yaml").read_text(encoding="utf-8").splitlines()
    by_name = {r.name: r for r in result.resources}
    limits = locator.locate("namespace-limit-range", by_name["prod-tenant-payments-payments-api-limits"].urn)
    assert limits is not None and limits.present
    assert limits.key == "hardened-rke2:tenants.teams[team=payments].namespaces[name=payments-api]"
    assert lines[limits.line - 1].strip() == "- name: payments-api"
    project = locator.locate("rancher-project-quotas", by_name["prod-tenant-payments-project"].urn)
    assert project is not None and lines[project.line - 1].strip() == "- team: payments"
