"""Pure readers for what a `rancher2` ClusterV2 carries: RKE2 config YAML strings, `*-arg` flag lists,
Kubernetes versions, audit policies and Helm values.

No Pulumi imports: everything here works on plain values or the policy SDK's read-only Mapping/Sequence
proxies, and never raises on malformed input (a policy reports what it cannot read instead).

How Rancher applies the config (rancher-rke2-facts.md): `machineGlobalConfig` reaches every node, and each
matching `machineSelectorConfigs[]` entry is overlaid on it (later entries win per key, lists replace).
So a hardening requirement holds only if it is set in some layer AND no layer that sets the same key
replaces it with a weaker value; `layers()` returns every layer so checks can apply that rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import yaml

ARG_KEYS = (
    "kube-apiserver-arg",
    "kube-controller-manager-arg",
    "kube-scheduler-arg",
    "kubelet-arg",
    "etcd-arg",
    "kube-proxy-arg",
    "kube-cloud-controller-manager-arg",
)

# RKE2 only accepts these CNIs as NetworkPolicy-enforcing (rancher-rke2-facts.md: "CNI").
POLICY_CNIS = frozenset({"canal", "calico", "cilium"})
# Go/Kubernetes cipher suite names that are not forward-secret AEAD suites (CIS 1.2.x, guide §2 TLS).
_WEAK_CIPHER_MARKERS = ("RC4", "3DES", "_CBC_", "NULL", "EXPORT", "_MD5")
_WEAK_TLS_VERSIONS = frozenset({"VersionTLS10", "VersionTLS11", "VersionSSL30"})
STRONG_TLS_VERSIONS = frozenset({"VersionTLS12", "VersionTLS13"})

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=1024)
def _load_yaml(text: str) -> tuple[Any, str | None]:
    """Parse once per distinct text: every policy of a resource reads the same config strings.
    Callers must not mutate the result (it is shared)."""
    try:
        return yaml.load(text, Loader=_LOADER), None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        return None, first


def is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping)


def is_list(value: Any) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_text(value: Any) -> str | None:
    """A scalar as RKE2 sees it: YAML bools/numbers become their string form, None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def as_bool(value: Any) -> bool | None:
    """RKE2/Rancher bool: a YAML bool or the strings true/false (any case); anything else is None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
    return None


def as_int(value: Any) -> int | None:
    """An integer from a number (engine floats) or a numeric string; None if not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    return None


@dataclass(frozen=True)
class ParsedConfig:
    """One RKE2 config layer: the parsed mapping, or why it could not be read."""

    where: str
    data: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    selector: Any = None
    """The machineLabelSelector of a selector layer (None for the global layer or a match-all entry)."""

    @property
    def is_global(self) -> bool:
        return self.where == "machineGlobalConfig"

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return key in self.data


def parse_config_yaml(text: Any, where: str, selector: Any = None) -> ParsedConfig:
    """Parse one RKE2 config YAML string (or an already-structured mapping). Empty/absent → {}."""
    if text is None:
        return ParsedConfig(where=where, selector=selector)
    if is_mapping(text):
        return ParsedConfig(where=where, data={str(k): v for k, v in text.items()}, selector=selector)
    if not isinstance(text, str):
        return ParsedConfig(where=where, error=f"{where} is not a YAML string", selector=selector)
    if not text.strip():
        return ParsedConfig(where=where, selector=selector)
    loaded, problem = _load_yaml(text)
    if problem is not None:
        return ParsedConfig(where=where, error=f"{where} is not valid YAML ({problem})", selector=selector)
    if loaded is None:
        return ParsedConfig(where=where, selector=selector)
    if not isinstance(loaded, dict):
        error = f"{where} must be a YAML mapping of RKE2 keys"
        return ParsedConfig(where=where, error=error, selector=selector)
    return ParsedConfig(where=where, data={str(k): v for k, v in loaded.items()}, selector=selector)


def layers(rke_config: Any) -> list[ParsedConfig]:
    """The global config followed by every machine selector config, in Rancher's overlay order."""
    if not is_mapping(rke_config):
        return [ParsedConfig(where="machineGlobalConfig")]
    out = [parse_config_yaml(rke_config.get("machineGlobalConfig"), "machineGlobalConfig")]
    selectors = rke_config.get("machineSelectorConfigs")
    if is_list(selectors):
        for i, entry in enumerate(selectors):
            where = f"machineSelectorConfigs[{i}].config"
            if not is_mapping(entry):
                out.append(ParsedConfig(where=where, error=f"{where}: entry is not an object"))
                continue
            out.append(parse_config_yaml(entry.get("config"), where, entry.get("machineLabelSelector")))
    return out


def selector_matches_all(selector: Any) -> bool:
    """A selector entry without labels/expressions applies to every node."""
    if selector is None:
        return True
    if not is_mapping(selector):
        return False
    labels = selector.get("matchLabels")
    exprs = selector.get("matchExpressions")
    return not (is_mapping(labels) and len(labels) > 0) and not (is_list(exprs) and len(exprs) > 0)


