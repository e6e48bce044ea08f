"""The hardened-rke2 Pulumi program: typed stack config, composition of the components, `__main__.py`.

The offline engine, CLI and docs generator live in `hardened_rke2` (see docs/architecture.md).
"""
