"""The components as a Pulumi component provider: usable from TypeScript, Go, C#, Java and YAML.

`model_schema.py` turns the components' pydantic args models (the one source of truth) into schema types,
`served.py` says which components are served with which extra inputs and outputs, `schema.py` assembles
the package schema (committed as provider/schema.json), and `provider.py` validates and constructs the
components for the engine (`Construct` over gRPC); its `serve()` is the plugin's entry point
(provider/__main__.py). See docs/component-provider.md.
"""

PACKAGE = "hardened-rke2"
"""The package name: every type token is `hardened-rke2:<module>:<Name>`, as the components register."""
