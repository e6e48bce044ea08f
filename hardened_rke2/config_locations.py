"""Where a finding can be fixed: the stack config key (file and line) that sets what a policy checks.

SARIF results point here, so a code-scanning alert opens on the line to change. The blueprint knows which
config section builds which component (`COMPONENT_KEYS`, by the component's type token; `CHILD_KEYS`
refines it for some of a component's resources) and which key a policy's subject comes from
(`POLICY_KEYS`). A resource takes the key of its innermost mapped ancestor component; a policy's own key
wins over it. The line is that of the deepest key of the path present in the stack file: a setting left at
its hardened default is absent, so the alert opens on its parent, where it
would be added (`ConfigLocation.present` tells which).

Fallback, when neither table knows the finding (a project other than the blueprint, e.g. a team's own
program, or a resource outside every mapped component): the program file (`<main>/__main__.py`), line 1.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hardened_rke2.capture import CapturedResource
from hardened_rke2.safe_yaml import InputFileError, load_text, read_text

BLUEPRINT_NAMESPACE = "hardened-rke2"
"""The config namespace of the blueprint project (`Pulumi.yaml` name): the keys below are under it."""

LIST_ITEM = "[]"
"""A path segment suffix: select the list item whose identifying field names the resource."""
ITEM_ID_FIELDS = ("name", "team", "workspace", "hostname")

# Component type token -> the stack config key (dotted, camelCase as in the stack file) it is built from.
COMPONENT_KEYS: dict[str, str] = {
    "hardened-rke2:cluster:HardenedCluster": "cluster",
    "hardened-rke2:pod_security:PodSecurityTemplate": "cluster.podSecurity",
    "hardened-rke2:addons:ClusterAddons": "addons",
    "hardened-rke2:addons:ClusterMonitoring": "addons.monitoring",
    "hardened-rke2:addons:NeuVector": "addons.neuvector",
    "hardened-rke2:addons:ComplianceScanning": "addons.compliance",
    "hardened-rke2:addons:AuditLogShipping": "addons.auditLogging",
    "hardened-rke2:addons:Istio": "addons.istio",
    "hardened-rke2:gitops:GitOpsRepo": "gitops.repos[]",
    "hardened-rke2:gitops:GitRepoRestriction": "gitops.restrictions[]",
    "hardened-rke2:tenancy:TeamTenancy": "tenants.teams[]",
    "hardened-rke2:management:ManagementPlane": "management",
    "hardened-rke2:management:RancherServer": "management.server",
    "hardened-rke2:management:RancherBootstrap": "management.bootstrap",
    "hardened-rke2:management:SecuritySettings": "management.security",
    "hardened-rke2:management:SingleSignOn": "management.sso",
    "hardened-rke2:management:Roles": "management.roles",
}

# Inside a component, the resources of a type (glob) that come from a finer key (appended to the component's).
CHILD_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    # a team's namespaces and what each carries (quota, limits, network policies, default ServiceAccount)
    "hardened-rke2:tenancy:TeamTenancy": (("kubernetes:*", "namespaces[]"),),
}

# Policy name (or glob) -> the config key that sets what it checks, where that is one key. First match wins.
POLICY_KEYS: tuple[tuple[str, str], ...] = (
    ("cluster-required-addons", "addons"),
    ("addon-chart-supported", "rancher.line"),
    ("cluster-kubernetes-version-supported", "cluster.kubernetesVersion"),
    ("cluster-protected", "cluster.protect"),
    ("cluster-authorized-endpoint", "cluster.authorizedEndpoint"),
    ("cluster-psa-*", "cluster.podSecurity"),
    ("psa-template-*", "cluster.podSecurity"),
    ("cluster-project-network-isolation", "cluster.network"),
    ("rke2-cni-enforces-network-policy", "cluster.network"),
    ("rke2-audit-*", "cluster.audit"),
    ("rke2-etcd-*", "cluster.etcd"),
    ("rke2-registries-tls", "cluster.registries"),
    ("rke2-*", "cluster.rke2"),
    ("machine-*", "cluster.nodePools[]"),
    ("log-output-tls-verified", "addons.auditLogging.output"),
    ("alert-receiver-tls-verified", "addons.monitoring.receiver"),
    ("neuvector-admission-protect", "addons.neuvector.admission"),
    ("rancher-project-quotas", "tenants.teams[]"),
)


@dataclass(frozen=True)
class ConfigLocation:
    """A file (relative to the repository when possible), a 1-based line, and the key path it stands for."""

    file: Path
    line: int
    key: str
    """The key that sets the value, e.g. `hardened-rke2:cluster.etcd`; empty for the program-file fallback."""
    present: bool
    """True when the whole key is in the file; False when `line` is its nearest present parent (the
    setting is at its hardened default: add it there)."""


def _split(path: str) -> list[str]:
    return [segment for segment in path.split(".") if segment]


def policy_key(policy_name: str) -> str | None:
    for pattern, key in POLICY_KEYS:
        if fnmatch.fnmatchcase(policy_name, pattern):
            return key
    return None


def _child_key(component_type: str, resource_type: str) -> str | None:
    for pattern, sub in CHILD_KEYS.get(component_type, ()):
        if fnmatch.fnmatchcase(resource_type, pattern):
            return sub
    return None


def component_key(urn: str, by_urn: Mapping[str, CapturedResource]) -> tuple[str | None, list[str]]:
    """The key of the innermost mapped component holding `urn` (itself included; refined by `CHILD_KEYS`
    for its resources), and the names of the resource and its ancestors (innermost first) for selecting
    list items."""
    names: list[str] = []
    key: str | None = None
    resource = current = by_urn.get(urn)
    seen: set[str] = set()
    while current is not None and current.urn not in seen:
        seen.add(current.urn)
        names.append(current.name)
        if key is None and current.type in COMPONENT_KEYS:
            key = COMPONENT_KEYS[current.type]
            child = _child_key(current.type, resource.type) if resource is not current and resource else None
            key = f"{key}.{child}" if child else key
        current = by_urn.get(current.parent or "")
    return key, names


def _mapping_value(node: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


def _select_item(node: SequenceNode, names: Sequence[str]) -> Node | None:
    """The item whose identifying field is a dash-delimited part of a resource/ancestor name (longest wins:
    `payments-api` before `payments`)."""
    best: tuple[int, Node] | None = None
    for item in node.value:
        if not isinstance(item, MappingNode):
            continue
        for field in ITEM_ID_FIELDS:
            found = _mapping_value(item, field)
            if found is None or not isinstance(found[1], ScalarNode):
                continue
            ident = str(found[1].value)
            if (
                ident
                and any(f"-{ident}-" in f"-{n}-" for n in names)
                and (best is None or len(ident) > best[0])
            ):
                best = (len(ident), item)
    return best[1] if best else None


def locate_key(root: Node | None, namespace: str, path: str, names: Sequence[str]) -> tuple[int, bool, str]:
    """(1-based line, whole path present?, the key path as found) of `namespace:path` in a stack file's
    YAML node tree; the line of the deepest present key, or of `config:` (or 1) when even the top is
    absent."""
    if not isinstance(root, MappingNode):
        return 1, False, ""
    found = _mapping_value(root, "config")
    if found is None or not isinstance(found[1], MappingNode):
        return 1, False, ""
    line = found[0].start_mark.line + 1
    segments = _split(path)
    top, rest = segments[0], segments[1:]
    top_key = f"{namespace}:{top.removesuffix(LIST_ITEM)}"
    entry = _mapping_value(found[1], top_key)
    if entry is None:
        return line, False, ""
    line, node, shown = entry[0].start_mark.line + 1, entry[1], top_key
    for i, segment in enumerate([top, *rest]):
        name = segment.removesuffix(LIST_ITEM)
        if i:
            child = _mapping_value(node, name) if isinstance(node, MappingNode) else None
            if child is None:
                return line, False, shown
            line, node, shown = child[0].start_mark.line + 1, child[1], f"{shown}.{name}"
        if segment.endswith(LIST_ITEM):
            item = _select_item(node, names) if isinstance(node, SequenceNode) else None
            if item is None:
                return line, False, shown
            line, node, shown = item.start_mark.line + 1, item, f"{shown}[{_item_label(item)}]"
    return line, True, shown


def _item_label(item: Node) -> str:
    if isinstance(item, MappingNode):
        for field in ITEM_ID_FIELDS:
            found = _mapping_value(item, field)
            if found is not None and isinstance(found[1], ScalarNode):
                return f"{field}={found[1].value}"
    return "?"


def compose_stack_file(path: Path) -> Node | None:
    """The stack file's YAML node tree (for line numbers), loaded with the hostile-input-safe loader first;
    None when it cannot be read (the preview has already reported why)."""
    try:
        text = read_text(path, "stack config")
        load_text(text, str(path))  # the limits (size, depth, aliases, duplicates) before composing
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (InputFileError, yaml.YAMLError, OSError):
        return None


def program_file(program_dir: Path | None) -> Path | None:
    if program_dir is None:
        return None
    if program_dir.is_dir():
        main = program_dir / "__main__.py"
        return main if main.is_file() else program_dir
    return program_dir


class Locator:
    """Finds the config location of each (policy, resource) of one preview."""

    def __init__(
        self,
        *,
        project: str,
        stack_file: Path | None,
        program_dir: Path | None,
        resources: Sequence[CapturedResource],
    ) -> None:
        self.blueprint = project == BLUEPRINT_NAMESPACE
        self.stack_file = stack_file
        self.program = program_file(program_dir)
        self.by_urn = {r.urn: r for r in resources}
        self.root = compose_stack_file(stack_file) if stack_file is not None and self.blueprint else None

    def locate(self, policy_name: str, urn: str) -> ConfigLocation | None:
        """Where to fix a result of `policy_name` on `urn` (empty for the stack); None when only the
        fallback applies and there is no program file either."""
        comp, names = component_key(urn, self.by_urn) if urn else (None, [])
        key = policy_key(policy_name) if self.blueprint else None
        key = key or (comp if self.blueprint else None)
        if key and self.stack_file is not None and self.root is not None:
            line, present, shown = locate_key(self.root, BLUEPRINT_NAMESPACE, key, names)
            intended = shown if present else f"{BLUEPRINT_NAMESPACE}:{key.replace(LIST_ITEM, '')}"
            return ConfigLocation(self.stack_file, line, intended, present)
        if self.program is not None:
            return ConfigLocation(self.program, 1, "", False)
        if self.stack_file is not None:
            return ConfigLocation(self.stack_file, 1, "", False)
        return None
