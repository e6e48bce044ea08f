"""The plugin as the Pulumi engine starts it: `provider/__main__.py` prints its port and serves GetSchema."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from hardened_rke2_provider.schema import SCHEMA_PATH
from tests.support.paths import REPO_ROOT

PLUGIN_DIR = REPO_ROOT / "provider"


@pytest.mark.slow
def test_the_plugin_entry_point_serves_the_committed_schema() -> None:
    # The Python language host runs `python <plugin dir> <engine address>` (the directory's __main__.py).
    process = subprocess.Popen(
        [sys.executable, str(PLUGIN_DIR), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PLUGIN_DIR,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            schema = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=30)
        assert json.loads(schema) == json.loads(SCHEMA_PATH.read_text())
        assert info.version == json.loads(schema)["version"]
    finally:
        process.kill()
        process.wait(10)
