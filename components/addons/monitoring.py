"""Cluster monitoring and alerting (`rancher-monitoring` + `-crd`, namespace `cattle-monitoring-system`).

Alert rules for the guide's detection list, limited to what Prometheus can actually see: the API
server's own metrics (`apiserver_request_total` by verb/resource/subresource/code,
`pod_security_evaluations_total`, `apiserver_audit_error_total`, `authentication_attempts`,
`authorization_attempts_total`). That covers: bursts of failed authentication (401) and refused
authorization (403), webhooks or admission policies added or removed, any change to cluster-wide RBAC,
`exec`/`attach` into pods, Pod Security Admission denials, and lost audit events. Each rule has a unit test
with sample series (`tests/components/addons/test_monitoring_rules.py`): it fires on the attack and stays
silent on the platform's normal traffic.

What Prometheus CANNOT see, and where it is covered instead:
- creation of a privileged / hostPath / host-namespace pod (metrics carry no pod spec): blocked by the
  restricted PSA level (its denials ARE alerted here), reported by NeuVector admission control, and
  visible in the shipped audit log (rule it in the SIEM);
- who did what (user, source IP, object name): only in the audit log pipeline;
- anomalous processes, file access, network connections inside containers: NeuVector runtime rules.

The receiver is an `AlertmanagerConfig` whose URL/key live in a Kubernetes Secret (secret `stringData`).
Grafana's admin password is generated and kept in a Secret (the chart default is a well-known password).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import pulumi_random as random
from pydantic import Field, SecretStr, model_validator

from components.addons.catalog import install_chart, require_kubernetes_provider
from components.addons.contract import InstallContext, PreflightContext
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import Problem, ProblemList
from components.versions import LinePins, pins_for

NAMESPACE = "cattle-monitoring-system"
GRAFANA_ADMIN_SECRET = "hardened-rke2-grafana-admin"
RECEIVER_SECRET = "hardened-rke2-alert-receiver"
RULES_NAME = "hardened-rke2-nsa-cisa-detections"
ALERTMANAGER_CONFIG_LABEL = {"hardened-rke2.io/alertmanager-config": "true"}


class AlertReceiverArgs(HardenedModel):
    """Where alerts go. The URL / routing key is a secret (it usually embeds a credential)."""

    type: Literal["webhook", "slack", "pagerduty"]
    """Kind of receiver: `webhook`, `slack` or `pagerduty`."""
    url: SecretStr | None = None
    """webhook: the https:// endpoint; slack: the incoming-webhook URL."""
    routing_key: SecretStr | None = None
    """pagerduty: the Events API v2 routing key."""
    channel: str | None = None
    """slack: channel override."""
    send_resolved: bool = True
    """Also notify when an alert resolves."""
    insecure_skip_tls_verify: bool = False
    """Named weakening (webhook only)."""

    @model_validator(mode="after")
    def _per_type(self) -> AlertReceiverArgs:
        problems = ProblemList()
        if self.type in ("webhook", "slack"):
            if self.url is None:
                problems.add(["url"], f"required for a {self.type} receiver", "set url (a secret)")
            elif not self.url.get_secret_value().startswith("https://"):
                problems.add(["url"], "must use https://", "use the receiver's TLS endpoint")
        if self.type == "pagerduty" and self.routing_key is None:
            problems.add(["routingKey"], "required for a pagerduty receiver", "set routingKey (a secret)")
        if self.channel and self.type != "slack":
            problems.add(["channel"], "only used by slack receivers", "remove channel")
        if self.insecure_skip_tls_verify and self.type != "webhook":
            problems.add(["insecureSkipTlsVerify"], "only applies to webhook receivers", "remove it")
        problems.raise_if_any()
        return self


