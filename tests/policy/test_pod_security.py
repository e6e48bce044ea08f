"""Pod Security Standards (restricted) and the guide's workload extras, through the analyzer protocol,
for every pod-bearing kind and every container list."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardened_rke2.analysis.testing import UNKNOWN, analyze_resource
from tests.support.paths import PACK_DIR
from tests.support.policy_builders import (
    CONTAINER_LISTS,
    POD_TYPES,
    analyze,
    names,
    pod_spec_of,
    restricted_spec,
    wrap,
)

KINDS = list(POD_TYPES)
ADVISORY = {"read-only-root-filesystem", "image-tag-pinned", "secrets-not-in-env-vars"}
FIXTURES = Path(__file__).parent / "fixtures" / "pss"


def _sc(c: dict[str, Any]) -> dict[str, Any]:
    return c.setdefault("securityContext", {})


# (edit of one container, policies expected to fail). Empty set = the edit is allowed.
CONTAINER_CASES: dict[str, tuple[Any, set[str]]] = {
    "privileged": (lambda c: _sc(c).update(privileged=True), {"pss-privileged-containers"}),
    "privileged-false": (lambda c: _sc(c).update(privileged=False), set()),
    "add-sys-admin": (
        lambda c: _sc(c)["capabilities"].update(add=["SYS_ADMIN"]),
        {"pss-capabilities-baseline", "pss-capabilities-drop-all"},
    ),
    "add-chown": (lambda c: _sc(c)["capabilities"].update(add=["CHOWN"]), {"pss-capabilities-drop-all"}),
    "add-net-bind": (lambda c: _sc(c)["capabilities"].update(add=["NET_BIND_SERVICE"]), set()),
    "drop-not-all": (
        lambda c: _sc(c)["capabilities"].update(drop=["NET_RAW"]),
        {"pss-capabilities-drop-all"},
    ),
    "drop-lowercase-all": (
        lambda c: _sc(c)["capabilities"].update(drop=["all"]),
        {"pss-capabilities-drop-all"},
    ),
    "no-capabilities": (lambda c: _sc(c).pop("capabilities"), {"pss-capabilities-drop-all"}),
    "ape-true": (lambda c: _sc(c).update(allowPrivilegeEscalation=True), {"pss-allow-privilege-escalation"}),
    "ape-unset": (lambda c: _sc(c).pop("allowPrivilegeEscalation"), {"pss-allow-privilege-escalation"}),
    "run-as-non-root-false": (lambda c: _sc(c).update(runAsNonRoot=False), {"pss-run-as-non-root"}),
    "run-as-user-0": (lambda c: _sc(c).update(runAsUser=0), {"pss-run-as-user-not-root"}),
    "run-as-user-1000": (lambda c: _sc(c).update(runAsUser=1000), set()),
    "run-as-group-0": (lambda c: _sc(c).update(runAsGroup=0), {"non-root-groups"}),
    "seccomp-unconfined": (
        lambda c: _sc(c).update(seccompProfile={"type": "Unconfined"}),
        {"pss-seccomp-not-unconfined", "pss-seccomp-profile-required"},
    ),
    "seccomp-localhost": (
        lambda c: _sc(c).update(seccompProfile={"type": "Localhost", "localhostProfile": "p"}),
        set(),
    ),
    "apparmor-unconfined": (
        lambda c: _sc(c).update(appArmorProfile={"type": "Unconfined"}),
        {"pss-apparmor"},
    ),
    "apparmor-runtime-default": (lambda c: _sc(c).update(appArmorProfile={"type": "RuntimeDefault"}), set()),
    "selinux-spc": (lambda c: _sc(c).update(seLinuxOptions={"type": "spc_t"}), {"pss-selinux"}),
    "selinux-user": (lambda c: _sc(c).update(seLinuxOptions={"user": "sysadm_u"}), {"pss-selinux"}),
    "selinux-role": (lambda c: _sc(c).update(seLinuxOptions={"role": "sysadm_r"}), {"pss-selinux"}),
    "selinux-engine": (
        lambda c: _sc(c).update(seLinuxOptions={"type": "container_engine_t", "level": "s0"}),
        set(),
    ),
    "proc-mount-unmasked": (lambda c: _sc(c).update(procMount="Unmasked"), {"pss-proc-mount"}),
    "proc-mount-default": (lambda c: _sc(c).update(procMount="Default"), set()),
    "host-process": (
        lambda c: _sc(c).update(windowsOptions={"hostProcess": True}),
        {"pss-windows-host-process"},
    ),
    "host-port": (lambda c: c.update(ports=[{"containerPort": 8080, "hostPort": 8080}]), {"pss-host-ports"}),
    "host-port-zero": (lambda c: c.update(ports=[{"containerPort": 8080, "hostPort": 0}]), set()),
    "probe-host": (
        lambda c: c.update(livenessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}}),
        {"pss-host-probes-lifecycle"},
    ),
    "startup-probe-tcp-host": (
        lambda c: c.update(startupProbe={"tcpSocket": {"host": "db", "port": 5432}}),
        {"pss-host-probes-lifecycle"},
    ),
    "lifecycle-host": (
        lambda c: c.update(lifecycle={"preStop": {"httpGet": {"host": "x.example", "port": 80}}}),
        {"pss-host-probes-lifecycle"},
    ),
    "ulimits": (
        lambda c: _sc(c).update(ulimits=[{"name": "nofile", "soft": 1024, "hard": 2048}]),
        {"pss-ulimits"},
    ),
    "cgroup-writable": (
        lambda c: _sc(c).update(cgroupOptions={"mountMode": "Writable"}),
        {"pss-cgroup-options"},
    ),
    "cgroup-read-only": (lambda c: _sc(c).update(cgroupOptions={"mountMode": "ReadOnly"}), set()),
    "probe-no-host": (
        lambda c: c.update(readinessProbe={"httpGet": {"path": "/healthz", "port": 8080}}),
        set(),
    ),
    "rw-root": (lambda c: _sc(c).update(readOnlyRootFilesystem=False), {"read-only-root-filesystem"}),
    "rw-root-unset": (lambda c: _sc(c).pop("readOnlyRootFilesystem"), {"read-only-root-filesystem"}),
    "latest": (lambda c: c.update(image="nginx:latest"), {"image-tag-pinned"}),
    "untagged": (lambda c: c.update(image="registry.example.com/team/app"), {"image-tag-pinned"}),
    "registry-port-untagged": (lambda c: c.update(image="localhost:5000/app"), {"image-tag-pinned"}),
    "digest": (lambda c: c.update(image="registry.example.com/app@sha256:" + "a" * 64), set()),
    "env-password": (
        lambda c: c.update(env=[{"name": "DB_PASSWORD", "value": "s3cr3t-Passw0rd"}]),
        {"no-credentials-in-env"},
    ),
    "env-secret-ref": (
        lambda c: c.update(
            env=[{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
        ),
        {"secrets-not-in-env-vars"},  # no longer a literal credential; advisory: prefer a mounted file
    ),
    "env-from-secret": (
        lambda c: c.update(envFrom=[{"secretRef": {"name": "db"}}, {"configMapRef": {"name": "cfg"}}]),
        {"secrets-not-in-env-vars"},
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_restricted_spec_passes_every_policy_for_every_kind(kind: str) -> None:
    assert analyze(POD_TYPES[kind], wrap(kind, restricted_spec())) == []


def _spread(cases: list[str], lists: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every case in every container list, the kinds cycling through: each kind x list pair is covered
    several times without multiplying the run time by nine (the fixture tests below run every kind)."""
    combos = [(case, lst) for case in cases for lst in lists]
    return [(KINDS[(i // len(lists)) % len(KINDS)], lst, case) for i, (case, lst) in enumerate(combos)]


CONTAINER_COMBOS = _spread(list(CONTAINER_CASES), CONTAINER_LISTS)


def test_every_kind_meets_every_container_list() -> None:
    assert {(k, lst) for k, lst, _ in CONTAINER_COMBOS} == {
        (k, lst) for k in KINDS for lst in CONTAINER_LISTS
    }


@pytest.mark.parametrize(("kind", "list_name", "case"), CONTAINER_COMBOS)
def test_container_checks_for_every_kind_and_container_list(kind: str, list_name: str, case: str) -> None:
    edit, expected = CONTAINER_CASES[case]
    spec = restricted_spec()
    edit(spec[list_name][0])
    violations = analyze(POD_TYPES[kind], wrap(kind, spec))
    assert names(violations) == expected, [v.message for v in violations]
    for v in violations:
        # clear violations are mandatory; the judgement calls of the guide are advisory
        assert v.is_mandatory == (v.policy_name not in ADVISORY), v
        assert list_name in v.message  # the message points at the offending container list


@pytest.mark.parametrize("list_name", ["containers", "initContainers"])
def test_missing_resources_is_advisory(list_name: str) -> None:
    spec = restricted_spec()
    spec[list_name][0]["resources"] = {"limits": {"memory": "128Mi"}}
    violations = analyze(POD_TYPES["Deployment"], wrap("Deployment", spec))
    assert names(violations) == {"container-resources"}
    assert [v.enforcement_level for v in violations] == ["advisory"]
    assert "requests.cpu" in violations[0].message and "limits.memory" not in violations[0].message


def _pod(edit: Any) -> dict[str, Any]:
    spec = restricted_spec()
    edit(spec)
    return spec


POD_CASES: dict[str, tuple[Any, set[str]]] = {
    "host-network": (lambda s: s.update(hostNetwork=True), {"pss-host-namespaces"}),
    "host-pid": (lambda s: s.update(hostPID=True), {"pss-host-namespaces"}),
    "host-ipc": (lambda s: s.update(hostIPC=True), {"pss-host-namespaces"}),
    "host-network-false": (lambda s: s.update(hostNetwork=False, hostPID=False, hostIPC=False), set()),
    "host-path": (
        lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/var/run/docker.sock"}}),
        {"pss-host-path-volumes", "pss-restricted-volume-types"},
    ),
    "nfs": (
        lambda s: s["volumes"].append({"name": "n", "nfs": {"server": "nfs", "path": "/"}}),
        {"pss-restricted-volume-types"},
    ),
    "allowed-volumes": (
        lambda s: s["volumes"].extend(
            [
                {"name": "a", "configMap": {"name": "c"}},
                {"name": "b", "secret": {"secretName": "s"}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "p"}},
                {"name": "d", "projected": {"sources": []}},
                {"name": "e", "downwardAPI": {"items": []}},
                {"name": "f", "csi": {"driver": "d"}},
                {"name": "g", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                {"name": "i", "image": {"reference": "registry.example.com/data:1"}},
            ]
        ),
        set(),
    ),
    "unsafe-sysctl": (
        lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
        {"pss-sysctls"},
    ),
    "safe-sysctls": (
        lambda s: s["securityContext"].update(
            sysctls=[
                {"name": "net.ipv4.tcp_keepalive_time", "value": "60"},
                {"name": "net.ipv4.tcp_notsent_lowat", "value": "1"},
            ]
        ),
        set(),
    ),
    "pod-non-root-false": (
        lambda s: s["securityContext"].update(runAsNonRoot=False),
        {"pss-run-as-non-root"},
    ),
    "pod-non-root-unset": (lambda s: s["securityContext"].pop("runAsNonRoot"), {"pss-run-as-non-root"}),
    "pod-non-root-unset-all-containers-true": (
        lambda s: (
            s["securityContext"].pop("runAsNonRoot"),
            [
                c["securityContext"].update(runAsNonRoot=True)
                for lst in ("containers", "initContainers", "ephemeralContainers")
                for c in s[lst]
            ],
        ),
        set(),
    ),
    "pod-run-as-user-0": (lambda s: s["securityContext"].update(runAsUser=0), {"pss-run-as-user-not-root"}),
    "pod-seccomp-unset": (
        lambda s: s["securityContext"].pop("seccompProfile"),
        {"pss-seccomp-profile-required"},
    ),
    "pod-seccomp-unset-all-containers-set": (
        lambda s: (
            s["securityContext"].pop("seccompProfile"),
            [
                c["securityContext"].update(seccompProfile={"type": "RuntimeDefault"})
                for lst in ("containers", "initContainers", "ephemeralContainers")
                for c in s[lst]
            ],
        ),
        set(),
    ),
    "pod-seccomp-unconfined": (
        lambda s: s["securityContext"].update(seccompProfile={"type": "Unconfined"}),
        {"pss-seccomp-not-unconfined", "pss-seccomp-profile-required"},
    ),
    "pod-apparmor-unconfined": (
        lambda s: s["securityContext"].update(appArmorProfile={"type": "Unconfined"}),
        {"pss-apparmor"},
    ),
    "pod-selinux-role": (
        lambda s: s["securityContext"].update(seLinuxOptions={"role": "object_r"}),
        {"pss-selinux"},
    ),
    "pod-host-process": (
        lambda s: s["securityContext"].update(windowsOptions={"hostProcess": True}),
        {"pss-windows-host-process"},
    ),
    "fs-group-0": (lambda s: s["securityContext"].update(fsGroup=0), {"non-root-groups"}),
    "supplemental-group-0": (
        lambda s: s["securityContext"].update(supplementalGroups=[0]),
        {"non-root-groups"},
    ),
    "automount-true": (
        lambda s: s.update(automountServiceAccountToken=True),
        {"pod-service-account-token-not-automounted"},
    ),
    "automount-unset": (
        lambda s: s.pop("automountServiceAccountToken"),
        {"pod-service-account-token-not-automounted"},
    ),
    "windows-exemptions": (
        lambda s: (
            s.update(os={"name": "windows"}),
            s["securityContext"].pop("seccompProfile"),
            [
                c["securityContext"].pop(k)
                for lst in ("containers", "initContainers", "ephemeralContainers")
                for c in s[lst]
                for k in ("allowPrivilegeEscalation", "capabilities", "readOnlyRootFilesystem")
            ],
        ),
        set(),
    ),
    "windows-still-needs-non-root": (
        lambda s: (s.update(os={"name": "windows"}), s["securityContext"].update(runAsNonRoot=False)),
        {"pss-run-as-non-root"},
    ),
    "host-users-false-exempts-root": (
        lambda s: (s.update(hostUsers=False), s["securityContext"].update(runAsNonRoot=False, runAsUser=0)),
        set(),
    ),
    "host-users-false-still-masks-proc": (
        lambda s: (
            s.update(hostUsers=False),
            s["containers"][0]["securityContext"].update(procMount="Unmasked"),
        ),
        {"pss-proc-mount"},
    ),
}


@pytest.mark.parametrize(
    ("kind", "case"),
    [(KINDS[(i * 2) % len(KINDS)], c) for i, c in enumerate(POD_CASES)] + [(k, "host-path") for k in KINDS],
)
def test_pod_level_checks_for_every_kind(kind: str, case: str) -> None:
    edit, expected = POD_CASES[case]
    violations = analyze(POD_TYPES[kind], wrap(kind, _pod(edit)))
    assert names(violations) == expected, [v.message for v in violations]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("unconfined", {"pss-apparmor"}),
        ("runtime/default", set()),
        ("localhost/my-profile", set()),
    ],
)
def test_apparmor_annotations_on_the_pod_template(kind: str, value: str, expected: set[str]) -> None:
    ann = {"container.apparmor.security.beta.kubernetes.io/app": value}
    assert names(analyze(POD_TYPES[kind], wrap(kind, restricted_spec(), pod_annotations=ann))) == expected


@pytest.mark.parametrize(
    "resource_type",
    [
        "kubernetes:extensions/v1beta1:Deployment",
        "kubernetes:apps/v1beta2:DaemonSet",
        "kubernetes:apps/v1beta1:StatefulSet",
    ],
)
def test_older_api_versions_are_checked_too(resource_type: str) -> None:
    kind = resource_type.rsplit(":", 1)[-1]
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    # Still checked (these API versions are no longer served; that is reported on its own).
    got = names(analyze(resource_type, wrap(kind, spec)))
    assert got == {"pss-privileged-containers", "removed-api-versions"}


def test_cronjob_on_old_batch_api() -> None:
    spec = restricted_spec()
    spec["hostPID"] = True
    assert names(analyze("kubernetes:batch/v1beta1:CronJob", wrap("CronJob", spec))) == {
        "pss-host-namespaces",
        "removed-api-versions",
    }


def test_patch_resources_only_judge_fields_they_set() -> None:
    # A server-side-apply patch that only bumps the image: nothing it leaves out can be judged.
    patch: dict[str, Any] = {
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": "registry.example.com/a:2"}]}}
        },
    }
    assert analyze("kubernetes:apps/v1:DeploymentPatch", patch) == []
    patch["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    assert names(analyze("kubernetes:apps/v1:DeploymentPatch", patch)) == {"pss-privileged-containers"}
    patch["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx"
    assert "image-tag-pinned" in names(analyze("kubernetes:apps/v1:DeploymentPatch", patch))


def test_floats_from_the_wire_are_numbers() -> None:
    spec = restricted_spec()
    spec["securityContext"]["runAsUser"] = 0.0
    spec["containers"][0]["ports"] = [{"containerPort": 8080.0, "hostPort": 0.0}]
    assert names(analyze(POD_TYPES["Pod"], wrap("Pod", spec))) == {"pss-run-as-user-not-root"}
    spec["securityContext"]["runAsUser"] = 10001.0
    spec["containers"][0]["ports"][0]["hostPort"] = 8443.0
    assert names(analyze(POD_TYPES["Pod"], wrap("Pod", spec))) == {"pss-host-ports"}


def test_unknown_value_gives_the_preview_advisory_never_a_pass() -> None:
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["privileged"] = UNKNOWN
    violations = analyze(POD_TYPES["Deployment"], wrap("Deployment", spec))
    assert names(violations) == {"pss-privileged-containers"}
    (v,) = violations
    assert v.is_preview_unknown and v.enforcement_level == "advisory"


def test_unknown_image_only_blocks_the_image_policies() -> None:
    spec = restricted_spec()
    spec["containers"][0]["image"] = UNKNOWN
    violations = analyze(POD_TYPES["Deployment"], wrap("Deployment", spec))
    assert names(violations) == {"image-tag-pinned", "no-obsolete-cluster-components"}
    assert all(v.is_preview_unknown for v in violations)


def test_unknown_namespace_matters_only_where_a_decision_depends_on_it() -> None:
    # Compliant pod: only the namespace placement policy needs the namespace.
    props = wrap("Pod", restricted_spec(), namespace=UNKNOWN)
    violations = analyze(POD_TYPES["Pod"], props)
    assert names(violations) == {"workload-not-in-system-namespace", "workload-not-in-default-namespace"}
    assert all(v.is_preview_unknown for v in violations)
    # A violating pod: whether its namespace is exempt cannot be known, so no silent pass either.
    spec = restricted_spec()
    spec["hostNetwork"] = True
    violations = analyze(POD_TYPES["Pod"], wrap("Pod", spec, namespace=UNKNOWN))
    assert names(violations) == {
        "workload-not-in-system-namespace",
        "workload-not-in-default-namespace",
        "pss-host-namespaces",
    }
    assert all(v.is_preview_unknown for v in violations)


def test_exempt_system_namespace_skips_pod_security_but_not_placement() -> None:
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    assert names(analyze(POD_TYPES["DaemonSet"], wrap("DaemonSet", spec, namespace="kube-system"))) == {
        "workload-not-in-system-namespace"
    }
    # exemptNamespaces is configurable per policy
    config: dict[str, Any] = {"pss-privileged-containers": {"exemptNamespaces": []}}
    got = names(
        analyze(POD_TYPES["DaemonSet"], wrap("DaemonSet", spec, namespace="kube-system"), config=config)
    )
    assert got == {"workload-not-in-system-namespace", "pss-privileged-containers"}


def test_provider_default_namespace_counts_as_the_workload_namespace() -> None:
    props = wrap("Deployment", restricted_spec(), namespace=None)
    assert names(analyze(POD_TYPES["Deployment"], props)) == {"workload-not-in-default-namespace"}
    result = analyze_resource(
        PACK_DIR,
        POD_TYPES["Deployment"],
        props,
        provider={"type": "pulumi:providers:kubernetes", "name": "team", "props": {"namespace": "team-a"}},
    )
    assert result.violations == []


# ----------------------------------------------------------------------------- remediation

REMEDIATE = {
    "pss-allow-privilege-escalation": "remediate",
    "pss-capabilities-drop-all": "remediate",
    "pss-seccomp-profile-required": "remediate",
    "pod-service-account-token-not-automounted": "remediate",
    "read-only-root-filesystem": "remediate",
}


def _strip_safe_subset(spec: dict[str, Any]) -> dict[str, Any]:
    spec.pop("automountServiceAccountToken")
    spec["securityContext"].pop("seccompProfile")
    for lst in CONTAINER_LISTS:
        for c in spec[lst]:
            c["securityContext"] = {}
    return spec


@pytest.mark.parametrize("kind", KINDS)
def test_remediation_fills_in_the_safe_subset(kind: str) -> None:
    props = wrap(kind, _strip_safe_subset(restricted_spec()))
    before = analyze(POD_TYPES[kind], props)
    assert names(before) == set(REMEDIATE)
    result = analyze_resource(PACK_DIR, POD_TYPES[kind], props, config=REMEDIATE)
    assert result.violations == []
    (fixed,) = result.remediations.values()
    spec = pod_spec_of(kind, fixed)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for lst in CONTAINER_LISTS:
        for c in spec[lst]:
            assert c["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
    # Unrelated inputs are untouched.
    assert fixed["metadata"] == props["metadata"]


def test_remediation_never_overrides_an_explicit_choice() -> None:
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    spec["automountServiceAccountToken"] = True
    result = analyze_resource(PACK_DIR, POD_TYPES["Pod"], wrap("Pod", spec), config=REMEDIATE)
    assert result.remediations == {}
    by_level = {(v.policy_name, v.enforcement_level) for v in result.violations}
    # A violation at the remediate level is reported as mandatory (SDK behaviour).
    assert by_level == {
        ("pss-allow-privilege-escalation", "mandatory"),
        ("pod-service-account-token-not-automounted", "mandatory"),
    }


def test_remediation_skips_privileged_containers_and_windows_pods() -> None:
    spec = _strip_safe_subset(restricted_spec())
    spec["containers"][0]["securityContext"] = {"privileged": True}
    result = analyze_resource(PACK_DIR, POD_TYPES["Pod"], wrap("Pod", spec), config=REMEDIATE)
    (fixed,) = result.remediations.values()
    assert "allowPrivilegeEscalation" not in fixed["spec"]["containers"][0]["securityContext"]
    assert fixed["spec"]["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
    win = _strip_safe_subset(restricted_spec())
    win["os"] = {"name": "windows"}
    result = analyze_resource(PACK_DIR, POD_TYPES["Pod"], wrap("Pod", win), config=REMEDIATE)
    (fixed,) = result.remediations.values()
    assert "seccompProfile" not in fixed["spec"]["securityContext"]
    assert fixed["spec"]["automountServiceAccountToken"] is False


def test_remediation_is_off_unless_configured() -> None:
    result = analyze_resource(PACK_DIR, POD_TYPES["Pod"], wrap("Pod", _strip_safe_subset(restricted_spec())))
    assert result.remediations == {}
    assert names(result.violations) == set(REMEDIATE)


# ----------------------------------------------------------------------------- PSS-style fixtures

# PSA runs restricted = baseline + restricted checks, so a baseline failure also fails its restricted twin.
ALSO_FAILS = {
    "hostPathVolumes": {"restrictedVolumes"},
    "capabilities_baseline": {"capabilities_restricted"},
    "seccompProfile_baseline": {"seccompProfile_restricted"},
}


def _pss_checks(violations: list[Any]) -> set[str]:
    return {t.split(":", 1)[1] for v in violations for t in v.tags if t.startswith("pss-check:")}


def _fixtures(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*.yaml"))


@pytest.mark.parametrize("path", _fixtures("fail"), ids=lambda p: p.stem)
def test_pss_fail_fixtures_fail_exactly_their_check(path: Path) -> None:
    pod = yaml.safe_load(path.read_text(encoding="utf-8"))
    check = path.stem.rstrip("0123456789")
    violations = analyze(POD_TYPES["Pod"], pod)
    assert _pss_checks(violations) == {check} | ALSO_FAILS.get(check, set())
    assert all(v.is_mandatory for v in violations if any(t.startswith("pss-check:") for t in v.tags))


@pytest.mark.parametrize("path", _fixtures("pass"), ids=lambda p: p.stem)
def test_pss_pass_fixtures_pass_the_restricted_profile(path: Path) -> None:
    pod = yaml.safe_load(path.read_text(encoding="utf-8"))
    violations = analyze(POD_TYPES["Pod"], pod)
    assert _pss_checks(violations) == set()
    # The guide's extras still advise (no namespace, untagged image, writable root filesystem, ...), but a
    # restricted-compliant pod is never blocked.
    assert [v for v in violations if v.is_mandatory] == []
    assert {"workload-not-in-default-namespace", "image-tag-pinned"} <= names(violations)


def test_fixture_sets_are_not_empty() -> None:
    assert len(_fixtures("fail")) >= 30 and len(_fixtures("pass")) >= 10


@pytest.mark.parametrize("kind", KINDS)
def test_fail_fixtures_fail_the_same_way_inside_every_kind(kind: str) -> None:
    for path in _fixtures("fail"):
        pod = yaml.safe_load(path.read_text(encoding="utf-8"))
        ann = pod["metadata"].get("annotations")
        props = wrap(kind, copy.deepcopy(pod["spec"]), pod_annotations=ann)
        check = path.stem.rstrip("0123456789")
        assert _pss_checks(analyze(POD_TYPES[kind], props)) == {check} | ALSO_FAILS.get(check, set()), (
            path.stem
        )


# ----------------------------------------------------------------------------- sandboxed runtimes (NSA-1.22)


@pytest.mark.parametrize(
    ("labels", "config", "runtime", "expected"),
    [
        ({}, None, None, set()),  # nothing is sensitive: not applicable
        ({"hardened-rke2.io/sensitive": "true"}, None, None, {"sandboxed-runtime-for-sensitive-workloads"}),
        ({"hardened-rke2.io/sensitive": "true"}, None, "gvisor", set()),
        (
            {},
            {"sandboxed-runtime-for-sensitive-workloads": {"sensitiveNamespaces": ["app"]}},
            "runc",
            {"sandboxed-runtime-for-sensitive-workloads"},
        ),
        (
            {},
            {"sandboxed-runtime-for-sensitive-workloads": {"sensitiveNamespaces": ["payments"]}},
            None,
            set(),
        ),
    ],
)
def test_sandboxed_runtime_for_sensitive_workloads(
    labels: dict[str, str], config: Any, runtime: str | None, expected: set[str]
) -> None:
    spec = restricted_spec()
    if runtime:
        spec["runtimeClassName"] = runtime
    props = wrap("Deployment", spec)
    props["metadata"]["labels"] = labels
    violations = analyze(POD_TYPES["Deployment"], props, config=config)
    assert names(violations) == expected
    assert all(v.enforcement_level == "advisory" for v in violations)


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s["securityContext"].update(seccompProfile={"type": {"nested": "garbage"}}),
        lambda s: s["securityContext"].update(appArmorProfile={"type": ["RuntimeDefault"]}),
        lambda s: s["securityContext"].update(seLinuxOptions={"type": {"x": 1}}),
        lambda s: s["securityContext"].update(sysctls=[{"name": {"x": 1}}]),
    ],
)
def test_wrongly_shaped_values_are_violations_not_crashes(edit: Any) -> None:
    # Found by the fuzz test: a mapping where a string belongs once raised inside a policy.
    violations = analyze(POD_TYPES["Pod"], wrap("Pod", _pod(edit)))
    assert violations and all(v.is_mandatory for v in violations)
    assert not any("could not evaluate" in v.message for v in violations)


def test_remediation_keeps_secrets_secret_and_unknowns_unknown() -> None:
    from hardened_rke2.analysis.inputs import input_from_dict
    from hardened_rke2.analysis.session import PolicyPackSession
    from hardened_rke2.analysis.wire import SECRET_SIG, SIG_KEY

    spec = _strip_safe_subset(restricted_spec())
    secret = {SIG_KEY: SECRET_SIG, "value": "hunter2hunter2"}
    spec["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": secret}]
    spec["initContainers"][0]["image"] = UNKNOWN
    resource = input_from_dict({"type": POD_TYPES["Pod"], "name": "p", "props": wrap("Pod", spec)})
    with PolicyPackSession(PACK_DIR, config=REMEDIATE) as pack:
        new, diagnostics, records, _ = pack.remediate(resource, resource.props)
    assert new is not None and diagnostics == [] and len(records) == len(REMEDIATE)
    assert new["spec"]["containers"][0]["env"][0]["value"] == secret
    assert new["spec"]["initContainers"][0]["image"] == UNKNOWN
    assert new["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize(
    "resource_type",
    ["kubernetes:batch/v1:CronJob", "kubernetes:batch/v1beta1:CronJob", "kubernetes:batch/v1:CronJobPatch"],
)
@pytest.mark.parametrize("field", ["runAsGroup", "fsGroup", "supplementalGroups"])
def test_non_root_groups_in_a_cron_jobs_job_template(resource_type: str, field: str) -> None:
    spec = restricted_spec()
    spec["securityContext"][field] = [1000, 0] if field == "supplementalGroups" else 0
    violations = analyze(resource_type, wrap("CronJob", spec))
    (v,) = [v for v in violations if v.policy_name == "non-root-groups"]
    assert v.message.startswith(f"spec.jobTemplate.spec.template.spec.securityContext.{field}")


# ----------------------------------------------------------------------------- exact messages
# What a user reads: every case above, with the message and tags of each pod-security violation, pinned in
# fixtures/pss/messages.json (found missing by mutation testing: docs/mutation-testing.md). After a
# deliberate wording change, regenerate with PSS_MESSAGES_UPDATE=1 and review the diff.

MESSAGES = FIXTURES / "messages.json"


def _pss_findings(kind: str, spec: dict[str, Any], **kw: Any) -> list[list[Any]]:
    violations = analyze(POD_TYPES[kind], wrap(kind, spec, **kw))
    return sorted(
        [v.policy_name, v.message, sorted(t for t in v.tags if t.startswith("pss"))]
        for v in violations
        if v.policy_name.startswith("pss-")
    )


def _all_findings() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for case, (edit, _) in CONTAINER_CASES.items():
        spec = restricted_spec()
        edit(spec["initContainers"][0])
        found[f"container/{case}"] = _pss_findings("Deployment", spec)
    for case, (edit, _) in POD_CASES.items():
        found[f"pod/{case}"] = _pss_findings("Pod", _pod(edit))
        found[f"deployment/{case}"] = _pss_findings("Deployment", _pod(edit))
    for case, edit in ODD_SHAPES.items():
        found[f"odd/{case}"] = _pss_findings("Pod", _pod(edit))
    # Other annotations, whatever their value, are not AppArmor's (and do not stop the scan).
    others = {f"{p}.example.com/profile": "unconfined" for p in "abcyz"}
    for value in ("unconfined", "localhost/custom", "runtime/default", ""):
        annotation = {**others, "container.apparmor.security.beta.kubernetes.io/app": value}
        found[f"apparmor-annotation/{value}"] = _pss_findings(
            "Deployment", restricted_spec(), pod_annotations=annotation
        )
    return found


# Shapes the tables above do not reach: an unnamed volume, non-string list entries, a mapping or list where
# a string belongs (the fuzz test found these once raising inside a policy).
ODD_SHAPES: dict[str, Any] = {
    "unnamed-host-path": lambda s: s["volumes"].append({"hostPath": {"path": "/"}}),
    "capability-not-a-string": lambda s: _sc(s["containers"][0])["capabilities"].update(add=[5, "NET_RAW"]),
    "seccomp-type-mapping": lambda s: s["securityContext"].update(seccompProfile={"type": {"nested": "x"}}),
    "apparmor-type-list": lambda s: s["securityContext"].update(appArmorProfile={"type": ["RuntimeDefault"]}),
    "selinux-not-a-mapping": lambda s: s["securityContext"].update(seLinuxOptions="spc_t"),
    "selinux-type-mapping": lambda s: _sc(s["containers"][0]).update(seLinuxOptions={"type": {"x": 1}}),
    "sysctl-name-mapping": lambda s: s["securityContext"].update(sysctls=[{"name": {"x": 1}}]),
    "host-port-string": lambda s: s["containers"][0].update(ports=[{"hostPort": "8080"}]),
}


def test_every_case_reports_its_exact_messages() -> None:
    found = _all_findings()
    if os.environ.get("PSS_MESSAGES_UPDATE"):
        MESSAGES.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(MESSAGES.read_text(encoding="utf-8"))
    assert found.keys() == expected.keys()
    for case, findings in found.items():
        assert findings == expected[case], case


def _remediated_contexts(spec: dict[str, Any], policy: str) -> dict[str, Any] | None:
    result = analyze_resource(PACK_DIR, POD_TYPES["Pod"], wrap("Pod", spec), config={policy: "remediate"})
    if not result.remediations:
        return None
    (fixed,) = result.remediations.values()
    out = {"pod": fixed["spec"].get("securityContext")}
    for lst in CONTAINER_LISTS:
        for c in fixed["spec"][lst]:
            out[c["name"]] = c.get("securityContext")
    return out


def _remediation_spec() -> dict[str, Any]:
    spec = _strip_safe_subset(restricted_spec())
    spec["containers"].append({"name": "bare", "image": "registry.example.com/a:1"})  # no securityContext
    spec["containers"].append(
        {
            "name": "net",
            "image": "registry.example.com/a:1",
            "securityContext": {"capabilities": {"drop": ["NET_RAW"]}},
        }
    )
    spec["initContainers"][0]["securityContext"] = {"capabilities": {"add": ["CAP_SYS_ADMIN"]}}
    spec["ephemeralContainers"][0]["securityContext"] = {
        "capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}
    }
    return spec


def test_each_remediation_fills_only_its_own_field_and_keeps_what_is_there() -> None:
    spec = _remediation_spec()
    assert _remediated_contexts(spec, "pss-allow-privilege-escalation") == {
        "pod": spec["securityContext"],
        "app": {"allowPrivilegeEscalation": False},
        "bare": {"allowPrivilegeEscalation": False},
        "net": {"capabilities": {"drop": ["NET_RAW"]}, "allowPrivilegeEscalation": False},
        # The API server rejects allowPrivilegeEscalation: false next to SYS_ADMIN (either spelling).
        "init": {"capabilities": {"add": ["CAP_SYS_ADMIN"]}},
        "debug": {"capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}},
    }
    assert _remediated_contexts(spec, "pss-capabilities-drop-all") == {
        "pod": spec["securityContext"],
        "app": {"capabilities": {"drop": ["ALL"]}},
        "bare": {"capabilities": {"drop": ["ALL"]}},
        "net": {"capabilities": {"drop": ["NET_RAW", "ALL"]}},
        "init": {"capabilities": {"add": ["CAP_SYS_ADMIN"], "drop": ["ALL"]}},
        "debug": {"capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}},
    }
    fixed = _remediated_contexts(spec, "pss-seccomp-profile-required")
    assert fixed is not None
    assert fixed["pod"] == {**spec["securityContext"], "seccompProfile": {"type": "RuntimeDefault"}}
    assert fixed["app"] == {} and fixed["bare"] is None  # containers are left alone
    no_pod_context = _remediation_spec()
    del no_pod_context["securityContext"]
    fixed = _remediated_contexts(no_pod_context, "pss-seccomp-profile-required")
    assert fixed is not None and fixed["pod"] == {"seccompProfile": {"type": "RuntimeDefault"}}


@pytest.mark.parametrize(
    "policy", ["pss-allow-privilege-escalation", "pss-capabilities-drop-all", "pss-seccomp-profile-required"]
)
def test_windows_pods_are_never_remediated(policy: str) -> None:
    spec = _remediation_spec()
    spec["os"] = {"name": "windows"}
    assert _remediated_contexts(spec, policy) is None


def test_nothing_to_fill_is_no_remediation() -> None:
    assert _remediated_contexts(restricted_spec(), "pss-capabilities-drop-all") is None
    assert _remediated_contexts(restricted_spec(), "pss-allow-privilege-escalation") is None
    assert _remediated_contexts(restricted_spec(), "pss-seccomp-profile-required") is None


def test_every_pss_policy_names_its_check_in_its_specification_and_tags() -> None:
    from hardened_rke2.analysis.session import PolicyPackSession

    pss = [p for p in PolicyPackSession(PACK_DIR).policies if p.name.startswith("pss-")]
    assert len(pss) >= 19
    for p in pss:
        spec = p.framework.get("specification")
        assert spec.startswith("Pod Security Standards (restricted, newest release): "), p.name
        assert spec.endswith(f". {p.description}"), p.name
        assert "pss:restricted" in p.tags and any(t.startswith("pss-check:") for t in p.tags), p.name
    by_name = {p.name: p for p in pss}
    assert by_name["pss-privileged-containers"].framework.get("specification") == (
        "Pod Security Standards (restricted, newest release): Privileged Containers. "
        "Privileged containers (including init and ephemeral containers) are not allowed."
    )


def test_a_fresh_pack_load_reports_pod_security_violations(fresh_pack: None) -> None:
    # The policies are built when the pack is imported; this test imports it anew (no cached session),
    # so a fault in how a check is wrapped or declared fails here.
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    violations = [v for v in analyze(POD_TYPES["Pod"], wrap("Pod", spec)) if v.policy_name.startswith("pss-")]
    assert [(v.policy_name, v.message) for v in violations] == [
        (
            "pss-privileged-containers",
            "containers[0] 'app': securityContext.privileged is true: privileged containers are forbidden",
        )
    ]
    assert {"pss:restricted", "pss-check:privileged", "NSA-1.11"} <= set(violations[0].tags)
