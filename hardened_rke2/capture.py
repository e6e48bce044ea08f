"""Run a Pulumi program under the SDK's mock engine and record every resource registration.

What is recorded is what the real engine would receive from the language host: type, name, parent,
options and the input properties in their wire form. Nothing is sent to any provider.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.runtime
from google.protobuf import json_format
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, Mocks

from hardened_rke2 import tuned_gc
from hardened_rke2.sdk_speedups import program_speedups

UNKNOWN = rpc.UNKNOWN
_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig
STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"


@dataclass(frozen=True)
class CapturedResource:
    """One `RegisterResource` request, as the engine would have received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    protect: bool | None
    provider: str | None
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    ignore_changes: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    retain_on_delete: bool | None
    delete_before_replace: bool
    custom_timeouts: Mapping[str, str]
    wire_inputs: Mapping[str, Any]
    """Inputs as JSON-like values; secrets and resource references keep their wire signatures."""
    id: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> dict[str, Any]:
        """Plain inputs: secrets unwrapped, resource references replaced by id (custom) or URN (component)."""
        return plain(self.wire_inputs)

    @property
    def secret_paths(self) -> frozenset[str]:
        """Dotted paths of every input value that was a Pulumi secret (e.g. `rkeConfig.etcd.s3Config`)."""
        return frozenset(_secret_paths(self.wire_inputs, ""))

    def is_secret(self, path: str) -> bool:
        """True when the value at `path` (dotted, camelCase) or one of its parents is a secret."""
        parts = path.split(".")
        return any(".".join(parts[:i]) in self.secret_paths for i in range(1, len(parts) + 1))


@dataclass
class ProgramRun:
    """Everything a mocked run of a program registered."""

    resources: list[CapturedResource]
    stack_outputs: dict[str, Any]
    """Stack exports in wire form (secrets keep their signature; use `plain()` to unwrap)."""
    log_records: list[logging.LogRecord]

    def of_type(self, type_: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> CapturedResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected exactly one {type_} named {name!r}, found {names}")
        return found[0]

    def by_urn(self) -> dict[str, CapturedResource]:
        return {r.urn: r for r in self.resources}

    def children_of(self, urn: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.parent == urn]

    @property
    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.log_records if r.levelno >= logging.WARNING]


def plain(value: Any) -> Any:
    """Turn wire-form values into plain Python values (secrets unwrapped, references resolved)."""
    if isinstance(value, Mapping):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return plain(value.get("value"))
        if sig == _RESOURCE_SIG:
            ref_id = value.get("id")
            return ref_id if ref_id not in (None, "") else value.get("urn")
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _secret_paths(value: Any, prefix: str) -> list[str]:
    if isinstance(value, Mapping):
        if value.get(_SIG) == _SECRET_SIG:
            return [prefix] if prefix else [""]
        out: list[str] = []
        for k, v in value.items():
            out += _secret_paths(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            out += _secret_paths(v, f"{prefix}.{i}" if prefix else str(i))
        return out
    return []


class EchoMocks(Mocks):
    """Provider mock that behaves like a first `pulumi preview`: outputs are the inputs, nothing computed.

    `extra_outputs` maps a resource type to a function returning additional outputs for it (tests use it
    to supply computed values such as a cluster's v1 id); `stack_references` maps a referenced stack name
    to the outputs that `StackReference` should see.
    """

    def __init__(
        self,
        extra_outputs: Mapping[str, Callable[[MockResourceArgs], dict[str, Any]]] | None = None,
        stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.extra_outputs = dict(extra_outputs or {})
        self.stack_references = {k: dict(v) for k, v in (stack_references or {}).items()}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == STACK_REFERENCE_TYPE:
            ref = str(args.inputs.get("name", args.name))
            if ref not in self.stack_references:
                raise LookupError(
                    f"StackReference {ref!r} has no offline outputs: supply them "
                    "(hardened-rke2 preview --stack-reference-outputs FILE) to run this stack offline"
                )
            outputs = {"name": ref, "outputs": self.stack_references[ref], "secretOutputNames": []}
        hook = self.extra_outputs.get(args.typ)
        if hook is not None:
            outputs.update(hook(args))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """A mock resource monitor that keeps every registration request in order."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.captured: list[CapturedResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        registration = self.resources.get(response.urn)
        wire = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        timeouts = request.customTimeouts
        self.captured.append(
            CapturedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                protect=request.protect if request.HasField("protect") else None,
                provider=request.provider or None,
                dependencies=tuple(request.dependencies),
                property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
                ignore_changes=tuple(request.ignoreChanges),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
                delete_before_replace=bool(request.deleteBeforeReplace),
                custom_timeouts={
                    k: v
                    for k, v in (
                        ("create", timeouts.create),
                        ("update", timeouts.update),
                        ("delete", timeouts.delete),
                    )
                    if v
                },
                wire_inputs=wire,
                id=registration.id if registration else None,
                outputs=dict(registration.state) if registration else {},
            )
        )
        return response


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run_program(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = True,
    mocks: Mocks | None = None,
    monitor: RecordingMonitor | None = None,
) -> ProgramRun:
    """Run `program` under the mock engine, as `pulumi preview` would run it, and return what it registered.

    `config` uses the engine's wire format: `{"<project>:<key>": "<string or JSON>"}`. Exceptions raised
    by the program (or inside its applies) propagate unchanged; pass your own `monitor` to see what was
    registered before such an exception.
    """
    if monitor is None:
        monitor = RecordingMonitor(mocks or EchoMocks())
    handler = _ListHandler()
    logger = logging.getLogger(f"hardened-rke2.offline.{project}.{stack}")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)

    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config or {}), secret_keys or [])
    pulumi.runtime.set_mocks(
        mocks=monitor.mocks, project=project, stack=stack, preview=preview, logger=logger, monitor=monitor
    )
    try:
        # Identical requests, less CPU: the SDK replacements (sdk_speedups) and fewer needless collections.
        with tuned_gc(), program_speedups():
            stack_outputs = _run_in_stack(program)
    finally:
        settings.ROOT.set(None)
        pulumi.runtime.set_all_config({}, [])
    return ProgramRun(resources=monitor.captured, stack_outputs=stack_outputs, log_records=handler.records)


def _run_in_stack(program: Callable[[], Any]) -> dict[str, Any]:
    """Run the program under the root Stack, wait for every RPC, and return its exports in wire form.

    `set_mocks` registers and finishes the root Stack before the program runs, so `pulumi.export` values
    only land in `Stack.outputs`; they are serialized here exactly as the engine would receive them.
    """
    from pulumi.runtime.mocks import _sync_await
    from pulumi.runtime.stack import wait_for_rpcs

    root = settings.get_root_resource()
    assert root is not None, "set_mocks creates the root stack"

    async def run() -> dict[str, Any]:
        program()
        await wait_for_rpcs()
        outputs = getattr(root, "outputs", {})
        struct = await rpc.serialize_properties(outputs, {})
        await wait_for_rpcs()
        return json_format.MessageToDict(struct, preserving_proto_field_name=True)

    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    return _sync_await(run())
