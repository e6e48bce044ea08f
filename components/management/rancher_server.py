"""Rancher itself: cert-manager (when the TLS source needs it) and the `rancher` Helm chart, hardened.

Both charts are `kubernetes.helm.v3.Release` resources so the values are plain inputs that tests and the
policy pack can read (a `helm.v4.Chart` expands engine-side and is invisible under mocks).
The Rancher chart lives in `cattle-system` (Rancher requires that namespace).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from pydantic import Field, model_validator

from components.management.secrets import SecretRef, resolve_secret
from components.model import HardenedModel
from components.net_types import Email, chart_repository_problem
from components.problems import ProblemList
from components.versions import DEFAULT_RANCHER_LINE, LinePins, RancherLine, pins_for

RANCHER_NAMESPACE = "cattle-system"
CERT_MANAGER_NAMESPACE = "cert-manager"
RANCHER_CHART_REPOSITORY = "https://releases.rancher.com/server-charts/stable"
CERT_MANAGER_REPOSITORY = "https://charts.jetstack.io"
_FQDN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class ChartEnvSetting:
    """A `CATTLE_*` environment variable the `rancher` chart sets on the Rancher container.

    Rancher stores a setting whose `CATTLE_<NAME>` variable is present with `source: env`
    (rancher/rancher `pkg/controllers/dashboardapi/settings/settings.go:98-113`; the name mapping is
    `settings.GetEnvKey`, `pkg/settings/setting.go:660-661`) and refuses every API update of it with HTTP 405
    (`pkg/api/norman/customization/setting/setting.go:49-50`). The rancher2 provider's create of an existing
    setting is such an update, so a `rancher2.Setting` for one of these fails the first `pulumi up`.
    """

    env: str
    """The variable's name, `CATTLE_` + the setting name upper-cased with `-` as `_`."""
    when: tuple[str, ...] = ()
    """Chart values that must all be set (truthy, like Helm's `if`) for the chart to render it;
    () = always."""

    @property
    def setting(self) -> str:
        """The Rancher setting this variable backs (the inverse of `settings.GetEnvKey`)."""
        return self.env.removeprefix("CATTLE_").lower().replace("_", "-")


# rancher/rancher chart/templates/deployment.yaml (HEAD 59bd052, lines 116-188): every CATTLE_* variable.
# Not every one names an existing setting (e.g. `features`, `bootstrap-password`); listing them all keeps
# the table a plain transcription of the template.
CHART_ENV_SETTINGS: tuple[ChartEnvSetting, ...] = (
    ChartEnvSetting("CATTLE_NAMESPACE"),
    ChartEnvSetting("CATTLE_PEER_SERVICE"),
    ChartEnvSetting("CATTLE_FEATURES", ("features",)),
    ChartEnvSetting("CATTLE_NO_DEFAULT_ADMIN", ("noDefaultAdmin",)),
    ChartEnvSetting("CATTLE_SYSTEM_DEFAULT_REGISTRY", ("systemDefaultRegistry",)),
    ChartEnvSetting("CATTLE_SYSTEM_CATALOG", ("useBundledSystemChart",)),
    ChartEnvSetting("CATTLE_BOOTSTRAP_PASSWORD", ("bootstrapPassword",)),
    ChartEnvSetting("CATTLE_AGENT_TLS_MODE", ("agentTLSMode",)),
    ChartEnvSetting(
        "CATTLE_BASE_REGISTRY_PULL_SECRETS", ("systemRegistryInheritsPullSecrets", "imagePullSecrets")
    ),
    ChartEnvSetting("CATTLE_CHARTS_IMAGE"),
)


def env_backed_settings(values: Mapping[str, Any]) -> frozenset[str]:
    """Names of the Rancher settings the chart makes read-only for these values (table + `extraEnv`)."""
    names = {row.setting for row in CHART_ENV_SETTINGS if all(values.get(key) for key in row.when)}
    for entry in values.get("extraEnv") or ():
        env = str(entry.get("name", "")) if isinstance(entry, Mapping) else ""
        if env.startswith("CATTLE_"):
            names.add(ChartEnvSetting(env).setting)
    return frozenset(names)


