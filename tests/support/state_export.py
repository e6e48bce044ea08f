"""A `pulumi stack export` document built from an offline preview, for the `audit` tests.

It follows the deployment format's documented fields (pulumi/pulumi@1b5949891b3c,
sdk/go/common/apitype/core.go: `UntypedDeployment` 381-393, `DeploymentV3` 153-174, `ResourceV3` 480-565,
`ManifestV1` 573-583) and the state encoding of property values (pkg/resource/stack/deployment.go:
`SerializePropertyValue` 773-905): a secret is `{sig: secret, ciphertext}` (or `plaintext`, the JSON text of
its value, as `pulumi stack export --show-secrets` writes it); an unknown value is the computed placeholder;
a resource reference keeps its `{sig, urn, id, packageVersion}` map; custom timeouts are seconds.

What the state holds is what `pulumi up` would have recorded with the offline engine's echo provider:
- inputs: the registered inputs, after any remediation the preview applied (the engine stores remediated
  inputs); outputs: the same values (the mock provider echoes its inputs); the Stack's outputs: its exports;
- the default providers the engine creates (one per package, inputs = the package's stack config), and
  each custom resource without an explicit provider refers to its package's default as `<urn>::<id>`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from hardened_rke2.analysis.inputs import AnalyzerInput
from hardened_rke2.analysis.wire import OUTPUT_SIG, RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN
from hardened_rke2.capture import STACK_TYPE, CapturedResource
from hardened_rke2.preview import PreviewResult
from hardened_rke2.state_file import PROVIDER_TYPE_PREFIX

MANIFEST = {"time": "2026-12-06T00:00:00Z", "magic": "", "version": "v3.276.0"}
PASSPHRASE_PROVIDER = {"type": "passphrase", "state": {"salt": "v1:c2FsdHNhbHQ=:v1:bm9uY2Vub25jZQ==:AAAA"}}


def fake_ciphertext(plaintext: str) -> str:
    """Opaque passphrase-style ciphertext (`v1:<nonce>:<sealed>`); nothing can or does decrypt it."""
    digest = hashlib.sha256(plaintext.encode()).digest()
    return f"v1:{base64.b64encode(digest[:12]).decode()}:{base64.b64encode(digest).decode()}"


def state_value(value: Any, *, secrets: str) -> Any:
    """A wire value (as the offline engine captured it) in the state encoding."""
    if isinstance(value, Mapping):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            plaintext = json.dumps(state_value(value.get("value"), secrets=secrets))
            if secrets == "plaintext":
                return {SIG_KEY: SECRET_SIG, "plaintext": plaintext}
            return {SIG_KEY: SECRET_SIG, "ciphertext": fake_ciphertext(plaintext)}
        if sig == RESOURCE_SIG:
            ref = {
                SIG_KEY: RESOURCE_SIG,
                "urn": value["urn"],
                "packageVersion": value.get("packageVersion", ""),
            }
            if value.get("id") not in (None, ""):
                ref["id"] = value["id"]
            return ref
        if sig == OUTPUT_SIG:
            inner = value.get("value", UNKNOWN)
            if value.get("secret"):
                return state_value({SIG_KEY: SECRET_SIG, "value": inner}, secrets=secrets)
            return state_value(inner, secrets=secrets)
        return {k: state_value(v, secrets=secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [state_value(v, secrets=secrets) for v in value]
    return value


def _seconds(duration: str | None) -> float:
    from hardened_rke2.analysis.wire import parse_duration

    return parse_duration(duration)


def _resource(
    r: CapturedResource, inputs: Mapping[str, Any], provider_ref: str | None, *, secrets: str
) -> dict[str, Any]:
    encoded = state_value(dict(inputs), secrets=secrets)
    entry: dict[str, Any] = {"urn": r.urn, "custom": r.custom, "type": r.type}
    if r.custom:
        entry["id"] = r.id or f"{r.name}-id"
    entry["inputs"] = {} if r.type == STACK_TYPE else encoded
    entry["outputs"] = encoded
    if r.parent:
        entry["parent"] = r.parent
    if r.protect:
        entry["protect"] = True
    if r.dependencies:
        entry["dependencies"] = list(r.dependencies)
    if provider_ref:
        entry["provider"] = provider_ref
    pdeps = {k: list(v) for k, v in r.property_dependencies.items() if v}
    if pdeps:
        entry["propertyDependencies"] = pdeps
    if r.additional_secret_outputs:
        entry["additionalSecretOutputs"] = list(r.additional_secret_outputs)
    timeouts = {k: _seconds(v) for k, v in r.custom_timeouts.items() if v}
    if timeouts:
        entry["customTimeouts"] = timeouts
    if r.ignore_changes:
        entry["ignoreChanges"] = list(r.ignore_changes)
    if r.retain_on_delete:
        entry["retainOnDelete"] = True
    return entry


def _provider_entry(p: AnalyzerInput, *, secrets: str) -> dict[str, Any]:
    encoded = state_value(dict(p.props), secrets=secrets)
    return {
        "urn": p.urn,
        "custom": True,
        "id": _provider_id(p.urn),
        "type": p.type,
        "inputs": encoded,
        "outputs": encoded,
    }


def _provider_id(urn: str) -> str:
    h = hashlib.sha256(urn.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def export_from_preview(result: PreviewResult, *, secrets: str = "plaintext") -> dict[str, Any]:
    """`result` (an `ok` preview) as `pulumi stack export` output; `secrets` is `plaintext` (as with
    `--show-secrets`) or `ciphertext` (the default export: opaque, never decrypted)."""
    assert result.status == "ok", result.error or result.problems
    assert secrets in ("plaintext", "ciphertext")
    remediated = result.analysis.remediations if result.analysis else {}
    defaults = {p.type[len(PROVIDER_TYPE_PREFIX) :]: p for p in result.default_providers}
    stack = [r for r in result.resources if r.type == STACK_TYPE]
    resources = [_resource(r, result.stack_outputs, None, secrets=secrets) for r in stack]
    resources += [_provider_entry(p, secrets=secrets) for p in result.default_providers]
    for r in result.resources:
        if r.type == STACK_TYPE:
            continue
        provider_ref = r.provider
        package = r.type.split(":", 1)[0]
        if r.custom and not r.provider and not r.type.startswith("pulumi:") and package in defaults:
            default = defaults[package]
            provider_ref = f"{default.urn}::{_provider_id(default.urn)}"
        inputs = remediated.get(r.urn, r.wire_inputs)
        resources.append(_resource(r, inputs, provider_ref, secrets=secrets))
    deployment: dict[str, Any] = {"manifest": dict(MANIFEST), "resources": resources}
    if secrets == "ciphertext":
        deployment["secrets_providers"] = PASSPHRASE_PROVIDER
    return {"version": 3, "deployment": deployment}


# -- hand-written exports ----------------------------------------------------------------------------------


def urn(
    type_: str, name: str, *, stack: str = "audit", project: str = "brownfield", parent_type: str = ""
) -> str:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def resource(
    type_: str,
    name: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    outputs: Mapping[str, Any] | None = None,
    custom: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """One `ResourceV3` in the state encoding (`fields` are further ResourceV3 keys, e.g. `delete`)."""
    entry: dict[str, Any] = {
        "urn": fields.pop("urn", None) or urn(type_, name),
        "custom": custom,
        "type": type_,
    }
    if custom:
        entry["id"] = f"{name}-0123"
    entry["inputs"] = dict(inputs or {})
    entry["outputs"] = dict(outputs if outputs is not None else entry["inputs"])
    entry.update(fields)
    return entry


def stack_resource(outputs: Mapping[str, Any] | None = None, *, stack: str = "audit") -> dict[str, Any]:
    return resource(
        STACK_TYPE,
        f"brownfield-{stack}",
        {},
        outputs=outputs or {},
        custom=False,
        urn=urn(STACK_TYPE, f"brownfield-{stack}", stack=stack),
    )


def export(resources: list[dict[str, Any]], **deployment: Any) -> dict[str, Any]:
    """`{"version": 3, "deployment": {...}}` around `resources` (`deployment`: e.g. pending_operations)."""
    return {"version": 3, "deployment": {"manifest": dict(MANIFEST), "resources": resources, **deployment}}


def ciphertext(value: Any) -> dict[str, Any]:
    return {SIG_KEY: SECRET_SIG, "ciphertext": fake_ciphertext(json.dumps(value))}


def plaintext(value: Any) -> dict[str, Any]:
    return {SIG_KEY: SECRET_SIG, "plaintext": json.dumps(value)}
