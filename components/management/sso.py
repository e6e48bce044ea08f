"""One external identity provider for Rancher, in `restricted` access mode by default.

Rancher's access modes (rancher/rancher `pkg/auth/providers/common/usermanager.go:190-236`, CheckAccess):
`required` admits only `allowedPrincipalIds` (the strict allow-list); `restricted` (default) admits those
**plus anyone bound to any cluster or project** (a user or one of their groups with a cluster/project role
binding); `unrestricted` admits every IdP user and must be asked for by name. Choose `required` when
cluster/project bindings must not grant login by themselves (the policy pack's `minimumAccessMode:
required` then enforces it); the platform's admin/auditor groups are always on the allow-list.
Client secrets, SAML keys and bind passwords come from secret config (`SecretRef`).
The local `admin` stays the single emergency account: no other local users are created anywhere, and
local login cannot be switched off in Rancher (STIG V-252847 wants it kept, never auto-disabled).
Principal ids are `<provider>_user://...` / `<provider>_group://...`; a typo in the prefix would silently
admit nobody, so prefixes are validated per provider.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

import pulumi
import pulumi_rancher2 as rancher2
from pydantic import Field, model_validator

from components.management.secrets import SecretRef, resolve_secret
from components.model import HardenedModel
from components.problems import ConfigProblems, Problem

AccessMode = Literal["restricted", "required", "unrestricted"]

# Rancher's principal-id scheme per auth provider.
PRINCIPAL_PREFIX: dict[str, str] = {
    "genericOidc": "genericoidc",
    "keycloakOidc": "keycloakoidc",
    "oktaSaml": "okta",
    "keycloakSaml": "keycloak",
    "azureAd": "azuread",
    "openLdap": "openldap",
    "activeDirectory": "activedirectory",
}


class _SsoBase(HardenedModel):
    access_mode: AccessMode = "restricted"
    """Who may log in: `required` (only `allowedPrincipalIds` and the platform admin/auditor groups: the
    strict allow-list), `restricted` (those plus anyone bound to any cluster or project), or `unrestricted`
    (any user of the provider)."""
    allowed_principal_ids: tuple[str, ...] = ()
    """Besides these, the platform-admin and auditor groups are always admitted (see ManagementPlane)."""

    def principal_prefix(self) -> str:
        return PRINCIPAL_PREFIX[self.provider]  # type: ignore[attr-defined]

    def check_principals(self, ids: tuple[str, ...], field: str) -> list[Problem]:
        prefix = self.principal_prefix()
        allowed = (f"{prefix}_user://", f"{prefix}_group://", "local://")
        return [
            Problem(
                (field,),
                f"{pid!r} is not a {prefix} principal",
                f"start it with {prefix}_group:// or {prefix}_user://",
            )
            for pid in ids
            if not pid.startswith(allowed)
        ]

    @model_validator(mode="after")
    def _principals(self) -> _SsoBase:
        problems = self.check_principals(self.allowed_principal_ids, "allowedPrincipalIds")
        if problems:
            raise ConfigProblems(problems)
        return self

    def secret_refs(self) -> dict[str, SecretRef]:
        """Argument name -> secret ref, for every credential this provider needs."""
        return {}


class _OidcBase(_SsoBase):
    provider: str
    client_id: str
    """OIDC client id registered at the identity provider."""
    client_secret: SecretRef = SecretRef(config_key="ssoClientSecret")
    """Secret config key with the OIDC client secret."""
    issuer: str
    """Issuer URL (https://)."""
    auth_endpoint: str | None = None
    """Authorization endpoint (https://); optional (only sent when set)."""
    token_endpoint: str | None = None
    """Token endpoint (https://); optional (only sent when set)."""
    userinfo_endpoint: str | None = None
    """Userinfo endpoint (https://); optional (only sent when set)."""
    jwks_url: str | None = None
    """JWKS URL (https://); optional (only sent when set)."""
    scopes: str = "openid profile email"
    """Requested scopes."""
    groups_field: str = "groups"
    """Claim that carries the user's groups."""
    group_search_enabled: bool = False
    """Let Rancher search the provider's groups."""
    pkce_method: Literal["S256"] | None = "S256"
    """PKCE code challenge method; null turns PKCE off."""
    logout_all_enabled: bool = True
    """Logging out of Rancher also ends the provider session."""

    @model_validator(mode="after")
    def _https(self) -> _OidcBase:
        for field in ("issuer", "auth_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_url"):
            value = getattr(self, field)
            if value is not None and not value.startswith("https://"):
                raise ValueError(f"{field}: {value!r} must be an https:// URL")
        return self

    def secret_refs(self) -> dict[str, SecretRef]:
        return {"client_secret": self.client_secret}


class GenericOidcArgs(_OidcBase):
    provider: Literal["genericOidc"] = "genericOidc"
    """Selects this provider."""


class KeycloakOidcArgs(_OidcBase):
    provider: Literal["keycloakOidc"] = "keycloakOidc"
    """Selects this provider."""


class _SamlBase(_SsoBase):
    idp_metadata: SecretRef = SecretRef(config_key="ssoIdpMetadata")
    """The IdP metadata XML (the provider stores it as sensitive; it comes from config, not YAML)."""
    sp_certificate: str
    """The service-provider certificate (PEM, public)."""
    sp_key: SecretRef = SecretRef(config_key="ssoSpKey")
    """Secret config key with the service-provider private key (PEM)."""
    display_name_field: str = "displayName"
    """SAML attribute with the display name."""
    user_name_field: str = "email"
    """SAML attribute with the user name."""
    uid_field: str = "email"
    """SAML attribute with the unique user id."""
    groups_field: str = "groups"
    """SAML attribute with the user's groups."""

    def secret_refs(self) -> dict[str, SecretRef]:
        return {"idp_metadata_content": self.idp_metadata, "sp_key": self.sp_key}


class OktaSamlArgs(_SamlBase):
    provider: Literal["oktaSaml"] = "oktaSaml"
    """Selects this provider."""


class KeycloakSamlArgs(_SamlBase):
    provider: Literal["keycloakSaml"] = "keycloakSaml"
    """Selects this provider."""
    entity_id: str | None = None
    """SAML entity id of the Rancher client in Keycloak (optional; only sent when set)."""


class AzureAdArgs(_SsoBase):
    provider: Literal["azureAd"] = "azureAd"
    """Selects this provider."""
    tenant_id: str
    """Microsoft Entra ID tenant id."""
    application_id: str
    """Application (client) id of the app registration."""
    application_secret: SecretRef = SecretRef(config_key="ssoClientSecret")
    """Secret config key with the application's client secret."""
    endpoint: str = "https://login.microsoftonline.com/"
    """Login endpoint (national clouds differ)."""
    graph_endpoint: str = "https://graph.microsoft.com"
    """Microsoft Graph endpoint (national clouds differ)."""
    group_membership_filter: str | None = None
    """Graph filter limiting which groups Rancher reads."""

    def secret_refs(self) -> dict[str, SecretRef]:
        return {"application_secret": self.application_secret}


class _LdapBase(_SsoBase):
    servers: tuple[str, ...] = Field(min_length=1)
    """Directory server host names."""
    port: int = 636
    """Directory port (636: LDAPS)."""
    tls: bool = True
    """LDAPS (TLS from the first byte)."""
    start_tls: bool = False
    """StartTLS on a plain port (alternative to `tls`)."""
    certificate: str | None = None
    """CA certificate (PEM) of the directory servers."""
    service_account_password: SecretRef = SecretRef(config_key="ssoBindPassword")
    """Secret config key with the bind (service account) password."""
    user_search_base: str
    """Search base DN for users."""
    group_search_base: str | None = None
    """Search base DN for groups (optional; only sent when set)."""
    test_username: str
    """User Rancher logs in as to test the configuration."""
    test_password: SecretRef = SecretRef(config_key="ssoTestPassword")
    """Secret config key with the test user's password."""
    nested_group_membership_enabled: bool = False
    """Resolve nested group membership."""
    allow_plaintext_ldap: bool = False
    """Permits neither `tls` nor `startTls`: bind passwords travel in clear."""

    @model_validator(mode="after")
    def _transport(self) -> _LdapBase:
        if not (self.tls or self.start_tls) and not self.allow_plaintext_ldap:
            raise ConfigProblems.one(
                "LDAP without tls or startTls sends bind passwords in clear",
                "tls: true, or set allowPlaintextLdap: true",
            )
        return self

    def secret_refs(self) -> dict[str, SecretRef]:
        return {
            "service_account_password": self.service_account_password,
            "test_password": self.test_password,
        }


class OpenLdapArgs(_LdapBase):
    provider: Literal["openLdap"] = "openLdap"
    """Selects this provider."""
    service_account_distinguished_name: str
    """DN of the bind service account."""


class ActiveDirectoryArgs(_LdapBase):
    provider: Literal["activeDirectory"] = "activeDirectory"
    """Selects this provider."""
    service_account_username: str
    """User name of the bind service account."""
    default_login_domain: str | None = None
    """Domain prepended to user names without one."""


SsoArgs = Annotated[
    GenericOidcArgs
    | KeycloakOidcArgs
    | OktaSamlArgs
    | KeycloakSamlArgs
    | AzureAdArgs
    | OpenLdapArgs
    | ActiveDirectoryArgs,
    Field(discriminator="provider"),
]


def _auth_config(
    name: str,
    args: Any,
    secrets: dict[str, pulumi.Output[str]],
    api_url: str,
    principals: list[str],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    common: dict[str, Any] = {
        "access_mode": args.access_mode,
        "allowed_principal_ids": principals,
        "enabled": True,
    }
    if isinstance(args, _OidcBase):
        cls = (
            rancher2.AuthConfigGenericOidc
            if args.provider == "genericOidc"
            else rancher2.AuthConfigKeycloakOidc
        )
        optional = {
            k: getattr(args, k)
            for k in ("auth_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_url", "pkce_method")
            if getattr(args, k) is not None
        }
        return cls(
            name,
            client_id=args.client_id,
            client_secret=secrets["client_secret"],
            issuer=args.issuer,
            rancher_url=f"{api_url}/verify-auth",
            scopes=args.scopes,
            groups_field=args.groups_field,
            group_search_enabled=args.group_search_enabled,
            logout_all_enabled=args.logout_all_enabled,
            **optional,
            **common,
            opts=opts,
        )
    if isinstance(args, _SamlBase):
        saml: dict[str, Any] = {
            "display_name_field": args.display_name_field,
            "groups_field": args.groups_field,
            "idp_metadata_content": secrets["idp_metadata_content"],
            "rancher_api_host": api_url,
            "sp_cert": args.sp_certificate,
            "sp_key": secrets["sp_key"],
            "uid_field": args.uid_field,
            "user_name_field": args.user_name_field,
        }
        if isinstance(args, KeycloakSamlArgs):
            if args.entity_id:
                saml["entity_id"] = args.entity_id
            return rancher2.AuthConfigKeycloak(name, **saml, **common, opts=opts)
        return rancher2.AuthConfigOkta(name, **saml, **common, opts=opts)
    if isinstance(args, AzureAdArgs):
        authority = f"{args.endpoint.rstrip('/')}/{args.tenant_id}/oauth2/v2.0"
        extra: dict[str, Any] = (
            {"group_membership_filter": args.group_membership_filter} if args.group_membership_filter else {}
        )
        return rancher2.AuthConfigAzureAd(
            name,
            tenant_id=args.tenant_id,
            application_id=args.application_id,
            application_secret=secrets["application_secret"],
            endpoint=args.endpoint,
            graph_endpoint=args.graph_endpoint,
            auth_endpoint=f"{authority}/authorize",
            token_endpoint=f"{authority}/token",
            rancher_url=f"{api_url}/verify-auth-azure",
            **extra,
            **common,
            opts=opts,
        )
    assert isinstance(args, _LdapBase)
    ldap: dict[str, Any] = {
        "servers": list(args.servers),
        "port": args.port,
        "tls": args.tls,
        "start_tls": args.start_tls,
        "service_account_password": secrets["service_account_password"],
        "user_search_base": args.user_search_base,
        "test_username": args.test_username,
        "test_password": secrets["test_password"],
        "nested_group_membership_enabled": args.nested_group_membership_enabled,
    }
    if args.certificate:
        ldap["certificate"] = args.certificate
    if args.group_search_base:
        ldap["group_search_base"] = args.group_search_base
    if isinstance(args, OpenLdapArgs):
        return rancher2.AuthConfigOpenLdap(
            name,
            service_account_distinguished_name=args.service_account_distinguished_name,
            **ldap,
            **common,
            opts=opts,
        )
    assert isinstance(args, ActiveDirectoryArgs)
    if args.default_login_domain:
        ldap["default_login_domain"] = args.default_login_domain
    return rancher2.AuthConfigActiveDirectory(
        name, service_account_username=args.service_account_username, **ldap, **common, opts=opts
    )


# SDK argument -> the YAML field that names its SecretRef (for messages).
_SECRET_FIELD = {
    "client_secret": "clientSecret",
    "idp_metadata_content": "idpMetadata",
    "sp_key": "spKey",
    "application_secret": "applicationSecret",
    "service_account_password": "serviceAccountPassword",
    "test_password": "testPassword",
}


def resolve_sso_secrets(args: Any, field_prefix: str = "sso") -> dict[str, pulumi.Output[str]]:
    """Every credential of `args`, resolved (or ConfigProblems for a missing one) before anything is
    registered."""
    return {
        arg: resolve_secret(ref, f"{field_prefix}.{_SECRET_FIELD[arg]}")
        for arg, ref in sorted(args.secret_refs().items())
    }


class SingleSignOn(pulumi.ComponentResource):
    """The configured `rancher2.AuthConfig*` resource, through the token provider."""

    auth_config: pulumi.CustomResource

    def __init__(
        self,
        name: str,
        args: Any,
        *,
        provider: pulumi.ProviderResource,
        api_url: str,
        extra_principal_ids: tuple[str, ...] = (),
        secrets: dict[str, pulumi.Output[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, _SsoBase):
            from pydantic import TypeAdapter

            # cast: mypy sees the Annotated union as a value, not a type (an ignore would be flagged
            # unused by some mypy/pydantic versions)
            args = TypeAdapter(cast(Any, SsoArgs)).validate_python(args)
        problems = args.check_principals(extra_principal_ids, "group bindings")
        if args.access_mode != "unrestricted" and not (args.allowed_principal_ids or extra_principal_ids):
            problems.append(
                Problem(
                    ("accessMode",),
                    f"{args.access_mode} with no allowedPrincipalIds admits "
                    + (
                        "nobody through SSO"
                        if args.access_mode == "required"
                        else "only users already bound to a cluster or project: nobody could bind the first"
                    ),
                    "list the groups that may log in",
                )
            )
        if problems:
            raise ConfigProblems(problems)
        if secrets is None:
            secrets = resolve_sso_secrets(args)
        principals = sorted(set(args.allowed_principal_ids) | set(extra_principal_ids))
        super().__init__("hardened-rke2:management:SingleSignOn", name, None, opts)
        self.auth_config = _auth_config(
            f"{name}-{args.provider}",
            args,
            {k: pulumi.Output.secret(v) for k, v in secrets.items()},
            api_url,
            principals,
            pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.register_outputs({"provider": args.provider, "accessMode": args.access_mode})