class AuditLogArgs(HardenedModel):
    """Rancher's API audit log (DISA Rancher STIG V-252844: level >= 2).

    Level semantics differ per line. 2.11: 0 = off, 1 = metadata, 2 = + request body, 3 = + response body.
    2.12+: `enabled` is the master switch and 0 = metadata, 1 = + headers, 2 = + request body,
    3 = + response body. Level 2 logs request bodies on every line, so it is the default everywhere.
    """

    enabled: bool = True
    """Rancher API audit logging on."""
    level: int = Field(default=2, ge=0, le=3)
    """Audit level 0-3 (see the model description for per-line semantics); below 2 needs `allowLowAuditLevel`.
    Audit level 0-3 (see the model description for per-line semantics); below 2 needs `allowLowAuditLevel`."""
    allow_low_audit_level: bool = False
    """Explicit opt-in to a level below 2 (the policy pack still reports it)."""
    destination: Literal["sidecar", "hostPath"] = "sidecar"
    """`sidecar` streams the log from a sidecar container; `hostPath` writes it to the node (namespace then
    enforces privileged PSA)."""
    host_path: str = "/var/log/rancher/audit/"
    """Directory for `destination: hostPath` (absolute)."""
    max_age: int = Field(default=30, ge=1)
    """Days to keep rotated files (the chart default of 1 day is too short to investigate anything)."""
    max_backup: int = Field(default=10, ge=1)
    """Rotated files kept."""
    max_size: int = Field(default=100, ge=1)
    """MB before rotation."""

    @model_validator(mode="after")
    def _floor(self) -> AuditLogArgs:
        p = ProblemList()
        if self.enabled and self.level < 2 and not self.allow_low_audit_level:
            p.add(
                ("level",),
                f"level {self.level} does not record request bodies (STIG wants >= 2)",
                "use level 2 or 3, or set allowLowAuditLevel: true to accept the weaker audit trail",
            )
        if self.destination == "hostPath" and not self.host_path.startswith("/"):
            p.add(("hostPath",), "must be an absolute path", "e.g. /var/log/rancher/audit/")
        p.raise_if_any()
        return self


class RancherTlsArgs(HardenedModel):
    """Where the ingress certificate comes from.

    - `secret` (default): an enterprise-CA or public-CA certificate in the `tls-rancher-ingress` secret
      (created here from secret config when `certificate`/`privateKey` are given, else pre-created);
      `privateCaCertificate` (PEM, public) marks it as a private CA: `privateCA: true`, a `tls-ca`
      secret, and the CA the rancher2 providers verify against.
    - `letsEncrypt`: cert-manager + ACME (public CA, nothing to pin).
    - `rancher`: cert-manager + Rancher's self-signed CA. The providers must then be given that CA after
      the first install (`privateCaCertificate`) or told explicitly to skip verification.
    """

    source: Literal["secret", "letsEncrypt", "rancher"] = "secret"
    """Certificate source: `secret`, `letsEncrypt` or `rancher` (see the model description above)."""
    private_ca_certificate: str | None = None
    """PEM of the private CA that signed the ingress certificate (public); the rancher2 providers verify
    against it."""
    certificate: SecretRef | None = None
    """Secret config key with the ingress certificate (PEM) for `source: secret`; unset: the
    `tls-rancher-ingress` secret is pre-created."""
    private_key: SecretRef | None = None
    """Secret config key with the certificate's private key (PEM), given together with `certificate`."""
    lets_encrypt_email: Email | None = None
    """ACME account e-mail for `source: letsEncrypt`."""
    lets_encrypt_environment: Literal["production", "staging"] = "production"
    """Let's Encrypt environment (`staging` for trials)."""
    ingress_class_name: str | None = None
    """Ingress class of Rancher's ingress and of the ACME HTTP-01 solver (solver default: `nginx`)."""
    allow_unverified_bootstrap_tls: bool = False
    """Only for `source: rancher` before the generated CA is known: providers skip TLS verification."""

    @model_validator(mode="after")
    def _consistent(self) -> RancherTlsArgs:
        p = ProblemList()
        if self.private_ca_certificate is not None and not _PEM_CERT.search(self.private_ca_certificate):
            p.add(("privateCaCertificate",), "is not a PEM certificate", "paste the CA certificate's PEM")
        if (self.certificate is None) != (self.private_key is None):
            p.add(
                ("certificate",), "certificate and privateKey go together", "set both secret refs or neither"
            )
        if self.source != "secret" and self.certificate is not None:
            p.add(("certificate",), f"only used with source: secret, not {self.source}", "remove it")
        if self.source == "letsEncrypt" and not self.lets_encrypt_email:
            p.add(("letsEncryptEmail",), "is required with source: letsEncrypt", "an operations mailbox")
        if self.source == "letsEncrypt" and self.private_ca_certificate is not None:
            p.add(("privateCaCertificate",), "does not apply to letsEncrypt (a public CA)", "remove it")
        if (
            self.source == "rancher"
            and self.private_ca_certificate is None
            and not self.allow_unverified_bootstrap_tls
        ):
            p.add(
                ("privateCaCertificate",),
                "source: rancher generates its CA at install time; the rancher2 providers cannot verify it",
                "set privateCaCertificate to it, use source: secret, or allowUnverifiedBootstrapTls: true",
            )
        if self.allow_unverified_bootstrap_tls and self.source != "rancher":
            p.add(("allowUnverifiedBootstrapTls",), "only applies to source: rancher", "remove it")
        p.raise_if_any()
        return self

    @property
    def needs_cert_manager(self) -> bool:
        return self.source in ("rancher", "letsEncrypt")

    @property
    def private_ca(self) -> bool:
        return self.private_ca_certificate is not None


