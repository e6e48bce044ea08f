"""Generate the stack-config reference (docs/config-reference.md) from the models themselves.

It documents every key users can write: the `kind: cluster` and `kind: management` stacks of this project
(every kind registered in `STACK_KINDS`) and the example team project's config (`stacks/teams/payments`).
Descriptions are each field's `Field(description=...)` or, failing that, the attribute docstring in the
model source, so the reference cannot drift from the code: a test compares the committed file with
`render_reference()`. Discriminated unions (node pool drivers, SSO providers) get one table per variant.
Regenerate: `python -m hardened_rke2.config_reference > docs/config-reference.md`.
"""

from __future__ import annotations

import ast
import sys
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.field_docs import attribute_docs, parse_source

REPO = Path(__file__).resolve().parents[1]
TEAM_PROGRAM = REPO / "stacks" / "teams" / "payments" / "__main__.py"
TEAM_NAMESPACE = "payments-team"

# Settings that turn a hardened default off, with the policies of policy-packs/nsa-cisa-hardening that
# report them (an empty tuple: no policy of the pack reports it; the doc says so). Keys are YAML paths as
# printed in the reference. `weakening_rows()` finds every weakening the models have (named allow*,
# insecure*, skip* booleans, anything under `weakenings.` / `unsafe.`, plus EXTRA_WEAKENINGS); a test
# requires each to be listed here and each policy named here to exist in the pack.
WEAKENING_POLICIES: dict[str, tuple[str, ...]] = {
    # kind: cluster
    "cluster.protect": ("cluster-protected",),
    "cluster.network.projectNetworkIsolation": ("cluster-project-network-isolation",),
    "cluster.authorizedEndpoint.enabled": ("cluster-authorized-endpoint",),
    "cluster.podSecurity.template": ("cluster-psa-default-template",),
    "cluster.podSecurity.custom.allowWeakerLevels": (
        "psa-template-enforces-restricted",
        "psa-template-audits-and-warns-restricted",
    ),
    "cluster.rke2.weakenings.apiserverAnonymousAuth": ("rke2-apiserver-authentication",),
    "cluster.rke2.weakenings.insecureAuthorizationMode": (
        "rke2-apiserver-authorization",
        "rke2-kubelet-hardening",
    ),
    "cluster.rke2.weakenings.profiling": ("rke2-control-plane-flags",),
    "cluster.rke2.weakenings.serviceAccountTokenExtension": ("rke2-control-plane-flags",),
    "cluster.rke2.weakenings.nonLocalhostBind": ("rke2-control-plane-flags",),
    "cluster.rke2.weakenings.sharedControllerCredentials": ("rke2-control-plane-flags",),
    "cluster.rke2.weakenings.kubeletAnonymousAuth": ("rke2-kubelet-hardening",),
    "cluster.rke2.weakenings.kubeletReadOnlyPort": ("rke2-kubelet-hardening",),
    "cluster.rke2.weakenings.kubeletIptablesChains": ("rke2-control-plane-flags",),
    "cluster.rke2.weakenings.etcdExposeMetrics": ("rke2-control-plane-flags",),
    "cluster.compliance.weakenings.nonFipsCni": ("rke2-fips-choices",),
    "cluster.compliance.weakenings.nonFipsCipherSuites": ("rke2-fips-choices",),
    "cluster.rke2.weakenings.debugEndpoints": ("rke2-control-plane-flags",),
    "cluster.rke2.weakenings.disableAdmissionPlugins": ("rke2-control-plane-flags",),
    "cluster.rke2.weakenings.etcdCertAuth": ("rke2-etcd-tls",),
    "cluster.rke2.weakenings.permissiveKubeconfigMode": ("rke2-kubeconfig-file-mode",),
    "cluster.nodePools[].driver.allowImdsV1": ("machine-ec2-imdsv2-required",),
    "cluster.nodePools[].driver.allowUnencryptedVolume": ("machine-ec2-root-volume-encrypted",),
    "cluster.nodePools[].driver.allowPublicIp": ("machine-no-public-ip",),
    "cluster.nodePools[].driver.allowDriverSecurityGroupRules": ("machine-no-driver-opened-ports",),
    "cluster.nodePools[].driver.allowBackups": ("machine-digitalocean-backups-off",),
    "cluster.nodePools[].driver.allowVmxOverrides": ("machine-vsphere-vmx-hardening",),
    "addons.neuvector.enabled": ("cluster-required-addons",),
    "addons.compliance.enabled": ("cluster-required-addons",),
    "addons.auditLogging.enabled": ("cluster-required-addons",),
    "addons.auditLogging.output.insecureSkipTlsVerify": ("log-output-tls-verified",),
    "addons.monitoring.receiver.insecureSkipTlsVerify": ("alert-receiver-tls-verified",),
    "addons.istio.outboundTrafficPolicy": ("istio-outbound-registry-only",),
    "addons.neuvector.admission.mode": ("neuvector-admission-protect",),
    "addons.neuvector.admission.enabled": ("neuvector-admission-protect",),
    "gitops.repos[].insecureSkipTlsVerify": ("fleet-gitrepo-tls-verify",),
    "gitops.repos[].correctDrift": ("fleet-gitrepo-pinned-or-drift-corrected",),
    # kind: management
    "management.server.allowReducedAvailability": ("rancher-server-replicas",),
    "management.server.agentTlsMode": ("rancher-server-agent-tls-strict",),
    "management.server.auditLog.enabled": ("rancher-server-audit-log",),
    "management.server.auditLog.allowLowAuditLevel": ("rancher-server-audit-log",),
    "management.server.tls.allowUnverifiedBootstrapTls": ("rancher-provider-tls",),
    "management.security.allowLongLivedTokens": ("rancher-security-settings",),
    "management.security.allowLongSessions": ("rancher-security-settings",),
    "management.security.allowWeakPasswordLength": ("rancher-security-settings",),
    "management.sso.accessMode": ("rancher-auth-access-mode",),
    "management.sso.allowPlaintextLdap": ("rancher-auth-ldap-tls",),
    "tenants.teams[].namespaces[].allowFromIngressController": (),
    "tenants.teams[].podSecurity.enforce": ("namespace-pod-security-enforced",),
    "tenants.teams[].fleet.repo.insecureSkipTlsVerify": ("fleet-gitrepo-tls-verify",),
    "tenants.teams[].fleet.repo.correctDrift": ("fleet-gitrepo-pinned-or-drift-corrected",),
    "management.server.allowPlainHttpChartRepositories": ("helm-chart-repository-tls",),
    "cluster.podSecurity.allowUnverifiedTemplate": ("cluster-psa-template-defined",),
    # team project
    "workload.unsafe.privileged": ("pss-privileged-containers", "pss-allow-privilege-escalation"),
    "workload.unsafe.hostPath": ("pss-host-path-volumes", "pss-restricted-volume-types"),
    "workload.unsafe.runAsRoot": ("pss-run-as-non-root", "pss-run-as-user-not-root", "non-root-groups"),
    "workload.unsafe.writableRootFilesystem": ("read-only-root-filesystem",),
    "workload.unsafe.automountServiceAccountToken": ("pod-service-account-token-not-automounted",),
    "workload.unsafe.unpinnedImage": ("image-tag-pinned",),
    "workload.unsafe.anyRegistry": ("image-allowed-registries",),
    "workload.unsafe.noTls": ("ingress-tls",),
}

