"""Pod Security Standards, restricted profile (newest Kubernetes release), one policy per PSS check.

Semantics follow kubernetes/pod-security-admission `policy/check_*.go` (see the field list in
shared/notes/nsa-checklist.md), applied to `containers`, `initContainers` and `ephemeralContainers` of every
pod-bearing kind (`workloads.py`). Documented exemptions: pods with `spec.os.name: windows` skip
allowPrivilegeEscalation, seccomp (restricted) and capabilities (restricted); pods with `spec.hostUsers:
false` (user namespaces) skip runAsNonRoot and runAsUser. In `*Patch` resources an absent field is not
managed by the patch, so "must be set" checks are skipped there.

Remediation (only at the `remediate` level) fills in MISSING hardening and never overrides an explicit
choice: an explicit `allowPrivilegeEscalation: true` stays and keeps failing validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import (
    PSS_URL,
    ReportFn,
    ResourceValidate,
    as_int,
    as_list,
    as_map,
    get_path,
    is_false,
    is_true,
    show,
    text,
    unwrap,
)
from nsa_cisa.render import safe_repr
from nsa_cisa.workloads import POD_BEARING_TYPES, Container, WorkloadView, as_view, workload_view

Check = Callable[[WorkloadView], Iterable[str]]

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
RESTRICTED_ADD_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
RESTRICTED_VOLUME_SOURCES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
        "image",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
        "net.ipv4.tcp_slow_start_after_idle",
        "net.ipv4.tcp_notsent_lowat",
    }
)
SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_FIELD_OK = frozenset({"RuntimeDefault", "Localhost"})
_SECCOMP_MSG = "must be RuntimeDefault or Localhost"
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
LIFECYCLE_HANDLERS = ("postStart", "preStop")


def _one_of(value: Any, allowed: frozenset[str]) -> bool:
    """Membership that tolerates garbage (a mapping where a string belongs is simply not allowed)."""
    return isinstance(value, str) and value in allowed


def _view_validator(check: Check) -> ResourceValidate:
    """A PSS check reads the uniform pod-spec view; resources without a pod spec pass."""

    def validate(args: Any, report: ReportFn) -> None:
        view = as_view(args)
        if view is None:
            return
        for message in check(view):
            report(message)

    return validate


GROUP = PolicyGroup(
    __name__, section="pod-security", resource_types=POD_BEARING_TYPES, url=PSS_URL, adapt=_view_validator
)


def _pss(*, name: str, description: str, pss: str, check_id: str, **declared: Any) -> Any:
    """`GROUP.policy` plus the PSS check this policy implements (framework specification and tags)."""
    return GROUP.policy(
        name=name,
        description=description,
        specification=f"Pod Security Standards (restricted, newest release): {pss}. {description}",
        tags=("pss:restricted", f"pss-check:{check_id}"),
        **declared,
    )


_PSS_STEPS = "See the Pod Security Standards restricted profile; "


def _sc_label(view: WorkloadView, c: Container | None, field: str) -> str:
    if c is None:
        return view.where(f"securityContext.{field}")
    return f"{c.label}: securityContext.{field}"


# ----------------------------------------------------------------------------- remediation


def remediate_pod_spec(args: Any, edit: Callable[[WorkloadView, dict[str, Any]], bool]) -> Any:
    """Apply `edit(view, plain_spec)` to a plain copy of the props; the new props if anything changed."""
    if not isinstance(args.props, Mapping):
        return None
    props = unwrap(args.props)
    view = workload_view(args.resource_type, props)
    if view is None or not isinstance(view.spec, dict) or not view.spec:
        return None
    return props if edit(view, view.spec) else None


def _plain_containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for list_name in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(list_name) or []:
            if isinstance(c, dict):
                yield c


def _plain_sc(obj: dict[str, Any]) -> dict[str, Any] | None:
    sc = obj.get("securityContext")
    if sc is None:
        sc = obj["securityContext"] = {}
    return sc if isinstance(sc, dict) else None


def _fill_ape(view: WorkloadView, spec: dict[str, Any]) -> bool:
    if view.is_windows:
        return False
    changed = False
    for c in _plain_containers(spec):
        sc = _plain_sc(c)
        if sc is None or sc.get("allowPrivilegeEscalation") is not None:
            continue
        add = as_list(get_path(sc, "capabilities.add"))
        if sc.get("privileged") is True or "SYS_ADMIN" in add or "CAP_SYS_ADMIN" in add:
            continue  # the API server rejects allowPrivilegeEscalation: false with these
        sc["allowPrivilegeEscalation"] = False
        changed = True
    return changed


def _fill_drop_all(view: WorkloadView, spec: dict[str, Any]) -> bool:
    if view.is_windows:
        return False
    changed = False
    for c in _plain_containers(spec):
        sc = _plain_sc(c)
        if sc is None:
            continue
        caps = sc.get("capabilities")
        if caps is None:
            caps = sc["capabilities"] = {}
        if not isinstance(caps, dict):
            continue
        drop = caps.get("drop")
        if drop is None:
            caps["drop"] = ["ALL"]
            changed = True
        elif isinstance(drop, list) and "ALL" not in drop:
            drop.append("ALL")
            changed = True
    return changed


def _fill_seccomp(view: WorkloadView, spec: dict[str, Any]) -> bool:
    if view.is_windows:
        return False
    sc = _plain_sc(spec)
    if sc is None or sc.get("seccompProfile") is not None:
        return False
    sc["seccompProfile"] = {"type": "RuntimeDefault"}
    return True


def remediate_allow_privilege_escalation(args: Any) -> Any:
    return remediate_pod_spec(args, _fill_ape)


def remediate_drop_all(args: Any) -> Any:
    return remediate_pod_spec(args, _fill_drop_all)


def remediate_seccomp(args: Any) -> Any:
    return remediate_pod_spec(args, _fill_seccomp)


# ----------------------------------------------------------------------------- baseline checks


@_pss(
    name="pss-windows-host-process",
    description="Windows HostProcess containers (full host access) are not allowed.",
    pss="HostProcess",
    check_id="windowsHostProcess",
    severity="critical",
    nsa=("NSA-1.11",),
    remediation_steps=_PSS_STEPS + "remove securityContext.windowsOptions.hostProcess (or set it false) on "
    "the pod and its containers.",
)
def check_windows_host_process(view: WorkloadView) -> Iterator[str]:
    if is_true(get_path(view.pod_security_context, "windowsOptions.hostProcess")):
        yield f"{_sc_label(view, None, 'windowsOptions.hostProcess')} is true: HostProcess is privileged"
    for c in view.containers():
        if is_true(get_path(c.security_context, "windowsOptions.hostProcess")):
            yield f"{_sc_label(view, c, 'windowsOptions.hostProcess')} is true: HostProcess is privileged"


@_pss(
    name="pss-host-namespaces",
    description="Pods must not share the host's network, PID or IPC namespaces.",
    pss="Host Namespaces",
    check_id="hostNamespaces",
    severity="high",
    nsa=("NSA-1.12", "NSA-1.13"),
    remediation_steps=_PSS_STEPS + "remove hostNetwork, hostPID and hostIPC from the pod spec (or set them "
    "false).",
)
def check_host_namespaces(view: WorkloadView) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if is_true(view.spec.get(field)):
            yield f"{view.where(field)} is true: pods must not share the node's namespaces"


@_pss(
    name="pss-privileged-containers",
    description="Privileged containers (including init and ephemeral containers) are not allowed.",
    pss="Privileged Containers",
    check_id="privileged",
    severity="critical",
    nsa=("NSA-1.11",),
    remediation_steps=_PSS_STEPS + "remove securityContext.privileged (or set it false) on every container.",
)
def check_privileged(view: WorkloadView) -> Iterator[str]:
    for c in view.containers():
        if is_true(c.security_context.get("privileged")):
            yield f"{_sc_label(view, c, 'privileged')} is true: privileged containers are forbidden"


def _cap_names(value: Any) -> list[str]:
    return [x if isinstance(x, str) else safe_repr(x) for x in as_list(value)]


@_pss(
    name="pss-capabilities-baseline",
    description="Containers may add only capabilities from the baseline set (never SYS_ADMIN, NET_ADMIN, "
    "NET_RAW, ...).",
    pss="Capabilities (baseline)",
    check_id="capabilities_baseline",
    severity="high",
    nsa=("NSA-1.16",),
    remediation_steps=_PSS_STEPS + "remove capabilities outside the baseline set from "
    "securityContext.capabilities.add.",
)
def check_capabilities_baseline(view: WorkloadView) -> Iterator[str]:
    for c in view.containers():
        added = _cap_names(get_path(c.security_context, "capabilities.add"))
        bad = [x for x in added if x not in BASELINE_CAPABILITIES]
        if bad:
            yield (
                f"{_sc_label(view, c, 'capabilities.add')} adds {sorted(bad)}: beyond the baseline set "
                f"{sorted(BASELINE_CAPABILITIES)}"
            )


def _volumes(view: WorkloadView) -> list[Mapping[str, Any]]:
    return [v for v in as_list(view.spec.get("volumes")) if isinstance(v, Mapping)]


def _volume_label(view: WorkloadView, i: int, vol: Mapping[str, Any]) -> str:
    name = text(vol.get("name"))
    return view.where(f"volumes[{i}]") + (f" '{name}'" if name else "")


@_pss(
    name="pss-host-path-volumes",
    description="hostPath volumes are not allowed.",
    pss="HostPath Volumes",
    check_id="hostPathVolumes",
    severity="high",
    nsa=("NSA-1.14",),
    remediation_steps=_PSS_STEPS + "replace hostPath volumes with emptyDir, configMap, secret, projected or "
    "a PVC.",
)
def check_host_path_volumes(view: WorkloadView) -> Iterator[str]:
    for i, vol in enumerate(as_list(view.spec.get("volumes"))):
        if isinstance(vol, Mapping) and vol.get("hostPath") is not None:
            yield f"{_volume_label(view, i, vol)} is a hostPath volume: host paths are forbidden"


@_pss(
    name="pss-host-ports",
    description="Containers must not bind host ports.",
    pss="Host Ports",
    check_id="hostPorts",
    severity="medium",
    nsa=("NSA-1.13",),
    remediation_steps=_PSS_STEPS + "remove ports[*].hostPort; expose the pod through a Service (ClusterIP + "
    "Ingress) instead.",
)
def check_host_ports(view: WorkloadView) -> Iterator[str]:
    for c in view.containers():
        for j, port in enumerate(as_list(c.spec.get("ports"))):
            if not isinstance(port, Mapping):
                continue
            host_port = port.get("hostPort")
            if host_port is not None and as_int(host_port) != 0:
                yield f"{c.label}: ports[{j}].hostPort is {show(host_port)}: host ports are forbidden"


@_pss(
    name="pss-apparmor",
    description="AppArmor must not be disabled: profile RuntimeDefault/Localhost (fields) or "
    "runtime/default, localhost/* (annotations); never Unconfined.",
    pss="AppArmor",
    check_id="appArmorProfile",
    severity="high",
    nsa=("NSA-1.18",),
    remediation_steps=_PSS_STEPS + "set securityContext.appArmorProfile.type RuntimeDefault (or Localhost) "
    "or remove it.",
)
def check_apparmor(view: WorkloadView) -> Iterator[str]:
    for key, value in view.annotations.items():
        if not (isinstance(key, str) and key.startswith(APPARMOR_ANNOTATION_PREFIX)):
            continue
        if not (
            value in ("", None, "runtime/default")
            or (isinstance(value, str) and value.startswith("localhost/"))
        ):
            yield (
                f"annotation {key}={show(value)}: AppArmor must be runtime/default or "
                "localhost/<profile>, never unconfined"
            )

    def bad_profile(profile: Any) -> bool:
        return profile is not None and not _one_of(get_path(profile, "type"), APPARMOR_FIELD_OK)

    pod_profile = view.pod_security_context.get("appArmorProfile")
    if bad_profile(pod_profile):
        yield (
            f"{_sc_label(view, None, 'appArmorProfile.type')} is {show(get_path(pod_profile, 'type'))}: "
            "must be RuntimeDefault or Localhost"
        )
    for c in view.containers():
        profile = c.security_context.get("appArmorProfile")
        if bad_profile(profile):
            yield (
                f"{_sc_label(view, c, 'appArmorProfile.type')} is {show(get_path(profile, 'type'))}: "
                "must be RuntimeDefault or Localhost"
            )


def _selinux_problems(opts: Any) -> list[str]:
    if opts is None:
        return []
    if not isinstance(opts, Mapping):
        return ["is not an object"]
    problems = []
    se_type = opts.get("type")
    if se_type is not None and not _one_of(se_type, SELINUX_TYPES):
        problems.append(f"type {show(se_type)} is not one of {sorted(t for t in SELINUX_TYPES if t)}")
    for field in ("user", "role"):
        if opts.get(field) not in (None, ""):
            problems.append(f"{field} {show(opts.get(field))} must be empty")
    return problems


@_pss(
    name="pss-selinux",
    description="SELinux type must be a container type (container_t, container_init_t, container_kvm_t, "
    "container_engine_t); custom SELinux user and role are not allowed.",
    pss="SELinux",
    check_id="seLinuxOptions",
    severity="high",
    nsa=("NSA-1.19",),
    remediation_steps=_PSS_STEPS + "remove seLinuxOptions.user/role and use an allowed seLinuxOptions.type "
    "(or none).",
)
def check_selinux(view: WorkloadView) -> Iterator[str]:
    for problem in _selinux_problems(view.pod_security_context.get("seLinuxOptions")):
        yield f"{_sc_label(view, None, 'seLinuxOptions')}: {problem}"
    for c in view.containers():
        for problem in _selinux_problems(c.security_context.get("seLinuxOptions")):
            yield f"{_sc_label(view, c, 'seLinuxOptions')}: {problem}"


@_pss(
    name="pss-proc-mount",
    description="The default masked /proc mount is required (procMount unset or Default).",
    pss="/proc Mount Type",
    check_id="procMount",
    severity="high",
    nsa=("NSA-1.11",),
    remediation_steps=_PSS_STEPS + "remove securityContext.procMount (or set it to Default).",
)
def check_proc_mount(view: WorkloadView) -> Iterator[str]:
    # Restricted: Default even for user-namespaced pods (baseline alone allows any with hostUsers: false).
    for c in view.containers():
        value = c.security_context.get("procMount")
        if value not in (None, "Default"):
            yield f"{_sc_label(view, c, 'procMount')} is {show(value)}: only Default (masked /proc) allowed"


def _seccomp_type(sc: Mapping[str, Any]) -> tuple[bool, Any]:
    """(is set, type) of a securityContext's seccompProfile."""
    profile = sc.get("seccompProfile")
    if profile is None:
        return False, None
    return True, get_path(profile, "type")


