"""The stack config schema: `stacks/Pulumi.<stack>.yaml` -> a validated model, every problem at once.

`load_stack_config(values)` takes the config keys WITHOUT the `hardened-rke2:` prefix, picks the model by
`kind` (`STACK_CONFIG_MODELS` below) and either returns the model or raises
`StackConfigError` listing every problem as `<yaml path>: <message> (fix: <hint>)` — before any resource
is registered. Provider credentials are NOT part of this schema: they come from `rancher2:apiUrl` /
`rancher2:tokenKey` config or RANCHER_URL / RANCHER_TOKEN_KEY.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from blueprint.management import ManagementStackConfig
from blueprint.tenants import TenantsArgs
from components.addons import AddonsArgs, platform_namespaces
from components.addons.istio import ISTIO_NAMESPACE
from components.addons.platform import derive_cluster_facts
from components.cluster import HardenedClusterArgs
from components.gitops import GitOpsArgs
from components.model import HardenedModel
from components.net_types import HttpsUrl
from components.pod_security import BUILTIN_RESTRICTED
from components.problems import ConfigProblems, Problem, ProblemList
from components.rke2_config import Rke2Version
from components.tenancy.access import DEFAULT_TOKEN_MAX_TTL_MINUTES
from components.tls import pem_certificates
from components.validation_errors import validation_problems
from components.versions import DEFAULT_RANCHER_LINE, PINS, RANCHER_LINES, RancherLine, pins_for

PROJECT = "hardened-rke2"
CONFIG_PREFIX = f"{PROJECT}:"


# Invalid stack config is a `ConfigProblems`; this name is what `except` clauses and tests read.
StackConfigError = ConfigProblems


def stack_config_error(problems: Sequence[Problem]) -> ConfigProblems:
    """The invalid-stack-config report: every problem, `<yaml path>: <message> (fix: <hint>)`."""
    return ConfigProblems(problems, heading="stack", style="yaml")


class RancherArgs(HardenedModel):
    """The Rancher server the cluster is managed by (credentials are provider config, not this)."""

    line: RancherLine = DEFAULT_RANCHER_LINE
    """Rancher release line; picks the chart and RKE2 version pins (`components/versions.py`)."""
    url: HttpsUrl | None = Field(None, pattern=r"^https://[A-Za-z0-9.-]+(:\d+)?/?$")
    """Rancher's HTTPS URL; used for the cluster's kubeconfig and exported as `rancherUrl`."""
    ca_certs: str | None = None
    """PEM of the private CA that signed Rancher's certificate (the management stack's `rancherCaCerts`
    output). Carried as `certificate-authority-data` in every kubeconfig this stack builds and exported as
    `rancherCaCerts` for team stacks; the rancher2 provider needs the same PEM as `rancher2:caCerts` (or
    `RANCHER_CA_CERTS`). Unset: `rancher2:caCerts`, if any, is used; else Rancher's certificate must be
    publicly trusted."""
    token_max_ttl_minutes: int = Field(DEFAULT_TOKEN_MAX_TTL_MINUTES, gt=0)
    """Rancher's `auth-token-max-ttl-minutes` (the management stack's `security.tokenMaxTtlMinutes`, same
    default). Every token this stack mints must fit: Rancher silently lowers a longer TTL, and the token
    (with every Kubernetes object on a provider built from it) would then be replaced on every update."""

    @field_validator("ca_certs")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        return pem_certificates(value, "caCerts") if value is not None else None


class ClusterStackConfig(HardenedModel):
    """Schema of a `kind: cluster` stack (the default kind)."""

    kind: Literal["cluster"] = "cluster"
    """Stack kind; `cluster` (the default) selects this schema."""
    rancher: RancherArgs = Field(default_factory=RancherArgs)
    cluster: HardenedClusterArgs
    addons: AddonsArgs | None = None
    """NeuVector, compliance scanning and audit-log shipping (on by default once `addons` is given; audit-log
    shipping needs an `output`), Istio and monitoring (opt in). Absent: no add-ons are installed, the program
    warns, and the policy pack's stack rule reports the cluster."""
    gitops: GitOpsArgs = Field(default_factory=GitOpsArgs)
    """Fleet GitRepos / GitRepoRestrictions created on Rancher's local cluster (needs Rancher's URL)."""
    tenants: TenantsArgs = Field(default_factory=TenantsArgs)
    """Application teams' tenant spaces on this cluster (projects, namespaces with their PSA labels,
    quotas, network policies, role templates, group bindings): they need platform rights, so the
    cluster stack creates them and team stacks only deploy into them (docs/teams.md)."""

    @model_validator(mode="before")
    @classmethod
    def _default_version_from_line(cls, data: Any) -> Any:
        # The cluster's RKE2 version defaults to the pinned default of the chosen Rancher line.
        if not isinstance(data, Mapping):
            return data
        cluster, rancher = data.get("cluster"), data.get("rancher") or {}
        line = rancher.get("line", DEFAULT_RANCHER_LINE) if isinstance(rancher, Mapping) else None
        if (
            isinstance(cluster, Mapping)
            and "kubernetesVersion" not in cluster
            and "kubernetes_version" not in cluster
            and line in PINS
        ):
            return {
                **data,
                "cluster": {**cluster, "kubernetesVersion": pins_for(line).default_kubernetes_version},
            }
        return data

    @model_validator(mode="before")
    @classmethod
    def _addons_follow_the_cluster(cls, data: Any) -> Any:
        # The add-ons' cluster facts (SELinux, load balancer) come from the cluster settings; an explicit
        # `addons.cluster` may only add what the cluster config cannot show (`loadBalancer: external`).
        if not isinstance(data, Mapping):
            return data
        cluster, addons = data.get("cluster"), data.get("addons")
        if not isinstance(cluster, Mapping) or not isinstance(addons, Mapping):
            return data
        rke2 = cluster.get("rke2") or {}
        derived = derive_cluster_facts(rke2 if isinstance(rke2, Mapping) else {})
        given = addons.get("cluster") or {}
        if not isinstance(given, Mapping):
            return data
        facts = dict(derived)
        problems: list[Problem] = []
        for key, value in given.items():
            camel = "loadBalancer" if key == "load_balancer" else key
            if camel == "selinux" and value != derived["selinux"]:
                problems.append(
                    Problem(
                        ("addons", "cluster", "selinux"),
                        f"must follow the cluster (cluster.rke2.selinux is {derived['selinux']})",
                        "remove addons.cluster.selinux: it is derived from cluster.rke2.selinux",
                    )
                )
            elif camel == "loadBalancer" and derived["loadBalancer"] != "none" and value != derived[camel]:
                problems.append(
                    Problem(
                        ("addons", "cluster", "loadBalancer"),
                        f"the cluster config already gives {derived['loadBalancer']!r}",
                        "remove addons.cluster.loadBalancer",
                    )
                )
            else:
                facts[camel] = value
        if problems:
            raise ConfigProblems(problems)
        return {**data, "addons": {**addons, "cluster": facts}}

    @model_validator(mode="after")
    def _addons_agree_with_pod_security(self) -> ClusterStackConfig:
        # One namespace list (components.addons.platform_namespaces) decides what the platform may run
        # privileged; the cluster's Pod Security template must exempt exactly that, and never istio-system:
        # istiod meets `restricted`, so the mesh control plane is enforced (rancher-restricted exempts it,
        # rancher/rancher pkg/data/management/podadmissionconfigurationtemplate_data.go:31).
        if self.addons is None:
            return self
        psa = self.cluster.pod_security
        platform = platform_namespaces(self.addons, self.rancher.line)
        problems: list[Problem] = []
        if psa.custom is None:
            if self.addons.istio.enabled and psa.template == BUILTIN_RESTRICTED:
                problems.append(
                    Problem(
                        ("cluster", "podSecurity"),
                        f"{BUILTIN_RESTRICTED} exempts {ISTIO_NAMESPACE}: istiod would run without Pod "
                        "Security enforcement although it meets the restricted level",
                        "with Istio on, use cluster.podSecurity.custom exempting exactly the platform "
                        f"namespaces ({', '.join(platform)})",
                    )
                )
        else:
            exempt = {e.namespace for e in psa.custom.exemptions if e.namespace}
            if self.addons.istio.enabled and ISTIO_NAMESPACE in exempt:
                problems.append(
                    Problem(
                        ("cluster", "podSecurity", "custom", "exemptions"),
                        f"exempts {ISTIO_NAMESPACE}, which the mesh control plane does not need",
                        f"remove the {ISTIO_NAMESPACE} exemption",
                    )
                )
            missing = [ns for ns in platform if ns not in exempt]
            if missing:
                problems.append(
                    Problem(
                        ("cluster", "podSecurity", "custom", "exemptions"),
                        f"the platform's privileged workloads run in {', '.join(missing)}, which the "
                        "template does not exempt: their pods would be refused",
                        "add a namespace exemption (with its reason) for each",
                    )
                )
        if problems:
            raise ConfigProblems(problems)
        return self

    @model_validator(mode="after")
    def _token_ttls_fit_rancher_max(self) -> ClusterStackConfig:
        """Rancher caps a token's TTL at `auth-token-max-ttl-minutes` without an error (rancher/rancher
        pkg/auth/tokens/manager.go:104 -> pkg/ext/stores/tokens/tokens.go:1779-1797 IngestTTL/ClampToMaxTTL);
        the rancher2 provider stores the lowered TTL (structure_token.go:46-50) and `ttl` is ForceNew
        (schema_token.go:66-71): the token would be replaced on every update."""
        limit = self.rancher.token_max_ttl_minutes
        checks = [(("cluster", "kubeconfigTokenTtlHours"), self.cluster.kubeconfig_token_ttl_hours)]
        if not self.gitops.empty or self.cluster.operations.rotate_encryption_keys is not None:
            # the local-cluster token (Fleet objects, the encryption-key rotation patch)
            checks.append((("gitops", "localTokenTtlHours"), self.gitops.local_token_ttl_hours))
        problems = ProblemList()
        for path, hours in checks:
            if hours * 60 > limit:
                problems.add(
                    path,
                    f"{hours} h ({hours * 60} min) exceeds rancher.tokenMaxTtlMinutes ({limit} min): Rancher "
                    "would silently lower it and the token, and every Kubernetes object on its provider, "
                    "would be replaced on every update",
                    (f"set it to at most {limit // 60}" if limit >= 60 else "raise the maximum to >= 60")
                    + " (or set rancher.tokenMaxTtlMinutes to the management stack's "
                    "security.tokenMaxTtlMinutes)",
                )
        problems.raise_if_any()
        return self

    @model_validator(mode="after")
    def _version_matches_line(self) -> ClusterStackConfig:
        pins = pins_for(self.rancher.line)
        minor = Rke2Version.parse(self.cluster.kubernetes_version).minor_key
        if minor not in pins.kubernetes_minors:
            raise ConfigProblems(
                [
                    Problem(
                        ("cluster", "kubernetesVersion"),
                        f"RKE2 {minor} is not supported by Rancher {self.rancher.line} "
                        f"(supports {', '.join(pins.kubernetes_minors)})",
                        f"use e.g. {pins.default_kubernetes_version} or change rancher.line",
                    )
                ]
            )
        return self


