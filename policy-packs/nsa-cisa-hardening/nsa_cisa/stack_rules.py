"""Stack-level rules over the Rancher resources: every cluster has its security add-ons, Istio comes with a
STRICT mesh-wide PeerAuthentication, and every Fleet workspace the stack uses has a GitRepoRestriction.

Linking an add-on (`rancher2` AppV2) to its cluster: during a first preview the cluster's v1 id is
unknown, so ids cannot be compared. The engine's resource graph can: an AppV2's `clusterId` property
dependencies (then its plain dependencies) lead to the ClusterSync gate or the ClusterV2; a ClusterSync's
own `clusterId` dependencies lead on to the ClusterV2. Only when the graph says nothing are known ids
compared (AppV2 `clusterId` == ClusterV2 `clusterV1Id` or == a linked ClusterSync's `clusterId`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from nsa_cisa import rke2_parsing as rp
from nsa_cisa.declare import PolicyGroup
from nsa_cisa.delivery import GITREPO, GITREPO_RESTRICTION, PEER_AUTHN_TYPES, selects_all_workloads

CLUSTER_V2 = "rancher2:index/clusterV2:ClusterV2"
PSACT = "rancher2:index/podSecurityAdmissionConfigurationTemplate:PodSecurityAdmissionConfigurationTemplate"
PSA_TEMPLATE_KEY = "defaultPodSecurityAdmissionConfigurationTemplateName"
PSA_URL = (
    "https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/"
    "authentication-permissions-and-global-configuration/psa-config-templates"
)
CLUSTER_SYNC = "rancher2:index/clusterSync:ClusterSync"
APP_V2 = "rancher2:index/appV2:AppV2"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

DEFAULT_REQUIRED_ADDONS: dict[str, list[str]] = {
    "threat detection (NeuVector)": ["neuvector"],
    "compliance scanning (CIS benchmark)": ["rancher-compliance", "rancher-cis-benchmark"],
    "audit-log shipping (logging)": ["rancher-logging"],
}
DEFAULT_ISTIO_CHARTS = ["istiod", "rancher-istio"]

ADDONS_URL = "https://ranchermanager.docs.rancher.com/integrations-in-rancher"
ISTIO_URL = "https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/"
FLEET_RESTRICTION_URL = "https://fleet.rancher.io/namespaces#restricting-gitrepos"

Report = Callable[..., None]
_LINK_TYPES = frozenset({CLUSTER_SYNC, CLUSTER_V2})

# Stack-wide rules over Rancher objects: exempt namespaces do not apply.
GROUP = PolicyGroup(__name__, honor_exempt_namespaces=False)


def _props(r: PolicyResource) -> Mapping[str, Any]:
    return r.props if isinstance(r.props, Mapping) else {}


def _safe(fn: Callable[[], Any]) -> Any:
    """A value that may be unknown during preview; unknown reads as None (only for id fallbacks)."""
    try:
        return fn()
    except UnknownValueError:
        return None


def _clusters_reached(start: Sequence[PolicyResource]) -> list[PolicyResource]:
    """ClusterV2 resources reachable from `start` through ClusterSync gates (clusterId deps, then deps)."""
    found: list[PolicyResource] = []
    seen: set[str] = set()
    queue = deque(start)
    while queue:
        r = queue.popleft()
        if r.urn in seen:
            continue
        seen.add(r.urn)
        if r.resource_type == CLUSTER_V2:
            found.append(r)
            continue
        if r.resource_type == CLUSTER_SYNC:
            nxt = list((r.property_dependencies or {}).get("clusterId", [])) or list(r.dependencies or [])
            queue.extend(d for d in nxt if d.resource_type in _LINK_TYPES)
    return found


def clusters_of_app(
    app: PolicyResource, clusters: Sequence[PolicyResource], syncs: Sequence[PolicyResource]
) -> list[PolicyResource]:
    """The ClusterV2(s) an AppV2 is installed on, from the graph first and known ids second."""
    by_pdeps = _clusters_reached(
        [d for d in (app.property_dependencies or {}).get("clusterId", []) if d.resource_type in _LINK_TYPES]
    )
    if by_pdeps:
        return by_pdeps
    by_deps = _clusters_reached([d for d in (app.dependencies or []) if d.resource_type in _LINK_TYPES])
    if by_deps:
        return by_deps
    cluster_id = _safe(lambda: _props(app).get("clusterId"))
    if not isinstance(cluster_id, str) or not cluster_id:
        return []
    out = [c for c in clusters if _safe(lambda c=c: _props(c).get("clusterV1Id")) == cluster_id]  # type: ignore[misc]
    for s in syncs:
        if _safe(lambda s=s: _props(s).get("clusterId")) == cluster_id:  # type: ignore[misc]
            out += [c for c in _clusters_reached([s]) if c not in out]
    return out


def _required_addons(cfg: Mapping[str, Any]) -> dict[str, list[str]]:
    raw = cfg.get("requiredAddons")
    if not rp.is_mapping(raw):
        return DEFAULT_REQUIRED_ADDONS
    out: dict[str, list[str]] = {}
    for capability, charts in raw.items():
        if rp.is_list(charts):
            names = [c for c in charts if isinstance(c, str) and c]
            if names:
                out[str(capability)] = names
    return out


@GROUP.policy(
    name="cluster-required-addons",
    description="Every cluster in the stack has threat detection, compliance scanning and audit-log "
    "shipping add-ons.",
    severity="medium",
    nsa=("NSA-1.9", "NSA-4.4", "NSA-4.5", "NSA-4.8", "NSA-5.2", "NSA-5.3"),
    section="logging",
    enforcement_level="advisory",
    url=ADDONS_URL,
    stack=True,
    config_schema={
        "requiredAddons": {
            "type": "object",
            "default": DEFAULT_REQUIRED_ADDONS,
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "capability -> chart names (any one satisfies it).",
        }
    },
    remediation_steps="Turn on the neuvector, compliance and logging add-ons for the cluster (stack config "
    "`addons`), or change `requiredAddons` for this policy.",
)
def validate_required_addons(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    clusters = [r for r in resources if r.resource_type == CLUSTER_V2]
    if not clusters:
        return
    syncs = [r for r in resources if r.resource_type == CLUSTER_SYNC]
    installed: dict[str, set[str]] = {c.urn: set() for c in clusters}
    for app in (r for r in resources if r.resource_type == APP_V2):
        chart = _props(app).get("chartName")
        if not isinstance(chart, str):
            continue
        for cluster in clusters_of_app(app, clusters, syncs):
            installed[cluster.urn].add(chart)
    required = _required_addons(args.get_config())
    for cluster in clusters:
        have = installed[cluster.urn]
        missing = [
            f"{cap} ({' or '.join(charts)})"
            # sorted: the real engine sends policy config from a Go map (pulumi/pulumi
            # pkg/resource/plugin/analyzer_plugin.go, structpb.NewStruct), so mapping order is random
            for cap, charts in sorted(required.items())
            if not have.intersection(charts)
        ]
        if missing:
            report(
                f"cluster {cluster.name!r} has no {', no '.join(missing)} add-on in this stack "
                "(rancher2.AppV2 on the cluster's v1 id)",
                cluster.urn,
            )


def _istio_apps(resources: Iterable[PolicyResource], charts: set[str]) -> list[PolicyResource]:
    out = []
    for r in resources:
        if r.resource_type == APP_V2:
            chart = _props(r).get("chartName")
            if isinstance(chart, str) and chart in charts:
                out.append(r)
        elif r.resource_type == HELM_RELEASE:
            chart = _props(r).get("chart")
            if isinstance(chart, str) and chart.rstrip("/").rsplit("/", 1)[-1] in charts:
                out.append(r)
    return out


@GROUP.policy(
    name="istio-mesh-strict-mtls",
    description="When Istio is installed, a mesh-wide PeerAuthentication in the root namespace enforces "
    "STRICT mTLS.",
    severity="high",
    nsa=("NSA-4.7", "NSA-2.17"),
    section="logging",
    url=ISTIO_URL,
    stack=True,
    config_schema={
        "istioCharts": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_ISTIO_CHARTS},
        "istioRootNamespace": {"type": "string", "default": "istio-system"},
    },
    remediation_steps="Create a PeerAuthentication named default in istio-system with no selector and "
    "spec.mtls.mode: STRICT (per cluster).",
)
def validate_istio_strict(args: StackValidationArgs, report: Report) -> None:
    cfg = args.get_config()
    charts_cfg = cfg.get("istioCharts")
    charts = (
        {c for c in charts_cfg if isinstance(c, str)} if rp.is_list(charts_cfg) else set(DEFAULT_ISTIO_CHARTS)
    )
    root = cfg.get("istioRootNamespace") or "istio-system"
    resources = list(args.resources)
    istio = _istio_apps(resources, charts)
    if not istio:
        return
    strict = []
    for r in resources:
        if r.resource_type not in PEER_AUTHN_TYPES:
            continue
        props = _props(r)
        selector = rp.dig(props, "spec.selector")
        if (
            rp.dig(props, "metadata.namespace") == root
            and selects_all_workloads(selector)
            and rp.dig(props, "spec.mtls.mode") == "STRICT"
        ):
            strict.append(r)
    # One mesh per cluster: count the clusters Istio is installed on (unlinked installs count once each).
    clusters = [r for r in resources if r.resource_type == CLUSTER_V2]
    syncs = [r for r in resources if r.resource_type == CLUSTER_SYNC]
    meshes: dict[str, PolicyResource] = {}
    for app in istio:
        linked = clusters_of_app(app, clusters, syncs) if app.resource_type == APP_V2 else []
        for key in [c.urn for c in linked] or [app.urn]:
            meshes.setdefault(key, app)
    if len(strict) >= len(meshes):
        return
    for app in meshes.values():
        report(
            f"Istio ({_props(app).get('chartName') or _props(app).get('chart')}) is installed but the stack "
            f"has {len(strict)} mesh-wide STRICT PeerAuthentication(s) in {root} for {len(meshes)} mesh(es): "
            "without one, sidecars accept plaintext (PERMISSIVE is Istio's default)",
            app.urn,
        )


@GROUP.policy(
    name="fleet-workspace-restricted",
    description="Every Fleet workspace the stack deploys GitRepos into has a GitRepoRestriction.",
    severity="medium",
    nsa=("NSA-1.8", "NSA-3.4"),
    section="authn-authz",
    enforcement_level="advisory",
    url=FLEET_RESTRICTION_URL,
    stack=True,
    remediation_steps="Create a GitRepoRestriction (allowedRepoPatterns, allowedServiceAccounts) in each "
    "workspace namespace.",
)
def validate_workspace_restrictions(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    restricted: set[str] = set()
    for r in resources:
        if r.resource_type == GITREPO_RESTRICTION:
            ns = rp.dig(_props(r), "metadata.namespace")
            restricted.add(ns if isinstance(ns, str) and ns else "default")
    for r in resources:
        if r.resource_type != GITREPO:
            continue
        ns = rp.dig(_props(r), "metadata.namespace")
        ns = ns if isinstance(ns, str) and ns else "default"
        if ns not in restricted:
            report(
                f"GitRepo {r.name!r} is in Fleet workspace {ns!r}, which has no GitRepoRestriction in this "
                "stack: any repository and deploy identity is allowed there",
                r.urn,
            )


@GROUP.policy(
    name="cluster-psa-template-defined",
    description="A cluster's Pod Security Admission template is rancher-restricted or a template this stack "
    "defines (whose levels and exemptions the pack checks).",
    severity="high",
    nsa=("NSA-1.10",),
    section="pod-security",
    url=PSA_URL,
    stack=True,
    remediation_steps="Use 'rancher-restricted', or define the template in this stack "
    "(rancher2.PodSecurityAdmissionConfigurationTemplate, enforcing restricted, every exemption justified).",
)
def validate_psa_template_defined(args: StackValidationArgs, report: Report) -> None:
    def prop(r: PolicyResource, key: str) -> Any:
        return _safe(lambda: _props(r).get(key))

    resources = list(args.resources)
    defined: set[str] = set()
    for r in resources:
        if r.resource_type == PSACT:
            template = prop(r, "name")
            if isinstance(template, str):
                defined.add(template.strip())
    for r in resources:
        if r.resource_type != CLUSTER_V2:
            continue
        name = prop(r, PSA_TEMPLATE_KEY)
        if not isinstance(name, str) or not name.strip() or name.strip().startswith("rancher-"):
            continue  # unset or built-in: cluster-psa-default-template judges those
        if name.strip() not in defined:
            report(
                f"{PSA_TEMPLATE_KEY} is {name.strip()!r}, a template this stack does not define: whether "
                "it enforces restricted cannot be verified (even a template enforcing nothing would pass)",
                r.urn,
            )