@_pss(
    name="pss-seccomp-not-unconfined",
    description="seccomp must not be disabled: any seccompProfile.type set must be RuntimeDefault or "
    "Localhost.",
    pss="Seccomp (baseline)",
    check_id="seccompProfile_baseline",
    severity="high",
    nsa=("NSA-1.17",),
    remediation_steps=_PSS_STEPS + "change seccompProfile.type Unconfined to RuntimeDefault (or a Localhost "
    "profile).",
)
def check_seccomp_baseline(view: WorkloadView) -> Iterator[str]:
    is_set, kind = _seccomp_type(view.pod_security_context)
    if is_set and not _one_of(kind, SECCOMP_OK):
        yield f"{_sc_label(view, None, 'seccompProfile.type')} is {show(kind)}: {_SECCOMP_MSG}"
    for c in view.containers():
        is_set, kind = _seccomp_type(c.security_context)
        if is_set and not _one_of(kind, SECCOMP_OK):
            yield f"{_sc_label(view, c, 'seccompProfile.type')} is {show(kind)}: {_SECCOMP_MSG}"


@_pss(
    name="pss-sysctls",
    description="Only the safe, namespaced sysctls of the newest Kubernetes release may be set.",
    pss="Sysctls",
    check_id="sysctls",
    severity="high",
    nsa=("NSA-1.10", "NSA-1.11"),
    remediation_steps=_PSS_STEPS + "remove securityContext.sysctls entries other than "
    f"{sorted(SAFE_SYSCTLS)}.",
)
def check_sysctls(view: WorkloadView) -> Iterator[str]:
    for i, sysctl in enumerate(as_list(view.pod_security_context.get("sysctls"))):
        name = get_path(sysctl, "name")
        if not _one_of(name, SAFE_SYSCTLS):
            where = view.where(f"securityContext.sysctls[{i}]")
            yield f"{where} sets {show(name)}: not a namespaced safe sysctl"


