"""Policy construction for the pack: metadata, shared config knobs, exemptions and crash safety.

Policy modules declare policies with `@GROUP.policy(...)` (see `declare.py`), which builds each one with
`build_resource_policy` / `build_stack_policy` here; these
  * attach the compliance metadata (framework = the NSA/CISA guide v1.2 + section, severity, tags with the
    checklist ids, remediation steps, guide URL) and a config schema merged with the shared knobs;
  * wrap the validation so that it only runs for the declared resource types, sees its config merged
    with the schema defaults (the in-process servicer does not fill defaults; the engine does),
    honours exempt namespaces and exemption records (see `exemptions.py`), and never raises on garbage:
    an unexpected exception becomes a violation saying the input could not be evaluated (never a silent
    pass), while `UnknownValueError` propagates so the SDK reports "can't run policy during preview".

Shared knobs and the engine: the engine's `all` config key carries only an enforcement level (its
properties are not merged into the policies), so a value set once for the whole pack must reach each
policy another way. `pack_initial_config` turns a pack-settings mapping (see `settings.py`) into the
pack's `initial_config`, one entry per policy that declares the knob; per-policy config given with
`--policy-pack-config` still overrides it, because the engine applies user config after initial config.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as _sdk_proxy
from pulumi_policy.policy import _NotApplicableError  # pinned 1.21.*: must pass through like unknowns
from pulumi_policy.proxy import UnknownValueError
from pulumi_policy.secret import Secret

from nsa_cisa import exemptions as _ex
from nsa_cisa.fastpath import FAST_ATTR, FAST_MAPPING_TYPES, FAST_SEQUENCE_TYPES, TYPES_ATTR

FRAMEWORK_NAME = "NSA/CISA Kubernetes Hardening Guide"
FRAMEWORK_VERSION = "1.2"
GUIDE_URL = "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF"
PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

# Guide sections (key -> framework reference). The key also becomes a `section:<key>` tag.
SECTIONS: dict[str, str] = {
    "pod-security": "Kubernetes Pod security",
    "network": "Network separation and hardening",
    "authn-authz": "Authentication and authorization",
    "logging": "Audit logging and threat detection",
    "upgrades": "Upgrading and application security practices",
    "governance": "Policy exemptions (pack governance, not a guide section)",
}

_ID_RE = re.compile(r"^NSA-\d+\.\d+$")

# Namespaces whose workloads are the platform's own (Kubernetes and Rancher system namespaces).
DEFAULT_EXEMPT_NAMESPACES = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "cattle-system",
    "cattle-fleet-system",
    "cattle-impersonation-system",
]

EXEMPTION_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "policy": {"type": "string", "description": "policy name or glob"},
        "resource": {"type": "string", "description": "glob over the resource URN or name"},
        "reason": {"type": "string"},
        "expires": {"type": "string", "description": "YYYY-MM-DD (inclusive)"},
        "approvedBy": {"type": "string"},
    },
}

# Shared knobs. `exemptions` is on every policy; `exemptNamespaces` on every policy that honours it;
# the others only on policies that use them (they reference these definitions).
SHARED_KNOBS: dict[str, dict[str, Any]] = {
    "exemptNamespaces": {
        "type": "array",
        "items": {"type": "string"},
        "default": DEFAULT_EXEMPT_NAMESPACES,
        "description": "Namespaces (globs) whose resources this policy skips; system namespaces by default.",
    },
    "exemptions": {
        "type": "array",
        "items": EXEMPTION_ITEM_SCHEMA,
        "default": [],
        "description": "Exemptions {policy, resource, reason, expires, approvedBy}; reason+expires required.",
    },
    "allowedRegistries": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Registry prefixes images may come from (e.g. 'registry.example.com/'); "
        "empty = any registry (the registry policy then only advises).",
    },
    "minKubernetesVersion": {
        "type": "string",
        "default": "v1.31.0",
        "description": "Lowest supported Kubernetes version (vMAJOR.MINOR[.PATCH]).",
    },
}

ReportFn = Callable[..., None]
ResourceValidate = Callable[[ResourceValidationArgs, ReportFn], Any]
StackValidate = Callable[[StackValidationArgs, ReportFn], Any]
Remediate = Callable[[ResourceValidationArgs], Any]
Check = Callable[[Mapping[str, Any], Mapping[str, Any]], Iterable[str]]
"""A pure check: (props, policy config) -> violation messages. Tests can call it directly."""


def props_of(args: ResourceValidationArgs) -> Mapping[str, Any]:
    return args.props if isinstance(args.props, Mapping) else {}


def config_of(args: ResourceValidationArgs) -> Mapping[str, Any]:
    cfg = args.get_config()
    return cfg if isinstance(cfg, Mapping) else {}


def check_validator(check: Check) -> ResourceValidate:
    """Adapt a pure `Check` to CrossGuard's `validate(args, report)`: one violation per message."""

    def validate(args: ResourceValidationArgs, report: ReportFn) -> None:
        for message in check(props_of(args), config_of(args)):
            report(message)

    return validate


