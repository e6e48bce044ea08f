"""The default providers the engine would create, and `pulumi:disable-default-providers`.

Policies see a provider's inputs (its `<package>:` config), so the offline engine must create them too.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from typing import Any

from hardened_rke2.analysis.inputs import AnalyzerInput
from hardened_rke2.analysis.wire import SECRET_SIG, SIG_KEY
from hardened_rke2.capture import (
    CapturedResource,
)


def default_providers(
    resources: Sequence[CapturedResource],
    config: Mapping[str, str],
    *,
    project: str,
    stack: str,
    secret_keys: Sequence[str] = (),
) -> tuple[list[AnalyzerInput], dict[str, str]]:
    """The default providers the engine would create for custom resources without an explicit provider.

    Their inputs are the `<package>:` stack config (as the engine passes it). Returns the provider inputs
    and a map resource URN -> default provider URN.
    """
    providers: dict[str, AnalyzerInput] = {}
    assignment: dict[str, str] = {}
    for r in resources:
        if not r.custom or r.provider or r.type.startswith("pulumi:"):
            continue
        package = r.type.split(":", 1)[0]
        if package not in providers:
            version = _package_version(package)
            name = "default" + (f"_{version.replace('.', '_').replace('-', '_')}" if version else "")
            # Secret config stays secret in the provider's inputs (the engine sends it with KeepSecrets).
            props: dict[str, Any] = {
                k.split(":", 1)[1]: ({SIG_KEY: SECRET_SIG, "value": v} if k in secret_keys else v)
                for k, v in config.items()
                if k.startswith(package + ":")
            }
            if version:
                props["version"] = version
            providers[package] = AnalyzerInput(
                urn=f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::{name}",
                type=f"pulumi:providers:{package}",
                name=name,
                props=props,
            )
        assignment[r.urn] = providers[package].urn
    return list(providers.values()), assignment


def disabled_default_providers(
    config: Mapping[str, str], providers: Sequence[AnalyzerInput], assignment: Mapping[str, str]
) -> list[str]:
    """`pulumi:disable-default-providers` makes the engine fail a resource that needs a default provider."""
    raw = config.get("pulumi:disable-default-providers")
    if not raw:
        return []
    try:
        disabled = json.loads(raw)
    except json.JSONDecodeError:
        disabled = [raw]
    if not isinstance(disabled, list):
        disabled = [disabled]
    errors = []
    for provider in providers:
        package = provider.type.split(":")[-1]
        if "*" in disabled or package in disabled:
            users = sorted(urn for urn, p in assignment.items() if p == provider.urn)
            errors.append(
                f"Default provider for '{package}' disabled. '{users[0]}' must use an explicit provider"
                + (f" (and {len(users) - 1} more)" if len(users) > 1 else "")
            )
    return errors


def _package_version(package: str) -> str:
    for dist in (f"pulumi_{package}", f"pulumi-{package}"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(dist)
    return ""
