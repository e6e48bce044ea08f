"""RBAC policies: roles (wildcards, escalation verbs, pod exec, secrets) and bindings (cluster-admin,
system groups), plus the stack-level check of who is bound to roles that read Secrets."""

from __future__ import annotations

from typing import Any

import pytest

from hardened_rke2.analysis.testing import analyze_stack
from tests.support.paths import PACK_DIR
from tests.support.policy_builders import analyze, names

ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
RB = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"

POD_READER = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}


def role(*rules: dict[str, Any], name: str = "pod-reader", ns: str | None = "team-a") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta,
        "rules": list(rules),
    }


def binding(
    role_kind: str, role_name: str, *subjects: dict[str, Any], name: str = "b", ns: str | None = "team-a"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": list(subjects),
    }


USER = {"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (POD_READER, set()),
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, {"rbac-no-wildcards"}),
        ({"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}, {"rbac-no-wildcards"}),
        ({"apiGroups": ["*"], "resources": ["deployments"], "verbs": ["get"]}, {"rbac-no-wildcards"}),
        ({"nonResourceURLs": ["*"], "verbs": ["get"]}, {"rbac-no-wildcards"}),
        (
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "verbs": ["escalate"],
            },
            {"rbac-no-escalation-verbs"},
        ),
        (
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["bind"]},
            {"rbac-no-escalation-verbs"},
        ),
        ({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}, {"rbac-no-escalation-verbs"}),
        ({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}, {"rbac-no-pod-exec"}),
        ({"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["get"]}, {"rbac-no-pod-exec"}),
        ({"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]}, {"rbac-no-pod-exec"}),
        ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}, set()),
        (
            {"apiGroups": ["apps"], "resources": ["pods/exec"], "verbs": ["create"]},
            set(),
        ),  # not the core group
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}, {"rbac-secrets-read-restricted"}),
        (
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]},
            {"rbac-secrets-read-restricted"},
        ),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "update"]}, set()),
        (
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["app-tls"], "verbs": ["get"]},
            set(),
        ),
        (
            {"apiGroups": [""], "resources": ["*"], "verbs": ["*"]},
            # '*' verbs on '*' include escalate, bind and impersonate
            {
                "rbac-no-wildcards",
                "rbac-no-pod-exec",
                "rbac-secrets-read-restricted",
                "rbac-no-escalation-verbs",
            },
        ),
    ],
)
def test_role_rules(rule: dict[str, Any], expected: set[str]) -> None:
    for rtype, props in ((ROLE, role(rule)), (CROLE, {**role(rule, ns=None), "kind": "ClusterRole"})):
        violations = analyze(rtype, props)
        assert names(violations) == expected, [v.message for v in violations]
        assert all(v.is_mandatory for v in violations)


def test_secret_reader_roles_can_be_allowed_by_config() -> None:
    rule = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}
    config = {
        "rbac-secrets-read-restricted": {"allowedSecretReaderRoles": ["team-a/cert-*", "external-secrets"]}
    }
    assert analyze(ROLE, role(rule, name="cert-sync"), config=config) == []
    assert names(analyze(ROLE, role(rule, name="cert-sync", ns="team-b"), config=config)) == {
        "rbac-secrets-read-restricted"
    }
    assert (
        analyze(CROLE, {**role(rule, name="external-secrets", ns=None), "kind": "ClusterRole"}, config=config)
        == []
    )


@pytest.mark.parametrize(
    ("props", "config", "expected"),
    [
        (binding("Role", "pod-reader", USER), None, set()),
        (binding("ClusterRole", "cluster-admin", USER), None, {"rbac-no-cluster-admin-binding"}),
        (
            binding("ClusterRole", "cluster-admin", USER, name="break-glass"),
            {"rbac-no-cluster-admin-binding": {"allowedClusterAdminBindings": ["break-*"]}},
            set(),
        ),
        (
            binding("ClusterRole", "view", {"kind": "Group", "name": "system:unauthenticated"}),
            None,
            {"rbac-no-system-group-binding"},
        ),
        (
            binding("ClusterRole", "view", {"kind": "Group", "name": "system:authenticated"}),
            None,
            {"rbac-no-system-group-binding"},
        ),
        (
            binding("ClusterRole", "view", {"kind": "User", "name": "system:anonymous"}),
            None,
            {"rbac-no-system-group-binding"},
        ),
        (
            binding("ClusterRole", "view", {"kind": "Group", "name": "system:serviceaccounts:team-a"}),
            None,
            set(),
        ),
    ],
)
def test_bindings(props: dict[str, Any], config: Any, expected: set[str]) -> None:
    for rtype, body in (
        (RB, props),
        (CRB, {**props, "kind": "ClusterRoleBinding", "metadata": {"name": props["metadata"]["name"]}}),
    ):
        violations = analyze(rtype, body, config=config)
        assert names(violations) == expected
        assert all(v.is_mandatory for v in violations)


