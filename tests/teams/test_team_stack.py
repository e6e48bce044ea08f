"""The example team stack (stacks/teams/payments) runs under the mock engine with offline platform outputs."""

from __future__ import annotations

import gc
import json
import runpy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.tenancy import TeamAccessArgs
from hardened_rke2.capture import EchoMocks, ProgramRun
from tests.support.team_stack import (
    PLATFORM,
    PLATFORM_OUTPUTS,
    PROJECT_DIR,
    REPO,
    run_team_stack,
    stack_config,
    wire,
)

PROVIDER = "pulumi:providers:kubernetes"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
TOKEN = "rancher2:index/token:Token"


@pytest.fixture(autouse=True)
def _collect_failed_rpcs() -> Iterator[None]:
    # A run that fails inside an RPC leaves futures holding the exception; collect them here, inside the
    # test, rather than at an arbitrary later point of the session.
    yield
    gc.collect()


def test_project_file_is_a_separate_python_project() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == "payments-team"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    requirements = [
        line.strip()
        for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements == ["-e ../../.."]
    assert (PROJECT_DIR / "../../..").resolve() == REPO


def test_dev_stack_config_is_valid_and_secret_free() -> None:
    config = stack_config("dev")
    TeamAccessArgs.model_validate(config["payments-team:access"])
    assert config["payments-team:team"] in PLATFORM["tenants"]
    assert not any(key.startswith("rancher2:tokenKey") for key in config)
    assert "secure" not in json.dumps(config)


def test_dev_stack_deploys_into_the_platforms_namespaces_through_the_scoped_provider(mock_run) -> None:
    run = run_team_stack(mock_run, stack_config("dev"))
    token = run.one(TOKEN)
    assert token.inputs["clusterId"] == PLATFORM["clusterV1Id"]
    assert token.inputs["ttl"] == 28800
    provider = run.one(PROVIDER)
    assert provider.is_secret("kubeconfig")
    assert provider.inputs["clusterIdentifier"] == f"rancher-{PLATFORM['clusterV1Id']}"
    # The tenant space is the platform's: no project, namespace, quota, role template or binding here.
    assert {r.type for r in run.resources if r.type.startswith(("kubernetes:", "rancher2:"))} == {
        DEPLOYMENT,
        SERVICE,
        INGRESS,
        TOKEN,
    }
    for res in run.resources:
        if res.type.startswith("kubernetes:"):
            assert res.provider is not None and res.provider.startswith(provider.urn), res.name
            assert res.inputs["metadata"]["namespace"] == "payments-api"
    outputs = plain_outputs(run)
    assert outputs["namespaces"] == ["payments-api", "payments-jobs"]
    assert outputs["projectId"] == PLATFORM["tenants"]["payments"]["projectId"]
    assert outputs["url"] == "https://payments.apps.example.com/"


def plain_outputs(run: ProgramRun) -> dict[str, Any]:
    from hardened_rke2.capture import plain

    return plain(run.stack_outputs)


def test_sample_deployment_is_restricted_compliant(mock_run) -> None:
    run = run_team_stack(mock_run, stack_config("dev"))
    deployment = run.one(DEPLOYMENT).inputs
    assert deployment["metadata"]["namespace"] == "payments-api"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0 and pod["securityContext"]["runAsGroup"] > 0
    assert pod["securityContext"]["fsGroup"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in pod and "hostPID" not in pod and "hostIPC" not in pod
    assert all("hostPath" not in v for v in pod["volumes"])
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    # writable /tmp from an emptyDir, the root filesystem stays read-only
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    # pinned by digest, from a registry the platform allows
    image = container["image"]
    assert "@sha256:" in image and ":latest" not in image
    assert image.split("/")[0] in PLATFORM["allowedRegistries"]


def test_service_is_cluster_ip_and_ingress_has_tls(mock_run) -> None:
    run = run_team_stack(mock_run, stack_config("dev"))
    assert run.one(SERVICE).inputs["spec"]["type"] == "ClusterIP"
    ingress = run.one(INGRESS).inputs["spec"]
    hosts = {rule["host"] for rule in ingress["rules"]}
    assert ingress["tls"] == [{"hosts": sorted(hosts), "secretName": "payments-api-tls"}]


def test_broken_variant_renders_every_named_weakening(mock_run) -> None:
    run = run_team_stack(mock_run, stack_config("broken"))
    pod = run.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["privileged"] is True
    assert container["securityContext"]["runAsUser"] == 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is False
    assert container["image"] == "nginx:latest"
    assert pod["automountServiceAccountToken"] is True
    assert {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}} in pod["volumes"]
    assert "tls" not in run.one(INGRESS).inputs["spec"]
    # the tenant space is the platform's, and stays hardened whatever the team's stack says
    assert run.of_type("kubernetes:core/v1:Namespace") == []


def test_invalid_team_config_fails_with_every_problem_and_registers_nothing(mock_run) -> None:
    import pulumi

    config = stack_config("dev")
    config["payments-team:platformStack"] = "prod"
    config["payments-team:access"] = {"tokenTtlSeconds": 60}
    config["payments-team:team"] = "Payments"
    config["payments-team:workload"] = {
        **config["payments-team:workload"],
        "image": "registry.internal.example.com/payments/api:1.2.3",
    }
    errors: list[pulumi.RunError] = []

    def program() -> None:
        try:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")
        except pulumi.RunError as err:
            errors.append(err)

    run = mock_run(
        program,
        config=wire(config),
        mocks=EchoMocks(stack_references=PLATFORM_OUTPUTS),
        project="payments-team",
        stack="dev",
    )
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]
    (error,) = errors
    message = str(error)
    for expected in (
        "platformStack: 'prod' is not '<org>/<project>/<stack>'",
        "access.tokenTtlSeconds: Input should be greater than or equal to 900",
        "workload.image: 'registry.internal.example.com/payments/api:1.2.3' is not pinned by digest",
        "team: team name 'Payments' is not a DNS-1123 label",
    ):
        assert expected in message


