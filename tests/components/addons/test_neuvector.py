"""NeuVector add-on: hardened chart values (parsed from the registered AppV2), secrets, ordering."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.addons.neuvector import NAMESPACE, RKE2_CONTAINERD_SOCKET, NeuVector, NeuVectorArgs
from components.versions import RANCHER_LINES, pins_for
from tests.support.addons import (
    APP,
    K8S_PROVIDER,
    RANCHER_URL,
    apps,
    assert_app_contract,
    custom_resources,
    depends_on,
    gate_urn,
    mocks,
    program,
    values,
)
from tests.support.validation import leading_path, rejected_at


def run_neuvector(mock_run, args: dict[str, Any] | None = None, **handle_kw: Any):
    nv_args = NeuVectorArgs.model_validate(args or {})
    return mock_run(program(lambda h: NeuVector("nv", nv_args, h), **handle_kw), mocks=mocks())


def test_hardened_values(mock_run) -> None:
    run = run_neuvector(mock_run)
    app = apps(run)["neuvector"]
    v = values(app)
    assert v["controller"]["replicas"] == 3
    assert v["runtimePath"] == RKE2_CONTAINERD_SOCKET == "/run/k3s/containerd/containerd.sock"
    assert v["k3s"] == {"enabled": True, "runtimePath": RKE2_CONTAINERD_SOCKET}
    assert v["bootstrapPassword"] == "generated-Password-123!"
    assert v["controller"]["ranchersso"] == {"enabled": True}
    assert v["global"]["cattle"]["url"] == RANCHER_URL + "/"
    assert v["autoGenerateCert"] is True
    assert v["internal"] == {"autoGenerateCert": True, "autoRotateCert": True}
    assert v["admissionwebhook"] == {"type": "ClusterIP"}
    assert v["crdwebhook"] == {"enabled": True, "type": "ClusterIP"}
    assert v["leastPrivilege"] is True
    assert v["cve"]["scanner"]["enabled"] is True
    assert v["cve"]["updater"]["enabled"] is True
    assert v["cve"]["adapter"] == {"enabled": False}
    assert v["manager"]["svc"]["type"] == "ClusterIP"
    for path in (
        ("manager",),
        ("cve", "scanner"),
        ("cve", "updater"),
        ("controller", "certupgrader"),
    ):
        node = v
        for p in path:
            node = node[p]
        assert node["runAsUser"] == 5400, path
    sysinit = yaml.safe_load(v["controller"]["configmap"]["data"]["sysinitcfg.yaml"])
    assert sysinit == {"New_Service_Policy_Mode": "Monitor", "No_Telemetry_Report": True}
    assert v["controller"]["configmap"]["enabled"] is True
    assert app.inputs["namespace"] == NAMESPACE


def test_values_are_a_secret_because_they_carry_the_bootstrap_password(mock_run) -> None:
    run = run_neuvector(mock_run)
    app = apps(run)["neuvector"]
    assert app.is_secret("values")
    assert "values" in app.additional_secret_outputs
    # The CRD chart carries nothing sensitive and stays readable for the policy pack.
    assert not apps(run)["neuvector-crd"].is_secret("values")
    password = run.one("random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] >= 32
    assert all(password.inputs[k] >= 1 for k in ("minLower", "minUpper", "minNumeric", "minSpecial"))


def test_crd_chart_first_and_every_app_waits_for_the_gate(mock_run) -> None:
    run = run_neuvector(mock_run)
    a = apps(run)
    assert set(a) == {"neuvector-crd", "neuvector"}
    for app in a.values():
        assert_app_contract(run, app)
    assert depends_on(a["neuvector"], a["neuvector-crd"])
    assert not depends_on(a["neuvector-crd"], a["neuvector"])


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_chart_version_per_rancher_line(mock_run, line: str) -> None:
    run = run_neuvector(mock_run, line=line)
    for app in apps(run).values():
        assert app.inputs["chartVersion"] == pins_for(line).neuvector
        assert app.inputs["chartVersion"].startswith(f"{pins_for(line).chart_line}.")


def test_chart_version_override(mock_run) -> None:
    run = run_neuvector(mock_run, {"chartVersion": "108.0.7+up2.11.0"})
    assert {a.inputs["chartVersion"] for a in apps(run).values()} == {"108.0.7+up2.11.0"}


def test_admission_rules_delivered_as_crd_in_protect_mode(mock_run) -> None:
    run = run_neuvector(mock_run)
    (rule,) = custom_resources(run, "NvAdmissionControlSecurityRule")
    assert rule.type == "kubernetes:neuvector.com/v1:NvAdmissionControlSecurityRule"
    assert rule.inputs["metadata"] == {"name": "local"}
    spec = rule.inputs["spec"]
    assert spec["config"] == {"enable": True, "mode": "protect", "client_mode": "service"}
    allow, *deny = spec["rules"]
    assert allow["action"] == "allow" and allow["criteria"][0]["name"] == "namespace"
    criteria = {r["criteria"][0]["name"] for r in deny}
    assert {"runAsPrivileged", "runAsRoot", "shareNetWithHost", "sharePidWithHost"} <= criteria
    assert all(r["action"] == "deny" and not r["disabled"] for r in deny)
    # Through the downstream cluster's provider, after the chart that installs the CRD.
    assert rule.provider is not None and rule.provider.startswith(run.one(K8S_PROVIDER).urn)
    assert depends_on(rule, apps(run)["neuvector"])
    assert gate_urn(run) in rule.dependencies


def test_named_weakenings_are_visible_in_inputs(mock_run) -> None:
    run = run_neuvector(
        mock_run,
        {"admission": {"mode": "monitor"}, "rancherSso": False, "controllerReplicas": 1},
    )
    v = values(apps(run)["neuvector"])
    assert v["controller"]["replicas"] == 1
    assert v["controller"]["ranchersso"] == {"enabled": False}
    assert "global" not in v
    (rule,) = custom_resources(run, "NvAdmissionControlSecurityRule")
    assert rule.inputs["spec"]["config"]["mode"] == "monitor"


def test_admission_crd_can_be_switched_off(mock_run) -> None:
    run = run_neuvector(mock_run, {"admission": {"enabled": False}})
    assert custom_resources(run, "NvAdmissionControlSecurityRule") == []


def test_sso_without_rancher_url_fails_before_registering(mock_run) -> None:
    errors: list[Exception] = []

    def build(h):
        try:
            NeuVector("nv", NeuVectorArgs(), h)
        except ValueError as exc:
            errors.append(exc)

    run = mock_run(program(build, rancher_url=None), mocks=mocks())
    assert errors and "rancher.url" in str(errors[0])
    assert not [r for r in run.resources if r.type.startswith("hardened-rke2:") or r.type == APP]


@pytest.mark.parametrize(
    "bad",
    [{"controllerReplicas": 0}, {"runAsUser": 0}, {"admission": {"mode": "block"}}, {"replicas": 3}],
)
def test_invalid_args_rejected(bad: dict[str, Any]) -> None:
    rejected_at(lambda: NeuVectorArgs.model_validate(bad), *leading_path(bad))
