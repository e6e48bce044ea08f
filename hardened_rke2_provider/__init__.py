"""The components as a Pulumi component provider: usable from TypeScript, Go, C#, Java and YAML.

`schema.py` derives the package schema from the components' pydantic args models (the one source of
truth), `components.py` says which components are served and with which extra inputs and outputs,
`provider.py` constructs them for the engine (`Construct` over gRPC) and `host.py` is the plugin's entry
point. See docs/component-provider.md.
"""

PACKAGE = "hardened-rke2"
"""The package name: every type token is `hardened-rke2:<module>:<Name>`, as the components register."""
