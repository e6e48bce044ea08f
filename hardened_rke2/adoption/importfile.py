"""The `pulumi import --file` document for an adopted cluster.

Format: pulumi/pulumi pkg/cmd/pulumi/operations/import.go (`importFile`: `resources: [{type, name, id,
parent, logicalName, component}]`; `parseImportFile` builds each URN from the parent's type and the
`logicalName`). The entries reproduce the URNs the blueprint program registers: `HardenedCluster(<name>)`
(type `hardened-rke2:cluster:HardenedCluster`) with its `rancher2.ClusterV2(<name>)` child
(components/cluster.py). The ClusterV2's id is Rancher's `<fleet namespace>/<cluster name>`, what the
provider's importer reads (terraform-provider-rancher2 v13.5.0 rancher2/import_rancher2_cluster_v2.go,
docs/resources/cluster_v2.md "Import"). Machine configs are not listed: the provider cannot import them (see
`mapping._pools`).
"""

from __future__ import annotations

from typing import Any

from hardened_rke2.adoption.mapping import Adoption

COMPONENT_TYPE = "hardened-rke2:cluster:HardenedCluster"
CLUSTER_V2_TYPE = "rancher2:index/clusterV2:ClusterV2"


def import_file(adoption: Adoption) -> dict[str, Any]:
    name = adoption.cluster_name
    component = f"{name}-component"
    return {
        "resources": [
            {"type": COMPONENT_TYPE, "name": component, "logicalName": name, "component": True},
            {
                "type": CLUSTER_V2_TYPE,
                "name": name,
                "logicalName": name,
                "id": adoption.rancher_id,
                "parent": component,
            },
        ]
    }


def import_urns(document: dict[str, Any], *, stack: str, project: str) -> dict[str, str]:
    """name -> URN, computed as `pulumi import` does: resource.NewURN(stack, project, parentType, type,
    logicalName), where parentType is the parent URN's qualified type (its own chain of types joined by `$`;
    a resource without a parent sits under the stack, whose type URNs leave out)."""
    specs = {s["name"]: s for s in document["resources"]}

    def qualified(name: str) -> str:
        spec = specs[name]
        parent = spec.get("parent")
        return (qualified(parent) + "$" if parent else "") + spec["type"]

    return {
        name: f"urn:pulumi:{stack}::{project}::{qualified(name)}::{spec.get('logicalName') or name}"
        for name, spec in specs.items()
    }
