"""Authorization (guide section "Authentication and authorization"): least-privilege RBAC.

Roles/ClusterRoles: no wildcards (NSA-3.4), no escalate/bind/impersonate, also through '*' verbs on roles
or identities (NSA-3.6), no pods/exec, attach or portforward (NSA-3.5), secrets readable only by allowed
roles (NSA-2.21), no nodes/proxy, no writes to admission webhook configurations, no CSR approval (NSA-3.4).
Bindings: no cluster-admin unless allowed, whatever roleRef.kind says (NSA-3.4), never to
system:anonymous / system:unauthenticated / system:authenticated (NSA-3.7); stack-level: roles that read
secrets are bound only to allowed subjects (NSA-2.21), and a RoleBinding whose role the stack does not
define (and is not built in) is reported as unverifiable (NSA-3.4, advisory).
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
    show,
    text,
)

_VERSIONS = ("v1", "v1beta1", "v1alpha1")


def _types(*kinds: str) -> frozenset[str]:
    return frozenset(
        f"kubernetes:rbac.authorization.k8s.io/{v}:{k}{s}"
        for k in kinds
        for v in _VERSIONS
        for s in ("", "Patch")
    )


ROLE_TYPES = _types("Role", "ClusterRole")
BINDING_TYPES = _types("RoleBinding", "ClusterRoleBinding")
ROLE_BINDING_TYPES = frozenset(t for t in _types("RoleBinding") if not t.endswith("Patch"))
ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate"})
# Resources on which a '*' verb includes escalate/bind (roles) or impersonate (identities).
ESCALATION_TARGETS = frozenset(
    {"*", "roles", "clusterroles", "users", "groups", "serviceaccounts", "uids", "userextras/*"}
)
ESCALATION_GROUPS = frozenset({"", "rbac.authorization.k8s.io", "authentication.k8s.io"})
WEBHOOK_CONFIGS = frozenset({"mutatingwebhookconfigurations", "validatingwebhookconfigurations"})
WRITE_VERBS = frozenset({"create", "update", "patch", "*"})
BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})
POD_SHELL_SUBRESOURCES = frozenset({"pods/exec", "pods/attach", "pods/portforward"})
SECRET_READ_VERBS = frozenset({"get", "list", "watch", "*"})
SYSTEM_GROUPS = frozenset({"system:anonymous", "system:unauthenticated", "system:authenticated"})
# Built-in ClusterRoles that can read Secrets.
BUILTIN_SECRET_READERS = frozenset({"cluster-admin", "admin", "edit"})


def _strings(value: Any) -> list[str]:
    # show(): a deterministic rendering of garbage (never an object repr with its address)
    return [v if isinstance(v, str) else show(v) for v in as_list(value)]


def _rules(props: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for i, rule in enumerate(as_list(props.get("rules"))):
        if isinstance(rule, Mapping):
            yield i, rule


def _groups_match(rule: Mapping[str, Any], groups: frozenset[str]) -> bool:
    """The rule's apiGroups include one of `groups` (absent apiGroups = the core group)."""
    listed = _strings(rule.get("apiGroups")) or [""]
    return "*" in listed or bool(groups & set(listed))


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
        verbs = set(_strings(rule.get("verbs")))
        bad = sorted(ESCALATION_VERBS & verbs)
        if bad:
            report(f"rules[{i}].verbs grants {bad}: these let a subject gain permissions it does not hold")
        elif "*" in verbs:
            targets = sorted(set(_strings(rule.get("resources"))) & ESCALATION_TARGETS)
            if targets and _groups_match(rule, ESCALATION_GROUPS):
                report(
                    f"rules[{i}].verbs '*' on {targets} includes escalate/bind/impersonate: these let a "
                    "subject gain permissions it does not hold"
                )


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
            report(
                f"rules[{i}] grants {sorted(verbs & {'create', 'get', '*'})} on {hits}: "
                "no interactive access to running pods"
            )


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
        report(
            f"rules[{i}] lets '{name}' read Secrets (get/list/watch): only roles in "
            "allowedSecretReaderRoles may"
        )


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
    # Whatever roleRef.kind says (a misspelt or Role kind is still a grant of a role named cluster-admin).
    if text(get_path(ref, "name")).strip() != "cluster-admin":
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
        if name.strip().lower() in SYSTEM_GROUPS:
            report(
                f"subjects[{i}] is '{name}': never bind roles to anonymous/unauthenticated/all "
                "authenticated users"
            )


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
                report(
                    f"'{subject}' can read Secrets through {ref_kind} '{ref_name}' "
                    f"(binding '{text(get_path(b.props, 'metadata.name')) or b.name}'): not in "
                    "allowedSecretReaders",
                    b.urn,
                )