SECRET_RULE = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}
ALLOW_ROLE = {"rbac-secrets-read-restricted": {"allowedSecretReaderRoles": ["team-a/*"]}}


def _stack(*subjects: dict[str, Any], role_ref: tuple[str, str] = ("Role", "reader")) -> list[dict[str, Any]]:
    return [
        {"type": ROLE, "name": "reader", "props": role(SECRET_RULE, name="reader")},
        {"type": RB, "name": "rb", "props": binding(role_ref[0], role_ref[1], *subjects, name="rb")},
    ]


def _secret_binding_findings(resources: list[dict[str, Any]], config: dict[str, Any]) -> list[Any]:
    return analyze_stack(PACK_DIR, resources, config).by_policy("rbac-secret-readers-allowed")


def test_secret_reading_roles_are_bound_only_to_allowed_subjects() -> None:
    sa = {"kind": "ServiceAccount", "name": "syncer"}
    config = {
        **ALLOW_ROLE,
        "rbac-secret-readers-allowed": {"allowedSecretReaders": ["ServiceAccount:team-a/*"]},
    }
    assert _secret_binding_findings(_stack(sa), config) == []
    (v,) = _secret_binding_findings(_stack(USER), config)
    assert "User:jane" in v.message and v.resource_name == "rb" and v.is_mandatory
    # Built-in roles that read Secrets count too.
    (v,) = _secret_binding_findings(_stack(USER, role_ref=("ClusterRole", "edit")), config)
    assert "edit" in v.message
    assert _secret_binding_findings(_stack(USER, role_ref=("ClusterRole", "view")), config) == []


# -- issue 11 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}, {"rbac-no-nodes-proxy"}),
        (
            {"apiGroups": [""], "resources": ["nodes/*"], "verbs": ["create"]},
            {"rbac-no-nodes-proxy", "rbac-no-wildcards"},
        ),
        ({"apiGroups": [""], "resources": ["nodes", "nodes/metrics"], "verbs": ["get"]}, set()),
        (
            {
                "apiGroups": ["admissionregistration.k8s.io"],
                "resources": ["mutatingwebhookconfigurations"],
                "verbs": ["create", "patch"],
            },
            {"rbac-no-webhook-config-write"},
        ),
        (
            {
                "apiGroups": ["admissionregistration.k8s.io"],
                "resources": ["validatingwebhookconfigurations"],
                "verbs": ["update"],
            },
            {"rbac-no-webhook-config-write"},
        ),
        (
            {
                "apiGroups": ["admissionregistration.k8s.io"],
                "resources": ["validatingwebhookconfigurations"],
                "verbs": ["get", "list", "watch"],
            },
            set(),
        ),
        # '*' verbs reach escalate/bind (roles) and impersonate (identities)
        (
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["*"]},
            {"rbac-no-escalation-verbs", "rbac-no-wildcards"},
        ),
        (
            {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["*"]},
            {"rbac-no-escalation-verbs", "rbac-no-wildcards"},
        ),
        ({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}, {"rbac-no-wildcards"}),
        ({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}, {"rbac-no-escalation-verbs"}),
    ],
)
def test_more_dangerous_grants(rule: dict[str, Any], expected: set[str]) -> None:
    for rtype, props in ((ROLE, role(rule)), (CROLE, {**role(rule, ns=None), "kind": "ClusterRole"})):
        violations = analyze(rtype, props)
        assert names(violations) == expected, [v.message for v in violations]


APPROVAL = {
    "apiGroups": ["certificates.k8s.io"],
    "resources": ["certificatesigningrequests/approval"],
    "verbs": ["update"],
}
SIGNERS = {
    "apiGroups": ["certificates.k8s.io"],
    "resources": ["signers"],
    "resourceNames": ["kubernetes.io/kube-apiserver-client"],
    "verbs": ["approve"],
}