# --- loading ----------------------------------------------------------------------------------------


STACK_CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "cluster": ClusterStackConfig,
    "management": ManagementStackConfig,
}
"""Each stack `kind`'s config model. Config validation needs only the models, so it lives here and
`blueprint.program` (which pairs each kind with its build function) imports it: no import cycle."""


def stack_kinds() -> Mapping[str, type[BaseModel]]:
    return STACK_CONFIG_MODELS


def load_stack_config(values: Mapping[str, Any], secret_keys: Collection[str] = ()) -> Any:
    """Validate the stack's config values (keys without the `hardened-rke2:` prefix).

    `secret_keys` are the top-level keys set as secrets: no problem message echoes a value from them (the
    path names where the problem is)."""
    try:
        return _validate_stack_config(values)
    except ConfigProblems as exc:
        if not secret_keys:
            raise
        raise stack_config_error(redact_secret_values(exc.items, values, secret_keys)) from None


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_REDACTED = "[secret]"
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_MIN_LEAF = 4
"""Shorter secret leaves are not searched for in free text (they would mangle every message); quoted
values in problems under a secret key are redacted whatever their length."""


def redact_secret_values(
    problems: Sequence[Problem], values: Mapping[str, Any], secret_keys: Collection[str]
) -> list[Problem]:
    """Problems without any value that came from a secret config key: quoted values in problems under such
    a key become `[secret]`, and so does any occurrence of one of its values (or keys) elsewhere."""
    leaves: set[str] = set()
    stack = [values[k] for k in secret_keys if k in values]
    while stack:
        v = stack.pop()
        if isinstance(v, Mapping):
            # Field names are schema, not secrets; free-form keys (e.g. label keys) may be.
            leaves.update(str(k) for k in v if not _IDENTIFIER.match(str(k)))
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif v is not None and not isinstance(v, bool):
            leaves.add(str(v))
    ordered = sorted((x for x in leaves if len(x) >= _MIN_LEAF), key=len, reverse=True)

    def scrub(text: str, under_secret: bool) -> str:
        if under_secret:
            text = _QUOTED.sub(_REDACTED, text)
        for leaf in ordered:
            text = text.replace(leaf, _REDACTED)
        return text

    out = []
    for p in problems:
        under = bool(p.path) and str(p.path[0]) in secret_keys
        # A path part can itself be a secret mapping key (e.g. a label key): name its position instead.
        path = tuple(_REDACTED if under and isinstance(x, str) and x in leaves else x for x in p.path)
        out.append(Problem(path, scrub(p.message, under), scrub(p.fix, False)))
    return out


