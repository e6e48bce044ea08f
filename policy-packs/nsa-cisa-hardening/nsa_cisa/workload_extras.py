"""The guide's workload recommendations beyond the Pod Security Standards.

Read-only root filesystem (NSA-1.6/1.7), non-root groups (NSA-1.3), no automounted service-account
token (NSA-1.20), CPU/memory requests and limits (NSA-2.9), images from allowed registries and pinned
images (NSA-1.8). Kinds and container lists as in `workloads.py`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import (
    ReportFn,
    as_int,
    as_list,
    get_path,
    is_false,
    is_true,
    matches_any,
    namespace_of,
    show,
    text,
)
from nsa_cisa.pod_security import remediate_pod_spec
from nsa_cisa.workloads import POD_BEARING_TYPES, WorkloadView, as_view

SERVICE_ACCOUNT_TYPES = frozenset(
    {
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:core/v1:ServiceAccountPatch",
    }
)

GROUP = PolicyGroup(__name__, section="pod-security", resource_types=POD_BEARING_TYPES)


def _views(args: Any) -> WorkloadView | None:
    return as_view(args)


# ----------------------------------------------------------------------------- read-only root filesystem


@GROUP.policy(
    name="read-only-root-filesystem",
    description="Every container runs with a read-only root filesystem; writable paths are mounted volumes.",
    severity="medium",
    nsa=("NSA-1.6", "NSA-1.7"),
    enforcement_level="advisory",
    remediate=lambda args: remediate_pod_spec(args, _fill_read_only_root),
    remediation_steps="Set securityContext.readOnlyRootFilesystem: true on every container and mount an "
    "emptyDir volume at each path the application writes (guide, Appendix B).",
)
def _read_only_root(args: Any, report: ReportFn) -> None:
    view = _views(args)
    if view is None or view.is_windows:  # not supported for Windows containers
        return
    for c in view.containers():
        value = c.security_context.get("readOnlyRootFilesystem")
        if value is None and view.partial:
            continue
        if not is_true(value):
            report(
                f"{c.label}: securityContext.readOnlyRootFilesystem is {show(value)}: must be true "
                "(mount an emptyDir for paths the container writes)"
            )


def _fill_read_only_root(view: WorkloadView, spec: dict[str, Any]) -> bool:
    if view.is_windows:
        return False
    changed = False
    for list_name in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(list_name) or []:
            if not isinstance(c, dict):
                continue
            if c.get("securityContext") is None:
                c["securityContext"] = {}
            sc = c["securityContext"]
            if isinstance(sc, dict) and sc.get("readOnlyRootFilesystem") is None:
                sc["readOnlyRootFilesystem"] = True
                changed = True
    return changed


# Advisory: the guide recommends it where the application allows (it can break applications that write to
# their image); configure `mandatory` per stack, or `remediate` to fill it in.


# ----------------------------------------------------------------------------- non-root groups


@GROUP.policy(
    name="non-root-groups",
    description="No pod or container runs with group id 0 (runAsGroup, fsGroup, supplementalGroups).",
    severity="medium",
    nsa=("NSA-1.3",),
    remediation_steps="Set runAsGroup and fsGroup to a non-zero group id (e.g. 10001) and remove 0 from "
    "supplementalGroups.",
)
def _non_root_groups(args: Any, report: ReportFn) -> None:
    view = _views(args)
    if view is None:
        return
    sc = view.pod_security_context
    for field in ("runAsGroup", "fsGroup"):
        if as_int(sc.get(field)) == 0:
            report(f"{view.where('securityContext.' + field)} is 0: use a non-root group id")
    if 0 in [as_int(g) for g in as_list(sc.get("supplementalGroups"))]:
        report(f"{view.where('securityContext.supplementalGroups')} contains 0: drop the root group")
    for c in view.containers():
        if as_int(c.security_context.get("runAsGroup")) == 0:
            report(f"{c.label}: securityContext.runAsGroup is 0: use a non-root group id")


# ----------------------------------------------------------------------------- service-account token


@GROUP.policy(
    name="pod-service-account-token-not-automounted",
    description="Pods set automountServiceAccountToken: false unless they need the Kubernetes API.",
    severity="medium",
    nsa=("NSA-1.20",),
    enforcement_level="advisory",
    remediate=lambda args: remediate_pod_spec(args, _fill_automount),
    remediation_steps="Set spec.automountServiceAccountToken: false (pod template); pods that need the API "
    "use a dedicated ServiceAccount with least-privilege RBAC and an exemption.",
)
def _automount(args: Any, report: ReportFn) -> None:
    view = _views(args)
    if view is None:
        return
    value = view.spec.get("automountServiceAccountToken")
    if value is None and view.partial:
        return
    if not is_false(value):
        sa = text(view.spec.get("serviceAccountName")) or "default"
        report(
            f"{view.where('automountServiceAccountToken')} is {show(value)}: pods that do not call the "
            f"Kubernetes API should set it false (service account '{sa}')"
        )


def _fill_automount(view: WorkloadView, spec: dict[str, Any]) -> bool:
    if spec.get("automountServiceAccountToken") is not None:
        return False
    spec["automountServiceAccountToken"] = False
    return True


@GROUP.policy(
    name="service-account-token-not-automounted",
    description="ServiceAccounts set automountServiceAccountToken: false so pods get no API token by "
    "default.",
    severity="low",
    nsa=("NSA-1.20",),
    enforcement_level="advisory",
    resource_types=SERVICE_ACCOUNT_TYPES,
    remediation_steps="Set automountServiceAccountToken: false on the ServiceAccount.",
)
def _service_account(args: Any, report: ReportFn) -> None:
    value = args.props.get("automountServiceAccountToken")
    if value is None and args.resource_type.endswith("Patch"):
        return
    if not is_false(value):
        report(
            f"automountServiceAccountToken is {show(value)}: set it false on the ServiceAccount so pods "
            "must opt in to an API token"
        )


# ----------------------------------------------------------------------------- resources

DEFAULT_REQUIRED_RESOURCES = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]


@GROUP.policy(
    name="container-resources",
    description="Every container declares CPU and memory requests and limits.",
    severity="low",
    nsa=("NSA-2.9",),
    section="network",
    enforcement_level="advisory",
    config_schema={
        "requiredResources": {
            "type": "array",
            "items": {"type": "string", "enum": DEFAULT_REQUIRED_RESOURCES},
            "default": DEFAULT_REQUIRED_RESOURCES,
            "description": "Which of requests/limits cpu/memory each container must set.",
        }
    },
    remediation_steps="Set resources.requests and resources.limits (cpu, memory) on every container; a "
    "namespace LimitRange only supplies defaults.",
)
def _resources(args: Any, report: ReportFn) -> None:
    view = _views(args)
    if view is None:
        return
    required = [r for r in as_list(args.get_config().get("requiredResources")) if isinstance(r, str)]
    # Ephemeral containers cannot declare resources (the API forbids it).
    for c in view.containers(("containers", "initContainers")):
        resources = c.spec.get("resources")
        if resources is None and view.partial:
            continue
        missing = [r for r in required if get_path(resources, r) in (None, "")]
        if missing:
            report(f"{c.label}: resources {missing} not set: declare CPU/memory requests and limits")


# ----------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_image(ref: str) -> ImageRef:
    """Docker reference normalisation: `nginx` -> docker.io/library/nginx, tag and digest split off."""
    rest, _, digest = ref.strip().partition("@")
    last_slash = rest.rfind("/")
    tag = ""
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), remainder
    else:
        registry, repository = "docker.io", rest
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        registry = "docker.io"
        if "/" not in repository:
            repository = f"library/{repository}"
    return ImageRef(registry, repository, tag, digest)


def _normalise_entry(entry: str) -> str:
    first, _, rest = entry.partition("/")
    if "." in first or ":" in first or first == "localhost":
        host = first.lower()
        host = "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host
        return f"{host}/{rest}" if rest else host
    return f"docker.io/{entry}"  # a Docker Hub namespace such as 'bitnami'


def registry_allowed(image: ImageRef, allowed: list[str]) -> bool:
    """Entries are registry hosts or repository prefixes (path-segment boundaries), or globs."""
    for entry in allowed:
        pattern = entry.strip().rstrip("/")
        if not pattern:
            continue
        if any(ch in pattern for ch in "*?["):
            if fnmatch.fnmatchcase(image.name, pattern):
                return True
            continue
        norm = _normalise_entry(pattern)
        if image.name == norm or image.name.startswith(norm + "/"):
            return True
    return False


def _images(view: WorkloadView) -> Iterator[tuple[str, str]]:
    for c in view.containers():
        image = c.spec.get("image")
        if image is None:
            continue
        yield c.label, image if isinstance(image, str) else repr(image)


@GROUP.policy(
    name="image-allowed-registries",
    description="Container images come only from the configured registries (not enforced while the list is "
    "empty).",
    severity="high",
    nsa=("NSA-1.8",),
    shared_knobs=["allowedRegistries"],
    remediation_steps="Mirror the image into an allowed (scanned, trusted) registry and reference it there, "
    "or extend allowedRegistries in the pack settings.",
)
def _allowed_registries(args: Any, report: ReportFn) -> None:
    view = _views(args)
    if view is None:
        return
    configured = as_list(args.get_config().get("allowedRegistries"))
    allowed = [r for r in configured if isinstance(r, str) and r.strip()]
    if not allowed:
        args.not_applicable("allowedRegistries is empty: set it in the pack settings to enforce registries")
    for label, image in _images(view):
        ref = parse_image(image)
        if not registry_allowed(ref, allowed):
            report(f"{label}: image {show(image)} ({ref.name}) is not from an allowed registry {allowed}")


_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")


@GROUP.policy(
    name="image-tag-pinned",
    description="Container images are pinned: no :latest or untagged images (optionally: digests required).",
    severity="medium",
    nsa=("NSA-1.8",),
    enforcement_level="advisory",
    config_schema={
        "requireDigest": {
            "type": "boolean",
            "default": False,
            "description": "Require every image to be pinned by digest (image@sha256:...).",
        }
    },
    remediation_steps="Reference a scanned, immutable version: image:1.2.3 or, better, "
    "image@sha256:<digest>.",
)
def _pinned(args: Any, report: ReportFn) -> None:
    view = _views(args)
    if view is None:
        return
    require_digest = is_true(args.get_config().get("requireDigest"))
    for label, image in _images(view):
        ref = parse_image(image)
        if ref.digest:
            if not _DIGEST_RE.match(ref.digest):
                report(f"{label}: image {show(image)} has a malformed digest")
            continue
        if require_digest:
            report(f"{label}: image {show(image)} is not pinned by digest (@sha256:...)")
        elif not ref.tag:
            report(f"{label}: image {show(image)} has no tag (means :latest): pin a version or digest")
        elif ref.tag == "latest":
            report(f"{label}: image {show(image)} uses :latest: pin a version or digest")


# Advisory: pinning is a preview-time proxy for the guide's image scanning (NSA-1.8), not the control itself.


# ----------------------------------------------------------------------------- sandboxed runtimes

SENSITIVE_LABEL = "hardened-rke2.io/sensitive"
DEFAULT_SANDBOX_RUNTIME_CLASSES = ["gvisor", "runsc", "kata", "kata-qemu", "kata-clh", "kata-fc"]


@GROUP.policy(
    name="sandboxed-runtime-for-sensitive-workloads",
    description=f"Workloads labelled {SENSITIVE_LABEL}=true or in sensitiveNamespaces use a sandboxed "
    "RuntimeClass "
    "(gVisor, Kata).",
    severity="low",
    nsa=("NSA-1.22",),
    enforcement_level="advisory",
    config_schema={
        "sensitiveNamespaces": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Namespaces (globs) whose workloads are sensitive.",
        },
        "sandboxRuntimeClasses": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_SANDBOX_RUNTIME_CLASSES,
            "description": "RuntimeClass names backed by a sandbox (gVisor/Kata).",
        },
    },
    remediation_steps="Install a sandboxed runtime (gVisor or Kata Containers) with a RuntimeClass and set "
    "spec.runtimeClassName on sensitive workloads.",
)
def _sandbox(args: Any, report: ReportFn) -> None:
    view = _views(args)
    if view is None:
        return
    cfg = args.get_config()
    namespaces = [n for n in as_list(cfg.get("sensitiveNamespaces")) if isinstance(n, str)]
    labels = [get_path(args.props, "metadata.labels"), view.pod_metadata.get("labels")]
    labelled = any(is_true(get_path(lbl, [SENSITIVE_LABEL])) for lbl in labels)
    if not labelled and not namespaces:
        args.not_applicable("no sensitiveNamespaces configured and the workload is not labelled sensitive")
    if not labelled and not matches_any(namespace_of(args.props, args.provider), namespaces):
        return
    runtime = view.spec.get("runtimeClassName")
    allowed = [r for r in as_list(cfg.get("sandboxRuntimeClasses")) if isinstance(r, str)]
    if runtime is None and view.partial:
        return
    if runtime not in allowed:
        report(
            f"{view.where('runtimeClassName')} is {show(runtime)}: sensitive workloads run in a sandboxed "
            f"runtime ({allowed})"
        )