# Weakenings whose name does not say so: the value that weakens the hardened default.
EXTRA_WEAKENINGS: dict[str, str] = {
    "cluster.protect": "false",
    "cluster.network.projectNetworkIsolation": "false",
    "cluster.authorizedEndpoint.enabled": "true",
    "cluster.podSecurity.template": "naming a less restrictive template",
    "addons.neuvector.enabled": "false",
    "addons.compliance.enabled": "false",
    "addons.auditLogging.enabled": "false",
    "addons.istio.outboundTrafficPolicy": "ALLOW_ANY",
    "addons.neuvector.admission.mode": "monitor",
    "addons.neuvector.admission.enabled": "false",
    "gitops.repos[].correctDrift": "false",
    "management.server.agentTlsMode": "system-store",
    "management.server.auditLog.enabled": "false",
    "management.sso.accessMode": "unrestricted",
    "tenants.teams[].fleet.repo.correctDrift": "false",
    "tenants.teams[].podSecurity.enforce": "baseline",
}


@dataclass
class Table:
    heading: str
    intro: str
    rows: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation refers to (unions, lists, maps, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in models_in(a)]


def is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        return True
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        args = typing.get_args(annotation)
        return any(is_list(a) for a in (args[:1] if origin is typing.Annotated else args))
    return False


