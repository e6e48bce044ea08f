"""Starting a CrossGuard Python pack, the two ways the offline engine can.

- in process: the pack's `__main__.py` runs with `PolicyPack` intercepted just before it would serve, and
  the SDK's own servicer (`pulumi_policy.policy._PolicyAnalyzerServicer`, private; pulumi-policy is pinned
  1.21.*) is called directly. Fast (no process, no sockets): policy unit tests and the offline preview.
- subprocess: `python -u -m pulumi.policy <engine-address> .` in the pack directory, as the CLI starts it,
  spoken to over gRPC (a faithful smoke test). `python` is the pack's own virtualenv's interpreter when
  `PulumiPolicy.yaml` names one (`runtime.options.virtualenv`), exactly as the CLI picks it; a pack whose
  virtualenv does not exist is refused, because the CLI would not create it either (`pack_python`).
Both transports expose `call(method, request)` and `close()`, so the session does not care which runs.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

from hardened_rke2.analysis.errors import PolicyPackImportError, PolicyPackLoadError, PolicyPackRuntimeError
from hardened_rke2.safe_yaml import InputFileError, load_file

# -- in process ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedPack:
    """What the pack's `__main__.py` passed to `PolicyPack(...)`."""

    pack_dir: Path
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    yaml_version: str | None
    yaml_description: str | None

    @property
    def name(self) -> str:
        return str(self.args[0])

    def new_servicer(self) -> Any:
        from pulumi_policy import policy as sdk

        return sdk._PolicyAnalyzerServicer(*self.args, **self.kwargs)


class _PackCaptured(BaseException):
    # BaseException so a pack's own `except Exception` cannot swallow it.
    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__("policy pack captured")
        self.servicer_args = args
        self.servicer_kwargs = kwargs


# Loaded packs by (directory, newest source mtime): an edited pack is loaded again, an unchanged one never.
_LOAD_LOCK = threading.RLock()
_LOADED: dict[tuple[str, float], LoadedPack] = {}


def read_pack_yaml(pack_dir: Path) -> dict[str, Any]:
    path = pack_dir / "PulumiPolicy.yaml"
    if not path.is_file():
        return {}
    try:
        data = load_file(path, "policy pack metadata") or {}
    except InputFileError as e:
        raise PolicyPackLoadError(str(e)) from None
    return data if isinstance(data, dict) else {}


def _pack_mtime(pack_dir: Path) -> float:
    """Newest source file of the pack (virtualenvs and caches pruned), so an edited pack is reloaded."""
    newest = 0.0
    for root, dirs, files in os.walk(pack_dir):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
        for f in files:
            if f.endswith(".py"):
                with contextlib.suppress(OSError):
                    newest = max(newest, os.stat(os.path.join(root, f)).st_mtime)
    return newest


_SKIP_DIRS = frozenset({"venv", "__pycache__", "node_modules", "build", "dist"})


def pack_python(pack_dir: Path, meta: Mapping[str, Any]) -> str:
    """The interpreter the Pulumi CLI would start this pack with, or a `PolicyPackLoadError` saying how to
    create it.

    For a local pack (`--policy-pack DIR`) the Python language host runs `<virtualenv>/bin/python -u -m
    pulumi.policy` (pulumi/pulumi `sdk/python/cmd/pulumi-language-python/main.go:1528-1625`, RunPlugin, and
    `sdk/python/toolchain/pip.go:178-191`, which only builds the path) and creates no virtualenv on that
    path; only InstallDependencies does (`main.go:1311-1355`), which `pulumi install` in the pack directory
    calls (`pkg/cmd/pulumi/install/install.go:76-82` -> `pkg/cmd/pulumi/policy/io.go:102`). Without a
    `virtualenv` option the host runs the `python` on PATH: here, this interpreter.
    """
    runtime = meta.get("runtime")
    options = runtime.get("options") if isinstance(runtime, Mapping) else None
    venv = options.get("virtualenv") if isinstance(options, Mapping) else None
    if not venv:
        return sys.executable
    root = Path(str(venv)) if os.path.isabs(str(venv)) else pack_dir / str(venv)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        raise PolicyPackLoadError(
            f"{pack_dir}: PulumiPolicy.yaml runs this pack in the virtualenv {venv!r}, and {python} does not "
            "exist; `pulumi preview --policy-pack` does not create it and could not start the pack either "
            f"(fix: (cd {pack_dir} && pulumi install))"
        )
    return str(python)


