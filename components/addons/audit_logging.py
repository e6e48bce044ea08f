"""Ship the Kubernetes API audit log (and the cluster's other logs) off the cluster (NSA/CISA guide:
logging and auditing; logs must leave the nodes they describe).

`rancher-logging` (+ `rancher-logging-crd`, namespace `cattle-logging-system`) with its RKE2 sources:
`additionalLoggingSources.rke2` (journald of rke2-server/agent) and `additionalLoggingSources.kubeAudit`
(a fluent-bit tailing the API audit log on control-plane nodes). One cluster-wide `ClusterOutput` for the
configured target (syslog over TLS, Elasticsearch, OpenSearch, Splunk HEC or HTTPS) and one `ClusterFlow`
sending everything the pipeline collects to it.

Credentials never appear in the chart values or the ClusterOutput: they go into a Kubernetes Secret
(secret `stringData`) in the logging control namespace and are referenced by `secretKeyRef`. TLS
verification is on for every target; `insecureSkipTlsVerify: true` is the one named way to weaken it.

Checked against logging-operator 4.10.0 (the operator every pinned rancher-logging bundles): a CA bundle is a
file path for fluentd (`ca_file`, `trusted_ca_path`, `tls_ca_cert_path` are `*secret.Secret` documented as
paths, `pkg/sdk/logging/model/output/{elasticsearch.go:84,syslog.go:54,splunk_hec.go:109,http.go:79}`), so it
is referenced with `mountFrom` (the operator mounts the key and renders its path; `valueFrom` would render the
PEM text itself, cisco-open/operator-tools `docs/types/secret_types.md`); the Elasticsearch / OpenSearch
`user` is a plain string (`elasticsearch.go:68`, `opensearch.go:67`; the CRD
`charts/logging-operator/crds/logging.banzaicloud.io_clusteroutputs.yaml:1900-1902` says `type: string`, so
the API server rejects an object there), only the password is a secret reference.
rancher-logging gives its fluent-bit log readers the `rke_logreader_t` SELinux type only with
`global.seLinux.enabled` (rancher/charts `charts/rancher-logging/104.1.0+up4.8.0/templates/
_generic_fluentbitagent.yaml:27-30`, `loggings/rke2/daemonset.yaml:23-26`), set from `addons.cluster.selinux`.

Not verifiable offline: that the kube-audit records (tailed from a host file, so without Kubernetes
metadata) are routed by a ClusterFlow without `match`; check the target receives them after the first
`pulumi up` (e.g. search it for `"kind":"Event","apiVersion":"audit.k8s.io/v1"`).

Known risk (reported by a third-party compatibility tracker, Sept 2026, not confirmed by a SUSE
advisory here): every rancher-logging line 106-110 still bundles logging-operator 4.10.0, reported as
affected by CVE-2026-54680 (fluentd configuration injection). Keep who can create Flow/Output objects
tight (tenants should not get them) until Rancher ships a fixed operator.
"""

from __future__ import annotations

import posixpath
from typing import Any, ClassVar, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import SecretStr, model_validator

from components.addons.catalog import install_chart, require_kubernetes_provider
from components.addons.contract import InstallContext, PreflightContext
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.net_types import Host, Port
from components.problems import Problem, ProblemList
from components.versions import LinePins, pins_for

NAMESPACE = "cattle-logging-system"
CREDENTIALS_SECRET = "hardened-rke2-audit-log-output"
OUTPUT_NAME = "hardened-rke2-audit-log"
RKE2_AUDIT_LOG = "/var/lib/rancher/rke2/server/logs/audit.log"

OutputType = Literal["syslog", "elasticsearch", "opensearch", "splunkHec", "http"]
DEFAULT_PORTS: dict[str, int] = {
    "syslog": 6514,
    "elasticsearch": 9200,
    "opensearch": 9200,
    "splunkHec": 8088,
}


