"""The hardened-rke2 tooling around the Pulumi program: the offline preview engine, its CLI and reports.

`capture` runs a program under Pulumi's mock engine; `project` and `language_host` read and run a project
the way the Pulumi CLI and language host do; `providers` adds the default providers; `analysis` drives
policy packs through the analyzer protocol; `preview` puts the steps together; `reports` and `cli` present
the result; `config_reference` generates docs/config-reference.md from the stack-config models.

Nothing here contacts a provider, Rancher, a cluster or the Pulumi service. This package may import
`blueprint` and `components`; they never import it (see docs/architecture.md).
"""

import contextlib as _contextlib
import gc as _gc
import os as _os
import sys as _sys
from collections.abc import Iterator as _Iterator

GC_ENV = "HARDENED_RKE2_GC"
"""`default` keeps CPython's collector settings (the CLI benchmark measures both)."""
GC_THRESHOLDS = (50_000, 50, 100)
"""A one-shot CLI run allocates ~a million long-lived objects (imports, the program, the pack) and frees
little: the default gen-0 threshold (700) runs hundreds of collections that find nothing to free."""


def tune_gc() -> bool:
    """Raise the collector's thresholds for a one-shot run (unless `HARDENED_RKE2_GC=default`)."""
    if _os.environ.get(GC_ENV) == "default":
        return False
    _gc.set_threshold(*GC_THRESHOLDS)
    return True


@_contextlib.contextmanager
def tuned_gc() -> _Iterator[bool]:
    """`tune_gc()` for one block (a preview inside a longer-lived process: tests, benchmarks, a library
    caller), then the caller's thresholds again."""
    before = _gc.get_threshold()
    tuned = tune_gc()
    try:
        yield tuned
    finally:
        _gc.set_threshold(*before)


# Started as the `hardened-rke2` console script: tune before the CLI's imports (~1 s of them) run.
if _os.path.basename(_sys.argv[0] if _sys.argv else "") == "hardened-rke2":
    tune_gc()