def test_csr_approval_needs_both_rules() -> None:
    assert names(analyze(CROLE, {**role(APPROVAL, SIGNERS, ns=None), "kind": "ClusterRole"})) == {
        "rbac-no-csr-approval"
    }
    assert analyze(CROLE, {**role(APPROVAL, ns=None), "kind": "ClusterRole"}) == []
    assert analyze(CROLE, {**role(SIGNERS, ns=None), "kind": "ClusterRole"}) == []


@pytest.mark.parametrize("kind", ["ClusterRole", "Role", "clusterrole", ""])
@pytest.mark.parametrize("btype", [RB, CRB])
def test_cluster_admin_whatever_the_ref_kind(kind: str, btype: str) -> None:
    props = binding(kind, "cluster-admin", USER, ns="team-a" if btype == RB else None)
    assert "rbac-no-cluster-admin-binding" in names(analyze(btype, props))


@pytest.mark.parametrize(
    "group", ["system:anonymous", "system:unauthenticated", "system:authenticated", "System:Anonymous "]
)
@pytest.mark.parametrize(("btype", "ref_kind"), [(RB, "Role"), (RB, "ClusterRole"), (CRB, "ClusterRole")])
def test_system_groups_in_any_binding(group: str, btype: str, ref_kind: str) -> None:
    subject = {"kind": "Group", "name": group}
    props = binding(ref_kind, "viewer", subject, ns="team-a" if btype == RB else None)
    assert "rbac-no-system-group-binding" in names(analyze(btype, props))


def _stack_names(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    result = analyze_stack(PACK_DIR, resources)
    return [
        (v.policy_name, v.enforcement_level)
        for v in result.violations
        if v.policy_name == "rbac-binding-role-exists"
    ]


def test_role_binding_to_a_missing_role_is_unverifiable() -> None:
    missing = {"type": RB, "name": "b", "props": binding("Role", "ghost", USER)}
    assert _stack_names([missing]) == [("rbac-binding-role-exists", "advisory")]
    missing_cr = {"type": RB, "name": "b2", "props": binding("ClusterRole", "ghost-cr", USER, name="b2")}
    assert _stack_names([missing_cr]) == [("rbac-binding-role-exists", "advisory")]


def test_role_binding_to_a_defined_or_builtin_role_passes() -> None:
    resources = [
        {"type": ROLE, "name": "r", "props": role(POD_READER, name="reader")},
        {"type": RB, "name": "b", "props": binding("Role", "reader", USER)},
        {"type": RB, "name": "b2", "props": binding("ClusterRole", "view", USER, name="b2")},
        {
            "type": RB,
            "name": "b3",
            "props": binding("ClusterRole", "system:aggregate-to-view", USER, name="b3"),
        },
    ]
    assert _stack_names(resources) == []


def test_garbage_in_rules_gives_deterministic_messages() -> None:
    rule = {"apiGroups": [{"x": 1}], "resources": [["*"]], "verbs": [{"*": True}, 3]}
    messages = [v.message for v in analyze(ROLE, role(rule))]
    assert all("0x" not in m and "Proxy" not in m for m in messages), messages
    assert messages == [v.message for v in analyze(ROLE, role(rule))]


# ----------------------------------------------------------------------------- exact messages
# (mutation testing, docs/mutation-testing.md): each finding names the rule or subject and why.


def test_role_messages_name_the_rule_and_what_it_grants() -> None:
    bad = {
        "apiGroups": ["", "apps"],
        "resources": ["pods/exec", "secrets", "*"],
        "verbs": ["get", "bind", "escalate", "*"],
    }
    narrowed = {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["x"], "verbs": ["get"]}
    other_group = {"apiGroups": ["apps"], "resources": ["pods/exec"], "verbs": ["create"]}
    rules: list[Any] = [POD_READER, bad, narrowed, other_group, "not-a-rule"]
    props = role(*rules, name="ops")
    assert [(v.policy_name, v.message) for v in analyze(ROLE, props)] == [
        ("rbac-no-wildcards", "rules[1].verbs contains ['*']: grant explicit verbs only"),
        ("rbac-no-wildcards", "rules[1].resources contains ['*']: grant explicit resources only"),
        (
            "rbac-no-escalation-verbs",
            "rules[1].verbs grants ['bind', 'escalate']: these let a subject gain permissions it does not "
            "hold",
        ),
        (
            "rbac-no-pod-exec",
            "rules[1] grants ['*', 'get'] on ['*', 'pods/exec']: no interactive access to running pods",
        ),
        (
            "rbac-secrets-read-restricted",
            "rules[1] lets 'team-a/ops' read Secrets (get/list/watch): only roles in "
            "allowedSecretReaderRoles may",
        ),
    ]


@pytest.mark.parametrize(
    ("rule", "reads"),
    [
        ({"resources": ["secrets"], "verbs": ["list"]}, True),  # no apiGroups: the core group
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["watch"]}, True),
        ({"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["get"]}, False),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete"]}, False),
        ({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}, False),
    ],
)
def test_which_cluster_role_rules_read_secrets(rule: dict[str, Any], reads: bool) -> None:
    props = {**role(rule, name="reader", ns=None), "kind": "ClusterRole"}
    found = [v.message for v in analyze(CROLE, props) if v.policy_name == "rbac-secrets-read-restricted"]
    expected = (
        "rules[0] lets 'reader' read Secrets (get/list/watch): only roles in allowedSecretReaderRoles may"
    )
    assert found == ([expected] if reads else [])


