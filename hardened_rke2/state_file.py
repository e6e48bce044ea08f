"""Reading a `pulumi stack export` file (the deployment format) into what the analyzers are sent.

The format is pulumi/pulumi's `apitype.UntypedDeployment` around a `DeploymentV3`
(sdk/go/common/apitype/core.go:153-174, 381-393, ResourceV3 at 480-565; pulumi/pulumi@1b5949891b3c).
Property values are decoded as the CLI's `DeserializePropertyValue` does
(pkg/resource/stack/deployment.go:1049-1204), with one deliberate difference: a secret's `ciphertext` is
never decrypted. It becomes a secret whose value is unknown, so a policy that reads it raises the SDK's
"can't run policy" advisory instead of judging a placeholder (the CLI, when it cannot decrypt, redacts every
secret to the string `[secret]`: pkg/cmd/pulumi/policy/policy_analyze.go:146-159). A secret exported with
`--show-secrets` carries `plaintext` (JSON text) and is sent as that value, still marked secret.

Everything in the file is untrusted: size and nesting are limited before parsing, every field is checked
for its type, and an error names the file, the resource (index and URN) and the field.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardened_rke2.analysis.inputs import AnalyzerInput
from hardened_rke2.analysis.wire import RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN
from hardened_rke2.capture import STACK_TYPE, CapturedResource
from hardened_rke2.safe_yaml import InputFileError, load_json_file

MAX_STATE_BYTES = 64 * 1024 * 1024
"""Largest export read (64 MiB): a stack of a few hundred resources exports to a few MB."""
MAX_STATE_DEPTH = 256
"""Deepest JSON nesting accepted: inputs such as CRD schemas nest far deeper than hand-written config."""

SUPPORTED_VERSIONS = (3, 4)
"""`pulumi stack export` writes 3, or 4 when the state uses a feature that needs it; both decode into
`DeploymentV3` (pkg/resource/stack/deployment.go:486-490)."""
SUPPORTED_FEATURES = frozenset(
    {
        "refreshBeforeUpdate",
        "views",
        "hooks",
        "taint",
        "replaceWith",
        "snippets-prototype",
        "extensionParameterization",
        "byteString",
    }
)
"""Version-4 features the CLI understands (pkg/resource/stack/deployment.go:131-140); any other is refused."""

ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
BYTE_STRING_SIG = "803fd3297a5875dc03ca845dda5d2a98"
FLOAT_SIG = "8ad145fe-0d11-4827-bfd7-1abcbf086f5c"
"""Signatures of the state encoding (sdk/go/common/resource/sig/sig.go:21-44, deployment.go:70)."""

URN_PREFIX = "urn:pulumi:"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"


class StateFileError(InputFileError):
    """The export cannot be used; the message names the file and the field (exit code 2)."""


@dataclass
class StateFile:
    """The resources of one export, split the way `pulumi policy analyze` treats them."""

    path: Path
    version: int
    resources: list[CapturedResource]
    """Resources the analyzers see (every resource not marked `delete`), in file order."""
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    """URNs marked `delete: true` (awaiting deletion): skipped, as the CLI skips them."""
    pending_replacement: list[str] = field(default_factory=list)
    pending_operations: list[tuple[str, str]] = field(default_factory=list)
    """(operation type, URN) of operations an interrupted update left behind: never analyzed."""
    encrypted_secrets: int = 0
    secrets_provider: str = ""

    @property
    def project(self) -> str:
        return _common(self.resources, 1)

    @property
    def stack(self) -> str:
        return _common(self.resources, 0)

    @property
    def stack_outputs(self) -> dict[str, Any]:
        root = next((r for r in self.resources if r.type == STACK_TYPE and not r.parent), None)
        return dict(root.outputs) if root else {}

    def analyzer_inputs(self) -> list[AnalyzerInput]:
        """What the CLI sends (pkg/resource/deploy/analyze_snapshot.go:143-179): `Analyze` gets the inputs,
        `AnalyzeStack` the outputs; the provider is resolved from the resource's provider reference among
        the export's providers (sent with the provider's inputs); options are protect, ignoreChanges,
        additionalSecretOutputs, aliases, customTimeouts and parent (state records no deleteBeforeReplace)."""
        providers = {r.urn for r in self.resources if r.type.startswith(PROVIDER_TYPE_PREFIX)}
        out = []
        for r in self.resources:
            provider = (r.provider or "").rsplit("::", 1)[0] if r.provider and "::" in r.provider else ""
            ct = r.custom_timeouts
            out.append(
                AnalyzerInput(
                    urn=r.urn,
                    type=r.type,
                    name=r.name,
                    props=r.wire_inputs,
                    stack_props=r.outputs,
                    parent=r.parent or "",
                    protect=bool(r.protect),
                    ignore_changes=r.ignore_changes,
                    additional_secret_outputs=r.additional_secret_outputs,
                    custom_timeouts=(
                        float(ct.get("create") or 0),
                        float(ct.get("update") or 0),
                        float(ct.get("delete") or 0),
                    ),
                    aliases=self.aliases.get(r.urn, ()),
                    provider=provider if provider in providers else "",
                    dependencies=r.dependencies,
                    property_dependencies=dict(r.property_dependencies),
                )
            )
        return out


def _common(resources: list[CapturedResource], part: int) -> str:
    """The stack (0) or project (1) every URN names; `multiple` when they differ, as the CLI labels a file
    (pkg/cmd/pulumi/policy/policy_analyze.go:249-287)."""
    names = {r.urn[len(URN_PREFIX) :].split("::")[part] for r in resources}
    if not names:
        return "unknown"
    return names.pop() if len(names) == 1 else "multiple"


def urn_name(urn: str) -> str:
    """The name part of a URN: everything after the fourth `::` (sdk/go/common/resource/urn/urn.go:185)."""
    return urn[len(URN_PREFIX) :].split("::", 3)[3]


def _valid_urn(urn: str) -> bool:
    # sdk/go/common/resource/urn/urn.go:106-114: the prefix and at least three `::` delimiters.
    return urn.startswith(URN_PREFIX) and urn.count("::") >= 3


def read_state_file(path: str | os.PathLike[str]) -> StateFile:
    """Load and check an export; raises `StateFileError` (or `InputFileError`) naming the field."""
    p = Path(path)
    doc = load_json_file(
        p,
        "state file",
        max_bytes=MAX_STATE_BYTES,
        max_depth=MAX_STATE_DEPTH,
        limit_names=("MAX_STATE_BYTES", "MAX_STATE_DEPTH"),
    )
    return _Reader(p).read(doc)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.encrypted = 0

    def fail(self, where: str, problem: str) -> StateFileError:
        return StateFileError(f"{self.path}: {where}: {problem}")

    # -- the envelope ------------------------------------------------------------------------------
    def read(self, doc: Any) -> StateFile:
        hint = "write one with `pulumi stack export --file state.json`"
        if not isinstance(doc, dict):
            raise self.fail("the document", f"must be a JSON object, not {_kind(doc)} ({hint})")
        if "checkpoint" in doc and "deployment" not in doc:
            raise self.fail(
                "checkpoint",
                f"this is a state backend's checkpoint file, not `pulumi stack export` output; {hint}",
            )
        if "version" not in doc:
            raise self.fail("version", f"missing: not a `pulumi stack export` file ({hint})")
        version = doc["version"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise self.fail("version", f"must be an integer, not {_kind(version)}")
        if version not in SUPPORTED_VERSIONS:
            when = "older" if version < min(SUPPORTED_VERSIONS) else "newer"
            raise self.fail(
                "version",
                f"deployment version {version} is {when} than this tool reads (3 or 4); "
                "export again with a current Pulumi CLI",
            )
        features = _or_default(doc.get("features"), [])
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise self.fail("features", "must be a list of strings")
        unknown = sorted(set(features) - SUPPORTED_FEATURES) if version >= 4 else []
        if unknown:
            raise self.fail("features", f"needs support for features this tool does not know: {unknown}")
        if "deployment" not in doc:
            raise self.fail("deployment", f"missing: the export has no deployment ({hint})")
        dep = doc["deployment"]
        if not isinstance(dep, dict):
            raise self.fail("deployment", f"must be an object, not {_kind(dep)}")
        for key in ("manifest", "metadata"):
            if dep.get(key) is not None and not isinstance(dep[key], dict):
                raise self.fail(f"deployment.{key}", f"must be an object, not {_kind(dep[key])}")
        sp = dep.get("secrets_providers")
        if sp is not None and not (isinstance(sp, dict) and isinstance(sp.get("type", ""), str)):
            raise self.fail("deployment.secrets_providers", "must be an object with a string `type`")

        state = StateFile(path=self.path, version=version, resources=[])
        state.secrets_provider = str((sp or {}).get("type") or "")
        raw = self._list(dep, "resources", "deployment.resources")
        seen: dict[str, int] = {}
        for i, res in enumerate(raw):
            where = f"deployment.resources[{i}]"
            r, flags = self._resource(res, where)
            if flags["delete"]:
                state.deleted.append(r.urn)
                continue
            if r.urn in seen:
                raise self.fail(
                    f"{where}.urn", f"{r.urn!r} is also resource [{seen[r.urn]}] (a live resource twice)"
                )
            seen[r.urn] = i
            if flags["pendingReplacement"]:
                state.pending_replacement.append(r.urn)
            if flags["aliases"]:
                state.aliases[r.urn] = flags["aliases"]
            state.resources.append(r)
        for i, op in enumerate(self._list(dep, "pending_operations", "deployment.pending_operations")):
            where = f"deployment.pending_operations[{i}]"
            if not isinstance(op, dict) or not isinstance(op.get("type"), str):
                raise self.fail(where, "must be an object with a string `type` and a `resource`")
            r, _ = self._resource(op.get("resource"), f"{where}.resource")
            state.pending_operations.append((op["type"], r.urn))
        state.encrypted_secrets = self.encrypted
        return state

    def _list(self, obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(where, f"must be a list, not {_kind(value)}")
        return value

    # -- one resource ------------------------------------------------------------------------------
    def _resource(self, res: Any, where: str) -> tuple[CapturedResource, dict[str, Any]]:
        if not isinstance(res, dict):
            raise self.fail(where, f"must be an object, not {_kind(res)}")
        urn = res.get("urn")
        if not isinstance(urn, str) or not urn:
            raise self.fail(f"{where}.urn", "missing: every resource needs its URN")
        if not _valid_urn(urn):
            raise self.fail(
                f"{where}.urn", f"{urn!r} is not a URN (urn:pulumi:<stack>::<project>::<type>::<name>)"
            )
        where = f"{where} ({urn})"
        type_ = res.get("type")
        if not isinstance(type_, str) or not type_:
            raise self.fail(f"{where}.type", "missing: every resource needs its type token")
        flags: dict[str, Any] = {
            k: self._bool(res, k, where) for k in ("custom", "delete", "protect", "pendingReplacement")
        }
        for k in ("external", "taint", "retainOnDelete"):
            self._bool(res, k, where)
        rid = res.get("id")
        if rid not in (None, "") and not isinstance(rid, str):
            raise self.fail(f"{where}.id", f"must be a string, not {_kind(rid)}")
        if rid and not flags["custom"]:
            # pkg/resource/stack/deployment.go:932-934
            raise self.fail(f"{where}.id", "a resource with `custom: false` has no ID")
        parent = self._str(res, "parent", where)
        provider = self._str(res, "provider", where)
        deps = self._urns(res, "dependencies", where)
        flags["aliases"] = self._urns(res, "aliases", where)
        pdeps_raw = _or_default(res.get("propertyDependencies"), {})
        if not isinstance(pdeps_raw, dict):
            raise self.fail(f"{where}.propertyDependencies", "must be an object of URN lists")
        pdeps = {str(k): self._urns(pdeps_raw, k, f"{where}.propertyDependencies") for k in pdeps_raw}
        timeouts = _or_default(res.get("customTimeouts"), {})
        if not isinstance(timeouts, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in timeouts.values()
        ):
            raise self.fail(
                f"{where}.customTimeouts", "must be an object of seconds (create/update/delete/read)"
            )
        inputs = self._props(res, "inputs", where)
        outputs = self._props(res, "outputs", where)
        captured = CapturedResource(
            urn=urn,
            type=type_,
            name=urn_name(urn),
            custom=flags["custom"],
            parent=parent or None,
            protect=flags["protect"],
            provider=provider or None,
            dependencies=deps,
            property_dependencies=pdeps,
            ignore_changes=self._strings(res, "ignoreChanges", where),
            additional_secret_outputs=self._strings(res, "additionalSecretOutputs", where),
            retain_on_delete=bool(res.get("retainOnDelete")),
            delete_before_replace=False,
            custom_timeouts={k: f"{float(v):g}" for k, v in timeouts.items() if v},
            wire_inputs=inputs,
            id=rid or None,
            outputs=outputs,
        )
        return captured, flags

    def _bool(self, res: Mapping[str, Any], key: str, where: str) -> bool:
        value = _or_default(res.get(key), False)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"must be true or false, not {_kind(value)}")
        return value

    def _str(self, res: Mapping[str, Any], key: str, where: str) -> str:
        value = _or_default(res.get(key), "")
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", f"must be a string, not {_kind(value)}")
        return value

    def _strings(self, res: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = _or_default(res.get(key), [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key}", "must be a list of strings")
        return tuple(value)

    def _urns(self, res: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        return self._strings(res, key, where)

    def _props(self, res: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
        value = res.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{where}.{key}", f"must be an object, not {_kind(value)}")
        return {k: self._value(v, f"{where}.{key}.{k}") for k, v in value.items()}

    # -- property values (deployment.go:1049-1204) -------------------------------------------------
    def _value(self, v: Any, where: str) -> Any:
        if isinstance(v, list):
            return [self._value(e, f"{where}[{i}]") for i, e in enumerate(v)]
        if not isinstance(v, dict):
            return v  # null, bool, number, string (the computed placeholder is the wire's UNKNOWN too)
        if SIG_KEY not in v:
            return {k: self._value(e, f"{where}.{k}") for k, e in v.items()}
        sig = v[SIG_KEY]
        if sig == SECRET_SIG:
            return self._secret(v, where)
        if sig == RESOURCE_SIG:
            return self._reference(v, where)
        if sig in (ASSET_SIG, ARCHIVE_SIG):
            return {k: self._value(e, f"{where}.{k}") if k != SIG_KEY else e for k, e in v.items()}
        if sig == BYTE_STRING_SIG:
            encoded = v.get("value")
            if not isinstance(encoded, str):
                raise self.fail(where, "malformed byte string: missing or non-string `value`")
            try:
                return base64.b64decode(encoded, validate=True).decode("utf-8", errors="replace")
            except (binascii.Error, ValueError):
                raise self.fail(where, "malformed byte string: `value` is not base64") from None
        if sig == FLOAT_SIG:
            bits = v.get("value")
            try:
                number: float = struct.unpack(">d", int(str(bits), 16).to_bytes(8, "big"))[0]
            except (ValueError, OverflowError):
                raise self.fail(where, "malformed float value: `value` must be 16 hex digits") from None
            return number if math.isfinite(number) else str(number)
        raise self.fail(where, f"unrecognized signature {sig!r} in a property value")

    def _secret(self, v: Mapping[str, Any], where: str) -> dict[str, Any]:
        cipher, plain_text = v.get("ciphertext"), v.get("plaintext")
        given = cipher if cipher is not None else plain_text
        if (cipher is None) == (plain_text is None) or not isinstance(given, str):
            # deployment.go:1097-1104
            raise self.fail(
                where, "malformed secret value: exactly one of `ciphertext` or `plaintext` (a string)"
            )
        if cipher is not None:
            self.encrypted += 1
            return {SIG_KEY: SECRET_SIG, "value": UNKNOWN}
        try:
            inner = json.loads(str(plain_text))
        except json.JSONDecodeError as e:
            raise self.fail(where, f"secret `plaintext` is not JSON ({e.msg})") from None
        return {SIG_KEY: SECRET_SIG, "value": self._value(inner, where)}

    def _reference(self, v: Mapping[str, Any], where: str) -> dict[str, Any]:
        urn = v.get("urn")
        if not isinstance(urn, str):
            raise self.fail(where, "malformed resource reference: missing `urn`")
        ref: dict[str, Any] = {SIG_KEY: RESOURCE_SIG, "urn": urn}
        rid = v.get("id")
        if isinstance(rid, dict):  # an older CLI's bug wrote the id as {"V": ...} (deployment.go:1127-1152)
            inner = rid.get("V")
            rid = inner if isinstance(inner, str) else ("" if isinstance(inner, dict) else None)
        if rid is not None and not isinstance(rid, str):
            raise self.fail(where, "malformed resource reference: `id` must be a string")
        if rid is not None:
            ref["id"] = rid
        return ref


def _or_default(value: Any, default: Any) -> Any:
    """JSON `null` (or an absent key) is the field's zero value, as Go's decoder reads it; any other value
    keeps its type, so a wrong one is reported rather than read as empty."""
    return default if value is None else value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "an object"
    )