# ---------------------------------------------------------------------------------------- `*-arg` lists


@dataclass(frozen=True)
class ArgList:
    """A parsed `*-arg` value: flag name (no leading dashes) → value (last one wins, as for the binary)."""

    flags: Mapping[str, str]
    malformed: tuple[str, ...] = ()

    def get(self, flag: str) -> str | None:
        return self.flags.get(flag)

    def __contains__(self, flag: object) -> bool:
        return flag in self.flags


def parse_arg_list(value: Any) -> ArgList:
    """`["anonymous-auth=false", "--authorization-mode=Node,RBAC"]` (or one string) → flags.

    A bare `flag` (no `=`) means `flag=true` for a boolean flag, as the Go flag parser treats it.
    """
    items: list[Any]
    if value is None:
        items = []
    elif isinstance(value, str):
        items = [value]
    elif is_list(value):
        items = list(value)
    else:
        return ArgList(flags={}, malformed=(repr(value),))
    flags: dict[str, str] = {}
    bad: list[str] = []
    for item in items:
        text = as_text(item)
        if text is None:
            bad.append(repr(item))
            continue
        text = text.strip()
        if not text:
            continue
        name, sep, val = text.partition("=")
        name = name.strip().lstrip("-").strip()
        if not name:
            bad.append(text)
            continue
        flags[name] = val.strip() if sep else "true"
    return ArgList(flags=flags, malformed=tuple(bad))


def arg_layers(cfg_layers: Sequence[ParsedConfig], key: str) -> Iterator[tuple[ParsedConfig, ArgList]]:
    """Every layer that sets the `*-arg` key, with its parsed list (lists replace between layers)."""
    for layer in cfg_layers:
        if layer.has(key):
            yield layer, parse_arg_list(layer.get(key))


def weak_cipher_suites(value: str) -> list[str]:
    """Cipher suites in a comma-separated `tls-cipher-suites` value that are not forward-secret AEAD."""
    weak = []
    for suite in (s.strip() for s in value.split(",")):
        if not suite:
            continue
        upper = suite.upper()
        not_ecdhe = upper.startswith("TLS_RSA_")  # static RSA key exchange: no forward secrecy
        if not_ecdhe or any(marker in upper for marker in _WEAK_CIPHER_MARKERS):
            weak.append(suite)
    return weak


def is_weak_tls_version(value: str) -> bool:
    return value.strip() in _WEAK_TLS_VERSIONS


# ---------------------------------------------------------------------------------------- CNI


def cni_list(value: Any) -> list[str] | None:
    """The `cni` key: a string (`canal`, or `multus,canal`) or a list; None if unreadable."""
    if value is None:
        return None
    if isinstance(value, str):
        return [p.strip().lower() for p in value.split(",") if p.strip()]
    if is_list(value):
        out: list[str] = []
        for v in value:
            text = as_text(v)
            if text is None:
                return None
            out.extend(p.strip().lower() for p in text.split(",") if p.strip())
        return out
    return None


def cni_problem(value: Any) -> str | None:
    """Why a `cni` value does not give NetworkPolicy enforcement, or None if it does.

    Absent means RKE2's default, canal. Multus is a meta-plugin and must be followed by a real CNI.
    """
    if value is None:
        return None
    cnis = cni_list(value)
    if cnis is None:
        return f"cni value {value!r} is not a string or list of strings"
    primary = [c for c in cnis if c != "multus"]
    if not primary:
        return "cni lists no primary CNI (multus alone does not network pods or enforce NetworkPolicy)"
    if primary[0] not in POLICY_CNIS:
        return (
            f"cni '{primary[0]}' does not enforce NetworkPolicy "
            f"(use one of {', '.join(sorted(POLICY_CNIS))}, optionally after multus)"
        )
    return None


# ---------------------------------------------------------------------------------------- versions


_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_k8s_version(value: Any) -> tuple[int, int, int] | None:
    """`v1.32.5+rke2r1` → (1, 32, 5); `1.31` → (1, 31, 0); anything else → None."""
    if not isinstance(value, str):
        return None
    m = _VERSION_RE.match(value.strip())
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def version_below(value: Any, floor: Any) -> bool | None:
    """True if `value` is older than `floor`, False if not, None if either is unreadable.

    A floor given as `v1.32` compares major/minor only, so every v1.32 patch release passes it.
    """
    have = parse_k8s_version(value)
    want = parse_k8s_version(floor)
    if have is None or want is None:
        return None
    floor_text = str(floor).strip().lstrip("v")
    if floor_text.count(".") < 2:
        return have[:2] < want[:2]
    return have < want


# ---------------------------------------------------------------------------------------- audit policy


