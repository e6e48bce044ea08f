"""The offline engine's replacements for two SDK steps send the engine byte-identical requests."""

from __future__ import annotations

import gc
import runpy
import sys
from typing import Any

import pulumi.runtime.resource as sdk_resource
import pytest
from pulumi.runtime.proto import resource_pb2

from hardened_rke2 import sdk_speedups
from hardened_rke2.capture import RecordingMonitor, run_program
from tests.support.stack_configs import MOCKS, stack_values, wire_config


def test_the_installed_sdk_is_the_one_the_replacements_were_checked_against() -> None:
    # A new pulumi version runs the SDK's own (slower) code until someone re-checks this module against it.
    assert sdk_speedups.pulumi_version() in sdk_speedups.VERIFIED_PULUMI


class _Resource:
    """Three nested `__init__`s, like Resource <- CustomResource <- a generated resource class."""

    def __init__(self, depth: int, seen: list[Any]) -> None:
        if depth:
            _Resource.__init__(self, depth - 1, seen)  # another frame named __init__
        else:
            seen.append((sdk_resource._get_stack_trace(), sdk_speedups.stack_trace()))


def _pair(depth: int) -> tuple[bytes, bytes]:
    seen: list[Any] = []
    _Resource(depth, seen)
    sdk, ours = seen[0]
    return sdk.SerializeToString(deterministic=True), ours.SerializeToString(deterministic=True)


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_stack_trace_equals_the_sdks(depth: int) -> None:
    sdk, ours = _pair(depth)
    assert ours == sdk
    assert (sdk != b"") == (depth >= 2)  # fewer than three __init__ frames: an empty trace


@pytest.mark.parametrize("limit", [1, 3, 8, 1000])
def test_stack_trace_honours_the_traceback_limit(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(sys, "tracebacklimit", limit, raising=False)
    sdk, ours = _pair(3)
    assert ours == sdk


def _normalized(request: resource_pb2.RegisterResourceRequest) -> bytes:
    # The SDK collects dependencies in sets: their order is not part of what a request means.
    copy = resource_pb2.RegisterResourceRequest()
    copy.CopyFrom(request)
    deps = sorted(copy.dependencies)
    del copy.dependencies[:]
    copy.dependencies.extend(deps)
    for entry in copy.propertyDependencies.values():
        urns = sorted(entry.urns)
        del entry.urns[:]
        entry.urns.extend(urns)
    return copy.SerializeToString(deterministic=True)


class _RequestLog(RecordingMonitor):
    def __init__(self) -> None:
        super().__init__(MOCKS)
        self.requests: list[bytes] = []

    def RegisterResource(self, request: Any) -> Any:
        self.requests.append(_normalized(request))
        return super().RegisterResource(request)


def _prod_requests() -> list[bytes]:
    monitor = _RequestLog()
    run_program(
        lambda: runpy.run_module("blueprint.__main__", run_name="__main__"),
        project="hardened-rke2",
        stack="prod",
        config=wire_config(stack_values("prod")),
        monitor=monitor,
    )
    return sorted(monitor.requests)


def test_prod_program_sends_the_same_requests_with_and_without_the_replacements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = (sdk_resource._get_stack_trace, sdk_resource.create_urn, gc.get_threshold())
    runs: dict[str, list[bytes]] = {}
    for mode in ("fast", "sdk"):  # one call site: the stack traces name this line
        if mode == "sdk":
            monkeypatch.setenv(sdk_speedups.RUNTIME_ENV, "sdk")
        runs[mode] = _prod_requests()
        assert (sdk_resource._get_stack_trace, sdk_resource.create_urn, gc.get_threshold()) == before
    fast, sdk = runs["fast"], runs["sdk"]
    assert len(fast) > 50
    assert fast == sdk  # every field, stack traces and source positions included


def test_replacements_are_installed_only_for_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    original, create_urn = sdk_resource._get_stack_trace, sdk_resource.create_urn
    with sdk_speedups.program_speedups() as installed:
        assert installed and sdk_resource._get_stack_trace is sdk_speedups.stack_trace
        assert sdk_resource.create_urn is not create_urn
    assert sdk_resource._get_stack_trace is original and sdk_resource.create_urn is create_urn
    monkeypatch.setenv(sdk_speedups.RUNTIME_ENV, "sdk")
    with sdk_speedups.program_speedups() as installed:
        assert not installed and sdk_resource._get_stack_trace is original


def test_an_unverified_sdk_version_runs_the_sdks_own_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk_speedups, "pulumi_version", lambda: "3.999.0")
    with sdk_speedups.program_speedups() as installed:
        assert not installed
        assert sdk_resource._get_stack_trace is not sdk_speedups.stack_trace


def test_the_mock_urn_is_skipped_only_where_do_register_discards_it(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(sdk_resource, "create_urn", lambda *args, **kwargs: calls.append(args) or args)
    skipped: list[int] = []
    original_unused = sdk_speedups._UnusedUrn.future

    def counting_future(self: Any) -> Any:
        skipped.append(1)
        return original_unused(self)

    monkeypatch.setattr(sdk_speedups._UnusedUrn, "future", counting_future)
    _prod_requests()
    assert skipped  # every registration's discarded mock URN
    assert all(args and args[0] for args in calls)  # anything else still reaches the SDK's create_urn
    with sdk_speedups.program_speedups():
        assert sdk_resource.create_urn("n", "t:m:T") == ("n", "t:m:T")  # a caller outside do_register
