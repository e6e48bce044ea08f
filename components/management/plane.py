"""The whole management plane: Rancher install -> bootstrap -> settings, SSO and roles.

Kubernetes access for the install (the cluster Rancher runs on):
- `source: secretConfig` (default): the kubeconfig is the secret config value `managementKubeconfig`
  (`pulumi config set --secret hardened-rke2:managementKubeconfig < kubeconfig.yaml`); it is a Pulumi
  secret in state. Missing at preview = unknown + warning; missing at deploy = error.
- `source: environment`: the Kubernetes provider reads `KUBECONFIG` (or ~/.kube/config) on the machine
  that runs `pulumi up`; nothing is stored in state. This is what the example stack uses, so the offline
  engine (which cannot decrypt `secure:` values) can run it.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import model_validator

from components.management.bootstrap import RancherBootstrap, RancherBootstrapArgs
from components.management.rancher_server import (
    RancherServer,
    RancherServerArgs,
    env_backed_settings,
    rancher_values,
)
from components.management.roles import Roles, RolesArgs
from components.management.secrets import SecretRef, resolve_secret
from components.management.security_settings import (
    SecuritySettings,
    SecuritySettingsArgs,
    rendered_settings,
)
from components.management.sso import SingleSignOn, SsoArgs, resolve_sso_secrets
from components.model import HardenedModel
from components.problems import ProblemList
from components.versions import DEFAULT_RANCHER_LINE, RancherLine


class KubernetesAccessArgs(HardenedModel):
    source: Literal["secretConfig", "environment"] = "secretConfig"
    """`secretConfig`: the kubeconfig comes from the secret config key named by `kubeconfig`; `environment`:
    the Kubernetes provider's own discovery (KUBECONFIG / ~/.kube/config)."""
    kubeconfig: SecretRef = SecretRef(config_key="managementKubeconfig")
    """Secret config key holding the kubeconfig of the cluster Rancher is installed on (`source:
    secretConfig`)."""
    context: str | None = None
    """kubeconfig context to use (default: the current context)."""


class ManagementPlaneArgs(HardenedModel):
    rancher_line: RancherLine = DEFAULT_RANCHER_LINE
    """Rancher release line; set from `rancher.line`, may repeat it but not differ."""
    kubernetes: KubernetesAccessArgs = KubernetesAccessArgs()
    """How the stack reaches the cluster Rancher is installed on (Rancher's local cluster)."""
    server: RancherServerArgs
    bootstrap: RancherBootstrapArgs = RancherBootstrapArgs()
    security: SecuritySettingsArgs = SecuritySettingsArgs()
    sso: SsoArgs
    """The external identity provider; one of the variants below, chosen by `provider`."""
    roles: RolesArgs
    """Platform admin / auditor group bindings and the reviewed role templates teams bind."""

    @model_validator(mode="before")
    @classmethod
    def _propagate_line(cls, data: Any) -> Any:
        """`rancherLine` is stated once; server and security inherit it unless they disagree."""
        if not isinstance(data, dict):
            return data
        line = data.get("rancherLine", data.get("rancher_line"))
        if line is None:
            return data
        data = dict(data)
        for key in ("server", "security"):
            section = data.get(key)
            if isinstance(section, dict) and "rancherLine" not in section and "rancher_line" not in section:
                data[key] = {**section, "rancherLine": line}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ManagementPlaneArgs:
        p = ProblemList()
        for key in ("server", "security"):
            if getattr(self, key).rancher_line != self.rancher_line:
                p.add((key, "rancherLine"), f"differs from rancherLine {self.rancher_line}", "drop it")
        max_seconds = self.security.token_max_ttl_minutes * 60
        for field, alias in (
            ("token_ttl_seconds", "tokenTtlSeconds"),
            ("automation_token_ttl_seconds", "automationTokenTtlSeconds"),
        ):
            ttl = getattr(self.bootstrap, field)
            if ttl > max_seconds:
                p.add(
                    ("bootstrap", alias),
                    f"{ttl}s exceeds security.tokenMaxTtlMinutes ({self.security.token_max_ttl_minutes} min)",
                    "lower it (Rancher would cap it anyway)",
                )
        # One source of truth per setting: none the chart already sets through a CATTLE_* variable
        # (read-only in Rancher; an update is HTTP 405, see rancher_server.ChartEnvSetting).
        env_backed = env_backed_settings(rancher_values(self.server, "<bootstrap password>"))
        for setting in sorted(env_backed & rendered_settings(self.security).keys()):
            p.add(
                ("security",),
                f"setting {setting!r} is also set by the rancher chart (environment variable), which "
                "makes it read-only: Rancher answers the update with HTTP 405",
                "set it in one place only: the chart value under server",
            )
        prefix = self.sso.principal_prefix()
        for field, alias in (
            ("platform_admin_groups", "platformAdminGroups"),
            ("auditor_groups", "auditorGroups"),
        ):
            for i, group in enumerate(getattr(self.roles, field)):
                if not group.startswith(f"{prefix}_group://"):
                    p.add(
                        ("roles", alias, i),
                        f"{group!r} is not a group of the configured {self.sso.provider} provider",
                        f"use {prefix}_group://<group>",
                    )
        p.raise_if_any()
        return self


