"""The Pulumi package schema: the served components (`served.py`) with their args models' types
(`model_schema.py`), the one source of truth. `python -m hardened_rke2_provider.schema` writes
provider/schema.json; a test fails when the committed copy is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from hardened_rke2_provider import PACKAGE, served
from hardened_rke2_provider.model_schema import JsonDict, SchemaBuilder, dependency_versions, package_version

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "provider" / "schema.json"
"""The committed schema (next to PulumiPlugin.yaml); `tests/hardened_rke2_provider` fails when it is stale."""


def build_schema() -> JsonDict:
    """The whole package schema: every served component (see `served.SERVED`)."""
    builder = SchemaBuilder()
    resources: dict[str, JsonDict] = {}
    for spec in served.SERVED:
        resources[spec.token] = spec.resource_schema(builder)
    builder.types.update(served.extra_types(builder))
    return {
        "name": PACKAGE,
        "displayName": "Hardened RKE2",
        "version": package_version(),
        "description": (
            "Rancher-managed RKE2 clusters hardened per the NSA/CISA Kubernetes Hardening Guide v1.2: "
            "the cluster, its add-ons, Fleet GitOps, the Rancher management plane and team tenant spaces."
        ),
        "license": "Apache-2.0",
        "keywords": [
            "rke2",
            "rancher",
            "kubernetes",
            "hardening",
            "category/infrastructure",
            "kind/component",
        ],
        "meta": {"moduleFormat": "(.*)"},
        "dependencies": [
            {"name": name, "version": version} for name, version in sorted(dependency_versions().items())
        ],
        "language": {
            "nodejs": {"respectSchemaVersion": True},
            "python": {"respectSchemaVersion": True, "pyproject": {"enabled": True}},
            "csharp": {"respectSchemaVersion": True},
            "go": {"respectSchemaVersion": True, "generateResourceContainerTypes": True},
            "java": {"respectSchemaVersion": True},
        },
        "config": {},
        "provider": {"description": "The hardened-rke2 component provider (no configuration)."},
        "types": dict(sorted(builder.types.items())),
        "resources": resources,
    }


def render(schema: JsonDict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m hardened_rke2_provider.schema [--check]`: write provider/schema.json (or check it)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    text = render(build_schema())
    if "--check" in args:
        if not SCHEMA_PATH.exists() or SCHEMA_PATH.read_text(encoding="utf-8") != text:
            print(f"{SCHEMA_PATH} is stale: run python -m hardened_rke2_provider.schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