def _validate_stack_config(values: Mapping[str, Any]) -> Any:
    if not isinstance(values, Mapping):
        raise stack_config_error(
            [
                Problem(
                    (),
                    f"expected a mapping of config keys, got {type(values).__name__}",
                    "give the config keys as a mapping",
                )
            ]
        )
    kinds = stack_kinds()
    kind = values.get("kind", "cluster")
    if not isinstance(kind, str) or kind not in kinds:
        raise stack_config_error(
            [Problem(("kind",), f"unknown stack kind {kind!r}", f"use one of {', '.join(sorted(kinds))}")]
        )
    model = kinds[kind]
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise stack_config_error(validation_problems(exc, model)) from None


# --- secrets set in plain config ---------------------------------------------------------------------


def secret_settings(model: BaseModel, prefix: str = "") -> list[str]:
    """YAML paths of every credential (`SecretStr`) the config sets, e.g. `cluster.etcd.s3.secretKey`."""
    out: list[str] = []
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        out += _secret_paths(getattr(model, name), f"{prefix}.{key}" if prefix else key)
    return out


def _secret_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, SecretStr):
        return [path]
    if isinstance(value, BaseModel):
        return secret_settings(value, path)
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _secret_paths(v, f"{path}[{i}]")]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _secret_paths(v, f"{path}.{k}")]
    return []