_LEVELS = {lvl.value: lvl for lvl in EnforcementLevel}
POLICY_NAMES: list[str] = []
"""Every policy built by this module, so exemption records can be checked against real policy names."""
_SEVERITIES = {sev.value: sev for sev in Severity}


# ----------------------------------------------------------------------------- value helpers


# The types policies meet most, decided without `isinstance` against the ABCs (a Python-level check,
# thousands per request); any other type falls back to it, so the answers are the same.
_MAPPING_TYPES = frozenset({dict, _sdk_proxy._DictProxy, *FAST_MAPPING_TYPES})
_SEQUENCE_TYPES = frozenset({list, tuple, _sdk_proxy._ListProxy, *FAST_SEQUENCE_TYPES})
_SCALAR_TYPES = frozenset({str, bytes, int, float, bool, type(None)})


def is_map(value: Any) -> bool:
    t = type(value)
    if t in _MAPPING_TYPES:
        return True
    if t in _SCALAR_TYPES or t in _SEQUENCE_TYPES:
        return False
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    t = type(value)
    if t in _SEQUENCE_TYPES:
        return True
    if t in _SCALAR_TYPES or t in _MAPPING_TYPES:
        return False
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_map(value: Any) -> Mapping[str, Any]:
    return value if is_map(value) else {}


def as_list(value: Any) -> list[Any]:
    """Items of a list (proxy or plain); anything else is treated as empty."""
    if is_list(value):
        return [value[i] for i in range(len(value))]
    return []


_SPLIT: dict[str, tuple[str, ...]] = {}
_SPLIT_MAX = 4096


def get_path(obj: Any, path: str | Sequence[Any], default: Any = None) -> Any:
    """Read `a.b.c` (or a key list, ints index lists) through plain values or the SDK's proxies.

    Missing keys and wrong shapes give `default`; an unknown value raises `UnknownValueError`.
    """
    if isinstance(path, str):
        keys = _SPLIT.get(path)
        if keys is None:
            keys = tuple(path.split("."))
            if len(_SPLIT) < _SPLIT_MAX:  # the policies' own paths; config-given ones may be many
                _SPLIT[path] = keys
    else:
        keys = tuple(path)
    cur = obj
    for key in keys:
        if type(cur) in _MAPPING_TYPES or is_map(cur):  # the first test is is_map's own fast case, inline
            if not isinstance(key, str) or key not in cur:
                return default
            cur = cur[key]
        elif is_list(cur) and isinstance(key, int) and not isinstance(key, bool):
            if not -len(cur) <= key < len(cur):
                return default
            cur = cur[key]
        else:
            return default
    return default if cur is None else cur


def text(value: Any) -> str:
    """A string value, else ''."""
    return value if isinstance(value, str) else ""


