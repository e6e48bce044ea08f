"""Which components the provider serves, and what each takes and returns beyond its args model.

A served component's inputs are its args model's fields (generated, `schema.py`) plus a few constructor
parameters that are not settings (the Rancher line of a cluster, the cluster an add-on set targets, the
Kubernetes provider of Rancher's local cluster). Those and the outputs are declared here, once, next to
the code that passes them to the constructor and reads them back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

import pulumi
from pydantic import BaseModel

from components.addons import AddonsArgs, ClusterAddons, preflight_problems
from components.cluster import HardenedCluster, HardenedClusterArgs
from components.gitops import GitOpsRepo, GitOpsRepoArgs, GitRepoRestriction, GitRepoRestrictionArgs
from components.handles import ClusterHandle
from components.management.plane import ManagementPlane, ManagementPlaneArgs
from components.problems import PathStyle, Problem
from components.tenancy import TeamTenancy, TeamTenancyArgs
from components.validation_errors import Hints
from components.versions import DEFAULT_RANCHER_LINE, RancherLine
from hardened_rke2_provider import PACKAGE
from hardened_rke2_provider.model_schema import (
    JsonDict,
    SchemaBuilder,
    dependency_versions,
    model_description,
)

RANCHER_LINES: tuple[str, ...] = get_args(RancherLine)


def kubernetes_provider_ref() -> JsonDict:
    return {"$ref": f"/kubernetes/v{dependency_versions()['kubernetes']}/schema.json#/provider"}


def cluster_sync_ref() -> JsonDict:
    version = dependency_versions()["rancher2"]
    return {"$ref": f"/rancher2/v{version}/schema.json#/resources/rancher2:index%2FclusterSync:ClusterSync"}


HANDLE_TOKEN = f"{PACKAGE}:cluster:ClusterHandle"


@dataclass(frozen=True)
class Prop:
    """An input or output that is not a field of the args model."""

    name: str
    type: Callable[[], JsonDict]
    description: str
    required: bool = False
    secret: bool = False

    def schema(self) -> JsonDict:
        spec = dict(self.type())
        if self.secret:
            spec["secret"] = True
        spec["description"] = self.description
        return spec


def _string() -> JsonDict:
    return {"type": "string"}


def _string_list() -> JsonDict:
    return {"type": "array", "items": {"type": "string"}}


def _string_map() -> JsonDict:
    return {"type": "object", "additionalProperties": {"type": "string"}}


def _handle() -> JsonDict:
    return {"$ref": f"#/types/{HANDLE_TOKEN}"}


Extras = Mapping[str, Any]
"""The extra inputs as the engine sent them (plain values, resources, or Outputs for unknown ids)."""


@dataclass(frozen=True)
class Served:
    """One served component: token, args model, extra inputs, how to build it and what it outputs."""

    token: str
    component: type[pulumi.ComponentResource]
    args_model: type[BaseModel]
    build: Callable[[str, Any, Extras, pulumi.ResourceOptions | None], pulumi.ComponentResource]
    outputs: tuple[Prop, ...]
    state: Callable[[Any, Any], dict[str, Any]]
    """(component, validated args) -> the outputs."""
    extra_inputs: tuple[Prop, ...] = ()
    check_extras: Callable[[Any, Extras], list[Problem]] = field(default=lambda args, extras: [])
    hints: Hints = "stack"
    style: PathStyle = "yaml"

    @property
    def name(self) -> str:
        return self.token.rsplit(":", 1)[-1]

    def resource_schema(self, builder: SchemaBuilder) -> JsonDict:
        props, required = builder.properties(self.args_model)
        for extra in self.extra_inputs:
            if extra.name in props:
                raise ValueError(f"{self.token}: extra input {extra.name} is also an args field")
            props[extra.name] = extra.schema()
            if extra.required:
                required.append(extra.name)
        return {
            "isComponent": True,
            "description": model_description(self.component),
            "inputProperties": props,
            "requiredInputs": sorted(required),
            "properties": {o.name: o.schema() for o in self.outputs},
            "required": sorted(o.name for o in self.outputs if o.required),
        }


# ---- the cluster handle: HardenedCluster's output, ClusterAddons' input --------------------------------

HANDLE_FIELDS: tuple[Prop, ...] = (
    Prop("name", _string, "The cluster's name in Rancher.", required=True),
    Prop(
        "clusterV1Id",
        _string,
        "The `c-m-xxxx` id Rancher's v1 APIs need (HardenedCluster output `clusterV1Id`).",
        required=True,
    ),
    Prop("kubernetesVersion", _string, "The RKE2 Kubernetes version of the cluster.", required=True),
    Prop(
        "rancherLine",
        _string,
        f"The Rancher minor line managing the cluster. One of: {', '.join(RANCHER_LINES)}.",
        required=True,
    ),
    Prop(
        "networkIsolation",
        lambda: {"type": "boolean"},
        "Whether Rancher project network isolation is on.",
    ),
    Prop("rancherUrl", _string, "Rancher's https URL (add-ons that link back to Rancher need it)."),
    Prop(
        "kubernetesProvider",
        kubernetes_provider_ref,
        "The Kubernetes provider for in-cluster objects (through Rancher's authenticated proxy).",
    ),
    Prop(
        "ready",
        cluster_sync_ref,
        "The cluster's sync gate (rancher2 ClusterSync); everything on the cluster waits for it.",
    ),
)


def extra_types(builder: SchemaBuilder) -> dict[str, JsonDict]:
    return {
        HANDLE_TOKEN: {
            "type": "object",
            "description": model_description(ClusterHandle),
            "properties": {p.name: p.schema() for p in HANDLE_FIELDS},
            "required": sorted(p.name for p in HANDLE_FIELDS if p.required),
        }
    }


def handle_state(handle: ClusterHandle) -> dict[str, Any]:
    return {
        "name": handle.name,
        "clusterV1Id": handle.v1_id,
        "kubernetesVersion": handle.kubernetes_version,
        "rancherLine": handle.rancher_line,
        "networkIsolation": handle.network_isolation,
        "rancherUrl": handle.rancher_url,
        "kubernetesProvider": handle.kubernetes_provider,
        "ready": handle.ready,
    }


def handle_from_input(value: Mapping[str, Any]) -> ClusterHandle:
    return ClusterHandle(
        name=str(value["name"]),
        v1_id=value["clusterV1Id"],
        ready=value.get("ready"),
        kubernetes_version=str(value["kubernetesVersion"]),
        rancher_line=str(value["rancherLine"]),
        network_isolation=bool(value.get("networkIsolation", True)),
        rancher_url=value.get("rancherUrl"),
        kubernetes_provider=value.get("kubernetesProvider"),
    )


def _handle_problems(value: Any, path: str) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [
            Problem((path,), "the cluster handle is missing", f"pass {path}: the cluster's `handle` output")
        ]
    problems = [
        Problem((path, p.name), "missing", f"pass the cluster's `handle` output as {path}")
        for p in HANDLE_FIELDS
        if p.required and value.get(p.name) in (None, "")
    ]
    line = value.get("rancherLine")
    if line is not None and line not in RANCHER_LINES:
        problems.append(
            Problem(
                (path, "rancherLine"), f"unsupported Rancher line {line!r}", "pick a supported Rancher line"
            )
        )
    return problems


# ---- the served components --------------------------------------------------------------------------


def _cluster_extras(args: Any, extras: Extras) -> list[Problem]:
    problems = []
    line = extras.get("rancherLine", DEFAULT_RANCHER_LINE)
    if line not in RANCHER_LINES:
        problems.append(
            Problem(
                ("rancherLine",),
                f"unsupported Rancher line {line!r}",
                f"use one of {', '.join(RANCHER_LINES)}",
            )
        )
    url = extras.get("rancherUrl")
    if url is not None and not str(url).startswith("https://"):
        problems.append(
            Problem(
                ("rancherUrl",),
                "Rancher's URL must be https",
                "use an https:// URL such as https://rancher.example.com",
            )
        )
    if args.operations.rotate_encryption_keys is not None and extras.get("localClusterProvider") is None:
        problems.append(
            Problem(
                ("localClusterProvider",),
                "operations.rotateEncryptionKeys patches the provisioning Cluster on Rancher's local cluster",
                "pass localClusterProvider: a kubernetes Provider for the local (management) cluster",
            )
        )
    return problems


def _build_cluster(
    name: str, args: Any, extras: Extras, opts: pulumi.ResourceOptions | None
) -> HardenedCluster:
    return HardenedCluster(
        name,
        args,
        rancher_line=extras.get("rancherLine", DEFAULT_RANCHER_LINE),
        rancher_url=extras.get("rancherUrl"),
        local_kubernetes_provider=extras.get("localClusterProvider"),
        opts=opts,
    )


def _cluster_state(c: HardenedCluster, args: Any) -> dict[str, Any]:
    return {
        "clusterId": c.cluster_id,
        "clusterV1Id": c.cluster_v1_id,
        "registrationCommand": c.registration_command,
        "registrationCommands": c.registration_commands,
        "kubeconfig": c.kubeconfig,
        "hostPrepScript": c.host_prep_script,
        "handle": handle_state(c.handle),
    }


def _addons_extras(args: Any, extras: Extras) -> list[Problem]:
    problems = _handle_problems(extras.get("clusterHandle"), "clusterHandle")
    if problems:
        return problems
    handle = handle_from_input(extras["clusterHandle"])
    return preflight_problems(
        args,
        rancher_line=handle.rancher_line,
        kubernetes_version=handle.kubernetes_version,
        rancher_url=handle.rancher_url,
        has_kubernetes_provider=handle.kubernetes_provider is not None,
        cluster_name=f"the cluster {handle.name!r}",
    )


def _build_addons(name: str, args: Any, extras: Extras, opts: pulumi.ResourceOptions | None) -> ClusterAddons:
    return ClusterAddons(name, args, handle_from_input(extras["clusterHandle"]), opts)


def _addons_state(a: ClusterAddons, args: Any) -> dict[str, Any]:
    neuvector = a.installed.get("neuvector")
    return {
        "enabled": list(a.installed),
        "neuvectorBootstrapPassword": getattr(neuvector, "bootstrap_password", None),
    }


def _needs_local_provider(component: str) -> Callable[[Any, Extras], list[Problem]]:
    def check(args: Any, extras: Extras) -> list[Problem]:
        if extras.get("localClusterProvider") is None:
            return [
                Problem(
                    ("localClusterProvider",),
                    f"{component} needs a Kubernetes provider for Rancher's local cluster",
                    "pass localClusterProvider: a kubernetes Provider for the local (management) cluster",
                )
            ]
        return []

    return check


LOCAL_PROVIDER = Prop(
    "localClusterProvider",
    kubernetes_provider_ref,
    "Kubernetes provider for Rancher's local (management) cluster, where Fleet objects live.",
    required=True,
)


def _plane_state(p: ManagementPlane, args: Any) -> dict[str, Any]:
    return {
        "apiUrl": p.bootstrap.api_url,
        "adminPassword": p.bootstrap.admin_password,
        "automationToken": pulumi.Output.secret(p.bootstrap.automation_token.token),
        "roleTemplateIds": {key: rt.id for key, rt in sorted(p.roles.role_templates.items())},
    }


def _tenancy_extras(args: Any, extras: Extras) -> list[Problem]:
    problems = []
    if extras.get("clusterV1Id") in (None, ""):
        problems.append(Problem(("clusterV1Id",), "missing", "pass the cluster's clusterV1Id output"))
    if extras.get("kubernetesProvider") is None:
        problems.append(
            Problem(("kubernetesProvider",), "missing", "pass a Kubernetes provider for the team's cluster")
        )
    return problems


def _build_tenancy(name: str, args: Any, extras: Extras, opts: pulumi.ResourceOptions | None) -> TeamTenancy:
    return TeamTenancy(
        name,
        args,
        cluster_v1_id=extras["clusterV1Id"],
        kubernetes_provider=extras["kubernetesProvider"],
        fleet_provider=extras.get("fleetProvider"),
        platform_role_template_ids=extras.get("platformRoleTemplateIds"),
        opts=opts,
    )


SERVED: tuple[Served, ...] = (
    Served(
        token=f"{PACKAGE}:cluster:HardenedCluster",
        component=HardenedCluster,
        args_model=HardenedClusterArgs,
        build=_build_cluster,
        extra_inputs=(
            Prop(
                "rancherLine",
                lambda: {"type": "string", "default": DEFAULT_RANCHER_LINE},
                f"The Rancher minor line managing the cluster (picks chart and Kubernetes pins). "
                f"One of: {', '.join(RANCHER_LINES)}.",
            ),
            Prop(
                "rancherUrl",
                _string,
                "Rancher's https URL. When set, the kubeconfig goes through Rancher's authenticated, audited "
                "proxy with a scoped token; otherwise it is the cluster's own (secret) kubeconfig.",
            ),
            Prop(
                "localClusterProvider",
                kubernetes_provider_ref,
                "Kubernetes provider for Rancher's local (management) cluster; needed only by "
                "operations.rotateEncryptionKeys (a patch of the provisioning Cluster there).",
            ),
        ),
        check_extras=_cluster_extras,
        outputs=(
            Prop("clusterId", _string, "The ClusterV2 id (`fleet-default/<name>`).", required=True),
            Prop("clusterV1Id", _string, "The `c-m-xxxx` id Rancher's v1 APIs need.", required=True),
            Prop(
                "registrationCommand",
                _string,
                "Rancher's node registration command, without role flags.",
                required=True,
                secret=True,
            ),
            Prop(
                "registrationCommands",
                _string_map,
                "The registration command per custom node pool, with its role flags.",
                required=True,
                secret=True,
            ),
            Prop("kubeconfig", _string, "Kubeconfig for the cluster.", required=True, secret=True),
            Prop(
                "hostPrepScript",
                _string,
                "CIS host preparation script to run on custom nodes before they join.",
            ),
            Prop(
                "handle",
                _handle,
                "What add-ons, tenancy and GitOps need to know about this cluster: pass it to ClusterAddons.",
                required=True,
            ),
        ),
        state=_cluster_state,
    ),
    Served(
        token=f"{PACKAGE}:addons:ClusterAddons",
        component=ClusterAddons,
        args_model=AddonsArgs,
        build=_build_addons,
        extra_inputs=(
            Prop(
                # not `cluster`: AddonsArgs has a `cluster` field (the cluster facts the add-ons follow)
                "clusterHandle",
                _handle,
                "The cluster to install on: HardenedCluster's `handle` output.",
                required=True,
            ),
        ),
        check_extras=_addons_extras,
        outputs=(
            Prop("enabled", _string_list, "The installed add-ons, in installation order.", required=True),
            Prop(
                "neuvectorBootstrapPassword",
                _string,
                "NeuVector's generated bootstrap admin password (when NeuVector is enabled).",
                secret=True,
            ),
        ),
        state=_addons_state,
    ),
    Served(
        token=f"{PACKAGE}:gitops:GitOpsRepo",
        component=GitOpsRepo,
        args_model=GitOpsRepoArgs,
        build=lambda name, args, extras, opts: GitOpsRepo(name, args, extras["localClusterProvider"], opts),
        extra_inputs=(LOCAL_PROVIDER,),
        check_extras=_needs_local_provider("GitOpsRepo"),
        outputs=(
            Prop("workspace", _string, "The Fleet workspace of the GitRepo.", required=True),
            Prop("gitRepoName", _string, "The name of the Fleet GitRepo object.", required=True),
        ),
        state=lambda c, args: {"workspace": args.workspace, "gitRepoName": args.name},
    ),
    Served(
        token=f"{PACKAGE}:gitops:GitRepoRestriction",
        component=GitRepoRestriction,
        args_model=GitRepoRestrictionArgs,
        build=lambda name, args, extras, opts: GitRepoRestriction(
            name, args, extras["localClusterProvider"], opts
        ),
        extra_inputs=(LOCAL_PROVIDER,),
        check_extras=_needs_local_provider("GitRepoRestriction"),
        outputs=(Prop("workspace", _string, "The Fleet workspace it restricts.", required=True),),
        state=lambda c, args: {"workspace": args.workspace},
    ),
    Served(
        token=f"{PACKAGE}:management:ManagementPlane",
        component=ManagementPlane,
        args_model=ManagementPlaneArgs,
        build=lambda name, args, extras, opts: ManagementPlane(name, args, opts),
        outputs=(
            Prop("apiUrl", _string, "Rancher's API URL.", required=True),
            Prop(
                "adminPassword", _string, "The emergency local admin's password.", required=True, secret=True
            ),
            Prop(
                "automationToken",
                _string,
                "The API token cluster stacks use (`rancher2:tokenKey`).",
                required=True,
                secret=True,
            ),
            Prop(
                "roleTemplateIds",
                _string_map,
                "Role template id by name (pass to TeamTenancy as platformRoleTemplateIds).",
                required=True,
            ),
        ),
        state=_plane_state,
    ),
    Served(
        token=f"{PACKAGE}:tenancy:TeamTenancy",
        component=TeamTenancy,
        args_model=TeamTenancyArgs,
        build=_build_tenancy,
        extra_inputs=(
            Prop(
                "clusterV1Id",
                _string,
                "The cluster's `c-m-xxxx` id (HardenedCluster output `clusterV1Id`).",
                required=True,
            ),
            Prop(
                "kubernetesProvider",
                kubernetes_provider_ref,
                "Kubernetes provider for the team's namespaces on that cluster.",
                required=True,
            ),
            Prop(
                "fleetProvider",
                kubernetes_provider_ref,
                "Kubernetes provider for Rancher's local cluster (needed when `fleet` is set).",
            ),
            Prop(
                "platformRoleTemplateIds",
                _string_map,
                "Role template id by name (ManagementPlane `roleTemplateIds`); needed for `platformRole`.",
            ),
        ),
        check_extras=_tenancy_extras,
        outputs=(
            Prop(
                "projectId", _string, "The Rancher project id (`<clusterV1Id>:<projectId>`).", required=True
            ),
            Prop("namespaces", _string_list, "The team's namespaces.", required=True),
        ),
        state=lambda t, args: {"projectId": t.project_id, "namespaces": [ns.name for ns in args.namespaces]},
        hints="team",
        style="dotted",
    ),
)

BY_TOKEN: dict[str, Served] = {s.token: s for s in SERVED}
