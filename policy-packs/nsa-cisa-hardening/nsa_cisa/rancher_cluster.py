"""Rancher-provisioned RKE2 clusters (`rancher2` ClusterV2) and PSA configuration templates.

The RKE2 settings live in YAML strings (`rkeConfig.machineGlobalConfig` and each
`rkeConfig.machineSelectorConfigs[].config`), read by `rke2_parsing`. Rancher overlays the selector
configs on the global one (later wins per key, lists replace), so a requirement holds only if some layer
sets it and no layer that sets the same key replaces it with a weaker value. Absent keys mean RKE2's
documented default (e.g. RKE2 already runs the API server with anonymous auth off and Node,RBAC
authorization); explicit weakening is what these policies catch, plus the settings the guide asks to
configure explicitly (CIS profile, audit policy and retention, TLS floor).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import ResourceValidationArgs

from nsa_cisa import rke2_parsing as rp
from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import check_validator
from nsa_cisa.render import safe_repr

CLUSTER_V2 = "rancher2:index/clusterV2:ClusterV2"
PSACT = "rancher2:index/podSecurityAdmissionConfigurationTemplate:PodSecurityAdmissionConfigurationTemplate"
PROJECT = "rancher2:index/project:Project"

RKE2_HARDENING_URL = "https://docs.rke2.io/security/hardening_guide"
RANCHER_CLUSTER_URL = "https://ranchermanager.docs.rancher.com/reference-guides/cluster-configuration/rancher-server-configuration/rke2-cluster-configuration"
PSA_URL = "https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/authentication-permissions-and-global-configuration/psa-config-templates"

Report = Callable[..., None]


def _rke(props: Mapping[str, Any]) -> Any:
    return props.get("rkeConfig")


def _layers(props: Mapping[str, Any]) -> list[rp.ParsedConfig]:
    return rp.layers(_rke(props))


# Most policies here are pure checks of a ClusterV2's props; exempt namespaces do not apply to Rancher
# objects.
GROUP = PolicyGroup(
    __name__,
    section="network",
    resource_types=[CLUSTER_V2],
    url=RKE2_HARDENING_URL,
    honor_exempt_namespaces=False,
    adapt=check_validator,
)


# ---------------------------------------------------------------------------------------- checks
# Each check is a pure function (props, config) -> list of messages, so tests can call it directly too.


@GROUP.policy(
    name="rke2-config-readable",
    description="RKE2 config YAML (machineGlobalConfig, machineSelectorConfigs) must parse.",
    severity="high",
    nsa=("NSA-5.2",),
    section="upgrades",
    remediation_steps="Fix the YAML so it is a mapping of RKE2 keys; Rancher drops what it cannot read.",
)
def check_config_readable(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = [
        f"{layer.error}: Rancher cannot apply it and every hardening key in it is lost"
        for layer in _layers(props)
        if layer.error
    ]
    rke = _rke(props)
    if rke is not None and not rp.is_mapping(rke):
        out.append("rkeConfig is not an object")
    return out


KNOWN_KEYS_FILE = Path(__file__).with_name("rke2_known_keys.json")
KNOWN_KEYS: frozenset[str] = frozenset(json.loads(KNOWN_KEYS_FILE.read_text(encoding="utf-8"))["keys"])


@GROUP.policy(
    name="rke2-config-keys-known",
    description="Every RKE2 config key is one RKE2 accepts (a typo would silently drop a hardening setting).",
    severity="high",
    nsa=("NSA-5.2",),
    section="upgrades",
    config_schema={
        "extraKnownKeys": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Config keys accepted in addition to RKE2's.",
        }
    },
    remediation_steps="Fix the key's spelling (see the hint) or remove it; list site-specific keys in "
    "extraKnownKeys.",
)
def check_config_keys_known(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    extra = cfg.get("extraKnownKeys")
    known = KNOWN_KEYS | ({k for k in extra if isinstance(k, str)} if rp.is_list(extra) else set())
    out = []
    for layer in _layers(props):
        for key in layer.data:
            if key in known:
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.append(
                f"{layer.where}: '{key}' is not an RKE2 config key{hint}: RKE2/Rancher ignore or reject it, "
                "so the setting never reaches the node"
            )
    return out


@GROUP.policy(
    name="rke2-config-values-kept",
    description="RKE2 config values are strings, booleans or lists, which Rancher passes on (it drops the "
    "rest).",
    severity="high",
    nsa=("NSA-5.2",),
    section="upgrades",
    remediation_steps='Quote numbers ("0600", "5"); write structured content as a YAML string block.',
)
def check_config_values_kept(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    """Rancher's planner passes only string, bool and list values to RKE2 (pkg/capr/planner filter)."""
    out = []
    for layer in _layers(props):
        for key, value in layer.data.items():
            if isinstance(value, (str, bool)) or rp.is_list(value):
                continue
            kind = (
                "null" if value is None else ("a mapping" if rp.is_mapping(value) else type(value).__name__)
            )
            fix = 'quote it ("…")' if isinstance(value, (int, float)) else "give a string, boolean or list"
            out.append(
                f"{layer.where}: '{key}' is {kind}; Rancher silently drops such values before RKE2 sees "
                f"them: {fix}"
            )
    return out


def _key_problems(
    layers: list[rp.ParsedConfig], key: str, ok: Callable[[Any], str | None], missing: str | None
) -> list[str]:
    """Every layer setting `key` must pass `ok`; if `missing` is given, at least one layer must set it."""
    out = []
    seen = False
    for layer in layers:
        if layer.has(key):
            seen = True
            why = ok(layer.get(key))
            if why:
                out.append(f"{layer.where}: {key}: {why}")
    if not seen and missing:
        out.append(missing)
    return out


