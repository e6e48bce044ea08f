"""The typed RKE2 config model: allow-listed keys, hardened flags, deterministic YAML for Rancher.

Rancher's planner silently drops a key that is not on its per-release allow-list (KDM) and any value that
is not a string, bool or list. So every key we emit is checked against `data/rke2_keys.json` for the
cluster's RKE2 version, numbers are rendered as strings, and `*-arg` lists as sorted `key=value` entries.
A user can add args only for allow-listed `*-arg` keys, and cannot weaken a hardened flag without the
named `weakenings` setting that turns that specific protection off (which the policy pack reports).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from components import yaml_render
from components.model import HardenedModel
from components.net_types import SubjectAltName
from components.problems import Problem
from components.tls import FIPS_CIPHER_SUITES

# --- allow-list -------------------------------------------------------------------------------------

_VERSION_RE = re.compile(r"^v(\d{1,3})\.(\d{1,3})\.(\d{1,4})\+rke2r(\d{1,3})$")


@dataclass(frozen=True, order=True)
class Rke2Version:
    major: int
    minor: int
    patch: int
    revision: int

    @classmethod
    def parse(cls, text: str) -> Rke2Version:
        m = _VERSION_RE.match(text)
        if not m:
            raise ValueError(f"{text!r} is not an RKE2 version like 'v1.33.5+rke2r1'")
        return cls(*(int(g) for g in m.groups()))

    @property
    def minor_key(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True)
class KeyAllowList:
    """Which RKE2 config keys Rancher passes through, per RKE2 version (see the data file's provenance)."""

    base_min_version: Rke2Version
    server: frozenset[str]
    agent: frozenset[str]
    later: Mapping[str, tuple[str, Mapping[str, str]]]
    not_passed: Mapping[str, str]

    @classmethod
    def load(cls) -> KeyAllowList:
        raw = json.loads(resources.files("components").joinpath("data/rke2_keys.json").read_text("utf-8"))
        return cls(
            base_min_version=Rke2Version.parse(raw["base_min_version"]),
            server=frozenset(raw["base"]["server"]),
            agent=frozenset(raw["base"]["agent"]),
            later={k: (v["role"], v["min_version_per_minor"]) for k, v in raw["later"].items()},
            not_passed=dict(raw["not_passed"]),
        )

    def known(self, key: str) -> bool:
        return key in self.server or key in self.agent or key in self.later

    def check(self, key: str, version: Rke2Version) -> str | None:
        """None if Rancher passes `key` to RKE2 at `version`, else the reason it would be dropped."""
        if key in self.not_passed:
            return f"Rancher does not pass '{key}' to RKE2: {self.not_passed[key]}"
        if key in self.server or key in self.agent:
            if version < self.base_min_version:
                return f"RKE2 versions older than {_fmt(self.base_min_version)} are not supported"
            return None
        if key in self.later:
            _, mins = self.later[key]
            first = mins.get(version.minor_key)
            if first is None:
                known = ", ".join(f"{m}: {v}" for m, v in sorted(mins.items()))
                return (
                    f"Rancher's allow-list for RKE2 {version.minor_key} is not confirmed to include '{key}' "
                    f"(confirmed from: {known})"
                )
            if version < Rke2Version.parse(first):
                return f"Rancher passes '{key}' only from RKE2 {first} on this minor"
            return None
        return f"'{key}' is not an RKE2 config key that Rancher passes through"

    def all_keys(self) -> list[str]:
        return sorted(self.server | self.agent | set(self.later))


def _fmt(v: Rke2Version) -> str:
    return f"v{v.major}.{v.minor}.{v.patch}+rke2r{v.revision}"


@lru_cache(maxsize=1)
def allow_list() -> KeyAllowList:
    return KeyAllowList.load()


# --- hardened flags ---------------------------------------------------------------------------------

ArgKey = Literal[
    "kube-apiserver-arg",
    "kube-controller-manager-arg",
    "kube-scheduler-arg",
    "kubelet-arg",
    "kube-proxy-arg",
    "etcd-arg",
    "kube-cloud-controller-manager-arg",
]

# Go names of the ECDHE + AEAD suites (TLS 1.2); TLS 1.3 suites are not configurable in Go.
STRONG_CIPHER_SUITES: tuple[str, ...] = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)