class AuditLogOutputArgs(HardenedModel):
    """Where the logs go. Fields used depend on `type`; secrets are Pulumi secrets end to end."""

    type: OutputType
    """Kind of target: `syslog` (TLS), `elasticsearch`, `opensearch`, `splunkHec` or `http`."""
    host: Host | None = None
    """syslog / elasticsearch / opensearch / splunkHec host name."""
    port: Port | None = None
    """Target port; unset uses the type's default (syslog 6514, elasticsearch / opensearch 9200, ...)."""
    endpoint: str | None = None
    """http: the full https:// URL."""
    index: str | None = None
    """elasticsearch / opensearch / splunkHec: the index to write to."""
    username: str | None = None
    """elasticsearch / opensearch / http: basic-auth user (not for syslog)."""
    password: SecretStr | None = None
    """Basic-auth password for `username`; set with `pulumi config set --secret --path`."""
    token: SecretStr | None = None
    """splunkHec: the HEC token."""
    ca_bundle: str | None = None
    """PEM CA bundle to verify the target (otherwise the system trust store)."""
    existing_secret_name: str | None = None
    """A Secret already in cattle-logging-system with keys `username`, `password`, `token`, `ca.crt`
    (as needed), instead of passing credentials through stack config."""
    insecure_skip_tls_verify: bool = False
    """Named weakening: do not verify the target's certificate."""

    @model_validator(mode="after")
    def _per_type(self) -> AuditLogOutputArgs:
        problems = ProblemList()
        needs_host = self.type in ("syslog", "elasticsearch", "opensearch", "splunkHec")
        if needs_host and not self.host:
            problems.add(["host"], f"required for a {self.type} output", "set the target host name")
        if self.type == "http":
            if not self.endpoint:
                problems.add(["endpoint"], "required for an http output", "set the https:// URL")
            elif not self.endpoint.startswith("https://"):
                problems.add(["endpoint"], "must use https://", "use the target's TLS endpoint")
        elif self.endpoint:
            problems.add(["endpoint"], f"only used by http outputs, not {self.type}", "use host/port")
        has_secret = self.existing_secret_name is not None
        if self.type == "splunkHec" and self.token is None and not has_secret:
            problems.add(
                ["token"], "a Splunk HEC token is required", "set token (a secret) or existingSecretName"
            )
        if self.type != "splunkHec" and self.token is not None:
            problems.add(
                ["token"], f"only used by splunkHec outputs, not {self.type}", "use username/password"
            )
        if self.password is not None and not self.username:
            problems.add(["username"], "a password needs a username", "set username")
        if self.type == "syslog" and (self.username or self.password):
            problems.add(["username"], "syslog over TLS has no basic auth", "remove username/password")
        if has_secret and (self.password is not None or self.token is not None or self.ca_bundle):
            problems.add(
                ["existingSecretName"],
                "cannot be combined with password/token/caBundle",
                "put everything in the existing Secret, or drop existingSecretName",
            )
        problems.raise_if_any()
        return self


class AuditLoggingArgs(HardenedModel):
    enabled: bool = True
    """Install rancher-logging and ship the audit log; false removes the off-node copy of the audit trail."""
    chart_version: str | None = None
    """Overrides the rancher-logging chart pinned for the Rancher line (an explicit, reviewed choice)."""
    audit_log_path: str = RKE2_AUDIT_LOG
    """Must match the cluster's `audit-log-path` (kube-apiserver arg)."""
    output: AuditLogOutputArgs | None = None
    """Where the audit log is shipped; required while `enabled` is true."""

    @model_validator(mode="after")
    def _target(self) -> AuditLoggingArgs:
        problems = ProblemList()
        if self.enabled and self.output is None:
            problems.add(
                ["output"],
                "audit-log shipping is on but has no target",
                "configure auditLogging.output (syslog/elasticsearch/opensearch/splunkHec/http), "
                "or set auditLogging.enabled: false",
            )
        if not posixpath.isabs(self.audit_log_path) or self.audit_log_path.endswith("/"):
            problems.add(["auditLogPath"], "must be an absolute file path", f"e.g. {RKE2_AUDIT_LOG}")
        problems.raise_if_any()
        return self


