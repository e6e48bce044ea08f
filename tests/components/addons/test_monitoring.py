"""Monitoring: hardened chart values, detection rules on API-server metrics, receiver secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from components.addons.monitoring import (
    GRAFANA_ADMIN_SECRET,
    NAMESPACE,
    RECEIVER_SECRET,
    AlertReceiverArgs,
    ClusterMonitoring,
    MonitoringArgs,
    detection_rule_groups,
)
from components.versions import RANCHER_LINES, pins_for
from tests.support.addons import (
    SECRET,
    apps,
    assert_app_contract,
    custom_resources,
    depends_on,
    gate_urn,
    mocks,
    program,
    values,
)

HOOK = "https://hooks.example.com/services/T000/B000/XXXX"


def run_monitoring(mock_run, args: dict[str, Any] | None = None, **handle_kw: Any):
    m_args = MonitoringArgs.model_validate({"enabled": True, **(args or {})})
    return mock_run(program(lambda h: ClusterMonitoring("mon", m_args, h), **handle_kw), mocks=mocks())


def test_off_by_default() -> None:
    assert MonitoringArgs().enabled is False


def test_crd_first_and_contract(mock_run) -> None:
    run = run_monitoring(mock_run)
    a = apps(run)
    assert set(a) == {"rancher-monitoring-crd", "rancher-monitoring"}
    for app in a.values():
        assert app.inputs["namespace"] == NAMESPACE
        assert_app_contract(run, app)
    assert depends_on(a["rancher-monitoring"], a["rancher-monitoring-crd"])


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_version_per_line(mock_run, line: str) -> None:
    run = run_monitoring(mock_run, line=line)
    assert {a.inputs["chartVersion"] for a in apps(run).values()} == {pins_for(line).monitoring}


def test_grafana_admin_password_generated_and_secret(mock_run) -> None:
    run = run_monitoring(mock_run)
    v = values(apps(run)["rancher-monitoring"])
    assert v["grafana"]["admin"] == {
        "existingSecret": GRAFANA_ADMIN_SECRET,
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    secret = run.one(SECRET, "mon-grafana-admin")
    assert secret.is_secret("stringData.admin-password")
    assert secret.inputs["stringData"]["admin-password"] == "generated-Password-123!"
    assert depends_on(apps(run)["rancher-monitoring"], secret)


def test_alertmanager_routes_our_config_for_all_namespaces(mock_run) -> None:
    run = run_monitoring(mock_run)
    spec = values(apps(run)["rancher-monitoring"])["alertmanager"]["alertmanagerSpec"]
    assert spec["alertmanagerConfigMatcherStrategy"] == {"type": "None"}
    assert spec["alertmanagerConfigSelector"]["matchLabels"] == {
        "hardened-rke2.io/alertmanager-config": "true"
    }


def test_detection_rules(mock_run) -> None:
    run = run_monitoring(mock_run)
    (rule,) = custom_resources(run, "PrometheusRule")
    assert rule.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
    assert rule.inputs["metadata"]["namespace"] == NAMESPACE
    assert depends_on(rule, apps(run)["rancher-monitoring"])
    assert gate_urn(run) in rule.dependencies
    alerts = {r["alert"]: r for g in rule.inputs["spec"]["groups"] for r in g["rules"]}
    assert {
        "KubeAPIUnauthenticatedRequestBurst",
        "KubeAPIForbiddenRequestBurst",
        "KubeAdmissionConfigurationChanged",
        "KubeClusterRBACChanged",
        "KubePodExecOrAttach",
        "KubePodSecurityAdmissionDenied",
        "KubePodSecurityExemptionUsed",
        "KubeAPIAuditEventsLost",
    } == set(alerts)
    assert 'code="401"' in alerts["KubeAPIUnauthenticatedRequestBurst"]["expr"]
    admission = alerts["KubeAdmissionConfigurationChanged"]
    assert "validatingwebhookconfigurations" in admission["expr"]
    assert "mutatingwebhookconfigurations" in admission["expr"]
    assert admission["labels"]["severity"] == "critical"
    assert 'decision="deny"' in alerts["KubePodSecurityAdmissionDenied"]["expr"]
    assert 'subresource=~"exec|attach"' in alerts["KubePodExecOrAttach"]["expr"]
    for r in alerts.values():
        assert r["annotations"]["summary"] and r["annotations"]["description"]
        assert r["expr"].count("(") == r["expr"].count(")")
        assert r["expr"].count("{") == r["expr"].count("}")


def test_rules_only_use_metrics_prometheus_has() -> None:
    # Honesty check: every rule reads an API-server metric, none pretends to see pod specs.
    known = (
        "apiserver_request_total",
        "pod_security_evaluations_total",
        "pod_security_exemptions_total",
        "apiserver_audit_error_total",
    )
    for group in detection_rule_groups():
        for r in group["rules"]:
            assert any(m in r["expr"] for m in known), r["alert"]
            assert "privileged" not in r["expr"]


@pytest.mark.parametrize(
    ("receiver", "config_key", "secret_key"),
    [
        ({"type": "webhook", "url": HOOK}, "webhookConfigs", "url"),
        ({"type": "slack", "url": HOOK, "channel": "#sec"}, "slackConfigs", "url"),
        ({"type": "pagerduty", "routingKey": "R0UTING"}, "pagerdutyConfigs", "routing-key"),
    ],
)
def test_receiver_secret_and_config(
    mock_run, receiver: dict[str, Any], config_key: str, secret_key: str
) -> None:
    run = run_monitoring(mock_run, {"receiver": receiver})
    secret = run.one(SECRET, "mon-receiver")
    assert secret.inputs["metadata"] == {"name": RECEIVER_SECRET, "namespace": NAMESPACE}
    assert secret.is_secret(f"stringData.{secret_key}")
    (amc,) = custom_resources(run, "AlertmanagerConfig")
    assert amc.inputs["metadata"]["labels"] == {"hardened-rke2.io/alertmanager-config": "true"}
    spec = amc.inputs["spec"]
    (entry,) = spec["receivers"]
    assert spec["route"]["receiver"] == entry["name"]
    (cfg,) = entry[config_key]
    assert RECEIVER_SECRET in json.dumps(cfg)
    # The URL / key never appears outside the Secret.
    outside = json.dumps([r.inputs for r in run.resources if r.type != SECRET])
    assert HOOK not in outside and "R0UTING" not in outside
    assert depends_on(amc, secret)
    if receiver["type"] == "webhook":
        assert cfg["httpConfig"]["tlsConfig"]["insecureSkipVerify"] is False


def test_no_receiver_no_secret(mock_run) -> None:
    run = run_monitoring(mock_run)
    assert [s.name for s in run.of_type(SECRET)] == ["mon-grafana-admin"]
    assert custom_resources(run, "AlertmanagerConfig") == []


@pytest.mark.parametrize(
    "receiver",
    [
        {"type": "webhook", "url": "http://hooks.example.com"},
        {"type": "slack"},
        {"type": "pagerduty"},
        {"type": "pagerduty", "routingKey": "x", "channel": "#a"},
        {"type": "slack", "url": HOOK, "insecureSkipTlsVerify": True},
        {"type": "email", "url": HOOK},
    ],
)
def test_invalid_receivers(receiver: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AlertReceiverArgs.model_validate(receiver)


def test_retention_format() -> None:
    with pytest.raises(ValidationError):
        MonitoringArgs(retention="15 days")
