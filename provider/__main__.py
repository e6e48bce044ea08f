"""Plugin entry point: serve the hardened-rke2 components to the engine (docs/component-provider.md)."""

import sys

from hardened_rke2_provider.provider import serve

if __name__ == "__main__":
    serve(sys.argv[1:])
