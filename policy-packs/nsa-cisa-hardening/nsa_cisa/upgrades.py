"""Upgrading and application security practices (NSA-5.4): no removed API versions, no obsolete
cluster components (Kubernetes Dashboard, Helm v2 Tiller) deployed by the stack: found by image, by
labels, by the Dashboard's no-login flags, and by the Services that expose them."""

from __future__ import annotations

from typing import Any

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import ReportFn, as_int, as_list, as_map, get_path, show, text
from nsa_cisa.workloads import POD_BEARING_TYPES, as_view

# group/version -> the Kubernetes release that stopped serving it (deprecation guide).
REMOVED_API_VERSIONS: dict[str, str] = {
    "extensions/v1beta1": "1.22",
    "apps/v1beta1": "1.16",
    "apps/v1beta2": "1.16",
    "batch/v1beta1": "1.25",
    "batch/v2alpha1": "1.21",
    "networking.k8s.io/v1beta1": "1.22",
    "policy/v1beta1": "1.25",
    "rbac.authorization.k8s.io/v1beta1": "1.22",
    "rbac.authorization.k8s.io/v1alpha1": "1.22",
    "admissionregistration.k8s.io/v1beta1": "1.22",
    "apiextensions.k8s.io/v1beta1": "1.22",
    "apiregistration.k8s.io/v1beta1": "1.22",
    "authentication.k8s.io/v1beta1": "1.22",
    "authorization.k8s.io/v1beta1": "1.22",
    "certificates.k8s.io/v1beta1": "1.22",
    "coordination.k8s.io/v1beta1": "1.22",
    "scheduling.k8s.io/v1beta1": "1.22",
    "scheduling.k8s.io/v1alpha1": "1.22",
    "storage.k8s.io/v1alpha1": "1.27",
    "autoscaling/v2beta1": "1.25",
    "autoscaling/v2beta2": "1.26",
    "discovery.k8s.io/v1beta1": "1.25",
    "events.k8s.io/v1beta1": "1.25",
    "node.k8s.io/v1alpha1": "1.25",
    "node.k8s.io/v1beta1": "1.25",
    "flowcontrol.apiserver.k8s.io/v1alpha1": "1.21",
    "flowcontrol.apiserver.k8s.io/v1beta1": "1.26",
    "flowcontrol.apiserver.k8s.io/v1beta2": "1.29",
    "flowcontrol.apiserver.k8s.io/v1beta3": "1.32",
}
# storage.k8s.io/v1beta1 still serves some kinds; only these were removed (1.27).
REMOVED_KINDS: dict[tuple[str, str], str] = {("storage.k8s.io/v1beta1", "CSIStorageCapacity"): "1.27"}

OBSOLETE_IMAGES: dict[str, str] = {
    "kubernetesui/dashboard": "the Kubernetes Dashboard (a frequent cluster-admin foothold)",
    "kubernetes-dashboard": "the Kubernetes Dashboard (a frequent cluster-admin foothold)",
    "kubernetes-helm/tiller": "Helm v2 Tiller (unauthenticated in-cluster deployer)",
    "helm/tiller": "Helm v2 Tiller (unauthenticated in-cluster deployer)",
}


OBSOLETE_LABELS: dict[tuple[str, str], str] = {
    ("name", "tiller"): "Helm v2 Tiller (unauthenticated in-cluster deployer)",
    ("app.kubernetes.io/name", "tiller"): "Helm v2 Tiller (unauthenticated in-cluster deployer)",
    ("k8s-app", "kubernetes-dashboard"): "the Kubernetes Dashboard (a frequent cluster-admin foothold)",
    ("app.kubernetes.io/name", "kubernetes-dashboard"): "the Kubernetes Dashboard (a frequent cluster-admin "
    "foothold)",
}
DASHBOARD_NO_AUTH_FLAGS = frozenset(
    {"--enable-skip-login", "--disable-settings-authorizer", "--enable-insecure-login"}
)
TILLER_PORT = 44134
SERVICE_TYPES = frozenset({"kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch"})


def _group_version(resource_type: str) -> tuple[str, str] | None:
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":
        return None
    kind = parts[2][: -len("Patch")] if parts[2].endswith("Patch") else parts[2]
    return parts[1].replace("core/", "", 1) if parts[1].startswith("core/") else parts[1], kind


