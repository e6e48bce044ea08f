"""The management stack: installs and configures Rancher itself (kind: management).

Kept apart from cluster stacks so each can be destroyed cleanly. Cluster stacks are given this stack's
outputs as config: `rancherApiUrl` as `rancher2:apiUrl`, `rancherCaCerts` (private CA only) as
`rancher.caCerts` and `rancher2:caCerts`, the secret `rancherTokenKey` (a TTL-bound automation token) as
`rancher2:tokenKey` (see docs/tokens.md).
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
from pydantic import model_validator

from components.management import ManagementPlane, ManagementPlaneArgs
from components.management.roles import USER_BASE_ROLE
from components.management.security_settings import rendered_settings
from components.model import HardenedModel
from components.problems import ConfigProblems
from components.versions import DEFAULT_RANCHER_LINE, RancherLine

# Default `configKey`s of every SecretRef in the management args.
DEFAULT_SECRET_KEYS = (
    "managementKubeconfig",
    "ssoClientSecret",
    "ssoIdpMetadata",
    "ssoSpKey",
    "ssoBindPassword",
    "ssoTestPassword",
)


def _config_keys(value: Any) -> list[str]:
    """Every `configKey` (without a project prefix) found in a raw config tree."""
    if isinstance(value, dict):
        found = [str(v).rpartition(":")[2] for k, v in value.items() if k in ("configKey", "config_key")]
        return found + [key for v in value.values() for key in _config_keys(v)]
    if isinstance(value, list):
        return [key for v in value for key in _config_keys(v)]
    return []


class ManagementRancherRef(HardenedModel):
    """Same shape as the cluster stacks' `rancher` block; only the line matters here."""

    line: RancherLine = DEFAULT_RANCHER_LINE
    """Rancher release line of the management stack; picks the chart pins."""


class ManagementStackConfig(HardenedModel):
    kind: Literal["management"] = "management"
    """Stack kind; `management` selects this schema."""
    rancher: ManagementRancherRef = ManagementRancherRef()
    management: ManagementPlaneArgs
    """The Rancher installation and its configuration (ManagementPlane)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_secret_keys(cls, data: Any) -> Any:
        """Secret config values live under their own keys (`hardened-rke2:ssoClientSecret`); they are read
        by the components through `SecretRef`, so the schema ignores exactly the keys that are referenced."""
        if not isinstance(data, dict):
            return data
        referenced = set(DEFAULT_SECRET_KEYS) | set(_config_keys(data.get("management")))
        return {k: v for k, v in data.items() if k not in referenced or k in cls.model_fields}

    @model_validator(mode="before")
    @classmethod
    def _line_once(cls, data: Any) -> Any:
        """`rancher.line` is the stack's line; `management.rancherLine` may repeat it but not differ."""
        if not isinstance(data, dict):
            return data
        rancher = data.get("rancher") or {}
        line = rancher.get("line") if isinstance(rancher, dict) else None
        management = data.get("management")
        if line is None or not isinstance(management, dict):
            return data
        own = management.get("rancherLine", management.get("rancher_line"))
        if own is not None and own != line:
            raise ConfigProblems.one(
                f"management.rancherLine {own} differs from rancher.line {line}", "drop one"
            )
        return {**data, "management": {**management, "rancherLine": line}}


def build_management_stack(config: ManagementStackConfig) -> ManagementPlane:
    """Register the management plane and export what operators and cluster stacks need."""
    args = config.management
    plane = ManagementPlane("management", args)
    pulumi.export("rancherLine", args.rancher_line)
    pulumi.export("rancherApiUrl", plane.bootstrap.api_url)
    if plane.bootstrap.ca_certs:
        pulumi.export("rancherCaCerts", plane.bootstrap.ca_certs)
    pulumi.export("rancherTokenKey", pulumi.Output.secret(plane.bootstrap.automation_token.token))
    pulumi.export("emergencyAdminUsername", "admin")
    pulumi.export("emergencyAdminPassword", plane.bootstrap.admin_password)
    pulumi.export("authProvider", args.sso.provider)
    pulumi.export("authAccessMode", args.sso.access_mode)
    pulumi.export("newUserDefaultRole", USER_BASE_ROLE)
    pulumi.export("securitySettings", rendered_settings(args.security))
    # Cluster stacks' tenant spaces bind these generated `rt-...` ids (`tenants.managementStack`).
    pulumi.export("roleTemplateIds", {key: rt.id for key, rt in sorted(plane.roles.role_templates.items())})
    return plane
