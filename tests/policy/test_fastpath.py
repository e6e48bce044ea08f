"""The pack's fast analyzer loop (nsa_cisa/fastpath.py) changes speed, never answers.

Every request of a run goes to both loops, the fast one and pulumi-policy's own, and their serialized
responses must be byte-identical: messages, order, enforcement levels, severities, not-applicable answers,
"can't run policy during preview" diagnostics and remediated properties. Inputs: the benchmark stack
under several pack configs, garbled and unknown-valued props, the PSS fixtures and every example stack.
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardened_rke2.analysis.inputs import from_captured, input_from_dict, make_urn
from hardened_rke2.analysis.session import PolicyPackSession, run_analysis
from hardened_rke2.analysis.testing import UNKNOWN
from hardened_rke2.preview import preview_project
from hardened_rke2.project import load_stack_reference_outputs
from tests.support.fuzz import FIELD_NAMES, RESOURCE_TYPES, valid_examples
from tests.support.paths import PACK_DIR, REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
TEAM = REPO_ROOT / "stacks" / "teams" / "payments"


def _fastpath() -> Any:
    # A standalone copy of the module: its state lives on the SDK class, shared by every copy.
    path = PACK_DIR / "nsa_cisa" / "fastpath.py"
    spec = importlib.util.spec_from_file_location("fastpath_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FASTPATH = _fastpath()


class _BothLoops:
    """A transport that answers every call with the fast loop and checks the SDK's loop answers the same."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.compared: dict[str, int] = {}

    def _answer(self, method: str, request: Any) -> tuple[str, Any]:
        try:
            resp = self.inner.call(method, request)
        except Exception as e:  # both loops must fail the same way, too
            return f"raised {type(e).__name__}: {e}", None
        return resp.SerializeToString(deterministic=True).hex(), resp

    def call(self, method: str, request: Any) -> Any:
        if method not in ("Analyze", "AnalyzeStack", "Remediate"):
            return self.inner.call(method, request)
        assert FASTPATH.installed()
        fast, resp = self._answer(method, request)
        FASTPATH.uninstall()
        try:
            slow, _ = self._answer(method, request)
        finally:
            FASTPATH.install()
        assert fast == slow, f"{method} of {getattr(request, 'urn', '')}: fast loop answered differently"
        # messages are deterministic: no object repr with an address (" at 0x...") in any answer
        assert b" at 0x".hex() not in fast, f"{method}: an object repr leaked into a message"
        self.compared[method] = self.compared.get(method, 0) + 1
        if resp is None:
            raise AssertionError(f"{method} raised: {fast}")
        return resp

    def close(self) -> None:
        self.inner.close()


def _compare(resources: list[Any], config: Mapping[str, Any] | None = None) -> dict[str, int]:
    FASTPATH.install()
    with PolicyPackSession(PACK_DIR, config=config) as session:
        both = _BothLoops(session._transport)
        session._transport = both  # type: ignore[assignment]
        result = run_analysis([session], resources)
    assert both.compared.get("Analyze") and both.compared.get("AnalyzeStack")
    both.compared["violations"] = len(result.violations)
    return both.compared


def _inputs(specs: list[dict[str, Any]]) -> list[Any]:
    by_name = {str(s["name"]): make_urn(str(s["type"]), str(s["name"])) for s in specs}
    return [input_from_dict(s, by_name=by_name) for s in specs]


def _bench_stack(total: int) -> list[dict[str, Any]]:
    from benchmarks.bench_policy_pack import build_stack  # the repository root is on pytest's pythonpath

    return [{"type": s["type"], "name": s["name"], "props": s["props"]} for s in build_stack(total)]


def test_the_pack_entry_point_installs_it() -> None:
    assert "fastpath.install()" in (PACK_DIR / "__main__.py").read_text(encoding="utf-8")


def test_an_unsupported_sdk_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FASTPATH, "SDK_VERSION", "1.22.0")
    with pytest.raises(FASTPATH.UnsupportedSdkError, match=r"pin pulumi-policy==1\.21\.0"):
        FASTPATH.install()


CONFIGS: list[dict[str, Any] | None] = [
    None,
    {"all": "advisory"},
    {"all": "remediate"},
    {
        "pss-host-ports": "disabled",
        "read-only-root-filesystem": "remediate",
        "pss-seccomp-profile-required": "remediate",
        "image-allowed-registries": {"allowedRegistries": ["registry.example.com/"]},
        "exemption-applied": "disabled",
    },
]


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "advisory", "remediate", "mixed"])
def test_benchmark_stack_under_pack_configs(config: dict[str, Any] | None) -> None:
    compared = _compare(_inputs(_bench_stack(1000 if config is None else 300)), config)
    assert compared["Analyze"] >= 300
    assert compared["violations"], "the comparison must cover reported violations"


