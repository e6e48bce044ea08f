"""The examples under examples/ use the package as its schema says: every type, property and output exists,
every value has the schema's type, and the settings pass the same models the Python API validates with."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from hardened_rke2_provider.schema import SCHEMA_PATH
from hardened_rke2_provider.served import BY_TOKEN
from tests.support.paths import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
YAML_EXAMPLE = EXAMPLES / "yaml-cluster" / "Pulumi.yaml"
TS_EXAMPLE = EXAMPLES / "typescript-cluster"
INTERPOLATION = re.compile(r"^\$\{([^}]+)\}$")
PRIMITIVES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def program() -> dict[str, Any]:
    return yaml.safe_load(YAML_EXAMPLE.read_text(encoding="utf-8"))


class Checker:
    """Walks a YAML value against a schema property spec and collects every mismatch."""

    def __init__(self, schema: dict[str, Any], program: dict[str, Any]) -> None:
        self.schema = schema
        self.program = program
        self.errors: list[str] = []

    def interpolation(self, where: str, text: str) -> None:
        """`${config}` or `${resource.output}`: the name must exist (its type is the engine's business)."""
        ref = text.split(".")
        if len(ref) == 1:
            if ref[0] not in self.program.get("config", {}):
                self.errors.append(f"{where}: unknown config {ref[0]!r}")
            return
        resource = self.program["resources"].get(ref[0])
        if resource is None:
            self.errors.append(f"{where}: unknown resource {ref[0]!r}")
            return
        outputs = self.schema["resources"][resource["type"]]["properties"]
        if ref[1] not in outputs:
            self.errors.append(f"{where}: {resource['type']} has no output {ref[1]!r}")

    def value(self, where: str, value: Any, spec: dict[str, Any]) -> None:
        if isinstance(value, str) and (m := INTERPOLATION.match(value)):
            self.interpolation(where, m.group(1))
            return
        if "oneOf" in spec:
            tag = spec["discriminator"]["propertyName"]
            ref = spec["discriminator"]["mapping"].get(value.get(tag) if isinstance(value, dict) else None)
            if ref is None:
                self.errors.append(
                    f"{where}: {tag} must be one of {sorted(spec['discriminator']['mapping'])}"
                )
                return
            self.value(where, value, {"$ref": ref})
            return
        ref = spec.get("$ref", "")
        if ref.startswith("#/types/"):
            type_ = self.schema["types"][ref.removeprefix("#/types/")]
            if "enum" in type_:
                allowed = [e["value"] for e in type_["enum"]]
                if value not in allowed:
                    self.errors.append(f"{where}: {value!r} is not one of {allowed}")
                return
            self.object(where, value, type_["properties"], type_.get("required", []))
            return
        if ref:  # another package's resource (a provider): only an interpolation can give one
            self.errors.append(f"{where}: expected a reference to a {ref.rsplit('/', 1)[-1]}")
            return
        kind = spec.get("type")
        if kind == "array":
            if not isinstance(value, list):
                self.errors.append(f"{where}: expected a list")
                return
            for i, item in enumerate(value):
                self.value(f"{where}[{i}]", item, spec["items"])
        elif kind == "object":
            if not isinstance(value, dict):
                self.errors.append(f"{where}: expected a map")
                return
            for k, item in value.items():
                self.value(f"{where}.{k}", item, spec["additionalProperties"])
        elif kind in PRIMITIVES:
            ok = isinstance(value, PRIMITIVES[kind]) and not (kind != "boolean" and isinstance(value, bool))
            if not ok:
                self.errors.append(f"{where}: expected {kind}, got {type(value).__name__}")

    def object(self, where: str, value: Any, props: dict[str, Any], required: list[str]) -> None:
        if not isinstance(value, dict):
            self.errors.append(f"{where}: expected an object")
            return
        for key in required:
            if key not in value:
                self.errors.append(f"{where}: missing required {key!r}")
        for key, item in value.items():
            if key not in props:
                self.errors.append(f"{where}: unknown property {key!r}")
            else:
                self.value(f"{where}.{key}", item, props[key])


def test_the_yaml_example_adds_this_package(program: dict[str, Any]) -> None:
    source = program["packages"]["hardened-rke2"]
    plugin = yaml.safe_load((YAML_EXAMPLE.parent / source / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    assert (YAML_EXAMPLE.parent / source / "__main__.py").is_file()


def test_every_type_and_property_of_the_yaml_example_is_in_the_schema(
    program: dict[str, Any], schema: dict[str, Any]
) -> None:
    checker = Checker(schema, program)
    types = {r["type"] for r in program["resources"].values()}
    assert {"hardened-rke2:cluster:HardenedCluster", "hardened-rke2:addons:ClusterAddons"} <= types
    for name, resource in program["resources"].items():
        spec = schema["resources"].get(resource["type"])
        if spec is None:
            checker.errors.append(f"{name}: unknown type {resource['type']}")
            continue
        checker.object(name, resource.get("properties", {}), spec["inputProperties"], spec["requiredInputs"])
    for key, value in program.get("outputs", {}).items():
        checker.value(f"outputs.{key}", value, {})
    assert not checker.errors, "\n".join(checker.errors)


def test_the_checker_catches_mistakes(program: dict[str, Any], schema: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(program))
    cluster = broken["resources"]["cluster"]["properties"]
    cluster["kubernetesVersoin"] = cluster.pop("kubernetesVersion")
    cluster["nodePools"][0]["driver"]["type"] = "openstack"
    cluster["etcd"]["snapshotRetention"] = "twelve"
    cluster["nodePools"][2]["taints"][0]["effect"] = "Sometimes"
    broken["resources"]["addons"]["properties"]["clusterHandle"] = "${cluster.nope}"
    checker = Checker(schema, broken)
    for name, resource in broken["resources"].items():
        spec = schema["resources"][resource["type"]]
        checker.object(name, resource["properties"], spec["inputProperties"], spec["requiredInputs"])
    assert sorted(checker.errors) == sorted(
        [
            "cluster: unknown property 'kubernetesVersoin'",
            "cluster.nodePools[0].driver: type must be one of "
            "['amazonec2', 'custom', 'digitalocean', 'harvester', 'vsphere']",
            "cluster.etcd.snapshotRetention: expected integer, got str",
            "cluster.nodePools[2].taints[0].effect: 'Sometimes' is not one of "
            "['NoSchedule', 'PreferNoSchedule', 'NoExecute']",
            "addons.clusterHandle: hardened-rke2:cluster:HardenedCluster has no output 'nope'",
        ]
    )


def test_the_yaml_examples_settings_pass_the_python_models(program: dict[str, Any]) -> None:
    config = {k: v.get("default") for k, v in program.get("config", {}).items()}
    for resource in program["resources"].values():
        spec = BY_TOKEN[resource["type"]]
        extras = {p.name for p in spec.extra_inputs}
        settings = {k: v for k, v in resource["properties"].items() if k not in extras}
        for key, value in list(settings.items()):
            if isinstance(value, str) and (m := INTERPOLATION.match(value)):
                settings[key] = config[m.group(1)]
        spec.args_model.model_validate(settings)


def test_the_typescript_example_uses_the_schemas_components_and_outputs(schema: dict[str, Any]) -> None:
    project = yaml.safe_load((TS_EXAMPLE / "Pulumi.yaml").read_text())
    assert project["packages"]["hardened-rke2"] == "../../provider"
    source = (TS_EXAMPLE / "index.ts").read_text()
    created = dict(re.findall(r"const (\w+) = new hardened\.(\w+\.\w+)\(", source))
    assert set(created.values()) == {"cluster.HardenedCluster", "addons.ClusterAddons"}
    for var, path in created.items():
        token = "hardened-rke2:" + path.replace(".", ":")
        outputs = schema["resources"][token]["properties"]
        used = set(re.findall(rf"(?<![.\w]){var}\.(\w+)\b", source))
        assert used and used <= set(outputs), (
            f"{var}: {sorted(used - set(outputs))} are no outputs of {token}"
        )
    package = json.loads((TS_EXAMPLE / "package.json").read_text())
    assert package["dependencies"]["@pulumi/hardened-rke2"] == "file:sdks/hardened-rke2"


def test_the_readme_yaml_snippet_is_valid_too(schema: dict[str, Any]) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use from another language") :]
    snippet = yaml.safe_load(
        section[section.index("```yaml") + 7 : section.index("```", section.index("```yaml") + 7)]
    )
    snippet["config"] = {"rancherUrl": {"type": "string", "default": "https://rancher.example.com"}}
    checker = Checker(schema, snippet)
    for name, resource in snippet["resources"].items():
        spec = schema["resources"][resource["type"]]
        checker.object(name, resource["properties"], spec["inputProperties"], spec["requiredInputs"])
    for key, value in snippet["outputs"].items():
        checker.value(f"outputs.{key}", value, {})
    assert not checker.errors, "\n".join(checker.errors)
    test_the_yaml_examples_settings_pass_the_python_models(snippet)
