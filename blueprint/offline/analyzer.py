"""Drive a CrossGuard Python policy pack through the analyzer protocol exactly as the Pulumi engine does.

The engine (`pulumi preview --policy-pack DIR`) starts `python -u -m pulumi.policy <engine-address> .` in the
pack directory, reads the port it prints and then, over gRPC: `ConfigureStack`, `GetAnalyzerInfo`,
`Configure` (with the config it reconciled itself), `Remediate` then `Analyze` for every registered resource
(components, providers and the Stack included), and one `AnalyzeStack` with every resource.

Two transports, same requests:
- `inprocess`: the pack's `__main__.py` runs with `PolicyPack` intercepted just before it would serve, and the
  SDK's own servicer (`pulumi_policy.policy._PolicyAnalyzerServicer`, private; pulumi-policy is pinned 1.21.*)
  is called directly. Fast (no process, no sockets): used by policy unit tests and the offline preview.
- `subprocess`: the pack runs as its own process, started the way the CLI starts it (a faithful smoke test).

Config reconciliation mirrors the engine (`pkg/resource/analyzer/config.go` in pulumi/pulumi):
1. one entry per policy with the level the pack declares and the `default` of each config-schema property;
2. the pack's `initial_config` (as reported by `GetAnalyzerInfo`), then the user's config, each applied as:
   - an `all` key that carries an enforcement level sets that level on EVERY policy first; properties under
     `all` are NOT copied to the policies (they only land in an `all` entry that no policy reads);
   - then each per-policy entry: its level (if given) replaces the level, its properties are merged on top
     (top-level keys only);
   - a bare string is an enforcement level; an object may carry `enforcementLevel` plus properties;
   - entries for names that are not policies are accepted by the engine (we keep them and warn);
   - an `initial_config` entry without a level arrives over the wire as `advisory` (proto default 0), as in
     the engine: pack authors should always give a level there;
3. JSON-schema validation of each policy's merged properties (`type: object`, its `properties` with an
   injected `enforcementLevel` enum, `required`); any error fails the run before `Configure`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import runpy
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

from blueprint.offline.capture import STACK_TYPE, CapturedResource

# Wire signatures (sdk/go/common/resource/properties.go); the same constants the SDKs use.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine sends a value unknown during preview (`MarshalOptions{KeepUnknowns: true}`)."""

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
BLOCKING_LEVELS = frozenset({"mandatory", "remediate"})
"""A violation reported at `remediate` level counts as mandatory (the SDK and the engine agree)."""

_LEVEL_FROM_PROTO = {
    proto.ADVISORY: "advisory",
    proto.MANDATORY: "mandatory",
    proto.REMEDIATE: "remediate",
    proto.DISABLED: "disabled",
}
_LEVEL_TO_PROTO = {v: k for k, v in _LEVEL_FROM_PROTO.items()}
_SEVERITY_FROM_PROTO = {
    proto.POLICY_SEVERITY_LOW: "low",
    proto.POLICY_SEVERITY_MEDIUM: "medium",
    proto.POLICY_SEVERITY_HIGH: "high",
    proto.POLICY_SEVERITY_CRITICAL: "critical",
}
SDK_PACK_VERSION = "0.0.1"
"""The Python SDK always reports this version; the engine prefers PulumiPolicy.yaml's `version`."""


class PolicyConfigError(ValueError):
    """The policy pack configuration is invalid (parse, level or JSON-schema error)."""

    def __init__(self, problems: Sequence[str], pack: str = "") -> None:
        self.problems = list(problems)
        self.pack = pack
        where = f" for policy pack {pack!r}" if pack else ""
        super().__init__(f"invalid policy pack config{where}:\n  " + "\n  ".join(self.problems))


class PolicyPackLoadError(RuntimeError):
    """The policy pack could not be loaded or started."""


class PolicyPackRuntimeError(RuntimeError):
    """A policy raised while the engine asked it something; the real engine fails the preview too."""


# --------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class PolicyInfo:
    """A policy's metadata, as `GetAnalyzerInfo` reports it."""

    name: str
    description: str
    enforcement_level: str
    policy_type: str
    """`resource` or `stack`."""
    display_name: str = ""
    severity: str | None = None
    framework: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    remediation_steps: str = ""
    url: str = ""
    config_schema: Mapping[str, Any] | None = None
    """`{"properties": {...}, "required": [...]}` as declared by the pack (without the injected level)."""