class AuditLogShipping(pulumi.ComponentResource):
    """`rancher-logging-crd`, `rancher-logging`, credentials Secret, ClusterOutput and ClusterFlow."""

    config_key: ClassVar[str] = "audit_logging"
    args_model: ClassVar[type[HardenedModel]] = AuditLoggingArgs

    @staticmethod
    def pinned_version(pins: LinePins) -> str:
        return pins.logging

    @classmethod
    def namespaces(cls, args: HardenedModel, rancher_line: str) -> tuple[str, ...]:
        return (NAMESPACE,)

    @classmethod
    def preflight(cls, args: AuditLoggingArgs, cluster: PreflightContext) -> list[Problem]:
        return []

    @classmethod
    def install(cls, name: str, args: AuditLoggingArgs, context: InstallContext) -> AuditLogShipping:
        return cls(name, args, context.handle, context.opts, selinux=context.config.cluster.selinux)

    def __init__(
        self,
        name: str,
        args: AuditLoggingArgs,
        handle: ClusterHandle,
        opts: pulumi.ResourceOptions | None = None,
        *,
        selinux: bool = False,
    ) -> None:
        """`selinux`: the nodes run RKE2 with SELinux (the log readers then get `rke_logreader_t`)."""
        args = AuditLoggingArgs.model_validate(args)
        if args.output is None:  # validated above; keeps the type checker honest
            raise ValueError("auditLogging.output: required (fix: configure a target)")
        output = args.output
        provider = require_kubernetes_provider(handle, "audit-log shipping (ClusterOutput/ClusterFlow)")
        version = args.chart_version or self.pinned_version(pins_for(handle.rancher_line))
        super().__init__("hardened-rke2:addons:AuditLogShipping", name, None, opts)

        self.crd = install_chart(
            f"{name}-crd",
            handle=handle,
            chart="rancher-logging-crd",
            version=version,
            namespace=NAMESPACE,
            values={},
            parent=self,
        )
        self.app = install_chart(
            name,
            handle=handle,
            chart="rancher-logging",
            version=version,
            namespace=NAMESPACE,
            values=logging_values(args.audit_log_path, selinux=selinux),
            parent=self,
            depends_on=[self.crd],
        )

        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=provider, depends_on=[*handle.depends_on(), self.app]
        )
        secret_name = output.existing_secret_name
        self.credentials: k8s.core.v1.Secret | None = None
        keys = credential_keys(output)
        if secret_name is None and keys:
            secret_name = CREDENTIALS_SECRET
            self.credentials = k8s.core.v1.Secret(
                f"{name}-output-credentials",
                metadata={"name": CREDENTIALS_SECRET, "namespace": NAMESPACE},
                type="Opaque",
                string_data={k: pulumi.Output.secret(v) for k, v in sorted(keys.items())},
                opts=k8s_opts,
            )
        present = set(keys) if output.existing_secret_name is None else expected_secret_keys(output)
        self.cluster_output = k8s.apiextensions.CustomResource(
            f"{name}-cluster-output",
            api_version="logging.banzaicloud.io/v1beta1",
            kind="ClusterOutput",
            metadata={"name": OUTPUT_NAME, "namespace": NAMESPACE},
            spec=cluster_output_spec(output, secret_name, present),
            opts=pulumi.ResourceOptions.merge(
                k8s_opts,
                pulumi.ResourceOptions(depends_on=[self.credentials] if self.credentials else []),
            ),
        )
        self.cluster_flow = k8s.apiextensions.CustomResource(
            f"{name}-cluster-flow",
            api_version="logging.banzaicloud.io/v1beta1",
            kind="ClusterFlow",
            metadata={"name": OUTPUT_NAME, "namespace": NAMESPACE},
            # No `match`: every record the pipeline collects (incl. kube-audit and rke2 journald).
            spec={"globalOutputRefs": [OUTPUT_NAME]},
            opts=pulumi.ResourceOptions.merge(
                k8s_opts, pulumi.ResourceOptions(depends_on=[self.cluster_output])
            ),
        )
        self.register_outputs({"version": version, "outputType": output.type})