def is_true(value: Any) -> bool:
    """True, or the string 'true' (a string bool would be coerced by some tools: count it)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def as_int(value: Any) -> int | None:
    """Numbers arrive as floats (1000.0); integral strings count too; bools and others are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def show(value: Any) -> str:
    """A value as a Kubernetes user writes it: true/false, 1000 (not 1000.0), 'text', unset."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if is_list(value):
        return "[" + ", ".join(show(v) for v in as_list(value)) + "]"
    return str(value)


def matches_any(value: str, patterns: Iterable[Any]) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value, p) for p in patterns)


def namespace_of(props: Mapping[str, Any], provider: Any = None) -> str:
    """metadata.namespace; if absent, the Kubernetes provider's default `namespace`, else `default`.

    `provider` is the SDK's PolicyProviderResource (args.provider / resource.provider) or None.
    An unknown value raises `UnknownValueError`.
    """
    ns = get_path(props, "metadata.namespace")
    if isinstance(ns, str) and ns:
        return ns
    provider_props = getattr(provider, "props", None)
    if isinstance(provider_props, Mapping):
        default_ns = provider_props.get("namespace")
        if isinstance(default_ns, str) and default_ns:
            return default_ns
    return "default"


_SDK_PROXIES = frozenset({"_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"})


def unwrap(value: Any) -> Any:
    """Deep plain copy of the SDK's proxies, reading their raw targets: unknown sentinels stay as they are
    and secrets stay `Secret` objects (Remediate hands policies a secrets-preserving proxy whose items
    read as plaintext; copying through it would silently drop secretness from the remediated inputs)."""
    if type(value).__name__ in _SDK_PROXIES:
        value = value["__target"]
    if isinstance(value, Secret):
        return Secret(unwrap(value.value))
    if isinstance(value, Mapping):
        return {k: unwrap(v) for k, v in value.items()}
    if is_list(value):
        return [unwrap(v) for v in value]
    return copy.copy(value)


def config_value(args: Any, key: str, default: Any = None) -> Any:
    cfg = args.get_config() if hasattr(args, "get_config") else {}
    value = cfg.get(key) if isinstance(cfg, Mapping) else None
    return default if value is None else value


# ----------------------------------------------------------------------------- construction


def _schema(
    config_schema: Mapping[str, Any] | PolicyConfigSchema | None, shared: Iterable[str]
) -> PolicyConfigSchema:
    props: dict[str, dict[str, Any]] = {k: copy.deepcopy(SHARED_KNOBS[k]) for k in shared}
    required: list[str] | None = None
    if isinstance(config_schema, PolicyConfigSchema):
        props.update(copy.deepcopy(config_schema.properties))
        required = list(config_schema.required or []) or None
    elif config_schema:
        props.update(copy.deepcopy(dict(config_schema)))
    return PolicyConfigSchema(properties=props, required=required)


def _defaults(schema: PolicyConfigSchema) -> dict[str, Any]:
    return {k: copy.deepcopy(v["default"]) for k, v in schema.properties.items() if "default" in v}


def _merged_config(defaults: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    # Shallow: policies only read their config, so the schema defaults can be shared between calls.
    cfg = dict(defaults)
    if isinstance(given, Mapping):
        cfg.update({k: v for k, v in given.items() if v is not None})
    return cfg


def _metadata(
    name: str,
    section: str,
    ids: Sequence[str],
    severity: str,
    level: str,
    specification: str | None,
    description: str,
) -> tuple[PolicyComplianceFramework, list[str], Severity, EnforcementLevel]:
    if section not in SECTIONS:
        raise ValueError(f"policy {name}: unknown section {section!r} (one of {sorted(SECTIONS)})")
    bad = [i for i in ids if not _ID_RE.match(i)]
    if bad:
        raise ValueError(f"policy {name}: checklist ids must look like NSA-x.y, got {bad}")
    if severity not in _SEVERITIES:
        raise ValueError(f"policy {name}: severity must be one of {sorted(_SEVERITIES)}")
    if level not in _LEVELS:
        raise ValueError(f"policy {name}: level must be one of {sorted(_LEVELS)}")
    framework = PolicyComplianceFramework(
        name=FRAMEWORK_NAME,
        version=FRAMEWORK_VERSION,
        reference=SECTIONS[section],
        specification=specification or description,
    )
    tags = [*ids, f"section:{section}"]
    return framework, tags, _SEVERITIES[severity], _LEVELS[level]


class _Collector:
    """Stands in for the SDK's report_violation while the check runs, so exemptions can be applied."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.items.append((str(message), urn))


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _could_not_evaluate(name: str, exc: Exception) -> str:
    # An exception's text may hold an object repr with its address: drop it, messages are deterministic.
    detail = _ADDRESS.sub("", f"{type(exc).__name__}: {exc}")
    return (
        f"{name}: could not evaluate the input ({detail}); fix the resource's shape or exempt it explicitly"
    )


def _run_guarded(fn: Callable[[], Any], collector: _Collector, name: str) -> None:
    try:
        fn()
    except (UnknownValueError, _NotApplicableError):
        raise
    except Exception as exc:  # malformed input must never crash the analyzer nor pass silently
        collector(_could_not_evaluate(name, exc))


NAMESPACE_TYPES = frozenset(
    {
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:NamespacePatch",
        "rancher2:index/namespace:Namespace",
    }
)


def own_namespace_name(props: Mapping[str, Any], resource_type: str) -> str:
    """The name a Namespace resource creates ('' if not given: the provider auto-names it)."""
    if resource_type.startswith("rancher2:"):
        return text(props.get("name"))
    return text(get_path(props, "metadata.name"))


def _namespace_exempt(
    props: Mapping[str, Any], resource_type: str, patterns: Any, provider: Any = None
) -> str | None:
    """The namespace if the resource lives in (or, for a Namespace, is) an exempt namespace."""
    if not as_list(patterns):
        return None
    if resource_type in NAMESPACE_TYPES:
        ns = own_namespace_name(props, resource_type)
    elif resource_type.startswith("kubernetes:") and isinstance(props.get("metadata"), Mapping):
        ns = namespace_of(props, provider)
    else:
        return None
    return ns if ns and matches_any(ns, as_list(patterns)) else None


