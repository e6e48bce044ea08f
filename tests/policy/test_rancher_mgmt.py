"""Management-plane policies: SSO access mode, Settings, tokens, global roles / role templates and the
`rancher` Helm release, through the analyzer protocol (numbers arrive as floats, values may be YAML)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from hardened_rke2.analysis.testing import UNKNOWN, analyze_props
from tests.support.paths import PACK_DIR

SETTING = "rancher2:index/setting:Setting"
TOKEN = "rancher2:index/token:Token"
BOOTSTRAP = "rancher2:index/bootstrap:Bootstrap"
GLOBAL_ROLE = "rancher2:index/globalRole:GlobalRole"
ROLE_TEMPLATE = "rancher2:index/roleTemplate:RoleTemplate"
GR_PATCH = "kubernetes:management.cattle.io/v3:GlobalRolePatch"
RELEASE = "kubernetes:helm.sh/v3:Release"
OIDC = "rancher2:index/authConfigGenericOidc:AuthConfigGenericOidc"
LDAP = "rancher2:index/authConfigOpenLdap:AuthConfigOpenLdap"


def run(type_: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in analyze_props(PACK_DIR, type_, props, name="r", config=config):
        out.setdefault(v.policy_name, []).append(v.message)
    return out


# ---------------------------------------------------------------------------------------- SSO


@pytest.mark.parametrize("type_", [OIDC, LDAP])
def test_auth_config_restricted_passes(type_: str) -> None:
    props = {
        "accessMode": "restricted",
        "allowedPrincipalIds": ["genericoidc_group://platform"],
        "enabled": True,
    }
    if type_ == LDAP:
        props["tls"] = True  # plaintext LDAP is rancher-auth-ldap-tls's finding
    assert run(type_, props) == {}


@pytest.mark.parametrize(
    ("props", "part"),
    [
        ({"accessMode": "unrestricted"}, "'unrestricted'"),
        ({"enabled": True}, "not set"),
        ({"accessMode": "open"}, "not a Rancher access mode"),
    ],
)
def test_auth_config_unrestricted_fails(props: dict[str, Any], part: str) -> None:
    got = run(OIDC, props)
    assert any(part in m for m in got["rancher-auth-access-mode"]), got


STRICT = {"rancher-auth-access-mode": {"minimumAccessMode": "required"}}


def test_restricted_is_refused_when_the_organisation_requires_the_allow_list_only() -> None:
    # rancher/rancher pkg/auth/providers/common/usermanager.go:222-233: `restricted` also admits anyone bound
    # to any cluster or project; `required` is the allow-list-only mode.
    props = {"enabled": True, "accessMode": "restricted", "allowedPrincipalIds": ["genericoidc_group://p"]}
    got = run(OIDC, props, config=STRICT)
    assert any("bound to any cluster or project" in m for m in got["rancher-auth-access-mode"]), got
    assert run(OIDC, props) == {}  # the default minimum stays `restricted`


def test_required_passes_the_strict_minimum() -> None:
    props = {"enabled": True, "accessMode": "required", "allowedPrincipalIds": ["genericoidc_group://p"]}
    assert run(OIDC, props, config=STRICT) == {}
    assert "rancher-auth-access-mode" in run(OIDC, {**props, "accessMode": "unrestricted"}, config=STRICT)


def test_disabled_auth_config_is_not_judged() -> None:
    assert run(OIDC, {"enabled": False, "accessMode": "unrestricted"}) == {}


LDAP_TYPES = [LDAP, "rancher2:index/authConfigActiveDirectory:AuthConfigActiveDirectory"]
RESTRICTED = {"enabled": True, "accessMode": "restricted", "allowedPrincipalIds": ["openldap_group://x"]}


@pytest.mark.parametrize("type_", LDAP_TYPES)
@pytest.mark.parametrize("transport", [{"tls": True}, {"startTls": True}, {"tls": "true", "startTls": False}])
def test_ldap_over_tls_passes(type_: str, transport: dict[str, Any]) -> None:
    assert run(type_, {**RESTRICTED, **transport}) == {}


@pytest.mark.parametrize("type_", LDAP_TYPES)
@pytest.mark.parametrize("transport", [{}, {"tls": False, "startTls": False}, {"tls": "false"}])
def test_plaintext_ldap_fails(type_: str, transport: dict[str, Any]) -> None:
    got = run(type_, {**RESTRICTED, **transport})
    assert got.keys() == {"rancher-auth-ldap-tls"}
    assert "in clear text" in got["rancher-auth-ldap-tls"][0]
    assert run(type_, {**RESTRICTED, **transport, "enabled": False}) == {}


PROVIDER = "pulumi:providers:rancher2"


def test_rancher2_provider_tls() -> None:
    assert run(PROVIDER, {"apiUrl": "https://rancher.example.com", "insecure": "false"}) == {}
    assert run(PROVIDER, {"apiUrl": "https://rancher.example.com", "caCerts": "PEM"}) == {}
    insecure = run(PROVIDER, {"apiUrl": "https://rancher.example.com", "insecure": "true"})
    assert insecure.keys() == {"rancher-provider-tls"}
    assert insecure["rancher-provider-tls"][0].startswith("insecure is true")
    plain_http = run(PROVIDER, {"apiUrl": "http://rancher.example.com"})
    assert "is plain HTTP" in plain_http["rancher-provider-tls"][0]


# ---------------------------------------------------------------------------------------- Settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("auth-token-max-ttl-minutes", "1440"),
        ("kubeconfig-default-token-ttl-minutes", "480"),
        ("auth-user-session-ttl-minutes", "480"),
        ("auth-user-session-idle-ttl-minutes", "15"),
        ("password-min-length", "15"),
        ("agent-tls-mode", "strict"),
        ("ui-brand", "suse"),
    ],
)
def test_hardened_settings_pass(name: str, value: str) -> None:
    assert run(SETTING, {"name": name, "value": value}) == {}


@pytest.mark.parametrize(
    ("name", "value", "part"),
    [
        ("auth-token-max-ttl-minutes", "0", "never expire"),
        ("auth-token-max-ttl-minutes", "129600", "exceeds the maximum of 1440"),
        ("kubeconfig-default-token-ttl-minutes", "0", "never expire"),
        ("kubeconfig-default-token-ttl-minutes", "forever", "not a whole number"),
        ("auth-user-session-ttl-minutes", "10000", "exceeds"),
        ("password-min-length", "8", "at least 12"),
        ("password-min-length", "", "at least 12"),
        ("agent-tls-mode", "system-store", "'strict'"),
    ],
)
def test_weak_settings_fail(name: str, value: str, part: str) -> None:
    got = run(SETTING, {"name": name, "value": value})
    assert any(part in m for m in got["rancher-security-settings"]), got


def test_settings_limits_are_configurable() -> None:
    props = {"name": "auth-token-max-ttl-minutes", "value": "10080"}
    assert "rancher-security-settings" in run(SETTING, props)
    assert run(SETTING, props, {"rancher-security-settings": {"maxTokenTtlMinutes": 10080}}) == {}
    pw = {"name": "password-min-length", "value": "14"}
    assert "rancher-security-settings" in run(
        SETTING, pw, {"rancher-security-settings": {"minPasswordLength": 16}}
    )


# ---------------------------------------------------------------------------------------- tokens


def test_token_ttls() -> None:
    assert run(TOKEN, {"description": "ci", "ttl": 86400.0}) == {}
    assert run(BOOTSTRAP, {"password": "x" * 20, "tokenTtl": 3600.0}) == {}
    assert any("never expires" in m for m in run(TOKEN, {"description": "ci"})["rancher-token-ttl"])
    assert any("never expires" in m for m in run(TOKEN, {"ttl": 0.0})["rancher-token-ttl"])
    assert any("tokenTtl is not set" in m for m in run(BOOTSTRAP, {"password": "x"})["rancher-token-ttl"])
    assert any("exceeds" in m for m in run(TOKEN, {"ttl": 30 * 86400.0})["rancher-token-ttl"])


# ---------------------------------------------------------------------------------------- roles

AUDITOR_RULES = [
    {
        "apiGroups": ["management.cattle.io"],
        "resources": ["clusters", "projects"],
        "verbs": ["get", "list", "watch"],
    }
]


def test_scoped_roles_pass() -> None:
    assert run(GLOBAL_ROLE, {"name": "Auditor", "newUserDefault": False, "rules": AUDITOR_RULES}) == {}
    assert run(ROLE_TEMPLATE, {"name": "team-dev", "context": "project", "rules": AUDITOR_RULES}) == {}
    assert (
        run(
            GR_PATCH,
            {
                "apiVersion": "management.cattle.io/v3",
                "kind": "GlobalRole",
                "metadata": {"name": "user-base"},
                "newUserDefault": True,
            },
        )
        == {}
    )
    assert run(GR_PATCH, {"metadata": {"name": "user"}, "newUserDefault": False}) == {}


@pytest.mark.parametrize(
    ("type_", "props", "policy", "part"),
    [
        (
            GLOBAL_ROLE,
            {"name": "everyone", "newUserDefault": True},
            "rancher-new-user-default-role",
            "'everyone'",
        ),
        (
            GR_PATCH,
            {"metadata": {"name": "user"}, "newUserDefault": True},
            "rancher-new-user-default-role",
            "'user' is a new-user default",
        ),
        (
            GLOBAL_ROLE,
            {"name": "ops", "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
            "rancher-role-no-wildcards",
            "rules[0].verbs contains a wildcard",
        ),
        (
            ROLE_TEMPLATE,
            {"name": "t", "rules": [{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]}]},
            "rancher-role-no-wildcards",
            "rules[0].resources",
        ),
        (
            GLOBAL_ROLE,
            {
                "name": "ops",
                "inheritedNamespacedRules": {
                    "fleet-default": [
                        {"apiGroups": ["fleet.cattle.io"], "resources": ["gitrepos"], "verbs": ["*"]}
                    ]
                },
            },
            "rancher-role-no-wildcards",
            "inheritedNamespacedRules.fleet-default[0].verbs",
        ),
        (
            ROLE_TEMPLATE,
            {
                "name": "t",
                "rules": [
                    {
                        "apiGroups": ["rbac.authorization.k8s.io"],
                        "resources": ["clusterroles"],
                        "verbs": ["bind", "escalate"],
                    }
                ],
            },
            "rancher-role-no-escalation-verbs",
            "grants bind, escalate",
        ),
        (
            ROLE_TEMPLATE,
            {
                "name": "t",
                "externalRules": [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}],
            },
            "rancher-role-no-escalation-verbs",
            "externalRules[0] grants impersonate",
        ),
    ],
)
def test_weak_roles_fail(type_: str, props: dict[str, Any], policy: str, part: str) -> None:
    got = run(type_, props)
    assert policy in got and any(part in m for m in got[policy]), got


# ---------------------------------------------------------------------------------------- rancher chart


def rancher_values(**over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "hostname": "rancher.example.com",
        "replicas": 3.0,
        "antiAffinity": "required",
        "bootstrapPassword": "generated-secret-value",
        "agentTLSMode": "strict",
        "auditLog": {"enabled": True, "level": 2.0, "destination": "sidecar", "maxAge": 30.0},
    }
    values.update(over)
    return values


def release(values: Any, version: str | None = "2.12.3", chart: str = "rancher") -> dict[str, Any]:
    props: dict[str, Any] = {
        "chart": chart,
        "namespace": "cattle-system",
        "values": values,
        "repositoryOpts": {"repo": "https://releases.rancher.com/server-charts/stable"},
    }
    if version is not None:
        props["version"] = version
    return props


def test_hardened_rancher_release_passes() -> None:
    assert run(RELEASE, release(rancher_values())) == {}
    # Values given as YAML, an OCI/repo-qualified chart name, and Rancher 2.11 semantics.
    assert run(RELEASE, release(yaml.safe_dump(rancher_values()), chart="rancher-stable/rancher")) == {}
    old = rancher_values(auditLog={"level": 2.0})
    assert run(RELEASE, release(old, version="2.11.4")) == {}


def test_other_helm_releases_are_ignored() -> None:
    assert run(RELEASE, release({"replicas": 1.0}, chart="cert-manager")) == {}


@pytest.mark.parametrize(
    ("values", "version", "policy", "part"),
    [
        (
            rancher_values(auditLog={"enabled": False, "level": 2.0}),
            "2.12.3",
            "rancher-server-audit-log",
            "enabled is not true",
        ),
        (
            rancher_values(auditLog={"level": 3.0}),
            "2.13.0",
            "rancher-server-audit-log",
            "enabled is not true",
        ),
        (
            rancher_values(auditLog={"enabled": True, "level": 1.0}),
            "2.12.3",
            "rancher-server-audit-log",
            "at least 2",
        ),
        (rancher_values(auditLog={"enabled": True}), None, "rancher-server-audit-log", "unset (0)"),
        (
            {k: v for k, v in rancher_values().items() if k != "auditLog"},
            "2.11.0",
            "rancher-server-audit-log",
            "unset (0)",
        ),
        (rancher_values(replicas=1.0), "2.12.3", "rancher-server-replicas", "at least 3"),
        (
            rancher_values(agentTLSMode="system-store"),
            "2.12.3",
            "rancher-server-agent-tls-strict",
            "'strict'",
        ),
        (
            {k: v for k, v in rancher_values().items() if k != "agentTLSMode"},
            "2.12.3",
            "rancher-server-agent-tls-explicit",
            "not set",
        ),
        (
            {k: v for k, v in rancher_values().items() if k != "bootstrapPassword"},
            "2.12.3",
            "rancher-server-bootstrap-password",
            "not set",
        ),
        ("auditLog: [", "2.12.3", "rancher-server-audit-log", "not valid YAML"),
    ],
)
def test_weak_rancher_release_fails(values: Any, version: str | None, policy: str, part: str) -> None:
    got = run(RELEASE, release(values, version=version))
    assert policy in got and any(part in m for m in got[policy]), got


def test_levels_and_metadata_of_chart_policies() -> None:
    vs = analyze_props(PACK_DIR, RELEASE, release(rancher_values(replicas=1.0, auditLog={"enabled": False})))
    by = {v.policy_name: v for v in vs}
    assert by["rancher-server-audit-log"].enforcement_level == "mandatory"
    assert "NSA-4.1" in by["rancher-server-audit-log"].tags
    assert by["rancher-server-replicas"].enforcement_level == "mandatory"
    no_tls = {k: v for k, v in rancher_values().items() if k != "agentTLSMode"}
    vs = analyze_props(PACK_DIR, RELEASE, release(no_tls))
    assert [v.enforcement_level for v in vs if v.policy_name == "rancher-server-agent-tls-explicit"] == [
        "advisory"
    ]


def test_unknown_bootstrap_password_is_not_a_preview_gap() -> None:
    # The generated password is unknown during a first preview: presence is enough, nothing is read.
    vs = analyze_props(PACK_DIR, RELEASE, release(rancher_values(bootstrapPassword=UNKNOWN)))
    assert vs == []


def test_bootstrap_password_never_echoed() -> None:
    vs = analyze_props(
        PACK_DIR, RELEASE, release(rancher_values(replicas=1.0, bootstrapPassword="S3cret-pw"))
    )
    assert vs and all("S3cret-pw" not in v.message for v in vs)