def plaintext_secret_warnings(config: BaseModel, project: str = PROJECT) -> list[str]:
    """One warning per credential whose stack config key is not a secret (it sits in the stack file in
    plain text, i.e. in Git). The program still marks the value secret in state and outputs."""
    from pulumi.runtime import config as rc

    return [
        f"{path}: a credential in plain stack config (the stack file holds it in clear text) "
        f"(fix: pulumi config set --secret --path '{path}' <value>)"
        for path in secret_settings(config)
        if not rc.is_config_secret(f"{project}:{path.split('.', 1)[0].split('[', 1)[0]}")
    ]


# --- reading Pulumi config --------------------------------------------------------------------------


def read_pulumi_config(project: str = PROJECT) -> dict[str, Any]:
    """Every `<project>:<key>` config value, structured values parsed from their JSON wire form."""
    from pulumi.runtime import config as rc

    prefix = f"{project}:"
    keys = set(rc.CONFIG.get()) | set(rc.get_config_env())
    out: dict[str, Any] = {}
    for full in sorted(k for k in keys if k.startswith(prefix)):
        raw = rc.get_config(full)
        out[full[len(prefix) :]] = _parse(raw)
    return out


def secret_config_keys(values: Mapping[str, Any], project: str = PROJECT) -> set[str]:
    """The top-level config keys (without the prefix) that are set as secrets."""
    from pulumi.runtime import config as rc

    return {k for k in values if rc.is_config_secret(f"{project}:{k}")}


def _parse(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    # Structured config arrives as JSON; a plain string that happens to parse as a number stays a string.
    return value if isinstance(value, dict | list | bool) else raw


__all__ = [
    "CONFIG_PREFIX",
    "RANCHER_LINES",
    "ClusterStackConfig",
    "RancherArgs",
    "StackConfigError",
    "load_stack_config",
    "read_pulumi_config",
    "stack_config_error",
]