@_pss(
    name="pss-host-probes-lifecycle",
    description="Probes and lifecycle hooks must not target another host (httpGet.host / tcpSocket.host "
    "unset).",
    pss="Host Probes / Lifecycle Hooks",
    check_id="hostProbesAndHostLifecycle",
    severity="medium",
    nsa=("NSA-1.10",),
    remediation_steps=_PSS_STEPS + "remove the host field from probe and lifecycle httpGet/tcpSocket "
    "handlers.",
)
def check_host_probes(view: WorkloadView) -> Iterator[str]:
    for c in view.containers():
        handlers = [(p, as_map(c.spec.get(p))) for p in PROBES]
        handlers += [
            (f"lifecycle.{h}", as_map(get_path(c.spec, f"lifecycle.{h}"))) for h in LIFECYCLE_HANDLERS
        ]
        for where, handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = get_path(handler, f"{action}.host")
                if host not in (None, ""):
                    yield (
                        f"{c.label}: {where}.{action}.host is {show(host)}: probes/hooks must target "
                        "the pod itself"
                    )


# ----------------------------------------------------------------------------- restricted checks


@_pss(
    name="pss-restricted-volume-types",
    description="Volumes are limited to configMap, csi, downwardAPI, emptyDir, ephemeral, "
    "persistentVolumeClaim, projected, secret and image.",
    pss="Volume Types (restricted)",
    check_id="restrictedVolumes",
    severity="medium",
    nsa=("NSA-1.14",),
    remediation_steps=_PSS_STEPS + "mount storage through a PersistentVolumeClaim (or CSI) instead of "
    "inline volume sources.",
)
def check_restricted_volumes(view: WorkloadView) -> Iterator[str]:
    for i, vol in enumerate(as_list(view.spec.get("volumes"))):
        if not isinstance(vol, Mapping):
            continue
        bad = sorted(
            str(k)
            for k, v in vol.items()
            if k != "name" and v is not None and k not in RESTRICTED_VOLUME_SOURCES
        )
        if bad:
            yield (
                f"{_volume_label(view, i, vol)} uses {bad}: restricted pods may only use "
                f"{sorted(RESTRICTED_VOLUME_SOURCES)}"
            )


