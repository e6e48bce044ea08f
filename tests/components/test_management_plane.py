"""ManagementPlane: provider chain, settings, auth config, roles and the secret-ness of every credential."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.management import ManagementPlane, MissingSecretError
from components.management.rancher_server import ChartEnvSetting, env_backed_settings
from components.management.security_settings import SecuritySettingsArgs, rendered_settings
from hardened_rke2.capture import UNKNOWN, CapturedResource, EchoMocks, ProgramRun
from tests.support.management import BASE, merged

SETTING = "rancher2:index/setting:Setting"
BOOTSTRAP = "rancher2:index/bootstrap:Bootstrap"
RANCHER_PROVIDER = "pulumi:providers:rancher2"
K8S_PROVIDER = "pulumi:providers:kubernetes"
GRB = "rancher2:index/globalRoleBinding:GlobalRoleBinding"
PATCH = "kubernetes:management.cattle.io/v3:GlobalRolePatch"
RT = "rancher2:index/roleTemplate:RoleTemplate"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----"

SECRETS = {
    "hardened-rke2:ssoClientSecret": "oidc-secret",
    "hardened-rke2:ssoIdpMetadata": "<EntityDescriptor/>",
    "hardened-rke2:ssoSpKey": "sp-key",
    "hardened-rke2:ssoBindPassword": "bind-pw",
    "hardened-rke2:ssoTestPassword": "test-pw",
    "hardened-rke2:managementKubeconfig": "apiVersion: v1\nkind: Config\n",
}
MOCKS = EchoMocks(
    extra_outputs={
        "random:index/randomPassword:RandomPassword": lambda a: {"result": f"pw-{a.name}"},
        BOOTSTRAP: lambda a: {"token": "token-admin:abc", "url": "https://rancher.example.com"},
        "rancher2:index/token:Token": lambda a: {"token": "token-automation:xyz"},
    }
)


def run_plane(
    mock_run: Any, args: dict[str, Any], config: dict[str, str] | None = None, **kw: Any
) -> ProgramRun:
    return mock_run(
        lambda: ManagementPlane("mgmt", args), mocks=MOCKS, config=SECRETS if config is None else config, **kw
    )


def provider_of(run: ProgramRun, resource: CapturedResource) -> CapturedResource:
    assert resource.provider, f"{resource.name} uses a default provider"
    urn = resource.provider.rsplit("::", 1)[0]
    return run.by_urn()[urn]


def test_provider_chain_bootstrap_then_token(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    providers = {r.name: r for r in run.of_type(RANCHER_PROVIDER)}
    assert set(providers) == {"mgmt-bootstrap-bootstrap", "mgmt-bootstrap-admin"}
    boot, admin = providers["mgmt-bootstrap-bootstrap"], providers["mgmt-bootstrap-admin"]
    assert boot.inputs["bootstrap"] in (True, "true")
    assert boot.inputs["apiUrl"] == admin.inputs["apiUrl"] == "https://rancher.example.com"
    assert "tokenKey" not in boot.inputs
    bootstrap = run.one(BOOTSTRAP)
    assert provider_of(run, bootstrap).name == "mgmt-bootstrap-bootstrap"
    # the admin provider's token IS the bootstrap token, and it is a secret
    assert admin.inputs["tokenKey"] == "token-admin:abc"
    assert admin.is_secret("tokenKey")
    assert bootstrap.urn in admin.dependencies
    # every other rancher2 resource goes through the token provider
    others = [r for r in run.resources if r.type.startswith("rancher2:") and r.type != BOOTSTRAP]
    assert len(others) > 10
    assert {provider_of(run, r).name for r in others} == {"mgmt-bootstrap-admin"}
    # the Helm releases and the built-in role patches go through the local-cluster Kubernetes provider
    k8s = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert {provider_of(run, r).type for r in k8s} == {K8S_PROVIDER}
    # bootstrap waits for the Rancher release
    release = run.one("kubernetes:helm.sh/v3:Release", "mgmt-rancher")
    assert release.urn in bootstrap.dependencies and release.urn in boot.dependencies


def test_bootstrap_credentials_are_secret_and_token_has_a_ttl(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    bootstrap = run.one(BOOTSTRAP)
    assert bootstrap.inputs["tokenTtl"] == 86_400
    assert bootstrap.is_secret("password") and bootstrap.is_secret("initialPassword")
    release = run.one("kubernetes:helm.sh/v3:Release", "mgmt-rancher")
    # the chart's bootstrapPassword is what Bootstrap logs in with first
    assert bootstrap.inputs["initialPassword"] == release.inputs["values"]["bootstrapPassword"]
    assert bootstrap.inputs["password"] != bootstrap.inputs["initialPassword"]
    token = run.one("rancher2:index/token:Token")
    assert token.inputs["ttl"] == 86_400 and token.inputs["renew"] is True
    assert "token" in token.additional_secret_outputs


def test_kubeconfig_from_secret_config(mock_run: Any) -> None:
    run = run_plane(mock_run, merged(kubernetes={"source": "secretConfig", "context": "rancher"}))
    provider = run.one(K8S_PROVIDER)
    assert provider.inputs["kubeconfig"].startswith("apiVersion: v1")
    assert provider.is_secret("kubeconfig")
    assert provider.inputs["context"] == "rancher"


def test_kubeconfig_from_environment_stores_nothing(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    assert "kubeconfig" not in run.one(K8S_PROVIDER).inputs


def test_missing_secret_is_unknown_with_warning_at_preview(mock_run: Any) -> None:
    run = run_plane(mock_run, merged(kubernetes={"source": "secretConfig"}), config={})
    assert run.one(K8S_PROVIDER).inputs["kubeconfig"] == UNKNOWN  # unknown, not a weaker value
    joined = "\n".join(run.warnings)
    assert "hardened-rke2:managementKubeconfig" in joined and "hardened-rke2:ssoClientSecret" in joined
    assert "pulumi config set --secret" in joined


def test_missing_secret_stops_a_deployment_before_any_resource(mock_run: Any) -> None:
    errors: list[Exception] = []

    def program() -> None:
        try:
            ManagementPlane("mgmt", BASE)
        except MissingSecretError as exc:
            errors.append(exc)

    run = mock_run(program, mocks=MOCKS, config={}, preview=False)
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]
    assert "sso.clientSecret" in str(errors[0]) and "pulumi config set --secret" in str(errors[0])


def test_every_setting_is_rendered_as_a_string(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    got = {r.inputs["name"]: r.inputs["value"] for r in run.of_type(SETTING)}
    assert got == {
        "auth-token-max-ttl-minutes": "1440",
        "auth-user-session-idle-ttl-minutes": "15",
        "auth-user-session-ttl-minutes": "480",
        "delete-inactive-user-after": "0",
        "disable-inactive-user-after": "840h",
        "kubeconfig-default-token-ttl-minutes": "480",
        "password-min-length": "15",
        "user-retention-cron": "0 0 * * *",
        "user-retention-dry-run": "false",
    }


@pytest.mark.parametrize("line", ["2.11", "2.12"])
def test_idle_session_ttl_exists_since_rancher_2_11_0(line: str) -> None:
    # rancher/rancher pkg/settings/setting.go:159 at tag v2.11.0 declares auth-user-session-idle-ttl-minutes.
    assert (
        rendered_settings(SecuritySettingsArgs(rancher_line=line))["auth-user-session-idle-ttl-minutes"]
        == "15"
    )
    assert (
        SecuritySettingsArgs(rancher_line=line, session_idle_ttl_minutes=30).effective_idle_ttl_minutes == 30
    )


HELM = "kubernetes:helm.sh/v3:Release"


@pytest.mark.parametrize(
    "server",
    [
        {"hostname": "rancher.example.com"},
        {"hostname": "rancher.example.com", "agentTlsMode": "system-store"},
        {
            "hostname": "rancher.example.com",
            "systemDefaultRegistry": "registry.example.com",
            "useBundledSystemChart": True,
        },
    ],
)
def test_no_setting_resource_is_one_the_chart_makes_env_backed_rancher_setting_go_49(
    mock_run: Any, server: dict[str, Any]
) -> None:
    """rancher/rancher pkg/api/norman/customization/setting/setting.go:49-50: a setting whose value comes
    from a CATTLE_* env var (chart/templates/deployment.yaml:116-188) answers an update with HTTP 405."""
    run = run_plane(mock_run, merged(server=server))
    release = next(r for r in run.of_type(HELM) if r.inputs.get("chart") == "rancher")
    env_backed = env_backed_settings(release.inputs["values"])
    assert {"agent-tls-mode", "namespace", "peer-service", "charts-image"} <= env_backed
    names = {r.inputs["name"] for r in run.of_type(SETTING)}
    assert names and not (names & env_backed), sorted(names & env_backed)


def test_env_backed_names_come_from_the_chart_table() -> None:
    assert ChartEnvSetting("CATTLE_AGENT_TLS_MODE").setting == "agent-tls-mode"
    values = {
        "agentTLSMode": "strict",
        "useBundledSystemChart": False,
        "imagePullSecrets": [{"name": "x"}],
        "extraEnv": [{"name": "CATTLE_AUTH_USER_SESSION_TTL_MINUTES", "value": "60"}],
    }
    got = env_backed_settings(values)
    assert "agent-tls-mode" in got and "auth-user-session-ttl-minutes" in got
    assert "system-catalog" not in got and "base-registry-pull-secrets" not in got  # Helm `if` is falsy


def test_a_setting_the_chart_also_sets_is_refused_before_registration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server model has no extraEnv: simulate a future chart value colliding with a Setting.
    import components.management.plane as plane

    original = plane.env_backed_settings
    monkeypatch.setattr(
        plane, "env_backed_settings", lambda values: original(values) | {"password-min-length"}
    )
    with pytest.raises(ValidationError, match=r"password-min-length.*HTTP 405"):
        plane.ManagementPlaneArgs.model_validate(BASE)


def test_overrides_within_the_floors() -> None:
    s = rendered_settings(
        SecuritySettingsArgs(
            token_max_ttl_minutes=720,
            kubeconfig_token_ttl_minutes=60,
            password_min_length=20,
            delete_inactive_user_after_hours=2160,
        )
    )
    assert s["auth-token-max-ttl-minutes"] == "720"
    assert s["kubeconfig-default-token-ttl-minutes"] == "60"
    assert s["password-min-length"] == "20"
    assert s["delete-inactive-user-after"] == "2160h"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"tokenMaxTtlMinutes": 0}, "tokenMaxTtlMinutes"),
        ({"tokenMaxTtlMinutes": 100_000}, "tokenMaxTtlMinutes"),
        ({"kubeconfigTokenTtlMinutes": 2000}, "kubeconfigTokenTtlMinutes"),
        ({"sessionTtlMinutes": 1440}, "sessionTtlMinutes"),
        ({"sessionIdleTtlMinutes": 600}, "sessionIdleTtlMinutes"),
        ({"passwordMinLength": 8}, "passwordMinLength"),
        ({"deleteInactiveUserAfterHours": 100}, "deleteInactiveUserAfterHours"),
        ({"deleteInactiveUserAfterHours": 500}, "deleteInactiveUserAfterHours"),
        ({"disableInactiveUserAfterHours": 4}, "disableInactiveUserAfterHours"),
        ({"userRetentionCron": "daily"}, "userRetentionCron"),
        ({"agentTlsMode": "strict"}, "agentTlsMode"),
    ],
)
def test_weakening_below_a_floor_is_a_field_named_error(args: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        SecuritySettingsArgs.model_validate(args)
    paths = set()
    for e in err.value.errors():
        problems = getattr((e.get("ctx") or {}).get("error"), "items", None)
        paths |= (
            {".".join(map(str, p.path)) for p in problems} if problems else {".".join(map(str, e["loc"]))}
        )
    assert field in paths


def test_explicit_named_settings_allow_weaker_values() -> None:
    s = rendered_settings(
        SecuritySettingsArgs(
            token_max_ttl_minutes=100_000,
            allow_long_lived_tokens=True,
            password_min_length=8,
            allow_weak_password_length=True,
            session_ttl_minutes=1440,
            session_idle_ttl_minutes=120,
            allow_long_sessions=True,
        )
    )
    assert s["auth-token-max-ttl-minutes"] == "100000"
    assert s["password-min-length"] == "8"
    assert s["auth-user-session-idle-ttl-minutes"] == "120"


def test_auth_config_is_restricted_and_admits_the_bound_groups(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    auth = run.one("rancher2:index/authConfigKeycloakOidc:AuthConfigKeycloakOidc")
    assert auth.inputs["accessMode"] == "restricted"
    assert auth.inputs["allowedPrincipalIds"] == [
        "keycloakoidc_group://auditors",
        "keycloakoidc_group://platform-admins",
        "keycloakoidc_group://rancher-users",
    ]
    assert auth.inputs["enabled"] is True
    assert auth.inputs["rancherUrl"] == "https://rancher.example.com/verify-auth"
    assert auth.inputs["issuer"] == "https://sso.example.com/realms/ops"
    assert auth.inputs["pkceMethod"] == "S256"
    assert auth.inputs["clientSecret"] == "oidc-secret"
    assert auth.is_secret("clientSecret")


SSO_CASES: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "genericOidc": (
        "rancher2:index/authConfigGenericOidc:AuthConfigGenericOidc",
        {"clientId": "rancher", "issuer": "https://idp.example.com"},
        ("clientSecret",),
    ),
    "oktaSaml": (
        "rancher2:index/authConfigOkta:AuthConfigOkta",
        {"spCertificate": PEM},
        ("idpMetadataContent", "spKey"),
    ),
    "keycloakSaml": (
        "rancher2:index/authConfigKeycloak:AuthConfigKeycloak",
        {"spCertificate": PEM, "entityId": "https://rancher.example.com/v1-saml/keycloak/saml/metadata"},
        ("idpMetadataContent", "spKey"),
    ),
    "azureAd": (
        "rancher2:index/authConfigAzureAd:AuthConfigAzureAd",
        {"tenantId": "tenant-1", "applicationId": "app-1"},
        ("applicationSecret",),
    ),
    "openLdap": (
        "rancher2:index/authConfigOpenLdap:AuthConfigOpenLdap",
        {
            "servers": ["ldap.example.com"],
            "serviceAccountDistinguishedName": "cn=rancher,dc=example,dc=com",
            "userSearchBase": "ou=people,dc=example,dc=com",
            "testUsername": "probe",
        },
        ("serviceAccountPassword", "testPassword"),
    ),
    "activeDirectory": (
        "rancher2:index/authConfigActiveDirectory:AuthConfigActiveDirectory",
        {
            "servers": ["dc1.example.com"],
            "serviceAccountUsername": "svc-rancher",
            "userSearchBase": "dc=example,dc=com",
            "testUsername": "probe",
        },
        ("serviceAccountPassword", "testPassword"),
    ),
}
PREFIX = {
    "genericOidc": "genericoidc",
    "oktaSaml": "okta",
    "keycloakSaml": "keycloak",
    "azureAd": "azuread",
    "openLdap": "openldap",
    "activeDirectory": "activedirectory",
}


@pytest.mark.parametrize("provider", sorted(SSO_CASES))
def test_each_sso_provider(mock_run: Any, provider: str) -> None:
    type_, extra, secret_fields = SSO_CASES[provider]
    p = PREFIX[provider]
    args = merged(
        sso={"provider": provider, "allowedPrincipalIds": [f"{p}_group://users"], **extra},
        roles={"platformAdminGroups": [f"{p}_group://admins"]},
    )
    run = run_plane(mock_run, args)
    auth = run.one(type_)
    assert auth.inputs["accessMode"] == "restricted"
    assert auth.inputs["allowedPrincipalIds"] == [f"{p}_group://admins", f"{p}_group://users"]
    for field in secret_fields:
        assert auth.inputs[field], field
        assert auth.is_secret(field), field
    if provider in ("openLdap", "activeDirectory"):
        assert auth.inputs["tls"] is True and auth.inputs["port"] == 636
    if provider == "azureAd":
        assert (
            auth.inputs["authEndpoint"] == "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/authorize"
        )
    if provider in ("oktaSaml", "keycloakSaml"):
        assert auth.inputs["rancherApiHost"] == "https://rancher.example.com"


@pytest.mark.parametrize(
    ("sso", "roles", "needle"),
    [
        ({"allowedPrincipalIds": ["okta_group://x"]}, None, "is not a keycloakoidc principal"),
        ({"issuer": "http://sso.example.com"}, None, "https://"),
        (None, {"platformAdminGroups": ["genericoidc_group://admins"]}, "not a group of the configured"),
        (None, {"platformAdminGroups": ["keycloakoidc_user://alice"]}, "not group principals"),
        (None, {"platformAdminGroups": []}, "at least 1"),
        (
            {
                "provider": "openLdap",
                "servers": ["l"],
                "serviceAccountDistinguishedName": "cn=x",
                "userSearchBase": "o",
                "testUsername": "t",
                "tls": False,
                "clientId": None,
            },
            None,
            "allowPlaintextLdap",
        ),
    ],
)
def test_invalid_sso_or_roles_register_nothing(
    mock_run: Any, sso: dict[str, Any] | None, roles: dict[str, Any] | None, needle: str
) -> None:
    sso_args = {**BASE["sso"], **(sso or {})}
    if sso_args.get("provider") == "openLdap":
        sso_args = {
            k: v for k, v in sso_args.items() if k not in ("clientId", "issuer", "allowedPrincipalIds")
        }
    errors: list[Exception] = []

    def program() -> None:
        try:
            ManagementPlane("mgmt", merged(sso=sso_args, roles={**BASE["roles"], **(roles or {})}))
        except ValidationError as exc:
            errors.append(exc)

    run = mock_run(program, mocks=MOCKS, config=SECRETS)
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]
    assert needle in str(errors[0])


def test_unrestricted_access_needs_the_explicit_mode(mock_run: Any) -> None:
    run = run_plane(mock_run, merged(sso={**BASE["sso"], "accessMode": "unrestricted"}))
    assert (
        run.one("rancher2:index/authConfigKeycloakOidc:AuthConfigKeycloakOidc").inputs["accessMode"]
        == "unrestricted"
    )


def test_user_base_is_the_only_new_user_default(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    patches = {r.inputs["metadata"]["name"]: r for r in run.of_type(PATCH)}
    assert set(patches) == {"user-base", "user"}
    assert patches["user-base"].inputs["newUserDefault"] is True
    assert patches["user"].inputs["newUserDefault"] is False
    for patch in patches.values():
        assert (
            patch.inputs["apiVersion"] == "management.cattle.io/v3" and patch.inputs["kind"] == "GlobalRole"
        )
        assert patch.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    # no managed GlobalRole is a new-user default
    assert all(
        r.inputs.get("newUserDefault") is False for r in run.of_type("rancher2:index/globalRole:GlobalRole")
    )


def test_patches_survive_a_destroy_pulumi_kubernetes_ssa_actions_go_27(mock_run: Any) -> None:
    """pulumi-kubernetes deletes a Patch resource by relinquishing its fields (provider/pkg/await/await.go:
    958-961 -> provider/pkg/ssa/actions.go:27-59), which removes them. Destroying the management stack must
    leave user-base the new-user default and the emergency admin out of retention: retain_on_delete."""
    run = run_plane(mock_run, BASE)
    patches = run.of_type(PATCH) + run.of_type("kubernetes:management.cattle.io/v3:UserAttributePatch")
    assert len(patches) == 3
    assert all(p.retain_on_delete is True for p in patches), [(p.name, p.retain_on_delete) for p in patches]


def test_group_bindings(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    bindings = {r.inputs["groupPrincipalId"]: r.inputs["globalRoleId"] for r in run.of_type(GRB)}
    auditor = run.one("rancher2:index/globalRole:GlobalRole")
    assert bindings == {
        "keycloakoidc_group://platform-admins": "admin",
        "keycloakoidc_group://auditors": auditor.id,
    }
    verbs = {v for rule in auditor.inputs["rules"] for v in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    resources = {r for rule in auditor.inputs["rules"] for r in rule["resources"]}
    assert "tokens" not in resources and "secrets" not in resources
    assert auditor.inputs["inheritedClusterRoles"] == [run.one(RT, "mgmt-roles-cluster-auditor").id]


def test_role_templates_have_no_wildcards(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    templates = {r.inputs["name"]: r for r in run.of_type(RT)}
    assert {t.inputs["context"] for t in templates.values()} == {"cluster", "project"}
    assert {"Team developer", "Team viewer", "Cluster auditor"} == set(templates)
    for t in templates.values():
        for rule in t.inputs["rules"]:
            for key in ("apiGroups", "resources", "verbs"):
                assert not any("*" in x for x in rule.get(key, [])), (t.name, rule)
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
    dev_rules = templates["Team developer"].inputs["rules"]
    assert not any("pods/exec" in r["resources"] for r in dev_rules)
    secrets = [r for r in dev_rules if "secrets" in r["resources"]]
    assert secrets and not {"get", "list", "watch"} & set(secrets[0]["verbs"])


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"resources": ["*"], "verbs": ["get"]}, "wildcards"),
        ({"resources": ["pods"], "verbs": ["*"]}, "wildcards"),
        ({"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}, "wildcards"),
        ({"resources": ["clusterroles"], "verbs": ["escalate"]}, "privilege escalation"),
        ({"resources": ["users"], "verbs": ["impersonate"]}, "privilege escalation"),
    ],
)
def test_role_template_rules_are_validated(mock_run: Any, rule: dict[str, Any], needle: str) -> None:
    roles = {**BASE["roles"], "roleTemplates": [{"name": "bad", "context": "project", "rules": [rule]}]}
    with pytest.raises(ValidationError, match=needle) as err:
        run_plane(mock_run, merged(roles=roles))
    assert err.value.errors()[0]["loc"][:3] == ("roles", "roleTemplates", 0)


def test_bootstrap_ttl_cannot_exceed_the_max_token_ttl() -> None:
    from components.management import ManagementPlaneArgs

    with pytest.raises(ValidationError, match=r"bootstrap\.tokenTtlSeconds"):
        ManagementPlaneArgs.model_validate(merged(bootstrap={"tokenTtlSeconds": 200_000}))
    with pytest.raises(ValidationError, match="greater than 0"):
        ManagementPlaneArgs.model_validate(merged(bootstrap={"tokenTtlSeconds": 0}))


def test_emergency_admin_is_exempt_from_user_retention(mock_run: Any) -> None:
    run = run_plane(mock_run, BASE)
    patch = run.one("kubernetes:management.cattle.io/v3:UserAttributePatch")
    bootstrap = run.one(BOOTSTRAP)
    # rancher2.Bootstrap's id is the admin user's id, which names its UserAttribute
    assert patch.inputs["metadata"]["name"] == bootstrap.id
    assert patch.inputs["disableAfter"] == "0s" and patch.inputs["deleteAfter"] == "0s"
    assert provider_of(run, patch).type == K8S_PROVIDER
    assert bootstrap.urn in patch.dependencies


def test_retention_exemption_can_be_turned_off(mock_run: Any) -> None:
    run = run_plane(mock_run, merged(bootstrap={"exemptAdminFromRetention": False}))
    assert run.of_type("kubernetes:management.cattle.io/v3:UserAttributePatch") == []


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("required", "admits nobody through SSO"),
        ("restricted", "only users already bound to a cluster or project"),
    ],
)
def test_an_empty_allow_list_is_described_as_rancher_checks_it(mode: str, says: str) -> None:
    """rancher/rancher pkg/auth/providers/common/usermanager.go:190-236: `restricted` also admits users bound
    to a cluster or project; only `required` admits nobody without an allow-list."""
    from components.management.sso import SingleSignOn
    from components.problems import ConfigProblems

    sso = {k: v for k, v in BASE["sso"].items() if k != "allowedPrincipalIds"}
    with pytest.raises(ConfigProblems, match=says):
        SingleSignOn("s", {**sso, "accessMode": mode}, provider=None, api_url="https://r.example.com")  # type: ignore[arg-type]
