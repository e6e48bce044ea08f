"""The payments team's stack: a restricted-compliant workload in the team's namespaces on a platform cluster.

The tenant space itself (Rancher project, namespaces with their Pod Security labels, quotas, limits,
default-deny network policies, role templates, group bindings) is NOT created here: it needs platform
rights (`updatepsa` on the project, global role templates), so the platform's cluster stack creates it from
its `tenants` config (blueprint/tenants.py). This stack runs with the team's own credentials, which need
only Rancher's `project-member` role on the team's project (docs/teams.md, "Which credentials each stack
needs"; tests/teams/test_team_rights.py checks every resource it registers against that role).

What it reads from the platform (a `StackReference` to the cluster stack named by `platformStack`):
`clusterV1Id`, `rancherUrl`, `allowedRegistries`, `tenants` (the team's project and namespaces),
`rancherCaCerts` (Rancher's private CA, when there is one; `access.certificateAuthority` overrides it) and,
for information, `projectNetworkIsolation`. How it reaches the cluster: with the team's OWN Rancher
credentials (`rancher2:apiUrl` + `rancher2:tokenKey` as a secret, or RANCHER_URL / RANCHER_TOKEN_KEY) it mints
a cluster-scoped token with an explicit TTL and talks to Kubernetes only through Rancher's authenticated,
audited proxy.

Config (project namespace `payments-team`): `platformStack`, `team` (the team's name in the platform's
`tenants`), `access` (TeamAccessArgs), `workload` (WorkloadArgs below). Invalid config fails with every
problem listed and nothing registered. Weakening the workload needs a named `unsafe.*` setting, which the
policy pack reports.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, ValidationError, field_validator

from components.kube_names import check_dns_label
from components.model import HardenedModel
from components.problems import ConfigProblems, Problem
from components.tenancy import (
    TeamAccessArgs,
    TeamConfigError,
    scoped_kubernetes_provider,
    team_config_error,
    team_problems,
)

_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_UID = 10001


def image_registry(image: str) -> str:
    """The registry host of an image reference (`docker.io` when the first component is not a host)."""
    first, _, rest = image.partition("/")
    return first if rest and ("." in first or ":" in first or first == "localhost") else "docker.io"


class UnsafeWorkloadSettings(HardenedModel):
    """Explicit, named weakenings of the sample workload. Each one is a finding of the policy pack."""

    privileged: bool = False
    """Run the container privileged (with privilege escalation)."""
    host_path: str | None = None
    """Mount this host directory (read-only) at `/host`."""
    run_as_root: bool = False
    """Run as UID / GID 0 instead of 10001."""
    writable_root_filesystem: bool = False
    """Writable root filesystem."""
    automount_service_account_token: bool = False
    """Mount the ServiceAccount token into the pod."""
    unpinned_image: bool = False
    """Accept an image that is not pinned by digest."""
    any_registry: bool = False
    """Accept an image from a registry outside the platform's `allowedRegistries`."""
    no_tls: bool = False
    """Serve the Ingress without TLS."""


class WorkloadArgs(HardenedModel):
    """The sample workload: Deployment, ClusterIP Service and TLS Ingress, restricted-PSS compliant."""

    name: str = "payments-api"
    """Name of the Deployment, Service and Ingress."""
    namespace: str
    """One of the namespaces the platform created for the team (its `tenants` entry in the cluster stack)."""
    image: str
    """Pinned by digest (`registry/repo@sha256:…`) from one of the platform's allowed registries."""
    replicas: int = Field(default=2, ge=1, le=20)
    """Pod replicas."""
    port: int = Field(default=8080, ge=1024, le=65535)
    """Container port (unprivileged, 1024 or above)."""
    host: str
    """Host name served by the Ingress."""
    tls_secret_name: str = "payments-api-tls"
    """A TLS Secret in the namespace (e.g. issued by cert-manager)."""
    ingress_class_name: str = "nginx"
    """Ingress class."""
    cpu_request: str = "100m"
    """Container CPU request."""
    cpu_limit: str = "500m"
    """Container CPU limit."""
    memory_request: str = "128Mi"
    """Container memory request."""
    memory_limit: str = "256Mi"
    """Container memory limit."""
    unsafe: UnsafeWorkloadSettings = UnsafeWorkloadSettings()

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE.match(value):
            raise ConfigProblems.one(
                f"{value!r} is not an image reference", "'registry.example.com/team/app@sha256:<64 hex>'"
            )
        return value

    def check(self) -> list[Problem]:
        problems = []
        match = _IMAGE.match(self.image)
        if match and not match["digest"] and not self.unsafe.unpinned_image:
            problems.append(
                Problem(
                    ("workload", "image"),
                    f"{self.image!r} is not pinned by digest (NSA-1.8)",
                    "use '<registry>/<repo>@sha256:<digest>' as printed by your image build",
                )
            )
        return problems