@pytest.mark.parametrize("key", ["tenancy", "managementStack"])
def test_a_tenant_space_in_the_team_stack_is_refused_with_where_it_goes(mock_run, key: str) -> None:
    """A project member cannot label namespaces with Pod Security levels (rancher/webhook psalabels.go) or
    create role templates: the old team-side `tenancy` config is refused, pointing at the platform's."""
    import pulumi

    config = stack_config("dev")
    config[f"payments-team:{key}"] = (
        {"team": "payments"} if key == "tenancy" else "acme/hardened-rke2/management"
    )
    with pytest.raises(
        pulumi.RunError, match=rf"{key}: the tenant space is created by the platform's cluster"
    ):
        run_team_stack(mock_run, config)


def test_a_namespace_the_platform_did_not_give_the_team_fails(mock_run) -> None:
    import pulumi

    config = stack_config("dev")
    config["payments-team:workload"] = {**config["payments-team:workload"], "namespace": "kube-system"}
    with pytest.raises(pulumi.RunError, match=r"workload\.namespace: 'kube-system' is not one of the team's"):
        run_team_stack(mock_run, config)


def test_a_team_without_a_tenant_space_fails(mock_run) -> None:
    import pulumi

    config = stack_config("dev")
    config["payments-team:team"] = "billing"
    with pytest.raises(pulumi.RunError, match=r"team: 'billing' has no tenant space on this cluster"):
        run_team_stack(mock_run, config)


def test_image_from_a_registry_the_platform_does_not_allow_fails(mock_run) -> None:
    import pulumi

    config = stack_config("dev")
    digest = "sha256:" + "a" * 64
    config["payments-team:workload"] = {
        **config["payments-team:workload"],
        "image": f"ghcr.io/x/api@{digest}",
    }
    with pytest.raises(pulumi.RunError, match=r"registry 'ghcr\.io' is not allowed on this cluster"):
        run_team_stack(mock_run, config)


def test_missing_platform_outputs_are_reported(mock_run) -> None:
    with pytest.raises(LookupError, match="StackReference 'acme/hardened-rke2/prod' has no offline outputs"):
        run_team_stack(mock_run, stack_config("dev"), references={})
