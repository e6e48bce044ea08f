"""Kubernetes quantities, the project / namespace quotas and the container defaults (LimitRange)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from pydantic import field_validator, model_validator

from components.model import HardenedModel
from components.problems import ConfigProblems, ProblemList

_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?|\.[0-9]+)(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_SUFFIX = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def parse_quantity(value: str) -> Decimal:
    """A Kubernetes resource quantity (`500m`, `2`, `512Mi`, `1G`) as a number; ValueError if malformed."""
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. '500m', '2', '512Mi', '4Gi')")
    try:
        return Decimal(match["num"]) * _SUFFIX[match["suffix"]]
    except InvalidOperation as exc:  # pragma: no cover - the regex only admits decimals
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from exc


# --- quotas and limits -----------------------------------------------------------------------------------

# Rancher quota field (camelCase, as in stack YAML and the rancher2 API) -> Kubernetes ResourceQuota key.
QUOTA_KEYS: Mapping[str, str] = {
    "limitsCpu": "limits.cpu",
    "limitsMemory": "limits.memory",
    "requestsCpu": "requests.cpu",
    "requestsMemory": "requests.memory",
    "requestsStorage": "requests.storage",
    "pods": "pods",
    "services": "services",
    "servicesLoadBalancers": "services.loadbalancers",
    "servicesNodePorts": "services.nodeports",
    "configMaps": "configmaps",
    "persistentVolumeClaims": "persistentvolumeclaims",
    "replicationControllers": "replicationcontrollers",
    "secrets": "secrets",
}


class QuotaArgs(HardenedModel):
    """A resource quota (NSA-2.8). Values are Kubernetes quantities as strings, as Rancher expects.

    CPU and memory requests and limits are required; LoadBalancer and NodePort Services default to 0 so
    a team cannot expose node ports or cloud load balancers without asking for it (`servicesNodePorts`).
    """

    limits_cpu: str
    """Total CPU limits, e.g. `"8"`."""
    limits_memory: str
    """Total memory limits, e.g. `16Gi`."""
    requests_cpu: str
    """Total CPU requests."""
    requests_memory: str
    """Total memory requests."""
    requests_storage: str | None = None
    """Total storage requests of PersistentVolumeClaims."""
    pods: str | None = None
    """Maximum number of pods."""
    services: str | None = None
    """Maximum number of Services."""
    services_load_balancers: str | None = "0"
    """Maximum LoadBalancer Services (default 0: none)."""
    services_node_ports: str | None = "0"
    """Maximum NodePort Services (default 0: none)."""
    config_maps: str | None = None
    """Maximum number of ConfigMaps."""
    persistent_volume_claims: str | None = None
    """Maximum number of PersistentVolumeClaims."""
    replication_controllers: str | None = None
    """Maximum number of ReplicationControllers."""
    secrets: str | None = None
    """Maximum number of Secrets."""

    @field_validator("*")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_quantity(value)
            except ValueError as exc:
                raise ConfigProblems.one(
                    str(exc), "use a Kubernetes quantity string such as '2', '500m' or '4Gi'"
                ) from exc
        return value

    @model_validator(mode="after")
    def _requests_within_limits(self) -> QuotaArgs:
        problems = ProblemList()
        for kind in ("Cpu", "Memory"):
            req, lim = getattr(self, f"requests_{kind.lower()}"), getattr(self, f"limits_{kind.lower()}")
            if parse_quantity(req) > parse_quantity(lim):
                problems.add(
                    [f"requests{kind}"],
                    f"requests{kind} {req} exceeds limits{kind} {lim}",
                    f"lower requests{kind} or raise limits{kind}",
                )
        problems.raise_if_any()
        return self

    def as_rancher(self) -> dict[str, str]:
        """camelCase fields that are set, as Rancher's quota JSON / the rancher2 SDK expect them."""
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}

    def as_kubernetes_hard(self) -> dict[str, str]:
        return {QUOTA_KEYS[k]: v for k, v in sorted(self.as_rancher().items())}


DEFAULT_PROJECT_QUOTA = QuotaArgs(
    limits_cpu="8", limits_memory="16Gi", requests_cpu="4", requests_memory="8Gi", pods="100"
)
DEFAULT_NAMESPACE_QUOTA = QuotaArgs(
    limits_cpu="4", limits_memory="8Gi", requests_cpu="2", requests_memory="4Gi", pods="50"
)


class ContainerResourcesArgs(HardenedModel):
    """Default requests/limits for containers that set none, and the per-container maximum (NSA-2.7, 2.9)."""

    limits_cpu: str = "500m"
    """Default CPU limit of a container that sets none."""
    limits_memory: str = "512Mi"
    """Default memory limit of a container that sets none."""
    requests_cpu: str = "100m"
    """Default CPU request of a container that sets none."""
    requests_memory: str = "128Mi"
    """Default memory request of a container that sets none."""
    max_cpu: str = "2"
    """Largest CPU limit one container may have."""
    max_memory: str = "4Gi"
    """Largest memory limit one container may have."""

    @field_validator("*")
    @classmethod
    def _quantity(cls, value: str) -> str:
        try:
            parse_quantity(value)
        except ValueError as exc:
            raise ConfigProblems.one(
                str(exc), "use a Kubernetes quantity string such as '500m' or '512Mi'"
            ) from exc
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ContainerResourcesArgs:
        problems = ProblemList()
        for kind in ("cpu", "memory"):
            cap = kind.capitalize()
            req, lim, mx = (getattr(self, f"{p}_{kind}") for p in ("requests", "limits", "max"))
            if parse_quantity(req) > parse_quantity(lim):
                problems.add(
                    [f"requests{cap}"],
                    f"default request {req} exceeds default limit {lim}",
                    f"lower requests{cap} or raise limits{cap}",
                )
            if parse_quantity(lim) > parse_quantity(mx):
                problems.add(
                    [f"limits{cap}"],
                    f"default limit {lim} exceeds the per-container maximum {mx}",
                    f"lower limits{cap} or raise max{cap}",
                )
        problems.raise_if_any()
        return self

    def as_rancher(self) -> dict[str, str]:
        return {
            "limitsCpu": self.limits_cpu,
            "limitsMemory": self.limits_memory,
            "requestsCpu": self.requests_cpu,
            "requestsMemory": self.requests_memory,
        }