@dataclass(frozen=True)
class TeamStackConfig:
    platform_stack: str
    team: str
    access: TeamAccessArgs
    workload: WorkloadArgs


def _stack_name(key: str, value: str, example: str) -> list[Problem]:
    if value.count("/") == 2 and all(value.split("/")):
        return []
    return [
        Problem((key,), f"{value!r} is not '<org>/<project>/<stack>'", f"pulumi config set {key} {example}")
    ]


def load_config() -> TeamStackConfig:
    """Read and validate every config key; raise TeamConfigError with all problems at once."""
    config = pulumi.Config()
    platform_stack = config.get("platformStack") or ""
    team = config.get("team") or ""
    lines = _stack_name("platformStack", platform_stack, "acme/hardened-rke2/prod")
    for key in ("managementStack", "tenancy"):
        if config.get(key) is not None:
            lines.append(
                Problem(
                    (key,),
                    "the tenant space is created by the platform's cluster stack (its `tenants` config), "
                    "not by the team's stack: a project member cannot label namespaces with Pod Security "
                    "levels or create role templates",
                    f"move it to the platform's hardened-rke2:tenants and pulumi config rm {key}",
                )
            )
    try:
        check_dns_label(team, "team name", 30)
    except ConfigProblems as err:
        lines += [problem.under(("team",)) for problem in err]
    parsed: dict[str, Any] = {}
    for key, model in (("access", TeamAccessArgs), ("workload", WorkloadArgs)):
        try:
            parsed[key] = model.model_validate(config.get_object(key) or {})
        except ValidationError as err:
            lines += team_problems(err, prefix=(key,))
    if "workload" in parsed:
        lines += parsed["workload"].check()
    if "access" in parsed and parsed["access"].certificate_authority and not rancher_provider_ca():
        lines.append(
            Problem(
                ("access", "certificateAuthority"),
                "the rancher2 provider is not given this CA (rancher2:caCerts / RANCHER_CA_CERTS unset), "
                "so it cannot verify Rancher's certificate",
                'pulumi config set rancher2:caCerts -- "$(cat rancher-ca.pem)" with the same PEM, or export '
                "RANCHER_CA_CERTS",
            )
        )
    if lines:
        raise team_config_error(lines)
    return TeamStackConfig(platform_stack, team, parsed["access"], parsed["workload"])


def team_namespace(tenants: Any, team: str, namespace: str) -> str:
    """The workload's namespace, if the platform's `tenants` output gives it to this team (else fail)."""
    entry = (tenants or {}).get(team)
    if entry is None:
        raise pulumi.RunError(
            f"team: {team!r} has no tenant space on this cluster (fix: ask the platform team to add it to "
            f"the cluster stack's hardened-rke2:tenants; known: {', '.join(sorted(tenants or {})) or 'none'})"
        )
    namespaces = list(entry.get("namespaces") or [])
    if namespace not in namespaces:
        raise pulumi.RunError(
            f"workload.namespace: {namespace!r} is not one of the team's namespaces "
            f"(fix: use one of {', '.join(namespaces) or 'none'}, or ask the platform team for it)"
        )
    return namespace


def rancher_provider_ca() -> str | None:
    """The CA the team's rancher2 provider trusts (`rancher2:caCerts` or RANCHER_CA_CERTS)."""
    return pulumi.Config("rancher2").get("caCerts") or os.environ.get("RANCHER_CA_CERTS") or None


def warn_untrusted_ca(ca: Any) -> Any:
    """The platform runs Rancher behind a private CA, and this stack's rancher2 provider is not given it."""
    if ca and not rancher_provider_ca():
        pulumi.log.warn(
            "the platform stack exports rancherCaCerts (Rancher is behind a private CA) but "
            "rancher2:caCerts / RANCHER_CA_CERTS is unset: the rancher2 provider cannot verify Rancher "
            '(fix: pulumi config set rancher2:caCerts -- "$(cat rancher-ca.pem)")'
        )
    return ca


