"""Credentials belong in Secrets (NSA-2.18): not in container env literals, not in ConfigMaps; and Secrets
are read from mounted files rather than environment variables (advisory).

Heuristics, both ways: a credential-like NAME with a literal value, or a VALUE that looks like a
credential whatever its name (private keys, cloud access keys, tokens with a known prefix, passwords
embedded in URLs or connection strings, `password: ...` lines in config files), and in ConfigMaps a single
high-entropy token (generated keys) whatever its key. Placeholders (`${VAR}`, `{{ .x }}`, `<...>`),
file/path pointers (`*_FILE`, `*_PATH`) and booleans/numbers are not credentials.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import ReportFn, as_list, as_map, get_path, matches_any, text
from nsa_cisa.workloads import POD_BEARING_TYPES, as_view

CONFIG_MAP_TYPES = frozenset({"kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ConfigMapPatch"})

_SENSITIVE_NAME = re.compile(
    r"(passw(or)?d|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|"
    r"auth[_-]?key|client[_-]?secret|\bpwd\b|_pwd$|^pwd_|id_rsa|id_ed25519|\.pem$|\.key$|\.p12$|\.pfx$|"
    r"\.jks$|htpasswd|\.pgpass|\.netrc|\.dockerconfigjson|\.npmrc|kubeconfig)",
    re.IGNORECASE,
)
# Name suffixes that point at a credential rather than hold one, or hold settings about it.
_POINTER_SUFFIX = re.compile(
    r"(_file|_path|_dir|_ref|_name|_url_env|_ttl|_timeout|_expiry|_expiration|_length|_enabled|_disabled|"
    r"_mode|_type|_header|_endpoint|_secret_name|_key_id_env)$",
    re.IGNORECASE,
)
# Every pattern here runs on user data, so each is linear in the length of what it scans: no two adjacent
# quantifiers can trade characters, open-ended runs are matched at a fixed minimum length (`{36}`, not
# `{36,}\b`), a run's start is anchored where the run cannot continue backwards (`(?<![...])`), and the
# password-in-URL and `key: value` checks are small scanners (below). `tests/policy/test_secrets.py` times
# them on adversarial input.
_VALUE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{50})")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Rancher API token", re.compile(r"\btoken-[a-z0-9]{5}:[a-z0-9]{54}\b")),
    (
        "a JSON web token",
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8}"),
    ),
]
# Checked after the URL scanner, in this order (so messages list findings as before).
_MORE_VALUE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/]{40}")),
    ("a Stripe secret key", re.compile(r"(?<![0-9A-Za-z_])[sr]k_live_[0-9A-Za-z]{20}")),
    ("an OpenAI-style API key", re.compile(r"(?<![0-9A-Za-z_])sk-(?:proj-)?[A-Za-z0-9_-]{32}")),
]
GOOGLE_SERVICE_ACCOUNT = "a Google service-account key"
_SERVICE_ACCOUNT_TYPE = re.compile(r'"type"\s*:\s*"service_account"')
# `Server=db;User Id=app;Password=s3cret;` (ADO.NET / JDBC / ODBC connection strings)
_CONNECTION_PASSWORD = re.compile(r"(?i)(?:^|[;?&\s])(?:password|pwd)\s*=\s*([^;&\s]+)")
_TOKEN = re.compile(r"^[A-Za-z0-9+/_=-]{32,100}$")
URL_PASSWORD = "a password in a URL"
# `scheme://user:password@`: after each `://`, the user part runs to `:` and the password to `@`; the two
# classes exclude `/`, so the runs after two different `://` never overlap (linear overall).
_URL_USERINFO = re.compile(r"[^/\s:@]+:[^/\s@]+@")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")

MAX_SCANNED_CHARS = 1024 * 1024
"""Characters of one value scanned for credentials. Kubernetes refuses a ConfigMap over 1 MiB (and an
environment value is far smaller), so a longer value cannot be deployed anyway; the message says when a
value was cut."""

# `password = hunter2` / `"apiKey": "..."` inside a config file carried by a ConfigMap, matched per line.
# The leading run is matched atomically (a lookahead captured, then consumed by backreference) so it cannot
# trade characters with the name that follows.
_ASSIGNMENT = re.compile(
    r"""(?i)(?=(?P<lead>[\s"'{,-]*))(?P=lead)[\w.-]*"""
    r"""(passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)"""
    r"""["']?\s*[:=][ \t]*(\S.*)"""
)
_PLACEHOLDER = re.compile(
    r"^(\$\{.*\}|\$\(.*\)|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|<[^>]*>|%\(?\w+\)?s?|\*+|x+|changeme)$",
    re.IGNORECASE,
)
_NOT_A_SECRET = {
    "",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "none",
    "null",
    "nil",
    "enabled",
    "disabled",
    "required",
    "optional",
}


def _is_placeholder(value: str) -> bool:
    v = value.strip().strip("\"'")
    if v.lower() in _NOT_A_SECRET or _PLACEHOLDER.match(v):
        return True
    return bool(re.fullmatch(r"[\d.]+[smhd]?", v))  # numbers and durations


def sensitive_name(name: str) -> bool:
    return bool(_SENSITIVE_NAME.search(name)) and not _POINTER_SUFFIX.search(name)


def _password_in_url(value: str) -> bool:
    start = value.find("://")
    while start != -1:
        i = start
        while i > 0 and value[i - 1] in _SCHEME_CHARS:
            i -= 1
        scheme = value[i:start]
        # `[a-z][a-z0-9+.-]*` ending at `://`: some letter in the run can start the scheme.
        if any(c.isascii() and c.isalpha() for c in scheme) and _URL_USERINFO.match(value, start + 3):
            return True
        start = value.find("://", start + 3)
    return False


def scanned(value: str) -> tuple[str, str]:
    """The part of `value` that is scanned, and a note for messages when it was cut."""
    if len(value) <= MAX_SCANNED_CHARS:
        return value, ""
    return value[:MAX_SCANNED_CHARS], (
        f" (the value has {len(value):,} characters; only the first {MAX_SCANNED_CHARS:,} were scanned, "
        "and Kubernetes refuses a ConfigMap over 1 MiB)"
    )


def _entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def high_entropy_token(value: str) -> bool:
    """One random-looking token (32-100 chars of base64/url-safe alphabet, upper, lower and digits, >= 4.5
    bits/char): generated keys and secrets. Hex digests, UUIDs, words, paths, URLs and long base64 blobs
    such as public certificates do not qualify."""
    v = value.strip()
    if not _TOKEN.match(v) or v.startswith("LS0t"):  # LS0t = base64 of '---' (a PEM block: a certificate)
        return False
    if not (re.search(r"[A-Z]", v) and re.search(r"[a-z]", v) and re.search(r"\d", v)):
        return False
    return _entropy(v) >= 4.5


def value_findings(value: str) -> list[str]:
    value = value[:MAX_SCANNED_CHARS]
    found = [label for label, pattern in _VALUE_PATTERNS if pattern.search(value)]
    if _password_in_url(value):
        found.append(URL_PASSWORD)
    found += [label for label, pattern in _MORE_VALUE_PATTERNS if pattern.search(value)]
    sa = _SERVICE_ACCOUNT_TYPE.search(value)
    if sa is not None and '"private_key_id"' in value[sa.end() :]:  # a scan, not `[\s\S]*`: stays linear
        found.append(GOOGLE_SERVICE_ACCOUNT)
    for m in _CONNECTION_PASSWORD.finditer(value):
        if not _is_placeholder(m.group(1)):
            found.append("a password in a connection string")
            break
    return found


def _assignment_findings(value: str) -> list[str]:
    found = []
    for line in value[:MAX_SCANNED_CHARS].split("\n"):
        m = _ASSIGNMENT.match(line)
        if m is None:
            continue
        value_part = m.group(3).rstrip(" \t")
        raw = value_part.strip().strip("\"'")
        literal = value_part.rstrip(",;}").strip().strip("\"'")
        if _is_placeholder(raw) or _is_placeholder(literal):
            continue
        if literal and not literal.startswith(("{", "[", "|", ">", "&", "*")):
            found.append(m.group(2))  # '{'/'[' open a nested block; '|'/'>' YAML blocks; '&'/'*' anchors
    return found


# ----------------------------------------------------------------------------- env literals


def _env_findings(args: Any) -> Iterator[str]:
    view = as_view(args)
    if view is None:
        return
    allowed = [a for a in as_list(args.get_config().get("allowedEnvNames")) if isinstance(a, str)]
    for c in view.containers():
        for i, env in enumerate(as_list(c.spec.get("env"))):
            if not isinstance(env, Mapping):
                continue
            name = text(env.get("name"))
            value = env.get("value")
            if not isinstance(value, str) or not value or matches_any(name, allowed):
                continue
            where = f"{c.label}: env[{i}] '{name}'"
            value, cut = scanned(value)
            found = value_findings(value)
            if found:
                yield f"{where} holds {', '.join(found)} as a literal: use valueFrom.secretKeyRef{cut}"
            elif cut:
                yield f"{where} is too long to check for credentials{cut}"
            elif sensitive_name(name) and not _is_placeholder(value):
                yield f"{where} looks like a credential set as a literal value: use valueFrom.secretKeyRef"


GROUP = PolicyGroup(__name__, section="network")


@GROUP.policy(
    name="no-credentials-in-env",
    description="Containers do not carry credentials as literal environment values (use Secrets).",
    severity="high",
    nsa=("NSA-2.18",),
    resource_types=POD_BEARING_TYPES,
    config_schema={
        "allowedEnvNames": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Env var names (globs) known not to hold credentials.",
        }
    },
    remediation_steps="Store the value in a Secret (a Pulumi secret in the program) and reference it with "
    "env[].valueFrom.secretKeyRef, or mount it as a file.",
)
def _env(args: Any, report: ReportFn) -> None:
    for message in _env_findings(args):
        report(message)


# ----------------------------------------------------------------------------- ConfigMaps


@GROUP.policy(
    name="no-credentials-in-configmaps",
    description="ConfigMaps carry no credentials (passwords, tokens, private keys); those belong in Secrets.",
    severity="high",
    nsa=("NSA-2.18",),
    resource_types=CONFIG_MAP_TYPES,
    config_schema={
        "allowedKeys": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "ConfigMap keys (globs) known not to hold credentials.",
        }
    },
    remediation_steps="Move the value into a Secret (encrypted at rest, RBAC-restricted) and mount or "
    "reference it from there.",
)
def _configmap(args: Any, report: ReportFn) -> None:
    allowed = [a for a in as_list(args.get_config().get("allowedKeys")) if isinstance(a, str)]
    data = as_map(args.props.get("data"))
    for key, value in data.items():
        if not isinstance(key, str) or matches_any(key, allowed):
            continue
        if not isinstance(value, str) or not value.strip():
            continue
        value, cut = scanned(value)
        found = value_findings(value)
        if found:
            report(f"data['{key}'] holds {', '.join(found)}: move it to a Secret{cut}")
        elif cut:
            report(f"data['{key}'] is too long to check for credentials{cut}")
        elif sensitive_name(key) and "\n" not in value.strip() and not _is_placeholder(value):
            report(f"data['{key}'] looks like a credential: move it to a Secret")
        elif high_entropy_token(value):
            report(
                f"data['{key}'] holds a high-entropy token (a generated key or secret): move it to a Secret"
            )
        else:
            fields = sorted(set(_assignment_findings(value)))
            if fields:
                report(f"data['{key}'] sets {fields} to literal values: move them to a Secret{cut}")
    for key in as_map(args.props.get("binaryData")):
        if isinstance(key, str) and sensitive_name(key) and not matches_any(key, allowed):
            report(f"binaryData['{key}'] looks like key material: move it to a Secret")


