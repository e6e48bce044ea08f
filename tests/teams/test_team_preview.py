"""`hardened-rke2 preview` of the team stack with the NSA/CISA pack: dev passes, the broken one is blocked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from hardened_rke2.capture import plain
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import load_stack_reference_outputs

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "stacks" / "teams" / "payments"
PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
DOCS = REPO / "docs" / "teams.md"

# What the pack reports for Pulumi.broken.yaml (documented in docs/teams.md), at any enforcement level.
BROKEN_IDS = {
    "NSA-1.1",  # runAsNonRoot false
    "NSA-1.2",  # runAsUser 0
    "NSA-1.3",  # runAsGroup / fsGroup 0
    "NSA-1.6",  # writable root filesystem
    "NSA-1.7",  # (same finding: writable paths belong on mounted volumes)
    "NSA-1.8",  # :latest tag (and, with the registry allow-list, docker.io)
    "NSA-1.11",  # privileged
    "NSA-1.14",  # hostPath volume
    "NSA-1.15",  # allowPrivilegeEscalation true
    "NSA-1.20",  # service account token automounted
    "NSA-2.17",  # Ingress without TLS
}
# Always mandatory: the restricted Pod Security Standard (which the namespace enforces anyway) and TLS.
# The pack's default level for the others may change; the platform sets levels in its pack config.
BROKEN_BLOCKING = {"NSA-1.1", "NSA-1.2", "NSA-1.11", "NSA-1.14", "NSA-1.15", "NSA-2.17"}


def nsa_ids(violations) -> set[str]:
    return {t for v in violations for t in v.tags if re.fullmatch(r"NSA-\d+\.\d+", t)}


def preview(stack: str, *, team_config: bool) -> PreviewResult:
    """As `hardened-rke2 preview --project stacks/teams/payments --stack <stack> --policy-pack …
    [--policy-pack-config …/policy-pack-config.json] --stack-reference-outputs …/platform-outputs.json`."""
    return preview_project(
        PROJECT_DIR,
        stack,
        policy_packs=[PACK],
        policy_pack_configs=[PROJECT_DIR / "policy-pack-config.json" if team_config else None],
        stack_reference_outputs=load_stack_reference_outputs(PROJECT_DIR / "platform-outputs.json"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("team_config", [False, True], ids=["pack-defaults", "team-policy-config"])
def test_dev_team_stack_has_no_mandatory_violations(team_config: bool) -> None:
    result = preview("dev", team_config=team_config)
    assert result.status == "ok", result.error or result.problems
    assert result.analysis is not None and result.analysis.resources_analyzed >= len(result.resources)
    assert [f"{v.policy_name}: {v.message}" for v in result.analysis.mandatory] == []
    assert result.exit_code == 0
    types = {r.type for r in result.resources}
    assert {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:networking.k8s.io/v1:Ingress",
        "rancher2:index/token:Token",
    } <= types
    assert "rancher2:index/project:Project" not in types  # the platform's cluster stack creates it


@pytest.mark.slow
def test_broken_variant_fails_with_the_documented_checklist_ids() -> None:
    result = preview("broken", team_config=False)
    assert result.status == "ok", result.error or result.problems
    assert result.has_mandatory and result.exit_code != 0
    assert result.analysis is not None
    assert nsa_ids(result.violations) == BROKEN_IDS
    assert nsa_ids(result.analysis.mandatory) >= BROKEN_BLOCKING
    # every finding is about the workload; the tenant space itself stays clean
    assert {v.resource_type for v in result.violations} <= {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:networking.k8s.io/v1:Ingress",
    }


@pytest.mark.slow
def test_registry_allow_list_from_the_platform_blocks_docker_hub() -> None:
    result = preview("broken", team_config=True)
    assert result.analysis is not None
    (finding,) = result.analysis.by_policy("image-allowed-registries")
    assert "NSA-1.8" in finding.tags
    assert "registry.internal.example.com/" in finding.message


def test_docs_list_the_expected_ids_of_the_broken_variant() -> None:
    text = DOCS.read_text()
    section = text.split("## What the pack blocks", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"NSA-\d+\.\d+", section)) == BROKEN_IDS


@pytest.mark.slow
def test_named_tenancy_weakening_is_reported_and_metadata_carve_out_accepted(tmp_path: Path) -> None:
    """In the platform's cluster stack (`tenants`): `podSecurity.enforce: baseline` is allowed by the
    component and the pack blocks it (NSA-1.10); an internet egress rule is accepted because the metadata
    endpoint is carved out of it (NSA-2.6)."""
    project = tmp_path / "hardened-rke2"
    project.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", project / "stacks", ignore=shutil.ignore_patterns("teams"))
    shutil.copytree(REPO / "blueprint", project / "blueprint")
    config = yaml.safe_load((project / "stacks" / "Pulumi.prod.yaml").read_text())
    (team,) = config["config"]["hardened-rke2:tenants"]["teams"]
    team["podSecurity"] = {"enforce": "baseline"}
    team["namespaces"][0]["egress"].append({"name": "web", "cidr": "0.0.0.0/0", "ports": [{"port": 443}]})
    (project / "stacks" / "Pulumi.weak.yaml").write_text(yaml.safe_dump(config))
    result = preview_project(project, "weak", policy_packs=[PACK])
    assert result.analysis is not None
    assert {(v.policy_name, v.resource_name) for v in result.analysis.mandatory} == {
        ("namespace-pod-security-enforced", "prod-tenant-payments-payments-api"),
        ("namespace-pod-security-enforced", "prod-tenant-payments-payments-jobs"),
    }
    assert nsa_ids(result.analysis.mandatory) == {"NSA-1.10"}


@pytest.mark.slow
def test_offline_platform_outputs_match_what_the_platform_stacks_export() -> None:
    """platform-outputs.json stands in for the real prod cluster and management stacks: same keys, and the
    same values wherever the offline preview of those stacks knows them (ids are assigned by Rancher)."""
    offline = load_stack_reference_outputs(PROJECT_DIR / "platform-outputs.json")
    assert set(offline) == {"acme/hardened-rke2/prod"}  # the team stack reads only its cluster stack
    for ref, stack in (("acme/hardened-rke2/prod", "prod"),):
        exported = plain(preview_project(REPO, stack).stack_outputs)
        assert set(offline[ref]) <= set(exported), ref
        for key in (
            "allowedRegistries",
            "clusterName",
            "kubernetesVersion",
            "projectNetworkIsolation",
            "rancherUrl",
        ):
            if key in offline[ref]:
                assert offline[ref][key] == exported[key], (ref, key)
        # the team's tenant space: same teams and namespaces (the project id is assigned by Rancher)
        assert {t: v["namespaces"] for t, v in offline[ref]["tenants"].items()} == {
            t: v["namespaces"] for t, v in exported["tenants"].items()
        }
    assert "kubeconfig" not in offline["acme/hardened-rke2/prod"]  # teams never read the cluster kubeconfig


def test_invalid_team_config_is_an_invalid_config_result(tmp_path: Path) -> None:
    """A typo in the team's stack file: exit code 2 with every problem listed, nothing registered."""
    project = tmp_path / "payments"
    shutil.copytree(PROJECT_DIR, project)
    config = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    workload = config["config"]["payments-team:workload"]
    workload["namespce"] = workload.pop("namespace")
    (project / "Pulumi.typo.yaml").write_text(yaml.safe_dump(config))
    result = preview_project(
        project,
        "typo",
        stack_reference_outputs=load_stack_reference_outputs(project / "platform-outputs.json"),
    )
    assert (result.status, result.exit_code) == ("invalid-config", 2)
    assert any(p.startswith("workload.namespce: Extra inputs are not permitted") for p in result.problems)
    assert result.resources == []