class RancherServerArgs(HardenedModel):
    """The hardened Rancher install."""

    hostname: str
    """Rancher's public host name (FQDN served by the ingress)."""
    rancher_line: RancherLine = DEFAULT_RANCHER_LINE
    """Rancher release line; the chart version is pinned per line."""
    chart_version: str | None = None
    """Overrides the pin from `components.versions` (an explicit, reviewed choice)."""
    chart_repository: str = RANCHER_CHART_REPOSITORY
    """Helm repository of the Rancher chart (an HTTPS mirror for air-gapped installs)."""
    cert_manager_version: str | None = None
    """Overrides the cert-manager chart pinned for the line (used with `tls.source` letsEncrypt / rancher)."""
    cert_manager_repository: str = CERT_MANAGER_REPOSITORY
    """Helm repository of the cert-manager chart."""
    allow_plain_http_chart_repositories: bool = False
    """Named weakening: accept `http://` chart repositories (charts fetched without TLS can be swapped in
    transit); the policy pack reports it."""
    replicas: int = Field(default=3, ge=1)
    """Rancher server replicas; fewer than 3 needs `allowReducedAvailability`."""
    allow_reduced_availability: bool = False
    """Permits fewer than 3 replicas or `antiAffinity: preferred`."""
    anti_affinity: Literal["required", "preferred"] = "required"
    """Pod anti-affinity of the replicas; `preferred` needs `allowReducedAvailability`."""
    tls: RancherTlsArgs = RancherTlsArgs()
    audit_log: AuditLogArgs = AuditLogArgs()
    agent_tls_mode: Literal["strict", "system-store"] = "strict"
    """Chart `agentTLSMode` (the only place the `agent-tls-mode` setting is set: the chart turns it into
    `CATTLE_AGENT_TLS_MODE`, which makes the setting read-only): `strict` agents trust only the configured
    CA; `system-store` also the OS trust store."""
    system_default_registry: str | None = None
    """Private registry for every Rancher and system image (air gap)."""
    use_bundled_system_chart: bool = False
    """Air gap: use the system charts packaged in the Rancher image instead of fetching them."""
    bootstrap_password_length: int = Field(default=32, ge=20)
    """Length of the generated bootstrap password (a Pulumi secret)."""
    helm_timeout_seconds: int = Field(default=900, ge=60)
    """Helm install / upgrade timeout of the charts."""

    @model_validator(mode="after")
    def _validate(self) -> RancherServerArgs:
        p = ProblemList()
        for key, repo in (
            ("chartRepository", self.chart_repository),
            ("certManagerRepository", self.cert_manager_repository),
        ):
            problem = chart_repository_problem(repo)
            weakened = repo.lower().startswith("http://") and self.allow_plain_http_chart_repositories
            if problem and not weakened:
                p.add((key,), problem, "use an https:// (or oci://) repository, e.g. an HTTPS mirror")
        if not _FQDN.match(self.hostname):
            p.add(
                ("hostname",),
                f"{self.hostname!r} is not a lower-case DNS name without scheme or port",
                "e.g. rancher.example.com",
            )
        if self.replicas < 3 and not self.allow_reduced_availability:
            p.add(
                ("replicas",),
                f"{self.replicas} is below the HA floor of 3",
                "use 3 or more, or set allowReducedAvailability: true",
            )
        if self.anti_affinity != "required" and not self.allow_reduced_availability:
            p.add(
                ("antiAffinity",),
                "preferred lets replicas share a node",
                "keep required, or set allowReducedAvailability: true",
            )
        if self.rancher_line == "2.11" and self.audit_log.enabled and self.audit_log.level == 0:
            p.add(
                ("auditLog", "level"),
                "level 0 turns the audit log off on Rancher 2.11",
                "use level 2, or set auditLog.enabled: false explicitly",
            )
        p.raise_if_any()
        return self

    @property
    def api_url(self) -> str:
        return f"https://{self.hostname}"


