"""ClusterAddons: defaults, ordering of every app, version selection per line, errors before any resource."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.addons import AddonsArgs, ClusterAddons
from components.versions import RANCHER_LINES, pins_for
from tests.support.addons import (
    APP,
    SYSLOG_OUTPUT,
    apps,
    assert_app_contract,
    custom_resources,
    depends_on,
    mocks,
    program,
    values,
)

ALL_ON: dict[str, Any] = {
    "auditLogging": {"output": SYSLOG_OUTPUT},
    "istio": {"enabled": True, "gateway": {"enabled": True, "serviceType": "NodePort"}},
    "monitoring": {"enabled": True},
}


def run_addons(mock_run, config: dict[str, Any], **handle_kw: Any):
    args = AddonsArgs.model_validate(config)
    return mock_run(program(lambda h: ClusterAddons("addons", args, h), **handle_kw), mocks=mocks())


def test_defaults_need_an_audit_log_target() -> None:
    with pytest.raises(ValidationError, match=r"auditLogging\.output|audit_logging"):
        AddonsArgs()


def test_default_set_of_addons(mock_run) -> None:
    args = AddonsArgs.model_validate({"auditLogging": {"output": SYSLOG_OUTPUT}})
    assert args.enabled_addons == ["neuvector", "compliance", "audit_logging"]
    run = run_addons(mock_run, {"auditLogging": {"output": SYSLOG_OUTPUT}})
    assert set(apps(run)) == {
        "neuvector-crd",
        "neuvector",
        "rancher-compliance-crd",
        "rancher-compliance",
        "rancher-logging-crd",
        "rancher-logging",
    }
    component = run.one("hardened-rke2:addons:ClusterAddons")
    children = {r.type for r in run.children_of(component.urn)}
    assert children == {
        "hardened-rke2:addons:NeuVector",
        "hardened-rke2:addons:ComplianceScanning",
        "hardened-rke2:addons:AuditLogShipping",
    }
    # Without monitoring there is no Prometheus for scan alerts: they follow monitoring.
    assert values(apps(run)["rancher-compliance"])["alerts"]["enabled"] is False


def test_every_app_honours_the_contract_and_crd_charts_come_first(mock_run) -> None:
    run = run_addons(mock_run, ALL_ON)
    a = apps(run)
    assert len(a) == 12
    for chart, app in a.items():
        assert_app_contract(run, app)
        if f"{chart}-crd" in a:
            assert depends_on(app, a[f"{chart}-crd"]), chart
    # Scan alerts are PrometheusRules: the compliance chart waits for the monitoring CRDs.
    assert depends_on(a["rancher-compliance"], a["rancher-monitoring-crd"])
    assert values(a["rancher-compliance"])["alerts"]["enabled"] is True
    (scan,) = custom_resources(run, "ClusterScan")
    assert scan.inputs["spec"]["scheduledScanConfig"]["scanAlertRule"]["alertOnFailure"] is True


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_version_selection_per_line(mock_run, line: str) -> None:
    pins = pins_for(line)
    run = run_addons(mock_run, ALL_ON, line=line)
    expected = {
        "neuvector": pins.neuvector,
        pins.compliance_chart: pins.compliance_version,
        "rancher-logging": pins.logging,
        "rancher-monitoring": pins.monitoring,
        "istiod": pins.istio,
    }
    a = apps(run)
    for chart, version in expected.items():
        assert a[chart].inputs["chartVersion"] == version, chart
        if f"{chart}-crd" in a:
            assert a[f"{chart}-crd"].inputs["chartVersion"] == version
    rancher_charts = [app for app in a.values() if app.inputs["repoName"] == "rancher-charts"]
    assert len(rancher_charts) == 8
    assert all(app.inputs["chartVersion"].startswith(f"{pins.chart_line}.") for app in rancher_charts)


def test_compliance_alerting_without_monitoring_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"monitoring\.enabled: true"):
        AddonsArgs.model_validate(
            {"auditLogging": {"output": SYSLOG_OUTPUT}, "compliance": {"alerting": True}}
        )


def test_everything_can_be_switched_off(mock_run) -> None:
    off = {k: {"enabled": False} for k in ("neuvector", "compliance", "auditLogging", "istio", "monitoring")}
    run = run_addons(mock_run, off)
    assert run.of_type(APP) == []


def test_unknown_addon_key_is_an_error() -> None:
    with pytest.raises(ValidationError, match="neuVektor"):
        AddonsArgs.model_validate({"auditLogging": {"output": SYSLOG_OUTPUT}, "neuVektor": {}})


@pytest.mark.parametrize(
    ("handle_kw", "fragment"),
    [
        ({"with_provider": False}, "no Kubernetes provider"),
        ({"rancher_url": None}, "addons.neuvector.rancherSso"),
        ({"kubernetes_version": "v1.27.16+rke2r1"}, "no RKE2 CIS profile"),
    ],
)
def test_preflight_errors_before_any_resource(mock_run, handle_kw: dict[str, Any], fragment: str) -> None:
    errors: list[Exception] = []
    args = AddonsArgs.model_validate({"auditLogging": {"output": SYSLOG_OUTPUT}})

    def build(h):
        try:
            ClusterAddons("addons", args, h)
        except ValueError as exc:
            errors.append(exc)

    run = mock_run(program(build, **handle_kw), mocks=mocks())
    assert errors and fragment in str(errors[0])
    assert "(fix: " in str(errors[0])
    assert not [r for r in run.resources if r.type.startswith("hardened-rke2:") or r.type == APP]


def test_preflight_lists_every_problem(mock_run) -> None:
    errors: list[Exception] = []
    args = AddonsArgs.model_validate({"auditLogging": {"output": SYSLOG_OUTPUT}})

    def build(h):
        try:
            ClusterAddons("addons", args, h)
        except ValueError as exc:
            errors.append(exc)

    mock_run(program(build, with_provider=False, rancher_url=None), mocks=mocks())
    message = str(errors[0])
    assert "Kubernetes provider" in message and "rancherSso" in message