def _garble(value: Any, rng: random.Random, depth: int = 0) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            roll = rng.random()
            if roll < 0.08:
                out[k] = UNKNOWN
            elif roll < 0.16:
                out[k] = rng.choice([None, 1.0, "x", [], {}, True, "*", [UNKNOWN], {"a": UNKNOWN}])
            elif roll < 0.2:
                continue
            else:
                out[k] = _garble(v, rng, depth + 1)
        if rng.random() < 0.1:
            out[rng.choice(FIELD_NAMES)] = rng.choice([UNKNOWN, "0", 0.0, ["ALL"], {"x": 1.0}])
        return out
    if isinstance(value, list):
        return [_garble(v, rng, depth + 1) for v in value if rng.random() > 0.1]
    return value


def _garbled_specs() -> Iterator[dict[str, Any]]:
    rng = random.Random(20261206)
    base = [(t, p) for t, p in valid_examples()]
    base += [(s["type"], s["props"]) for s in _bench_stack(120)]
    for i in range(400):
        resource_type, props = rng.choice(base)
        if rng.random() < 0.15:
            resource_type = rng.choice(RESOURCE_TYPES)
        garbled = _garble(json.loads(json.dumps(props)), rng)
        yield {"type": resource_type, "name": f"garbled-{i}", "props": garbled}


def test_garbled_and_unknown_props() -> None:
    assert _compare(_inputs(list(_garbled_specs())))["violations"]
    _compare(_inputs(list(_garbled_specs())), {"all": "remediate"})


def test_pss_fixtures() -> None:
    specs = []
    for path in sorted((FIXTURES / "pss").rglob("*.yaml")):
        for i, doc in enumerate(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d):
            if doc.get("kind") == "Pod":
                specs.append({"type": "kubernetes:core/v1:Pod", "name": f"{path.stem}-{i}", "props": doc})
    assert len(specs) > 20
    assert _compare(_inputs(specs))["violations"]
    _compare(_inputs(specs), {"all": "remediate"})


def _nested(levels: int, in_list: bool) -> dict[str, Any]:
    """`levels` containers below the top level (dicts, or a list at every other level)."""
    root: dict[str, Any] = {}
    cur: Any = root
    for i in range(levels):
        if in_list and i % 2:
            cur["a"] = [{}]
            cur = cur["a"][0]
        else:
            cur["a"] = {}
            cur = cur["a"]
    return root


def test_nesting_at_the_depth_limit() -> None:
    # The fast decoder marks properties within the limit as well-formed (the well-formed policy then skips its
    # walk) and hands deeper ones to the SDK's decoding: the verdicts either side of the limit must not move.
    specs = []
    for levels in range(FASTPATH.MAX_DEPTH - 3, FASTPATH.MAX_DEPTH + 3):
        for in_list in (False, True):
            data = _nested(levels, in_list)
            specs.append(
                {
                    "type": "kubernetes:core/v1:ConfigMap",
                    "name": f"deep-{levels}-{in_list}",
                    "props": {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "x", "namespace": "apps"},
                        "deep": data,
                    },
                }
            )
            specs.append(
                {
                    "type": "kubernetes:apps/v1:Deployment",
                    "name": f"deep-dep-{levels}-{in_list}",
                    "props": {"metadata": {"name": "x", "namespace": "apps", "annotations": data}},
                }
            )
    compared = _compare(_inputs(specs))
    assert compared["Analyze"] >= len(specs) and compared["violations"]


def test_only_properties_the_decoder_checked_are_marked_well_formed() -> None:
    from nsa_cisa.robustness import decoded_problem

    from hardened_rke2.analysis.wire import SECRET_SIG, SIG_KEY, to_struct

    def marked(doc: dict[str, Any]) -> bool:
        return bool(getattr(FASTPATH._decode(to_struct(doc)), FASTPATH.WELL_FORMED_ATTR, False))

    verdicts = set()
    for levels in range(FASTPATH.MAX_DEPTH - 6, FASTPATH.MAX_DEPTH + 2):
        for in_list in (False, True):
            doc = {"a": _nested(levels, in_list)}
            verdicts.add(marked(doc))
            assert marked(doc) == (decoded_problem(doc) is None), (levels, in_list)
    assert verdicts == {True, False}
    for bad in ({"n": float("nan")}, {"l": [1.0, float("inf")]}):  # the SDK's decoding refuses them; the
        with pytest.raises(ValueError, match="Fail to serialize"):  # request guard answers (test_robustness)
            marked(bad)
    assert not marked({"s": {SIG_KEY: SECRET_SIG, "value": "x"}})  # the SDK decodes it
    assert marked({"n": 1.0, "l": [], "m": {}})


