"""The Rancher management plane: hardened install, bootstrap, security settings, SSO and roles."""

from components.management.bootstrap import RancherBootstrap, RancherBootstrapArgs
from components.management.plane import KubernetesAccessArgs, ManagementPlane, ManagementPlaneArgs
from components.management.rancher_server import (
    AuditLogArgs,
    RancherServer,
    RancherServerArgs,
    RancherTlsArgs,
)
from components.management.roles import Roles, RolesArgs, RoleTemplateArgs, RuleArgs
from components.management.secrets import MissingSecretError, SecretRef
from components.management.security_settings import SecuritySettings, SecuritySettingsArgs
from components.management.sso import SingleSignOn, SsoArgs

__all__ = [
    "AuditLogArgs",
    "KubernetesAccessArgs",
    "ManagementPlane",
    "ManagementPlaneArgs",
    "MissingSecretError",
    "RancherBootstrap",
    "RancherBootstrapArgs",
    "RancherServer",
    "RancherServerArgs",
    "RancherTlsArgs",
    "RoleTemplateArgs",
    "Roles",
    "RolesArgs",
    "RuleArgs",
    "SecretRef",
    "SecuritySettings",
    "SecuritySettingsArgs",
    "SingleSignOn",
    "SsoArgs",
]
