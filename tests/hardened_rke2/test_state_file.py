"""Reading `pulumi stack export` files: the deployment format, its value encoding, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hardened_rke2 import state_file
from hardened_rke2.analysis.wire import RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN
from hardened_rke2.safe_yaml import InputFileError
from hardened_rke2.state_file import StateFileError, read_state_file
from tests.support.state_export import ciphertext, export, plaintext, resource, stack_resource, urn

POD = "kubernetes:core/v1:Pod"


def _write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "state.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def _one(tmp_path: Path, inputs: dict[str, Any], **fields: Any) -> Any:
    state = read_state_file(_write(tmp_path, export([resource(POD, "p", inputs, **fields)])))
    return state.resources[0]


# -- value encoding (pkg/resource/stack/deployment.go:1049-1204 at pulumi/pulumi@1b5949891b3c) -----------


def test_ciphertext_becomes_a_secret_unknown_and_is_counted_never_decrypted(tmp_path: Path) -> None:
    r = _one(tmp_path, {"token": ciphertext("s3cr3t"), "nested": {"key": ciphertext({"a": 1})}})
    assert r.wire_inputs["token"] == {SIG_KEY: SECRET_SIG, "value": UNKNOWN}
    assert r.wire_inputs["nested"]["key"] == {SIG_KEY: SECRET_SIG, "value": UNKNOWN}
    assert r.is_secret("token") and r.is_secret("nested.key")
    state = read_state_file(tmp_path / "state.json")
    assert state.encrypted_secrets == 4  # both values, in the inputs and (echoed) in the outputs


def test_plaintext_secret_is_its_json_value_still_marked_secret(tmp_path: Path) -> None:
    r = _one(tmp_path, {"kubeconfig": plaintext({"clusters": [1, {"x": plaintext("inner")}]})})
    assert r.wire_inputs["kubeconfig"] == {
        SIG_KEY: SECRET_SIG,
        "value": {"clusters": [1, {"x": {SIG_KEY: SECRET_SIG, "value": "inner"}}]},
    }
    assert r.inputs == {"kubeconfig": {"clusters": [1, {"x": "inner"}]}}


def test_computed_placeholder_float_and_byte_string_signatures_decode(tmp_path: Path) -> None:
    r = _one(
        tmp_path,
        {
            "later": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
            "ratio": {SIG_KEY: state_file.FLOAT_SIG, "value": "3ff8000000000000"},
            "blob": {SIG_KEY: state_file.BYTE_STRING_SIG, "value": "aGVsbG8="},
        },
    )
    assert r.wire_inputs == {"later": UNKNOWN, "ratio": 1.5, "blob": "hello"}


def test_resource_references_keep_urn_and_id_including_the_old_wrapped_id_form(tmp_path: Path) -> None:
    target = urn("rancher2:index/clusterV2:ClusterV2", "c")
    r = _one(
        tmp_path,
        {
            "custom": {SIG_KEY: RESOURCE_SIG, "urn": target, "id": "c-1", "packageVersion": ""},
            "component": {SIG_KEY: RESOURCE_SIG, "urn": target, "packageVersion": ""},
            "wrapped": {SIG_KEY: RESOURCE_SIG, "urn": target, "id": {"V": "c-2"}},
        },
    )
    assert r.wire_inputs["custom"] == {SIG_KEY: RESOURCE_SIG, "urn": target, "id": "c-1"}
    assert r.wire_inputs["component"] == {SIG_KEY: RESOURCE_SIG, "urn": target}
    assert r.wire_inputs["wrapped"]["id"] == "c-2"
    assert r.inputs == {"custom": "c-1", "component": target, "wrapped": "c-2"}


# -- resources and what the analyzers are sent (pkg/resource/deploy/analyze_snapshot.go:143-179) --------


def test_analyzer_input_takes_inputs_for_analyze_outputs_for_stack_and_resolves_the_provider(
    tmp_path: Path,
) -> None:
    prov_urn = urn("pulumi:providers:kubernetes", "k8s")
    provider = resource("pulumi:providers:kubernetes", "k8s", {"namespace": "apps"}, urn=prov_urn)
    pod = resource(
        POD,
        "web::v2",  # a name may contain `::`: the name is everything after the fourth delimiter
        {"spec": {"a": 1}},
        outputs={"spec": {"a": 2}},
        provider=f"{prov_urn}::{provider['id']}",
        protect=True,
        parent=urn("pulumi:pulumi:Stack", "brownfield-audit"),
        aliases=[urn(POD, "old")],
        customTimeouts={"create": 5400, "delete": 60},
        ignoreChanges=["spec.a"],
        dependencies=[prov_urn],
        propertyDependencies={"spec": [prov_urn]},
    )
    orphan = resource(POD, "orphan", {}, provider=f"{urn('pulumi:providers:aws', 'gone')}::x")
    state = read_state_file(_write(tmp_path, export([stack_resource(), provider, pod, orphan])))
    inputs = {i.name: i for i in state.analyzer_inputs()}
    web = inputs["web::v2"]
    assert (dict(web.props), dict(web.stack_props or {})) == ({"spec": {"a": 1}}, {"spec": {"a": 2}})
    assert web.provider == prov_urn and web.protect and web.aliases == (urn(POD, "old"),)
    assert web.custom_timeouts == (5400.0, 0.0, 60.0) and web.ignore_changes == ("spec.a",)
    assert web.delete_before_replace is None  # state records no deleteBeforeReplace
    assert web.property_dependencies == {"spec": (prov_urn,)} and web.dependencies == (prov_urn,)
    assert inputs["orphan"].provider == ""  # a reference to a provider the export does not hold
    assert (state.project, state.stack) == ("brownfield", "audit")


def test_deleted_resources_are_skipped_pending_replacement_kept_pending_operations_listed(
    tmp_path: Path,
) -> None:
    old = resource(POD, "p", {"v": "old"}, delete=True)
    live = resource(POD, "p", {"v": "new"})  # the same URN: the replacement that is live
    dbr = resource(POD, "q", {}, pendingReplacement=True)
    op = {"type": "creating", "resource": resource(POD, "r", {})}
    state = read_state_file(_write(tmp_path, export([old, live, dbr], pending_operations=[op])))
    assert [r.name for r in state.resources] == ["p", "q"]
    assert state.resources[0].wire_inputs == {"v": "new"}
    assert state.deleted == [old["urn"]] and state.pending_replacement == [dbr["urn"]]
    assert state.pending_operations == [("creating", op["resource"]["urn"])]


def test_project_and_stack_are_multiple_when_the_urns_disagree(tmp_path: Path) -> None:
    a = resource(POD, "a", {}, urn=urn(POD, "a", stack="one"))
    b = resource(POD, "b", {}, urn=urn(POD, "b", stack="two"))
    state = read_state_file(_write(tmp_path, export([a, b])))
    assert (state.project, state.stack) == ("brownfield", "multiple")


def test_version_4_with_known_features_is_read(tmp_path: Path) -> None:
    doc = export([resource(POD, "p", {})]) | {"version": 4, "features": ["taint", "views"]}
    assert read_state_file(_write(tmp_path, doc)).version == 4


# -- bad input: exit-code-2 material, each naming the field ---------------------------------------------

_BAD: list[tuple[str, Any, str]] = [
    ("garbage", "this is not json {", r"not valid JSON \(line 1"),
    ("a list", [1, 2], r"the document: must be a JSON object, not a list"),
    ("no version", {"deployment": {}}, r"version: missing: not a `pulumi stack export` file"),
    ("version 2", {"version": 2, "deployment": {}}, r"version: deployment version 2 is older .* \(3 or 4\)"),
    ("version 5", {"version": 5, "deployment": {}}, r"version: deployment version 5 is newer"),
    ("string version", {"version": "3", "deployment": {}}, r"version: must be an integer, not a string"),
    ("no deployment", {"version": 3}, r"deployment: missing: the export has no deployment"),
    ("deployment list", {"version": 3, "deployment": []}, r"deployment: must be an object, not a list"),
    ("checkpoint", {"version": 3, "checkpoint": {}}, r"checkpoint: this is a state backend's checkpoint"),
    ("v4 feature", {"version": 4, "features": ["warp"], "deployment": {}}, r"features: .*\['warp'\]"),
    (
        "resources object",
        {"version": 3, "deployment": {"resources": {}}},
        r"deployment.resources: must be a list",
    ),
]


@pytest.mark.parametrize(("case", "doc", "message"), _BAD, ids=[c[0] for c in _BAD])
def test_bad_envelope_is_refused_naming_the_field(tmp_path: Path, case: str, doc: Any, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_state_file(_write(tmp_path, doc))


_BAD_RESOURCES: list[tuple[str, dict[str, Any], str]] = [
    ("no urn", {"type": POD}, r"deployment.resources\[0\].urn: missing"),
    ("bad urn", {"urn": "urn:x", "type": POD}, r"resources\[0\].urn: 'urn:x' is not a URN"),
    ("no type", {"urn": urn(POD, "p")}, r"resources\[0\] \(urn:pulumi:audit::.*::p\).type: missing"),
    (
        "component id",
        {"urn": urn(POD, "p"), "type": POD, "id": "x"},
        r"\.id: a resource with `custom: false`",
    ),
    (
        "protect str",
        {"urn": urn(POD, "p"), "type": POD, "protect": "yes"},
        r"\.protect: must be true or false",
    ),
    (
        "deps",
        {"urn": urn(POD, "p"), "type": POD, "dependencies": "u"},
        r"\.dependencies: must be a list of str",
    ),
    ("inputs", {"urn": urn(POD, "p"), "type": POD, "inputs": []}, r"\.inputs: must be an object, not a list"),
    (
        "both secret forms",
        {
            "urn": urn(POD, "p"),
            "type": POD,
            "inputs": {"t": {SIG_KEY: SECRET_SIG, "ciphertext": "a", "plaintext": "1"}},
        },
        r"\.inputs\.t: malformed secret value: exactly one of `ciphertext` or `plaintext`",
    ),
    (
        "unknown signature",
        {"urn": urn(POD, "p"), "type": POD, "outputs": {"x": [{SIG_KEY: "feedface"}]}},
        r"\.outputs\.x\[0\]: unrecognized signature 'feedface'",
    ),
    (
        "plaintext not json",
        {"urn": urn(POD, "p"), "type": POD, "inputs": {"t": {SIG_KEY: SECRET_SIG, "plaintext": "{oops"}}},
        r"\.inputs\.t: secret `plaintext` is not JSON",
    ),
    (
        "timeouts",
        {"urn": urn(POD, "p"), "type": POD, "customTimeouts": {"create": "90m"}},
        r"\.customTimeouts: must be an object of seconds",
    ),
]


@pytest.mark.parametrize(("case", "res", "message"), _BAD_RESOURCES, ids=[c[0] for c in _BAD_RESOURCES])
def test_bad_resource_is_refused_naming_index_urn_and_field(
    tmp_path: Path, case: str, res: dict[str, Any], message: str
) -> None:
    with pytest.raises(StateFileError, match=message):
        read_state_file(_write(tmp_path, export([res])))


def test_a_live_urn_twice_is_refused(tmp_path: Path) -> None:
    doc = export([resource(POD, "p", {}), resource(POD, "p", {})])
    with pytest.raises(StateFileError, match=r"resources\[1\].*\.urn: .* is also resource \[0\]"):
        read_state_file(_write(tmp_path, doc))


def test_malformed_pending_operation_is_refused(tmp_path: Path) -> None:
    doc = export([], pending_operations=[{"type": "creating", "resource": {"type": POD}}])
    with pytest.raises(StateFileError, match=r"pending_operations\[0\].resource.urn: missing"):
        read_state_file(_write(tmp_path, doc))


def test_size_and_depth_limits_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, export([resource(POD, "p", {"deep": [[[[[[1]]]]]]})]))
    monkeypatch.setattr(state_file, "MAX_STATE_DEPTH", 8)
    with pytest.raises(InputFileError, match=r"nested more than 8 levels deep \(limit MAX_STATE_DEPTH\)"):
        read_state_file(path)
    monkeypatch.setattr(state_file, "MAX_STATE_BYTES", 100)
    with pytest.raises(InputFileError, match=r"larger than 100 \(limit MAX_STATE_BYTES\)"):
        read_state_file(path)