def is_map(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(is_map(a) for a in typing.get_args(annotation))
    return False


def discriminator(info: FieldInfo, variants: Sequence[type[BaseModel]]) -> str | None:
    """The tag field of a union of models: the declared discriminator or a one-value Literal in each."""
    if isinstance(info.discriminator, str):
        return info.discriminator
    for name in variants[0].model_fields:
        tags = [
            typing.get_args(v.model_fields[name].annotation) if name in v.model_fields else ()
            for v in variants
        ]
        if all(len(t) == 1 for t in tags):
            return name
    return None


def variant_tag(model: type[BaseModel], tag: str) -> str:
    return str(typing.get_args(model.model_fields[tag].annotation)[0])


def child_prefix(key: str, annotation: Any) -> str:
    if is_list(annotation):
        return f"{key}[]."
    if is_map(annotation):
        return f"{key}.<name>."
    return f"{key}."


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(_short(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(dict.fromkeys(_type_name(a) for a in args))
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[1])}" if len(args) == 2 else "map"
    if annotation is type(None):
        return "null"
    if annotation is SecretStr:
        return "secret str"
    if isinstance(annotation, type):
        return "object" if issubclass(annotation, BaseModel) else annotation.__name__
    return str(annotation)


def _short(value: Any) -> str:
    """A compact YAML-ish rendering of a default value."""
    if isinstance(value, BaseModel):
        dumped = value.model_dump(by_alias=True, exclude_defaults=False, mode="json")
        return _short(dumped)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return "—"
    if isinstance(value, BaseModel):
        text = _short(value)
        return f"`{text}`" if len(text) <= 60 else "(see below)"
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], BaseModel):
        # Built-in entries, named by their first field (e.g. role template names, admission criteria).
        names = [next(iter(v.model_dump(mode="json", by_alias=True).values())) for v in value]
        return f"{len(value)} built in: " + ", ".join(f"`{n}`" for n in names)
    if isinstance(value, (tuple, list, dict)) and not value:
        return "empty"
    if isinstance(value, str) and not value:
        return "`''`"
    return f"`{_short(value)}`"


