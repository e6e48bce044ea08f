"""The package schema is the real contract: generated from the args models, committed, and complete."""

from __future__ import annotations

import inspect
import json
import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from hardened_rke2_provider import served
from hardened_rke2_provider.model_schema import type_token
from hardened_rke2_provider.schema import SCHEMA_PATH, build_schema, render

PUBLIC_COMPONENTS = {
    "hardened-rke2:cluster:HardenedCluster",
    "hardened-rke2:addons:ClusterAddons",
    "hardened-rke2:gitops:GitOpsRepo",
    "hardened-rke2:gitops:GitRepoRestriction",
    "hardened-rke2:management:ManagementPlane",
    "hardened-rke2:tenancy:TeamTenancy",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return build_schema()


def test_the_committed_schema_is_current(schema: dict[str, Any]) -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(schema), (
        "provider/schema.json is stale: run `.venv/bin/python -m hardened_rke2_provider.schema` and commit it"
    )


def test_every_public_component_is_served_under_the_token_it_registers(schema: dict[str, Any]) -> None:
    assert set(schema["resources"]) == PUBLIC_COMPONENTS
    for spec in served.SERVED:
        source = inspect.getsource(spec.component)
        assert re.search(rf'super\(\).__init__\(\s*"{re.escape(spec.token)}"', source), spec.token
        assert schema["resources"][spec.token]["isComponent"] is True


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models(a)]


def _all_models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if model in seen:
        return seen
    seen.add(model)
    for info in model.model_fields.values():
        for sub in _models(info.annotation):
            _all_models(sub, seen)
    return seen


@pytest.mark.parametrize("spec", served.SERVED, ids=lambda s: s.name)
def test_inputs_are_the_args_model_plus_the_declared_extras(
    spec: served.Served, schema: dict[str, Any]
) -> None:
    resource = schema["resources"][spec.token]
    fields = _fields(spec.args_model)
    extras = {p.name for p in spec.extra_inputs}
    assert set(resource["inputProperties"]) == set(fields) | extras
    required = {k for k, info in fields.items() if info.is_required()} | {
        p.name for p in spec.extra_inputs if p.required
    }
    assert set(resource["requiredInputs"]) == required
    assert {o.name for o in spec.outputs} == set(resource["properties"])


@pytest.mark.parametrize("spec", served.SERVED, ids=lambda s: s.name)
def test_every_nested_model_is_a_type_with_the_same_fields_defaults_and_secrets(
    spec: served.Served, schema: dict[str, Any]
) -> None:
    for model in _all_models(spec.args_model, set()):
        props = (
            schema["resources"][spec.token]["inputProperties"]
            if model is spec.args_model
            else schema["types"][type_token(model)]["properties"]
        )
        for key, info in _fields(model).items():
            prop = props[key]
            assert prop["description"], f"{model.__name__}.{key} has no description"
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            if isinstance(default, (str, int, float, bool)) and not isinstance(default, SecretStr):
                assert prop.get("default") == default, f"{model.__name__}.{key}"
            else:
                assert "default" not in prop
            secret = SecretStr in (info.annotation, *typing.get_args(info.annotation))
            assert prop.get("secret", False) is secret, f"{model.__name__}.{key}"


def test_every_input_and_output_is_typed_and_documented(schema: dict[str, Any]) -> None:
    def check(where: str, prop: dict[str, Any]) -> None:
        assert prop.get("description"), where
        assert {"type", "$ref", "oneOf"} & set(prop), f"{where} has no type"

    for token, resource in schema["resources"].items():
        assert resource["description"], token
        for key, prop in {**resource["inputProperties"], **resource["properties"]}.items():
            check(f"{token}.{key}", prop)
    for token, type_ in schema["types"].items():
        assert type_["description"], token
        for key, prop in type_.get("properties", {}).items():
            check(f"{token}.{key}", prop)
        assert ("enum" in type_) != ("properties" in type_), f"{token}: an object type or an enum"


def test_every_local_reference_resolves(schema: dict[str, Any]) -> None:
    refs = set(re.findall(r'"#/types/([^"]+)"', json.dumps(schema)))
    assert refs and refs <= set(schema["types"])


def test_secrets_stay_secrets(schema: dict[str, Any]) -> None:
    resources = schema["resources"]
    cluster = resources["hardened-rke2:cluster:HardenedCluster"]["properties"]
    assert all(cluster[k]["secret"] for k in ("kubeconfig", "registrationCommand", "registrationCommands"))
    plane = resources["hardened-rke2:management:ManagementPlane"]["properties"]
    assert plane["adminPassword"]["secret"] and plane["automationToken"]["secret"]
    addons = resources["hardened-rke2:addons:ClusterAddons"]["properties"]
    assert addons["neuvectorBootstrapPassword"]["secret"]
    s3 = schema["types"]["hardened-rke2:cluster:S3SnapshotArgs"]["properties"]
    assert s3["accessKey"]["secret"] and s3["secretKey"]["secret"]


def test_tagged_unions_are_discriminated(schema: dict[str, Any]) -> None:
    driver = schema["types"]["hardened-rke2:node_pools:NodePoolArgs"]["properties"]["driver"]
    assert driver["discriminator"]["propertyName"] == "type"
    assert set(driver["discriminator"]["mapping"]) == {
        "custom",
        "amazonec2",
        "harvester",
        "vsphere",
        "digitalocean",
    }
    sso = schema["resources"]["hardened-rke2:management:ManagementPlane"]["inputProperties"]["sso"]
    assert sso["discriminator"]["propertyName"] == "provider"


def test_literals_are_enums_or_consts(schema: dict[str, Any]) -> None:
    cni = schema["types"]["hardened-rke2:cluster:NetworkArgs"]["properties"]["cni"]
    assert cni["$ref"] == "#/types/hardened-rke2:cluster:NetworkArgsCni" and cni["default"] == "canal"
    assert 'One of: "canal", "calico", "cilium".' in cni["description"]
    enum = schema["types"]["hardened-rke2:cluster:NetworkArgsCni"]
    assert enum["type"] == "string"
    assert [(e["name"], e["value"]) for e in enum["enum"]] == [
        ("Canal", "canal"),
        ("Calico", "calico"),
        ("Cilium", "cilium"),
    ]
    line = schema["types"]["hardened-rke2:management:RancherServerArgsRancherLine"]
    assert [e["name"] for e in line["enum"]] == ["V2_11", "V2_12", "V2_13"]
    tag = schema["types"]["hardened-rke2:node_pools:CustomDriver"]["properties"]["type"]
    assert tag["type"] == "string" and tag["const"] == "custom"


def test_no_reserved_or_private_names(schema: dict[str, Any]) -> None:
    # `urn` is reserved on components and `pulumi` everywhere (Pulumi's schema binder rejects them)
    for token, resource in schema["resources"].items():
        assert not {"urn", "pulumi"} & {*resource["inputProperties"], *resource["properties"]}, token
    for token, type_ in schema["types"].items():
        assert not token.rsplit(":", 1)[-1].startswith("_"), token
        assert "pulumi" not in type_.get("properties", {}), token
