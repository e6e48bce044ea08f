"""The RKE2 part of adoption: `machineGlobalConfig` + `machineSelectorConfig` -> `cluster.rke2` / `audit` /
`network` / `registries.systemDefaultRegistry`, with a finding for every weakening and every value the
blueprint cannot express.

The blueprint's own tables decide what is hardened and which switch weakens what (components/rke2_config.py:
HARDENED_FLAGS, GUARDED_FLAGS, TYPED_FLAGS, MANAGED_KEYS, DEBUG_KEYS); Rancher's allow-list decides which keys
reach RKE2 at all (components/data/rke2_keys.json). An absent flag means RKE2's own default: `RKE2_DEFAULTS`
lists the flags whose default already is the hardened value (RKE2's CIS self-assessment for v1.11 passes
them without configuration: rancher/rke2-docs docs/security/cis_self_assessment111.md checks 1.2.1,
1.2.6-1.2.8, 1.2.15, 1.2.17-1.2.19, 1.2.30, 1.3.2, 1.3.3, 1.3.7, 1.4.1, 1.4.2, 4.2.1, 4.2.2, 4.2.4, 4.2.6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from components.audit_policy import AUDIT_LEVELS
from components.net_types import check_cidrs, check_san
from components.rke2_config import (
    DEBUG_KEYS,
    GUARDED_FLAGS,
    HARDENED_FLAGS,
    STRONG_CIPHER_SUITES,
    Rke2Version,
    allow_list,
)
from hardened_rke2.adoption.findings import Finding, Rolls

SERVER_ARGS = ("kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "etcd-arg")
NODE_ARGS = ("kubelet-arg", "kube-proxy-arg")
ARG_KEYS = (*SERVER_ARGS, *NODE_ARGS, "kube-cloud-controller-manager-arg")
TLS_COMPONENTS = ("kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kubelet-arg")
CNI_CHARTS = {"rke2-canal", "rke2-calico", "rke2-cilium"}
ENFORCING_CNIS = ("canal", "calico", "cilium")

# (arg key, flag) -> value RKE2 runs with when the flag is absent, where it equals the hardened value.
RKE2_DEFAULTS: dict[tuple[str, str], str] = {
    ("kube-apiserver-arg", "anonymous-auth"): "false",
    ("kube-apiserver-arg", "authorization-mode"): "Node,RBAC",
    ("kube-apiserver-arg", "profiling"): "false",
    ("kube-apiserver-arg", "service-account-extend-token-expiration"): "false",
    ("kube-apiserver-arg", "audit-log-path"): "/var/lib/rancher/rke2/server/logs/audit.log",
    ("kube-apiserver-arg", "audit-log-maxage"): "30",
    ("kube-apiserver-arg", "audit-log-maxbackup"): "10",
    ("kube-apiserver-arg", "audit-log-maxsize"): "100",
    ("kube-controller-manager-arg", "bind-address"): "127.0.0.1",
    ("kube-controller-manager-arg", "use-service-account-credentials"): "true",
    ("kube-controller-manager-arg", "profiling"): "false",
    ("kube-scheduler-arg", "bind-address"): "127.0.0.1",
    ("kube-scheduler-arg", "profiling"): "false",
    ("kubelet-arg", "anonymous-auth"): "false",
    ("kubelet-arg", "authorization-mode"): "Webhook",
    ("kubelet-arg", "read-only-port"): "0",
    ("kubelet-arg", "make-iptables-util-chains"): "true",
    # Go's crypto/tls servers default to TLS 1.2 as their floor (Go >= 1.22, which every supported RKE2 uses).
    ("kube-apiserver-arg", "tls-min-version"): "VersionTLS12",
    ("kube-controller-manager-arg", "tls-min-version"): "VersionTLS12",
    ("kube-scheduler-arg", "tls-min-version"): "VersionTLS12",
    ("kubelet-arg", "tls-min-version"): "VersionTLS12",
}
# Kubernetes' own defaults of flags the blueprint renders from typed settings (the adopted stack reproduces
# them explicitly, so nothing changes on the nodes).
KUBERNETES_DEFAULTS: dict[tuple[str, str], str] = {
    ("kubelet-arg", "streaming-connection-idle-timeout"): "4h",
    ("kube-apiserver-arg", "audit-log-mode"): "blocking",
}

# The pack policies that report each switch (policy-packs/nsa-cisa-hardening/nsa_cisa/rancher_cluster.py),
# and the checklist ids of those policies.
SWITCH_POLICIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "apiserverAnonymousAuth": (("rke2-apiserver-authentication",), ("NSA-3.1", "NSA-3.2")),
    "insecureAuthorizationMode": (("rke2-apiserver-authorization",), ("NSA-3.3", "NSA-2.13")),
    "profiling": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
    "serviceAccountTokenExtension": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
    "nonLocalhostBind": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
    "sharedControllerCredentials": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
    "kubeletAnonymousAuth": (("rke2-kubelet-hardening",), ("NSA-3.1", "NSA-3.8", "NSA-2.13")),
    "kubeletReadOnlyPort": (("rke2-kubelet-hardening",), ("NSA-3.1", "NSA-3.8", "NSA-2.13")),
    "kubeletIptablesChains": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
    "etcdExposeMetrics": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
    "disableAdmissionPlugins": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
    "etcdCertAuth": (("rke2-etcd-tls",), ("NSA-2.14",)),
    "permissiveKubeconfigMode": (("rke2-kubeconfig-file-mode",), ("NSA-2.15",)),
    "debugEndpoints": (("rke2-control-plane-flags",), ("NSA-2.13", "NSA-2.14", "NSA-5.2")),
}
# The kubelet's authorization-mode is judged by a different policy than the API server's.
_KUBELET_AUTHZ = (("rke2-kubelet-hardening",), ("NSA-3.1", "NSA-3.8", "NSA-2.13"))


def _unsafe_flag(arg: str, flag: str, value: str) -> str | None:
    """Weak values the blueprint has NO switch for (the pack reports them): why, or None."""
    if arg == "kube-apiserver-arg":
        if flag in ("token-auth-file", "basic-auth-file"):
            return "static credential files (NSA-3.2)"
        if flag == "insecure-port" and value.strip() != "0":
            return "the insecure HTTP port (NSA-2.12)"
        if flag == "enable-admission-plugins" and "AlwaysAdmit" in [p.strip() for p in value.split(",")]:
            return "the AlwaysAdmit admission plugin (NSA-3.3)"
    if arg == "etcd-arg" and flag in ("auto-tls", "peer-auto-tls") and value.strip().lower() == "true":
        return "self-signed etcd TLS (NSA-2.14)"
    if arg == "kubelet-arg" and flag == "client-ca-file" and not value.strip():
        return "kubelet client certificate authentication off (NSA-3.8)"
    weak_suites = any(s.strip() not in STRONG_CIPHER_SUITES for s in value.split(","))
    if arg == "etcd-arg" and flag == "cipher-suites" and weak_suites:
        return "weak etcd cipher suites (NSA-2.17)"
    return None


def _rolls_for(key: str) -> Rolls:
    return "control-plane" if key in SERVER_ARGS or key in _SERVER_KEYS else "rke2-config"


_SERVER_KEYS = {"audit-policy-file", "etcd-expose-metrics", "write-kubeconfig-mode", "tls-san", "cni"}


@dataclass
class Rke2Result:
    rke2: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    system_default_registry: str | None = None
    findings: list[Finding] = field(default_factory=list)
    extra_args: dict[str, dict[str, str]] = field(default_factory=dict)
    extra_config: dict[str, Any] = field(default_factory=dict)
    weakenings: dict[str, bool] = field(default_factory=dict)
    covered: set[str] = field(default_factory=set)
    """Effective-config paths (`key` or `arg-key/flag`) whose value the stack does NOT reproduce."""


def effective_config(rke: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any], Any]]]:
    """The config every node gets (global overlaid by selector entries without a selector; later wins per
    key, as Rancher merges them) and the entries that DO select machines: (index, config, selector)."""
    merged = dict(_mapping(rke.get("machineGlobalConfig")))
    selected: list[tuple[int, dict[str, Any], Any]] = []
    entries = rke.get("machineSelectorConfig") or []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, Mapping):
            continue
        selector = entry.get("machineLabelSelector")
        config = dict(_mapping(entry.get("config")))
        if _selects_all(selector):
            merged.update(config)
        else:
            selected.append((i, config, selector))
    return merged, selected


def _selects_all(selector: Any) -> bool:
    if not selector:
        return True
    if not isinstance(selector, Mapping):
        return False
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def _mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip():
        # The rancher2 provider's inputs carry these as YAML strings; Rancher's object as a map.
        loaded = yaml.safe_load(value)
        return loaded if isinstance(loaded, Mapping) else {}
    return {}


def parse_args(value: Any) -> dict[str, str]:
    """`[key=value, ...]` (or one comma-free string) -> {flag: value}; a repeated flag: the last wins."""
    items = value if isinstance(value, list) else ([value] if isinstance(value, str) else [])
    out: dict[str, str] = {}
    for item in items:
        text = str(item).strip().lstrip("-")
        flag, _, v = text.partition("=")
        out[flag] = v
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unset" if value is None else str(value)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def adopt_rke2(rke: Mapping[str, Any], kubernetes_version: str) -> Rke2Result:
    version = Rke2Version.parse(kubernetes_version)
    allowed = allow_list()
    out = Rke2Result()
    config, selected = effective_config(rke)
    src = "spec.rkeConfig.machineGlobalConfig"

    def unrep(
        key: str,
        current: Any,
        hardened: str,
        nsa: tuple[str, ...],
        rolls: Rolls,
        note: str,
        severity: int = 2,
        cover: str | None = None,
    ) -> None:
        out.findings.append(
            Finding(
                key=f"rke2.{key}",
                source=f"{src}.{key.split('/')[0]}",
                current=_text(current),
                hardened=hardened,
                kind="unrepresentable",
                nsa=nsa,
                rolls=rolls,
                note=note,
                severity=severity,
            )
        )
        out.covered.add(cover or key)

    def weak(
        key: str,
        current: Any,
        hardened: str,
        switch: str,
        rolls: Rolls,
        stack_path: str,
        policies: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
        severity: int = 1,
    ) -> None:
        pol, nsa = policies or SWITCH_POLICIES[switch]
        out.weakenings[switch] = True
        out.findings.append(
            Finding(
                key=f"rke2.{key}",
                source=f"{src}.{key.split('/')[0]}",
                current=_text(current),
                hardened=hardened,
                kind="weakening",
                nsa=nsa,
                rolls=rolls,
                stack_path=stack_path,
                switch=f"cluster.rke2.weakenings.{switch}",
                policies=pol,
                severity=severity,
            )
        )

    for i, cfg, selector in selected:
        out.findings.append(
            Finding(
                key=f"rke2.machineSelectorConfig[{i}]",
                source=f"spec.rkeConfig.machineSelectorConfig[{i}]",
                current=f"{sorted(cfg)} for machines matching {selector}",
                hardened="one config for all nodes",
                kind="unrepresentable",
                nsa=("NSA-5.2",),
                rolls="rke2-config",
                note="the blueprint renders one RKE2 config for every node; per-selector configs are removed "
                "by the first `pulumi up` (move what they set into the stack's rke2 settings first)",
            )
        )
        out.covered.update(f"selector:{i}:{k}" for k in cfg)

    # --- profile, kernel defaults, CNI --------------------------------------------------------------
    if config.get("profile") != "cis":
        unrep(
            "profile",
            config.get("profile"),
            "cis",
            ("NSA-5.2",),
            "rke2-config",
            "the blueprint always runs RKE2's CIS profile; before the first `pulumi up`, prepare every node "
            "(etcd user, CIS sysctls: the stack's hostPrepScript / node-driver cloud-init), else RKE2 "
            "refuses "
            "to start",
            severity=0,
        )
    if not _truthy(config.get("protect-kernel-defaults")):
        unrep(
            "protect-kernel-defaults",
            config.get("protect-kernel-defaults"),
            "true",
            ("NSA-5.2",),
            "rke2-config",
            "always true in the blueprint (its own selector config); needs the CIS sysctls on "
            "every node first",
            severity=0,
        )
    cni = _cni(config.get("cni"))
    if cni is None:
        unrep(
            "cni",
            config.get("cni"),
            "canal (or calico/cilium)",
            ("NSA-2.3",),
            "rke2-config",
            "the blueprint only runs a NetworkPolicy-enforcing CNI; changing the CNI of a running cluster "
            "is a "
            "migration, not a setting (plan it separately)",
            severity=0,
        )
    else:
        multus, name = cni
        if name != "canal":
            out.network["cni"] = name
        if multus:
            out.network["multus"] = True

    # --- top-level keys -------------------------------------------------------------------------------
    handled = {"profile", "protect-kernel-defaults", "cni", *ARG_KEYS}
    for key in sorted(k for k in config if k not in handled):
        value = config[key]
        if key == "etcd-expose-metrics":
            if _truthy(value):
                out.rke2["etcdExposeMetrics"] = True
                weak(
                    key,
                    value,
                    "false",
                    "etcdExposeMetrics",
                    "control-plane",
                    "cluster.rke2.etcdExposeMetrics",
                )
        elif key == "write-kubeconfig-mode":
            _kubeconfig_mode(out, value, version, weak, unrep)
        elif key == "selinux":
            if _truthy(value):
                out.rke2["selinux"] = True
        elif key == "system-default-registry":
            out.system_default_registry = str(value)
        elif key == "tls-san":
            sans = value if isinstance(value, list) else [s for s in str(value).split(",") if s]
            try:
                out.rke2["tlsSan"] = [check_san(str(s).strip()) for s in sans]
            except ValueError as e:
                unrep(key, value, "valid DNS names / IPs", ("NSA-2.17",), "control-plane", str(e))
        elif key in ("cluster-cidr", "service-cidr"):
            try:
                out.network["clusterCidr" if key == "cluster-cidr" else "serviceCidr"] = check_cidrs(
                    str(value)
                )
            except ValueError as e:
                unrep(key, value, "a valid CIDR", ("NSA-2.3",), "rke2-config", str(e))
        elif key == "secrets-encryption":
            if value is False or str(value).lower() == "false":
                unrep(
                    key,
                    value,
                    "unset (RKE2 always encrypts Secrets)",
                    ("NSA-2.19", "NSA-2.20"),
                    "none",
                    "Rancher does not pass this key to RKE2 (not on its allow-list), so Secrets are "
                    "encrypted "
                    "today as well; the stack drops the key",
                    severity=0,
                )
        elif key == "secrets-encryption-provider":
            if value in ("aescbc", "secretbox") and (
                value == "aescbc" or allowed.check(key, version) is None
            ):
                if value != "aescbc":
                    out.rke2["secretsEncryptionProvider"] = value
            else:
                unrep(
                    key,
                    value,
                    "aescbc",
                    ("NSA-2.19",),
                    "control-plane",
                    "the blueprint selects aescbc or (where Rancher passes the key) secretbox only",
                )
        elif key == "audit-policy-file":
            _audit_policy(out, value, unrep)
        elif key in DEBUG_KEYS:
            if _truthy(value):
                out.extra_config[key] = True
                weak(key, value, "false", "debugEndpoints", "rke2-config", f"cluster.rke2.extraConfig.{key}")
        elif key == "disable":
            names = (
                value if isinstance(value, list) else [s.strip() for s in str(value).split(",") if s.strip()]
            )
            cnis = sorted(CNI_CHARTS & set(map(str, names)))
            if cnis:
                unrep(
                    key,
                    value,
                    "the bundled CNI chart stays",
                    ("NSA-2.3",),
                    "rke2-config",
                    f"disables {', '.join(cnis)}: the blueprint requires a NetworkPolicy-enforcing bundled "
                    f"CNI",
                )
            elif allowed.check(key, version) is None:
                out.extra_config[key] = [str(n) for n in names]
        elif key.startswith("etcd-snapshot") or key.startswith("etcd-s3") or key == "etcd-disable-snapshots":
            unrep(
                key,
                value,
                "set through spec.rkeConfig.etcd",
                ("NSA-2.14",),
                "control-plane",
                "the blueprint sets etcd snapshots through rkeConfig.etcd only",
            )
        elif key == "pod-security-admission-config-file":
            unrep(
                key,
                value,
                "the cluster's PSA template",
                ("NSA-1.10",),
                "control-plane",
                "the blueprint sets pod security through the PSA template (cluster.podSecurity)",
            )
        else:
            reason = allowed.check(key, version)
            if reason is not None:
                unrep(
                    key,
                    value,
                    "absent",
                    ("NSA-5.2",),
                    "none",
                    f"{reason}; it has no effect today, and the stack leaves it out",
                )
            elif not isinstance(value, (str, bool, list)):
                unrep(
                    key,
                    value,
                    "a string, bool or list",
                    ("NSA-5.2",),
                    "none",
                    "Rancher drops such values before RKE2 sees them; the stack leaves it out",
                )
            else:
                out.extra_config[key] = value

    if "audit-policy-file" not in config and "audit-policy-file" not in parse_args(
        config.get("kube-apiserver-arg")
    ):
        unrep(
            "audit-policy-file",
            None,
            "the blueprint's inline audit policy",
            ("NSA-4.1", "NSA-4.2"),
            "control-plane",
            "no audit policy: RKE2's default policy logs nothing; the first `pulumi up` adds "
            "the blueprint's policy",
            severity=1,
        )

    # --- *-arg flags ----------------------------------------------------------------------------------
    _args(out, config, version, weak, unrep)
    for switch in out.weakenings:
        out.rke2.setdefault("weakenings", {})[switch] = True
    if out.extra_config:
        out.rke2["extraConfig"] = dict(sorted(out.extra_config.items()))
    if out.extra_args:
        out.rke2["extraArgs"] = {k: dict(sorted(v.items())) for k, v in sorted(out.extra_args.items())}
    return out


def _cni(value: Any) -> tuple[bool, str] | None:
    if value is None:
        return False, "canal"  # RKE2's default CNI
    names = value if isinstance(value, list) else [s.strip() for s in str(value).split(",") if s.strip()]
    names = [str(n) for n in names]
    multus = bool(names) and names[0] == "multus"
    rest = names[1:] if multus else names
    if len(rest) == 1 and rest[0] in ENFORCING_CNIS:
        return multus, rest[0]
    return None


def _kubeconfig_mode(out: Rke2Result, value: Any, version: Rke2Version, weak: Any, unrep: Any) -> None:
    text = str(value).strip()
    if len(text) == 3:
        text = "0" + text
    if not (len(text) == 4 and text[0] == "0" and all(c in "01234567" for c in text)):
        unrep(
            "write-kubeconfig-mode", value, '"0600"', ("NSA-2.15",), "control-plane", "not an octal file mode"
        )
        return
    if text == "0600":
        return
    if allow_list().check("write-kubeconfig-mode", version) is not None:
        unrep(
            "write-kubeconfig-mode",
            value,
            '"0600"',
            ("NSA-2.15",),
            "none",
            "Rancher does not pass the key for this RKE2 version, so RKE2 writes 0600 today",
        )
        return
    out.rke2["writeKubeconfigMode"] = text
    if int(text, 8) & 0o077:
        weak(
            "write-kubeconfig-mode",
            value,
            '"0600"',
            "permissiveKubeconfigMode",
            "control-plane",
            "cluster.rke2.writeKubeconfigMode",
            severity=2,
        )


def _audit_policy(out: Rke2Result, value: Any, unrep: Any) -> None:
    text = value if isinstance(value, str) else ""
    policy = None
    if "\n" in text:
        try:
            policy = yaml.safe_load(text)
        except yaml.YAMLError:
            policy = None
    rules = policy.get("rules") if isinstance(policy, Mapping) else None
    if (
        isinstance(rules, list)
        and rules
        and all(isinstance(r, Mapping) and r.get("level") in AUDIT_LEVELS for r in rules)
        and any(r.get("level") != "None" for r in rules)
    ):
        out.audit["rules"] = [dict(r) for r in rules]
        stages = policy.get("omitStages") if isinstance(policy, Mapping) else None
        out.audit["omitStages"] = list(stages) if isinstance(stages, list) else []
        return
    unrep(
        "audit-policy-file",
        "a node path or an empty policy" if value else value,
        "the blueprint's inline audit policy",
        ("NSA-4.1", "NSA-4.2"),
        "control-plane",
        "the blueprint delivers its own (or a given inline) audit policy; a policy at a node path or one "
        "that "
        "logs nothing cannot be carried over",
        severity=1,
    )


def _args(out: Rke2Result, config: Mapping[str, Any], version: Rke2Version, weak: Any, unrep: Any) -> None:
    allowed = allow_list()
    parsed = {key: parse_args(config.get(key)) for key in ARG_KEYS if config.get(key) is not None}
    for key in sorted(parsed):
        if allowed.check(key, version) is not None:
            unrep(
                key,
                config.get(key),
                "absent",
                ("NSA-5.2",),
                "none",
                f"{allowed.check(key, version)}; it has no effect today",
            )
            continue
        for flag, value in sorted(parsed[key].items()):
            where = f"{key}/{flag}"
            if flag in _TYPED:
                if (key, flag) not in _RENDERED_TYPED:
                    unrep(
                        where,
                        f"{flag}={value}",
                        "absent",
                        ("NSA-2.17", "NSA-4.1"),
                        _rolls_for(key),
                        f"the blueprint sets {flag} only where it renders it (a typed setting), not in {key}",
                    )
                continue
            if not flag or not all(c.isalnum() or c == "-" for c in flag):
                unrep(where, value, "absent", ("NSA-5.2",), "none", "not a flag the blueprint can carry")
                continue
            unsafe = _unsafe_flag(key, flag, value)
            hardened = HARDENED_FLAGS.get(key, {}).get(flag)
            guarded = GUARDED_FLAGS.get(key, {}).get(flag)
            if unsafe:
                unrep(
                    where,
                    f"{flag}={value}",
                    "absent",
                    _nsa_of(unsafe),
                    _rolls_for(key),
                    f"turns on {unsafe}; the blueprint has no switch for it",
                    severity=0,
                )
            elif hardened is not None:
                if hardened.accepts(value):
                    if value != hardened.value:
                        out.extra_args.setdefault(key, {})[flag] = value
                    continue
                out.extra_args.setdefault(key, {})[flag] = value
                policies = _KUBELET_AUTHZ if (key, flag) == ("kubelet-arg", "authorization-mode") else None
                weak(
                    where,
                    f"{flag}={value}",
                    f"{flag}={hardened.value}",
                    hardened.weakening,
                    _rolls_for(key),
                    f"cluster.rke2.extraArgs.{key}.{flag}",
                    policies,
                )
            elif guarded is not None:
                ok, switch, _what = guarded
                out.extra_args.setdefault(key, {})[flag] = value
                if not ok(value):
                    weak(
                        where,
                        f"{flag}={value}",
                        "RKE2's default",
                        switch,
                        _rolls_for(key),
                        f"cluster.rke2.extraArgs.{key}.{flag}",
                    )
            else:
                out.extra_args.setdefault(key, {})[flag] = value
    _typed(out, parsed, unrep)


_TYPED = {
    "tls-min-version",
    "tls-cipher-suites",
    "pod-max-pids",
    "streaming-connection-idle-timeout",
    "audit-policy-file",
    "audit-log-path",
    "audit-log-maxage",
    "audit-log-maxbackup",
    "audit-log-maxsize",
    "audit-log-mode",
    "audit-log-format",
}


_RENDERED_TYPED = {
    *((k, f) for k in TLS_COMPONENTS for f in ("tls-min-version", "tls-cipher-suites")),
    ("kubelet-arg", "pod-max-pids"),
    ("kubelet-arg", "streaming-connection-idle-timeout"),
    *(("kube-apiserver-arg", f) for f in _TYPED if f.startswith("audit-")),
}
"""Typed flags the blueprint renders, and for which component; elsewhere they cannot be carried."""


def _nsa_of(reason: str) -> tuple[str, ...]:
    return tuple(part.strip("()") for part in reason.split() if part.strip("()").startswith("NSA-"))


def _typed(out: Rke2Result, parsed: Mapping[str, Mapping[str, str]], unrep: Any) -> None:
    """Flags the blueprint renders from typed settings (one TLS floor and suite list for all components)."""
    tls_versions = {k: parsed.get(k, {}).get("tls-min-version") for k in TLS_COMPONENTS}
    floor = tls_versions["kube-apiserver-arg"] or "VersionTLS12"
    if floor not in ("VersionTLS12", "VersionTLS13"):
        floor = "VersionTLS12"
    if floor != "VersionTLS12":
        out.rke2["tlsMinVersion"] = floor
    for key, v in tls_versions.items():
        if (v or "VersionTLS12") != floor:
            unrep(
                f"{key}/tls-min-version",
                v,
                floor,
                ("NSA-2.17",),
                _rolls_for(key),
                "the blueprint sets one TLS floor (TLS 1.2 or 1.3) for API server, controller-manager, "
                "scheduler and kubelet",
                severity=1,
            )
    suites = {k: parsed.get(k, {}).get("tls-cipher-suites") for k in TLS_COMPONENTS}
    chosen = suites["kube-apiserver-arg"]
    strong = chosen is not None and all(s.strip() in STRONG_CIPHER_SUITES for s in chosen.split(","))
    if strong and chosen is not None:
        listed = [s.strip() for s in chosen.split(",")]
        if tuple(listed) != STRONG_CIPHER_SUITES:
            out.rke2["tlsCipherSuites"] = listed
    target = chosen if strong else ",".join(STRONG_CIPHER_SUITES)
    for key, v in suites.items():
        if v != target:
            unrep(
                f"{key}/tls-cipher-suites",
                v,
                "ECDHE with AES-GCM or ChaCha20-Poly1305 only",
                ("NSA-2.17",),
                _rolls_for(key),
                "Go's default list (or the one given) includes suites without forward secrecy "
                "or AEAD; the blueprint has no switch for weaker suites",
                severity=1,
            )
    kubelet = parsed.get("kubelet-arg", {})
    pids = kubelet.get("pod-max-pids")
    if pids is not None and pids.strip().isdigit() and 64 <= int(pids) <= 1_000_000:
        out.rke2["podMaxPids"] = int(pids)
    else:
        unrep(
            "kubelet-arg/pod-max-pids",
            pids,
            "4096",
            ("NSA-2.10",),
            "rke2-config",
            "unlimited today (no pod-max-pids or an unusable value); the blueprint always caps PIDs per pod",
            severity=2,
        )
    idle = kubelet.get("streaming-connection-idle-timeout", "4h")
    out.rke2["streamingConnectionIdleTimeout"] = idle
    if idle in ("0", "0s"):
        unrep(
            "kubelet-arg/streaming-connection-idle-timeout",
            idle,
            "5m",
            ("NSA-2.13",),
            "rke2-config",
            "0 disables the timeout; the blueprint needs 1s..4h",
        )
        out.rke2["streamingConnectionIdleTimeout"] = "4h"
    elif idle != "5m":
        out.findings.append(
            _difference(
                "kubelet-arg/streaming-connection-idle-timeout",
                idle,
                "5m",
                ("NSA-2.13",),
                "rke2-config",
                "cluster.rke2.streamingConnectionIdleTimeout",
                "idle exec/attach/port-forward sessions stay open this long (the kubelet's default is 4h)",
            )
        )
    api = parsed.get("kube-apiserver-arg", {})
    _audit_flags(out, api, unrep)


def _difference(
    key: str, current: str, hardened: str, nsa: tuple[str, ...], rolls: Rolls, stack_path: str, note: str
) -> Finding:
    return Finding(
        key=f"rke2.{key}",
        source=f"spec.rkeConfig.machineGlobalConfig.{key.split('/')[0]}",
        current=current,
        hardened=hardened,
        kind="difference",
        nsa=nsa,
        rolls=rolls,
        stack_path=stack_path,
        note=note,
        severity=3,
    )


def _audit_flags(out: Rke2Result, api: Mapping[str, str], unrep: Any) -> None:
    if "audit-policy-file" in api:
        unrep(
            "kube-apiserver-arg/audit-policy-file",
            api["audit-policy-file"],
            "the blueprint's policy",
            ("NSA-4.1", "NSA-4.2"),
            "control-plane",
            "the blueprint delivers the audit policy itself",
        )
    path = api.get("audit-log-path")
    if path is not None and path.startswith("/") and " " not in path:
        if path != "/var/lib/rancher/rke2/server/logs/audit.log":
            out.audit["logPath"] = path
    elif path is not None:
        unrep(
            "kube-apiserver-arg/audit-log-path",
            path,
            "a log file",
            ("NSA-4.1",),
            "control-plane",
            "the blueprint writes the audit log to a file on the control-plane nodes",
        )
    for flag, name, low, high, default in (
        ("audit-log-maxage", "maxAgeDays", 30, 3650, 30),
        ("audit-log-maxbackup", "maxBackups", 10, 1000, 10),
        ("audit-log-maxsize", "maxSizeMb", 10, 10_000, 100),
    ):
        raw = api.get(flag)
        if raw is None:
            continue
        if raw.isdigit() and low <= int(raw) <= high:
            if int(raw) != default:
                out.audit[name] = int(raw)
        else:
            unrep(
                f"kube-apiserver-arg/{flag}",
                raw,
                f"{low}..{high}",
                ("NSA-4.3",),
                "control-plane",
                "outside the retention the blueprint accepts",
                severity=1,
            )
    mode = api.get("audit-log-mode", "blocking")
    if mode in ("blocking-strict", "blocking", "batch"):
        if mode != "blocking-strict":
            out.audit["mode"] = mode
            out.findings.append(
                _difference(
                    "kube-apiserver-arg/audit-log-mode",
                    mode,
                    "blocking-strict",
                    ("NSA-4.1",),
                    "control-plane",
                    "cluster.audit.mode",
                    "a request whose audit event cannot be written still succeeds (STIG wants "
                    "blocking-strict)",
                )
            )
    else:
        unrep(
            "kube-apiserver-arg/audit-log-mode",
            mode,
            "blocking-strict",
            ("NSA-4.1",),
            "control-plane",
            "not an audit log mode the blueprint accepts",
        )
        out.audit["mode"] = "blocking"
    fmt = api.get("audit-log-format")
    if fmt not in (None, "json"):
        unrep(
            "kube-apiserver-arg/audit-log-format",
            fmt,
            "json",
            ("NSA-4.1",),
            "control-plane",
            "the blueprint keeps the JSON audit format",
        )
