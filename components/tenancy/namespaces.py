"""A team namespace: Pod Security Admission level, network peers, egress rules, quota override."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from components.kube_names import check_dns_label
from components.model import HardenedModel
from components.problems import ConfigProblems, ProblemList
from components.tenancy.constants import (
    METADATA_ENDPOINTS,
    NAMESPACE_NAME_LABEL,
    PSA_LABEL_PREFIX,
    RESERVED_NAMESPACE_PREFIXES,
    RESERVED_NAMESPACES,
)
from components.tenancy.quotas import QuotaArgs

# --- pod security, network ---------------------------------------------------------------------------------


class NamespacePodSecurityArgs(HardenedModel):
    """Pod Security Admission for the team's namespaces (NSA-1.10).

    `audit` and `warn` are always `restricted`; `enforce` is `restricted` unless a team explicitly asks
    for `baseline` (a weakening the policy pack reports).
    """

    enforce: Literal["restricted", "baseline"] = "restricted"
    """Enforced PSA level; `baseline` weakens the restricted default."""
    version: str = "latest"
    """PSA policy version label (`latest` or e.g. `v1.33`)."""

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value != "latest" and not re.match(r"^v1\.[0-9]+$", value):
            raise ConfigProblems.one(
                f"version {value!r} is not 'latest' or 'v1.<minor>'", "e.g. 'latest' or 'v1.33'"
            )
        return value

    def labels(self) -> dict[str, str]:
        return {
            f"{PSA_LABEL_PREFIX}enforce": self.enforce,
            f"{PSA_LABEL_PREFIX}enforce-version": self.version,
            f"{PSA_LABEL_PREFIX}audit": "restricted",
            f"{PSA_LABEL_PREFIX}audit-version": self.version,
            f"{PSA_LABEL_PREFIX}warn": "restricted",
            f"{PSA_LABEL_PREFIX}warn-version": self.version,
        }


class PeerSelectorArgs(HardenedModel):
    """Pods (by labels) in one namespace (by name): a cluster component a team's pods talk to."""

    namespace: str
    """Namespace of the peer pods."""
    pod_labels: dict[str, str]
    """Labels selecting the peer pods."""

    @field_validator("pod_labels")
    @classmethod
    def _non_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ConfigProblems.one(
                "podLabels is empty, which would select every pod of the namespace",
                "name the component's pod labels",
            )
        return value

    def peer(self) -> dict[str, Any]:
        return {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: self.namespace}},
            "podSelector": {"matchLabels": dict(sorted(self.pod_labels.items()))},
        }


# RKE2's CoreDNS (chart rke2-coredns) pods carry `k8s-app: kube-dns`; ingress-nginx is rke2-ingress-nginx.
DEFAULT_DNS = PeerSelectorArgs(namespace="kube-system", pod_labels={"k8s-app": "kube-dns"})
DEFAULT_INGRESS_CONTROLLER = PeerSelectorArgs(
    namespace="kube-system", pod_labels={"app.kubernetes.io/name": "rke2-ingress-nginx"}
)


class PortArgs(HardenedModel):
    port: int = Field(ge=1, le=65535)
    """Port number."""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """`TCP`, `UDP` or `SCTP`."""


class EgressRuleArgs(HardenedModel):
    """An explicit egress allowance to a CIDR on named ports. Metadata endpoints are always excluded."""

    name: str
    """Name of the allowance (NetworkPolicy `allow-egress-<name>`)."""
    cidr: str
    """Destination CIDR, e.g. `10.40.12.0/24`."""
    ports: list[PortArgs] = Field(min_length=1)
    """Destination ports (at least one)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dns_label(value, "egress rule name", 40)

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ConfigProblems.one(
                f"cidr {value!r} is not a network in CIDR form", "e.g. '10.20.0.0/16'"
            ) from exc
        for meta in METADATA_ENDPOINTS:
            if net.version == meta.version and net.subnet_of(meta):  # type: ignore[arg-type]
                raise ConfigProblems.one(
                    f"cidr {value} is the cloud metadata endpoint, which team pods may never reach (NSA-2.6)",
                    "remove this rule; use workload identity / a secrets store instead",
                )
        return value

    def excluded(self) -> list[str]:
        """Metadata endpoints inside this CIDR, which the rule carves out with `ipBlock.except`."""
        net = ipaddress.ip_network(self.cidr)
        return [
            str(meta)
            for meta in METADATA_ENDPOINTS
            if net.version == meta.version and meta.subnet_of(net)  # type: ignore[arg-type]
        ]


class TeamNamespaceArgs(HardenedModel):
    """One namespace of the team."""

    name: str
    """Namespace name (DNS label; not a platform prefix such as `kube-`, `cattle-`, `fleet-`, `rancher-`)."""
    quota: QuotaArgs | None = None
    """The namespace's share of the project quota; `None` = the tenancy's `namespaceDefaultQuota`."""
    allow_same_namespace: bool = True
    """Allow pod-to-pod traffic inside the namespace (ingress and egress)."""
    allow_from_ingress_controller: bool = False
    """Allow ingress from the cluster's ingress controller pods (needed to serve an Ingress)."""
    egress: list[EgressRuleArgs] = Field(default_factory=list)
    """Explicit egress allowances beyond DNS (default: none)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        check_dns_label(value, "namespace name")
        if value in RESERVED_NAMESPACES or value.startswith(RESERVED_NAMESPACE_PREFIXES):
            raise ConfigProblems.one(
                f"namespace {value!r} is reserved for the platform (NSA-2.1/2.2: no 'kube-' prefix, no "
                f"'default', no {', '.join(repr(p + '*') for p in RESERVED_NAMESPACE_PREFIXES[1:])})",
                "prefix it with your team name, e.g. 'payments-api'",
            )
        return value

    @model_validator(mode="after")
    def _unique_egress(self) -> TeamNamespaceArgs:
        problems = ProblemList()
        seen: set[str] = set()
        for i, rule in enumerate(self.egress):
            if rule.name in seen:
                problems.add(
                    ["egress", i, "name"],
                    f"duplicate egress rule name {rule.name!r}",
                    "give every egress rule a unique name",
                )
            seen.add(rule.name)
        problems.raise_if_any()
        return self
