"""Audit-log shipping: RKE2 + kube-audit sources, one TLS-verified ClusterOutput per target type,
credentials only in a secret Kubernetes Secret."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from components.addons.audit_logging import (
    CREDENTIALS_SECRET,
    NAMESPACE,
    OUTPUT_NAME,
    AuditLoggingArgs,
    AuditLogOutputArgs,
    AuditLogShipping,
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

PASSWORD = "s3cr3t-Pa55"
TOKEN = "hec-token-0000"

TARGETS: dict[str, dict[str, Any]] = {
    "syslog": {"type": "syslog", "host": "siem.example.com", "port": 6514},
    "elasticsearch": {
        "type": "elasticsearch",
        "host": "es.example.com",
        "index": "k8s-audit",
        "username": "shipper",
        "password": PASSWORD,
    },
    "opensearch": {
        "type": "opensearch",
        "host": "os.example.com",
        "username": "shipper",
        "password": PASSWORD,
    },
    "splunkHec": {"type": "splunkHec", "host": "splunk.example.com", "token": TOKEN, "index": "audit"},
    "http": {
        "type": "http",
        "endpoint": "https://logs.example.com/ingest",
        "username": "shipper",
        "password": PASSWORD,
    },
}


def run_logging(mock_run, output: dict[str, Any], **over: Any):
    args = AuditLoggingArgs.model_validate({"output": output, **over})
    return mock_run(program(lambda h: AuditLogShipping("audit", args, h)), mocks=mocks())


def ref(key: str, name: str = CREDENTIALS_SECRET) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def test_sources_rke2_and_kube_audit_enabled(mock_run) -> None:
    run = run_logging(mock_run, TARGETS["syslog"])
    a = apps(run)
    assert set(a) == {"rancher-logging-crd", "rancher-logging"}
    v = values(a["rancher-logging"])
    assert v["additionalLoggingSources"]["rke2"]["enabled"] is True
    audit = v["additionalLoggingSources"]["kubeAudit"]
    assert audit["enabled"] is True
    assert audit["pathPrefix"] == "/var/lib/rancher/rke2/server/logs"
    assert audit["auditFilename"] == "audit.log"
    for app in a.values():
        assert app.inputs["namespace"] == NAMESPACE
        assert_app_contract(run, app)
    assert depends_on(a["rancher-logging"], a["rancher-logging-crd"])


def test_audit_log_path_follows_the_cluster_setting(mock_run) -> None:
    run = run_logging(mock_run, TARGETS["syslog"], auditLogPath="/var/log/kube/audit-api.log")
    audit = values(apps(run)["rancher-logging"])["additionalLoggingSources"]["kubeAudit"]
    assert (audit["pathPrefix"], audit["auditFilename"]) == ("/var/log/kube", "audit-api.log")


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_chart_version_per_line(mock_run, line: str) -> None:
    args = AuditLoggingArgs.model_validate({"output": TARGETS["syslog"]})
    run = mock_run(program(lambda h: AuditLogShipping("audit", args, h), line=line), mocks=mocks())
    assert {a.inputs["chartVersion"] for a in apps(run).values()} == {pins_for(line).logging}


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_output_verifies_tls_and_references_credentials_by_secret(mock_run, kind: str) -> None:
    run = run_logging(mock_run, TARGETS[kind])
    (output,) = custom_resources(run, "ClusterOutput")
    assert output.type == "kubernetes:logging.banzaicloud.io/v1beta1:ClusterOutput"
    assert output.inputs["metadata"] == {"name": OUTPUT_NAME, "namespace": NAMESPACE}
    spec = output.inputs["spec"]
    assert list(spec) == [kind]
    cfg = spec[kind]
    # No credential value anywhere in the output, the flow or the chart values.
    rendered = json.dumps([r.inputs for r in run.resources if r.type != SECRET])
    assert PASSWORD not in rendered and TOKEN not in rendered
    if kind == "syslog":
        assert cfg["transport"] == "tls" and cfg["insecure"] is False and cfg["verify_fqdn"] is True
        assert cfg["port"] == 6514
    elif kind in ("elasticsearch", "opensearch"):
        assert cfg["scheme"] == "https" and cfg["ssl_verify"] is True
        # logging-operator 4.10.0 pkg/sdk/logging/model/output/elasticsearch.go:68 (opensearch.go:67):
        # `User string`; only the password is a secret reference.
        assert cfg["user"] == "shipper" and cfg["password"] == ref("password")
    elif kind == "splunkHec":
        assert cfg["protocol"] == "https" and cfg["insecure_ssl"] is False
        assert cfg["hec_token"] == ref("token")
        assert cfg["index"] == "audit"
    else:
        assert cfg["endpoint"].startswith("https://")
        assert cfg["tls_verify_mode"] == "peer"
        assert cfg["auth"] == {"username": ref("username"), "password": ref("password")}


@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch", "splunkHec", "http"])
def test_credentials_secret_is_a_pulumi_secret(mock_run, kind: str) -> None:
    run = run_logging(mock_run, TARGETS[kind])
    secret = run.one(SECRET)
    assert secret.inputs["metadata"] == {"name": CREDENTIALS_SECRET, "namespace": NAMESPACE}
    data = secret.inputs["stringData"]
    assert data
    for key in data:
        assert secret.is_secret(f"stringData.{key}")
    assert PASSWORD in data.values() or TOKEN in data.values()
    (output,) = custom_resources(run, "ClusterOutput")
    assert depends_on(output, secret)


def test_syslog_without_credentials_creates_no_secret(mock_run) -> None:
    run = run_logging(mock_run, TARGETS["syslog"])
    assert run.of_type(SECRET) == []


def test_ca_bundle_goes_into_the_secret(mock_run) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    run = run_logging(mock_run, {**TARGETS["syslog"], "caBundle": pem})
    assert run.one(SECRET).inputs["stringData"]["ca.crt"] == pem.strip()
    (output,) = custom_resources(run, "ClusterOutput")
    # A CA bundle is a file path for fluentd (logging-operator 4.10.0 output/syslog.go:53-54 "file path to
    # ca to trust"): `mountFrom` mounts the key and renders its path (cisco-open/operator-tools
    # docs/types/secret_types.md); `valueFrom` would render the PEM text where a path is expected.
    assert output.inputs["spec"]["syslog"]["trusted_ca_path"] == {
        "mountFrom": {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": "ca.crt"}}
    }


def test_existing_secret_is_referenced_not_created(mock_run) -> None:
    run = run_logging(mock_run, {"type": "splunkHec", "host": "splunk", "existingSecretName": "splunk-creds"})
    assert run.of_type(SECRET) == []
    (output,) = custom_resources(run, "ClusterOutput")
    assert output.inputs["spec"]["splunkHec"]["hec_token"] == ref("token", "splunk-creds")


def test_tls_weakening_is_explicit(mock_run) -> None:
    run = run_logging(mock_run, {**TARGETS["elasticsearch"], "insecureSkipTlsVerify": True})
    (output,) = custom_resources(run, "ClusterOutput")
    assert output.inputs["spec"]["elasticsearch"]["ssl_verify"] is False


def test_cluster_flow_routes_everything_to_the_output(mock_run) -> None:
    run = run_logging(mock_run, TARGETS["syslog"])
    (flow,) = custom_resources(run, "ClusterFlow")
    (output,) = custom_resources(run, "ClusterOutput")
    assert flow.inputs["spec"] == {"globalOutputRefs": [OUTPUT_NAME]}
    assert flow.inputs["metadata"]["namespace"] == NAMESPACE
    assert depends_on(flow, output)
    assert depends_on(output, apps(run)["rancher-logging"])
    assert gate_urn(run) in flow.dependencies


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ({"type": "http", "endpoint": "http://logs.example.com"}, "https://"),
        ({"type": "http"}, "endpoint"),
        ({"type": "splunkHec", "host": "s"}, "token"),
        ({"type": "syslog"}, "host"),
        ({"type": "syslog", "host": "s", "username": "u", "password": "p"}, "basic auth"),
        ({"type": "elasticsearch", "host": "e", "password": "p"}, "username"),
        ({"type": "elasticsearch", "host": "e", "token": "t"}, "splunkHec"),
        ({"type": "splunkHec", "host": "s", "token": "t", "existingSecretName": "x"}, "existingSecretName"),
        ({"type": "kafka", "host": "k"}, "type"),
    ],
)
def test_invalid_outputs(output: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        AuditLogOutputArgs.model_validate(output)


def test_enabled_without_output_is_an_error_naming_the_fix() -> None:
    with pytest.raises(ValidationError, match=r"output: audit-log shipping is on but has no target \(fix:"):
        AuditLoggingArgs()
    assert AuditLoggingArgs(enabled=False).output is None


def test_relative_audit_path_rejected() -> None:
    with pytest.raises(ValidationError, match="absolute"):
        AuditLoggingArgs.model_validate({"output": TARGETS["syslog"], "auditLogPath": "audit.log"})


def test_password_is_not_in_the_model_repr() -> None:
    args = AuditLogOutputArgs.model_validate(TARGETS["elasticsearch"])
    assert PASSWORD not in repr(args) and PASSWORD not in str(args.model_dump())