class MonitoringArgs(HardenedModel):
    enabled: bool = False
    """Off by default (it is sizeable); the prod example stack turns it on."""
    chart_version: str | None = None
    """Overrides the rancher-monitoring chart pinned for the Rancher line (an explicit, reviewed choice)."""
    retention: str = Field("15d", pattern=r"^[0-9]+(h|d|w|y)$")
    """Prometheus retention, e.g. `15d` (units h, d, w, y)."""
    detection_rules: bool = True
    """Install the PrometheusRule with the project's security detection alerts."""
    receiver: AlertReceiverArgs | None = None
    """Where Alertmanager sends alerts; unset keeps them in Alertmanager only."""


class ClusterMonitoring(pulumi.ComponentResource):
    """`rancher-monitoring-crd`, `rancher-monitoring`, the detection PrometheusRule and the receiver."""

    config_key: ClassVar[str] = "monitoring"
    args_model: ClassVar[type[HardenedModel]] = MonitoringArgs

    crd: rancher2.AppV2
    grafana_admin: k8s.core.v1.Secret
    app: rancher2.AppV2
    rules: k8s.apiextensions.CustomResource | None
    receiver_secret: k8s.core.v1.Secret | None
    alertmanager_config: k8s.apiextensions.CustomResource | None

    @staticmethod
    def pinned_version(pins: LinePins) -> str:
        return pins.monitoring

    @classmethod
    def namespaces(cls, args: HardenedModel, rancher_line: str) -> tuple[str, ...]:
        return (NAMESPACE,)

    @classmethod
    def preflight(cls, args: MonitoringArgs, cluster: PreflightContext) -> list[Problem]:
        return []

    @classmethod
    def install(cls, name: str, args: MonitoringArgs, context: InstallContext) -> ClusterMonitoring:
        return cls(name, args, context.handle, context.opts, selinux=context.config.cluster.selinux)

    def __init__(
        self,
        name: str,
        args: MonitoringArgs,
        handle: ClusterHandle,
        opts: pulumi.ResourceOptions | None = None,
        *,
        selinux: bool = False,
    ) -> None:
        """`selinux`: the nodes run RKE2 with SELinux (the exporters' PushProx clients get their types)."""
        args = MonitoringArgs.model_validate(args)
        provider = require_kubernetes_provider(handle, "monitoring (rules, receiver, Grafana secret)")
        version = args.chart_version or self.pinned_version(pins_for(handle.rancher_line))
        super().__init__("hardened-rke2:addons:ClusterMonitoring", name, None, opts)

        self.crd = monitoring_crd_chart(name, handle, version, parent=self)
        after_crd = in_cluster_after(self.crd, parent=self, provider=provider, handle=handle)
        self.grafana_admin = grafana_admin_secret(name, parent=self, opts=after_crd)
        self.app = monitoring_chart(
            name, args, handle, version, parent=self, after=[self.crd, self.grafana_admin], selinux=selinux
        )
        after_app = in_cluster_after(self.app, parent=self, provider=provider, handle=handle)
        self.rules = detection_rules(name, opts=after_app) if args.detection_rules else None
        self.receiver_secret, self.alertmanager_config = (None, None)
        if args.receiver is not None:
            self.receiver_secret, self.alertmanager_config = alert_receiver(
                name, args.receiver, secret_opts=after_crd, config_opts=after_app
            )
        self.register_outputs({"version": version})


# The steps of ClusterMonitoring, in registration order (the order is part of the golden snapshot).
def monitoring_crd_chart(
    name: str, handle: ClusterHandle, version: str, *, parent: pulumi.Resource
) -> rancher2.AppV2:
    """`rancher-monitoring-crd`: the Prometheus operator CRDs everything else here is made of."""
    return install_chart(
        f"{name}-crd",
        handle=handle,
        chart="rancher-monitoring-crd",
        version=version,
        namespace=NAMESPACE,
        values={},
        parent=parent,
    )


def in_cluster_after(
    resource: pulumi.Resource,
    *,
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource,
    handle: ClusterHandle,
) -> pulumi.ResourceOptions:
    """Options for an in-cluster object that needs `resource` (e.g. its CRD) and the cluster's readiness."""
    return pulumi.ResourceOptions(
        parent=parent, provider=provider, depends_on=[*handle.depends_on(), resource]
    )