@dataclass
class Violation:
    """One policy diagnostic, attributed to a resource (or to the stack when `urn` is empty)."""

    policy_name: str
    description: str
    message: str
    """What the policy reported (the SDK prefixes it with the description on the wire; stripped here)."""
    enforcement_level: str
    urn: str
    resource_type: str
    resource_name: str
    severity: str | None
    tags: tuple[str, ...]
    pack_name: str
    pack_version: str = ""
    phase: str = "analyze"
    """`analyze`, `analyze-stack` or `remediate` (a remediation that could not run during preview)."""

    @property
    def is_mandatory(self) -> bool:
        return self.enforcement_level in BLOCKING_LEVELS

    @property
    def is_preview_unknown(self) -> bool:
        """The SDK's advisory for a policy that read a value unknown during preview."""
        return "during preview:" in self.message and self.message.startswith("can't run")

    def to_dict(self) -> dict[str, Any]:
        return {
            "policyName": self.policy_name,
            "packName": self.pack_name,
            "packVersion": self.pack_version,
            "enforcementLevel": self.enforcement_level,
            "severity": self.severity,
            "description": self.description,
            "message": self.message,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "tags": list(self.tags),
            "phase": self.phase,
        }


@dataclass(frozen=True)
class RemediationRecord:
    policy_name: str
    pack_name: str
    urn: str
    description: str


@dataclass(frozen=True)
class NotApplicable:
    policy_name: str
    urn: str
    reason: str


@dataclass
class AnalysisResult:
    violations: list[Violation]
    remediations: dict[str, dict[str, Any]]
    """URN -> the inputs after remediation (plain values; only resources a remediation changed)."""
    remediation_records: list[RemediationRecord] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    resources_analyzed: int = 0

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.is_mandatory]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.is_mandatory]

    @property
    def has_mandatory(self) -> bool:
        return any(v.is_mandatory for v in self.violations)

    def by_policy(self, name: str) -> list[Violation]:
        return [v for v in self.violations if v.policy_name == name]


# --------------------------------------------------------------------------------------------------------
# Requests: what the engine would send for a resource


@dataclass(frozen=True)
class AnalyzerInput:
    """A resource as the engine analyzes it (wire properties: secrets kept, references resolved)."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str = ""
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    custom_timeouts: tuple[float, float, float] = (0.0, 0.0, 0.0)
    delete_before_replace: bool | None = None
    aliases: tuple[str, ...] = ()
    provider: str = ""
    """URN of the resource's provider (a resource in the same analysis), if any."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stack_props: Mapping[str, Any] | None = None
    """What AnalyzeStack sees when it differs from the inputs (the Stack's exports); else the inputs."""


_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | float | int | None) -> float:
    """A Go duration string (`90m`, `1h30m`) in seconds, as the engine turns custom timeouts into numbers."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ValueError(f"invalid duration {value!r} (expected e.g. '90m', '1h30m')")
    return total


def engine_wire(value: Any, *, skip_internal_keys: bool = True) -> Any:
    """Wire value -> what the engine marshals to an analyzer.

    Secrets keep their signature (`KeepSecrets`), unknowns stay the unknown sentinel (`KeepUnknowns`),
    resource references become the target's id (custom) or URN (component), output values become their
    value (or unknown), and `__`-prefixed internal keys are dropped for Analyze (`SkipInternalKeys`).
    """
    if isinstance(value, Mapping):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return {
                SIG_KEY: SECRET_SIG,
                "value": engine_wire(value.get("value"), skip_internal_keys=skip_internal_keys),
            }
        if sig == RESOURCE_SIG:
            ref_id = value.get("id")
            return ref_id if isinstance(ref_id, str) and ref_id != "" else value.get("urn", "")
        if sig == OUTPUT_SIG:
            if "value" not in value:
                return UNKNOWN
            inner = engine_wire(value["value"], skip_internal_keys=skip_internal_keys)
            return {SIG_KEY: SECRET_SIG, "value": inner} if value.get("secret") else inner
        return {
            str(k): engine_wire(v, skip_internal_keys=skip_internal_keys)
            for k, v in value.items()
            if not (skip_internal_keys and str(k).startswith("__"))
        }
    if isinstance(value, (list, tuple)):
        return [engine_wire(v, skip_internal_keys=skip_internal_keys) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)  # Struct numbers are doubles: policies see 1000.0
    raise TypeError(f"cannot send a value of type {type(value).__name__} to a policy pack")


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(props))
    return s


def _from_struct(s: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(s)


def from_captured(
    resources: Sequence[CapturedResource], stack_outputs: Mapping[str, Any] | None = None
) -> list[AnalyzerInput]:
    """Captured registrations -> analyzer inputs. The Stack's properties are its exports, as in the engine."""
    out: list[AnalyzerInput] = []
    for r in resources:
        # Analyze sees the Stack's registration (no inputs); AnalyzeStack sees its exports.
        stack_props = stack_outputs if r.type == STACK_TYPE and stack_outputs else None
        provider = ""
        if r.provider:
            provider = r.provider.rsplit("::", 1)[0] if "::" in r.provider else r.provider
        ct = r.custom_timeouts
        out.append(
            AnalyzerInput(
                urn=r.urn,
                type=r.type,
                name=r.name,
                props=r.wire_inputs,
                stack_props=stack_props,
                parent=r.parent or "",
                protect=bool(r.protect),
                ignore_changes=tuple(r.ignore_changes),
                additional_secret_outputs=tuple(r.additional_secret_outputs),
                custom_timeouts=(
                    parse_duration(ct.get("create")),
                    parse_duration(ct.get("update")),
                    parse_duration(ct.get("delete")),
                ),
                delete_before_replace=r.delete_before_replace or None,
                provider=provider,
                dependencies=tuple(r.dependencies),
                property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
            )
        )
    return out