def _apply_exemptions(
    policy_name: str, props: Mapping[str, Any], config: Mapping[str, Any], urn: str, name: str
) -> tuple[bool, str]:
    """(exempted?, note for un-exempted messages, e.g. about an expired record)."""
    records = [r for r in _ex.exemptions_for(props, config, urn, name) if r.names(policy_name)]
    if not records:
        return False, ""
    today = _ex.today_utc()
    if any(r.applies(policy_name, today) for r in records):
        return True, ""
    notes = []
    for r in records:
        if r.problems:
            notes.append(f"exemption ignored: {'; '.join(r.problems)}")
        elif r.expired(today):
            notes.append(f"exemption expired on {r.expires}")
    return False, (" [" + " | ".join(notes) + "]") if notes else ""


def build_resource_policy(
    name: str,
    description: str,
    *,
    section: str,
    nsa: Sequence[str],
    severity: str,
    validate: ResourceValidate,
    enforcement_level: str = "mandatory",
    remediation_steps: str,
    config_schema: Mapping[str, Any] | PolicyConfigSchema | None = None,
    remediate: Remediate | None = None,
    resource_types: Iterable[str] | None = None,
    honor_exempt_namespaces: bool = True,
    shared_knobs: Iterable[str] = (),
    specification: str | None = None,
    url: str = GUIDE_URL,
    display_name: str | None = None,
    exemptible: bool = True,
    tags: Sequence[str] = (),
) -> ResourceValidationPolicy:
    """A resource policy with the pack's metadata, config defaults, exemptions and crash safety.

    `validate(args, report)` is called only for `resource_types` (all types when None) with
    `args.get_config()` = schema defaults + given config. `report(message)` may be called many times.
    `remediate(args)` returns new props (plain dicts) or None; it is skipped for exempt resources.
    `exemptible=False` is for the pack's own governance policies (an exemption cannot silence them).
    """
    framework, id_tags, sev, lvl = _metadata(
        name, section, nsa, severity, enforcement_level, specification, description
    )
    POLICY_NAMES.append(name)
    knobs = ["exemptions", *(["exemptNamespaces"] if honor_exempt_namespaces else []), *shared_knobs]
    schema = _schema(config_schema, dict.fromkeys(knobs))
    defaults = _defaults(schema)
    types = frozenset(resource_types) if resource_types is not None else None

    def _args(args: ResourceValidationArgs) -> ResourceValidationArgs:
        return ResourceValidationArgs(
            args.resource_type,
            args.props,
            args.urn,
            args.name,
            args.opts,
            args.provider,
            _merged_config(defaults, args.get_config()),
            args.stack_tags,
        )

    def _validate(args: ResourceValidationArgs, report_violation: ReportFn) -> None:
        if types is not None and args.resource_type not in types:
            return
        found = _validate_merged(args, _args(args))
        if found:
            for message, urn in found:
                report_violation(message, urn)

    def _validate_merged(
        args: ResourceValidationArgs, margs: ResourceValidationArgs
    ) -> list[tuple[str, str | None]] | None:
        """The check on args whose config is already merged: the violations to report, after exemptions.
        (The fast loop passes the same object twice: the two differ only in config.)"""
        collector = _Collector()
        try:
            validate(margs, collector)
        except (UnknownValueError, _NotApplicableError):
            raise
        except Exception as exc:  # malformed input must never crash the analyzer nor pass silently
            collector(_could_not_evaluate(name, exc))
        if not collector.items:
            return None
        cfg = margs.get_config()
        props = args.props if isinstance(args.props, Mapping) else {}
        if honor_exempt_namespaces:
            ns = _namespace_exempt(props, args.resource_type, cfg.get("exemptNamespaces"), args.provider)
            if ns is not None:
                args.not_applicable(f"namespace '{ns}' is in exemptNamespaces")
        exempted, note = (
            _apply_exemptions(name, props, cfg, args.urn, args.name) if exemptible else (False, "")
        )
        if exempted:
            return None  # reported as an advisory by `exemption-applied`
        return [(message + note, urn) for message, urn in collector.items]

    def _remediate(args: ResourceValidationArgs) -> Any:
        if remediate is None or (types is not None and args.resource_type not in types):
            return None
        margs = _args(args)
        cfg = margs.get_config()
        props = args.props if isinstance(args.props, Mapping) else {}
        try:
            if honor_exempt_namespaces and _namespace_exempt(
                props, args.resource_type, cfg.get("exemptNamespaces"), args.provider
            ):
                return None
            if _apply_exemptions(name, props, cfg, args.urn, args.name)[0]:
                return None
            return remediate(margs)
        except (UnknownValueError, _NotApplicableError):
            raise
        except Exception:  # a remediation must never break the preview; validation still reports
            return None

    built = ResourceValidationPolicy(
        name=name,
        description=description,
        validate=_validate,
        enforcement_level=lvl,
        config_schema=schema,
        remediate=_remediate if remediate is not None else None,
        display_name=display_name,
        severity=sev,
        framework=framework,
        tags=[*id_tags, *tags],  # the checklist ids and section first, then the policy's own
        remediation_steps=remediation_steps,
        url=url,
    )
    # The fast analyzer loop (fastpath.py) dispatches on these: `_validate`/`_remediate` return at once,
    # reporting nothing, for any other type, so not calling them for it is exact.
    setattr(built, TYPES_ATTR, types)
    setattr(built, FAST_ATTR, (lambda given: _merged_config(defaults, given), _validate_merged))
    return built


