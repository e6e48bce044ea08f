"""Network separation (guide section "Network separation and hardening").

Resource policies: namespace names (NSA-2.2), workloads outside system namespaces (NSA-2.1), PSA labels on
namespaces (NSA-1.10), Services without externalIPs and exposed only where allowed (NSA-2.16), Ingresses
with TLS for every host (NSA-2.17), egress to the cloud metadata endpoint (NSA-2.6).
Stack policies (every Namespace the stack creates, Kubernetes or rancher2): a default-deny NetworkPolicy
for ingress and egress (NSA-2.4/2.5), a LimitRange (NSA-2.7) and a ResourceQuota (NSA-2.8).

A resource's namespace is `metadata.namespace` (absent = `default`). A Namespace name that is unknown during
preview (an output) is matched through the resource's dependencies instead; if that is still undecidable
the stack policy reports the SDK's "can't run during preview" advisory rather than a guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import (
    NAMESPACE_TYPES,
    ReportFn,
    as_int,
    as_list,
    as_map,
    get_path,
    is_list,
    matches_any,
    namespace_of,
    own_namespace_name,
    show,
    text,
)
from nsa_cisa.render import safe_repr
from nsa_cisa.workloads import POD_BEARING_TYPES


def _with_patch(*types: str) -> frozenset[str]:
    return frozenset(t + suffix for t in types for suffix in ("", "Patch"))


K8S_NAMESPACE_TYPES = _with_patch("kubernetes:core/v1:Namespace")
RANCHER_NAMESPACE_TYPE = "rancher2:index/namespace:Namespace"
RANCHER_PROJECT_TYPE = "rancher2:index/project:Project"
NETWORK_POLICY_TYPES = _with_patch(
    "kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:extensions/v1beta1:NetworkPolicy"
)
LIMIT_RANGE_TYPES = _with_patch("kubernetes:core/v1:LimitRange")
RESOURCE_QUOTA_TYPES = _with_patch("kubernetes:core/v1:ResourceQuota")
SERVICE_TYPES = _with_patch("kubernetes:core/v1:Service")
INGRESS_TYPES = _with_patch(
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.k8s.io/v1beta1:Ingress",
    "kubernetes:extensions/v1beta1:Ingress",
)

PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
PSA_LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
METADATA_IP = ipaddress.ip_address("169.254.169.254")


def _namespace_labels(props: Mapping[str, Any], resource_type: str) -> Mapping[str, Any]:
    if resource_type.startswith("rancher2:"):
        return as_map(props.get("labels"))
    return as_map(get_path(props, "metadata.labels"))


GROUP = PolicyGroup(__name__, section="network")


# ----------------------------------------------------------------------------- namespace names


@GROUP.policy(
    name="namespace-name-not-reserved",
    description="Namespaces created by the stack do not use the reserved 'kube-' prefix.",
    severity="medium",
    nsa=("NSA-2.2",),
    resource_types=NAMESPACE_TYPES,
    honor_exempt_namespaces=False,
    remediation_steps="Rename the namespace; 'kube-' is reserved for Kubernetes system namespaces.",
)
def _reserved_name(args: Any, report: ReportFn) -> None:
    if args.resource_type.endswith("Patch"):
        return  # patching (e.g. labelling) an existing namespace does not create one
    name = own_namespace_name(args.props, args.resource_type)
    # Without a name the provider auto-names the namespace from the resource name plus a suffix.
    effective = name or args.name
    if effective.startswith("kube-"):
        report(f"namespace '{effective}' uses the reserved 'kube-' prefix")


# ----------------------------------------------------------------------------- workloads in system namespaces

DEFAULT_FORBIDDEN_NAMESPACES = ["kube-system", "kube-public"]


def _check_placement(config_key: str, args: Any, report: ReportFn) -> None:
    """Report a workload placed in a namespace listed under `config_key`."""
    forbidden = [n for n in as_list(args.get_config().get(config_key)) if isinstance(n, str)]
    ns = namespace_of(args.props, args.provider)
    if matches_any(ns, forbidden):
        where = "no namespace (so 'default')" if ns == "default" else f"namespace '{ns}'"
        report(f"workload is placed in {where}: put it in a dedicated application namespace")


@GROUP.policy(
    name="workload-not-in-system-namespace",
    description="User workloads never run in the kube-system or kube-public namespaces.",
    severity="medium",
    nsa=("NSA-2.1",),
    resource_types=POD_BEARING_TYPES,
    honor_exempt_namespaces=False,
    config_schema={
        "forbiddenNamespaces": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_FORBIDDEN_NAMESPACES,
            "description": "Namespaces (globs) workloads must not be placed in.",
        }
    },
    remediation_steps="Set metadata.namespace to an application namespace that has default-deny network "
    "policies, quotas and restricted pod security.",
)
def _not_in_system_namespace(args: Any, report: ReportFn) -> None:
    _check_placement("forbiddenNamespaces", args, report)


# The guide says to AVOID `default` (judgement call: advisory); kube-system/kube-public are a hard no above.
@GROUP.policy(
    name="workload-not-in-default-namespace",
    description="Workloads run in dedicated namespaces rather than `default` (or no namespace at all).",
    severity="low",
    nsa=("NSA-2.1",),
    enforcement_level="advisory",
    resource_types=POD_BEARING_TYPES,
    honor_exempt_namespaces=False,
    config_schema={
        "avoidNamespaces": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["default"],
            "description": "Namespaces (globs) workloads should not be placed in.",
        }
    },
    remediation_steps="Set metadata.namespace (or the Kubernetes provider's namespace) to an application "
    "namespace with default-deny network policies, quotas and restricted pod security.",
)
def _not_in_default_namespace(args: Any, report: ReportFn) -> None:
    _check_placement("avoidNamespaces", args, report)


# ----------------------------------------------------------------------------- PSA label


@GROUP.policy(
    name="namespace-pod-security-enforced",
    description="Every namespace enforces the restricted Pod Security Standard "
    "(pod-security.kubernetes.io/enforce).",
    severity="high",
    nsa=("NSA-1.10",),
    section="pod-security",
    resource_types=NAMESPACE_TYPES,
    config_schema={
        "minimumLevel": {
            "type": "string",
            "enum": ["restricted", "baseline"],
            "default": "restricted",
            "description": "Weakest acceptable enforce level.",
        }
    },
    remediation_steps="Label the namespace pod-security.kubernetes.io/enforce=restricted (and audit/warn "
    "the same).",
)
def _psa_label(args: Any, report: ReportFn) -> None:
    minimum = text(args.get_config().get("minimumLevel")) or "restricted"
    labels = _namespace_labels(args.props, args.resource_type)
    value = labels.get(PSA_ENFORCE_LABEL)
    if value is None and args.resource_type.endswith("Patch"):
        return
    if PSA_LEVELS.get(text(value), -1) < PSA_LEVELS.get(minimum, 2):
        shown = "missing" if value is None else safe_repr(value)
        report(
            f"label {PSA_ENFORCE_LABEL} is {shown}: must enforce '{minimum}'"
            + (" or stricter" if minimum != "restricted" else "")
        )
    version = labels.get("pod-security.kubernetes.io/enforce-version")
    if version not in (None, "", "latest") and not isinstance(version, str):
        report(f"label pod-security.kubernetes.io/enforce-version is {show(version)}: use 'latest'")


# ----------------------------------------------------------------------------- services


@GROUP.policy(
    name="service-no-external-ips",
    description="Services do not set externalIPs.",
    severity="high",
    nsa=("NSA-2.16",),
    resource_types=SERVICE_TYPES,
    remediation_steps="Remove spec.externalIPs; expose the service through an Ingress or a LoadBalancer "
    "that is allowed by the pack config.",
)
def _external_ips(args: Any, report: ReportFn) -> None:
    ips = as_list(get_path(args.props, "spec.externalIPs"))
    if ips:
        shown = [text(i) or safe_repr(i) for i in ips]
        report(
            f"spec.externalIPs is set ({shown}): external IPs can intercept "
            "cluster traffic (CVE-2020-8554); use a LoadBalancer or Ingress instead"
        )


@GROUP.policy(
    name="service-exposure-allowed",
    description="NodePort and LoadBalancer Services exist only where the pack config allows them.",
    severity="medium",
    nsa=("NSA-2.16", "NSA-2.11"),
    resource_types=SERVICE_TYPES,
    config_schema={
        "allowedExposedServices": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "'<namespace>/<name>' globs of Services allowed to be NodePort/LoadBalancer.",
        }
    },
    remediation_steps="Use a ClusterIP Service behind the (TLS) Ingress controller, or add the service to "
    "allowedExposedServices.",
)
def _exposure(args: Any, report: ReportFn) -> None:
    kind = text(get_path(args.props, "spec.type"))
    if kind not in ("NodePort", "LoadBalancer"):
        return
    name = text(get_path(args.props, "metadata.name")) or args.name
    key = f"{namespace_of(args.props, args.provider)}/{name}"
    allowed = [a for a in as_list(args.get_config().get("allowedExposedServices")) if isinstance(a, str)]
    if not matches_any(key, allowed):
        report(
            f"Service '{key}' is of type {kind}: only services listed in allowedExposedServices may be "
            "exposed outside the cluster network"
        )


# ----------------------------------------------------------------------------- ingress TLS


def _host_covered(host: str, tls_hosts: list[str]) -> bool:
    for pattern in tls_hosts:
        if pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and "." not in host[: -len(pattern) + 1]:
            return True
    return False


@GROUP.policy(
    name="ingress-tls",
    description="Ingresses serve every host over TLS (spec.tls covers all rule hosts).",
    severity="high",
    nsa=("NSA-2.17",),
    resource_types=INGRESS_TYPES,
    remediation_steps="Add spec.tls entries (hosts + secretName, e.g. from cert-manager) covering every "
    "rule host.",
)
def _ingress_tls(args: Any, report: ReportFn) -> None:
    spec = as_map(args.props.get("spec"))
    tls = [t for t in as_list(spec.get("tls")) if isinstance(t, Mapping)]
    if not tls:
        if spec or not args.resource_type.endswith("Patch"):
            report("spec.tls is empty: serve every Ingress host over TLS")
        return
    if any(not as_list(t.get("hosts")) for t in tls):
        return  # a TLS entry without hosts applies to every host served by the controller
    tls_hosts = [h for t in tls for h in as_list(t.get("hosts")) if isinstance(h, str)]
    for i, rule in enumerate(as_list(spec.get("rules"))):
        host = text(get_path(rule, "host"))
        if host and not _host_covered(host, tls_hosts):
            report(f"spec.rules[{i}].host '{host}' is not covered by spec.tls hosts {tls_hosts}")
        elif not host:
            report(
                f"spec.rules[{i}] has no host but every spec.tls entry lists hosts: it is served without TLS"
            )


# ----------------------------------------------------------------------------- metadata endpoint


def _covers_metadata(cidr: Any, excepts: Iterable[Any]) -> bool:
    try:
        net = ipaddress.ip_network(text(cidr), strict=False)
    except ValueError:
        return False
    if METADATA_IP not in net:
        return False
    for ex in excepts:
        try:
            if METADATA_IP in ipaddress.ip_network(text(ex), strict=False):
                return False
        except ValueError:
            continue
    return True


def _reaches_port_80(ports: Any) -> bool:
    items = as_list(ports)
    if not items:
        return True
    for p in items:
        port = get_path(p, "port")
        protocol = text(get_path(p, "protocol")) or "TCP"
        if protocol != "TCP":
            continue
        if port is None or port == "http":
            return True
        low, high = as_int(port), as_int(get_path(p, "endPort"))
        if low is not None and (low == 80 or (high is not None and low <= 80 <= high)):
            return True
    return False


@GROUP.policy(
    name="network-policy-blocks-metadata-endpoint",
    description="NetworkPolicy egress rules do not open the cloud metadata endpoint (169.254.169.254).",
    severity="medium",
    nsa=("NSA-2.6",),
    enforcement_level="advisory",
    resource_types=NETWORK_POLICY_TYPES,
    remediation_steps="Add `except: [169.254.169.254/32]` to broad ipBlocks and avoid egress rules without "
    "destinations.",
)
def _metadata_egress(args: Any, report: ReportFn) -> None:
    spec = as_map(args.props.get("spec"))
    for i, rule in enumerate(as_list(spec.get("egress"))):
        if not isinstance(rule, Mapping) or not _reaches_port_80(rule.get("ports")):
            continue
        peers = as_list(rule.get("to"))
        if not peers:
            report(
                f"spec.egress[{i}] allows every destination, including the cloud metadata endpoint "
                "169.254.169.254: restrict 'to' or add an ipBlock with except 169.254.169.254/32"
            )
            continue
        for j, peer in enumerate(peers):
            block = get_path(peer, "ipBlock")
            excepts = as_list(get_path(block, "except"))
            if block is not None and _covers_metadata(get_path(block, "cidr"), excepts):
                report(
                    f"spec.egress[{i}].to[{j}].ipBlock {text(get_path(block, 'cidr'))} includes the cloud "
                    "metadata endpoint: add except [169.254.169.254/32]"
                )


# ----------------------------------------------------------------------------- stack-level coverage


@dataclass
class _NsRef:
    """A namespace a resource lives in: a known name, or unknown (with its dependency URNs)."""

    name: str | None
    deps: set[str] = field(default_factory=set)


def _deps_of(resource: Any) -> set[str]:
    urns = {d.urn for d in getattr(resource, "dependencies", []) or [] if getattr(d, "urn", None)}
    for deps in (getattr(resource, "property_dependencies", {}) or {}).values():
        urns.update(d.urn for d in deps if getattr(d, "urn", None))
    parent = getattr(resource, "parent", None)
    if parent is not None and getattr(parent, "urn", None):
        urns.add(parent.urn)
    return urns


def _namespace_ref(resource: Any) -> _NsRef:
    deps = _deps_of(resource)
    try:
        return _NsRef(namespace_of(resource.props, resource.provider), deps)
    except UnknownValueError:
        return _NsRef(None, deps)


def _ns_name(resource: Any) -> tuple[str | None, bool]:
    """(name or None, is the name unknown during preview?). No name = auto-named: matched by dependency."""
    try:
        return own_namespace_name(resource.props, resource.resource_type) or None, False
    except UnknownValueError:
        return None, True


def _check_coverage(
    args: Any,
    report: ReportFn,
    *,
    what: str,
    satisfies: Any,
    aspects: tuple[str, ...],
    rancher_field: str | None,
    opens: Any = None,
) -> None:
    """Every Namespace the stack creates has at least one resource for which `satisfies` holds in it.
    `satisfies(resource) -> set[str]` returns the aspects it covers; all of `aspects` are needed."""
    needed = set(aspects)
    namespaces = [
        r
        for r in args.resources
        if r.resource_type in NAMESPACE_TYPES and not r.resource_type.endswith("Patch")
    ]
    if not namespaces:
        return
    candidates: list[tuple[_NsRef, set[str]]] = []
    unknown_error: UnknownValueError | None = None
    for r in args.resources:
        try:
            covers = satisfies(r)
        except UnknownValueError as exc:  # its content is unknown: it cannot count either way
            unknown_error = exc
            continue
        if covers:
            candidates.append((_namespace_ref(r), covers))
    openers: list[tuple[_NsRef, set[str]]] = []
    for r in args.resources if opens is not None else ():
        try:
            opened_by = opens(r)
        except UnknownValueError as exc:
            unknown_error = exc
            continue
        if opened_by:
            openers.append((_namespace_ref(r), opened_by))
    projects = {r.urn: r for r in args.resources if r.resource_type == RANCHER_PROJECT_TYPE}
    for ns in namespaces:
        ns_name, name_unknown = _ns_name(ns)
        covered: set[str] = set()
        if rancher_field and ns.resource_type == RANCHER_NAMESPACE_TYPE:
            if as_map(ns.props).get(rancher_field) is not None:
                covered |= needed
            for dep in _deps_of(ns):
                if dep in projects and as_map(projects[dep].props).get(rancher_field) is not None:
                    covered |= needed
        undecided = False
        for ref, covers in candidates:
            if (ref.name is not None and ref.name == ns_name) or ns.urn in ref.deps:
                covered |= covers
            elif ref.name is None or name_unknown:
                undecided = True  # it might live in this namespace; preview cannot tell
        opened: set[str] = set()
        for ref, aspects_opened in openers:
            if (ref.name is not None and ref.name == ns_name) or ns.urn in ref.deps:
                opened |= aspects_opened & covered
        missing = needed - (covered - opened)
        if not missing:
            continue
        if undecided or unknown_error is not None:
            raise unknown_error or UnknownValueError(
                "04da6b54-80e4-46f7-96ec-b56ff0331ba9", ["metadata", "namespace"]
            )
        label = ns_name or ns.name
        report(
            f"namespace '{label}' has no {what}"
            + (f" ({', '.join(sorted(missing))})" if len(needed) > 1 else "")
            + (
                f"; a NetworkPolicy there allows all {', '.join(sorted(opened))} traffic to every pod"
                if opened
                else ""
            ),
            ns.urn,
        )


def _default_deny_aspects(resource: Any) -> set[str]:
    if resource.resource_type not in NETWORK_POLICY_TYPES:
        return set()
    spec = as_map(resource.props.get("spec"))
    selector = spec.get("podSelector")
    if selector is not None:
        if not isinstance(selector, Mapping):
            return set()
        if as_map(selector.get("matchLabels")) or as_list(selector.get("matchExpressions")):
            return set()  # selects only some pods
    types = [t for t in as_list(spec.get("policyTypes")) if isinstance(t, str)]
    if not types:  # the API's default: Ingress, plus Egress when egress rules exist
        types = ["Ingress"] + (["Egress"] if spec.get("egress") is not None else [])
    covered = set()
    if "Ingress" in types and not as_list(spec.get("ingress")):
        covered.add("ingress")
    if "Egress" in types and all(_dns_only(rule) for rule in as_list(spec.get("egress"))):
        covered.add("egress")
    return covered


_ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})


def _admits_everything(rule: Any, peers_key: str) -> bool:
    """An allow rule open to every peer on every port: `{}`, no `from`/`to`, or an ipBlock of 0.0.0.0/0
    (or ::/0) without exceptions, and no `ports`."""
    if as_list(get_path(rule, "ports")):
        return False
    peers = get_path(rule, peers_key)
    if peers is None or (is_list(peers) and not as_list(peers)):
        return True
    for peer in as_list(peers):
        block = get_path(peer, "ipBlock")
        if (
            isinstance(block, Mapping)
            and text(block.get("cidr")) in _ANYWHERE
            and not as_list(block.get("except"))
        ):
            return True
    return False


def _allow_all_aspects(resource: Any) -> set[str]:
    """Directions a NetworkPolicy opens to everything for every pod of its namespace (podSelector {}): a
    default-deny policy next to it no longer denies by default."""
    if resource.resource_type not in NETWORK_POLICY_TYPES or resource.resource_type.endswith("Patch"):
        return set()
    spec = as_map(resource.props.get("spec"))
    selector = spec.get("podSelector")
    if selector is not None and (
        not isinstance(selector, Mapping)
        or as_map(selector.get("matchLabels"))
        or as_list(selector.get("matchExpressions"))
    ):
        return set()
    types = [t for t in as_list(spec.get("policyTypes")) if isinstance(t, str)]
    if not types:
        types = ["Ingress"] + (["Egress"] if spec.get("egress") is not None else [])
    opened = set()
    if "Ingress" in types and any(_admits_everything(r, "from") for r in as_list(spec.get("ingress"))):
        opened.add("ingress")
    if "Egress" in types and any(_admits_everything(r, "to") for r in as_list(spec.get("egress"))):
        opened.add("egress")
    return opened


def _dns_only(rule: Any) -> bool:
    """An egress rule that only opens DNS (port 53) still leaves the namespace default-deny, as in the
    guide's own "deny all egress" example; any other allow rule does not."""
    ports = as_list(get_path(rule, "ports"))
    return bool(ports) and all(
        as_int(get_path(p, "port")) == 53 and get_path(p, "endPort") is None for p in ports
    )