EXAMPLE_STACKS = [
    (REPO_ROOT, "dev", None, None),
    (REPO_ROOT, "prod", None, None),
    (REPO_ROOT, "management", None, None),
    (TEAM, "dev", TEAM / "platform-outputs.json", TEAM / "policy-pack-config.json"),
    (TEAM, "broken", TEAM / "platform-outputs.json", TEAM / "policy-pack-config.json"),
]


@pytest.mark.parametrize(
    "project,stack,outputs,config", EXAMPLE_STACKS, ids=[f"{p.name}-{s}" for p, s, _, _ in EXAMPLE_STACKS]
)
def test_every_example_stack(project: Path, stack: str, outputs: Path | None, config: Path | None) -> None:
    refs = load_stack_reference_outputs(outputs) if outputs else None
    preview = preview_project(project, stack, stack_reference_outputs=refs)
    resources = list(preview.resources)
    assert resources
    pack_config = json.loads(config.read_text(encoding="utf-8")) if config else None
    _compare(from_captured(resources, None), pack_config)


def test_lazily_decoded_stack_props_read_like_the_eager_ones() -> None:
    import copy as copy_module

    from google.protobuf import struct_pb2

    doc = {
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"a": "b"}},
        "spec": {"replicas": 2.0, "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
    }
    msg = struct_pb2.Struct()
    msg.update(doc)
    lazy, eager = FASTPATH._decode_lazy(msg), FASTPATH._decode(msg)
    target = lazy["__target"]
    assert type(target).__name__ == "_LazyTarget"
    assert dict(target).keys() == doc.keys() and {**target}["kind"] == "Deployment"
    assert FASTPATH._PENDING not in dict(target).values() and FASTPATH._PENDING not in {**target}.values()
    assert json.dumps(_plain(lazy), sort_keys=True) == json.dumps(_plain(eager), sort_keys=True)
    assert list(lazy) == list(eager) and len(lazy) == len(eager)
    assert copy_module.deepcopy(FASTPATH._decode_lazy(msg)["__target"]).keys() == doc.keys()
    # anything the SDK decodes itself (here a secret's signature) goes through the eager decoder
    secret = struct_pb2.Struct()
    secret.update(
        {"data": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s3cr3t"}}
    )
    assert type(FASTPATH._decode_lazy(secret)["__target"]) is dict
    assert FASTPATH._decode_lazy(secret)["data"] == "s3cr3t"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(value[k]) for k in value}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "_ListProxy":
        return [_plain(v) for v in value]
    return value


def test_the_fast_proxies_read_like_the_sdks() -> None:
    from google.protobuf import struct_pb2
    from pulumi_policy import proxy as sdk_proxy

    from hardened_rke2.analysis.wire import to_struct

    doc = {"a": UNKNOWN, "b": [1.0, UNKNOWN, {"c": UNKNOWN}], "d": {"e": "x"}, "__target": "t"}
    msg = to_struct(doc)
    assert isinstance(msg, struct_pb2.Struct)
    ours = FASTPATH._decode(msg)
    sdk = sdk_proxy.unknown_checking_proxy(
        FASTPATH.sdk.deserialize_properties(FASTPATH.sdk.json_format.MessageToDict(msg))
    )
    assert type(ours).__name__ == type(sdk).__name__ and isinstance(ours, type(sdk))
    assert type(ours).__module__ == type(sdk).__module__

    def outcome(fn: Any) -> Any:
        try:
            value = fn()
        except Exception as e:  # compare what each proxy raises, message and path included
            return (type(e).__name__, getattr(e, "message", str(e)))
        return ("value", type(value).__name__ if hasattr(value, "__len__") else value)

    probes = [
        lambda p: p["a"],
        lambda p: p.get("a"),
        lambda p: "a" in p,
        lambda p: "z" in p,
        lambda p: p.get("z", 3),
        lambda p: p["__target"] is not None,
        lambda p: p.get("__target") is not None,
        lambda p: "__target" in p,
        lambda p: list(p["b"]),
        lambda p: p["b"][1],
        lambda p: p["b"][0],
        lambda p: p["b"][2]["c"],
        lambda p: p["b"][-1].get("c"),
        lambda p: 1.0 in p["b"],
        lambda p: p["d"]["e"],
        lambda p: p["d"]["zz"],
        lambda p: p["b"][7],
        lambda p: p.get(["unhashable"]),
        lambda p: len(p),
        lambda p: sorted(p),
        lambda p: list(p["b"][0:2]),
    ]
    for probe in probes:
        assert outcome(lambda probe=probe: probe(ours)) == outcome(lambda probe=probe: probe(sdk))