def build_stack_policy(
    name: str,
    description: str,
    *,
    section: str,
    nsa: Sequence[str],
    severity: str,
    validate: StackValidate,
    enforcement_level: str = "mandatory",
    remediation_steps: str,
    config_schema: Mapping[str, Any] | PolicyConfigSchema | None = None,
    honor_exempt_namespaces: bool = True,
    shared_knobs: Iterable[str] = (),
    specification: str | None = None,
    url: str = GUIDE_URL,
    display_name: str | None = None,
) -> StackValidationPolicy:
    """A stack policy; violations should name the offending resource's URN so exemptions can apply."""
    framework, tags, sev, lvl = _metadata(
        name, section, nsa, severity, enforcement_level, specification, description
    )
    POLICY_NAMES.append(name)
    knobs = ["exemptions", *(["exemptNamespaces"] if honor_exempt_namespaces else []), *shared_knobs]
    schema = _schema(config_schema, dict.fromkeys(knobs))
    defaults = _defaults(schema)

    def _validate(args: StackValidationArgs, report_violation: ReportFn) -> None:
        config = _merged_config(defaults, args.get_config())
        margs = StackValidationArgs(args.resources, config, args.stack_tags)
        collector = _Collector()
        _run_guarded(lambda: validate(margs, collector), collector, name)
        cfg = margs.get_config()
        by_urn = {r.urn: r for r in args.resources}
        for message, urn in collector.items:
            res = by_urn.get(urn) if urn else None
            if res is not None:
                props = res.props if isinstance(res.props, Mapping) else {}
                if honor_exempt_namespaces and _namespace_exempt(
                    props, res.resource_type, cfg.get("exemptNamespaces"), res.provider
                ):
                    continue
                exempted, note = _apply_exemptions(name, props, cfg, res.urn, res.name)
                if exempted:
                    continue
                message += note
            report_violation(message, urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=_validate,
        enforcement_level=lvl,
        config_schema=schema,
        display_name=display_name,
        severity=sev,
        framework=framework,
        tags=tags,
        remediation_steps=remediation_steps,
        url=url,
    )


def pack_initial_config(policies: Iterable[Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Pack-wide settings -> `initial_config`: each shared knob goes to every policy that declares it.

    `settings` keys: the shared knob names, plus optional `enforcementLevels: {policy: level}`.
    """
    out: dict[str, Any] = {}
    levels = settings.get("enforcementLevels")
    levels = levels if isinstance(levels, Mapping) else {}
    for policy in policies:
        declared = policy.config_schema.properties if policy.config_schema is not None else {}
        entry: dict[str, Any] = {
            k: copy.deepcopy(v) for k, v in settings.items() if k in SHARED_KNOBS and k in declared
        }
        level = levels.get(policy.name) if isinstance(levels, Mapping) else None
        if isinstance(level, str):
            if level not in _LEVELS:
                raise ValueError(
                    f"pack settings: enforcementLevels.{policy.name}: {level!r} is not one of "
                    f"{sorted(_LEVELS)}"
                )
            entry["enforcementLevel"] = _LEVELS[level]  # the SDK expects the enum here
        if entry:
            # An initial-config entry without a level reaches the engine as `advisory` (the proto's zero
            # value), which would silently downgrade the policy: always send its level.
            entry.setdefault("enforcementLevel", policy.enforcement_level or EnforcementLevel.MANDATORY)
            out[policy.name] = entry
    return out
