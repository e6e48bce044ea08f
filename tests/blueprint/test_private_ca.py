"""Rancher behind a private CA: the CA travels from config to every kubeconfig (issue 10, defect 6).

The management stack exports `rancherCaCerts`; a cluster stack takes it as `rancher.caCerts` (and the
rancher2 provider as `rancher2:caCerts`, terraform-provider-rancher2 rancher2/provider.go:71-75) and exports
it again; a team stack reads that output. Every kubeconfig the components build for Rancher's proxy must
carry it as base64 `certificate-authority-data` and stay a Pulumi secret. Before this change the cluster
stack had no CA setting and its kubeconfigs had only `server`, so with a private CA every Kubernetes
resource of the stack failed TLS verification.
"""

from __future__ import annotations

import base64
import runpy
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from blueprint.config import StackConfigError, load_stack_config
from hardened_rke2.capture import EchoMocks, ProgramRun, RecordingMonitor, run_program
from tests.support.paths import REPO_ROOT
from tests.support.stack_configs import stack_values, wire_config

PEM = (REPO_ROOT / "tests" / "support" / "private_ca.pem").read_text()
CA_DATA = base64.b64encode(PEM.encode()).decode()
PROVIDER = "pulumi:providers:kubernetes"
TOKEN = "rancher2:index/token:Token"
MOCKS = EchoMocks(
    extra_outputs={
        "rancher2:index/clusterV2:ClusterV2": lambda a: {"clusterV1Id": "c-m-12345"},
        TOKEN: lambda a: {"token": "kubeconfig-u-1:abcdef"},
    }
)


@pytest.fixture(autouse=True)
def _no_ca_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("RANCHER_CA_CERTS", raising=False)
    yield


def _main() -> None:
    runpy.run_module("blueprint.__main__", run_name="__main__")


def _private_ca_prod(provider_ca: str | None = PEM, own_ca: str | None = PEM) -> dict[str, str]:
    values = stack_values("prod")  # prod also manages Fleet objects: the local-cluster provider too
    if own_ca is not None:
        values["rancher"]["caCerts"] = own_ca
    config = wire_config(values)
    if provider_ca is not None:
        config["rancher2:caCerts"] = provider_ca
    return config


def _run(config: dict[str, str], monitor: RecordingMonitor | None = None) -> ProgramRun:
    return run_program(
        _main, project="hardened-rke2", stack="prod", config=config, mocks=MOCKS, monitor=monitor
    )


def _kubeconfigs(run: ProgramRun) -> dict[str, dict[str, Any]]:
    providers = [r for r in run.resources if r.type == PROVIDER and "kubeconfig" in r.inputs]
    assert providers
    for provider in providers:
        assert provider.is_secret("kubeconfig"), provider.name
    return {p.name: yaml.safe_load(p.inputs["kubeconfig"]) for p in providers}


def test_every_kubeconfig_of_a_private_ca_cluster_stack_carries_the_ca_and_stays_secret() -> None:
    run = _run(_private_ca_prod())
    kubeconfigs = _kubeconfigs(run)
    assert set(kubeconfigs) == {"prod-k8s", "prod-gitops-local"}
    for name, kubeconfig in kubeconfigs.items():
        (cluster,) = kubeconfig["clusters"]
        assert cluster["cluster"]["certificate-authority-data"] == CA_DATA, name
        assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode() == PEM
        assert "insecure-skip-tls-verify" not in cluster["cluster"]
    out = run.stack_outputs
    assert out["rancherCaCerts"] == PEM  # for team stacks
    assert out["kubeconfig"][rpc._special_sig_key] == rpc._special_secret_sig
    exported = yaml.safe_load(out["kubeconfig"]["value"])
    assert exported["clusters"][0]["cluster"]["certificate-authority-data"] == CA_DATA


def test_the_provider_ca_alone_is_used_too() -> None:
    kubeconfigs = _kubeconfigs(_run(_private_ca_prod(own_ca=None)))
    assert all(
        k["clusters"][0]["cluster"]["certificate-authority-data"] == CA_DATA for k in kubeconfigs.values()
    )


def test_a_publicly_trusted_rancher_gets_no_ca_data() -> None:
    run = _run(_private_ca_prod(provider_ca=None, own_ca=None))
    assert all(
        "certificate-authority-data" not in k["clusters"][0]["cluster"] for k in _kubeconfigs(run).values()
    )
    assert "rancherCaCerts" not in run.stack_outputs


@pytest.mark.parametrize(
    ("provider_ca", "expected"),
    [
        (None, "rancher.caCerts: the rancher2 provider is not given this CA"),
        (
            PEM.replace("MIIB", "MIIC", 1),
            "rancher.caCerts: differs from the rancher2 provider's CA",
        ),
    ],
)
def test_the_rancher2_provider_must_trust_the_same_ca(provider_ca: str | None, expected: str) -> None:
    monitor = RecordingMonitor(MOCKS)
    with pytest.raises(pulumi.RunError) as info:
        _run(_private_ca_prod(provider_ca=provider_ca), monitor=monitor)
    text = str(info.value)
    assert expected in text and "(fix: " in text
    assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not a certificate", "rancher.caCerts: caCerts is not a PEM certificate"),
        (PEM + "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "contains a private key"),
        ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "not a PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 1 is not valid"),
        (PEM + "trailing", "text outside its PEM certificates"),
    ],
)
def test_ca_certs_must_be_pem_certificates(value: str, message: str) -> None:
    values = stack_values("prod")
    values["rancher"]["caCerts"] = value
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    (problem,) = [p for p in info.value.problems if p.startswith("rancher.caCerts")]
    assert message in problem and "(fix: paste the CA's PEM" in problem


def test_a_team_stack_trusts_the_ca_its_platform_stack_exports(mock_run) -> None:
    from tests.support.team_stack import PLATFORM_OUTPUTS, PROJECT_DIR, stack_config, wire

    references = {k: dict(v) for k, v in PLATFORM_OUTPUTS.items()}
    references["acme/hardened-rke2/prod"]["rancherCaCerts"] = PEM
    run = mock_run(
        lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__"),
        config=wire(stack_config("dev")),
        mocks=EchoMocks(extra_outputs={TOKEN: lambda a: {"token": "t-1:x"}}, stack_references=references),
        project="payments-team",
        stack="dev",
    )
    (kubeconfig,) = _kubeconfigs(run).values()
    assert kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"] == CA_DATA


def test_a_team_ca_needs_the_team_rancher2_provider_to_trust_it(mock_run) -> None:
    from tests.support.team_stack import PLATFORM_OUTPUTS, PROJECT_DIR, stack_config, wire

    config = stack_config("dev")
    config["payments-team:access"] = {**config["payments-team:access"], "certificateAuthority": PEM}
    errors: list[pulumi.RunError] = []

    def program() -> None:
        try:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")
        except pulumi.RunError as err:
            errors.append(err)

    mocks = EchoMocks(extra_outputs={TOKEN: lambda a: {"token": "t-1:x"}}, stack_references=PLATFORM_OUTPUTS)
    run = mock_run(program, config=wire(config), mocks=mocks, project="payments-team", stack="dev")
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]
    (error,) = errors
    assert "access.certificateAuthority: the rancher2 provider is not given this CA" in str(error)
    config["rancher2:caCerts"] = PEM
    run = mock_run(program, config=wire(config), mocks=mocks, project="payments-team", stack="dev")
    (kubeconfig,) = _kubeconfigs(run).values()
    assert kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"] == CA_DATA
