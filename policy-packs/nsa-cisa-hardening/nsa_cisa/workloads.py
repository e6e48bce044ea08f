"""Where the pod spec lives in every pod-bearing Kubernetes kind, and a uniform view over it.

Kinds: Pod (`spec`), Deployment/StatefulSet/DaemonSet/ReplicaSet/ReplicationController/Job
(`spec.template.spec`), CronJob (`spec.jobTemplate.spec.template.spec`), PodTemplate (`template.spec`),
in every API version the Kubernetes provider knows, and their server-side-apply `*Patch` variants.
In a Patch an absent field means "not managed by this patch", so checks that require a field to be
SET are skipped there (`WorkloadView.partial`); checks on values that ARE present still apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nsa_cisa.framework import as_list, as_map, get_path, text

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

# kind -> (path to the pod template's metadata, path to the pod spec); None = the resource's own metadata.
_POD_PATHS: dict[str, tuple[str, str]] = {
    "Pod": ("metadata", "spec"),
    "Deployment": ("spec.template.metadata", "spec.template.spec"),
    "StatefulSet": ("spec.template.metadata", "spec.template.spec"),
    "DaemonSet": ("spec.template.metadata", "spec.template.spec"),
    "ReplicaSet": ("spec.template.metadata", "spec.template.spec"),
    "ReplicationController": ("spec.template.metadata", "spec.template.spec"),
    "Job": ("spec.template.metadata", "spec.template.spec"),
    "CronJob": ("spec.jobTemplate.spec.template.metadata", "spec.jobTemplate.spec.template.spec"),
    "PodTemplate": ("template.metadata", "template.spec"),
}

_API_VERSIONS: dict[str, tuple[str, ...]] = {
    "Pod": ("core/v1",),
    "PodTemplate": ("core/v1",),
    "ReplicationController": ("core/v1",),
    "Deployment": ("apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"),
    "StatefulSet": ("apps/v1", "apps/v1beta1", "apps/v1beta2"),
    "DaemonSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "ReplicaSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "Job": ("batch/v1",),
    "CronJob": ("batch/v1", "batch/v1beta1", "batch/v2alpha1"),
}

POD_BEARING_TYPES: frozenset[str] = frozenset(
    f"kubernetes:{api}:{kind}{suffix}"
    for kind, apis in _API_VERSIONS.items()
    for api in apis
    for suffix in ("", "Patch")
)


def kind_of(resource_type: str) -> tuple[str, bool]:
    """('Deployment', is_patch) from 'kubernetes:apps/v1:DeploymentPatch'."""
    kind = resource_type.rsplit(":", 1)[-1]
    if kind.endswith("Patch"):
        return kind[: -len("Patch")], True
    return kind, False


@dataclass(frozen=True)
class Container:
    list_name: str
    index: int
    spec: Mapping[str, Any]

    # cached_property: computed once per container per request (a value unknown during preview raises and
    # is not cached, so every policy that reads it still raises).
    @cached_property
    def label(self) -> str:
        name = text(self.spec.get("name"))
        return f"{self.list_name}[{self.index}]" + (f" '{name}'" if name else "")

    @cached_property
    def security_context(self) -> Mapping[str, Any]:
        return as_map(self.spec.get("securityContext"))


@dataclass(frozen=True)
class WorkloadView:
    resource_type: str
    kind: str
    partial: bool
    spec_path: str
    spec: Mapping[str, Any]
    pod_metadata: Mapping[str, Any]
    _containers: dict[tuple[str, ...], list[Container]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def pod_security_context(self) -> Mapping[str, Any]:
        return as_map(self.spec.get("securityContext"))

    @property
    def is_windows(self) -> bool:
        # Exact match, as PSA compares it (`corev1.Windows`): "Windows" is no OS the API accepts, so it must
        # not buy the Windows exemptions from mandatory checks.
        return get_path(self.spec, "os.name") == "windows"

    @property
    def host_users_false(self) -> bool:
        return self.spec.get("hostUsers") is False

    def containers(self, lists: tuple[str, ...] = CONTAINER_LISTS) -> list[Container]:
        """Containers of these lists; built once per view (one view per request, see `as_view`)."""
        found = self._containers.get(lists)
        if found is None:
            found = []
            for list_name in lists:
                for i, c in enumerate(as_list(self.spec.get(list_name))):
                    if isinstance(c, Mapping):
                        found.append(Container(list_name, i, c))
            self._containers[lists] = found
        return list(found)

    @property
    def annotations(self) -> Mapping[str, Any]:
        return as_map(self.pod_metadata.get("annotations"))

    def where(self, field: str) -> str:
        return f"{self.spec_path}.{field}"


def workload_view(resource_type: str, props: Mapping[str, Any]) -> WorkloadView | None:
    """The pod spec of a pod-bearing resource, or None if the type bears no pods.

    A full (non-Patch) resource without a usable pod spec yields an empty spec (the API server would
    reject it; nothing here can be judged).
    """
    kind, is_patch = kind_of(resource_type)
    if not resource_type.startswith("kubernetes:") or kind not in _POD_PATHS:
        return None
    meta_path, spec_path = _POD_PATHS[kind]
    spec = as_map(get_path(props, spec_path))
    meta = as_map(get_path(props, meta_path))
    return WorkloadView(resource_type, kind, is_patch, spec_path, spec, meta)


def pod_metadata_of(view: WorkloadView) -> Mapping[str, Any]:
    return view.pod_metadata


_VIEW_KEY = "_nsa_cisa_workload_view"


def as_view(args: Any) -> WorkloadView | None:
    """The request's workload view, shared by every policy that reads the same props object.

    The SDK's property proxies are per request (one per Analyze call with `fastpath`), so the view is kept
    on the proxy itself and dropped with it; plain mappings (direct calls in tests) get a fresh view.
    """
    props = args.props if isinstance(args.props, Mapping) else {}
    store = getattr(props, "__dict__", None)
    if store is None or type(props) is dict:
        return workload_view(args.resource_type, props)
    cached = store.get(_VIEW_KEY)
    if cached is not None and cached[0] == args.resource_type:
        return cached[1]
    view = workload_view(args.resource_type, props)
    store[_VIEW_KEY] = (args.resource_type, view)
    return view