def _limit_range_aspects(resource: Any) -> set[str]:
    return {"limits"} if resource.resource_type in LIMIT_RANGE_TYPES else set()


def _quota_aspects(resource: Any) -> set[str]:
    return {"quota"} if resource.resource_type in RESOURCE_QUOTA_TYPES else set()


@GROUP.policy(
    name="namespace-default-deny-network-policy",
    description="Every namespace the stack creates has default-deny NetworkPolicies (podSelector {}) for "
    "ingress and egress, with no allow rules in them (DNS-only egress excepted).",
    severity="high",
    nsa=("NSA-2.4", "NSA-2.5"),
    stack=True,
    remediation_steps="Add a NetworkPolicy in the namespace with podSelector: {}, policyTypes: [Ingress, "
    "Egress] and no ingress/egress rules; then allow-list needed traffic with further policies.",
)
def _default_deny(args: Any, report: ReportFn) -> None:
    _check_coverage(
        args,
        report,
        what="default-deny NetworkPolicy",
        satisfies=_default_deny_aspects,
        aspects=("ingress", "egress"),
        rancher_field=None,
        opens=_allow_all_aspects,
    )


@GROUP.policy(
    name="namespace-limit-range",
    description="Every namespace the stack creates has a LimitRange (or a Rancher container resource limit).",
    severity="medium",
    nsa=("NSA-2.7",),
    stack=True,
    remediation_steps="Add a LimitRange (type Container: default, defaultRequest, max) to the namespace.",
)
def _limit_range(args: Any, report: ReportFn) -> None:
    _check_coverage(
        args,
        report,
        what="LimitRange",
        satisfies=_limit_range_aspects,
        aspects=("limits",),
        rancher_field="containerResourceLimit",
    )


@GROUP.policy(
    name="namespace-resource-quota",
    description="Every namespace the stack creates has a ResourceQuota (or a Rancher namespace/project "
    "quota).",
    severity="medium",
    nsa=("NSA-2.8",),
    stack=True,
    remediation_steps="Add a ResourceQuota (requests/limits cpu and memory, pods) to the namespace.",
)
def _resource_quota(args: Any, report: ReportFn) -> None:
    _check_coverage(
        args,
        report,
        what="ResourceQuota",
        satisfies=_quota_aspects,
        aspects=("quota",),
        rancher_field="resourceQuota",
    )