def logging_values(audit_log_path: str, *, selinux: bool = False) -> dict[str, Any]:
    return {
        "global": {"seLinux": {"enabled": selinux}},
        "additionalLoggingSources": {
            "rke2": {"enabled": True},
            "kubeAudit": {
                "enabled": True,
                "pathPrefix": posixpath.dirname(audit_log_path),
                "auditFilename": posixpath.basename(audit_log_path),
            },
        },
    }


def credential_keys(output: AuditLogOutputArgs) -> dict[str, str]:
    """Secret keys to create from stack-config values (empty when nothing sensitive was given)."""
    keys: dict[str, str] = {}
    if output.username and output.password is not None:
        keys["username"] = output.username
        keys["password"] = output.password.get_secret_value()
    if output.token is not None:
        keys["token"] = output.token.get_secret_value()
    if output.ca_bundle:
        keys["ca.crt"] = output.ca_bundle
    return keys


def expected_secret_keys(output: AuditLogOutputArgs) -> set[str]:
    """Keys assumed present in an existing Secret."""
    if output.type == "splunkHec":
        return {"token"}
    if output.type in ("elasticsearch", "opensearch", "http") and output.username:
        return {"username", "password"}
    return set()


def _ref(secret_name: str | None, key: str) -> dict[str, Any]:
    """A secret VALUE (password, token): the operator renders the value into the fluentd config."""
    return {"valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def _mount(secret_name: str | None, key: str) -> dict[str, Any]:
    """A secret FILE (CA bundle): the operator mounts the key into fluentd and renders its path."""
    return {"mountFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def cluster_output_spec(
    output: AuditLogOutputArgs, secret_name: str | None, keys: set[str]
) -> dict[str, Any]:
    verify = not output.insecure_skip_tls_verify
    port = output.port or DEFAULT_PORTS.get(output.type)
    ca = _mount(secret_name, "ca.crt") if "ca.crt" in keys else None
    if output.type == "syslog":
        cfg: dict[str, Any] = {
            "host": output.host,
            "port": port,
            "transport": "tls",
            "insecure": not verify,
            "verify_fqdn": verify,
            "enable_system_cert_store": True,
        }
        if ca:
            cfg["trusted_ca_path"] = ca
        return {"syslog": cfg}
    if output.type in ("elasticsearch", "opensearch"):
        cfg = {
            "host": output.host,
            "port": port,
            "scheme": "https",
            "ssl_verify": verify,
            "ssl_version": "TLSv1_2",
        }
        if output.index:
            cfg["index_name"] = output.index
        if output.username and "password" in keys:
            cfg["user"] = output.username  # a string in the CRD; only the password is a secret reference
            cfg["password"] = _ref(secret_name, "password")
        if ca:
            cfg["ca_file"] = ca
        return {output.type: cfg}
    if output.type == "splunkHec":
        cfg = {
            "hec_host": output.host,
            "hec_port": port,
            "protocol": "https",
            "insecure_ssl": not verify,
            "hec_token": _ref(secret_name, "token"),
        }
        if output.index:
            cfg["index"] = output.index
        if ca:
            cfg["ca_file"] = ca
        return {"splunkHec": cfg}
    cfg = {
        "endpoint": output.endpoint,
        "tls_verify_mode": "peer" if verify else "none",
        "tls_version": "TLSv1_2",
        "format": {"type": "json"},
    }
    if "username" in keys:
        cfg["auth"] = {"username": _ref(secret_name, "username"), "password": _ref(secret_name, "password")}
    if ca:
        cfg["tls_ca_cert_path"] = ca
    return {"http": cfg}