# ----------------------------------------------------------------------------- Secrets exposed as env


@GROUP.policy(
    name="secrets-not-in-env-vars",
    description="Containers read Secrets from mounted files, not environment variables (env values leak into "
    "logs, crash dumps and child processes).",
    severity="low",
    nsa=("NSA-2.18",),
    enforcement_level="advisory",
    resource_types=POD_BEARING_TYPES,
    remediation_steps="Mount the Secret as a volume (readOnly) and read the file; set this policy to "
    "mandatory to require it.",
)
def _secret_env(args: Any, report: ReportFn) -> None:
    view = as_view(args)
    if view is None:
        return
    for c in view.containers():
        for i, env in enumerate(as_list(c.spec.get("env"))):
            ref = get_path(env, "valueFrom.secretKeyRef")
            if isinstance(ref, Mapping):
                report(
                    f"{c.label}: env[{i}] '{text(get_path(env, 'name'))}' reads Secret "
                    f"'{text(ref.get('name'))}' key '{text(ref.get('key'))}': mount it as a file instead"
                )
        for i, source in enumerate(as_list(c.spec.get("envFrom"))):
            ref = get_path(source, "secretRef")
            if isinstance(ref, Mapping):
                report(
                    f"{c.label}: envFrom[{i}] exposes every key of Secret '{text(ref.get('name'))}' as "
                    "environment variables: mount it as a file instead"
                )
