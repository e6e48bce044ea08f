"""The capture harness records what the engine would receive; everything else builds on it."""

from __future__ import annotations

import pulumi
import pulumi_rancher2 as rancher2
import pytest

from hardened_rke2.capture import UNKNOWN, EchoMocks, plain


def _program() -> None:
    parent = pulumi.ComponentResource("test:index:Parent", "parent")
    cluster = rancher2.ClusterV2(
        "c",
        name="c",
        kubernetes_version="v1.33.5+rke2r1",
        opts=pulumi.ResourceOptions(
            parent=parent, protect=True, custom_timeouts=pulumi.CustomTimeouts(create="90m")
        ),
    )
    rancher2.SecretV2(
        "s",
        cluster_id=cluster.cluster_v1_id,
        name="s",
        namespace="fleet-default",
        data={"k": pulumi.Output.secret("v")},
    )
    pulumi.export("secretOut", pulumi.Output.secret("x"))


def test_records_types_options_and_secret_paths(mock_run) -> None:
    run = mock_run(_program)
    cluster = run.one("rancher2:index/clusterV2:ClusterV2")
    assert cluster.protect is True
    assert cluster.custom_timeouts == {"create": "90m"}
    assert cluster.parent == run.one("test:index:Parent").urn
    secret = run.one("rancher2:index/secretV2:SecretV2")
    assert secret.is_secret("data.k")
    assert not secret.is_secret("name")
    assert secret.inputs["data"] == {"k": "v"}
    # A first preview does not know computed outputs: the v1 id is unknown, exactly as in `pulumi preview`.
    assert secret.inputs["clusterId"] == UNKNOWN
    assert cluster.urn in secret.dependencies
    assert run.stack_outputs["secretOut"] != "x"  # still wrapped as a secret
    assert plain(run.stack_outputs["secretOut"]) == "x"


def test_extra_outputs_supply_computed_values(mock_run) -> None:
    mocks = EchoMocks(
        extra_outputs={"rancher2:index/clusterV2:ClusterV2": lambda a: {"clusterV1Id": "c-m-1"}}
    )
    run = mock_run(_program, mocks=mocks)
    assert run.one("rancher2:index/secretV2:SecretV2").inputs["clusterId"] == "c-m-1"


def test_runs_are_isolated(mock_run) -> None:
    first = mock_run(_program)
    second = mock_run(_program)
    assert [r.urn for r in first.resources] == [r.urn for r in second.resources]


def test_program_errors_propagate(mock_run) -> None:
    def broken() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        mock_run(broken)
