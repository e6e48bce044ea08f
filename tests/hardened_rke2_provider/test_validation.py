"""Bad arguments from any language get the Python API's problems (`path: message (fix: …)`), never a
traceback, and nothing is registered."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import errors_pb2, status_pb2
from pydantic import ValidationError

from components.addons import preflight_problems
from components.cluster import HardenedClusterArgs
from components.problems import ConfigProblems
from components.tenancy.args import parse_team_args
from components.validation_errors import validation_problems
from tests.support.provider_harness import provider_harness
from tests.support.stack_configs import stack_values

PROD = stack_values("prod")
CLUSTER = "hardened-rke2:cluster:HardenedCluster"
AUDIT_LOGGING = {"output": {"type": "syslog", "host": "siem.example.com"}}


def construct_error(type_: str, inputs: dict[str, Any]) -> grpc.RpcError:
    harness = provider_harness()
    assert harness.recording is not None
    before = len(harness.recording.captured)
    with pytest.raises(grpc.RpcError) as err:
        harness.construct(type_, "bad", inputs)
    assert len(harness.recording.captured) == before, "a rejected Construct registered resources"
    return err.value


def property_errors(error: grpc.RpcError) -> dict[str, str]:
    """The structured `InputPropertiesError` details the engine shows under each property."""
    raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert raw, "no structured property errors"
    status = status_pb2.Status.FromString(raw)
    details = errors_pb2.InputPropertiesError()
    assert status.details[0].Unpack(details)
    return {e.property_path: e.reason for e in details.errors}


def bad_cluster() -> dict[str, Any]:
    cluster = {**PROD["cluster"], "name": "Prod_Cluster", "tlsMinVersion": "VersionTLS10"}
    cluster["nodePools"] = [{**cluster["nodePools"][0], "quantity": 2}]  # even etcd count
    return cluster


def test_a_bad_cluster_gets_the_python_apis_problems() -> None:
    inputs = bad_cluster()
    with pytest.raises(ValidationError) as python_err:
        HardenedClusterArgs.model_validate(inputs)
    expected = ConfigProblems(
        validation_problems(python_err.value, HardenedClusterArgs), style="yaml"
    ).problems
    assert len(expected) >= 2

    error = construct_error(CLUSTER, inputs)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = error.details()
    assert details.splitlines()[0].startswith(f"invalid HardenedCluster arguments ({len(expected)} problems)")
    assert [line.removeprefix("  - ") for line in details.splitlines()[1:]] == expected
    assert "Traceback" not in details and 'File "' not in details
    errors = property_errors(error)
    assert [f"{path}: {reason}" for path, reason in errors.items()] == expected
    assert any("(fix: " in reason for reason in errors.values())


def test_a_misspelled_key_is_named_with_a_suggestion() -> None:
    inputs = {**PROD["cluster"], "kubernetesVersoin": "v1.34.1+rke2r1"}
    errors = property_errors(construct_error(CLUSTER, inputs))
    assert "did you mean 'kubernetesVersion'?" in errors["kubernetesVersoin"]


def test_constructor_inputs_are_checked_too() -> None:
    inputs = {**PROD["cluster"], "rancherLine": "2.7", "rancherUrl": "http://rancher.example.com"}
    errors = property_errors(construct_error(CLUSTER, inputs))
    assert set(errors) == {"rancherLine", "rancherUrl"}
    assert "unsupported Rancher line '2.7'" in errors["rancherLine"]


def test_addon_preflight_problems_come_back_as_problems() -> None:
    addons = {"monitoring": {"enabled": True}, "auditLogging": AUDIT_LOGGING}
    handle = {
        "name": "prod",
        "clusterV1Id": "c-m-abc",
        "kubernetesVersion": "v1.34.1+rke2r1",
        "rancherLine": "2.13",
    }
    from components.addons import AddonsArgs

    expected = preflight_problems(
        AddonsArgs.model_validate(addons),
        rancher_line="2.13",
        kubernetes_version="v1.34.1+rke2r1",
        rancher_url=None,
        has_kubernetes_provider=False,
        cluster_name="the cluster 'prod'",
    )
    assert expected
    errors = property_errors(
        construct_error("hardened-rke2:addons:ClusterAddons", {**addons, "clusterHandle": handle})
    )
    assert [f"{p}: {r}" for p, r in errors.items()] == [p.render(style="yaml") for p in expected]


def test_a_missing_handle_is_a_problem() -> None:
    errors = property_errors(
        construct_error("hardened-rke2:addons:ClusterAddons", {"auditLogging": AUDIT_LOGGING})
    )
    assert "clusterHandle" in errors and "handle" in errors["clusterHandle"]


def test_team_problems_read_as_the_team_report() -> None:
    team = {"team": "Payments!", "namespaces": [{"name": "api"}, {"name": "api"}]}
    with pytest.raises(ConfigProblems) as python_err:
        parse_team_args(team)
    errors = property_errors(
        construct_error(
            "hardened-rke2:tenancy:TeamTenancy",
            {**team, "clusterV1Id": "c-m-abc", "kubernetesProvider": "not-a-provider"},
        )
    )
    assert [f"{p}: {r}" for p, r in errors.items()] == list(python_err.value.problems)


def test_gitops_needs_the_local_cluster_provider() -> None:
    repo = PROD["gitops"]["repos"][0]
    errors = property_errors(construct_error("hardened-rke2:gitops:GitOpsRepo", repo))
    assert list(errors) == ["localClusterProvider"]


def test_an_unknown_value_for_a_setting_is_reported_not_guessed() -> None:
    from pulumi.runtime import rpc

    inputs = {**PROD["cluster"], "kubernetesVersion": rpc.UNKNOWN}
    errors = property_errors(construct_error(CLUSTER, inputs))
    assert "must be known" in errors["kubernetesVersion"]


def test_a_secret_passed_to_a_plain_setting_is_warned_about() -> None:
    from tests.support.provider_harness import secret

    harness = provider_harness()
    before = len(harness.engine.logs)
    harness.construct(
        CLUSTER,
        "warned",
        {**PROD["cluster"], "name": "warned", "kubernetesVersion": secret("v1.34.1+rke2r1")},
    )
    warnings = [m for m in harness.engine.logs[before:] if "passed as a secret" in m]
    assert warnings and "HardenedCluster.kubernetesVersion" in warnings[0]


def test_a_misspelled_constructor_input_is_suggested_too() -> None:
    errors = property_errors(
        construct_error(CLUSTER, {**PROD["cluster"], "rancherUlr": "https://r.example.com"})
    )
    assert list(errors) == ["rancherUlr"]
    assert errors["rancherUlr"].startswith("Extra inputs are not permitted (fix: did you mean 'rancherUrl'")


def test_encryption_key_rotation_needs_the_local_cluster_provider() -> None:
    inputs = {**PROD["cluster"], "operations": {"rotateEncryptionKeys": {"generation": 1}}}
    errors = property_errors(construct_error(CLUSTER, inputs))
    assert list(errors) == ["localClusterProvider"]
    assert "rotateEncryptionKeys patches the provisioning Cluster" in errors["localClusterProvider"]