def test_binding_messages_name_the_binding_and_every_subject() -> None:
    sa = {"kind": "ServiceAccount", "name": "sa", "namespace": "ops"}
    props = binding(
        "ClusterRole",
        "cluster-admin",
        USER,
        sa,
        {"kind": "Group", "name": "system:authenticated"},
        {"name": "system:anonymous"},
        name="admins",
    )
    assert [(v.policy_name, v.message) for v in analyze(RB, props)] == [
        (
            "rbac-no-cluster-admin-binding",
            "binding 'admins' grants cluster-admin to ['User:jane', 'ServiceAccount:ops/sa', "
            "'Group:system:authenticated', '?:system:anonymous']: bind a least-privilege role instead",
        ),
        (
            "rbac-no-system-group-binding",
            "subjects[2] is 'system:authenticated': never bind roles to anonymous/unauthenticated/all "
            "authenticated users",
        ),
        (
            "rbac-no-system-group-binding",
            "subjects[3] is 'system:anonymous': never bind roles to anonymous/unauthenticated/all "
            "authenticated users",
        ),
    ]
    # Whatever roleRef.kind says (issue 11): a namespaced Role named cluster-admin is reported too, as a
    # binding to cluster-admin (a look-alike of the built-in role is as suspicious as the role itself).
    assert names(analyze(RB, binding("Role", "cluster-admin", USER))) == {"rbac-no-cluster-admin-binding"}


def test_secret_reader_binding_message_names_subject_role_and_binding() -> None:
    config = {**ALLOW_ROLE, "rbac-secret-readers-allowed": {"allowedSecretReaders": []}}
    (v,) = _secret_binding_findings(_stack(USER), config)
    assert v.message.startswith("'User:jane' can read Secrets through Role '")
    assert v.message.endswith("(binding 'rb'): not in allowedSecretReaders")
    # A subject allowed by its bare name, or a ServiceAccount by namespace/name, is not reported.
    sa = {"kind": "ServiceAccount", "name": "syncer"}
    bare = {**ALLOW_ROLE, "rbac-secret-readers-allowed": {"allowedSecretReaders": ["jane"]}}
    assert _secret_binding_findings(_stack(USER), bare) == []
    (v,) = _secret_binding_findings(_stack(sa), config)
    assert v.message.startswith("'ServiceAccount:team-a/syncer' can read Secrets")


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha1"])
def test_every_rbac_api_version_and_patch_is_checked(version: str, fresh_pack: None) -> None:
    # The resource types are computed when the pack is imported: this test imports it anew.
    def rbac_findings(rtype: str, props: dict[str, Any]) -> set[str]:
        return {n for n in names(analyze(rtype, props)) if n.startswith("rbac-")}  # not removed-api-versions

    wild = {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}
    cluster_role = {**role(wild, ns=None), "kind": "ClusterRole"}
    anonymous = binding("ClusterRole", "view", {"kind": "Group", "name": "system:anonymous"})
    for kind, props, expected in (
        ("Role", role(wild), "rbac-no-wildcards"),
        ("ClusterRole", cluster_role, "rbac-no-wildcards"),
        ("RoleBinding", anonymous, "rbac-no-system-group-binding"),
        ("ClusterRoleBinding", anonymous, "rbac-no-system-group-binding"),
    ):
        for suffix in ("", "Patch"):
            rtype = f"kubernetes:rbac.authorization.k8s.io/{version}:{kind}{suffix}"
            assert rbac_findings(rtype, props) == {expected}, rtype


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        # A rule of another API group does not stop the scan of the rules after it.
        (
            [
                {"apiGroups": ["apps"], "resources": ["pods/exec"], "verbs": ["create"]},
                {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
            ],
            "rules[1] grants ['create'] on ['pods/exec']: no interactive access to running pods",
        ),
        (
            [{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]}],
            "rules[0] grants ['get'] on ['pods/*']: no interactive access to running pods",
        ),
        ([{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["list", "watch"]}], None),
    ],
)
def test_pod_shell_rules(rules: list[dict[str, Any]], message: str | None) -> None:
    found = [v.message for v in analyze(ROLE, role(*rules)) if v.policy_name == "rbac-no-pod-exec"]
    assert found == ([message] if message else [])


