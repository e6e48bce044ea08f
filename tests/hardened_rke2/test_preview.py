"""The offline preview runs a project like the language host and drives the packs over what it registered."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hardened_rke2.analysis.errors import PolicyConfigError
from hardened_rke2.capture import plain
from hardened_rke2.preview import preview_project
from hardened_rke2.project import (
    PreviewUsageError,
    load_stack_config,
    load_stack_reference_outputs,
    read_project,
)

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = FIXTURES / "mini_project"
PACK = FIXTURES / "mini_pack"


def test_program_runs_like_the_language_host_and_leaves_no_trace() -> None:
    cwd, path = os.getcwd(), list(sys.path)
    result = preview_project(PROJECT, "dev")
    assert result.status == "ok" and result.exit_code == 0
    # cwd is the program folder and the folder is first on sys.path while it runs
    assert plain(result.stack_outputs)["cwd"] == "prog"
    assert plain(result.stack_outputs)["pathHead"] == "prog"
    assert os.getcwd() == cwd and sys.path == path
    assert "mini_program" not in sys.modules
    types = [r.type for r in result.resources]
    assert types[0] == "pulumi:pulumi:Stack"
    assert sorted(types[1:]) == sorted(
        [
            "kubernetes:core/v1:Namespace",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Pod",
        ]
    )
    assert result.analysis is None  # no pack given


def test_passing_stack_with_pack_analyzes_every_resource_and_default_provider() -> None:
    result = preview_project(PROJECT, "dev", policy_packs=[PACK])
    assert result.exit_code == 0 and result.violations == []
    assert [p.name for p in result.packs] == ["mini-pack"]
    [provider] = result.default_providers
    assert provider.type == "pulumi:providers:kubernetes" and provider.name.startswith("default_")
    # the engine's default provider gets the package's stack config as its inputs
    assert provider.props["namespace"] == "team-a"
    assert result.analysis is not None
    assert result.analysis.resources_analyzed == len(result.resources) + 1


def test_mandatory_violation_fails_the_preview() -> None:
    result = preview_project(PROJECT, "privileged", policy_packs=[PACK])
    assert result.exit_code == 1
    mandatory = [(v.policy_name, v.resource_name) for v in result.violations if v.is_mandatory]
    assert mandatory == [("no-privileged", "pod")]


def test_policy_pack_config_applies_per_pack() -> None:
    result = preview_project(
        PROJECT, "privileged", policy_packs=[PACK], policy_pack_configs=[{"all": "advisory"}]
    )
    assert result.exit_code == 0 and {v.enforcement_level for v in result.violations} == {"advisory"}


def test_policy_pack_config_file_errors_stop_before_the_program(tmp_path: Path) -> None:
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"min-replicas": {"minReplicas": "lots"}}))
    with pytest.raises(PolicyConfigError, match=r"min-replicas\.minReplicas"):
        preview_project(PROJECT, "dev", policy_packs=[PACK], policy_pack_configs=[str(cfg)])


def test_invalid_config_registers_nothing() -> None:
    result = preview_project(PROJECT, "bad", policy_packs=[PACK])
    assert result.status == "invalid-config" and result.exit_code == 2
    assert result.resources == [] and result.violations == []
    assert result.problems == [
        "namespace: 'Team-C' must be lowercase (fix: use 'team-c')",
        "replicas: must be >= 0 (fix: use 1 or more)",
    ]


def test_missing_required_config_is_bad_input_not_a_crash() -> None:
    # Pulumi's own ConfigMissingError (`Config.require`) is a problem of the stack's config: exit 2, not 3.
    result = preview_project(PROJECT, "broken")
    assert result.status == "invalid-config" and result.exit_code == 2
    assert any("mini:namespace" in p for p in result.problems)


def test_typed_project_config_is_validated_before_the_program_runs() -> None:
    with pytest.raises(
        PreviewUsageError,
        match="Stack 'mistyped' with configuration key 'replicas' must be of type 'integer'",
    ):
        preview_project(PROJECT, "mistyped")
    project = read_project(PROJECT)
    assert project.config_types["mini:replicas"]["type"] == "integer"
    typed = replace(
        project,
        config_types={**project.config_types, "mini:zones": {"type": "array", "items": {"type": "string"}}},
    )
    with pytest.raises(PreviewUsageError, match="Stack 'dev' is missing configuration value 'zones'"):
        load_stack_config(typed, "dev")


def test_stack_references_come_from_supplied_outputs() -> None:
    missing = preview_project(PROJECT, "peer")
    assert missing.status == "usage-error" and missing.exit_code == 2
    assert "org/platform/prod" in missing.error and "--stack-reference-outputs" in missing.error
    supplied = preview_project(
        PROJECT, "peer", stack_reference_outputs={"org/platform/prod": {"clusterName": "p1"}}
    )
    assert supplied.status == "ok" and plain(supplied.stack_outputs)["peerCluster"] == "p1"


@pytest.mark.slow
def test_subprocess_packs_give_the_same_preview() -> None:
    local = preview_project(PROJECT, "privileged", policy_packs=[PACK])
    remote = preview_project(PROJECT, "privileged", policy_packs=[PACK], policy_mode="subprocess")

    # registration order under the mock engine is not deterministic (nor is the engine's): compare sorted
    def key(v) -> str:
        return json.dumps(v.to_dict(), sort_keys=True)

    assert sorted(map(key, remote.violations)) == sorted(map(key, local.violations))
    assert {v.policy_name for v in remote.violations} == {"no-privileged", "min-replicas"}


def test_a_policy_that_raises_fails_the_preview_without_a_traceback() -> None:
    result = preview_project(PROJECT, "crash", policy_packs=[PACK])
    assert result.status == "error" and result.exit_code == 3
    assert "RuntimeError: policy bug" in result.error and "ConfigMap::crash" in result.error


def test_stack_policies_see_the_stack_exports() -> None:
    refs = {"org/platform/prod": {"clusterName": "p1"}}
    result = preview_project(PROJECT, "peer", policy_packs=[PACK], stack_reference_outputs=refs)
    [v] = [v for v in result.violations if v.policy_name == "stack-peer-export"]
    assert v.resource_type == "pulumi:pulumi:Stack" and v.phase == "analyze-stack"
    assert "peerCluster" in v.message and v.enforcement_level == "advisory"


def test_disabled_default_providers_fail_like_the_engine() -> None:
    result = preview_project(PROJECT, "nodefaults")
    assert result.status == "error" and result.exit_code == 3
    assert result.error.startswith("Default provider for 'kubernetes' disabled.")
    assert "must use an explicit provider (and 3 more)" in result.error


def test_stack_reference_outputs_can_be_marked_secret(tmp_path: Path) -> None:
    refs_file = tmp_path / "refs.yaml"
    refs_file.write_text(
        "org/platform/prod:\n"
        "  outputs: {clusterName: p1, kubeconfig: 'apiVersion: v1'}\n"
        "  secretOutputNames: [kubeconfig]\n"
    )
    result = preview_project(PROJECT, "peer", stack_reference_outputs=load_stack_reference_outputs(refs_file))
    outputs = result.stack_outputs
    assert (
        plain(outputs["peerKubeconfig"]) == "apiVersion: v1" and outputs["peerKubeconfig"] != "apiVersion: v1"
    )
    assert outputs["peerCluster"] == "p1"  # not marked: stays plain