_LOCALHOST = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class HardenedFlag:
    value: str
    weakening: str
    """camelCase name of the `rke2.weakenings` setting that allows a different value."""
    still_hardened: Any = None
    """Optional predicate: a different value that keeps the protection (e.g. a stricter one)."""

    def accepts(self, value: str) -> bool:
        if value == self.value:
            return True
        return bool(self.still_hardened and self.still_hardened(value))


def _authz_ok(value: str) -> bool:
    modes = {m.strip() for m in value.split(",")}
    return {"Node", "RBAC"} <= modes and "AlwaysAllow" not in modes


HARDENED_FLAGS: dict[str, dict[str, HardenedFlag]] = {
    "kube-apiserver-arg": {
        "anonymous-auth": HardenedFlag("false", "apiserverAnonymousAuth"),
        "authorization-mode": HardenedFlag("Node,RBAC", "insecureAuthorizationMode", _authz_ok),
        "profiling": HardenedFlag("false", "profiling"),
        "service-account-extend-token-expiration": HardenedFlag("false", "serviceAccountTokenExtension"),
    },
    "kube-controller-manager-arg": {
        "bind-address": HardenedFlag("127.0.0.1", "nonLocalhostBind", lambda v: v in _LOCALHOST),
        "use-service-account-credentials": HardenedFlag("true", "sharedControllerCredentials"),
        "profiling": HardenedFlag("false", "profiling"),
    },
    "kube-scheduler-arg": {
        "bind-address": HardenedFlag("127.0.0.1", "nonLocalhostBind", lambda v: v in _LOCALHOST),
        "profiling": HardenedFlag("false", "profiling"),
    },
    "kubelet-arg": {
        "anonymous-auth": HardenedFlag("false", "kubeletAnonymousAuth"),
        "authorization-mode": HardenedFlag("Webhook", "insecureAuthorizationMode"),
        "read-only-port": HardenedFlag("0", "kubeletReadOnlyPort"),
        "make-iptables-util-chains": HardenedFlag("true", "kubeletIptablesChains"),
    },
}

# Flags RKE2 already sets safely and we do not render, but which a user arg could weaken.
_PROTECTED_ADMISSION = {"NodeRestriction", "PodSecurity", "ServiceAccount"}
GUARDED_FLAGS: dict[str, dict[str, tuple[Any, str, str]]] = {
    "kube-apiserver-arg": {
        "disable-admission-plugins": (
            lambda v: not ({p.strip() for p in v.split(",")} & _PROTECTED_ADMISSION),
            "disableAdmissionPlugins",
            "disables NodeRestriction, PodSecurity or ServiceAccount admission",
        ),
    },
    "etcd-arg": {
        "client-cert-auth": (lambda v: v == "true", "etcdCertAuth", "turns off etcd client certificate auth"),
        "peer-client-cert-auth": (
            lambda v: v == "true",
            "etcdCertAuth",
            "turns off etcd peer certificate auth",
        ),
    },
}

# Flags set from typed fields: an extraArgs entry for them is a mistake; say which field to use instead.
TYPED_FLAGS: dict[str, str] = {
    "tls-min-version": "rke2.tlsMinVersion",
    "tls-cipher-suites": "rke2.tlsCipherSuites",
    "pod-max-pids": "rke2.podMaxPids",
    "streaming-connection-idle-timeout": "rke2.streamingConnectionIdleTimeout",
    "audit-policy-file": "audit.policy",
    "audit-log-path": "audit.logPath",
    "audit-log-maxage": "audit.maxAgeDays",
    "audit-log-maxbackup": "audit.maxBackups",
    "audit-log-maxsize": "audit.maxSizeMb",
    "audit-log-mode": "audit.mode",
    "audit-log-format": "audit.logPath",
}

# Top-level keys the component manages itself: `extraConfig` may not set them.
MANAGED_KEYS: dict[str, str] = {
    "profile": "always 'cis'",
    "write-kubeconfig-mode": "use rke2.writeKubeconfigMode",
    "etcd-expose-metrics": "use rke2.etcdExposeMetrics (needs rke2.weakenings.etcdExposeMetrics)",
    "selinux": "use rke2.selinux",
    "protect-kernel-defaults": "always true (rendered in a machine selector config)",
    "cni": "use network.cni / network.multus",
    "system-default-registry": "use registries.systemDefaultRegistry",
    "audit-policy-file": "use the audit settings",
    "tls-san": "use rke2.tlsSan",
    "cluster-cidr": "use network.clusterCidr",
    "pod-security-admission-config-file": "use podSecurity (Rancher renders it from the template)",
    "service-cidr": "use network.serviceCidr",
    "secrets-encryption": "RKE2 always encrypts Secrets; Rancher drops this key",
    "secrets-encryption-provider": "use rke2.secretsEncryptionProvider",
}

