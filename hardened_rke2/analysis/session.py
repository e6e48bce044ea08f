"""Drive a CrossGuard Python policy pack through the analyzer protocol exactly as the Pulumi engine does.

The engine (`pulumi preview --policy-pack DIR`) starts `python -u -m pulumi.policy <engine-address> .` in the
pack directory, reads the port it prints and then, over gRPC: `ConfigureStack`, `GetAnalyzerInfo`,
`Configure` (with the config it reconciled itself), `Remediate` then `Analyze` for every registered resource
(components, providers and the Stack included), and one `AnalyzeStack` with every resource.

How the pack is started is `packs`; how its config is reconciled is `pack_config`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import empty_pb2, json_format
from pulumi.runtime import proto

from hardened_rke2.analysis.errors import PolicyPackLoadError
from hardened_rke2.analysis.inputs import AnalyzerInput, from_captured, options_proto
from hardened_rke2.analysis.pack_config import PolicyConfig, config_to_proto, reconcile_config
from hardened_rke2.analysis.packs import (
    InProcessTransport,
    LoadedPack,
    SubprocessTransport,
    load_pack,
    pack_python,
    read_pack_yaml,
)
from hardened_rke2.analysis.results import (
    AnalysisResult,
    NotApplicable,
    PolicyInfo,
    RemediationRecord,
    Violation,
)
from hardened_rke2.analysis.wire import (
    LEVEL_FROM_PROTO,
    SEVERITY_FROM_PROTO,
    engine_struct,
    from_struct,
    unwrap_secrets,
)
from hardened_rke2.capture import CapturedResource

SDK_PACK_VERSION = "0.0.1"
"""The Python SDK always reports this version; the engine prefers PulumiPolicy.yaml's `version`."""


def _policy_info(p: Any) -> PolicyInfo:
    """A policy of the `GetAnalyzerInfo` answer, decoded once so nothing else touches the proto."""
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
        enforcement_level=LEVEL_FROM_PROTO.get(p.enforcementLevel, "advisory"),
        policy_type="stack" if p.policy_type == proto.PolicyType.POLICY_TYPE_STACK else "resource",
        display_name=p.displayName,
        severity=SEVERITY_FROM_PROTO.get(p.severity),
        framework=framework,
        tags=tuple(p.tags),
        remediation_steps=p.remediation_steps,
        url=p.url,
        config_schema=schema,
    )


@dataclass(frozen=True)
class _Described:
    """A pack's `GetAnalyzerInfo` answer, decoded: its policies sorted by name, its initial config."""

    name: str
    version: str
    description: str
    policies: tuple[PolicyInfo, ...]
    initial: Mapping[str, PolicyConfig]

    @staticmethod
    def of(info: Any) -> _Described:
        return _Described(
            info.name,
            info.version,
            info.description,
            tuple(
                sorted((_decoded_policy(p.SerializeToString()) for p in info.policies), key=lambda p: p.name)
            ),
            {
                k: PolicyConfig(
                    LEVEL_FROM_PROTO.get(v.enforcementLevel, "advisory"),
                    json_format.MessageToDict(v.properties) or None,
                )
                for k, v in info.initialConfig.items()
            },
        )


# Per loaded in-process pack (kept alive by the pack loader's own cache; the entry holds it too, so an id is
# never reused while its entry exists): its description, and its reconciled configs.
_DESCRIBED: dict[int, tuple[LoadedPack, _Described]] = {}
_RECONCILED: dict[tuple[int, str], tuple[_Described, dict[str, PolicyConfig], list[str]]] = {}
_RECONCILED_MAX = 256


