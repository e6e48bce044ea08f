"""Compliance scanning: chart family by Rancher line, RKE2 profile by Kubernetes minor, scheduled scan."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.addons.compliance import (
    CIS_BENCHMARK,
    COMPLIANCE,
    ComplianceArgs,
    ComplianceScanning,
    family_for,
    kubernetes_minor,
    rke2_profile_for,
)
from components.versions import RANCHER_LINES, pins_for
from tests.support.addons import (
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


def run_compliance(mock_run, args: dict[str, Any] | None = None, *, alerting: bool = True, **handle_kw: Any):
    c_args = ComplianceArgs.model_validate(args or {})
    return mock_run(
        program(lambda h: ComplianceScanning("cis", c_args, h, alerting=alerting), **handle_kw), mocks=mocks()
    )


@pytest.mark.parametrize(
    ("line", "chart", "namespace", "api"),
    [
        ("2.11", "rancher-cis-benchmark", "cis-operator-system", "cis.cattle.io/v1"),
        ("2.12", "rancher-compliance", "compliance-operator-system", "compliance.cattle.io/v1"),
        ("2.13", "rancher-compliance", "compliance-operator-system", "compliance.cattle.io/v1"),
    ],
)
def test_chart_family_by_rancher_line(mock_run, line: str, chart: str, namespace: str, api: str) -> None:
    run = run_compliance(mock_run, line=line)
    a = apps(run)
    assert set(a) == {chart, f"{chart}-crd"}
    for app in a.values():
        assert app.inputs["namespace"] == namespace
        assert app.inputs["chartVersion"] == pins_for(line).compliance_version
        assert_app_contract(run, app)
    assert depends_on(a[chart], a[f"{chart}-crd"])
    (scan,) = custom_resources(run, "ClusterScan")
    assert scan.type == f"kubernetes:{api}:ClusterScan"
    assert depends_on(scan, a[chart])
    assert gate_urn(run) in scan.dependencies


@pytest.mark.parametrize(
    ("line", "version", "profile"),
    [
        ("2.11", "v1.30.14+rke2r1", "rke2-cis-1.11-profile"),
        ("2.11", "v1.32.5+rke2r1", "rke2-cis-1.11-profile"),
        ("2.12", "v1.31.9+rke2r1", "rke2-cis-1.11-profile"),
        ("2.12", "v1.33.5+rke2r1", "rke2-cis-1.12-profile"),
        ("2.13", "v1.32.5+rke2r1", "rke2-cis-1.12-profile"),
        ("2.13", "v1.34.1+rke2r1", "rke2-cis-1.12-profile"),
    ],
)
def test_scan_profile_matches_kubernetes_minor(mock_run, line: str, version: str, profile: str) -> None:
    run = run_compliance(mock_run, line=line, kubernetes_version=version)
    (scan,) = custom_resources(run, "ClusterScan")
    assert scan.inputs["spec"]["scanProfileName"] == profile


def test_scheduled_scan_with_retention_and_alerts(mock_run) -> None:
    run = run_compliance(mock_run, {"cronSchedule": "30 1 * * 0", "retentionCount": 12})
    (scan,) = custom_resources(run, "ClusterScan")
    assert scan.inputs["spec"]["scheduledScanConfig"] == {
        "cronSchedule": "30 1 * * 0",
        "retentionCount": 12,
        "scanAlertRule": {"alertOnComplete": True, "alertOnFailure": True},
    }
    assert values(apps(run)["rancher-compliance"])["alerts"]["enabled"] is True


def test_defaults_daily_scan_thirty_reports(mock_run) -> None:
    run = run_compliance(mock_run)
    (scan,) = custom_resources(run, "ClusterScan")
    cfg = scan.inputs["spec"]["scheduledScanConfig"]
    assert cfg["cronSchedule"] == "0 3 * * *"
    assert cfg["retentionCount"] == 30


def test_alerting_off_without_monitoring(mock_run) -> None:
    run = run_compliance(mock_run, alerting=False)
    (scan,) = custom_resources(run, "ClusterScan")
    assert scan.inputs["spec"]["scheduledScanConfig"]["scanAlertRule"] == {
        "alertOnComplete": False,
        "alertOnFailure": False,
    }
    assert values(apps(run)["rancher-compliance"])["alerts"]["enabled"] is False


def test_profile_override(mock_run) -> None:
    run = run_compliance(mock_run, {"scanProfileName": "my-custom-profile"})
    (scan,) = custom_resources(run, "ClusterScan")
    assert scan.inputs["spec"]["scanProfileName"] == "my-custom-profile"


def test_family_table() -> None:
    assert family_for("2.11") is CIS_BENCHMARK
    assert family_for("2.12") is COMPLIANCE and family_for("2.13") is COMPLIANCE


def test_too_old_kubernetes_has_no_profile() -> None:
    with pytest.raises(ValueError, match="no RKE2 CIS profile"):
        rke2_profile_for(COMPLIANCE, "v1.27.16+rke2r1")
    with pytest.raises(ValueError, match="cannot read the Kubernetes minor"):
        kubernetes_minor("latest")


@settings(max_examples=100, deadline=None)
@given(minor=st.integers(min_value=28, max_value=60), patch=st.integers(min_value=0, max_value=40))
def test_profile_is_newest_eligible(minor: int, patch: int) -> None:
    for family in (CIS_BENCHMARK, COMPLIANCE):
        chosen = rke2_profile_for(family, f"v1.{minor}.{patch}+rke2r1")
        floors = {name: floor for floor, name in family.profiles}
        assert floors[chosen] <= (1, minor)
        assert all(floor <= floors[chosen] for floor, _ in family.profiles if floor <= (1, minor))


@pytest.mark.parametrize("bad", [{"cronSchedule": "daily"}, {"retentionCount": 0}, {"schedule": "x"}])
def test_invalid_args(bad: dict[str, Any]) -> None:
    rejected_at(lambda: ComplianceArgs.model_validate(bad), *leading_path(bad))


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_every_line_has_a_profile_for_each_supported_minor(line: str) -> None:
    for minor in pins_for(line).kubernetes_minors:
        assert rke2_profile_for(family_for(line), f"v{minor}.0+rke2r1").startswith("rke2-cis-")