# Debug switches that expose internals; allowed through `extraConfig` only with a named weakening.
DEBUG_KEYS: dict[str, str] = {
    "enable-pprof": "serves Go profiling (heap, goroutines, command lines) on the supervisor port",
    "debug": "debug logging writes request details, including sensitive ones, to node logs",
}


class Rke2Weakenings(HardenedModel):
    """Each switch turns off ONE hardened protection. The policy pack reports any that is true."""

    apiserver_anonymous_auth: bool = False
    """Allows kube-apiserver `anonymous-auth=true`."""
    insecure_authorization_mode: bool = False
    """Allows apiserver authorization-mode without Node+RBAC (or with AlwaysAllow), kubelet not Webhook."""
    profiling: bool = False
    """Allows `profiling=true` on apiserver, controller-manager or scheduler."""
    service_account_token_extension: bool = False
    """Allows `service-account-extend-token-expiration=true`."""
    non_localhost_bind: bool = False
    """Allows controller-manager/scheduler `bind-address` off localhost."""
    shared_controller_credentials: bool = False
    """Allows `use-service-account-credentials=false`."""
    kubelet_anonymous_auth: bool = False
    """Allows kubelet `anonymous-auth=true`."""
    kubelet_read_only_port: bool = False
    """Allows a kubelet `read-only-port` other than 0."""
    kubelet_iptables_chains: bool = False
    """Allows `make-iptables-util-chains=false`."""
    etcd_expose_metrics: bool = False
    """Allows `etcdExposeMetrics: true`."""
    disable_admission_plugins: bool = False
    """Allows `disable-admission-plugins` naming NodeRestriction, PodSecurity or ServiceAccount."""
    etcd_cert_auth: bool = False
    """Allows etcd `client-cert-auth` / `peer-client-cert-auth` other than true."""
    permissive_kubeconfig_mode: bool = False
    """Allows a `writeKubeconfigMode` readable by group/other."""
    debug_endpoints: bool = False
    """Allows `extraConfig` `enable-pprof: true` (Go profiling on the supervisor port) or `debug: true`."""

    def enabled(self) -> list[str]:
        return sorted(
            (type(self).model_fields[n].alias or n)
            for n in type(self).model_fields
            if getattr(self, n) is True
        )

    def allows(self, camel_name: str) -> bool:
        for name, info in type(self).model_fields.items():
            if (info.alias or name) == camel_name:
                return bool(getattr(self, name))
        raise KeyError(camel_name)


ConfigValue = bool | int | str | list[str]
_FLAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _duration_seconds(text: str) -> int | None:
    m = _DURATION_RE.match(text)
    if not m or not any(m.groups()):
        return None
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s