AUDIT_LEVELS = ("None", "Metadata", "Request", "RequestResponse")
_LEVEL_RANK = {name: i for i, name in enumerate(AUDIT_LEVELS)}
SENSITIVE_RESOURCES = frozenset({"secrets", "configmaps", "tokenreviews", "serviceaccounts/token"})


def audit_policy_problems(policy: Any) -> list[str]:
    """Why an audit Policy (parsed) fails the guide's bar (NSA-4.2), empty if it is acceptable.

    The bar: it parses as an audit.k8s.io Policy with rules; not everything is at level None; Secrets
    (and other credential-bearing resources) are never logged above Metadata, so request/response bodies
    carrying secret data never reach the log.
    """
    if not is_mapping(policy):
        return ["the audit policy is not a YAML mapping"]
    kind = policy.get("kind")
    if kind is not None and kind != "Policy":
        return [f"the audit policy has kind {kind!r}, expected Policy"]
    rules = policy.get("rules")
    if not is_list(rules) or len(rules) == 0:
        return ["the audit policy has no rules, so nothing is logged"]
    problems: list[str] = []
    levels: list[str] = []
    sensitive_seen: set[str] = set()
    for i, rule in enumerate(rules):
        if not is_mapping(rule):
            problems.append(f"rules[{i}] is not an object")
            continue
        level = rule.get("level")
        if level not in _LEVEL_RANK:
            problems.append(f"rules[{i}].level {level!r} is not one of {', '.join(AUDIT_LEVELS)}")
            continue
        levels.append(level)
        covered = _sensitive_resources_covered(rule)
        # First matching rule wins in an audit policy: only the first rule that covers a resource counts.
        for res in covered - sensitive_seen:
            if _LEVEL_RANK[level] > _LEVEL_RANK["Metadata"] and res == "secrets":
                problems.append(
                    f"rules[{i}] logs secrets at {level}: Secret bodies would be written to the audit log "
                    "(log secrets at Metadata)"
                )
        sensitive_seen |= covered
    if levels and all(lv == "None" for lv in levels):
        problems.append("every audit rule is level None, so nothing is logged")
    return problems


def _sensitive_resources_covered(rule: Mapping[str, Any]) -> set[str]:
    """Which sensitive core-group resources a rule matches (a rule without `resources` matches all)."""
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return set()
    groups = rule.get("resources")
    if groups is None:
        return set(SENSITIVE_RESOURCES)
    covered: set[str] = set()
    if not is_list(groups):
        return covered
    for g in groups:
        if not is_mapping(g):
            continue
        group = g.get("group", "")
        if group not in ("", "*", None):
            continue
        names = g.get("resources")
        if names is None or not is_list(names) or len(names) == 0:
            covered |= SENSITIVE_RESOURCES
            continue
        for n in names:
            if n in ("*", "*/*"):
                covered |= SENSITIVE_RESOURCES
            elif isinstance(n, str) and n in SENSITIVE_RESOURCES:
                covered.add(n)
    return covered


def load_inline_audit_policy(value: Any) -> tuple[Any, str | None]:
    """The `audit-policy-file` key's value, when it carries the policy itself rather than a path.

    Returns (parsed policy or None if the value is a path, error message if content was unreadable).
    Rancher writes inline content to disk and points the flag at it.
    """
    if is_mapping(value):
        return value, None
    if not isinstance(value, str):
        return None, f"audit-policy-file has an unusable value of type {type(value).__name__}"
    text = value.strip()
    if not text:
        return None, "audit-policy-file is empty"
    if "\n" not in text and not text.startswith("{") and ":" not in text:
        return None, None  # a path on the node
    loaded, problem = _load_yaml(text)
    if problem is not None:
        return None, "audit-policy-file content is not valid YAML"
    if not is_mapping(loaded):
        return None, "audit-policy-file content is not a YAML mapping"
    return loaded, None


# ---------------------------------------------------------------------------------------- Helm values


def load_values(value: Any) -> tuple[Mapping[str, Any], str | None]:
    """Helm values as an object or a YAML string → mapping (empty if absent) and an error if unreadable."""
    if value is None:
        return {}, None
    if is_mapping(value):
        return value, None
    if isinstance(value, str):
        if not value.strip():
            return {}, None
        loaded, problem = _load_yaml(value)
        if problem is not None:
            return {}, "values are not valid YAML"
        if loaded is None:
            return {}, None
        if not isinstance(loaded, dict):
            return {}, "values are not a YAML mapping"
        return loaded, None
    return {}, f"values have an unusable type {type(value).__name__}"


def dig(obj: Any, path: str, default: Any = None) -> Any:
    """`dig(values, "auditLog.level")` over mappings (and list indexes), default if any hop is missing."""
    cur = obj
    for part in path.split("."):
        if is_mapping(cur):
            if part not in cur:
                return default
            cur = cur[part]
        elif is_list(cur) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return default
    return cur