def load_pack(pack_dir: str | os.PathLike[str]) -> LoadedPack:
    """Run the pack's `__main__.py` as `python -m pulumi.policy <addr> .` does, stopping at `PolicyPack(...)`.

    The real `PolicyPack.__init__` runs (so its validation applies); the SDK servicer it would serve is
    intercepted just before the gRPC server starts. The pack's own modules are removed from `sys.modules`
    afterwards so packs (and fixture packs) cannot see each other's modules.
    """
    path = Path(pack_dir).resolve()
    main = path / "__main__.py"
    if not main.is_file():
        raise PolicyPackLoadError(f"{path} is not a Python policy pack: no __main__.py")
    key = (str(path), _pack_mtime(path))
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        from pulumi_policy import policy as sdk

        meta = read_pack_yaml(path)
        saved_cwd = os.getcwd()
        original = sdk._PolicyAnalyzerServicer

        def capture(*args: Any, **kwargs: Any) -> Any:
            raise _PackCaptured(args, kwargs)

        capture.__wrapped__ = original  # type: ignore[attr-defined]  # the real class, for packs that patch it

        sdk._PolicyAnalyzerServicer = capture  # type: ignore[assignment,misc]
        captured: _PackCaptured | None = None
        scope = pack_import_scope(path)
        scope.__enter__()
        try:
            os.chdir(path)  # the CLI starts the pack with the pack directory as cwd
            # run_path on the directory puts it first on sys.path, as `runpy.run_path(".")` in pulumi.policy.
            runpy.run_path(str(path), run_name="__main__")
        except _PackCaptured as c:
            captured = c
        except SystemExit as e:
            raise PolicyPackImportError(f"policy pack {path} exited while loading (code {e.code})") from e
        except Exception as e:
            raise PolicyPackImportError(f"policy pack {path} failed to load: {type(e).__name__}: {e}") from e
        finally:
            sdk._PolicyAnalyzerServicer = original  # type: ignore[misc]
            os.chdir(saved_cwd)
            scope.__exit__(None, None, None)
        if captured is None:
            raise PolicyPackImportError(f"policy pack {path}: __main__.py never created a PolicyPack")
        loaded = LoadedPack(
            pack_dir=path,
            args=captured.servicer_args,
            kwargs=dict(captured.servicer_kwargs),
            yaml_version=str(meta["version"]) if meta.get("version") is not None else None,
            yaml_description=meta.get("description"),
        )
        _LOADED[key] = loaded
        return loaded


def forget_loaded_packs() -> None:
    """Drop every loaded pack, so the next `load_pack` runs the pack's `__main__.py` again."""
    with _LOAD_LOCK:
        _LOADED.clear()


def _under(module: Any, path: Path) -> bool:
    file = getattr(module, "__file__", None) or ""
    return bool(file) and str(Path(file).resolve()).startswith(str(path) + os.sep)


def _top_level_names(pack_dir: Path) -> set[str]:
    names = set()
    for entry in pack_dir.iterdir():
        if entry.is_file() and entry.suffix == ".py" and entry.stem != "__main__":
            names.add(entry.stem)
        elif entry.is_dir() and entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
            names.add(entry.name)
    return names


