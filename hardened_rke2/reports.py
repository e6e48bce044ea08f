"""Preview reports: JSON (machines), Markdown (people), SARIF 2.1.0 (code scanning).

All three are built from one `PreviewResult`, deterministically (sorted), and all carry the plain statement
that the preview was offline.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hardened_rke2.analysis.results import PolicyInfo, Violation
from hardened_rke2.analysis.wire import SECRET_SIG, SIG_KEY
from hardened_rke2.capture import STACK_TYPE, UNKNOWN, CapturedResource, plain
from hardened_rke2.config_locations import ConfigLocation, Locator
from hardened_rke2.preview import PreviewResult

OFFLINE_STATEMENT = (
    "Offline preview: no provider, Rancher server, cluster or Pulumi service was contacted and nothing was "
    "deployed. Provider checks (schema defaults, auto-naming) did not run and computed outputs are unknown; "
    "a real `pulumi preview` with the Pulumi CLI remains the final word."
)
AUDIT_STATEMENT = (
    "Audit of exported state: the policy packs judged the resources a `pulumi stack export` file records. "
    "No program ran and no provider, Rancher server, cluster or Pulumi service was contacted; encrypted "
    "secrets were not decrypted and remediations were reported, not applied. The state is as current as "
    "its last `pulumi refresh`."
)
LEVEL_ORDER = ("mandatory", "remediate", "advisory", "disabled")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
_REDACTED = "[secret]"
UNKNOWN_MARKER = "[unknown]"
"""A value that is unknown during preview (a computed output), secret or not."""


def _sort_key(v: Violation) -> tuple[Any, ...]:
    level = LEVEL_ORDER.index(v.enforcement_level) if v.enforcement_level in LEVEL_ORDER else 9
    return (level, v.policy_name, v.resource_type, v.resource_name, v.message)


def sorted_violations(result: PreviewResult) -> list[Violation]:
    return sorted(result.violations, key=_sort_key)


def statement(result: PreviewResult) -> str:
    """What the run did and did not involve, for every report of it."""
    return AUDIT_STATEMENT if result.operation == "audit" else OFFLINE_STATEMENT


def summary(result: PreviewResult) -> dict[str, Any]:
    violations = result.violations
    analysis = result.analysis
    return {
        "project": result.project,
        "stack": result.stack,
        "status": result.status,
        "exitCode": result.exit_code,
        "resources": len(result.resources),
        "mandatory": sum(1 for v in violations if v.is_mandatory),
        "advisory": sum(1 for v in violations if not v.is_mandatory),
        "remediations": len(analysis.remediation_records) if analysis else 0,
        "policyPacks": [f"{p.name}@{p.version}" for p in result.packs],
        "offline": True,
        "statement": statement(result),
    }


def _redact(r: CapturedResource) -> Any:
    """Inputs with secret values replaced, so reports can be attached to CI runs."""
    # Computed once (each `is_secret` call walks all the inputs again). The walk goes top-down and stops
    # at the first secret, so an exact match is enough: a secret ancestor would have stopped it earlier.
    secret = r.secret_paths

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, str) and value == UNKNOWN:
            return UNKNOWN_MARKER
        if path and path in secret:
            return _REDACTED
        if isinstance(value, Mapping):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value)]
        return value

    return walk(r.inputs, "")


def _redact_wire(value: Any) -> Any:
    """Wire value -> plain value with every secret replaced (stack outputs keep their secret signature)."""
    if isinstance(value, str) and value == UNKNOWN:
        return UNKNOWN_MARKER
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return UNKNOWN_MARKER if value.get("value") == UNKNOWN else _REDACTED
        return plain({k: _redact_wire(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_redact_wire(v) for v in value]
    return plain(value)


def resource_dict(r: CapturedResource, include_inputs: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "custom": r.custom,
        "parent": r.parent,
        "protect": bool(r.protect),
        "provider": r.provider,
        "dependencies": sorted(r.dependencies),
        "propertyDependencies": {k: sorted(v) for k, v in sorted(r.property_dependencies.items()) if v},
        "customTimeouts": dict(r.custom_timeouts),
        "additionalSecretOutputs": list(r.additional_secret_outputs),
        "ignoreChanges": list(r.ignore_changes),
        "secretInputs": sorted(r.secret_paths),
    }
    if include_inputs:
        out["inputs"] = _redact(r)
    return out


def to_json(result: PreviewResult, *, include_inputs: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": summary(result),
        "resources": [
            resource_dict(r, include_inputs)
            for r in sorted(result.resources, key=lambda r: (r.type != STACK_TYPE, r.urn))
        ],
        "violations": [v.to_dict() for v in sorted_violations(result)],
        "remediations": [
            {"policyName": r.policy_name, "packName": r.pack_name, "urn": r.urn, "description": r.description}
            for r in (result.analysis.remediation_records if result.analysis else [])
        ],
        "stackOutputs": {k: _redact_wire(v) for k, v in sorted(result.stack_outputs.items())},
        "warnings": list(result.warnings),
    }
    if result.status == "invalid-config":
        doc["problems"] = list(result.problems)
    if result.error:
        doc["error"] = result.error
    return doc


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def to_markdown(result: PreviewResult) -> str:
    s = summary(result)
    title = "Audit of exported state" if result.operation == "audit" else "Offline preview"
    lines = [f"# {title}: `{result.project}` / `{result.stack}`", ""]
    status = {
        "ok": "passed" if not s["mandatory"] else "**failed**: mandatory policy violations",
        "invalid-config": "**failed**: invalid stack config",
        "usage-error": "**could not run**",
        "error": "**failed**: the program or a policy raised an error",
    }[result.status]
    lines += [
        f"- Result: {status}",
        f"- Resources: {s['resources']}",
        f"- Policy packs: {', '.join(s['policyPacks']) or 'none'}",
        f"- Violations: {s['mandatory']} mandatory, {s['advisory']} advisory",
        f"- Remediations {'reported (not applied)' if result.operation == 'audit' else 'applied'}: "
        f"{s['remediations']}",
        "",
        f"> {statement(result)}",
        "",
    ]
    if result.problems:
        lines += ["## Invalid config", ""] + [f"- {p}" for p in result.problems] + [""]
    if result.error:
        lines += ["## Error", "", "```", result.error, "```", ""]
    violations = sorted_violations(result)
    for level in LEVEL_ORDER:
        group = [v for v in violations if v.enforcement_level == level]
        if not group:
            continue
        lines += [f"## {level.capitalize()} ({len(group)})", ""]
        lines += ["| Policy | Severity | Resource | Message | Checklist |", "|---|---|---|---|---|"]
        for v in group:
            where = f"`{v.resource_type}` {v.resource_name}" if v.resource_type else "stack"
            lines.append(
                f"| `{v.policy_name}` | {v.severity or ''} | {_md_escape(where)} | {_md_escape(v.message)} | "
                f"{', '.join(v.tags)} |"
            )
        lines.append("")
    if result.warnings:
        lines += ["## Warnings", ""] + [f"- {_md_escape(w)}" for w in result.warnings] + [""]
    return "\n".join(lines)


def _sarif_level(v: Violation) -> str:
    if v.is_mandatory:
        return "error"
    return "note" if v.is_preview_unknown else "warning"


def _rule(policy: PolicyInfo, pack: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": policy.name,
        "name": policy.display_name or policy.name,
        "shortDescription": {"text": policy.description},
        "fullDescription": {"text": policy.description},
        "defaultConfiguration": {
            "level": "error" if policy.enforcement_level in ("mandatory", "remediate") else "warning",
            "enabled": policy.enforcement_level != "disabled",
        },
        "properties": {"tags": sorted(set(policy.tags) | {"security"}), "policyPack": pack},
    }
    if policy.severity in _SECURITY_SEVERITY:
        rule["properties"]["security-severity"] = _SECURITY_SEVERITY[policy.severity or ""]
    if policy.remediation_steps:
        rule["help"] = {"text": policy.remediation_steps}
    if policy.url:
        rule["helpUri"] = policy.url
    if policy.framework:
        rule["properties"]["framework"] = dict(policy.framework)
    return rule


def to_sarif(result: PreviewResult, *, base_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """SARIF 2.1.0 with one rule per policy (from the packs' metadata) and one result per violation.

    Each result points at the stack config key that sets what the policy checks (`config_locations`: the
    key's line, or its nearest present parent when the setting is at its default; the program file when
    the blueprint does not know the key) and names the resource URN as a logical location. Rule ids are
    the policy names; `partialFingerprints` depend only on pack, policy and resource (plus the message
    when one policy reports a resource twice), so a rerun updates the same alerts.
    """
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for pack in result.packs:
        for policy in pack.policies:
            if policy.name not in index:
                index[policy.name] = len(rules)
                rules.append(_rule(policy, pack.name))
    base = Path(base_dir or os.getcwd()).resolve()
    locator = Locator(
        project=result.project,
        stack_file=result.stack_file,
        program_dir=result.program_dir,
        resources=result.resources,
    )
    stack_artifact = _relative(result.stack_file, base) if result.stack_file is not None else "Pulumi.yaml"
    results: list[dict[str, Any]] = []
    fingerprints: set[str] = set()
    for v in sorted_violations(result):
        where = locator.locate(v.policy_name, v.urn)
        physical = _physical(where, base, stack_artifact)
        entry: dict[str, Any] = {
            "ruleId": v.policy_name,
            "level": _sarif_level(v),
            "message": {"text": f"{v.description} {v.message}".strip()},
            "locations": [
                {
                    "physicalLocation": physical,
                    "logicalLocations": [
                        {
                            "fullyQualifiedName": v.urn or f"stack:{result.project}/{result.stack}",
                            "name": v.resource_name or result.stack,
                            "kind": "resource" if v.urn else "module",
                        }
                    ],
                }
            ],
            "partialFingerprints": {
                "policyResource/v1": _fingerprint(
                    f"{v.pack_name}/{v.policy_name}/{v.urn}", v.message, fingerprints
                )
            },
            "properties": {
                "enforcementLevel": v.enforcement_level,
                "resourceType": v.resource_type,
                "policyPack": f"{v.pack_name}@{v.pack_version}",
                "tags": list(v.tags),
            },
        }
        if where is not None and where.key:
            entry["locations"][0]["message"] = {"text": _location_text(where)}
            entry["properties"]["configKey"] = where.key
            entry["properties"]["configKeyPresent"] = where.present
        if v.policy_name in index:
            entry["ruleIndex"] = index[v.policy_name]
        results.append(entry)
    for rule_id, text in _failures(result):
        if rule_id not in index:
            index[rule_id] = len(rules)
            rules.append(_FAILURE_RULES[rule_id])
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": index[rule_id],
                "level": "error",
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": stack_artifact},
                            "region": {"startLine": 1},
                        }
                    }
                ],
                "partialFingerprints": {
                    "policyResource/v1": _fingerprint(f"hardened-rke2/{rule_id}", text, fingerprints)
                },
            }
        )
    notifications: list[dict[str, Any]] = [{"level": "note", "message": {"text": statement(result)}}]
    if result.error:
        notifications.append({"level": "error", "message": {"text": result.error}})
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hardened-rke2 offline preview",
                        "informationUri": "https://github.com/pulumi/pulumi-policy",
                        "version": tool_version(),
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"hardened-rke2/{result.project}/{result.stack}/"},
                "invocations": [
                    {
                        "executionSuccessful": result.status == "ok",
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }


_PULUMI_CONFIG_DOCS = "https://www.pulumi.com/docs/iac/concepts/config/"
_PULUMI_PREVIEW_DOCS = "https://www.pulumi.com/docs/iac/cli/commands/pulumi_preview/"
_FAILURE_RULES: dict[str, dict[str, Any]] = {
    rule_id: {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "defaultConfiguration": {"level": "error", "enabled": True},
        "help": {"text": fix},
        "helpUri": uri,
        "properties": {"tags": ["hardened-rke2"]},
    }
    for rule_id, text, fix, uri in (
        (
            "invalid-config",
            "The stack config is invalid; nothing was registered.",
            "Fix each listed key in the stack file (the message names the key and the fix); "
            "docs/config-reference.md lists every key.",
            _PULUMI_CONFIG_DOCS,
        ),
        (
            "usage-error",
            "The preview could not run: an input or option is missing or invalid.",
            "Supply the input the message names (e.g. --stack-reference-outputs FILE) or correct the option.",
            _PULUMI_PREVIEW_DOCS,
        ),
        (
            "preview-error",
            "The preview failed: the program, a policy pack or the tool raised an error.",
            "Rerun with HARDENED_RKE2_DEBUG=1 for the traceback and fix the failing program or pack.",
            _PULUMI_PREVIEW_DOCS,
        ),
    )
}


def _relative(path: Path, base: Path) -> str:
    """A repository-relative URI (what code scanning expects), else the path as it is."""
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _physical(where: ConfigLocation | None, base: Path, fallback: str) -> dict[str, Any]:
    if where is None:
        return {"artifactLocation": {"uri": fallback}, "region": {"startLine": 1}}
    return {"artifactLocation": {"uri": _relative(where.file, base)}, "region": {"startLine": where.line}}


def _location_text(where: ConfigLocation) -> str:
    if where.present:
        return f"set by {where.key}"
    return f"{where.key} is not in the stack file (hardened default); set it under the key on this line"


def _failures(result: PreviewResult) -> list[tuple[str, str]]:
    """A run that did not complete, as SARIF results: each config problem, or the error."""
    if result.status == "invalid-config":
        return [("invalid-config", p) for p in result.problems] or [("invalid-config", result.error)]
    if result.status == "usage-error":
        return [("usage-error", result.error)]
    if result.status == "error":
        return [("preview-error", result.error)]
    return []


def _fingerprint(base: str, message: str, seen: set[str]) -> str:
    """`base` (pack/policy/urn), made distinct for a second result with the same base by a hash of its
    message (stable across runs), and by an ordinal if even that repeats."""
    fp = base
    if fp in seen:
        fp = f"{base}/{hashlib.sha256(message.encode()).hexdigest()[:16]}"
    n = 2
    candidate = fp
    while candidate in seen:
        candidate = f"{fp}/{n}"
        n += 1
    seen.add(candidate)
    return candidate


def tool_version() -> str:
    """This distribution's version (what the reports name as the tool's)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("hardened-rke2")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def repository_root(start: Path) -> Path:
    """Code scanning wants paths relative to the repository root: the nearest folder with `.git`."""
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return start


def write_json(path: str | os.PathLike[str], doc: Any) -> None:
    Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
