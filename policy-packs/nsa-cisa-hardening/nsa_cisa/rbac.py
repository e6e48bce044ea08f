"""Authorization (guide section "Authentication and authorization"): least-privilege RBAC.

Roles/ClusterRoles: no wildcards (NSA-3.4), no escalate/bind/impersonate (NSA-3.6), no pods/exec, attach
or portforward (NSA-3.5), secrets readable only by allowed roles (NSA-2.21). Bindings: no cluster-admin
unless allowed (NSA-3.4), never to system:anonymous / system:unauthenticated / system:authenticated
(NSA-3.7); stack-level: roles that read secrets are bound only to allowed subjects (NSA-2.21).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import (
    ReportFn,
    as_list,
    get_path,
    matches_any,
    namespace_of,
    text,
)

_VERSIONS = ("v1", "v1beta1", "v1alpha1")


def _types(*kinds: str) -> frozenset[str]:
    return frozenset(f"kubernetes:rbac.authorization.k8s.io/{v}:{k}{s}"
                     for k in kinds for v in _VERSIONS for s in ("", "Patch"))


ROLE_TYPES = _types("Role", "ClusterRole")
BINDING_TYPES = _types("RoleBinding", "ClusterRoleBinding")
ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate"})
POD_SHELL_SUBRESOURCES = frozenset({"pods/exec", "pods/attach", "pods/portforward"})
SECRET_READ_VERBS = frozenset({"get", "list", "watch", "*"})
SYSTEM_GROUPS = frozenset({"system:anonymous", "system:unauthenticated", "system:authenticated"})
# Built-in ClusterRoles that can read Secrets.
BUILTIN_SECRET_READERS = frozenset({"cluster-admin", "admin", "edit"})


def _strings(value: Any) -> list[str]:
    return [v if isinstance(v, str) else repr(v) for v in as_list(value)]


def _rules(props: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for i, rule in enumerate(as_list(props.get("rules"))):
        if isinstance(rule, Mapping):
            yield i, rule


def _core_group(rule: Mapping[str, Any]) -> bool:
    groups = _strings(rule.get("apiGroups"))
    return not groups or "" in groups or "*" in groups


def _role_name(args: Any) -> str:
    name = text(get_path(args.props, "metadata.name")) or args.name
    if args.resource_type.rsplit(":", 1)[-1].startswith("Role"):
        return f"{namespace_of(args.props, args.provider)}/{name}"
    return name


GROUP = PolicyGroup(__name__, section="authn-authz")


# ----------------------------------------------------------------------------- roles


@GROUP.policy(
    name="rbac-no-wildcards",
    description="Roles and ClusterRoles grant explicit verbs, resources and API groups (no '*').",
    severity="high",
    nsa=("NSA-3.4", "NSA-1.21"),
    resource_types=ROLE_TYPES,
    remediation_steps="List the exact apiGroups, resources and verbs the subject needs.",
)
def _wildcards(args: Any, report: ReportFn) -> None:
    for i, rule in _rules(args.props):
        for field in ("verbs", "resources", "apiGroups", "nonResourceURLs"):
            wild = [v for v in _strings(rule.get(field)) if "*" in v]
            if wild:
                report(f"rules[{i}].{field} contains {wild}: grant explicit {field} only")


@GROUP.policy(
    name="rbac-no-escalation-verbs",
    description="Roles do not grant the escalate, bind or impersonate verbs.",
    severity="high",
    nsa=("NSA-3.6",),
    resource_types=ROLE_TYPES,
    remediation_steps="Remove escalate/bind/impersonate; keep them for a break-glass role behind an "
    "exemption.",
)
def _escalation(args: Any, report: ReportFn) -> None:
    for i, rule in _rules(args.props):
        bad = sorted(ESCALATION_VERBS & set(_strings(rule.get("verbs"))))
        if bad:
            report(f"rules[{i}].verbs grants {bad}: these let a subject gain permissions it does not hold")


@GROUP.policy(
    name="rbac-no-pod-exec",
    description="Roles do not grant pods/exec, pods/attach or pods/portforward.",
    severity="high",
    nsa=("NSA-3.5",),
    resource_types=ROLE_TYPES,
    remediation_steps="Remove pods/exec, pods/attach and pods/portforward; debug through logs and "
    "time-boxed, exempted break-glass roles.",
)
def _pod_shell(args: Any, report: ReportFn) -> None:
    for i, rule in _rules(args.props):
        if not _core_group(rule):
            continue
        resources = set(_strings(rule.get("resources")))
        hits = sorted(resources & (POD_SHELL_SUBRESOURCES | {"pods/*", "*"}))
        verbs = set(_strings(rule.get("verbs")))
        if hits and verbs & {"create", "get", "*"}:
            report(f"rules[{i}] grants {sorted(verbs & {'create', 'get', '*'})} on {hits}: "
                   "no interactive access to running pods")


def reads_secrets(props: Mapping[str, Any]) -> list[int]:
    """Indices of rules that let a subject read arbitrary Secrets (resourceNames-narrowed rules excepted)."""
    out = []
    for i, rule in _rules(props):
        if not _core_group(rule) or as_list(rule.get("resourceNames")):
            continue
        resources = set(_strings(rule.get("resources")))
        if resources & {"secrets", "*"} and set(_strings(rule.get("verbs"))) & SECRET_READ_VERBS:
            out.append(i)
    return out


@GROUP.policy(
    name="rbac-secrets-read-restricted",
    description="Only allowed roles may get/list/watch Secrets (rules narrowed by resourceNames excepted).",
    severity="high",
    nsa=("NSA-2.21", "NSA-3.4"),
    section="network",
    resource_types=ROLE_TYPES,
    config_schema={
        "allowedSecretReaderRoles": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Role globs ('<namespace>/<name>' for Roles, '<name>' for ClusterRoles).",
        }
    },
    remediation_steps="Narrow the rule with resourceNames, mount the Secret into the pod instead, or list "
    "the role in allowedSecretReaderRoles.",
)
def _secret_readers(args: Any, report: ReportFn) -> None:
    allowed = [a for a in as_list(args.get_config().get("allowedSecretReaderRoles")) if isinstance(a, str)]
    name = _role_name(args)
    if matches_any(name, allowed):
        return
    for i in reads_secrets(args.props):
        report(f"rules[{i}] lets '{name}' read Secrets (get/list/watch): only roles in "
               "allowedSecretReaderRoles may")


# ----------------------------------------------------------------------------- bindings


def _subjects(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(props.get("subjects")) if isinstance(s, Mapping)]


def _subject_key(subject: Mapping[str, Any], binding_ns: str | None) -> str:
    kind = text(subject.get("kind")) or "?"
    name = text(subject.get("name"))
    if kind == "ServiceAccount":
        return f"ServiceAccount:{text(subject.get('namespace')) or binding_ns or 'default'}/{name}"
    return f"{kind}:{name}"


@GROUP.policy(
    name="rbac-no-cluster-admin-binding",
    description="No RoleBinding/ClusterRoleBinding grants cluster-admin unless the pack config allows that "
    "binding.",
    severity="critical",
    nsa=("NSA-3.4",),
    resource_types=BINDING_TYPES,
    config_schema={
        "allowedClusterAdminBindings": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Binding names (globs) allowed to reference cluster-admin (break-glass).",
        }
    },
    remediation_steps="Bind a role with only the needed permissions; keep cluster-admin for a listed "
    "break-glass binding.",
)
def _cluster_admin(args: Any, report: ReportFn) -> None:
    ref = args.props.get("roleRef")
    kind = text(get_path(ref, "kind"))
    if text(get_path(ref, "name")) != "cluster-admin" or kind not in ("", "ClusterRole"):
        return
    name = text(get_path(args.props, "metadata.name")) or args.name
    allowed = [a for a in as_list(args.get_config().get("allowedClusterAdminBindings")) if isinstance(a, str)]
    if not matches_any(name, allowed):
        subjects = [_subject_key(s, None) for s in _subjects(args.props)]
        report(f"binding '{name}' grants cluster-admin to {subjects}: bind a least-privilege role instead")


@GROUP.policy(
    name="rbac-no-system-group-binding",
    description="No binding names system:anonymous, system:unauthenticated or system:authenticated as a "
    "subject.",
    severity="critical",
    nsa=("NSA-3.7",),
    resource_types=BINDING_TYPES,
    remediation_steps="Bind specific users, groups or service accounts instead.",
)
def _system_groups(args: Any, report: ReportFn) -> None:
    for i, subject in enumerate(_subjects(args.props)):
        name = text(subject.get("name"))
        if name in SYSTEM_GROUPS:
            report(f"subjects[{i}] is '{name}': never bind roles to anonymous/unauthenticated/all "
                   "authenticated users")


@GROUP.policy(
    name="rbac-secret-readers-allowed",
    description="Roles that can read Secrets (stack roles, and the built-in cluster-admin/admin/edit) are "
    "bound only to subjects listed in allowedSecretReaders.",
    severity="high",
    nsa=("NSA-2.21",),
    section="network",
    stack=True,
    config_schema={
        "allowedSecretReaders": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Subject globs: 'User:alice', 'Group:ops', 'ServiceAccount:<ns>/<name>', "
            "or a bare name.",
        }
    },
    remediation_steps="Bind a role without Secret access, or list the subject in allowedSecretReaders.",
)
def _secret_reader_bindings(args: Any, report: ReportFn) -> None:
    allowed = [a for a in as_list(args.get_config().get("allowedSecretReaders")) if isinstance(a, str)]
    roles: dict[tuple[str, str, str], bool] = {}
    for r in args.resources:
        if r.resource_type in ROLE_TYPES and not r.resource_type.endswith("Patch"):
            kind = r.resource_type.rsplit(":", 1)[-1]
            name = text(get_path(r.props, "metadata.name")) or r.name
            ns = namespace_of(r.props, r.provider) if kind == "Role" else ""
            roles[(kind, ns, name)] = bool(reads_secrets(r.props))
    for b in args.resources:
        if b.resource_type not in BINDING_TYPES:
            continue
        ref = b.props.get("roleRef")
        ref_kind, ref_name = text(get_path(ref, "kind")), text(get_path(ref, "name"))
        is_role_binding = b.resource_type.rsplit(":", 1)[-1].startswith("RoleBinding")
        binding_ns = namespace_of(b.props, b.provider) if is_role_binding else None
        key = (ref_kind, (binding_ns or "") if ref_kind == "Role" else "", ref_name)
        reader = roles.get(key, ref_kind == "ClusterRole" and ref_name in BUILTIN_SECRET_READERS)
        if not reader:
            continue
        for s in _subjects(b.props):
            subject = _subject_key(s, binding_ns)
            if not matches_any(subject, allowed) and not matches_any(text(s.get("name")), allowed):
                report(f"'{subject}' can read Secrets through {ref_kind} '{ref_name}' "
                       f"(binding '{text(get_path(b.props, 'metadata.name')) or b.name}'): not in "
                       "allowedSecretReaders", b.urn)
