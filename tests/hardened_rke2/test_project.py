"""A project and its stack config are read like the CLI reads them: Pulumi.yaml, wire config, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardened_rke2.capture import plain
from hardened_rke2.preview import preview_project
from hardened_rke2.project import (
    PreviewUsageError,
    find_project_dir,
    load_stack_config,
    read_project,
    wire_value,
)

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = FIXTURES / "mini_project"


def test_project_file_is_read_like_the_cli() -> None:
    project = read_project(PROJECT)
    assert project.name == "mini"
    assert project.main == PROJECT / "prog"
    assert project.stack_config_dir == PROJECT / "stacks"
    assert project.config_defaults == {"mini:replicas": 2}
    assert find_project_dir(PROJECT / "prog") == PROJECT


def test_stack_config_becomes_wire_config() -> None:
    cfg = load_stack_config(read_project(PROJECT), "dev")
    assert cfg.wire["mini:namespace"] == "team-a"
    assert cfg.wire["mini:replicas"] == "2"  # project default, as a string
    assert json.loads(cfg.wire["mini:labels"]) == {"team": "a", "tier": 1}
    assert cfg.secret_keys == []
    assert wire_value(True) == "true" and wire_value(3) == "3" and wire_value([1, "a"]) == '[1,"a"]'


def test_encrypted_values_need_to_be_supplied() -> None:
    project = read_project(PROJECT)
    with pytest.raises(PreviewUsageError, match=r"mini:token.*--secret-config"):
        load_stack_config(project, "encrypted")
    secrets = {"mini:token": "s3cret", "kubernetes:kubeconfig": "apiVersion: v1"}
    cfg = load_stack_config(project, "encrypted", secret_values=secrets)
    assert cfg.secret_keys == ["kubernetes:kubeconfig", "mini:token"] and cfg.wire["mini:token"] == "s3cret"
    result = preview_project(
        PROJECT, "encrypted", secret_values={"token": "s3cret", "kubernetes:kubeconfig": "apiVersion: v1"}
    )
    assert result.status == "ok"
    # supplied secrets stay secrets in the program, and in the default provider's inputs
    assert result.stack_outputs["token"] != "s3cret" and plain(result.stack_outputs["token"]) == "s3cret"
    kubeconfig = result.default_providers[0].props["kubeconfig"]
    assert kubeconfig != "apiVersion: v1" and plain(kubeconfig) == "apiVersion: v1"


def test_nested_encrypted_values_are_located(tmp_path: Path) -> None:
    # `pulumi config set --secret --path db.password ...` nests `secure:` inside a structured value
    (tmp_path / "Pulumi.yaml").write_text("name: mini\nruntime: python\n")
    (tmp_path / "Pulumi.nested.yaml").write_text(
        "config:\n  mini:db:\n    host: db.example.com\n    password:\n      secure: AAAB\n"
        "    replicas:\n      - token:\n          secure: AAAC\n"
    )
    with pytest.raises(PreviewUsageError) as info:
        load_stack_config(read_project(tmp_path), "nested")
    assert "mini:db (at password, replicas[0].token; give the whole value)" in str(info.value)


def test_unknown_stack_lists_the_known_ones() -> None:
    with pytest.raises(PreviewUsageError, match=r"stack 'nope'.*stacks here: .*dev"):
        preview_project(PROJECT, "nope")
