"""Cheaper, request-identical versions of two steps of the Pulumi SDK's registration path, used only while
a program runs under the offline engine (`capture.run_program`).

Profiling a 50-cluster program (benchmarks/bench_fleet.py) showed two SDK steps that cost a quarter of the
program's CPU time without shaping what the engine receives the way their cost suggests:

- `_get_stack_trace` builds the `stackTrace`/`sourcePosition` of every `RegisterResourceRequest` through
  `traceback.extract_stack`, which stats every source file on the stack and reads its lines, then makes a
  `pathlib.Path` per frame. `stack_trace()` walks the same frames and builds the same protobuf message
  (same frames, URIs, lines; `sys.tracebacklimit` honoured), caching one `StackFrame` per file and line.
- `do_register` computes a "mock URN" through `create_urn` (three Outputs, an `Output.all`, an apply: a
  handful of asyncio tasks per resource) and uses it only when no resource monitor exists
  (pulumi/runtime/resource.py, `do_rpc_call`, pulumi 3.272.0). The offline engine always has one, so the
  replacement returns an already-resolved placeholder for that one call site and nothing else.

Both are installed for the duration of a program run and removed afterwards, and only on the SDK version
they were checked against (`VERIFIED_PULUMI`): on any other version the SDK's own code runs (slower, same
result) and tests/hardened_rke2/test_sdk_speedups.py fails until the new version is checked.
`HARDENED_RKE2_RUNTIME=sdk` turns them off (the fleet benchmark's "before" runs).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sys
import types
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

import pulumi.runtime.resource as sdk_resource
from pulumi.runtime import settings
from pulumi.runtime.proto import source_pb2

RUNTIME_ENV = "HARDENED_RKE2_RUNTIME"
"""`sdk` runs the SDK's own code and collector settings during the program run."""
VERIFIED_PULUMI = frozenset({"3.272.0"})
"""SDK versions whose `_get_stack_trace` and `register_resource` these replacements were checked against."""

_sdk_stack_trace = sdk_resource._get_stack_trace
_frames: dict[tuple[str, int | None], source_pb2.StackFrame] = {}


def _stack_frame(filename: str, lineno: int | None) -> source_pb2.StackFrame:
    """`_get_stack_trace`'s `rpc_frame`: a frame with no position when the file is not an absolute path."""
    key = (filename, lineno)
    frame = _frames.get(key)
    if frame is None:
        position = None
        if filename != "" and lineno is not None:
            try:
                position = source_pb2.SourcePosition(uri=pathlib.Path(filename).as_uri(), line=lineno)
            except ValueError:  # a relative name such as "<frozen runpy>": as_uri() refuses it
                position = None
        frame = _frames[key] = source_pb2.StackFrame(pc=position)
    return frame


def stack_trace() -> source_pb2.StackTrace:
    """The `StackTrace` `pulumi.runtime.resource._get_stack_trace` returns when called from the same place:
    the frames outside the third `__init__` from the top (Resource, Custom/ComponentResource, the concrete
    resource class), innermost first."""
    limit = getattr(sys, "tracebacklimit", None)  # traceback.extract_stack keeps only the innermost `limit`
    if limit is not None and limit <= 0:
        return _sdk_stack_trace()  # the SDK fails on an empty stack; keep its behaviour, whatever it is
    walked: list[types.FrameType] = []
    frame: types.FrameType | None = sys._getframe()
    while frame is not None and (limit is None or len(walked) < limit):
        walked.append(frame)
        frame = frame.f_back
    inits = 0
    for index, frame in enumerate(walked):
        if frame.f_code.co_name == "__init__":
            inits += 1
            if inits == 3:
                return source_pb2.StackTrace(
                    frames=[_stack_frame(f.f_code.co_filename, f.f_lineno) for f in walked[index + 1 :]]
                )
    return source_pb2.StackTrace()


class _UnusedUrn:
    """What `do_register` awaits instead of the mock URN it would discard."""

    async def _none(self) -> None:
        return None

    def future(self) -> Any:
        return self._none()


def _do_register_code() -> types.CodeType | None:
    for const in sdk_resource.register_resource.__code__.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == "do_register":
            return const
    return None


def _create_urn_without_mock_urn(
    create_urn: Callable[..., Any], do_register: types.CodeType
) -> Callable[..., Any]:
    def create_urn_unless_discarded(*args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_code is do_register and settings.get_monitor() is not None:
            return _UnusedUrn()
        return create_urn(*args, **kwargs)

    return create_urn_unless_discarded


def pulumi_version() -> str:
    return metadata.version("pulumi")


def enabled() -> bool:
    return os.environ.get(RUNTIME_ENV) != "sdk" and pulumi_version() in VERIFIED_PULUMI


@contextlib.contextmanager
def program_speedups() -> Iterator[bool]:
    """Install the replacements for one program run; yields whether it did."""
    do_register = _do_register_code()
    if not enabled() or do_register is None:
        yield False
        return
    saved = (sdk_resource._get_stack_trace, sdk_resource.create_urn)
    sdk_resource._get_stack_trace = stack_trace
    sdk_resource.create_urn = _create_urn_without_mock_urn(sdk_resource.create_urn, do_register)
    try:
        yield True
    finally:
        sdk_resource._get_stack_trace, sdk_resource.create_urn = saved