@GROUP.policy(
    name="rke2-cis-profile",
    description="RKE2 clusters run the CIS hardening profile (`profile: cis`).",
    severity="high",
    nsa=("NSA-5.2",),
    section="upgrades",
    remediation_steps="Add `profile: cis` to rkeConfig.machineGlobalConfig (not the obsolete "
    "cis-1.23/cis-1.6).",
)
def check_cis_profile(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    def ok(value: Any) -> str | None:
        text = rp.as_text(value)
        if text == "cis":
            return None
        if text in ("cis-1.23", "cis-1.6", "cis-1.5"):
            return (
                f"'{text}' is an obsolete profile (fatal from RKE2 v1.30, removed since v1.25 for "
                "cis-1.6): use 'cis'"
            )
        return f"{safe_repr(value)} is not the CIS profile: use 'cis'"

    return _key_problems(
        _layers(props),
        "profile",
        ok,
        "machineGlobalConfig has no `profile: cis`: RKE2 runs without its CIS hardening "
        "(kernel defaults, etcd user, restricted PSA, default network policies)",
    )


@GROUP.policy(
    name="rke2-secrets-encryption",
    description="Secrets encryption at rest is not disabled.",
    severity="critical",
    nsa=("NSA-2.19", "NSA-2.20"),
    remediation_steps="Remove `secrets-encryption: false`; RKE2 encrypts Secrets with aescbc by default.",
)
def check_secrets_encryption(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    def ok(value: Any) -> str | None:
        if rp.as_bool(value) is False:
            return "false disables encryption of Secrets at rest (leave it unset: RKE2 encrypts by default)"
        return None

    out = _key_problems(_layers(props), "secrets-encryption", ok, None)
    for layer, args in rp.arg_layers(_layers(props), "kube-apiserver-arg"):
        if "encryption-provider-config" in args:
            path = args.get("encryption-provider-config")
            if not path:
                out.append(f"{layer.where}: kube-apiserver-arg encryption-provider-config is empty")
    out += _key_problems(
        _layers(props),
        "secrets-encryption-provider",
        lambda v: (
            None
            if rp.as_text(v) in ("aescbc", "secretbox")
            else f"{safe_repr(v)} is not an encrypting provider (aescbc or secretbox)"
        ),
        None,
    )
    return out


def _selector_files_paths(props: Mapping[str, Any]) -> set[str]:
    """Every node path delivered by `rkeConfig.machineSelectorFiles` (Secret or ConfigMap items)."""
    paths: set[str] = set()
    files = rp.dig(_rke(props), "machineSelectorFiles")
    if not rp.is_list(files):
        return paths
    for entry in files:
        sources = rp.dig(entry, "fileSources")
        if not rp.is_list(sources):
            continue
        for src in sources:
            for kind in ("secret", "configmap", "configMap"):
                items = rp.dig(src, f"{kind}.items")
                if rp.is_list(items):
                    for item in items:
                        p = rp.dig(item, "path")
                        if isinstance(p, str) and p:
                            paths.add(p)
    return paths


# RKE2 points the API server at this file by default (the CIS profile writes a log-nothing policy there
# when it is missing), so delivering it through machineSelectorFiles needs no flag.
RKE2_DEFAULT_AUDIT_POLICY = "/etc/rancher/rke2/audit-policy.yaml"


def _audit_sources(props: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(where, kind, value): kind `inline` (policy mapping), `path` (node path), `error` (message)."""
    layers = _layers(props)
    out: list[tuple[str, str, Any]] = []
    for layer in layers:
        if layer.has("audit-policy-file"):
            if rp.is_mapping(layer.get("audit-policy-file")):
                out.append(
                    (
                        layer.where,
                        "error",
                        "audit-policy-file is a YAML mapping, which Rancher drops: "
                        "give the policy as a string block (audit-policy-file: |)",
                    )
                )
                continue
            policy, err = rp.load_inline_audit_policy(layer.get("audit-policy-file"))
            if err:
                out.append((layer.where, "error", err))
            elif policy is not None:
                out.append((layer.where, "inline", policy))
            else:
                out.append((layer.where, "path", str(layer.get("audit-policy-file")).strip()))
    for layer, args in rp.arg_layers(layers, "kube-apiserver-arg"):
        path = args.get("audit-policy-file")
        if path is not None:
            out.append(
                (
                    f"{layer.where} kube-apiserver-arg",
                    "path" if path else "error",
                    path or "audit-policy-file= is empty",
                )
            )
    if not out and RKE2_DEFAULT_AUDIT_POLICY in _selector_files_paths(props):
        out.append(("rkeConfig.machineSelectorFiles", "path", RKE2_DEFAULT_AUDIT_POLICY))
    return out


@GROUP.policy(
    name="rke2-audit-logging",
    description="The API server has an audit policy, an audit log destination and retention flags.",
    severity="high",
    nsa=("NSA-4.1", "NSA-4.3"),
    section="logging",
    config_schema={
        "minAuditLogMaxAgeDays": {
            "type": "integer",
            "minimum": 1,
            "default": 30,
            "description": "Smallest accepted audit-log-maxage (days); the guide's example keeps 1825.",
        },
        "minAuditLogMaxBackup": {"type": "integer", "minimum": 1, "default": 1},
        "minAuditLogMaxSizeMB": {"type": "integer", "minimum": 1, "default": 1},
    },
    remediation_steps="Set audit-policy-file (inline in machineGlobalConfig or via machineSelectorFiles) "
    "and kube-apiserver-arg audit-log-path=…, audit-log-maxage=30 (or more), audit-log-maxbackup=10, "
    "audit-log-maxsize=100.",
)
def check_audit_logging(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    layers = _layers(props)
    out: list[str] = []
    sources = _audit_sources(props)
    if not any(kind in ("inline", "path") for _, kind, _ in sources):
        out.append(
            "no audit policy: set `audit-policy-file` (inline policy in machineGlobalConfig, or a path "
            "delivered by machineSelectorFiles plus kube-apiserver-arg audit-policy-file=<path>); the "
            "CIS profile's default policy logs nothing"
        )
    out += [f"{where}: {msg}" for where, kind, msg in sources if kind == "error"]

    min_age = rp.as_int(cfg.get("minAuditLogMaxAgeDays"))
    min_age = 30 if min_age is None else min_age
    min_backup = rp.as_int(cfg.get("minAuditLogMaxBackup"))
    min_backup = 1 if min_backup is None else min_backup
    min_size = rp.as_int(cfg.get("minAuditLogMaxSizeMB"))
    min_size = 1 if min_size is None else min_size

    api_layers = list(rp.arg_layers(layers, "kube-apiserver-arg"))
    if not api_layers:
        out.append(
            "kube-apiserver-arg is not set: audit-log-path and the retention flags "
            "(audit-log-maxage/maxbackup/maxsize) must be configured explicitly"
        )
    for layer, args in api_layers:
        where = f"{layer.where} kube-apiserver-arg"
        log_path = args.get("audit-log-path")
        webhook = args.get("audit-webhook-config-file")
        if not log_path and not webhook:
            out.append(
                f"{where}: no audit-log-path (or audit-webhook-config-file): audit events are not written"
            )
            continue
        if not log_path or log_path == "-":
            continue  # webhook or stdout backends have no file rotation to bound
        for flag, floor, unit in (
            ("audit-log-maxage", min_age, "days"),
            ("audit-log-maxbackup", min_backup, "files"),
            ("audit-log-maxsize", min_size, "MB"),
        ):
            raw = args.get(flag)
            value = rp.as_int(raw)
            if raw is None:
                out.append(f"{where}: {flag} is not set (need ≥ {floor} {unit})")
            elif value is None or value < floor:
                out.append(f"{where}: {flag}={raw} is below the minimum of {floor} {unit}")
    return out


@GROUP.policy(
    name="rke2-audit-policy-content",
    description="An inline audit policy logs something and keeps Secrets at Metadata.",
    severity="high",
    nsa=("NSA-4.2",),
    section="logging",
    remediation_steps="Log Secrets/ConfigMaps/TokenReviews at Metadata, the rest at Request or "
    "RequestResponse; omit the RequestReceived stage.",
)
def check_audit_policy_content(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = []
    for where, kind, value in _audit_sources(props):
        if kind == "inline":
            out += [f"{where}: audit-policy-file: {p}" for p in rp.audit_policy_problems(value)]
    return out


@GROUP.policy(
    name="rke2-audit-policy-delivered",
    description="An audit policy given as a node path is delivered by machineSelectorFiles.",
    severity="medium",
    nsa=("NSA-4.1", "NSA-4.2"),
    section="logging",
    enforcement_level="advisory",
    remediation_steps="Deliver the policy from a Secret/ConfigMap in fleet-default via "
    "rkeConfig.machineSelectorFiles at the same path, or inline it under audit-policy-file.",
)
def check_audit_policy_delivered(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    delivered = _selector_files_paths(props)
    out = []
    for where, kind, value in _audit_sources(props):
        if kind == "path" and value not in delivered:
            out.append(
                f"{where}: audit-policy-file points at {value}, which no rkeConfig.machineSelectorFiles "
                "item delivers: its content cannot be reviewed here and the API server will not start "
                "unless host preparation writes it"
            )
    return out


@GROUP.policy(
    name="cluster-psa-default-template",
    description="A restricting default Pod Security Admission template is set.",
    severity="high",
    nsa=("NSA-1.10",),
    section="pod-security",
    url=PSA_URL,
    remediation_steps="Set defaultPodSecurityAdmissionConfigurationTemplateName to 'rancher-restricted' or "
    "a custom template that enforces restricted.",
)
def check_psa_default(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    name = props.get("defaultPodSecurityAdmissionConfigurationTemplateName")
    if name is None or (isinstance(name, str) and not name.strip()):
        return [
            "defaultPodSecurityAdmissionConfigurationTemplateName is not set: without a PSA template "
            "(or the CIS profile's own) no cluster-wide pod security level is enforced; use "
            "'rancher-restricted' or a custom restricted template"
        ]
    if not isinstance(name, str):
        return [
            f"defaultPodSecurityAdmissionConfigurationTemplateName has an unusable value {safe_repr(name)}"
        ]
    if name.strip() == "rancher-privileged":
        return [
            "defaultPodSecurityAdmissionConfigurationTemplateName is 'rancher-privileged': it enforces "
            "nothing; use 'rancher-restricted' or a custom restricted template"
        ]
    if name.strip().startswith("rancher-") and name.strip() != BUILTIN_RESTRICTED:
        return [
            f"defaultPodSecurityAdmissionConfigurationTemplateName is {name.strip()!r}: of Rancher's "
            "built-in templates only 'rancher-restricted' enforces restricted"
        ]
    # Any other name must be a template of this stack: `cluster-psa-template-defined` (stack_rules) checks
    # that, and the psa-template-* policies check that template's levels and exemptions.
    return []


BUILTIN_RESTRICTED = "rancher-restricted"


@GROUP.policy(
    name="cluster-project-network-isolation",
    description="Rancher project network isolation is on (enableNetworkPolicy).",
    severity="high",
    nsa=("NSA-2.4", "NSA-2.5"),
    url=RANCHER_CLUSTER_URL,
    remediation_steps="Set enableNetworkPolicy: true (needs a NetworkPolicy-enforcing CNI).",
)
def check_network_isolation(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    value = props.get("enableNetworkPolicy")
    if rp.as_bool(value) is not True:
        return [
            f"enableNetworkPolicy is {safe_repr(value)}: Rancher project network isolation is off, so pods "
            "of "
            "different projects can reach each other; set it to true"
        ]
    return []


@GROUP.policy(
    name="rke2-cni-enforces-network-policy",
    description="The CNI enforces NetworkPolicy (canal, calico or cilium).",
    severity="high",
    nsa=("NSA-2.3",),
    remediation_steps="Use `cni: canal` (default), `calico` or `cilium` (optionally `[multus, <cni>]`).",
)
def check_cni(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    def ok(value: Any) -> str | None:
        return rp.cni_problem(value)

    out = _key_problems(_layers(props), "cni", ok, None)
    for layer in _layers(props):
        disabled = layer.get("disable")
        names = rp.cni_list(disabled) if disabled is not None else []
        if names and any(n in ("rke2-canal", "rke2-calico", "rke2-cilium") for n in names):
            out.append(f"{layer.where}: disable removes the bundled CNI chart ({', '.join(names)})")
    return out


def _apiserver_flag(props: Mapping[str, Any], flag: str, ok: Callable[[str], str | None]) -> list[str]:
    out = []
    for layer, args in rp.arg_layers(_layers(props), "kube-apiserver-arg"):
        value = args.get(flag)
        if value is not None:
            why = ok(value)
            if why:
                out.append(f"{layer.where} kube-apiserver-arg {flag}={value}: {why}")
    return out


@GROUP.policy(
    name="rke2-apiserver-authentication",
    description="The API server refuses anonymous requests and static credential files.",
    severity="critical",
    nsa=("NSA-3.1", "NSA-3.2"),
    section="authn-authz",
    remediation_steps="Remove anonymous-auth=true, token-auth-file and basic-auth-file from "
    "kube-apiserver-arg.",
)
def check_apiserver_authn(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = _apiserver_flag(
        props,
        "anonymous-auth",
        lambda v: "anonymous requests would be accepted" if rp.as_bool(v) is not False else None,
    )
    for flag in ("token-auth-file", "basic-auth-file"):
        out += _apiserver_flag(
            props,
            flag,
            lambda _v: (
                "static credential files cannot be rotated or revoked; "
                "authenticate through Rancher/OIDC instead"
            ),
        )
    return out


@GROUP.policy(
    name="rke2-apiserver-authorization",
    description="The API server authorizes with Node,RBAC and never AlwaysAllow.",
    severity="critical",
    nsa=("NSA-3.3", "NSA-2.13"),
    section="authn-authz",
    remediation_steps="Use authorization-mode=Node,RBAC (RKE2's default) and never AlwaysAllow/AlwaysAdmit.",
)
def check_apiserver_authz(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    def ok(value: str) -> str | None:
        modes = [m.strip() for m in value.split(",") if m.strip()]
        if "AlwaysAllow" in modes:
            return "AlwaysAllow authorizes every request"
        missing = [m for m in ("Node", "RBAC") if m not in modes]
        if missing:
            return f"missing {' and '.join(missing)} (use Node,RBAC)"
        return None

    out = _apiserver_flag(props, "authorization-mode", ok)
    for layer, args in rp.arg_layers(_layers(props), "kube-apiserver-arg"):
        plugins = args.get("enable-admission-plugins") or ""
        if "AlwaysAdmit" in [p.strip() for p in plugins.split(",")]:
            out.append(f"{layer.where} kube-apiserver-arg enable-admission-plugins includes AlwaysAdmit")
    return out


@GROUP.policy(
    name="rke2-apiserver-insecure-port",
    description="The API server's insecure HTTP port stays disabled.",
    severity="critical",
    nsa=("NSA-2.12",),
    remediation_steps="Remove insecure-port from kube-apiserver-arg (or set insecure-port=0).",
)
def check_insecure_port(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    def ok(value: str) -> str | None:
        return None if rp.as_int(value) == 0 else "the unauthenticated HTTP port must be 0 (disabled)"

    return _apiserver_flag(props, "insecure-port", ok)


@GROUP.policy(
    name="rke2-tls-floor",
    description="Control-plane TLS is 1.2+ with forward-secret AEAD cipher suites.",
    severity="high",
    nsa=("NSA-2.17", "NSA-2.13"),
    remediation_steps="Add tls-min-version=VersionTLS12 (or 13) to kube-apiserver-arg and use only "
    "ECDHE-GCM/CHACHA20 suites in tls-cipher-suites.",
)
def check_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    layers = _layers(props)
    out: list[str] = []
    api = list(rp.arg_layers(layers, "kube-apiserver-arg"))
    if not api:
        out.append(
            "kube-apiserver-arg does not set tls-min-version: set tls-min-version=VersionTLS12 "
            "(or VersionTLS13)"
        )
    for layer, args in api:
        value = args.get("tls-min-version")
        if value is None:
            out.append(
                f"{layer.where} kube-apiserver-arg: tls-min-version is not set (use VersionTLS12 "
                "or VersionTLS13)"
            )
    for key in rp.ARG_KEYS:
        for layer, args in rp.arg_layers(layers, key):
            value = args.get("tls-min-version")
            if value is not None and value not in rp.STRONG_TLS_VERSIONS:
                out.append(f"{layer.where} {key} tls-min-version={value}: below TLS 1.2")
            suites = args.get("tls-cipher-suites")
            if suites is not None:
                weak = rp.weak_cipher_suites(suites)
                if weak:
                    out.append(
                        f"{layer.where} {key} tls-cipher-suites includes weak suites: {', '.join(weak)}"
                    )
            for flag in ("cipher-suites",):  # etcd's name for the same setting
                if key == "etcd-arg" and args.get(flag):
                    weak = rp.weak_cipher_suites(args.get(flag) or "")
                    if weak:
                        out.append(f"{layer.where} etcd-arg {flag} includes weak suites: {', '.join(weak)}")
    return out


@GROUP.policy(
    name="rke2-kubelet-hardening",
    description="Kubelets keep the read-only port off, anonymous auth off, Webhook authz.",
    severity="high",
    nsa=("NSA-3.1", "NSA-3.8", "NSA-2.13"),
    section="authn-authz",
    remediation_steps="Use kubelet-arg read-only-port=0, anonymous-auth=false, authorization-mode=Webhook.",
)
def check_kubelet(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for layer, args in rp.arg_layers(_layers(props), "kubelet-arg"):
        where = f"{layer.where} kubelet-arg"
        port = args.get("read-only-port")
        if port is not None and rp.as_int(port) != 0:
            out.append(f"{where} read-only-port={port}: the unauthenticated kubelet port must be 0")
        anon = args.get("anonymous-auth")
        if anon is not None and rp.as_bool(anon) is not False:
            out.append(f"{where} anonymous-auth={anon}: anonymous kubelet API access must be off")
        mode = args.get("authorization-mode")
        if mode is not None and mode.strip() != "Webhook":
            out.append(
                f"{where} authorization-mode={mode}: the kubelet must authorize through the API server "
                "(Webhook)"
            )
        ca = args.get("client-ca-file")
        if ca is not None and not ca.strip():
            out.append(f"{where} client-ca-file is empty: kubelet client certificate authentication is off")
    return out


_LOCALHOST = frozenset({"127.0.0.1", "::1", "localhost"})
_PROTECTED_ADMISSION = ("NodeRestriction", "PodSecurity", "ServiceAccount")


@GROUP.policy(
    name="rke2-control-plane-flags",
    description="CIS flags RKE2 sets itself are not turned off: profiling, localhost binding, "
    "per-controller credentials, token expiry, admission plugins, kubelet iptables chains, etcd metrics, "
    "debug endpoints (enable-pprof, debug).",
    severity="high",
    nsa=("NSA-2.13", "NSA-2.14", "NSA-5.2"),
    remediation_steps="Remove the override (RKE2's CIS defaults apply): profiling=false, "
    "bind-address=127.0.0.1, use-service-account-credentials=true, "
    "service-account-extend-token-expiration=false, no NodeRestriction/PodSecurity/ServiceAccount in "
    "disable-admission-plugins, make-iptables-util-chains=true, etcd-expose-metrics: false, no "
    "enable-pprof/debug.",
)
def check_control_plane_flags(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    """The CIS flags RKE2 sets itself (so an absent flag is fine) but a `*-arg` entry can turn off."""
    layers = _layers(props)
    out: list[str] = []
    for key in ("kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg"):
        for layer, args in rp.arg_layers(layers, key):
            where = f"{layer.where} {key}"
            value = args.get("profiling")
            if value is not None and rp.as_bool(value) is not False:
                out.append(f"{where} profiling={value}: the profiling endpoint exposes internals")
            bind = args.get("bind-address")
            if key != "kube-apiserver-arg" and bind is not None and bind.strip() not in _LOCALHOST:
                out.append(f"{where} bind-address={bind}: serve the component's port on 127.0.0.1 only")
    for layer, args in rp.arg_layers(layers, "kube-apiserver-arg"):
        where = f"{layer.where} kube-apiserver-arg"
        value = args.get("service-account-extend-token-expiration")
        if value is not None and rp.as_bool(value) is not False:
            out.append(
                f"{where} service-account-extend-token-expiration={value}: projected service account "
                "tokens would stay valid for a year; keep it false"
            )
        disabled = {p.strip() for p in (args.get("disable-admission-plugins") or "").split(",")}
        off = [p for p in _PROTECTED_ADMISSION if p in disabled]
        if off:
            out.append(f"{where} disable-admission-plugins turns off {', '.join(off)} admission")
    for layer, args in rp.arg_layers(layers, "kube-controller-manager-arg"):
        value = args.get("use-service-account-credentials")
        if value is not None and rp.as_bool(value) is not True:
            out.append(
                f"{layer.where} kube-controller-manager-arg use-service-account-credentials={value}: every "
                "controller would share the controller-manager's broad credentials"
            )
    for layer, args in rp.arg_layers(layers, "kubelet-arg"):
        value = args.get("make-iptables-util-chains")
        if value is not None and rp.as_bool(value) is not True:
            out.append(
                f"{layer.where} kubelet-arg make-iptables-util-chains={value}: the kubelet must manage "
                "its iptables chains"
            )
    out += _key_problems(
        layers,
        "etcd-expose-metrics",
        lambda v: None if rp.as_bool(v) is False else "etcd metrics would be served on every interface",
        None,
    )
    out += _key_problems(
        layers,
        "enable-pprof",
        lambda v: None if rp.as_bool(v) is False else "Go profiling would be served on the supervisor port",
        None,
    )
    out += _key_problems(
        layers,
        "debug",
        lambda v: None if rp.as_bool(v) is False else "debug logging writes request details to node logs",
        None,
    )
    return out


@GROUP.policy(
    name="rke2-protect-kernel-defaults",
    description="protect-kernel-defaults is true in a machine selector config.",
    severity="high",
    nsa=("NSA-5.2",),
    section="upgrades",
    remediation_steps="Add a machineSelectorConfigs entry with `protect-kernel-defaults: true` and never "
    "set it false.",
)
def check_protect_kernel_defaults(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    layers = _layers(props)
    out = []
    for layer in layers:
        if (
            layer.has("protect-kernel-defaults")
            and rp.as_bool(layer.get("protect-kernel-defaults")) is not True
        ):
            shown = safe_repr(layer.get("protect-kernel-defaults"))
            out.append(f"{layer.where}: protect-kernel-defaults is {shown}")
    in_selector = any(
        not lay.is_global and rp.as_bool(lay.get("protect-kernel-defaults")) is True for lay in layers
    )
    if not in_selector:
        out.append(
            "no machineSelectorConfigs entry sets `protect-kernel-defaults: true`: with none, the provider "
            "inserts `protect-kernel-defaults: false` (and with the CIS profile RKE2 refuses to start)"
        )
    return out


@GROUP.policy(
    name="rke2-kubeconfig-file-mode",
    description="The admin kubeconfig RKE2 writes is readable by its owner only.",
    severity="medium",
    nsa=("NSA-2.15",),
    remediation_steps='Set write-kubeconfig-mode: "0600" (quoted) or leave it unset.',
)
def check_kubeconfig_mode(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    def ok(value: Any) -> str | None:
        text = rp.as_text(value)
        if text is None or not text.strip().isdigit():
            return f'{safe_repr(value)} is not an octal file mode (quote it: "0600")'
        mode = int(text.strip(), 8) if all(c in "01234567" for c in text.strip()) else -1
        if mode < 0:
            return f"{safe_repr(value)} is not an octal file mode"
        if mode & 0o077:
            return f'{text} lets group/others read the admin kubeconfig (use "0600")'
        return None

    return _key_problems(_layers(props), "write-kubeconfig-mode", ok, None)


@GROUP.policy(
    name="rke2-kubelet-pod-pid-limit",
    description="Kubelets limit PIDs per pod (pod-max-pids).",
    severity="low",
    nsa=("NSA-2.10",),
    enforcement_level="advisory",
    remediation_steps="Add pod-max-pids=<n> (e.g. 4096) to kubelet-arg.",
)
def check_pod_max_pids(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    layers = _layers(props)
    kubelet = list(rp.arg_layers(layers, "kubelet-arg"))
    out = []
    if not kubelet:
        return ["kubelet-arg does not set pod-max-pids: a fork bomb in one pod can exhaust the node's PIDs"]
    for layer, args in kubelet:
        raw = args.get("pod-max-pids")
        value = rp.as_int(raw) if raw is not None else None
        if raw is None:
            out.append(f"{layer.where} kubelet-arg: pod-max-pids is not set")
        elif value is None or value <= 0:
            out.append(f"{layer.where} kubelet-arg pod-max-pids={raw}: must be a positive limit")
    return out


@GROUP.policy(
    name="cluster-authorized-endpoint",
    description="The authorized cluster endpoint is off, or pinned to an FQDN with CA certs.",
    severity="medium",
    nsa=("NSA-2.11",),
    url=RANCHER_CLUSTER_URL,
    remediation_steps="Leave localAuthEndpoint disabled, or set fqdn and caCerts.",
)
def check_authorized_endpoint(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = []
    for where, ace in (
        ("localAuthEndpoint", props.get("localAuthEndpoint")),
        ("rkeConfig.localAuthEndpoint", rp.dig(_rke(props), "localAuthEndpoint")),
    ):
        if ace is None:
            continue
        if not rp.is_mapping(ace):
            out.append(f"{where} is not an object")
            continue
        if rp.as_bool(ace.get("enabled")) is not True:
            continue
        missing = [f for f in ("fqdn", "caCerts") if not str(ace.get(f) or "").strip()]
        if missing:
            out.append(
                f"{where} is enabled without {' and '.join(missing)}: the authorized cluster endpoint lets "
                "API traffic bypass Rancher's proxy and audit log; keep it off, or pin it to an FQDN "
                "behind a load balancer with its CA certificates"
            )
    return out


@GROUP.policy(
    name="cluster-kubernetes-version-supported",
    description="kubernetesVersion is not below the supported floor.",
    severity="high",
    nsa=("NSA-5.1",),
    section="upgrades",
    shared_knobs=("minKubernetesVersion",),
    remediation_steps="Upgrade kubernetesVersion to a supported RKE2 release (see minKubernetesVersion).",
)
def check_kubernetes_version(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    floor = cfg.get("minKubernetesVersion") or "v1.31.0"
    version = props.get("kubernetesVersion")
    if version is None:
        return ["kubernetesVersion is not set: pin a supported RKE2 release"]
    below = rp.version_below(version, floor)
    if below is None:
        if rp.parse_k8s_version(floor) is None:
            return [
                f"policy config minKubernetesVersion {safe_repr(floor)} is not a version "
                "(use vMAJOR.MINOR[.PATCH])"
            ]
        return [f"kubernetesVersion {safe_repr(version)} is not a Kubernetes version (e.g. v1.32.5+rke2r1)"]
    if below:
        return [f"kubernetesVersion {version} is older than the supported floor {floor}: upgrade"]
    return []


@GROUP.policy(
    name="rke2-etcd-snapshots",
    description="etcd snapshots are on and retained.",
    severity="medium",
    nsa=("NSA-2.14",),
    remediation_steps="Leave rkeConfig.etcd.disableSnapshots false and keep snapshotRetention ≥ 1.",
)
def check_etcd_snapshots(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = []
    etcd = rp.dig(_rke(props), "etcd")
    if etcd is not None and not rp.is_mapping(etcd):
        return ["rkeConfig.etcd is not an object"]
    if rp.is_mapping(etcd):
        if rp.as_bool(etcd.get("disableSnapshots")) is True:
            out.append("rkeConfig.etcd.disableSnapshots is true: no etcd snapshots, no recovery point")
        retention = etcd.get("snapshotRetention")
        if retention is not None and (rp.as_int(retention) is None or (rp.as_int(retention) or 0) <= 0):
            out.append(f"rkeConfig.etcd.snapshotRetention={safe_repr(retention)}: keep at least one snapshot")
        cron = etcd.get("snapshotScheduleCron")
        if isinstance(cron, str) and not cron.strip():
            out.append("rkeConfig.etcd.snapshotScheduleCron is empty: snapshots are never taken")
    out += _key_problems(
        _layers(props),
        "etcd-disable-snapshots",
        lambda v: "disables etcd snapshots" if rp.as_bool(v) is True else None,
        None,
    )
    out += _key_problems(
        _layers(props),
        "etcd-snapshot-retention",
        lambda v: None if (rp.as_int(v) or 0) > 0 else "keep at least one snapshot",
        None,
    )
    return out


@GROUP.policy(
    name="rke2-etcd-tls",
    description="etcd keeps client and peer certificate authentication.",
    severity="critical",
    nsa=("NSA-2.14",),
    remediation_steps="Remove client-cert-auth=false / peer-client-cert-auth=false / auto-tls from etcd-arg.",
)
def check_etcd_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = []
    for layer, args in rp.arg_layers(_layers(props), "etcd-arg"):
        for flag, bad in (
            ("client-cert-auth", False),
            ("peer-client-cert-auth", False),
            ("auto-tls", True),
            ("peer-auto-tls", True),
        ):
            value = args.get(flag)
            if value is not None and rp.as_bool(value) is bad:
                out.append(
                    f"{layer.where} etcd-arg {flag}={value}: etcd must require certificates from its "
                    "own CA (RKE2's default)"
                )
    return out


@GROUP.policy(
    name="rke2-etcd-s3-tls",
    description="etcd snapshot uploads verify the S3 endpoint's TLS certificate.",
    severity="high",
    nsa=("NSA-2.17", "NSA-2.14"),
    remediation_steps="Set rkeConfig.etcd.s3Config.skipSslVerify false, use an https endpoint.",
)
def check_s3_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = []
    s3 = rp.dig(_rke(props), "etcd.s3Config")
    if rp.is_mapping(s3):
        if rp.as_bool(s3.get("skipSslVerify")) is True:
            out.append(
                "rkeConfig.etcd.s3Config.skipSslVerify is true: snapshots (which hold every Secret) go to "
                "an unverified endpoint"
            )
        endpoint = s3.get("endpoint")
        if isinstance(endpoint, str) and endpoint.strip().lower().startswith("http://"):
            out.append(f"rkeConfig.etcd.s3Config.endpoint {endpoint} is plain HTTP")
    for key in ("etcd-s3-skip-ssl-verify", "etcd-s3-insecure"):
        out += _key_problems(
            _layers(props),
            key,
            lambda v: "turns off TLS for snapshot uploads" if rp.as_bool(v) is True else None,
            None,
        )
    return out


@GROUP.policy(
    name="rke2-registries-tls",
    description="Private registries are reached over verified TLS.",
    severity="high",
    nsa=("NSA-2.17", "NSA-1.8"),
    remediation_steps="Remove `insecure: true` from rkeConfig.registries.configs; use https mirror "
    "endpoints and a caBundle for private CAs.",
)
def check_registries(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    reg = rp.dig(_rke(props), "registries")
    if reg is None:
        return out
    configs = rp.dig(reg, "configs")
    if rp.is_list(configs):
        for i, c in enumerate(configs):
            if rp.as_bool(rp.dig(c, "insecure")) is True:
                out.append(
                    f"rkeConfig.registries.configs[{i}] ({rp.dig(c, 'hostname')}) is insecure: images "
                    "are pulled without TLS verification"
                )
    mirrors = rp.dig(reg, "mirrors")
    if rp.is_list(mirrors):
        for i, m in enumerate(mirrors):
            endpoints = rp.dig(m, "endpoints")
            if rp.is_list(endpoints):
                for e in endpoints:
                    if isinstance(e, str) and e.strip().lower().startswith("http://"):
                        out.append(
                            f"rkeConfig.registries.mirrors[{i}] ({rp.dig(m, 'hostname')}) endpoint {e} "
                            "is plain HTTP"
                        )
    return out


@GROUP.policy(
    name="cluster-protected",
    description="Clusters carry the `protect` resource option.",
    severity="medium",
    nsa=("NSA-5.1",),
    section="upgrades",
    url=RANCHER_CLUSTER_URL,
    adapt=None,
    remediation_steps="Create the ClusterV2 with ResourceOptions(protect=True) (HardenedCluster does).",
)
def _validate_protect(args: ResourceValidationArgs, report: Report) -> None:
    opts = args.opts
    if not (opts is not None and getattr(opts, "protect", False) is True):
        report(
            "the cluster is not protected: set the `protect` resource option so a `pulumi destroy` or an "
            "accidental replacement cannot delete it (and its etcd) without an explicit unprotect"
        )


# ---------------------------------------------------------------------------------------- projects

_QUOTA_KEYS = ("limitsCpu", "limitsMemory", "requestsCpu", "requestsMemory")


@GROUP.policy(
    name="rancher-project-quotas",
    description="Rancher projects set a resource quota (project and per-namespace default) and container "
    "defaults.",
    severity="medium",
    nsa=("NSA-2.8", "NSA-2.9"),
    enforcement_level="advisory",
    resource_types=[PROJECT],
    url=RANCHER_CLUSTER_URL,
    remediation_steps="Set resourceQuota.projectLimit, resourceQuota.namespaceDefaultLimit and "
    "containerResourceLimit (cpu/memory requests and limits) on the project.",
)
def check_project_quotas(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    """A Rancher project bounds its namespaces (quota) and its containers (default requests/limits)."""
    out = []
    quota = props.get("resourceQuota")
    for part in ("projectLimit", "namespaceDefaultLimit"):
        limits = rp.dig(quota, part)
        missing = [k for k in _QUOTA_KEYS if not str(rp.dig(limits, k) or "").strip()]
        if missing:
            out.append(
                f"resourceQuota.{part} does not set {', '.join(missing)}: namespaces of this project can "
                "consume the cluster without bound"
            )
    limits = props.get("containerResourceLimit")
    missing = [k for k in _QUOTA_KEYS if not str(rp.dig(limits, k) or "").strip()]
    if missing:
        out.append(
            f"containerResourceLimit does not set {', '.join(missing)}: containers without their own "
            "requests/limits are unbounded (and rejected once a quota applies)"
        )
    return out


# ---------------------------------------------------------------------------------------- PSA templates


PSA_LEVELS = ("privileged", "baseline", "restricted")


@GROUP.policy(
    name="psa-template-enforces-restricted",
    description="A custom PSA template enforces the restricted level.",
    severity="high",
    nsa=("NSA-1.10",),
    section="pod-security",
    resource_types=[PSACT],
    url=PSA_URL,
    remediation_steps="Set defaults.enforce: restricted (and enforce_version latest or a pinned version).",
)
def check_psact_enforce(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    defaults = props.get("defaults")
    enforce = rp.dig(defaults, "enforce")
    if enforce is None:
        return [
            "defaults.enforce is not set, so Kubernetes' default level 'privileged' applies; set "
            "`enforce: restricted`"
        ]
    if enforce != "restricted":
        return [f"defaults.enforce is {safe_repr(enforce)}: the template must enforce 'restricted'"]
    return []


@GROUP.policy(
    name="psa-template-audits-and-warns-restricted",
    description="A custom PSA template audits and warns at restricted.",
    severity="low",
    nsa=("NSA-1.10",),
    section="pod-security",
    enforcement_level="advisory",
    resource_types=[PSACT],
    url=PSA_URL,
    remediation_steps="Set defaults.audit and defaults.warn to restricted.",
)
def check_psact_audit_warn(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    defaults = props.get("defaults")
    out = []
    for mode in ("audit", "warn"):
        value = rp.dig(defaults, mode)
        if value != "restricted":
            out.append(
                f"defaults.{mode} is {safe_repr(value)}: set it to 'restricted' so violations are also "
                f"{'audited' if mode == 'audit' else 'shown to users'}"
            )
    return out


JUSTIFICATION_ANNOTATION = "psa.hardened-rke2.io/exemption-justifications"


ITEM_JUSTIFICATION_PREFIX = "hardened-rke2.io/exemption-"
_MIN_REASON = 10  # characters: "n/a" or "needed" is not a justification


def _justifications(props: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    """Written reasons for exemptions, keyed `<namespaces|usernames|runtimeClasses>/<value>` or `*/<value>`.

    Two annotation forms are read: `psa.hardened-rke2.io/exemption-justifications` (a YAML/JSON mapping
    `"<field>/<value>": "<reason>"`), and one `hardened-rke2.io/exemption-<n>: "<value>: <reason>"` per
    exemption (what the HardenedCluster PSA template component writes; it does not name the field).
    """
    annotations = props.get("annotations")
    if not rp.is_mapping(annotations):
        return {}, None
    out: dict[str, str] = {}
    for key in annotations:
        if isinstance(key, str) and key.startswith(ITEM_JUSTIFICATION_PREFIX):
            text = annotations.get(key)
            value, sep, reason = text.partition(":") if isinstance(text, str) else ("", "", "")
            if sep and value.strip() and len(reason.strip()) >= _MIN_REASON:
                out[f"*/{value.strip()}"] = reason.strip()
    raw = annotations.get(JUSTIFICATION_ANNOTATION)
    if raw is None:
        return out, None
    data, err = rp.load_values(raw)
    if err:
        # load_values speaks of Helm values ("values are ..."); here it is one annotation's value.
        return out, f"annotation {JUSTIFICATION_ANNOTATION}: {err.replace('values are', 'the value is')}"
    for k, v in data.items():
        if isinstance(k, str) and isinstance(v, str) and len(v.strip()) >= _MIN_REASON:
            out[k.strip()] = v.strip()
    return out, None


@GROUP.policy(
    name="psa-template-exemptions-justified",
    description="Every PSA template exemption (namespace, user, runtime class) carries a written "
    "justification.",
    severity="high",
    nsa=("NSA-1.10",),
    section="pod-security",
    resource_types=[PSACT],
    url=PSA_URL,
    shared_knobs=("exemptNamespaces",),
    remediation_steps=f"Annotate the template with {JUSTIFICATION_ANNOTATION}: a YAML mapping "
    '"namespaces/<ns>": <why> (same for usernames/…, runtimeClasses/…); namespaces in '
    "exemptNamespaces need none.",
)
def check_psact_exemptions(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    exemptions = props.get("exemptions")
    if exemptions is None:
        return []
    if not rp.is_mapping(exemptions):
        return ["exemptions is not an object"]
    reasons, err = _justifications(props)
    out = [err] if err else []
    pre_approved = cfg.get("exemptNamespaces")
    approved = {str(n) for n in pre_approved} if rp.is_list(pre_approved) else set()
    for field in ("namespaces", "usernames", "runtimeClasses"):
        values = exemptions.get(field)
        if values is None:
            continue
        if not rp.is_list(values):
            out.append(f"exemptions.{field} is not a list")
            continue
        for v in values:
            if field == "namespaces" and isinstance(v, str) and _glob_in(v, approved):
                continue
            if f"{field}/{v}" not in reasons and f"*/{v}" not in reasons:
                out.append(
                    f"exemptions.{field} lists {safe_repr(v)} without a justification: add "
                    f'"{field}/{v}: <why>" to the {JUSTIFICATION_ANNOTATION} annotation (at least '
                    f"{_MIN_REASON} characters), or remove it"
                )
    return out


def _glob_in(value: str, patterns: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


# ---------------------------------------------------------------------------------------- FIPS 140

FIPS_LABEL = "hardened-rke2.io/fips"
"""What `components.fips` puts on the ClusterV2 of a FIPS cluster (value "true")."""
FIPS_URL = "https://docs.rke2.io/security/fips_support"
# Go's FIPS-approved TLS 1.2 suites (golang/go src/crypto/tls/defaults.go `defaultCipherSuitesFIPS`); the
# same list as components/tls.py FIPS_CIPHER_SUITES (the pack cannot import components; a test compares).
FIPS_CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
)
# Every component that takes a cipher list, with its flag (etcd's is `cipher-suites`).
FIPS_CIPHER_FLAGS = (
    ("kube-apiserver-arg", "tls-cipher-suites"),
    ("kube-controller-manager-arg", "tls-cipher-suites"),
    ("kube-scheduler-arg", "tls-cipher-suites"),
    ("kubelet-arg", "tls-cipher-suites"),
    ("etcd-arg", "cipher-suites"),
)


def is_fips_cluster(props: Mapping[str, Any]) -> bool:
    labels = props.get("labels")
    return rp.is_mapping(labels) and rp.as_text(labels.get(FIPS_LABEL)) == "true"


@GROUP.policy(
    name="rke2-fips-choices",
    description=f"A cluster labelled {FIPS_LABEL}=true makes only FIPS choices: an RKE2 release, the Canal "
    "CNI, the aescbc secrets-encryption provider, FIPS-approved TLS cipher suites on every component that "
    "takes a list.",
    severity="high",
    nsa=("NSA-2.17", "NSA-2.19"),
    url=FIPS_URL,
    remediation_steps="Use cni: canal (no multus), leave secrets-encryption-provider at aescbc, and give "
    "kube-apiserver/kube-controller-manager/kube-scheduler/kubelet tls-cipher-suites and etcd cipher-suites "
    "only ECDHE-ECDSA/RSA AES-GCM suites (HardenedCluster with compliance.fips: true does all of this).",
)
def check_fips_choices(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    """Sources: rancher/rke2-docs docs/security/fips_support.md (RKE2's BoringCrypto build, line 48: only
    Canal is rebuilt for FIPS), docs/security/secrets_encryption.md:19-20 (only aescbc); Go's FIPS suites."""
    if not is_fips_cluster(props):
        return []
    layers = _layers(props)
    out: list[str] = []
    version = props.get("kubernetesVersion")
    if not (isinstance(version, str) and "+rke2r" in version):
        out.append(
            f"kubernetesVersion {safe_repr(version)} is not an RKE2 release: RKE2's FIPS enablement covers "
            "RKE2 builds only"
        )
    for layer in layers:
        if layer.has("cni"):
            names = rp.cni_list(layer.get("cni"))
            other = [n for n in names or [] if n != "canal"]
            if names is None or not names or other:
                shown = ", ".join(other) if other else safe_repr(layer.get("cni"))
                out.append(f"{layer.where}: cni {shown}: only canal is rebuilt for FIPS")
        if layer.has("secrets-encryption-provider"):
            value = rp.as_text(layer.get("secrets-encryption-provider"))
            if value != "aescbc":
                out.append(
                    f"{layer.where}: secrets-encryption-provider {safe_repr(value)}: FIPS 140 compliance "
                    "is only available with aescbc"
                )
    for key, flag in FIPS_CIPHER_FLAGS:
        found = list(rp.arg_layers(layers, key))
        if not found:
            out.append(
                f"{key} does not set {flag}: the component offers Go's default suites, which include the "
                "non-FIPS ChaCha20-Poly1305 ones"
            )
        for layer, args in found:
            value = args.get(flag)
            if value is None:
                out.append(f"{layer.where} {key}: {flag} is not set (Go's default list has non-FIPS suites)")
                continue
            # etcd's value is a YAML flow list (`[a,b]`), which RKE2 writes into etcd's config file.
            listed = [s.strip().strip("'\"") for s in value.strip().strip("[]").split(",") if s.strip()]
            other = [s for s in listed if s not in FIPS_CIPHER_SUITES]
            if other or not listed:
                out.append(
                    f"{layer.where} {key} {flag}: not FIPS-approved: {', '.join(other) or 'empty list'}"
                )
    return out