def audit_log_values(audit: AuditLogArgs, line: str) -> dict[str, Any]:
    """The chart's `auditLog` block for a Rancher line (see `AuditLogArgs` for the semantics)."""
    values: dict[str, Any] = {
        "destination": audit.destination,
        "hostPath": audit.host_path,
        "maxAge": audit.max_age,
        "maxBackup": audit.max_backup,
        "maxSize": audit.max_size,
    }
    if line == "2.11":
        # 2.11 has no master switch: level 0 IS "off" (RancherServerArgs rejects enabled + level 0).
        # `enabled` is still rendered (ignored by that chart) so one policy reads every line the same way.
        values.update(enabled=audit.enabled, level=audit.level if audit.enabled else 0)
    else:
        values.update(enabled=audit.enabled, level=audit.level)
    return values


def rancher_values(args: RancherServerArgs, bootstrap_password: pulumi.Input[str]) -> dict[str, Any]:
    """Hardened values for the `rancher` chart (deterministic; the password stays a secret)."""
    tls = args.tls
    ingress: dict[str, Any] = {"tls": {"source": tls.source}}
    if tls.ingress_class_name:
        ingress["ingressClassName"] = tls.ingress_class_name
    values: dict[str, Any] = {
        "hostname": args.hostname,
        "replicas": args.replicas,
        "antiAffinity": args.anti_affinity,
        "bootstrapPassword": bootstrap_password,
        "agentTLSMode": args.agent_tls_mode,
        "auditLog": audit_log_values(args.audit_log, args.rancher_line),
        "ingress": ingress,
        "privateCA": tls.source == "secret" and tls.private_ca,
        "useBundledSystemChart": args.use_bundled_system_chart,
    }
    if tls.source == "letsEncrypt":
        values["letsEncrypt"] = {
            "email": tls.lets_encrypt_email,
            "environment": tls.lets_encrypt_environment,
            "ingress": {"class": tls.ingress_class_name or "nginx"},
        }
    if args.system_default_registry:
        values["systemDefaultRegistry"] = args.system_default_registry
    return values


def cert_manager_values(args: RancherServerArgs) -> dict[str, Any]:
    values: dict[str, Any] = {
        # CRDs from the chart (v1.15+ key); `keep` so an uninstall does not delete every Certificate.
        "crds": {"enabled": True, "keep": True},
        "replicaCount": 2,
        "podDisruptionBudget": {"enabled": True},
        "webhook": {"replicaCount": 2, "podDisruptionBudget": {"enabled": True}},
    }
    if args.system_default_registry:
        values["image"] = {"registry": args.system_default_registry}
    return values


# --- the steps of RancherServer, in the order it runs them ---------------------------------------------


def cert_manager_release(
    name: str, args: RancherServerArgs, pins: LinePins, opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release | None:
    """cert-manager, when the TLS source needs it (rancher-generated or Let's Encrypt certificates)."""
    if not args.tls.needs_cert_manager:
        return None
    return k8s.helm.v3.Release(
        f"{name}-cert-manager",
        name="cert-manager",
        chart="cert-manager",
        version=args.cert_manager_version or pins.cert_manager_chart,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.cert_manager_repository),
        namespace=CERT_MANAGER_NAMESPACE,
        create_namespace=True,
        values=cert_manager_values(args),
        timeout=args.helm_timeout_seconds,
        opts=opts,
    )