@contextlib.contextmanager
def pack_import_scope(pack_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Import from a pack directory without leaking into (or being shadowed by) the rest of the process.

    Modules with the pack's top-level names loaded from elsewhere (another pack, a test's sys.path) are set
    aside while the pack imports, and restored afterwards; modules loaded from the pack are dropped. The
    caller's sys.path is restored.
    """
    path = Path(pack_dir).resolve()
    names = _top_level_names(path)
    saved_path = list(sys.path)
    shadowed = {n: m for n, m in sys.modules.items() if n.split(".")[0] in names and not _under(m, path)}
    for n in shadowed:
        del sys.modules[n]
    before = dict(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            if before.get(name) is module:
                continue
            if _under(module, path) or name.split(".")[0] in names:
                if name in before:
                    sys.modules[name] = before[name]
                else:
                    del sys.modules[name]
        sys.modules.update(shadowed)


# -- transports: `call(method, request)` and `close()` ----------------------------------------------------


class InProcessTransport:
    def __init__(self, loaded: LoadedPack) -> None:
        self.loaded = loaded
        self.servicer = loaded.new_servicer()

    def call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.servicer, method)(request, None)
        except Exception as e:
            # Over gRPC this would be an error status that fails the preview; name what was being analyzed.
            what = getattr(request, "urn", "") or method
            raise PolicyPackRuntimeError(
                f"policy pack {method} of {what} raised {type(e).__name__}: {e}"
            ) from e

    def close(self) -> None:
        pass


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """The minimal Engine service the engine address points at; a pack may log through it."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, str]] = []
        self._root = ""

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self._root)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        self._root = request.urn
        return engine_pb2.SetRootResourceResponse()


class SubprocessTransport:
    """`python -u -m pulumi.policy <engine-address> .` in the pack directory, as the CLI starts it."""

    def __init__(
        self, pack_dir: Path, env: Mapping[str, str], start_timeout: float = 60.0, python: str | None = None
    ) -> None:
        self.engine = _EngineServicer()
        self.engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self.engine_server)
        engine_port = self.engine_server.add_insecure_port("127.0.0.1:0")
        self.engine_address = f"127.0.0.1:{engine_port}"
        self.engine_server.start()
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._drainers: list[threading.Thread] = []
        full_env = dict(os.environ)
        for var in (
            "PULUMI_PROJECT",
            "PULUMI_STACK",
            "PULUMI_DRY_RUN",
            "PULUMI_CONFIG",
            "PULUMI_ORGANIZATION",
        ):
            full_env.pop(var, None)
        full_env.update(env)
        self.proc = subprocess.Popen(
            [python or sys.executable, "-u", "-m", "pulumi.policy", self.engine_address, "."],
            cwd=pack_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        port_line = self._read_port(start_timeout)
        self._start_drain(self.proc.stdout, self.stdout_lines)
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{port_line}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
        )
        grpc.channel_ready_future(self.channel).result(timeout=start_timeout)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def _start_drain(self, stream: Any, sink: list[str]) -> None:
        t = threading.Thread(target=self._drain, args=(stream, sink), daemon=True)
        t.start()
        self._drainers.append(t)

    @staticmethod
    def _drain(stream: Any, sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _read_port(self, timeout: float) -> int:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._start_drain(self.proc.stderr, self.stderr_lines)
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        line = result[0].decode().strip() if result else ""
        if not line.isdigit():
            self.close()
            time.sleep(0.05)
            raise PolicyPackImportError(
                "policy pack process did not print its port"
                + (f" (printed {line!r})" if line else "")
                + ("\n" + "\n".join(self.stderr_lines[-30:]) if self.stderr_lines else "")
            )
        return int(line)

    def call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=300)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise NotImplementedError(method) from e
            raise PolicyPackRuntimeError(
                f"policy pack {method} failed: {e.details()}" + ("\n" + "\n".join(self.stderr_lines[-30:]))
            ) from e

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        # Shut down in order, so nothing is left for the garbage collector at interpreter exit (where a
        # half-closed gRPC/asyncio object prints "Exception ignored ... Invalid file descriptor"): the
        # readers finish on EOF, then their pipes close, then the engine server stops and is waited for.
        for t in self._drainers:
            t.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()
        self.engine_server.stop(0).wait(timeout=5)