@_pss(
    name="pss-allow-privilege-escalation",
    description="Every container sets securityContext.allowPrivilegeEscalation: false (Windows pods exempt).",
    pss="Privilege Escalation",
    check_id="allowPrivilegeEscalation",
    severity="high",
    nsa=("NSA-1.15",),
    remediate=remediate_allow_privilege_escalation,
    remediation_steps=_PSS_STEPS + "set securityContext.allowPrivilegeEscalation: false on every container.",
)
def check_allow_privilege_escalation(view: WorkloadView) -> Iterator[str]:
    if view.is_windows:
        return
    for c in view.containers():
        value = c.security_context.get("allowPrivilegeEscalation")
        if value is None and view.partial:
            continue
        if not is_false(value):
            yield f"{_sc_label(view, c, 'allowPrivilegeEscalation')} is {show(value)}: must be set to false"


@_pss(
    name="pss-run-as-non-root",
    description="Containers must run as non-root: runAsNonRoot true on the pod or every container, never "
    "false (pods with hostUsers: false exempt).",
    pss="Running as Non-root",
    check_id="runAsNonRoot",
    severity="high",
    nsa=("NSA-1.1",),
    remediation_steps=_PSS_STEPS + "set spec.securityContext.runAsNonRoot: true and use an image with a "
    "non-root USER.",
)
def check_run_as_non_root(view: WorkloadView) -> Iterator[str]:
    if view.host_users_false:
        return  # user-namespaced pod: root in the pod is not root on the node
    pod_value = view.pod_security_context.get("runAsNonRoot")
    if pod_value is not None and not is_true(pod_value):
        yield f"{_sc_label(view, None, 'runAsNonRoot')} is {show(pod_value)}: must be true"
    pod_ok = is_true(pod_value)
    for c in view.containers():
        value = c.security_context.get("runAsNonRoot")
        if value is not None and not is_true(value):
            yield f"{_sc_label(view, c, 'runAsNonRoot')} is {show(value)}: must be true"
        elif value is None and not pod_ok and not view.partial:
            yield (
                f"{_sc_label(view, c, 'runAsNonRoot')} is not set and the pod does not set it: set "
                "runAsNonRoot: true on the pod or every container"
            )


