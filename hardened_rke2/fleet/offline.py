"""The offline fleet workspace: each stack through `preview_project` in this process (the pack and the
imports load once for the whole fleet), fed the outputs its dependencies' previews exported.

What a dependent sees for `StackReference("org/project/stack")`: the dependency's preview outputs. A value
that preview cannot know (computed by a provider at deploy time) is taken from the stack's
`stackReferenceOutputs` file (the deployed outputs) when it gives one; otherwise it is left out, with a
warning on the dependent stack. It cannot stay unknown: the SDK reads a StackReference's outputs as ONE
value, so a single unknown output would make every output of the reference unknown (pulumi/output.py
`StackReference.get_output` applies over the whole `outputs` property). Outputs exported as secrets are
passed as secrets (`secretOutputNames`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

from hardened_rke2.analysis.errors import (
    PolicyConfigError,
    PolicyPackImportError,
    PolicyPackLoadError,
    PolicyPackRuntimeError,
)
from hardened_rke2.capture import UNKNOWN, plain
from hardened_rke2.exit_codes import EXIT_PROGRAM, EXIT_USAGE
from hardened_rke2.fleet.model import FleetStack
from hardened_rke2.fleet.orchestrate import ReferenceOutputs, StackOutcome
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import PreviewUsageError, load_stack_reference_outputs
from hardened_rke2.reports import summary

_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig


def reference_outputs(stack_outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A preview's exports (wire form) as another stack's StackReference sees them."""
    return {
        "outputs": {k: plain(v) for k, v in stack_outputs.items()},
        "secretOutputNames": sorted(k for k, v in stack_outputs.items() if _has_secret(v)),
    }


def _has_secret(value: Any) -> bool:
    if isinstance(value, Mapping):
        return value.get(_SIG) == _SECRET_SIG or any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


def merge_known(previewed: Any, deployed: Any) -> Any:
    """The previewed value where it is known, the deployed one where the preview left it unknown."""
    if previewed == UNKNOWN:
        return deployed
    if isinstance(previewed, Mapping) and isinstance(deployed, Mapping):
        return {k: merge_known(v, deployed.get(k, UNKNOWN)) for k, v in previewed.items()}
    return previewed


def _entry(value: Mapping[str, Any]) -> dict[str, Any]:
    """A `--stack-reference-outputs` entry in its long form."""
    if isinstance(value.get("outputs"), Mapping) and set(value) <= {"outputs", "secretOutputNames"}:
        return {
            "outputs": dict(value["outputs"]),
            "secretOutputNames": list(value.get("secretOutputNames") or []),
        }
    return {"outputs": dict(value), "secretOutputNames": []}


def without_unknowns(value: Any, path: str, dropped: list[str]) -> Any:
    """`value` with every unknown left out (its path noted in `dropped`)."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if v == UNKNOWN:
                dropped.append(f"{path}.{k}" if path else str(k))
            else:
                out[k] = without_unknowns(v, f"{path}.{k}" if path else str(k), dropped)
        return out
    if isinstance(value, list):
        if any(v == UNKNOWN for v in value):
            dropped.append(f"{path}[…]")
        return [without_unknowns(v, f"{path}[{i}]", dropped) for i, v in enumerate(value) if v != UNKNOWN]
    return value


def stack_references(
    upstream: Mapping[str, ReferenceOutputs],
    deployed: Mapping[str, Mapping[str, Any]] | None,
    warnings: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The `--stack-reference-outputs` mapping for a stack: its dependencies' preview outputs over the
    deployed ones; unknowns that remain are left out and named in `warnings`."""
    refs = {name: _entry(v) for name, v in (deployed or {}).items()}
    for name, value in upstream.items():
        entry = _entry(value)
        if name in refs:
            old = refs[name]
            entry["outputs"] = {
                **old["outputs"],
                **{k: merge_known(v, old["outputs"].get(k, UNKNOWN)) for k, v in entry["outputs"].items()},
            }
            entry["secretOutputNames"] = sorted(
                set(entry["secretOutputNames"]) | set(old["secretOutputNames"])
            )
        dropped: list[str] = []
        entry["outputs"] = without_unknowns(entry["outputs"], "", dropped)
        if dropped and warnings is not None:
            warnings.append(
                f"{name}: its preview cannot know {', '.join(dropped)} (computed when it is deployed), so "
                "the StackReference leaves it out; if this stack reads it, give the deployed value in the "
                "stack's stackReferenceOutputs file"
            )
        refs[name] = entry
    return refs


_USAGE = (PreviewUsageError, PolicyConfigError, PolicyPackLoadError, PolicyPackRuntimeError)


class OfflineWorkspace:
    """Previews stacks under the mock engine with the fleet's policy packs."""

    max_parallel = 1  # one Pulumi runtime per process: stacks run one after the other

    def __init__(
        self, policy_packs: Sequence[str | os.PathLike[str]], policy_mode: str = "inprocess"
    ) -> None:
        self.policy_packs = [str(p) for p in policy_packs]
        self.policy_mode = policy_mode
        self._deployed: dict[Path, dict[str, dict[str, Any]]] = {}  # a file many team stacks share

    def _deployed_outputs(self, path: Path | None) -> dict[str, dict[str, Any]] | None:
        if path is None:
            return None
        if path not in self._deployed:
            self._deployed[path] = load_stack_reference_outputs(path)
        return self._deployed[path]

    def run(self, stack: FleetStack, upstream: Mapping[str, ReferenceOutputs]) -> StackOutcome:
        t0 = time.perf_counter()
        warnings: list[str] = []
        try:
            deployed = self._deployed_outputs(stack.stack_reference_outputs)
            result = preview_project(
                stack.project_dir,
                stack.stack,
                policy_packs=self.policy_packs,
                policy_pack_configs=[str(p) for p in stack.policy_pack_configs],
                stack_reference_outputs=stack_references(upstream, deployed, warnings),
                policy_mode=self.policy_mode,
            )
            result.warnings.extend(w for w in warnings if w not in result.warnings)
        except PolicyPackImportError as e:  # the pack's own code failed: exit 3, as `preview`
            return self._failed(stack, t0, "error", EXIT_PROGRAM, str(e))
        except _USAGE as e:
            return self._failed(stack, t0, "usage-error", EXIT_USAGE, str(e))
        return outcome_of(stack, result, time.perf_counter() - t0)

    @staticmethod
    def _failed(stack: FleetStack, t0: float, status: str, code: int, text: str) -> StackOutcome:
        result = PreviewResult(project=stack.project_name, stack=stack.stack, status=status, error=text)
        return StackOutcome(
            stack.name, status, exit_code=code, seconds=time.perf_counter() - t0, detail=text, result=result
        )


def outcome_of(stack: FleetStack, result: PreviewResult, seconds: float) -> StackOutcome:
    s = summary(result)
    status = result.status if result.status != "ok" else ("violations" if result.has_mandatory else "ok")
    detail = result.error or "; ".join(result.problems)
    return StackOutcome(
        stack.name,
        status,
        exit_code=result.exit_code,
        resources=int(s["resources"]),
        mandatory=int(s["mandatory"]),
        advisory=int(s["advisory"]),
        seconds=seconds,
        # Violations still leave a preview with outputs; a failed program leaves none.
        outputs=reference_outputs(result.stack_outputs) if result.status == "ok" else None,
        detail=detail,
        timings=dict(result.timings),
        result=result,
    )
