"""A valid management-plane args mapping, and variants of it, for tests of the plane and its stack."""

from __future__ import annotations

from typing import Any

BASE: dict[str, Any] = {
    "rancherLine": "2.13",
    "kubernetes": {"source": "environment"},
    "server": {"hostname": "rancher.example.com"},
    "sso": {
        "provider": "keycloakOidc",
        "clientId": "rancher",
        "issuer": "https://sso.example.com/realms/ops",
        "allowedPrincipalIds": ["keycloakoidc_group://rancher-users"],
    },
    "roles": {
        "platformAdminGroups": ["keycloakoidc_group://platform-admins"],
        "auditorGroups": ["keycloakoidc_group://auditors"],
    },
}


def merged(**overrides: Any) -> dict[str, Any]:
    return {**BASE, **overrides}
