"""Each detection alert on sample series in promtool's rule unit-test format: it fires on the attack and
stays silent on the platform's normal traffic (issue 19, item 7). Every case runs on the evaluator in
`tests/support/promql.py` (so CI runs it) and, where `promtool` is installed, also through `promtool test
rules` with the same test file: both must agree.

The metric each rule reads is the one that carries its signal (Kubernetes sources, see
`components/addons/monitoring.py` `detection_rule_groups`):
- failed authentication never reaches `apiserver_request_total` (the authentication filter answers 401
  before the instrumented handler); `authentication_attempts{result}` counts it
  (k8s.io/apiserver pkg/endpoints/filters/metrics.go, recordAuthenticationMetrics);
- RBAC answers NoOpinion, never Deny, and `apiserver_authorization_decisions_total` skips non-terminal
  decisions (k8s.io/apiserver pkg/authorization/metrics/metrics.go); `authorization_attempts_total{result}`
  counts every refused request as `denied` or `no-opinion` (pkg/endpoints/filters/metrics.go);
- `pod_security_exemptions_total` has no namespace label (k8s.io/pod-security-admission metrics/metrics.go)
  and counts every request in the namespaces rancher-restricted exempts: no rule can use it;
- istiod (and rancher-webhook, NeuVector) update/patch their own webhook configurations routinely.

promtool comes from Debian's `prometheus` package (about 100 MB installed, so scripts/check.sh does not
install it); without it only the promtool half of each case is skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.addons.monitoring import detection_rule_groups
from tests.support.promql import duration, firing_alerts, parse_series

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)

ALERTS = {r["alert"]: r for g in detection_rule_groups() for r in g["rules"]}


def _expected(alert: str, labels: dict[str, str]) -> dict[str, Any]:
    rule = ALERTS[alert]

    def expand(text: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)

    return {
        "exp_labels": {**labels, **rule["labels"]},
        "exp_annotations": {k: expand(v) for k, v in rule["annotations"].items()},
    }


def promtool(
    tmp_path: Path, alert: str, series: dict[str, str], eval_time: str, fires: list[dict[str, str]]
) -> None:
    """Evaluate `alert` over `series` (promtool's input-series notation, 1m interval) at `eval_time`;
    assert it fires with exactly the `fires` label sets (empty: silent)."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": detection_rule_groups()}))
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": eval_time,
                        "alertname": alert,
                        "exp_alerts": [_expected(alert, labels) for labels in fires],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test))
    # 1. the evaluator (always)
    parsed = [parse_series(s, v, 60.0) for s, v in series.items()]
    got = firing_alerts(ALERTS[alert], parsed, duration(eval_time))
    want = sorted(
        ({**labels, **ALERTS[alert]["labels"]} for labels in fires), key=lambda d: sorted(d.items())
    )
    assert got == want, f"evaluator: {alert} at {eval_time}: {got} != {want}"
    # 2. promtool on the same file, when installed
    if PROMTOOL is not None:
        done = subprocess.run(
            [PROMTOOL, "test", "rules", "test.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_rule_file_is_valid(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": detection_rule_groups()}))
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- 401s: a credential-stuffing burst vs. normal authenticated traffic with a few expired tokens
def test_unauthenticated_burst_fires_on_failed_authentication(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAPIUnauthenticatedRequestBurst",
        {
            'authentication_attempts{result="failure"}': "0+120x40",  # 2/s
            'authentication_attempts{result="success"}': "0+6000x40",
        },
        "30m",
        [{}],
    )


def test_unauthenticated_burst_silent_on_platform_traffic(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAPIUnauthenticatedRequestBurst",
        {
            'authentication_attempts{result="failure"}': "0+6x40",  # 0.1/s: an expired token somewhere
            'authentication_attempts{result="success"}': "0+6000x40",
        },
        "30m",
        [],
    )


# --- 403s: permission enumeration (RBAC: no-opinion) vs. the platform's steady state
def test_forbidden_burst_fires_on_rbac_refusals(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAPIForbiddenRequestBurst",
        {
            'authorization_attempts_total{result="no-opinion"}': "0+60x40",  # 1/s refused
            'authorization_attempts_total{result="allowed"}': "0+30000x40",
        },
        "30m",
        [{}],
    )


def test_forbidden_burst_silent_on_platform_traffic(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAPIForbiddenRequestBurst",
        {
            'authorization_attempts_total{result="no-opinion"}': "0+3x40",
            'authorization_attempts_total{result="allowed"}': "0+30000x40",
        },
        "30m",
        [],
    )


# --- admission control: a webhook deleted (first delete ever: the series appears with value 1)
WEBHOOK = (
    'apiserver_request_total{{group="admissionregistration.k8s.io",resource="{r}",verb="{v}",code="200"}}'
)