def grafana_admin_secret(
    name: str, *, parent: pulumi.Resource, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Secret:
    """A generated Grafana admin password in a Secret (the chart's default password is well known)."""
    password = random.RandomPassword(
        f"{name}-grafana-admin-password",
        length=32,
        special=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    data: dict[str, pulumi.Input[str]] = {
        "admin-password": pulumi.Output.secret(password.result),
        "admin-user": pulumi.Output.secret("admin"),
    }
    return k8s.core.v1.Secret(
        f"{name}-grafana-admin",
        metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": NAMESPACE},
        type="Opaque",
        string_data=data,
        opts=opts,
    )


def monitoring_chart(
    name: str,
    args: MonitoringArgs,
    handle: ClusterHandle,
    version: str,
    *,
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource],
    selinux: bool = False,
) -> rancher2.AppV2:
    """`rancher-monitoring` with the hardened values (after its CRDs and the Grafana admin Secret)."""
    return install_chart(
        name,
        handle=handle,
        chart="rancher-monitoring",
        version=version,
        namespace=NAMESPACE,
        values=monitoring_values(args, selinux=selinux),
        parent=parent,
        depends_on=after,
    )


def detection_rules(name: str, *, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """The PrometheusRule with the project's detection alerts (`detection_rule_groups`)."""
    return k8s.apiextensions.CustomResource(
        f"{name}-detection-rules",
        api_version="monitoring.coreos.com/v1",
        kind="PrometheusRule",
        metadata={"name": RULES_NAME, "namespace": NAMESPACE},
        spec={"groups": detection_rule_groups()},
        opts=opts,
    )


def alert_receiver(
    name: str,
    receiver: AlertReceiverArgs,
    *,
    secret_opts: pulumi.ResourceOptions,
    config_opts: pulumi.ResourceOptions,
) -> tuple[k8s.core.v1.Secret, k8s.apiextensions.CustomResource]:
    """The receiver's URL/key in a Secret, and the AlertmanagerConfig routing every alert to it."""
    secret = k8s.core.v1.Secret(
        f"{name}-receiver",
        metadata={"name": RECEIVER_SECRET, "namespace": NAMESPACE},
        type="Opaque",
        string_data={k: pulumi.Output.secret(v) for k, v in sorted(receiver_secret_data(receiver).items())},
        opts=secret_opts,
    )
    config = k8s.apiextensions.CustomResource(
        f"{name}-receiver-config",
        api_version="monitoring.coreos.com/v1alpha1",
        kind="AlertmanagerConfig",
        metadata={
            "name": "hardened-rke2",
            "namespace": NAMESPACE,
            "labels": ALERTMANAGER_CONFIG_LABEL,
        },
        spec=alertmanager_config_spec(receiver),
        opts=pulumi.ResourceOptions.merge(config_opts, pulumi.ResourceOptions(depends_on=[secret])),
    )
    return secret, config


def monitoring_values(args: MonitoringArgs, *, selinux: bool = False) -> dict[str, Any]:
    alertmanager_spec: dict[str, Any] = {
        # Route alerts from our AlertmanagerConfig for every namespace, not just its own.
        "alertmanagerConfigMatcherStrategy": {"type": "None"},
        "alertmanagerConfigSelector": {"matchLabels": dict(ALERTMANAGER_CONFIG_LABEL)},
        "alertmanagerConfigNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}},
    }
    return {
        # rancher-monitoring's PushProx clients get their SELinux types (e.g. rke_kubereader_t) only with
        # this on (rancher/charts rancher-monitoring 104.1.2 `charts/*/templates/pushprox-clients.yaml:141`).
        "global": {"seLinux": {"enabled": selinux}},
        "alertmanager": {"enabled": True, "alertmanagerSpec": alertmanager_spec},
        "prometheus": {"prometheusSpec": {"retention": args.retention}},
        "grafana": {
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
        },
        # Hardened RKE2 control-plane components bind to localhost; Rancher's PushProx clients scrape them.
        "rke2ControllerManager": {"enabled": True},
        "rke2Scheduler": {"enabled": True},
        "rke2Etcd": {"enabled": True},
        "rke2Proxy": {"enabled": True},
    }


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "framework": "nsa-cisa-k8s-hardening-1.2"},
        "annotations": {"summary": summary, "description": description},
    }