def _description(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    text = info.description or attribute_docs(model).get(name, "")
    if not text:
        # An object without its own description: the model's docstring says what it is.
        subs = models_in(info.annotation)
        if len(subs) == 1 and subs[0].__doc__:
            text = subs[0].__doc__.strip().split("\n\n")[0]
    return " ".join(text.split()).replace("|", "\\|")


def _is_weakening(key: str, name: str, info: FieldInfo) -> bool:
    if key in EXTRA_WEAKENINGS or ".weakenings." in key or ".unsafe." in key:
        return True
    named = name.startswith(("allow_", "insecure", "skip_")) or name == "insecure"
    return named and info.annotation is bool and info.default is False


def _weakening_note(key: str, info: FieldInfo) -> str:
    when = EXTRA_WEAKENINGS.get(key, "true" if info.annotation is bool else "set")
    policies = WEAKENING_POLICIES.get(key)
    if policies is None:
        return f"⚠ **weakens** when {when}: not mapped to a policy. "
    if not policies:
        return f"⚠ **weakens** when {when}: no policy of the pack reports it. "
    named = ", ".join(f"`{p}`" for p in policies)
    return f"⚠ **weakens** when {when}: reported by policy {named}. "


def _walk(model: type[BaseModel], prefix: str, table: Table, out: list[Table], seen: frozenset[type]) -> None:
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        desc = _description(model, name, info)
        if _is_weakening(key, name, info):
            desc = _weakening_note(key, info) + desc
        subs = [s for s in models_in(info.annotation) if s not in seen]
        tag = discriminator(info, subs) if len(subs) > 1 else None
        type_name = _type_name(info.annotation)
        if tag:
            tags = [variant_tag(s, tag) for s in subs]
            type_name = f"one of {len(subs)} variants by `{tag}`: " + ", ".join(f"`{t}`" for t in tags)
        table.rows.append(f"| `{key}` | {type_name} | {_default(info)} | {desc.strip()} |")
        table.keys.append(key)
        sub_prefix = child_prefix(key, info.annotation)
        if tag:
            for sub in subs:
                variant = Table(
                    f"`{key}` with `{tag}: {variant_tag(sub, tag)}`",
                    _description_of(sub),
                )
                out.append(variant)
                _walk(sub, sub_prefix, variant, out, seen | {sub})
        else:
            for sub in subs:
                _walk(sub, sub_prefix, table, out, seen | {sub})


def _description_of(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())


def tables_for(model: type[BaseModel], heading: str, intro: str, prefix: str = "") -> list[Table]:
    """The main table of one model and a table per discriminated-union variant below it."""
    main = Table(heading, intro)
    variants: list[Table] = []
    _walk(model, prefix, main, variants, frozenset({model}))
    return [main, *variants]


@cache
def team_models() -> dict[str, type[BaseModel]]:
    """The team project's config models, section -> model, without running its program.

    The program ends in `main()`, which needs a Pulumi engine; every other top-level statement is a
    definition, so the module is executed with that call left out.
    """
    from components.tenancy import TeamAccessArgs

    tree = parse_source(TEAM_PROGRAM.read_text(encoding="utf-8"), str(TEAM_PROGRAM))
    tree.body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call))]
    module = types.ModuleType("payments_team_config")
    module.__file__ = str(TEAM_PROGRAM)
    sys.modules[module.__name__] = module  # pydantic resolves postponed annotations through it
    exec(compile(tree, str(TEAM_PROGRAM), "exec"), module.__dict__)  # our own source, minus main()
    return {"access": TeamAccessArgs, "workload": module.WorkloadArgs}


def stack_kind_models() -> dict[str, type[BaseModel]]:
    from blueprint.program import STACK_KINDS

    return {kind: model for kind, (model, _build) in STACK_KINDS.items()}


HEADER = """# Config reference

Generated from the models by `python -m hardened_rke2.config_reference > docs/config-reference.md`; do not
edit by hand (a test fails when it is stale). Every key users can write is listed with its YAML path
(camelCase), type, hardened default and description. `a[]` is a list of objects, `a.<name>` a map.
Unknown keys are errors. Invalid config fails before any resource is registered, with every problem
listed as `<path>: <message> (fix: <hint>)`. Defaults ARE the hardened settings; a setting that weakens
one is marked **⚠ weakens** with the policy of `policy-packs/nsa-cisa-hardening` that reports it.

Contents: [`kind: cluster`](#kind-cluster) · [`kind: management`](#kind-management) ·
[team project](#team-project-payments-team)
"""

CLUSTER_INTRO = """Keys live under the `hardened-rke2:` namespace in `stacks/Pulumi.<stack>.yaml`.
Rancher credentials are not stack config: use `rancher2:apiUrl` / `rancher2:tokenKey` (secret) or
`RANCHER_URL` / `RANCHER_TOKEN_KEY`. Secrets in this config (`cluster.etcd.s3.accessKey/secretKey`,
`addons.auditLogging.output.password/token`, `addons.monitoring.receiver.url/routingKey`) must be set
with `pulumi config set --secret --path`.

Notes on what Rancher passes to RKE2:
- RKE2 keys are checked against `components/data/rke2_keys.json` (RKE2 flags intersected with Rancher's
  KDM allow-list, with provenance). A key Rancher would drop is an error, never a silently weaker node.
- `write-kubeconfig-mode` is on Rancher's list only from RKE2 v1.31.13 / v1.32.9 / v1.33.5 / v1.35.5
  (not confirmed for 1.34); where it is not, the key is omitted and RKE2 writes its default 0600.
- `secrets-encryption-provider` is not on any KDM list found, so `secretbox` is rejected; Secrets are
  always encrypted at rest by RKE2 (`aescbc`, FIPS-compatible).
- The audit policy is delivered inline (`audit-policy-file` in the global config; Rancher writes the
  file) or, with `audit.delivery: secret`, as a `rancher2.SecretV2` in `fleet-default` on the local
  cluster (annotated `rke.cattle.io/object-authorized-for-clusters`) placed on control-plane nodes at
  `/etc/rancher/rke2/audit-policy.yaml` by `machine_selector_files`.
- A custom (bring-your-own) cluster is created empty: `pulumi up` waits on the `ClusterSync` gate (up to
  90 minutes) until nodes have joined. Stack outputs appear only when the update ends, so during the first
  `up` prepare each host with the host-prep script (`python -c "from components.host_prep import
  host_prep_script; print(host_prep_script())"`; later exported as `hostPrepScript`) and run the
  registration command Rancher shows for the cluster (exported as the secret `registrationCommand`)."""