# ----------------------------------------------------------------------------- more role and binding checks
def _rule_targets(rule: Mapping[str, Any], wanted: frozenset[str]) -> list[str]:
    """Resources of `wanted` the rule names explicitly (a bare '*' is left to rbac-no-wildcards)."""
    return sorted(set(_strings(rule.get("resources"))) & wanted)


@GROUP.policy(
    name="rbac-no-nodes-proxy",
    description="Roles do not grant nodes/proxy (direct kubelet API access, bypassing audit and admission).",
    severity="high",
    nsa=("NSA-3.4",),
    resource_types=ROLE_TYPES,
    remediation_steps="Remove nodes/proxy; read node metrics through the metrics API instead.",
)
def _nodes_proxy(args: Any, report: ReportFn) -> None:
    for i, rule in _rules(args.props):
        hits = _rule_targets(rule, frozenset({"nodes/proxy", "nodes/*"}))
        if hits and _core_group(rule) and _strings(rule.get("verbs")):
            verbs = sorted(set(_strings(rule.get("verbs"))))
            report(
                f"rules[{i}] grants {verbs} on {hits}: this reaches the "
                "kubelet API (exec into any pod on the node) without audit or admission"
            )


@GROUP.policy(
    name="rbac-no-webhook-config-write",
    description="Roles cannot create or change mutating/validating admission webhook configurations.",
    severity="high",
    nsa=("NSA-3.4",),
    resource_types=ROLE_TYPES,
    remediation_steps="Keep webhook configuration writes to the platform's deployer; grant get/list only.",
)
def _webhook_write(args: Any, report: ReportFn) -> None:
    for i, rule in _rules(args.props):
        hits = _rule_targets(rule, WEBHOOK_CONFIGS)
        verbs = sorted(WRITE_VERBS & set(_strings(rule.get("verbs"))))
        if hits and verbs and _groups_match(rule, frozenset({"admissionregistration.k8s.io"})):
            report(
                f"rules[{i}] grants {verbs} on {hits}: a webhook sees (and can rewrite) every object "
                "admitted to the cluster"
            )


@GROUP.policy(
    name="rbac-no-csr-approval",
    description="Roles cannot approve certificate signing requests (certificatesigningrequests/approval plus "
    "approve on signers).",
    severity="high",
    nsa=("NSA-3.4",),
    resource_types=ROLE_TYPES,
    remediation_steps="Leave CSR approval to the controller manager; remove the approval and signers rules.",
)
def _csr_approval(args: Any, report: ReportFn) -> None:
    approval = signers = None
    certificates = frozenset({"certificates.k8s.io"})
    for i, rule in _rules(args.props):
        if not _groups_match(rule, certificates):
            continue
        resources = set(_strings(rule.get("resources")))
        verbs = set(_strings(rule.get("verbs")))
        if resources & {"certificatesigningrequests/approval", "*"} and verbs & {"update", "patch", "*"}:
            approval = i if approval is None else approval
        if resources & {"signers", "*"} and verbs & {"approve", "*"}:
            signers = i if signers is None else signers
    if approval is not None and signers is not None:
        report(
            f"rules[{approval}] and rules[{signers}] let a subject approve certificate signing requests: "
            "it can mint client certificates for any identity the signer issues"
        )


@GROUP.policy(
    name="rbac-binding-role-exists",
    description="Every RoleBinding references a Role or ClusterRole the stack defines, or a built-in "
    "ClusterRole; otherwise what it grants cannot be verified.",
    severity="medium",
    nsa=("NSA-3.4",),
    enforcement_level="advisory",
    stack=True,
    remediation_steps="Define the role in the same stack (so its rules are checked), or reference a built-in "
    "ClusterRole.",
)
def _binding_role_exists(args: Any, report: ReportFn) -> None:
    defined: set[tuple[str, str, str]] = set()
    for r in args.resources:
        if r.resource_type in ROLE_TYPES and not r.resource_type.endswith("Patch"):
            kind = r.resource_type.rsplit(":", 1)[-1]
            name = text(get_path(r.props, "metadata.name")) or r.name
            ns = namespace_of(r.props, r.provider) if kind == "Role" else ""
            defined.add((kind, ns, name))
    for b in args.resources:
        if b.resource_type not in ROLE_BINDING_TYPES:
            continue
        ref = b.props.get("roleRef")
        kind, name = text(get_path(ref, "kind")), text(get_path(ref, "name"))
        if not name:
            continue
        if kind == "ClusterRole" and (name in BUILTIN_CLUSTER_ROLES or name.startswith("system:")):
            continue
        ns = namespace_of(b.props, b.provider) if kind == "Role" else ""
        if (kind, ns, name) in defined:
            continue
        binding = text(get_path(b.props, "metadata.name")) or b.name
        where = f"Role '{ns}/{name}'" if kind == "Role" else f"{kind or 'role'} '{name}'"
        report(
            f"binding '{binding}' references {where}, which this stack does not define: what it grants "
            "is unverifiable",
            b.urn,
        )