WRITE_VERBS = "create|update|patch|delete|deletecollection"
ADMISSION_RESOURCES = (
    "validatingwebhookconfigurations|mutatingwebhookconfigurations|"
    "validatingadmissionpolicies|validatingadmissionpolicybindings"
)
# What the platform itself does to admission configuration all the time: istiod patches its webhooks'
# caBundle/failurePolicy, rancher-webhook and NeuVector's controller update theirs on certificate rotation.
# Those are `update`/`patch`; adding or removing a webhook/policy (`create`/`delete`) is not routine.
ADMISSION_ATTACK_VERBS = "create|delete|deletecollection"


def _new_or_increased(selector: str, window: str) -> str:
    """Counter events in `window`, including a label set's first event: a counter series appears with its
    first increment already counted, which `increase()` alone never sees."""
    return f"(increase({selector}[{window}]) > 0 or ({selector} unless {selector} offset {window}))"


def detection_rule_groups() -> list[dict[str, Any]]:
    """Alert rules on API-server metrics. See the module doc for what is NOT expressible here.

    Each rule is on the metric that carries its signal (Kubernetes sources, checked late 2026):
    - 401s: authentication fails before the request reaches the instrumented handler, so
      `apiserver_request_total` never counts it; `authentication_attempts{result}` does
      (k8s.io/apiserver `pkg/endpoints/filters/metrics.go`, `recordAuthenticationMetrics`).
    - 403s: RBAC never returns Deny, only NoOpinion, and `apiserver_authorization_decisions_total` records
      terminal decisions only (`pkg/authorization/metrics/metrics.go`, "non-terminal, not reported"); the
      request-level `authorization_attempts_total{result="denied"|"no-opinion"}` counts every 403
      (`pkg/endpoints/filters/metrics.go`, `recordAuthorizationMetrics`).
    - `pod_security_exemptions_total` has no namespace label (only request_operation, resource, subresource;
      k8s.io/pod-security-admission `metrics/metrics.go`) and counts every request in the ~24 namespaces
      rancher-restricted exempts: it cannot tell an unexpected exemption from the platform's own pods, so
      there is no rule on it (exempt-namespace pods by non-platform users are an audit-log search).
    """
    # Tuning note: with anonymous auth off, an external load balancer's HTTP(S) health check of /healthz or
    # /readyz fails authentication too; a few checkers stay well below 1/s (or use TCP health checks).
    rules = [
        _alert(
            "KubeAPIUnauthenticatedRequestBurst",
            'sum(rate(authentication_attempts{result=~"failure|error"}[5m])) > 1',
            "10m",
            "warning",
            "Sustained failed authentication against the Kubernetes API",
            "More than 1 request/s has failed authentication for 10 minutes: credential stuffing, "
            "an expired token in automation, or anonymous probing. Check the audit log for the sources.",
        ),
        _alert(
            "KubeAPIForbiddenRequestBurst",
            'sum(rate(authorization_attempts_total{result=~"denied|no-opinion"}[5m])) > 0.5',
            "10m",
            "warning",
            "Sustained forbidden requests to the Kubernetes API",
            "More than 0.5 requests/s have been refused by authorization for 10 minutes: a compromised "
            "identity enumerating its permissions. The audit log names the user and the resources.",
        ),
        _alert(
            "KubeAdmissionConfigurationChanged",
            "sum by (resource, verb) "
            + _new_or_increased(
                f'apiserver_request_total{{resource=~"{ADMISSION_RESOURCES}",'
                f'verb=~"{ADMISSION_ATTACK_VERBS}",code=~"2.."}}',
                "5m",
            )
            + " > 0",
            "0m",
            "critical",
            "Admission control configuration added or removed ({{ $labels.verb }} {{ $labels.resource }})",
            "A webhook or admission policy was created or deleted: removing one switches off a security "
            "rule, adding one can rewrite or leak every object. Updates are not alerted (istiod, "
            "rancher-webhook and NeuVector update theirs routinely); check the audit log for who did it.",
        ),
        _alert(
            "KubeClusterRBACChanged",
            "sum by (resource, verb) "
            + _new_or_increased(
                f'apiserver_request_total{{resource=~"clusterroles|clusterrolebindings",'
                f'verb=~"{WRITE_VERBS}",code=~"2.."}}',
                "5m",
            )
            + " > 0",
            "0m",
            "warning",
            "Cluster-wide RBAC changed ({{ $labels.verb }} {{ $labels.resource }})",
            "New or changed ClusterRoles/ClusterRoleBindings can grant cluster-admin-like access.",
        ),
        _alert(
            "KubePodExecOrAttach",
            "sum by (subresource) "
            + _new_or_increased(
                'apiserver_request_total{resource="pods",subresource=~"exec|attach",code=~"1..|2.."}', "5m"
            )
            + " > 0",
            "0m",
            "info",
            "Interactive {{ $labels.subresource }} into a pod",
            "Someone opened a shell/attach session in a container; the audit log names the pod and user.",
        ),
        _alert(
            "KubePodSecurityAdmissionDenied",
            "sum by (policy_level, resource) "
            + _new_or_increased('pod_security_evaluations_total{decision="deny",mode="enforce"}', "10m")
            + " > 0",
            "0m",
            "warning",
            "Pod Security Admission denied a {{ $labels.resource }} ({{ $labels.policy_level }})",
            "A workload asked for more privilege than its namespace allows (e.g. privileged, hostPath, "
            "host namespaces). Prometheus sees the denial, not the pod: find it in the audit log.",
        ),
        _alert(
            "KubeAPIAuditEventsLost",
            "sum(" + _new_or_increased("apiserver_audit_error_total", "5m") + ") > 0",
            "0m",
            "critical",
            "The API server failed to write audit events",
            "Audit events were dropped (backend errors); the audit trail has gaps.",
        ),
    ]
    return [{"name": "hardened-rke2.nsa-cisa-detections", "rules": rules}]