class Rke2ConfigArgs(HardenedModel):
    """The RKE2 node configuration. Defaults are the CIS / NSA-CISA hardened settings."""

    profile: Literal["cis"] = "cis"
    """RKE2's generic CIS profile (RKE2 >= 1.25). Not configurable: the blueprint is a hardened one."""
    secrets_encryption_provider: Literal["aescbc", "secretbox"] = "aescbc"
    """RKE2 always encrypts Secrets at rest; `aescbc` is its default (FIPS-compatible) and is not emitted.
    `secretbox` needs the `secrets-encryption-provider` key, which Rancher is not confirmed to pass."""
    write_kubeconfig_mode: str = Field("0600", pattern=r"^0[0-7]{3}$")
    """Admin kubeconfig mode on servers; emitted only where Rancher passes the key (else RKE2 uses 0600)."""
    etcd_expose_metrics: bool = False
    """Expose etcd metrics on all interfaces (needs `weakenings.etcdExposeMetrics`)."""
    selinux: bool = False
    """Needs the rke2-selinux packages on the node OS; turn on where the OS has them."""
    tls_min_version: Literal["VersionTLS12", "VersionTLS13"] = "VersionTLS12"
    """TLS floor of apiserver, controller-manager, scheduler and kubelet."""
    tls_cipher_suites: tuple[str, ...] = STRONG_CIPHER_SUITES
    """TLS 1.2 suites; only ECDHE with AES-GCM or ChaCha20-Poly1305 are accepted."""
    pod_max_pids: int = Field(4096, ge=64, le=1_000_000)
    """kubelet `pod-max-pids`: caps processes per pod (fork-bomb protection)."""
    streaming_connection_idle_timeout: str = "5m"
    """kubelet exec/attach/port-forward idle timeout (1s..4h; 0 is not allowed)."""
    tls_san: tuple[SubjectAltName, ...] = ()
    """Extra SANs on the API server certificate."""
    extra_config: dict[str, ConfigValue] = Field(default_factory=dict)
    """Other allow-listed RKE2 keys (e.g. `cluster-cidr`), rendered as given (numbers as strings)."""
    extra_args: dict[ArgKey, dict[str, str | int | bool]] = Field(default_factory=dict)
    """Extra `*-arg` flags per component, e.g. `{kube-apiserver-arg: {request-timeout: 60s}}`."""
    weakenings: Rke2Weakenings = Field(default_factory=Rke2Weakenings)
    """Named switches, each turning off one hardened flag (all false by default)."""

    @field_validator("tls_cipher_suites")
    @classmethod
    def _strong_ciphers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one cipher suite is required")
        weak = [c for c in v if c not in STRONG_CIPHER_SUITES]
        if weak:
            raise ValueError(
                f"not ECDHE+AEAD suites: {', '.join(weak)}; use any of {', '.join(STRONG_CIPHER_SUITES)}"
            )
        if len(set(v)) != len(v):
            raise ValueError("duplicate cipher suites")
        return v

    @field_validator("streaming_connection_idle_timeout")
    @classmethod
    def _idle_timeout(cls, v: str) -> str:
        secs = _duration_seconds(v)
        if secs is None or secs <= 0 or secs > 4 * 3600:
            raise ValueError("must be a duration like '5m' between 1s and 4h (0 disables the timeout)")
        return v

    def cipher_suites(self, fips: bool = False) -> tuple[str, ...]:
        """The TLS 1.2 suites to render: the FIPS-approved ones on a FIPS cluster unless the user chose a list
        (a non-FIPS choice is then a config problem, see `components.fips`)."""
        if fips and "tls_cipher_suites" not in self.model_fields_set:
            return FIPS_CIPHER_SUITES
        return self.tls_cipher_suites

    def problems(self, kubernetes_version: str, path: Sequence[str | int] = ("rke2",)) -> list[Problem]:
        """Version- and cross-field checks (the field validators ran already)."""
        out: list[Problem] = []
        p = tuple(path)
        try:
            version = Rke2Version.parse(kubernetes_version)
        except ValueError as exc:
            return [Problem(("kubernetesVersion",), str(exc), "use an RKE2 release such as 'v1.33.5+rke2r1'")]
        allowed = allow_list()
        if self.secrets_encryption_provider != "aescbc":
            reason = allowed.check("secrets-encryption-provider", version)
            if reason:
                out.append(
                    Problem(
                        (*p, "secretsEncryptionProvider"),
                        f"'{self.secrets_encryption_provider}' cannot be selected through Rancher: {reason}",
                        "keep 'aescbc' (RKE2's FIPS-compatible default; Secrets are encrypted either way)",
                    )
                )
        mode = int(self.write_kubeconfig_mode, 8)
        if mode & 0o077 and not self.weakenings.permissive_kubeconfig_mode:
            out.append(
                Problem(
                    (*p, "writeKubeconfigMode"),
                    f"{self.write_kubeconfig_mode} lets group/other read the admin kubeconfig",
                    "use '0600' or set rke2.weakenings.permissiveKubeconfigMode: true",
                )
            )
        if self.write_kubeconfig_mode != "0600":
            reason = allowed.check("write-kubeconfig-mode", version)
            if reason:
                out.append(
                    Problem(
                        (*p, "writeKubeconfigMode"),
                        f"cannot be set for {kubernetes_version}: {reason}",
                        "leave it at '0600' (RKE2 then writes its default 0600) or pick a newer RKE2 version",
                    )
                )
        if self.etcd_expose_metrics and not self.weakenings.etcd_expose_metrics:
            out.append(
                Problem(
                    (*p, "etcdExposeMetrics"),
                    "exposes etcd metrics on all interfaces",
                    "set it false, or set rke2.weakenings.etcdExposeMetrics: true",
                )
            )
        for key in sorted(self.extra_config):
            where = (*p, "extraConfig", key)
            if (
                key in DEBUG_KEYS
                and self.extra_config[key] not in (False, "false")
                and not self.weakenings.debug_endpoints
            ):
                out.append(
                    Problem(
                        where,
                        DEBUG_KEYS[key],
                        "remove it, or set rke2.weakenings.debugEndpoints: true",
                    )
                )
            elif key in MANAGED_KEYS:
                out.append(Problem(where, "is managed by the component", MANAGED_KEYS[key]))
            elif key.endswith("-arg"):
                out.append(
                    Problem(where, "flags go in extraArgs", f"use rke2.extraArgs.{key}: {{flag: value}}")
                )
            else:
                reason = allowed.check(key, version)
                if reason:
                    close = _close_keys(key, allowed.all_keys())
                    out.append(Problem(where, reason, f"remove it{close}"))
                elif isinstance(self.extra_config[key], list) and not self.extra_config[key]:
                    out.append(Problem(where, "empty list", "remove the key or give values"))
        for arg_key in sorted(self.extra_args):
            reason = allowed.check(arg_key, version)
            if reason:
                out.append(Problem((*p, "extraArgs", arg_key), reason, "remove it"))
                continue
            hardened = HARDENED_FLAGS.get(arg_key, {})
            for flag, raw in sorted(self.extra_args[arg_key].items()):
                where = (*p, "extraArgs", arg_key, flag)
                value = _scalar(raw)
                if not _FLAG_RE.match(flag):
                    out.append(
                        Problem(
                            where,
                            "not a flag name",
                            "write the flag without leading dashes, e.g. 'request-timeout'",
                        )
                    )
                elif flag in TYPED_FLAGS:
                    out.append(Problem(where, "is set by a typed setting", f"use {TYPED_FLAGS[flag]}"))
                elif flag in hardened and not hardened[flag].accepts(value):
                    wk = hardened[flag].weakening
                    if not self.weakenings.allows(wk):
                        out.append(
                            Problem(
                                where,
                                f"'{value}' weakens the hardened value '{hardened[flag].value}'",
                                f"remove it, or set rke2.weakenings.{wk}: true (reported by the policy pack)",
                            )
                        )
                elif flag in GUARDED_FLAGS.get(arg_key, {}):
                    ok, wk, what = GUARDED_FLAGS[arg_key][flag]
                    if not ok(value) and not self.weakenings.allows(wk):
                        out.append(
                            Problem(
                                where,
                                f"'{value}' {what}",
                                f"remove it, or set rke2.weakenings.{wk}: true (reported by the policy pack)",
                            )
                        )
        return out


