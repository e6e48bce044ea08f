"""Monitoring: hardened chart values, detection rules on API-server metrics, receiver secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.addons.monitoring import (
    GRAFANA_ADMIN_SECRET,
    NAMESPACE,
    RECEIVER_SECRET,
    AlertReceiverArgs,
    ClusterMonitoring,
    MonitoringArgs,
    alert_receiver,
    alertmanager_config_spec,
    detection_rule_groups,
    detection_rules,
    grafana_admin_secret,
    in_cluster_after,
    monitoring_chart,
    monitoring_crd_chart,
    monitoring_values,
)
from components.handles import ClusterHandle
from components.versions import RANCHER_LINES, pins_for
from tests.support.addons import (
    PASSWORD,
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
from tests.support.validation import rejected_at

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
        "KubeAPIAuditEventsLost",
    } == set(alerts)
    assert "authentication_attempts" in alerts["KubeAPIUnauthenticatedRequestBurst"]["expr"]
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
        "apiserver_audit_error_total",
        "authentication_attempts",
        "authorization_attempts_total",
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
    # every case is a receiver the model must refuse as a whole (a wrong or missing key for its type)
    assert rejected_at(lambda: AlertReceiverArgs.model_validate(receiver))


def test_retention_format() -> None:
    rejected_at(lambda: MonitoringArgs(retention="15 days"), "retention")


# -------------------------------------------------------------------------- ClusterMonitoring's steps
PARENT = "test:index:Parent"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
ALERTMANAGER_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"


def run_step(mock_run, step: Callable[[pulumi.ComponentResource, ClusterHandle], Any]):
    """Run one step under a bare parent component, on the test cluster handle."""

    def build(handle: ClusterHandle) -> None:
        step(pulumi.ComponentResource(PARENT, "parent"), handle)

    return mock_run(program(build), mocks=mocks())


def test_step_crd_chart(mock_run) -> None:
    run = run_step(mock_run, lambda parent, h: monitoring_crd_chart("mon", h, "1.2.3", parent=parent))
    (crd,) = apps(run).values()
    assert crd.name == "mon-crd" and crd.inputs["chartName"] == "rancher-monitoring-crd"
    assert crd.inputs["chartVersion"] == "1.2.3" and crd.inputs["namespace"] == NAMESPACE
    assert crd.parent == run.one(PARENT).urn
    assert_app_contract(run, crd)


def test_step_in_cluster_after(mock_run) -> None:
    seen: list[tuple[pulumi.ResourceOptions, pulumi.Resource, pulumi.Resource, ClusterHandle]] = []

    def step(parent: pulumi.ComponentResource, h: ClusterHandle) -> None:
        crd = monitoring_crd_chart("mon", h, "1.2.3", parent=parent)
        assert h.kubernetes_provider is not None
        opts = in_cluster_after(crd, parent=parent, provider=h.kubernetes_provider, handle=h)
        seen.append((opts, parent, crd, h))

    run_step(mock_run, step)
    ((opts, parent, crd, h),) = seen
    assert opts.parent is parent and opts.provider is h.kubernetes_provider
    assert opts.depends_on == [*h.depends_on(), crd]  # the readiness gate, then the prerequisite


def test_step_grafana_admin_secret(mock_run) -> None:
    def step(parent: pulumi.ComponentResource, h: ClusterHandle) -> None:
        crd = monitoring_crd_chart("mon", h, "1.2.3", parent=parent)
        assert h.kubernetes_provider is not None
        opts = in_cluster_after(crd, parent=parent, provider=h.kubernetes_provider, handle=h)
        grafana_admin_secret("mon", parent=parent, opts=opts)

    run = run_step(mock_run, step)
    password = run.one(PASSWORD, "mon-grafana-admin-password")
    assert password.inputs["length"] == 32 and password.parent == run.one(PARENT).urn
    secret = run.one(SECRET, "mon-grafana-admin")
    assert secret.inputs["metadata"] == {"name": GRAFANA_ADMIN_SECRET, "namespace": NAMESPACE}
    assert secret.inputs["stringData"] == {"admin-password": "generated-Password-123!", "admin-user": "admin"}
    assert "stringData" in secret.secret_paths
    assert depends_on(secret, apps(run)["rancher-monitoring-crd"])


def test_step_monitoring_chart(mock_run) -> None:
    args = MonitoringArgs.model_validate({"enabled": True, "retention": "30d"})

    def step(parent: pulumi.ComponentResource, h: ClusterHandle) -> None:
        crd = monitoring_crd_chart("mon", h, "1.2.3", parent=parent)
        monitoring_chart("mon", args, h, "1.2.3", parent=parent, after=[crd])

    run = run_step(mock_run, step)
    a = apps(run)
    app = a["rancher-monitoring"]
    assert app.name == "mon" and app.inputs["chartVersion"] == "1.2.3"
    assert values(app) == json.loads(json.dumps(monitoring_values(args)))
    assert depends_on(app, a["rancher-monitoring-crd"])
    assert_app_contract(run, app)


def test_step_detection_rules(mock_run) -> None:
    run = run_step(
        mock_run, lambda parent, h: detection_rules("mon", opts=pulumi.ResourceOptions(parent=parent))
    )
    rule = run.one(PROMETHEUS_RULE, "mon-detection-rules")
    assert rule.inputs["metadata"]["namespace"] == NAMESPACE
    assert rule.inputs["spec"] == {"groups": detection_rule_groups()}


def test_step_alert_receiver(mock_run) -> None:
    receiver = AlertReceiverArgs.model_validate({"type": "webhook", "url": HOOK})

    def step(parent: pulumi.ComponentResource, h: ClusterHandle) -> None:
        opts = pulumi.ResourceOptions(parent=parent)
        alert_receiver("mon", receiver, secret_opts=opts, config_opts=opts)

    run = run_step(mock_run, step)
    secret = run.one(SECRET, "mon-receiver")
    assert secret.inputs["stringData"] == {"url": HOOK} and "stringData" in secret.secret_paths
    config = run.one(ALERTMANAGER_CONFIG, "mon-receiver-config")
    assert config.inputs["spec"] == alertmanager_config_spec(receiver)
    assert depends_on(config, secret)  # the config names the Secret: it must exist first