def receiver_secret_data(receiver: AlertReceiverArgs) -> dict[str, str]:
    if receiver.type == "pagerduty":
        assert receiver.routing_key is not None  # validated by the model
        return {"routing-key": receiver.routing_key.get_secret_value()}
    assert receiver.url is not None
    return {"url": receiver.url.get_secret_value()}


def alertmanager_config_spec(receiver: AlertReceiverArgs) -> dict[str, Any]:
    name = f"hardened-rke2-{receiver.type}"
    ref = {"name": RECEIVER_SECRET}
    entry: dict[str, Any] = {"name": name}
    if receiver.type == "webhook":
        entry["webhookConfigs"] = [
            {
                "urlSecret": {**ref, "key": "url"},
                "sendResolved": receiver.send_resolved,
                "httpConfig": {"tlsConfig": {"insecureSkipVerify": receiver.insecure_skip_tls_verify}},
            }
        ]
    elif receiver.type == "slack":
        slack: dict[str, Any] = {"apiURL": {**ref, "key": "url"}, "sendResolved": receiver.send_resolved}
        if receiver.channel:
            slack["channel"] = receiver.channel
        entry["slackConfigs"] = [slack]
    else:
        entry["pagerdutyConfigs"] = [
            {"routingKey": {**ref, "key": "routing-key"}, "sendResolved": receiver.send_resolved}
        ]
    return {
        "route": {
            "receiver": name,
            "groupBy": ["alertname", "namespace"],
            "groupWait": "30s",
            "groupInterval": "5m",
            "repeatInterval": "4h",
        },
        "receivers": [entry],
    }