@_pss(
    name="pss-run-as-user-not-root",
    description="No pod or container sets runAsUser: 0 (pods with hostUsers: false exempt).",
    pss="Running as Non-root user",
    check_id="runAsUser",
    severity="high",
    nsa=("NSA-1.2",),
    remediation_steps=_PSS_STEPS + "set runAsUser to a non-zero UID (e.g. 10001) or leave it unset with "
    "runAsNonRoot: true.",
)
def check_run_as_user(view: WorkloadView) -> Iterator[str]:
    if view.host_users_false:
        return
    if as_int(view.pod_security_context.get("runAsUser")) == 0:
        yield f"{_sc_label(view, None, 'runAsUser')} is 0: must not run as root"
    for c in view.containers():
        if as_int(c.security_context.get("runAsUser")) == 0:
            yield f"{_sc_label(view, c, 'runAsUser')} is 0: must not run as root"


@_pss(
    name="pss-seccomp-profile-required",
    description="A seccomp profile (RuntimeDefault or Localhost) is set on the pod or on every container "
    "(Windows pods exempt).",
    pss="Seccomp (restricted)",
    check_id="seccompProfile_restricted",
    severity="medium",
    nsa=("NSA-1.17",),
    remediate=remediate_seccomp,
    remediation_steps=_PSS_STEPS + "set spec.securityContext.seccompProfile.type: RuntimeDefault.",
)
def check_seccomp_restricted(view: WorkloadView) -> Iterator[str]:
    if view.is_windows:
        return
    pod_set, pod_type = _seccomp_type(view.pod_security_context)
    if pod_set and not _one_of(pod_type, SECCOMP_OK):
        yield f"{_sc_label(view, None, 'seccompProfile.type')} is {show(pod_type)}: {_SECCOMP_MSG}"
    pod_ok = pod_set and _one_of(pod_type, SECCOMP_OK)
    for c in view.containers():
        is_set, kind = _seccomp_type(c.security_context)
        if is_set and not _one_of(kind, SECCOMP_OK):
            yield f"{_sc_label(view, c, 'seccompProfile.type')} is {show(kind)}: {_SECCOMP_MSG}"
        elif not is_set and not pod_ok and not view.partial:
            yield (
                f"{_sc_label(view, c, 'seccompProfile')} is not set and the pod sets no valid profile: "
                "set seccompProfile.type RuntimeDefault (or Localhost) on the pod or every container"
            )