def _close_keys(key: str, candidates: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, candidates, n=2)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _scalar(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_rancher_value(value: Any) -> str | bool | list[str]:
    """Rancher keeps only strings, bools and lists: integers become strings so they are not dropped."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [_scalar(v) if not isinstance(v, str) else v for v in value]
    raise TypeError(
        f"RKE2 config values must be strings, bools, numbers or lists, not {type(value).__name__}"
    )


def render_args(flags: Mapping[str, str]) -> list[str]:
    """`*-arg` list: `key=value`, sorted by flag name so the rendering is stable."""
    return [f"{k}={flags[k]}" for k in sorted(flags)]


# Every component that takes a TLS cipher list, and the flag it takes it with (etcd calls it `cipher-suites`).
CIPHER_LIST_FLAGS: dict[str, str] = {
    "kube-apiserver-arg": "tls-cipher-suites",
    "kube-controller-manager-arg": "tls-cipher-suites",
    "kube-scheduler-arg": "tls-cipher-suites",
    "kubelet-arg": "tls-cipher-suites",
    "etcd-arg": "cipher-suites",
}


def hardened_component_flags(args: Rke2ConfigArgs, *, fips: bool = False) -> dict[str, dict[str, str]]:
    """The hardened flags per component, before user extra args. On a FIPS cluster etcd's cipher list is
    pinned too (elsewhere RKE2's etcd default is kept)."""
    suites = ",".join(args.cipher_suites(fips))
    flags: dict[str, dict[str, str]] = {
        k: {f: h.value for f, h in v.items()} for k, v in HARDENED_FLAGS.items()
    }
    for key in ("kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kubelet-arg"):
        flags[key].update({"tls-min-version": args.tls_min_version, CIPHER_LIST_FLAGS[key]: suites})
    if fips:
        # RKE2 writes etcd-arg entries into etcd's config file (rancher/rke2 pkg/executor/staticpod/
        # staticpod.go:414 -> k3s pkg/daemons/executor ETCDConfig.ToConfigFile), reading each value as YAML:
        # only a flow list `[a,b]` becomes the list etcd's `cipher-suites` key needs; `a,b` stays a string.
        flags["etcd-arg"] = {CIPHER_LIST_FLAGS["etcd-arg"]: f"[{suites}]"}
    flags["kubelet-arg"]["pod-max-pids"] = str(args.pod_max_pids)
    flags["kubelet-arg"]["streaming-connection-idle-timeout"] = args.streaming_connection_idle_timeout
    return flags


@dataclass(frozen=True)
class RenderedRke2Config:
    global_config: dict[str, Any]
    """`machine_global_config`: every node."""
    all_nodes_selector_config: dict[str, Any]
    """A `machine_selector_configs` entry without a selector (all nodes): protect-kernel-defaults."""

    @property
    def global_yaml(self) -> str:
        return dump_yaml(self.global_config)

    @property
    def selector_yaml(self) -> str:
        return dump_yaml(self.all_nodes_selector_config)


def dump_yaml(data: Mapping[str, Any]) -> str:
    return yaml_render.dump(
        data, Dumper=yaml.SafeDumper, sort_keys=True, default_flow_style=False, width=4096
    )


def render(
    args: Rke2ConfigArgs,
    *,
    kubernetes_version: str,
    cni: Sequence[str] = ("canal",),
    system_default_registry: str | None = None,
    apiserver_flags: Mapping[str, str] | None = None,
    extra_keys: Mapping[str, str] | None = None,
    fips: bool = False,
) -> RenderedRke2Config:
    """Render the config; raises ValueError if any emitted key would be dropped by Rancher.

    `apiserver_flags` are component-owned kube-apiserver flags (the audit flags); `extra_keys` are
    component-owned top-level keys (e.g. an inline `audit-policy-file`). `fips`: render the FIPS choices
    (FIPS-approved cipher lists on every component that takes one, etcd included; see `components.fips`).
    """
    problems = args.problems(kubernetes_version)
    if problems:
        raise ValueError("; ".join(p.render() for p in problems))
    version = Rke2Version.parse(kubernetes_version)
    allowed = allow_list()
    flags = hardened_component_flags(args, fips=fips)
    flags["kube-apiserver-arg"].update(apiserver_flags or {})
    for arg_key, extra in args.extra_args.items():
        flags.setdefault(arg_key, {}).update({f: _scalar(v) for f, v in extra.items()})
    config: dict[str, Any] = {
        "profile": args.profile,
        "etcd-expose-metrics": args.etcd_expose_metrics,
        "cni": list(cni),
    }
    # RKE2 writes the kubeconfig 0600 by default; emit the key only where Rancher passes it.
    if allowed.check("write-kubeconfig-mode", version) is None:
        config["write-kubeconfig-mode"] = args.write_kubeconfig_mode
    if args.selinux:
        config["selinux"] = True
    if system_default_registry:
        config["system-default-registry"] = system_default_registry
    if args.tls_san:
        config["tls-san"] = list(args.tls_san)
    for flag_key, f in flags.items():
        if f:
            config[flag_key] = render_args(f)
    config.update(extra_keys or {})
    config.update({k: to_rancher_value(v) for k, v in args.extra_config.items()})
    selector = {"protect-kernel-defaults": True}
    dropped = [
        f"{k}: {r}" for k in sorted({*config, *selector}) if (r := allowed.check(k, version)) is not None
    ]
    if dropped:  # a bug in the component, not user input: fail loudly rather than ship a weaker node
        raise ValueError("keys Rancher would drop: " + "; ".join(dropped))
    return RenderedRke2Config(global_config=config, all_nodes_selector_config=selector)