def test_a_narrowed_secret_rule_does_not_hide_a_broad_one() -> None:
    narrowed = {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["tls"], "verbs": ["get"]}
    found = [
        v.message
        for v in analyze(ROLE, role(narrowed, SECRET_RULE, name="r"))
        if v.policy_name == "rbac-secrets-read-restricted"
    ]
    assert found == [
        "rules[1] lets 'team-a/r' read Secrets (get/list/watch): only roles in allowedSecretReaderRoles may"
    ]


def test_cluster_admin_reference_without_a_kind_counts() -> None:
    props = binding("", "cluster-admin", USER, name="admins")
    assert names(analyze(RB, props)) == {"rbac-no-cluster-admin-binding"}


def _readers(resources: list[dict[str, Any]]) -> list[str]:
    config = {"rbac-secret-readers-allowed": {"allowedSecretReaders": []}}
    return [v.message for v in _secret_binding_findings(resources, config)]


def test_stack_secret_readers_by_role_kind_name_and_binding() -> None:
    unnamed_role = role(SECRET_RULE)
    del unnamed_role["metadata"]["name"]  # named by the resource's name
    reader_cr = {**role(SECRET_RULE, name="cr-reader", ns=None), "kind": "ClusterRole"}
    crb = {**binding("ClusterRole", "cr-reader", USER, ns=None), "kind": "ClusterRoleBinding"}
    del crb["metadata"]["name"]
    resources = [
        {"type": ROLE, "name": "reader", "props": unnamed_role},
        {"type": CROLE, "name": "cr", "props": reader_cr},
        {"type": RB, "name": "b-view", "props": binding("ClusterRole", "view", USER, name="b-view")},
        {"type": RB, "name": "b-reader-res", "props": binding("Role", "reader", USER, name="b-reader")},
        {"type": CRB, "name": "crb-res", "props": crb},
        # A RoleBinding may grant a ClusterRole's rules inside its namespace.
        {"type": RB, "name": "rb-cr", "props": binding("ClusterRole", "cr-reader", USER, name="rb-cr")},
    ]
    assert sorted(_readers(resources)) == [
        "'User:jane' can read Secrets through ClusterRole 'cr-reader' (binding 'crb-res'): not in "
        "allowedSecretReaders",
        "'User:jane' can read Secrets through ClusterRole 'cr-reader' (binding 'rb-cr'): not in "
        "allowedSecretReaders",
        "'User:jane' can read Secrets through Role 'reader' (binding 'b-reader'): not in "
        "allowedSecretReaders",
    ]


def test_a_role_patch_does_not_define_a_secret_reader() -> None:
    patch_type = "kubernetes:rbac.authorization.k8s.io/v1:RolePatch"
    resources = [
        {"type": patch_type, "name": "reader", "props": role(SECRET_RULE, name="reader")},
        {"type": RB, "name": "rb", "props": binding("Role", "reader", USER, name="rb")},
    ]
    assert _readers(resources) == []
