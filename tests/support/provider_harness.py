"""The component provider in-process, called over its real gRPC interface, with the mock engine behind it.

`ProviderHarness` starts three local gRPC servers: the provider (`HardenedRke2Servicer`, on its own event
loop thread), a resource monitor that forwards to `hardened_rke2.capture.RecordingMonitor` (the same
mock engine the Python-API tests use) and a minimal engine (logs). A test then calls `GetSchema` or
`Construct` through a `ResourceProviderStub`, exactly as the Pulumi engine would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
)

from hardened_rke2.capture import CapturedResource, EchoMocks, RecordingMonitor
from hardened_rke2_provider.provider import HardenedRke2Provider, HardenedRke2Servicer

PROJECT = "provider-test"
STACK = "dev"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"

_PROVIDER: HardenedRke2Provider | None = None


def shared_provider() -> HardenedRke2Provider:
    """One provider per test session (building the schema reads every model's source once)."""
    global _PROVIDER
    if _PROVIDER is None:
        _PROVIDER = HardenedRke2Provider()
    return _PROVIDER


class _Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, recording: RecordingMonitor) -> None:
        self.recording = recording

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        # as the real engine: secrets and resource references yes; raw Output values no
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id != "outputValues")

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return self.recording.GetDeploymentInfo(request)

    def RegisterResource(self, request: Any, context: Any) -> Any:
        return self.recording.RegisterResource(request)

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def Invoke(self, request: Any, context: Any) -> Any:
        return self.recording.Invoke(request)

    def ReadResource(self, request: Any, context: Any) -> Any:
        return self.recording.ReadResource(request)

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        return self.recording.RegisterPackage(request)

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()


class _Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[str] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=STACK_URN)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


@dataclass
class ConstructOutcome:
    urn: str
    state: dict[str, Any]
    """Outputs in wire form (secrets keep their signature)."""
    resources: list[CapturedResource]
    """What the construct registered with the (mock) engine."""


class ProviderHarness:
    def __init__(self, stub: provider_pb2_grpc.ResourceProviderStub, monitor_address: str, engine: _Engine):
        self.stub = stub
        self.monitor_address = monitor_address
        self.engine = engine
        self.recording: RecordingMonitor | None = None
        self.servers: tuple[Any, ...] = ()

    def schema(self) -> str:
        return str(self.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0)).schema)

    def existing(self, urn: str, id_: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """Make a resource known to the engine (as one the calling program registered) and return the
        resource reference a program would send for it (the SDK reads a referenced resource back)."""
        assert self.recording is not None
        self.recording.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, dict(state))
        return resource_ref(urn, id_)

    def construct(
        self,
        type_: str,
        name: str,
        inputs: Mapping[str, Any],
        *,
        dependencies: Mapping[str, list[str]] | None = None,
        mocks: EchoMocks | None = None,
        config: Mapping[str, str] | None = None,
        secret_keys: list[str] | None = None,
    ) -> ConstructOutcome:
        """`Construct` over gRPC. `inputs` are wire values (use `secret()` / `resource_ref()` for those)."""
        assert self.recording is not None
        self.recording.mocks = mocks or EchoMocks()
        before = len(self.recording.captured)
        struct = struct_pb2.Struct()
        json_format.ParseDict(dict(inputs), struct)
        request = provider_pb2.ConstructRequest(
            project=PROJECT,
            stack=STACK,
            config=dict(config or {}),
            configSecretKeys=list(secret_keys or []),
            dryRun=True,
            parallel=1,
            monitorEndpoint=self.monitor_address,
            type=type_,
            name=name,
            parent=STACK_URN,
            inputs=struct,
            inputDependencies={
                k: provider_pb2.ConstructRequest.PropertyDependencies(urns=v)
                for k, v in (dependencies or {}).items()
            },
        )
        try:
            response = self.stub.Construct(request)
        finally:
            settings.ROOT.set(None)
        state = json_format.MessageToDict(response.state, preserving_proto_field_name=True)
        return ConstructOutcome(response.urn, state, list(self.recording.captured[before:]))


def secret(value: Any) -> dict[str, Any]:
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def output_value(value: Any = None, *, known: bool = True, secret: bool = False, deps: list[str] = ()) -> Any:  # type: ignore[assignment]
    """An Output value on the wire, as the engine sends it to a provider that accepts outputs."""
    out: dict[str, Any] = {rpc._special_sig_key: rpc._special_output_value_sig}
    if known:
        out["value"] = value
    if secret:
        out["secret"] = True
    if deps:
        out["dependencies"] = list(deps)
    return out


def resource_ref(urn: str, id_: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {rpc._special_sig_key: rpc._special_resource_sig, "urn": urn}
    if id_ is not None:
        ref["id"] = id_
    return ref


_HARNESS: ProviderHarness | None = None


def provider_harness() -> ProviderHarness:
    """The provider, a recording monitor and an engine on local ports, started once per test session.

    The servers live until the test process exits (daemon threads): stopping a `grpc.aio` server whose
    loop thread has served a `Construct` (the SDK opens synchronous channels to the monitor from it) does
    not return, and restarting them per test would only cost time.
    """
    global _HARNESS
    if _HARNESS is not None:
        return _HARNESS
    recording = RecordingMonitor(EchoMocks())
    engine = _Engine()
    aux = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_Monitor(recording), aux)
    engine_pb2_grpc.add_EngineServicer_to_server(engine, aux)
    aux_port = aux.add_insecure_port("127.0.0.1:0")
    aux.start()

    loop = asyncio.new_event_loop()
    started = threading.Event()
    port_box: list[int] = []

    async def serve() -> None:
        server = grpc.aio.server()
        servicer = HardenedRke2Servicer(shared_provider(), [], engine_address=f"127.0.0.1:{aux_port}")
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port_box.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        started.set()
        await server.wait_for_termination()

    threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True).start()
    assert started.wait(30), "the provider server did not start"
    channel = grpc.insecure_channel(f"127.0.0.1:{port_box[0]}")
    _HARNESS = ProviderHarness(
        provider_pb2_grpc.ResourceProviderStub(channel), f"127.0.0.1:{aux_port}", engine
    )
    _HARNESS.recording = recording
    _HARNESS.servers = (aux, loop)  # a gRPC server that is garbage-collected stops
    return _HARNESS