@_pss(
    name="pss-capabilities-drop-all",
    description="Every container drops ALL capabilities and adds back at most NET_BIND_SERVICE (Windows "
    "pods exempt).",
    pss="Capabilities (restricted)",
    check_id="capabilities_restricted",
    severity="medium",
    nsa=("NSA-1.16",),
    remediate=remediate_drop_all,
    remediation_steps=_PSS_STEPS + "set securityContext.capabilities.drop: [ALL] on every container; add "
    "only NET_BIND_SERVICE.",
)
def check_capabilities_restricted(view: WorkloadView) -> Iterator[str]:
    if view.is_windows:
        return
    for c in view.containers():
        caps = c.security_context.get("capabilities")
        drop = get_path(caps, "drop")
        if not (drop is None and view.partial) and "ALL" not in _cap_names(drop):
            yield f"{_sc_label(view, c, 'capabilities.drop')} does not contain ALL: drop every capability"
        bad = [x for x in _cap_names(get_path(caps, "add")) if x not in RESTRICTED_ADD_CAPABILITIES]
        if bad:
            yield (
                f"{_sc_label(view, c, 'capabilities.add')} adds {sorted(bad)}: only NET_BIND_SERVICE "
                "may be added"
            )


# ----------------------------------------------------------------------------- checks added later
# (declared last: the pack's policy order is public and these came after the others)


@_pss(
    name="pss-ulimits",
    description="Containers do not set securityContext.ulimits (baseline since Kubernetes 1.37).",
    pss="Ulimits",
    check_id="ulimits",
    severity="medium",
    nsa=("NSA-1.10", "NSA-2.10"),
    remediation_steps=_PSS_STEPS + "remove securityContext.ulimits; node-level limits (kubelet, "
    "pod-max-pids) apply.",
)
def check_ulimits(view: WorkloadView) -> Iterator[str]:
    # Baseline since 1.37: per-container ulimits are for the privileged level only.
    for c in view.containers():
        if c.security_context.get("ulimits") is not None:
            yield f"{_sc_label(view, c, 'ulimits')} is set: container ulimits are not allowed"


@_pss(
    name="pss-cgroup-options",
    description="Containers do not mount their cgroup tree writable (cgroupOptions.mountMode unset or "
    "ReadOnly).",
    pss="Cgroup options",
    check_id="cgroupOptions",
    severity="medium",
    nsa=("NSA-1.10", "NSA-1.11"),
    remediation_steps=_PSS_STEPS + "remove securityContext.cgroupOptions or set mountMode: ReadOnly.",
)
def check_cgroup_options(view: WorkloadView) -> Iterator[str]:
    for c in view.containers():
        mode = get_path(c.security_context, "cgroupOptions.mountMode")
        if c.security_context.get("cgroupOptions") is not None and mode not in (None, "ReadOnly"):
            yield (
                f"{_sc_label(view, c, 'cgroupOptions.mountMode')} is {show(mode)}: the cgroup tree must "
                "stay read-only"
            )