MANAGEMENT_INTRO = """Installs and configures Rancher itself (`stacks/Pulumi.management.yaml`), keys under
`hardened-rke2:`. Secret values are not written in this tree: each `SecretRef` (`{configKey: ...}`) names
a separate config key set with `pulumi config set --secret <key>` (defaults: `managementKubeconfig`,
`ssoClientSecret`, `ssoIdpMetadata`, `ssoSpKey`, `ssoBindPassword`, `ssoTestPassword`). `rancher.line`
is the stack's Rancher line; `management.rancherLine` may repeat it but not differ."""

TEAM_INTRO = f"""A team-owned Pulumi project (example: `stacks/teams/payments`), keys under its own project
namespace (`{TEAM_NAMESPACE}:`). It deploys into the tenant space the platform's cluster stack creates
(`tenants`, above); Rancher credentials are the team's own (`rancher2:apiUrl` + secret
`rancher2:tokenKey`, or `RANCHER_URL` / `RANCHER_TOKEN_KEY`) and need only `project-member` on the team's
project (docs/teams.md), never stack config. Invalid config fails with every problem listed and nothing
registered."""

TEAM_TOP_ROWS = (
    (
        "platformStack",
        "str",
        "**required**",
        "Fully qualified name of the platform cluster stack (`<org>/<project>/<stack>`), read through a "
        "StackReference: `clusterV1Id`, `rancherUrl`, `allowedRegistries`, `tenants`.",
    ),
    (
        "team",
        "str",
        "**required**",
        "The team's name in the platform cluster stack's `tenants` (DNS label, at most 30 characters); "
        "`workload.namespace` must be one of its namespaces.",
    ),
)

TABLE_HEAD = "| key | type | default | description |\n|---|---|---|---|"


def reference_tables() -> Iterator[tuple[int, Table]]:
    """(heading level, table) in document order."""
    for kind, model in stack_kind_models().items():
        intro = {"cluster": CLUSTER_INTRO, "management": MANAGEMENT_INTRO}.get(kind, _description_of(model))
        tables = tables_for(model, f"`kind: {kind}`", intro)
        yield 2, tables[0]
        for t in tables[1:]:
            yield 3, t
    top = Table(f"Team project (`{TEAM_NAMESPACE}`)", TEAM_INTRO)
    for key, type_name, default, desc in TEAM_TOP_ROWS:
        top.rows.append(f"| `{key}` | {type_name} | {default} | {desc} |")
        top.keys.append(key)
    variants: list[Table] = []
    for section, model in team_models().items():
        desc = _description_of(model).replace("|", "\\|")
        top.rows.append(f"| `{section}` | object | (see below) | {desc} |")
        top.keys.append(section)
        _walk(model, f"{section}.", top, variants, frozenset({model}))
    yield 2, top
    for t in variants:
        yield 3, t


def render_reference() -> str:
    parts = [HEADER]
    for level, table in reference_tables():
        parts.append(f"{'#' * level} {table.heading}\n")
        if table.intro:
            parts.append(table.intro + "\n")
        parts.append(TABLE_HEAD + "\n" + "\n".join(table.rows) + "\n")
    return "\n".join(parts)


def weakening_rows() -> list[str]:
    """YAML paths of every setting the reference marks as weakening (for tests)."""
    found: list[str] = []
    for _level, table in reference_tables():
        found += [k for k, row in zip(table.keys, table.rows, strict=True) if "⚠ **weakens**" in row]
    return list(dict.fromkeys(found))


if __name__ == "__main__":
    print(render_reference(), end="")