def _opt(options: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in options:
            return options[n]
    return default


def input_from_dict(
    spec: Mapping[str, Any],
    *,
    project: str = "test",
    stack: str = "test",
    by_name: Mapping[str, str] | None = None,
) -> AnalyzerInput:
    """A resource given as a dict (`type`, `name`, `props`|`inputs`, optional `urn`, `parent`, `options`,
    `dependencies`, `propertyDependencies`, `provider`) -> analyzer input. `parent`, `provider` and
    dependencies may name another resource of the same stack instead of giving its URN."""
    by_name = by_name or {}
    if "type" not in spec or "name" not in spec:
        raise ValueError(f"a resource needs 'type' and 'name': {dict(spec)!r}")
    type_, name = str(spec["type"]), str(spec["name"])
    options: Mapping[str, Any] = spec.get("options") or {}
    urn = str(spec.get("urn") or make_urn(type_, name, project=project, stack=stack))
    timeouts = _opt(options, "customTimeouts", "custom_timeouts", default={}) or {}
    dbr = _opt(options, "deleteBeforeReplace", "delete_before_replace")

    def ref(value: Any) -> str:
        return by_name.get(str(value), str(value)) if value else ""

    props = spec.get("props", spec.get("inputs", {}))
    return AnalyzerInput(
        urn=urn,
        type=type_,
        name=name,
        props=props,
        parent=ref(spec.get("parent") or _opt(options, "parent", default="")),
        protect=bool(_opt(options, "protect", default=False)),
        ignore_changes=tuple(_opt(options, "ignoreChanges", "ignore_changes", default=()) or ()),
        additional_secret_outputs=tuple(
            _opt(options, "additionalSecretOutputs", "additional_secret_outputs", default=()) or ()
        ),
        custom_timeouts=(
            parse_duration(timeouts.get("create")),
            parse_duration(timeouts.get("update")),
            parse_duration(timeouts.get("delete")),
        ),
        delete_before_replace=None if dbr is None else bool(dbr),
        aliases=tuple(_opt(options, "aliases", default=()) or ()),
        provider=ref(spec.get("provider") or _opt(options, "provider", default="")),
        dependencies=tuple(ref(d) for d in spec.get("dependencies", ()) or ()),
        property_dependencies={
            str(k): tuple(ref(d) for d in v)
            for k, v in (spec.get("propertyDependencies") or spec.get("property_dependencies") or {}).items()
        },
    )


def make_urn(type_: str, name: str, *, project: str = "test", stack: str = "test") -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def _options_proto(r: AnalyzerInput) -> Any:
    opts = proto.AnalyzerResourceOptions(
        protect=r.protect,
        ignoreChanges=list(r.ignore_changes),
        deleteBeforeReplace=bool(r.delete_before_replace),
        deleteBeforeReplaceDefined=r.delete_before_replace is not None,
        additionalSecretOutputs=list(r.additional_secret_outputs),
        aliases=list(r.aliases),
        parent=r.parent,
    )
    # The engine always sends custom timeouts (zeros when unset).
    opts.customTimeouts.create, opts.customTimeouts.update, opts.customTimeouts.delete = r.custom_timeouts
    return opts


# --------------------------------------------------------------------------------------------------------
# Loading a pack in-process


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


_LOAD_LOCK = threading.RLock()
_LOADED: dict[tuple[str, float], LoadedPack] = {}


def read_pack_yaml(pack_dir: Path) -> dict[str, Any]:
    path = pack_dir / "PulumiPolicy.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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
            raise PolicyPackLoadError(f"policy pack {path} exited while loading (code {e.code})") from e
        except Exception as e:
            raise PolicyPackLoadError(f"policy pack {path} failed to load: {type(e).__name__}: {e}") from e
        finally:
            sdk._PolicyAnalyzerServicer = original  # type: ignore[misc]
            os.chdir(saved_cwd)
            scope.__exit__(None, None, None)
        if captured is None:
            raise PolicyPackLoadError(f"policy pack {path}: __main__.py never created a PolicyPack")
        loaded = LoadedPack(
            pack_dir=path,
            args=captured.servicer_args,
            kwargs=dict(captured.servicer_kwargs),
            yaml_version=str(meta["version"]) if meta.get("version") is not None else None,
            yaml_description=meta.get("description"),
        )
        _LOADED[key] = loaded
        return loaded


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


# --------------------------------------------------------------------------------------------------------
# Transports


class _InProcess:
    def __init__(self, loaded: LoadedPack) -> None:
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


class _Subprocess:
    """`python -u -m pulumi.policy <engine-address> .` in the pack directory, as the CLI starts it."""

    def __init__(self, pack_dir: Path, env: Mapping[str, str], start_timeout: float = 60.0) -> None:
        self.engine = _EngineServicer()
        self.engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self.engine_server)
        engine_port = self.engine_server.add_insecure_port("127.0.0.1:0")
        self.engine_address = f"127.0.0.1:{engine_port}"
        self.engine_server.start()
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
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
            [sys.executable, "-u", "-m", "pulumi.policy", self.engine_address, "."],
            cwd=pack_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        port_line = self._read_port(start_timeout)
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.stdout_lines), daemon=True).start()
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{port_line}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
        )
        grpc.channel_ready_future(self.channel).result(timeout=start_timeout)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    @staticmethod
    def _drain(stream: Any, sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _read_port(self, timeout: float) -> int:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr_lines), daemon=True).start()
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        line = result[0].decode().strip() if result else ""
        if not line.isdigit():
            self.close()
            time.sleep(0.05)
            raise PolicyPackLoadError(
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
        self.engine_server.stop(0)


# --------------------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class PolicyConfig:
    enforcement_level: str
    """One of LEVELS, or "" when none was given (only possible for names that are not policies)."""
    properties: Mapping[str, Any] | None


def parse_policy_pack_config(
    raw: Mapping[str, Any] | None, *, source: str = "config"
) -> dict[str, PolicyConfig]:
    """User config (the `--policy-pack-config` JSON) -> entries, with the engine's parsing rules."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PolicyConfigError(
            [f"{source}: must be a JSON object mapping policy names (or 'all') to config"]
        )
    problems: list[str] = []
    result: dict[str, PolicyConfig] = {}
    for key, value in raw.items():
        level = ""
        props: dict[str, Any] | None = None
        if isinstance(value, str):
            if value not in LEVELS:
                problems.append(
                    f"{key}: {value!r} is not a valid enforcement level (use one of {', '.join(LEVELS)})"
                )
                continue
            level = value
        elif isinstance(value, Mapping):
            body = dict(value)
            if "enforcementLevel" in body:
                el = body.pop("enforcementLevel")
                if not isinstance(el, str) or el not in LEVELS:
                    problems.append(
                        f"{key}.enforcementLevel: {el!r} is not a valid enforcement level "
                        f"(use one of {', '.join(LEVELS)})"
                    )
                    continue
                level = el
            props = body or None
        else:
            problems.append(
                f"{key}: {value!r} is not a valid value; must be an enforcement level string or an object"
            )
            continue
        if not level and not props:
            continue  # the engine drops empty entries
        result[str(key)] = PolicyConfig(level, props)
    if problems:
        raise PolicyConfigError(problems)
    return result


def load_policy_pack_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a `--policy-pack-config` file (JSON, as the CLI reads; YAML also accepted)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyConfigError([f"{p}: cannot read policy pack config ({e.strerror})"]) from e
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise PolicyConfigError([f"{p}: not valid JSON or YAML ({e})"]) from e
    if not isinstance(data, dict):
        raise PolicyConfigError([f"{p}: must contain an object mapping policy names (or 'all') to config"])
    return data


def _apply_config(
    result: dict[str, PolicyConfig], given: Mapping[str, PolicyConfig]
) -> dict[str, PolicyConfig]:
    all_entry = given.get("all")
    if all_entry is not None and all_entry.enforcement_level in LEVELS:
        result = {k: PolicyConfig(all_entry.enforcement_level, v.properties) for k, v in result.items()}
    for name, cfg in given.items():
        level, props = "", None
        if name in result:
            level, props = result[name].enforcement_level, result[name].properties
        if cfg.enforcement_level in LEVELS:
            level = cfg.enforcement_level
        if cfg.properties:
            props = {**(props or {}), **cfg.properties}
        result[name] = PolicyConfig(level, props)
    return result


def reconcile_config(
    policies: Sequence[PolicyInfo],
    initial_config: Mapping[str, PolicyConfig] | None,
    config: Mapping[str, Any] | Mapping[str, PolicyConfig] | None,
    *,
    pack: str = "",
) -> tuple[dict[str, PolicyConfig], list[str]]:
    """Defaults -> pack initial config -> user config -> JSON-schema validation, as the engine does.

    Returns the config to send with `Configure` and warnings (config for names that are not policies).
    Raises `PolicyConfigError` naming the policy and property of every problem.
    """
    user: Mapping[str, PolicyConfig]
    if config and not all(isinstance(v, PolicyConfig) for v in config.values()):
        user = parse_policy_pack_config(config)
    else:
        user = dict(config or {})

    result: dict[str, PolicyConfig] = {}
    for p in policies:
        props = {
            k: v["default"]
            for k, v in ((p.config_schema or {}).get("properties") or {}).items()
            if isinstance(v, Mapping) and "default" in v
        }
        result[p.name] = PolicyConfig(p.enforcement_level, props or None)
    if initial_config:
        result = _apply_config(result, initial_config)
    if user:
        result = _apply_config(result, user)

    names = {p.name for p in policies}
    warnings = [
        f"policy pack config names {k!r}, which is not a policy of {pack or 'the pack'}: it has no effect"
        for k in user
        if k != "all" and k not in names
    ]
    problems = _validate(policies, result)
    for k, v in result.items():
        if v.enforcement_level not in LEVELS:
            problems.append(
                f"{k}: no enforcement level (the engine rejects config entries without one; "
                f'add "enforcementLevel" or remove the entry)'
            )
    if problems:
        raise PolicyConfigError(problems, pack)
    return result, warnings


def _validate(policies: Sequence[PolicyInfo], config: Mapping[str, PolicyConfig]) -> list[str]:
    import jsonschema

    problems: list[str] = []
    for p in policies:
        if p.config_schema is None:
            continue
        schema: dict[str, Any] = {"type": "object"}
        props = dict(p.config_schema.get("properties") or {})
        props["enforcementLevel"] = {"type": "string", "enum": list(LEVELS)}
        schema["properties"] = props
        if p.config_schema.get("required"):
            schema["required"] = list(p.config_schema["required"])
        entry = config.get(p.name)
        doc = dict(entry.properties or {}) if entry else {}
        validator = jsonschema.Draft7Validator(schema)
        for err in sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.path)), e.message)):
            path = ".".join(str(x) for x in err.path)
            problems.append(f"{p.name}{'.' + path if path else ''}: {err.message}")
    return problems


def _config_to_proto(config: Mapping[str, PolicyConfig]) -> Any:
    req = proto.ConfigureAnalyzerRequest()
    for k, v in config.items():
        pc = proto.PolicyConfig(enforcementLevel=_LEVEL_TO_PROTO[v.enforcement_level])
        if v.properties:
            pc.properties.update(dict(v.properties))
        req.policyConfig[k].CopyFrom(pc)
    return req


def _policy_info(p: Any) -> PolicyInfo:
    schema: dict[str, Any] | None = None
    if p.HasField("configSchema"):
        schema = {
            "properties": json_format.MessageToDict(p.configSchema.properties),
            "required": list(p.configSchema.required),
        }
    fw = p.framework
    framework = (
        {k: getattr(fw, k) for k in ("name", "version", "reference", "specification") if getattr(fw, k)}
        if p.HasField("framework")
        else {}
    )
    return PolicyInfo(
        name=p.name,
        description=p.description,
        enforcement_level=_LEVEL_FROM_PROTO.get(p.enforcementLevel, "advisory"),
        policy_type="stack" if p.policy_type == proto.PolicyType.POLICY_TYPE_STACK else "resource",
        display_name=p.displayName,
        severity=_SEVERITY_FROM_PROTO.get(p.severity),
        framework=framework,
        tags=tuple(p.tags),
        remediation_steps=p.remediation_steps,
        url=p.url,
        config_schema=schema,
    )


# --------------------------------------------------------------------------------------------------------
# Session


class PolicyPackSession:
    """One policy pack, started, described and configured like the engine does; then `analyze(...)`.

    >>> with PolicyPackSession("policy-packs/nsa-cisa-hardening", config={"all": "mandatory"}) as pack:
    ...     result = pack.analyze(program_run.resources)
    """

    def __init__(
        self,
        pack_dir: str | os.PathLike[str],
        config: Mapping[str, Any] | None = None,
        mode: str = "inprocess",
        *,
        project: str = "",
        stack: str = "",
        stack_config: Mapping[str, str] | None = None,
        stack_secret_keys: Sequence[str] = (),
        stack_tags: Mapping[str, str] | None = None,
    ) -> None:
        if mode not in ("inprocess", "subprocess"):
            raise ValueError("mode must be 'inprocess' or 'subprocess'")
        self.pack_dir = Path(pack_dir).resolve()
        if not self.pack_dir.is_dir():
            raise PolicyPackLoadError(f"policy pack directory {self.pack_dir} does not exist")
        self.mode = mode
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            # The CLI loads PulumiPolicy.yaml first and refuses a directory without it.
            raise PolicyPackLoadError(
                f"failed to load Pulumi policy project located at {self.pack_dir}: no PulumiPolicy.yaml"
            )
        meta = read_pack_yaml(self.pack_dir)
        runtime = meta.get("runtime")
        runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
        if runtime_name not in (None, "python"):
            raise PolicyPackLoadError(f"{self.pack_dir}: runtime {runtime_name!r} packs cannot run offline")
        self._transport: _InProcess | _Subprocess
        if mode == "inprocess":
            self._transport = _InProcess(load_pack(self.pack_dir))
        else:
            env: dict[str, str] = {}
            if project and stack:
                # What the engine exports to a pack during a preview (plugin.constructEnv).
                env.update(PULUMI_PROJECT=project, PULUMI_STACK=stack, PULUMI_DRY_RUN="true")
                env["PULUMI_ORGANIZATION"] = "organization"
                if stack_config:
                    env["PULUMI_CONFIG"] = json.dumps(dict(stack_config))
                    env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(stack_secret_keys))
            self._transport = _Subprocess(self.pack_dir, env)
        try:
            self._handshake(project, stack, stack_config, stack_secret_keys, stack_tags)
            info = self._transport.call("GetAnalyzerInfo", empty_pb2.Empty())
            self.name: str = info.name
            self.version: str = str(meta.get("version") or info.version or SDK_PACK_VERSION)
            self.description: str = info.description or str(meta.get("description") or "")
            self.policies: list[PolicyInfo] = sorted(
                (_policy_info(p) for p in info.policies), key=lambda p: p.name
            )
            self._by_name = {p.name: p for p in self.policies}
            initial = {
                k: PolicyConfig(
                    _LEVEL_FROM_PROTO.get(v.enforcementLevel, "advisory"),
                    json_format.MessageToDict(v.properties) or None,
                )
                for k, v in info.initialConfig.items()
            }
            self.config, self.config_warnings = reconcile_config(
                self.policies, initial, config, pack=self.name
            )
            if self.config:
                self._transport.call("Configure", _config_to_proto(self.config))
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> PolicyPackSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        transport = getattr(self, "_transport", None)
        if transport is not None:
            transport.close()

    def _handshake(
        self,
        project: str,
        stack: str,
        stack_config: Mapping[str, str] | None,
        secret_keys: Sequence[str],
        tags: Mapping[str, str] | None,
    ) -> None:
        """`Handshake` (over gRPC; packs that do not implement it are fine, as for the engine), then
        `ConfigureStack` as the engine sends it when a pack runs for a stack's preview."""
        if isinstance(self._transport, _Subprocess):
            hello = proto.AnalyzerHandshakeRequest(
                engine_address=self._transport.engine_address,
                root_directory=str(self.pack_dir),
                program_directory=str(self.pack_dir),
            )
            with contextlib.suppress(NotImplementedError):
                self._transport.call("Handshake", hello)
        if not (project and stack):
            return
        req = proto.AnalyzerStackConfigureRequest(stack=stack, project=project, organization="organization")
        req.dry_run = True
        if stack_config:
            req.config.update(dict(stack_config))
        req.config_secret_keys.extend(secret_keys)
        for k, v in (tags or {}).items():
            req.tags[k] = v
        with contextlib.suppress(NotImplementedError):
            self._transport.call("ConfigureStack", req)

    @property
    def engine_logs(self) -> list[tuple[int, str]]:
        return list(self._transport.engine.logs) if isinstance(self._transport, _Subprocess) else []

    def policy(self, name: str) -> PolicyInfo:
        return self._by_name[name]

    # -- protocol steps ------------------------------------------------------------------------------
    def _request(
        self, r: AnalyzerInput, props: Mapping[str, Any], provider: AnalyzerInput | None, cls: Any
    ) -> Any:
        req = cls(type=r.type, urn=r.urn, name=r.name, properties=_struct(props), options=_options_proto(r))
        if provider is not None:
            req.provider.CopyFrom(
                proto.AnalyzerProviderResource(
                    type=provider.type,
                    urn=provider.urn,
                    name=provider.name,
                    properties=_struct(engine_wire(provider.props, skip_internal_keys=True)),
                )
            )
        return req

    def remediate(
        self, r: AnalyzerInput, props: Mapping[str, Any], provider: AnalyzerInput | None = None
    ) -> tuple[dict[str, Any] | None, list[Violation], list[RemediationRecord], list[NotApplicable]]:
        """`Remediate` -> (new wire props or None, advisories for remediations that could not run, ...)."""
        req = self._request(r, engine_wire(props, skip_internal_keys=False), provider, proto.AnalyzeRequest)
        try:
            resp = self._transport.call("Remediate", req)
        except NotImplementedError:
            return None, [], [], []
        new_props: dict[str, Any] | None = None
        diags: list[Violation] = []
        records: list[RemediationRecord] = []
        for rem in resp.remediations:
            if rem.diagnostic:
                # The engine shows a remediation that could not run as an advisory on the resource.
                diags.append(
                    self._violation(
                        rem.policyName, rem.description, rem.diagnostic, "advisory", r, "remediate"
                    )
                )
            elif rem.HasField("properties"):
                new_props = _from_struct(rem.properties)
                records.append(RemediationRecord(rem.policyName, rem.policyPackName, r.urn, rem.description))
        na = [NotApplicable(n.policy_name, r.urn, n.reason) for n in resp.not_applicable]
        return new_props, diags, records, na

    def analyze_one(
        self, r: AnalyzerInput, props: Mapping[str, Any], provider: AnalyzerInput | None = None
    ) -> tuple[list[Violation], list[NotApplicable]]:
        req = self._request(r, engine_wire(props, skip_internal_keys=True), provider, proto.AnalyzeRequest)
        resp = self._transport.call("Analyze", req)
        out = [self._diagnostic(d, r, "analyze", None) for d in resp.diagnostics]
        return out, [NotApplicable(n.policy_name, r.urn, n.reason) for n in resp.not_applicable]

    def analyze_stack_step(
        self,
        resources: Sequence[tuple[AnalyzerInput, Mapping[str, Any]]],
        lookup: Mapping[str, AnalyzerInput],
    ) -> tuple[list[Violation], list[NotApplicable]]:
        req = proto.AnalyzeStackRequest()
        for r, props in resources:
            ar = self._request(
                r,
                engine_wire(props, skip_internal_keys=True),
                _provider_of(r, lookup),
                proto.AnalyzerResource,
            )
            ar.parent = r.parent
            ar.dependencies.extend(r.dependencies)
            for k, urns in r.property_dependencies.items():
                if urns:
                    ar.propertyDependencies[k].urns.extend(urns)
            req.resources.append(ar)
        try:
            resp = self._transport.call("AnalyzeStack", req)
        except NotImplementedError:
            return [], []
        out = [self._diagnostic(d, None, "analyze-stack", lookup) for d in resp.diagnostics]
        return out, [NotApplicable(n.policy_name, "", n.reason) for n in resp.not_applicable]

    def _diagnostic(
        self, d: Any, r: AnalyzerInput | None, phase: str, lookup: Mapping[str, AnalyzerInput] | None
    ) -> Violation:
        target = r
        if d.urn and lookup is not None:
            target = lookup.get(d.urn)
        v = self._violation(
            d.policyName,
            d.description,
            d.message,
            _LEVEL_FROM_PROTO.get(d.enforcementLevel, "advisory"),
            target,
            phase,
        )
        if d.urn and lookup is not None:
            # Only stack policies attribute a violation to another resource; for a resource policy the
            # engine always uses the analyzed resource's URN.
            v.urn = d.urn
        if d.severity in _SEVERITY_FROM_PROTO:
            v.severity = _SEVERITY_FROM_PROTO[d.severity]
        return v

    def _violation(
        self, policy: str, description: str, message: str, level: str, r: AnalyzerInput | None, phase: str
    ) -> Violation:
        info = self._by_name.get(policy)
        detail = message
        if description and message.startswith(description):
            detail = message[len(description) :].lstrip("\n") or message
        return Violation(
            policy_name=policy,
            description=description or (info.description if info else ""),
            message=detail,
            enforcement_level=level,
            urn=r.urn if r else "",
            resource_type=r.type if r else "",
            resource_name=r.name if r else "",
            severity=info.severity if info else None,
            tags=info.tags if info else (),
            pack_name=self.name,
            pack_version=self.version,
            phase=phase,
        )

    # -- the whole run -------------------------------------------------------------------------------
    def analyze(
        self,
        resources: Sequence[CapturedResource] | Sequence[AnalyzerInput],
        *,
        stack_outputs: Mapping[str, Any] | None = None,
        analyze_stack: bool = True,
    ) -> AnalysisResult:
        return run_analysis([self], resources, stack_outputs=stack_outputs, analyze_stack=analyze_stack)


def _provider_of(r: AnalyzerInput, lookup: Mapping[str, AnalyzerInput]) -> AnalyzerInput | None:
    return lookup.get(r.provider) if r.provider else None


def run_analysis(
    sessions: Sequence[PolicyPackSession],
    resources: Sequence[CapturedResource] | Sequence[AnalyzerInput],
    *,
    stack_outputs: Mapping[str, Any] | None = None,
    analyze_stack: bool = True,
) -> AnalysisResult:
    """The engine's order: per resource, every pack's `Remediate` (each sees the previous pack's result),
    then every pack's `Analyze` on the final inputs; at the end, one `AnalyzeStack` per pack."""
    inputs: list[AnalyzerInput] = [
        r if isinstance(r, AnalyzerInput) else from_captured([r], stack_outputs)[0] for r in resources
    ]
    lookup = {r.urn: r for r in inputs}
    result = AnalysisResult(violations=[], remediations={})
    final: list[tuple[AnalyzerInput, Mapping[str, Any]]] = []
    for r in inputs:
        provider = _provider_of(r, lookup)
        props: Mapping[str, Any] = r.props
        for s in sessions:
            new_props, diags, records, na = s.remediate(r, props, provider)
            result.violations += diags
            result.remediation_records += records
            result.not_applicable += na
            if new_props is not None:
                props = new_props
        if props is not r.props:
            result.remediations[r.urn] = _plain(props)
        for s in sessions:
            violations, na = s.analyze_one(r, props, provider)
            result.violations += violations
            result.not_applicable += na
        final.append((r, r.stack_props if r.stack_props is not None else props))
    if analyze_stack:
        for s in sessions:
            violations, na = s.analyze_stack_step(final, lookup)
            result.violations += violations
            result.not_applicable += na
    result.resources_analyzed = len(inputs)
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------------
# Convenience for policy unit tests: one cached, configured in-process session per (pack, config)

_SESSIONS: dict[tuple[str, str], PolicyPackSession] = {}
_SESSIONS_LOCK = threading.Lock()


def _config_key(config: Mapping[str, Any] | None) -> str:
    return json.dumps(config or {}, sort_keys=True, default=str)


def cached_session(
    pack_dir: str | os.PathLike[str], config: Mapping[str, Any] | None = None
) -> PolicyPackSession:
    key = (str(Path(pack_dir).resolve()), _config_key(config))
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = PolicyPackSession(pack_dir, config=config)
            _SESSIONS[key] = session
        return session


def clear_cache() -> None:
    """Forget loaded packs and cached sessions (e.g. after editing a pack in the same process)."""
    with _SESSIONS_LOCK, _LOAD_LOCK:
        _SESSIONS.clear()
        _LOADED.clear()


def analyze_resource(
    pack_dir: str | os.PathLike[str],
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "test",
    config: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    provider: Mapping[str, Any] | None = None,
) -> AnalysisResult:
    """`Remediate` then `Analyze` of one resource (no stack policies); `.remediations` holds new inputs."""
    session = cached_session(pack_dir, config)
    spec: dict[str, Any] = {
        "type": resource_type,
        "name": name,
        "props": props,
        "options": dict(options or {}),
    }
    resources = []
    if provider is not None:
        prov = input_from_dict(provider)
        resources.append(prov)
        spec["provider"] = prov.urn
    resources.append(input_from_dict(spec))
    return run_analysis([session], resources, analyze_stack=False)


def analyze_props(
    pack_dir: str | os.PathLike[str],
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "test",
    config: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[Violation]:
    """Violations the pack reports for one resource with these inputs (plain camelCase values; use
    `UNKNOWN` for a value unknown during preview). Loaded and configured once per (pack, config)."""
    return analyze_resource(
        pack_dir, resource_type, props, name=name, config=config, options=options
    ).violations


def analyze_stack(
    pack_dir: str | os.PathLike[str],
    resources: Iterable[Mapping[str, Any] | CapturedResource],
    config: Mapping[str, Any] | None = None,
    *,
    stack_outputs: Mapping[str, Any] | None = None,
) -> AnalysisResult:
    """The full engine sequence over a small stack: Remediate+Analyze per resource, then AnalyzeStack.

    Dict resources: `{"type", "name", "props", "parent"?, "options"?, "dependencies"?, "provider"?}`; parent,
    provider and dependencies may give another resource's name instead of its URN.
    """
    items = list(resources)
    by_name = {
        str(i["name"]): str(i.get("urn") or make_urn(str(i["type"]), str(i["name"])))
        for i in items
        if isinstance(i, Mapping)
    }
    inputs = [
        input_from_dict(i, by_name=by_name)
        if isinstance(i, Mapping)
        else from_captured([i], stack_outputs)[0]
        for i in items
    ]
    return run_analysis([cached_session(pack_dir, config)], inputs, stack_outputs=stack_outputs)