def rancher_namespace_labels(args: RancherServerArgs) -> dict[str, str]:
    """Baseline is enforced (Rancher runs as root, so not restricted); a hostPath audit destination
    needs a hostPath volume, which only the privileged level admits."""
    enforce = "privileged" if args.audit_log.destination == "hostPath" else "baseline"
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def rancher_namespace(
    name: str, args: RancherServerArgs, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Namespace:
    """Explicit namespace: the TLS secrets must exist before the Rancher pods mount them."""
    return k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=RANCHER_NAMESPACE, labels=rancher_namespace_labels(args)),
        opts=opts,
    )


def tls_secrets(
    name: str,
    args: RancherServerArgs,
    certificate: pulumi.Input[str] | None,
    private_key: pulumi.Input[str] | None,
    namespace: k8s.core.v1.Namespace,
    opts: pulumi.ResourceOptions,
) -> list[pulumi.Resource]:
    """The ingress certificate (given as secret config) and the private CA bundle, when configured."""
    out: list[pulumi.Resource] = []
    if certificate is not None and private_key is not None:
        out.append(
            k8s.core.v1.Secret(
                f"{name}-ingress-tls",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="tls-rancher-ingress", namespace=RANCHER_NAMESPACE),
                type="kubernetes.io/tls",
                string_data={"tls.crt": certificate, "tls.key": private_key},
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(depends_on=[namespace], additional_secret_outputs=["data"])
                ),
            )
        )
    if args.tls.source == "secret" and args.tls.private_ca_certificate:
        out.append(
            k8s.core.v1.Secret(
                f"{name}-private-ca",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="tls-ca", namespace=RANCHER_NAMESPACE),
                string_data={"cacerts.pem": args.tls.private_ca_certificate},
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace])),
            )
        )
    return out


def bootstrap_password(
    name: str, args: RancherServerArgs, opts: pulumi.ResourceOptions
) -> random.RandomPassword:
    return random.RandomPassword(
        f"{name}-bootstrap-password",
        length=args.bootstrap_password_length,
        special=False,  # Helm --set style escaping and URL forms break on some specials.
        min_lower=4,
        min_upper=4,
        min_numeric=4,
        opts=opts,
    )


def rancher_release(
    name: str,
    args: RancherServerArgs,
    pins: LinePins,
    password: pulumi.Input[str],
    depends: list[pulumi.Resource],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        name="rancher",
        chart="rancher",
        version=args.chart_version or pins.rancher_chart,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.chart_repository),
        namespace=RANCHER_NAMESPACE,
        create_namespace=False,
        values=rancher_values(args, password),
        timeout=args.helm_timeout_seconds,
        max_history=10,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=depends, additional_secret_outputs=["values"])
        ),
    )


class RancherServer(pulumi.ComponentResource):
    """cert-manager (if needed) + the Rancher chart on the cluster reached by `kubernetes_provider`."""

    release: k8s.helm.v3.Release
    cert_manager: k8s.helm.v3.Release | None
    bootstrap_password: pulumi.Output[str]
    api_url: str
    ca_certs: str | None

    def __init__(
        self,
        name: str,
        args: RancherServerArgs | dict[str, Any],
        *,
        kubernetes_provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args if isinstance(args, RancherServerArgs) else RancherServerArgs.model_validate(args)
        pins = pins_for(args.rancher_line)
        # Resolve every credential (and fail on a missing one) before anything is registered.
        certificate = private_key = None
        if args.tls.certificate is not None and args.tls.private_key is not None:
            certificate = resolve_secret(args.tls.certificate, "server.tls.certificate")
            private_key = resolve_secret(args.tls.private_key, "server.tls.privateKey")
        super().__init__("hardened-rke2:management:RancherServer", name, None, opts)
        self.api_url = args.api_url
        self.ca_certs = args.tls.private_ca_certificate
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=kubernetes_provider)

        self.cert_manager = cert_manager_release(name, args, pins, k8s_opts)
        namespace = rancher_namespace(name, args, k8s_opts)
        depends: list[pulumi.Resource] = [namespace]
        if self.cert_manager is not None:
            depends.append(self.cert_manager)
        depends += tls_secrets(name, args, certificate, private_key, namespace, k8s_opts)
        password = bootstrap_password(name, args, pulumi.ResourceOptions(parent=self))
        self.bootstrap_password = pulumi.Output.secret(password.result)
        self.release = rancher_release(name, args, pins, self.bootstrap_password, depends, k8s_opts)
        self.register_outputs({"apiUrl": self.api_url, "release": self.release.name})
