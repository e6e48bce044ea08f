"""Reading what `adopt --cluster FILE` is given: a Rancher `provisioning.cattle.io/v1` `Cluster`, alone or in
a `List` with the machine configs its pools reference (what `kubectl get -n fleet-default -o yaml
clusters.provisioning.cattle.io/<name> amazonec2configs.rke-machine-config.cattle.io/<config> ...` prints).

Field names follow Rancher's API types (rancher/rancher v2.13.8 pkg/apis/provisioning.cattle.io/v1/
cluster_types.go, pkg/apis/rke.cattle.io/v1/cluster_configuration_types.go). The file is read with the
hostile-input-safe loader; a shape problem is an `AdoptionInputError` naming the field (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardened_rke2.safe_yaml import InputFileError, load_file

CLUSTER_API_VERSION = "provisioning.cattle.io/v1"
MACHINE_CONFIG_API_GROUP = "rke-machine-config.cattle.io"


class AdoptionInputError(ValueError):
    """The input cannot be adopted; the message names the field and the fix."""


@dataclass
class AdoptionSource:
    cluster: dict[str, Any]
    machine_configs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(kind, name) -> the machine config object, for those the input carries."""
    path: str = ""


def load_source(path: str | os.PathLike[str]) -> AdoptionSource:
    try:
        data = load_file(path, "cluster file", json_first=True)
    except InputFileError as e:
        raise AdoptionInputError(str(e)) from None
    return parse_source(data, str(path))


def parse_source(data: Any, where: str = "<input>") -> AdoptionSource:
    if not isinstance(data, Mapping):
        raise AdoptionInputError(f"{where}: expected a Cluster object (a mapping), got {type(data).__name__}")
    objects: list[tuple[str, Any]]
    if data.get("kind") == "List":
        items = data.get("items")
        if not isinstance(items, list):
            raise AdoptionInputError(f"{where}: items: a List needs an items list")
        objects = [(f"items[{i}]", item) for i, item in enumerate(items)]
    else:
        objects = [("", data)]
    clusters: list[tuple[str, dict[str, Any]]] = []
    configs: dict[tuple[str, str], dict[str, Any]] = {}
    for at, obj in objects:
        if not isinstance(obj, Mapping):
            raise AdoptionInputError(f"{where}: {at or '<root>'}: expected an object")
        api = str(obj.get("apiVersion", ""))
        kind = obj.get("kind")
        if api == CLUSTER_API_VERSION and kind == "Cluster":
            clusters.append((at, dict(obj)))
        elif api.split("/")[0] == MACHINE_CONFIG_API_GROUP and isinstance(kind, str):
            name = _meta(obj).get("name")
            if not isinstance(name, str) or not name:
                raise AdoptionInputError(
                    f"{where}: {_join(at, 'metadata.name')}: a machine config needs a name"
                )
            configs[(kind, name)] = dict(obj)
        else:
            raise AdoptionInputError(
                f"{where}: {_join(at, 'apiVersion/kind')}: {api or 'no apiVersion'} {kind or 'no kind'} is "
                f"neither "
                f"a {CLUSTER_API_VERSION} Cluster nor a {MACHINE_CONFIG_API_GROUP} machine config "
                "(fix: export the object with `kubectl get clusters.provisioning.cattle.io -n fleet-default "
                "<name> -o yaml`)"
            )
    if len(clusters) != 1:
        raise AdoptionInputError(
            f"{where}: expected exactly one {CLUSTER_API_VERSION} Cluster, found {len(clusters)} "
            "(fix: give one cluster per adoption)"
        )
    cluster = clusters[0][1]
    meta = _meta(cluster)
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise AdoptionInputError(f"{where}: metadata.name: the Cluster has no name")
    spec = cluster.get("spec")
    if spec is not None and not isinstance(spec, Mapping):
        raise AdoptionInputError(f"{where}: spec: expected an object")
    return AdoptionSource(cluster=cluster, machine_configs=configs, path=where)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _join(at: str, rest: str) -> str:
    return f"{at}.{rest}" if at else rest
