"""The fleet file: valid fleets resolve to dependency levels; every mistake is named by its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardened_rke2.fleet.model import FleetError, dependency_levels, find_cycle, load_fleet
from tests.support.fleets import EXAMPLE_FLEET, TEAM_DIR, team_entry, write_fleet
from tests.support.paths import REPO_ROOT


def test_the_example_fleet_orders_management_then_clusters_then_teams() -> None:
    fleet = load_fleet(EXAMPLE_FLEET)
    assert fleet.levels == (("management",), ("dev", "fips", "prod"), ("payments-dev",))
    team = fleet.stacks["payments-dev"]
    assert team.fqn == "acme/payments-team/dev"
    assert team.project_dir == TEAM_DIR
    assert team.stack_reference_outputs == TEAM_DIR / "platform-outputs.json"
    assert fleet.stacks["prod"].fqn == "acme/hardened-rke2/prod"
    assert fleet.policy_packs == (REPO_ROOT / "policy-packs" / "nsa-cisa-hardening",)


def _problems(path: Path) -> list[str]:
    with pytest.raises(FleetError) as err:
        load_fleet(path)
    return err.value.problems


def test_an_unknown_dependency_names_the_stack_the_field_and_the_known_names(tmp_path: Path) -> None:
    path = write_fleet(tmp_path, {"prod": {"kind": "cluster", "dependsOn": ["mgmt"]}})
    assert _problems(path) == ["stacks.prod.dependsOn.0: unknown stack 'mgmt' (fix: use one of prod)"]


def test_a_cycle_is_reported_with_its_path(tmp_path: Path) -> None:
    path = write_fleet(
        tmp_path,
        {
            "dev": {"kind": "cluster", "dependsOn": ["prod"]},
            "prod": {"kind": "cluster", "dependsOn": ["dev"]},
        },
    )
    assert _problems(path) == [
        "stacks.dev.dependsOn: dependency cycle: dev -> prod -> dev (fix: remove one of these dependencies)"
    ]


def test_a_cluster_cannot_wait_for_a_team(tmp_path: Path) -> None:
    path = write_fleet(
        tmp_path, {"prod": {"kind": "cluster", "dependsOn": ["team"]}, "team": team_entry(depends_on=())}
    )
    [problem] = _problems(path)
    assert problem.startswith(
        "stacks.prod.dependsOn.0: a cluster stack cannot depend on the team stack 'team'"
    )


def test_schema_errors_name_the_field_and_never_echo_values(tmp_path: Path) -> None:
    path = write_fleet(tmp_path, {"prod": {"kind": "clusterr", "dependson": ["x"]}})
    problems = _problems(path)
    assert any(p.startswith("stacks.prod.kind: ") for p in problems), problems
    assert any(p.startswith("stacks.prod.dependson: ") for p in problems), problems


def test_missing_projects_stacks_and_files_are_named(tmp_path: Path) -> None:
    path = write_fleet(
        tmp_path,
        {
            "nowhere": {"kind": "cluster", "project": str(tmp_path / "missing")},
            "staging": {"kind": "cluster"},
            "team": team_entry(depends_on=(), stackReferenceOutputs="nope.json"),
        },
    )
    problems = _problems(path)
    assert [p.split(":")[0] for p in problems] == [
        "stacks.nowhere.project",
        "stacks.staging.project",
        "stacks.team.stackReferenceOutputs",
    ]
    assert "Pulumi.staging.yaml" in problems[1]


def test_the_same_stack_twice_is_refused(tmp_path: Path) -> None:
    path = write_fleet(tmp_path, {"prod": {"kind": "cluster"}, "again": {"kind": "cluster", "stack": "prod"}})
    assert _problems(path) == [
        "stacks.again: the same stack (acme/hardened-rke2/prod) as 'prod' (fix: list each stack once)"
    ]


def test_hostile_yaml_is_refused_by_safe_yaml(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("stacks:\n  prod: {kind: cluster}\n  prod: {kind: cluster}\n", encoding="utf-8")
    [problem] = _problems(path)
    assert "duplicate key" in problem


def test_a_missing_fleet_file_is_a_fleet_error(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path / "fleet.yaml")
    assert "fleet.yaml" in problem


def test_levels_put_each_stack_after_all_of_its_dependencies() -> None:
    graph = {"a": (), "b": ("a",), "c": ("a", "b"), "d": (), "e": ("d", "c")}
    assert dependency_levels(graph) == (("a", "d"), ("b",), ("c",), ("e",))
    assert find_cycle(graph) is None
    assert find_cycle({"a": ("b",), "b": ("c",), "c": ("a",)}) == ["a", "b", "c"]