def check_registry(image: str, allowed: Any, unsafe: bool) -> str:
    """Fail the run when the image's registry is not on the platform's allow-list (NSA-1.8)."""
    registry = image_registry(image)
    if not unsafe and registry not in list(allowed or []):
        raise pulumi.RunError(
            f"workload.image: registry {registry!r} is not allowed on this cluster "
            f"(fix: use one of the platform's allowedRegistries: {', '.join(allowed or []) or 'none'})"
        )
    return image


def deploy_workload(
    w: WorkloadArgs, image: pulumi.Input[str], namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> None:
    """Deployment + ClusterIP Service + TLS Ingress, restricted Pod Security compliant by default."""
    u = w.unsafe
    labels = {"app.kubernetes.io/name": w.name, "app.kubernetes.io/part-of": "payments"}
    meta: Any = {"name": w.name, "namespace": namespace, "labels": labels}
    uid = 0 if u.run_as_root else _UID
    container_security: dict[str, Any] = {
        "allowPrivilegeEscalation": u.privileged,  # the API rejects privileged without escalation
        "privileged": u.privileged,
        "readOnlyRootFilesystem": not u.writable_root_filesystem,
        "runAsNonRoot": not u.run_as_root,
        "runAsUser": uid,
        "runAsGroup": uid,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if u.host_path:
        volumes.append({"name": "host", "hostPath": {"path": u.host_path, "type": "Directory"}})
        mounts.append({"name": "host", "mountPath": "/host", "readOnly": True})
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    pod_spec: dict[str, Any] = {
        "automountServiceAccountToken": u.automount_service_account_token,
        "securityContext": {
            "runAsNonRoot": not u.run_as_root,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "api",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"name": "http", "containerPort": w.port, "protocol": "TCP"}],
                "securityContext": container_security,
                "resources": {
                    "requests": {"cpu": w.cpu_request, "memory": w.memory_request},
                    "limits": {"cpu": w.cpu_limit, "memory": w.memory_limit},
                },
                "readinessProbe": probe,
                "livenessProbe": probe,
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
    deployment: Any = {
        "replicas": w.replicas,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    k8s.apps.v1.Deployment(f"{w.name}-deployment", metadata=meta, spec=deployment, opts=opts)
    service: Any = {
        "type": "ClusterIP",
        "selector": labels,
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
    }
    k8s.core.v1.Service(f"{w.name}-service", metadata=meta, spec=service, opts=opts)
    ingress: Any = {
        "ingressClassName": w.ingress_class_name,
        "rules": [
            {
                "host": w.host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": w.name, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ],
    }
    if not u.no_tls:
        ingress["tls"] = [{"hosts": [w.host], "secretName": w.tls_secret_name}]
    k8s.networking.v1.Ingress(f"{w.name}-ingress", metadata=meta, spec=ingress, opts=opts)


def main() -> None:
    try:
        config = load_config()
    except TeamConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    access, workload, team = config.access, config.workload, config.team

    platform = pulumi.StackReference(config.platform_stack)
    cluster_v1_id = platform.require_output("clusterV1Id")
    rancher_url = platform.require_output("rancherUrl")
    allowed = platform.require_output("allowedRegistries")
    tenant = platform.require_output("tenants").apply(lambda t: (t or {}).get(team) or {})
    namespace = platform.require_output("tenants").apply(
        lambda t: team_namespace(t, team, workload.namespace)
    )

    access_ = scoped_kubernetes_provider(
        team,
        rancher_url=rancher_url,
        cluster_v1_id=cluster_v1_id,
        args=access,
        # Rancher behind a private CA: the platform stack exports it (unset when publicly trusted).
        certificate_authority=platform.get_output("rancherCaCerts").apply(warn_untrusted_ca),
    )
    image = allowed.apply(lambda a: check_registry(workload.image, a, workload.unsafe.any_registry))
    deploy_workload(workload, image, namespace, pulumi.ResourceOptions(provider=access_.provider))

    pulumi.export("projectId", tenant.apply(lambda t: t.get("projectId")))
    pulumi.export("namespaces", tenant.apply(lambda t: list(t.get("namespaces") or [])))
    pulumi.export("url", f"{'http' if workload.unsafe.no_tls else 'https'}://{workload.host}/")
    pulumi.export("projectNetworkIsolation", platform.get_output("projectNetworkIsolation"))


main()