@functools.lru_cache(maxsize=4096)
def _decoded_policy(wire: bytes) -> PolicyInfo:
    """`_policy_info` once per distinct policy: a fleet preview starts the same pack for every stack."""
    return _policy_info(proto.PolicyInfo.FromString(wire))


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
        self._transport: InProcessTransport | SubprocessTransport
        if mode == "inprocess":
            self._transport = InProcessTransport(load_pack(self.pack_dir))
        else:
            python = pack_python(self.pack_dir, meta)  # refuses a pack the CLI could not start
            env: dict[str, str] = {}
            if project and stack:
                # What the engine exports to a pack during a preview (plugin.constructEnv).
                env.update(PULUMI_PROJECT=project, PULUMI_STACK=stack, PULUMI_DRY_RUN="true")
                env["PULUMI_ORGANIZATION"] = "organization"
                if stack_config:
                    env["PULUMI_CONFIG"] = json.dumps(dict(stack_config))
                    env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(stack_secret_keys))
            self._transport = SubprocessTransport(self.pack_dir, env, python=python)
        try:
            self._handshake(project, stack, stack_config, stack_secret_keys, stack_tags)
            described = self._describe()
            self.name: str = described.name
            self.version: str = str(meta.get("version") or described.version or SDK_PACK_VERSION)
            self.description: str = described.description or str(meta.get("description") or "")
            self.policies: list[PolicyInfo] = list(described.policies)
            self._by_name = {p.name: p for p in self.policies}
            self.config, self.config_warnings = self._reconcile(described, config)
            if self.config:
                self._transport.call("Configure", config_to_proto(self.config))
        except BaseException:
            self.close()
            raise

    def _describe(self) -> _Described:
        """`GetAnalyzerInfo`, decoded. An in-process pack's answer depends only on its `PolicyPack(...)`
        arguments (pulumi_policy 1.21.0 policy.py `GetAnalyzerInfo` reads no Configure state), so it is
        asked once per loaded pack: a fleet preview starts the same pack for each of its stacks."""
        transport = self._transport
        if isinstance(transport, InProcessTransport):
            cached = _DESCRIBED.get(id(transport.loaded))
            if cached is not None and cached[0] is transport.loaded:
                return cached[1]
        described = _Described.of(transport.call("GetAnalyzerInfo", empty_pb2.Empty()))
        if isinstance(transport, InProcessTransport):
            _DESCRIBED[id(transport.loaded)] = (transport.loaded, described)
        return described

    def _reconcile(
        self, described: _Described, config: Mapping[str, Any] | None
    ) -> tuple[dict[str, PolicyConfig], list[str]]:
        """`reconcile_config`, remembered per (loaded pack, config) for in-process packs: the same inputs
        give the same answer, and validating every policy's schema was most of a pack's start-up."""
        key = None
        if isinstance(self._transport, InProcessTransport):
            with contextlib.suppress(TypeError, ValueError):
                key = (id(self._transport.loaded), json.dumps(config, sort_keys=True, default=repr))
        cached = _RECONCILED.get(key) if key is not None else None
        if cached is not None and cached[0] is described:
            return dict(cached[1]), list(cached[2])
        result, warnings = reconcile_config(
            described.policies, described.initial, config, pack=described.name
        )
        if key is not None:
            if len(_RECONCILED) >= _RECONCILED_MAX:
                _RECONCILED.clear()
            _RECONCILED[key] = (described, dict(result), list(warnings))
        return result, warnings

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
        if isinstance(self._transport, SubprocessTransport):
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
        return list(self._transport.engine.logs) if isinstance(self._transport, SubprocessTransport) else []

    def policy(self, name: str) -> PolicyInfo:
        return self._by_name[name]

    # -- protocol steps ------------------------------------------------------------------------------
    def _request(
        self,
        r: AnalyzerInput,
        props: Mapping[str, Any],
        provider: AnalyzerInput | None,
        cls: Any,
        *,
        skip_internal_keys: bool = True,
    ) -> Any:
        """The request for `props` as the engine marshals them (`engine_wire`), encoded in place."""
        req = cls(type=r.type, urn=r.urn, name=r.name, options=options_proto(r))
        req.properties.SetInParent()  # present even when empty, as when the engine sends no properties
        engine_struct(req.properties, props, skip_internal_keys=skip_internal_keys)
        if provider is not None:
            target = req.provider
            target.type, target.urn, target.name = provider.type, provider.urn, provider.name
            target.properties.SetInParent()
            engine_struct(target.properties, provider.props, skip_internal_keys=True)
        return req

    def remediate(
        self, r: AnalyzerInput, props: Mapping[str, Any], provider: AnalyzerInput | None = None
    ) -> tuple[dict[str, Any] | None, list[Violation], list[RemediationRecord], list[NotApplicable]]:
        """`Remediate` -> (new wire props or None, advisories for remediations that could not run, ...)."""
        req = self._request(r, props, provider, proto.AnalyzeRequest, skip_internal_keys=False)
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
                new_props = from_struct(rem.properties)
                records.append(RemediationRecord(rem.policyName, rem.policyPackName, r.urn, rem.description))
        na = [NotApplicable(n.policy_name, r.urn, n.reason) for n in resp.not_applicable]
        return new_props, diags, records, na

    def analyze_one(
        self, r: AnalyzerInput, props: Mapping[str, Any], provider: AnalyzerInput | None = None
    ) -> tuple[list[Violation], list[NotApplicable]]:
        req = self._request(r, props, provider, proto.AnalyzeRequest)
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
            ar = self._request(r, props, _provider_of(r, lookup), proto.AnalyzerResource)
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
            LEVEL_FROM_PROTO.get(d.enforcementLevel, "advisory"),
            target,
            phase,
        )
        if d.urn and lookup is not None:
            # Only stack policies attribute a violation to another resource; for a resource policy the
            # engine always uses the analyzed resource's URN.
            v.urn = d.urn
        if d.severity in SEVERITY_FROM_PROTO:
            v.severity = SEVERITY_FROM_PROTO[d.severity]
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
    apply_remediations: bool = True,
) -> AnalysisResult:
    """The engine's order: per resource, every pack's `Remediate` (each sees the previous pack's result),
    then every pack's `Analyze` on the final inputs; at the end, one `AnalyzeStack` per pack.

    `apply_remediations=False` is `pulumi policy analyze` over existing state
    (pkg/resource/deploy/analyze_snapshot.go:210-247 in pulumi/pulumi@1b5949891b3c): every pack's
    `Remediate` sees the resource's own inputs, what it would change is recorded (in `remediations` and
    `remediation_records`) but not applied, and `Analyze` sees the unchanged inputs."""
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
            new_props, diags, records, na = s.remediate(r, props if apply_remediations else r.props, provider)
            result.violations += diags
            result.remediation_records += records
            result.not_applicable += na
            if new_props is not None:
                props = new_props
        if props is not r.props:
            result.remediations[r.urn] = unwrap_secrets(props)
            if not apply_remediations:
                props = r.props
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