GROUP = PolicyGroup(__name__, section="upgrades", enforcement_level="advisory")


# Advisory: the API server itself rejects these on supported clusters; the policy explains why early.
@GROUP.policy(
    name="removed-api-versions",
    description="Resources use API versions that current Kubernetes releases still serve.",
    severity="medium",
    nsa=("NSA-5.4",),
    honor_exempt_namespaces=False,
    remediation_steps="Use the current API version (e.g. apps/v1, networking.k8s.io/v1, batch/v1, "
    "policy/v1, rbac.authorization.k8s.io/v1); PodSecurityPolicy is replaced by Pod Security Admission.",
)
def _removed_api(args: Any, report: ReportFn) -> None:
    gv = _group_version(args.resource_type)
    if gv is None:
        return
    version, kind = gv
    removed = REMOVED_API_VERSIONS.get(version) or REMOVED_KINDS.get((version, kind))
    if removed:
        report(
            f"{version} {kind} is no longer served since Kubernetes {removed}: migrate to the current "
            "API version"
        )


@GROUP.policy(
    name="no-obsolete-cluster-components",
    description="The stack does not deploy the Kubernetes Dashboard or Helm v2 Tiller.",
    severity="medium",
    nsa=("NSA-5.4",),
    resource_types=POD_BEARING_TYPES,
    remediation_steps="Remove the component; manage clusters through Rancher (audited, SSO) and Helm 3.",
)
def _obsolete_components(args: Any, report: ReportFn) -> None:
    view = as_view(args)
    if view is None:
        return
    found_by_image = False
    for c in view.containers():
        image = c.spec.get("image")
        if isinstance(image, str):
            for marker, what in OBSOLETE_IMAGES.items():
                if marker in image:
                    report(
                        f"{c.label}: image {show(image)} deploys {what}: remove it or use Rancher's UI/CLI"
                    )
                    found_by_image = True
                    break
        argv = (*as_list(c.spec.get("args")), *as_list(c.spec.get("command")))
        flags = sorted(
            {
                a.split("=", 1)[0]
                for a in argv
                if isinstance(a, str)
                and a.split("=", 1)[0] in DASHBOARD_NO_AUTH_FLAGS
                and not a.endswith("=false")
            }
        )
        if flags:
            report(f"{c.label}: {flags} serve the Kubernetes Dashboard without authentication: remove them")
    if found_by_image:
        return
    labels = {**_labels(get_path(args.props, "metadata.labels")), **_labels(view.pod_metadata.get("labels"))}
    for key, value in sorted(labels.items()):
        marked = OBSOLETE_LABELS.get((key, value.lower()))
        if marked:
            report(f"label {key}={value} marks {marked}: remove it or use Rancher's UI/CLI")
            break


def _labels(value: Any) -> dict[str, str]:
    return {k: v for k, v in as_map(value).items() if isinstance(k, str) and isinstance(v, str)}


@GROUP.policy(
    name="no-obsolete-component-services",
    description="No Service exposes Helm v2 Tiller or the Kubernetes Dashboard.",
    severity="medium",
    nsa=("NSA-5.4",),
    resource_types=SERVICE_TYPES,
    remediation_steps="Remove the component and its Service; use Helm 3 and Rancher's UI.",
)
def _obsolete_services(args: Any, report: ReportFn) -> None:
    name = text(get_path(args.props, "metadata.name")).lower()
    selector = _labels(get_path(args.props, "spec.selector"))
    ports = [as_int(get_path(p, "port")) for p in as_list(get_path(args.props, "spec.ports"))]
    targets = [as_int(get_path(p, "targetPort")) for p in as_list(get_path(args.props, "spec.ports"))]
    if name == "tiller-deploy" or selector.get("name") == "tiller" or TILLER_PORT in ports + targets:
        report(
            f"Service '{name or args.name}' exposes Helm v2 Tiller (gRPC port {TILLER_PORT}, no "
            "authentication): remove it"
        )
    elif name == "kubernetes-dashboard" or selector.get("k8s-app") == "kubernetes-dashboard":
        report(f"Service '{name or args.name}' exposes the Kubernetes Dashboard: remove it")
