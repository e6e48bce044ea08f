"""The Rancher management plane: SSO access mode, security Settings, API tokens, global roles and role
templates, and the `rancher` Helm release itself.

Sources: the guide's authentication/authorization and audit-logging sections, DISA's Rancher STIG
(user-base as the only new-user default, audit level ≥ 2, password length, token lifetimes) and the
Rancher chart's values (rancher-rke2-facts.md, "Rancher server").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from nsa_cisa import rke2_parsing as rp
from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import Check, check_validator

AUTH_CONFIG_TYPES = tuple(
    f"rancher2:index/authConfig{n}:AuthConfig{n}"
    for n in (
        "ActiveDirectory",
        "Adfs",
        "AzureAd",
        "Cognito",
        "FreeIpa",
        "GenericOidc",
        "Github",
        "Githubapp",
        "Keycloak",
        "KeycloakOidc",
        "Okta",
        "OpenLdap",
        "Ping",
    )
)
LDAP_AUTH_CONFIG_TYPES = tuple(
    f"rancher2:index/authConfig{n}:AuthConfig{n}" for n in ("ActiveDirectory", "FreeIpa", "OpenLdap")
)
RANCHER2_PROVIDER = "pulumi:providers:rancher2"
SETTING = "rancher2:index/setting:Setting"
TOKEN = "rancher2:index/token:Token"
BOOTSTRAP = "rancher2:index/bootstrap:Bootstrap"
GLOBAL_ROLE = "rancher2:index/globalRole:GlobalRole"
ROLE_TEMPLATE = "rancher2:index/roleTemplate:RoleTemplate"
# The same objects managed as Kubernetes resources on the Rancher local cluster (incl. SSA patches).
MGMT_GLOBAL_ROLE_K8S = (
    "kubernetes:management.cattle.io/v3:GlobalRole",
    "kubernetes:management.cattle.io/v3:GlobalRolePatch",
)
MGMT_ROLE_TEMPLATE_K8S = (
    "kubernetes:management.cattle.io/v3:RoleTemplate",
    "kubernetes:management.cattle.io/v3:RoleTemplatePatch",
)
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

RANCHER_AUTH_URL = "https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/authentication-permissions-and-global-configuration/authentication-config"
RANCHER_SETTINGS_URL = "https://ranchermanager.docs.rancher.com/reference-guides/rancher-security/rancher-security-best-practices"
RANCHER_CHART_URL = "https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/installation-references/helm-chart-options"
RANCHER_AUDIT_URL = (
    "https://ranchermanager.docs.rancher.com/how-to-guides/advanced-user-guides/enable-api-audit-log"
)

USER_BASE = "user-base"
ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate"})

Report = Callable[..., None]

# Rancher objects: pure checks of their props by default; exempt namespaces do not apply.
GROUP = PolicyGroup(__name__, section="authn-authz", honor_exempt_namespaces=False, adapt=check_validator)

_MAX_TOKEN = {
    "maxTokenTtlMinutes": {
        "type": "integer",
        "minimum": 1,
        "default": 1440,
        "description": "Longest accepted API/kubeconfig token lifetime (minutes).",
    }
}


def _has_key(mapping: Any, key: str) -> bool:
    """Key presence without reading the value (a proxy's `in` would raise on an unknown value)."""
    return rp.is_mapping(mapping) and any(k == key for k in mapping)


def _int_cfg(cfg: Mapping[str, Any], key: str, default: int) -> int:
    value = rp.as_int(cfg.get(key))
    return default if value is None else value


# ---------------------------------------------------------------------------------------- SSO


# Rancher's access modes from the loosest, rancher/rancher pkg/auth/providers/common/usermanager.go:190-236
# (CheckAccess): `restricted` admits the allowed principals plus anyone bound to any cluster or project;
# `required` admits the allowed principals only.
ACCESS_MODES = ("unrestricted", "restricted", "required")


@GROUP.policy(
    name="rancher-auth-access-mode",
    description="SSO providers only admit listed principals (access mode not unrestricted; 'required', the "
    "allow-list-only mode, when minimumAccessMode is 'required').",
    severity="high",
    nsa=("NSA-3.2", "NSA-3.4"),
    resource_types=AUTH_CONFIG_TYPES,
    url=RANCHER_AUTH_URL,
    config_schema={
        "minimumAccessMode": {
            "type": "string",
            "enum": ["restricted", "required"],
            "default": "restricted",
            "description": "Loosest accepted Rancher access mode. 'restricted' also admits anyone bound to a "
            "cluster or project; 'required' admits the allowed principals only (the strict choice).",
        }
    },
    remediation_steps="Set access_mode='restricted' (or 'required', which admits allowed_principal_ids only) "
    "and allowed_principal_ids to the groups that may log in.",
)
def check_auth_access_mode(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    if rp.as_bool(props.get("enabled")) is False:
        return []
    minimum = cfg.get("minimumAccessMode") or "restricted"
    mode = props.get("accessMode")
    if mode is None:
        return [
            "accessMode is not set, so the provider default 'unrestricted' lets every identity-provider "
            "user log in; set 'restricted' (or 'required') with allowedPrincipalIds"
        ]
    if mode == "unrestricted":
        return [
            "accessMode 'unrestricted' lets every identity-provider user log in; set 'restricted' "
            "(or 'required') with allowedPrincipalIds"
        ]
    if mode not in ("restricted", "required"):
        return [f"accessMode {mode!r} is not a Rancher access mode (restricted, required)"]
    if minimum in ACCESS_MODES and ACCESS_MODES.index(mode) < ACCESS_MODES.index(minimum):
        return [
            f"accessMode {mode!r} also lets in every user bound to any cluster or project, not only "
            f"allowedPrincipalIds; this organisation requires {minimum!r} (the allow-list only)"
        ]
    return []


@GROUP.policy(
    name="rancher-auth-ldap-tls",
    description="LDAP / Active Directory / FreeIPA auth talks to the directory over TLS (tls or startTls).",
    severity="high",
    nsa=("NSA-2.17", "NSA-3.2"),
    section="network",
    resource_types=LDAP_AUTH_CONFIG_TYPES,
    url=RANCHER_AUTH_URL,
    remediation_steps="Set tls: true (LDAPS) or start_tls: true, with the directory's CA in certificate "
    "(management.sso.allowPlaintextLdap turns this off).",
)
def check_ldap_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if rp.as_bool(props.get("enabled")) is False:
        return []
    if rp.as_bool(props.get("tls")) is True or rp.as_bool(props.get("startTls")) is True:
        return []
    return [
        "neither tls nor startTls is true: Rancher sends the bind password and every user's password to "
        "the directory in clear text"
    ]


@GROUP.policy(
    name="rancher-provider-tls",
    description="The rancher2 provider talks to Rancher over verified HTTPS (no insecure, no http:// "
    "apiUrl).",
    severity="high",
    nsa=("NSA-2.17",),
    section="network",
    resource_types=[RANCHER2_PROVIDER],
    url="https://www.pulumi.com/registry/packages/rancher2/installation-configuration/",
    remediation_steps="Remove insecure: true and give caCerts for a private CA "
    "(management.server.tls.allowUnverifiedBootstrapTls turns this off); use an https:// apiUrl.",
)
def check_provider_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if rp.as_bool(props.get("insecure")) is True:
        return [
            "insecure is true: the rancher2 provider does not verify Rancher's certificate, so its admin "
            "password and tokens can be intercepted; give caCerts for a private CA instead"
        ]
    url = props.get("apiUrl")
    if isinstance(url, str) and url.strip().lower().startswith("http://"):
        return [f"apiUrl {url.strip()} is plain HTTP: the provider's token travels in clear; use https://"]
    return []


# ---------------------------------------------------------------------------------------- Settings


@GROUP.policy(
    name="rancher-security-settings",
    description="Rancher security settings bound tokens and sessions, require long passwords and strict "
    "agent TLS.",
    severity="high",
    nsa=("NSA-3.2", "NSA-2.17"),
    resource_types=[SETTING],
    url=RANCHER_SETTINGS_URL,
    config_schema={
        **_MAX_TOKEN,
        "maxSessionTtlMinutes": {"type": "integer", "minimum": 1, "default": 960},
        "minPasswordLength": {"type": "integer", "minimum": 12, "default": 12},
    },
    remediation_steps="auth-token-max-ttl-minutes and kubeconfig-default-token-ttl-minutes > 0 and ≤ the "
    "maximum; password-min-length ≥ 12; agent-tls-mode strict.",
)
def check_settings(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    name = props.get("name")
    if not isinstance(name, str):
        return []
    value = props.get("value")
    text = rp.as_text(value)
    max_token = _int_cfg(cfg, "maxTokenTtlMinutes", 1440)
    max_session = _int_cfg(cfg, "maxSessionTtlMinutes", 960)
    min_pw = _int_cfg(cfg, "minPasswordLength", 12)

    def minutes(limit: int, what: str) -> list[str]:
        n = rp.as_int(value)
        if n is None:
            return [f"{name}={text!r} is not a whole number of minutes"]
        if n <= 0:
            return [f"{name}={n}: {what} never expire; set at most {limit} minutes"]
        if n > limit:
            return [f"{name}={n} exceeds the maximum of {limit} minutes"]
        return []

    if name == "auth-token-max-ttl-minutes":
        return minutes(max_token, "API tokens")
    if name == "kubeconfig-default-token-ttl-minutes":
        return minutes(max_token, "kubeconfig tokens")
    if name == "auth-user-session-ttl-minutes":
        return minutes(max_session, "UI sessions")
    if name == "auth-user-session-idle-ttl-minutes":
        return minutes(max_session, "idle UI sessions")
    if name == "password-min-length":
        n = rp.as_int(value)
        if n is None or n < min_pw:
            return [f"password-min-length={text!r}: local passwords must be at least {min_pw} characters"]
        return []
    if name == "agent-tls-mode" and text != "strict":
        return [f"agent-tls-mode={text!r}: agents must trust only Rancher's configured CA ('strict')"]
    return []


def _typed_validate(checks: Mapping[str, Check]) -> Callable[..., None]:
    def validate(args: ResourceValidationArgs, report: Report) -> None:
        check = checks.get(args.resource_type)
        if check is None:
            return
        props = args.props if isinstance(args.props, Mapping) else {}
        cfg = args.get_config()
        for message in check(props, cfg if isinstance(cfg, Mapping) else {}):
            report(message)

    return validate


def token_ttl_check(field: str) -> Check:
    """rancher2.Token `ttl` and rancher2.Bootstrap `tokenTtl` are seconds; 0 or absent never expires."""

    def check(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
        raw = props.get(field)
        max_seconds = _int_cfg(cfg, "maxTokenTtlMinutes", 1440) * 60
        n = rp.as_int(raw)
        if raw is None or n == 0:
            state = "not set" if raw is None else "0"
            return [
                f"{field} is {state}: the token never expires; give it a TTL of at most {max_seconds} seconds"
            ]
        if n is None or n < 0:
            return [f"{field}={raw!r} is not a positive number of seconds"]
        if n > max_seconds:
            return [f"{field}={n}s exceeds the maximum token lifetime of {max_seconds}s"]
        return []

    return check


_TOKEN_TTL = _typed_validate({TOKEN: token_ttl_check("ttl"), BOOTSTRAP: token_ttl_check("tokenTtl")})


@GROUP.policy(
    name="rancher-token-ttl",
    description="Rancher API tokens created by the stack expire.",
    severity="high",
    nsa=("NSA-3.2",),
    resource_types=[TOKEN, BOOTSTRAP],
    url=RANCHER_SETTINGS_URL,
    adapt=None,
    config_schema=_MAX_TOKEN,
    remediation_steps="Give rancher2.Token a ttl (seconds) and rancher2.Bootstrap a token_ttl, both ≤ the "
    "maximum.",
)
def _token_ttl(args: ResourceValidationArgs, report: Report) -> None:
    _TOKEN_TTL(args, report)


# ---------------------------------------------------------------------------------------- roles

_ROLE_TYPES = (GLOBAL_ROLE, ROLE_TEMPLATE, *MGMT_GLOBAL_ROLE_K8S, *MGMT_ROLE_TEMPLATE_K8S)


def _role_name(props: Mapping[str, Any], resource_type: str) -> str:
    kube = resource_type.startswith("kubernetes:")
    name = rp.dig(props, "metadata.name") if kube else props.get("name")
    return name if isinstance(name, str) else ""


def check_new_user_default(resource_type: str) -> Check:
    def check(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
        if rp.as_bool(props.get("newUserDefault")) is not True:
            return []
        name = _role_name(props, resource_type)
        if resource_type.startswith("kubernetes:") and name == USER_BASE:
            return []
        return [
            f"global role {name or '(unnamed)'!r} is a new-user default: only the built-in 'user-base' "
            "(log in, nothing else) may be granted to every new user"
        ]

    return check


_NEW_USER_DEFAULT = _typed_validate(
    {t: check_new_user_default(t) for t in (GLOBAL_ROLE, *MGMT_GLOBAL_ROLE_K8S)}
)


@GROUP.policy(
    name="rancher-new-user-default-role",
    description="Only the built-in user-base role is granted to every new user.",
    severity="high",
    nsa=("NSA-3.4",),
    resource_types=[GLOBAL_ROLE, *MGMT_GLOBAL_ROLE_K8S],
    url=RANCHER_AUTH_URL,
    adapt=None,
    remediation_steps="Set newUserDefault only on the built-in 'user-base' global role (and false on "
    "'user').",
)
def _new_user_default(args: ResourceValidationArgs, report: Report) -> None:
    _NEW_USER_DEFAULT(args, report)


def _rule_problems(rules: Any, where: str) -> tuple[list[str], list[str]]:
    """(wildcard problems, escalation-verb problems) for a list of PolicyRule-like objects."""
    wild: list[str] = []
    esc: list[str] = []
    if not rp.is_list(rules):
        return wild, esc
    for i, rule in enumerate(rules):
        if not rp.is_mapping(rule):
            continue
        for field in ("verbs", "resources", "apiGroups", "nonResourceUrls", "nonResourceURLs"):
            values = rule.get(field)
            if rp.is_list(values) and any(isinstance(v, str) and "*" in v for v in values):
                wild.append(f"{where}[{i}].{field} contains a wildcard")
        verbs = rule.get("verbs")
        if rp.is_list(verbs):
            bad = sorted({v for v in verbs if isinstance(v, str) and v in ESCALATION_VERBS})
            if bad:
                esc.append(
                    f"{where}[{i}] grants {', '.join(bad)}: holders can gain permissions they were "
                    "never given"
                )
    return wild, esc


def _all_rule_lists(props: Mapping[str, Any]) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = [
        (props.get("rules"), "rules"),
        (props.get("externalRules"), "externalRules"),
    ]
    inherited = props.get("inheritedNamespacedRules")
    if rp.is_mapping(inherited):
        for ns, rules in inherited.items():
            out.append((rules, f"inheritedNamespacedRules.{ns}"))
    return out


@GROUP.policy(
    name="rancher-role-no-wildcards",
    description="Rancher global roles and role templates list what they grant (no `*`).",
    severity="high",
    nsa=("NSA-3.4", "NSA-1.21"),
    resource_types=_ROLE_TYPES,
    url=RANCHER_AUTH_URL,
    remediation_steps="Replace `*` in apiGroups/resources/verbs/nonResourceURLs with lists.",
)
def check_role_wildcards(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for rules, where in _all_rule_lists(props):
        out += _rule_problems(rules, where)[0]
    if out:
        out = [m + ": list the API groups, resources and verbs the role needs" for m in out]
    return out


@GROUP.policy(
    name="rancher-role-no-escalation-verbs",
    description="Rancher global roles and role templates do not grant escalate, bind or impersonate.",
    severity="high",
    nsa=("NSA-3.6",),
    resource_types=_ROLE_TYPES,
    url=RANCHER_AUTH_URL,
    remediation_steps="Remove escalate/bind/impersonate; grant admin roles through bindings.",
)
def check_role_escalation(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for rules, where in _all_rule_lists(props):
        out += _rule_problems(rules, where)[1]
    return out


# ---------------------------------------------------------------------------------------- Rancher chart


def is_rancher_release(props: Mapping[str, Any]) -> bool:
    chart = props.get("chart")
    if not isinstance(chart, str):
        return False
    base = chart.strip().rstrip("/").rsplit("/", 1)[-1]
    return base == "rancher" or bool(re.fullmatch(r"rancher-\d+\.\d+\.\d+.*\.tgz", base))


def rancher_line(version: Any) -> tuple[int, int] | None:
    if not isinstance(version, str):
        return None
    m = re.match(r"^\s*v?(\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _release_values(props: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[str]]:
    values, err = rp.load_values(props.get("values"))
    return values, ([f"values: {err}"] if err else [])


def _rancher_check(
    check: Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], list[str]],
) -> Check:
    def wrapped(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
        if not is_rancher_release(props):
            return []
        values, errors = _release_values(props)
        return errors + check(props, values, cfg)

    return wrapped


def _chart_validator(
    check: Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], list[str]],
) -> Callable[..., None]:
    """A check of the Rancher chart's decoded values, run only on the `rancher` Helm release."""
    return check_validator(_rancher_check(check))


@GROUP.policy(
    name="rancher-server-audit-log",
    description="The Rancher API audit log is enabled at level 2 or more.",
    severity="high",
    nsa=("NSA-4.1",),
    section="logging",
    resource_types=[HELM_RELEASE],
    url=RANCHER_AUDIT_URL,
    adapt=_chart_validator,
    config_schema={"minAuditLevel": {"type": "integer", "minimum": 1, "maximum": 3, "default": 2}},
    remediation_steps="Set values auditLog.enabled: true and auditLog.level: 2 (or 3).",
)
def check_rancher_audit_log(
    props: Mapping[str, Any], values: Mapping[str, Any], cfg: Mapping[str, Any]
) -> list[str]:
    min_level = _int_cfg(cfg, "minAuditLevel", 2)
    audit = values.get("auditLog") if rp.is_mapping(values) else None
    enabled = rp.as_bool(rp.dig(audit, "enabled"))
    raw_level = rp.dig(audit, "level")
    level = rp.as_int(raw_level) if raw_level is not None else 0  # chart default: 0
    line = rancher_line(props.get("version"))
    out = []
    # From the 2.12 chart `enabled` is the master switch; before it, level > 0 alone enabled the log.
    if (line is None or line >= (2, 12)) and enabled is not True:
        out.append(
            "auditLog.enabled is not true: from Rancher 2.12 the API audit log (and its sidecar) only "
            "exists when enabled"
        )
    if level is None or level < min_level:
        out.append(
            f"auditLog.level is {raw_level if raw_level is not None else 'unset (0)'}: must be at least "
            f"{min_level} so request bodies of changes are recorded (DISA Rancher STIG)"
        )
    return out


@GROUP.policy(
    name="rancher-server-replicas",
    description="Rancher runs at least three replicas.",
    severity="medium",
    nsa=("NSA-4.7",),
    section="logging",
    resource_types=[HELM_RELEASE],
    url=RANCHER_CHART_URL,
    adapt=_chart_validator,
    config_schema={"minReplicas": {"type": "integer", "minimum": 1, "default": 3}},
    remediation_steps="Set values replicas: 3 (with antiAffinity: required).",
)
def check_rancher_replicas(
    _props: Mapping[str, Any], values: Mapping[str, Any], cfg: Mapping[str, Any]
) -> list[str]:
    min_replicas = _int_cfg(cfg, "minReplicas", 3)
    if not _has_key(values, "replicas"):
        return []  # chart default: 3
    raw = values.get("replicas")
    n = rp.as_int(raw)
    if n is None or n < min_replicas:
        return [
            f"replicas={raw!r}: run at least {min_replicas} Rancher replicas so the only authenticated, "
            "audited entry point survives a node loss"
        ]
    return []


@GROUP.policy(
    name="rancher-server-agent-tls-strict",
    description="Rancher agents trust only the configured CA (agentTLSMode strict).",
    severity="high",
    nsa=("NSA-2.17",),
    section="network",
    resource_types=[HELM_RELEASE],
    url=RANCHER_CHART_URL,
    adapt=_chart_validator,
    remediation_steps="Set values agentTLSMode: strict.",
)
def check_rancher_agent_tls_strict(
    _props: Mapping[str, Any], values: Mapping[str, Any], _cfg: Mapping[str, Any]
) -> list[str]:
    if not _has_key(values, "agentTLSMode"):
        return []
    mode = values.get("agentTLSMode")
    if mode != "strict":
        return [f"agentTLSMode={mode!r}: agents must trust only Rancher's configured CA ('strict')"]
    return []


@GROUP.policy(
    name="rancher-server-agent-tls-explicit",
    description="The Rancher chart sets agentTLSMode explicitly.",
    severity="low",
    nsa=("NSA-2.17",),
    section="network",
    enforcement_level="advisory",
    resource_types=[HELM_RELEASE],
    url=RANCHER_CHART_URL,
    adapt=_chart_validator,
    remediation_steps="Set values agentTLSMode: strict.",
)
def check_rancher_agent_tls_explicit(
    _props: Mapping[str, Any], values: Mapping[str, Any], _cfg: Mapping[str, Any]
) -> list[str]:
    if _has_key(values, "agentTLSMode"):
        return []
    return [
        "agentTLSMode is not set: the effective mode depends on the install's history (upgrades keep "
        "'system-store'); set 'strict'"
    ]


@GROUP.policy(
    name="rancher-server-bootstrap-password",
    description="The Rancher chart receives a bootstrap password (a Pulumi secret).",
    severity="medium",
    nsa=("NSA-3.2",),
    enforcement_level="advisory",
    resource_types=[HELM_RELEASE],
    url=RANCHER_CHART_URL,
    adapt=_chart_validator,
    remediation_steps="Generate the password (random.RandomPassword) and pass it as "
    "values.bootstrapPassword.",
)
def check_rancher_bootstrap_password(
    _props: Mapping[str, Any], values: Mapping[str, Any], _cfg: Mapping[str, Any]
) -> list[str]:
    # Presence only: the value may be unknown during preview (a generated secret), and is never echoed.
    if not _has_key(values, "bootstrapPassword"):
        return [
            "bootstrapPassword is not set: Rancher generates one and leaves it in a Secret readable by "
            "cluster admins; pass a generated password as a Pulumi secret and rotate it at bootstrap"
        ]
    return []
