"""The hardened-rke2 stack program: typed stack config, composition, offline engine, CLI and reports."""