def test_admission_change_fires_when_a_webhook_is_deleted(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAdmissionConfigurationChanged",
        {
            WEBHOOK.format(r="validatingwebhookconfigurations", v="delete"): "_x10 1x20",
            WEBHOOK.format(r="mutatingwebhookconfigurations", v="patch"): "0+2x30",
        },
        "12m",
        [{"resource": "validatingwebhookconfigurations", "verb": "delete"}],
    )


def test_admission_change_fires_when_a_webhook_is_added(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAdmissionConfigurationChanged",
        {WEBHOOK.format(r="mutatingwebhookconfigurations", v="create"): "0x10 1x20"},
        "12m",
        [{"resource": "mutatingwebhookconfigurations", "verb": "create"}],
    )


def test_admission_change_silent_on_istiod_and_rancher_webhook_updates(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAdmissionConfigurationChanged",
        {
            WEBHOOK.format(r="validatingwebhookconfigurations", v="patch"): "0+2x30",  # istiod caBundle
            WEBHOOK.format(r="mutatingwebhookconfigurations", v="patch"): "0+2x30",
            WEBHOOK.format(r="validatingwebhookconfigurations", v="update"): "0+1x30",  # cert rotation
            WEBHOOK.format(r="validatingwebhookconfigurations", v="list"): "0+60x30",
        },
        "20m",
        [],
    )


# --- cluster RBAC
RBAC = 'apiserver_request_total{{group="rbac.authorization.k8s.io",resource="{r}",verb="{v}",code="{c}"}}'


def test_cluster_rbac_change_fires_on_a_new_binding(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeClusterRBACChanged",
        {RBAC.format(r="clusterrolebindings", v="create", c="201"): "_x10 1x20"},
        "12m",
        [{"resource": "clusterrolebindings", "verb": "create"}],
    )


def test_cluster_rbac_change_silent_on_reads_and_refused_writes(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeClusterRBACChanged",
        {
            RBAC.format(r="clusterroles", v="list", c="200"): "0+100x30",
            RBAC.format(r="clusterrolebindings", v="watch", c="200"): "0+10x30",
            RBAC.format(r="clusterrolebindings", v="create", c="409"): "0+1x30",
        },
        "20m",
        [],
    )


# --- exec / attach (an exec upgrades the connection: code 101)
POD = 'apiserver_request_total{{resource="pods",subresource="{s}",verb="{v}",code="{c}"}}'


def test_exec_fires_on_the_first_shell(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubePodExecOrAttach",
        {POD.format(s="exec", v="create", c="101"): "_x10 1x20"},
        "12m",
        [{"subresource": "exec"}],
    )


def test_exec_silent_on_logs_and_reads(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubePodExecOrAttach",
        {
            POD.format(s="log", v="get", c="200"): "0+30x30",
            POD.format(s="exec", v="create", c="403"): "0+1x30",
        },
        "20m",
        [],
    )


# --- Pod Security: a denial vs. allowed evaluations and (unalerted) exemptions
PSA = (
    'pod_security_evaluations_total{{decision="{d}",mode="{m}",policy_level="restricted",'
    'policy_version="latest",request_operation="create",resource="pod",subresource=""}}'
)


def test_psa_denial_fires(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubePodSecurityAdmissionDenied",
        {PSA.format(d="deny", m="enforce"): "_x10 1x20", PSA.format(d="allow", m="enforce"): "0+20x30"},
        "12m",
        [{"policy_level": "restricted", "resource": "pod"}],
    )


def test_psa_silent_on_allowed_pods_and_platform_exemptions(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubePodSecurityAdmissionDenied",
        {
            PSA.format(d="allow", m="enforce"): "0+20x30",
            PSA.format(d="deny", m="warn"): "0+1x30",
            (
                'pod_security_exemptions_total{request_operation="create",resource="pod",subresource=""}'
            ): "0+50x30",
        },
        "20m",
        [],
    )


def test_no_rule_reads_the_exemption_counter() -> None:
    # No namespace label: it cannot separate the platform's exempt namespaces from an unexpected exemption.
    assert not any("pod_security_exemptions_total" in r["expr"] for r in ALERTS.values())


# --- audit events lost
def test_audit_loss_fires(tmp_path: Path) -> None:
    promtool(
        tmp_path,
        "KubeAPIAuditEventsLost",
        {'apiserver_audit_error_total{plugin="log"}': "0x10 0+5x20"},
        "15m",
        [{}],
    )


def test_audit_loss_silent_when_nothing_is_lost(tmp_path: Path) -> None:
    promtool(
        tmp_path, "KubeAPIAuditEventsLost", {'apiserver_audit_error_total{plugin="log"}': "0x30"}, "20m", []
    )