class ManagementPlane(pulumi.ComponentResource):
    """Provider chain: kubernetes (install) -> rancher2 bootstrap -> rancher2 token provider (the rest)."""

    kubernetes_provider: k8s.Provider
    server: RancherServer
    bootstrap: RancherBootstrap
    settings: SecuritySettings
    sso: SingleSignOn
    roles: Roles

    def __init__(
        self,
        name: str,
        args: ManagementPlaneArgs | dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args if isinstance(args, ManagementPlaneArgs) else ManagementPlaneArgs.model_validate(args)
        # Every credential is resolved first: a missing one stops the program before any registration.
        kubeconfig: pulumi.Output[str] | None = (
            resolve_secret(args.kubernetes.kubeconfig, "kubernetes.kubeconfig")
            if args.kubernetes.source == "secretConfig"
            else None
        )
        sso_secrets = resolve_sso_secrets(args.sso)
        super().__init__("hardened-rke2:management:ManagementPlane", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.kubernetes_provider = k8s.Provider(
            f"{name}-local-cluster",
            kubeconfig=kubeconfig,  # already a secret (resolve_secret)
            context=args.kubernetes.context,
            # A stable identity for the cluster Rancher runs on: rotating the kubeconfig's credentials
            # must not replace the Rancher release and everything else on this provider.
            cluster_identifier=f"rancher-local-cluster@{args.server.api_url.rstrip('/')}",
            delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["kubeconfig"]),
        )
        self.server = RancherServer(
            f"{name}-rancher", args.server, kubernetes_provider=self.kubernetes_provider, opts=child
        )
        tls = args.server.tls
        self.bootstrap = RancherBootstrap(
            f"{name}-bootstrap",
            args.bootstrap,
            api_url=args.server.api_url,
            initial_password=self.server.bootstrap_password,
            ca_certs=tls.private_ca_certificate,
            insecure=tls.allow_unverified_bootstrap_tls,
            kubernetes_provider=self.kubernetes_provider,
            depends_on=[self.server.release],
            opts=child,
        )
        provider = self.bootstrap.provider
        self.settings = SecuritySettings(f"{name}-security", args.security, provider=provider, opts=child)
        self.sso = SingleSignOn(
            f"{name}-sso",
            args.sso,
            provider=provider,
            api_url=args.server.api_url,
            extra_principal_ids=args.roles.group_principals,
            secrets=sso_secrets,
            opts=child,
        )
        self.roles = Roles(
            f"{name}-roles",
            args.roles,
            provider=provider,
            kubernetes_provider=self.kubernetes_provider,
            depends_on=[self.server.release, self.bootstrap.bootstrap],
            opts=child,
        )
        self.register_outputs({"apiUrl": args.server.api_url})
