"""Where, when and on what a benchmark ran: printed first by every benchmark and stored with its figures.

A figure without this header is not publishable (README figures quote a benchmark's output, see
benchmarks/README.md).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
from typing import Any

PACKAGES = ("pulumi", "pulumi-policy", "pulumi-kubernetes", "pulumi-rancher2", "hardened-rke2")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(load[0], 2) if load else None,
        "platform": platform.platform(),
        "processor": platform.machine(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in PACKAGES},
    }


def header(name: str) -> dict[str, Any]:
    """Print the machine header for benchmark `name` and return it (to store next to the figures)."""
    info = describe()
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    where = f"{info['cpu_count']} CPUs ({info['platform']}, {info['processor']})"
    print(f"# {name} — {info['date_utc']} on {where}")
    print(f"# Python {info['python']}; {versions}; 1-min load average {info['load_average_1m']}")
    return info
