"""How a team stack reaches its cluster: a scoped token and a kubeconfig through Rancher's proxy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import yaml
from pydantic import Field, field_validator, model_validator

from components.model import HardenedModel
from components.problems import ConfigProblems, Problem
from components.tls import certificate_authority_data, pem_certificates

# --- scoped Kubernetes access for a team -------------------------------------------------------------------

DEFAULT_TOKEN_MAX_TTL_MINUTES = 1440
"""The hardened `auth-token-max-ttl-minutes` (the management stack's `security.tokenMaxTtlMinutes` default):
what cluster and team stacks assume the Rancher maximum is unless told otherwise."""


class TeamAccessArgs(HardenedModel):
    """How a team stack reaches its cluster: Rancher's proxy, with a short-lived cluster-scoped token."""

    token_ttl_seconds: int = Field(default=8 * 3600, ge=15 * 60, le=24 * 3600)
    """Explicit TTL of the scoped token (the provider takes seconds; at most `tokenMaxTtlMinutes`, and the
    policy pack's default maximum is 24h). An expired token is replaced by the next update that refreshes
    first (the project sets `refresh: always`; docs/tokens.md)."""
    token_max_ttl_minutes: int = Field(default=DEFAULT_TOKEN_MAX_TTL_MINUTES, gt=0)
    """Rancher's `auth-token-max-ttl-minutes` (the management stack's `security.tokenMaxTtlMinutes`, same
    default). `tokenTtlSeconds` must fit: Rancher silently lowers a longer TTL, and the token (with every
    object on the team's Kubernetes provider) would then be replaced on every update."""
    certificate_authority: str | None = None
    """PEM of the private CA that signed Rancher's certificate (the management stack's `rancherCaCerts`);
    carried in the kubeconfig as `certificate-authority-data`. Unset: the team stack reads the platform
    stack's `rancherCaCerts` output, if any. Never `insecure-skip-tls-verify`."""

    @field_validator("certificate_authority")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        return pem_certificates(value, "certificateAuthority") if value is not None else None

    @model_validator(mode="after")
    def _ttl_fits_rancher_max(self) -> TeamAccessArgs:
        # Rancher lowers a longer TTL to its maximum (rancher/rancher
        # pkg/ext/stores/tokens/tokens.go:1779-1797); the provider stores the lowered value and `ttl` is
        # ForceNew (terraform-provider-rancher2 rancher2/structure_token.go:46-50, schema_token.go:66-71):
        # the token would be replaced on every update.
        limit = self.token_max_ttl_minutes * 60
        if self.token_ttl_seconds > limit:
            message = (
                f"{self.token_ttl_seconds} s exceeds tokenMaxTtlMinutes ({self.token_max_ttl_minutes} min, "
                "Rancher's auth-token-max-ttl-minutes): Rancher would silently lower it and the token, and "
                "every object on its provider, would be replaced on every update"
            )
            fix = (
                f"set it to at most {limit} (or set tokenMaxTtlMinutes to the management stack's "
                "security.tokenMaxTtlMinutes)"
            )
            raise ConfigProblems([Problem(("tokenTtlSeconds",), message, fix)])
        return self


@dataclass(frozen=True)
class ScopedKubernetes:
    token: rancher2.Token
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    """A secret."""


def proxy_server(rancher_url: str, cluster_v1_id: str) -> str:
    """Rancher's authenticated Kubernetes API proxy for a downstream cluster."""
    if not rancher_url.startswith("https://"):
        raise ValueError(f"rancherUrl {rancher_url!r} is not https (fix: use Rancher's https:// server URL)")
    if not re.match(r"^c-[a-z0-9-]+$", cluster_v1_id):
        raise ValueError(
            f"clusterV1Id {cluster_v1_id!r} is not a Rancher v1 cluster id "
            "(fix: use the platform stack's clusterV1Id output, e.g. 'c-m-abcd1234')"
        )
    return f"{rancher_url.rstrip('/')}/k8s/clusters/{cluster_v1_id}"


def render_kubeconfig(server: str, token: str, context: str, certificate_authority: str | None = None) -> str:
    cluster: dict[str, Any] = {"server": server}
    if certificate_authority:
        cluster["certificate-authority-data"] = certificate_authority_data(certificate_authority)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }
    return yaml.safe_dump(config, sort_keys=True)


def scoped_kubernetes_provider(
    name: str,
    *,
    rancher_url: pulumi.Input[str],
    cluster_v1_id: pulumi.Input[str],
    args: TeamAccessArgs | None = None,
    certificate_authority: pulumi.Input[str | None] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> ScopedKubernetes:
    """A Kubernetes provider for a team stack, authenticated by a cluster-scoped Rancher token.

    The token is minted with the rancher2 provider's credentials (the team's own `rancher2:apiUrl` /
    `rancher2:tokenKey` config or RANCHER_URL / RANCHER_TOKEN_KEY), so the team can do no more than
    Rancher lets it; all API traffic goes through Rancher's proxy (RBAC + API audit log).
    `certificate_authority` (PEM, e.g. the platform stack's `rancherCaCerts` output) is used when
    `args.certificate_authority` is unset.
    """
    args = args or TeamAccessArgs()
    if isinstance(rancher_url, str) and isinstance(cluster_v1_id, str):
        proxy_server(rancher_url, cluster_v1_id)  # plain values: reject before registering anything
    token = rancher2.Token(
        f"{name}-token",
        cluster_id=cluster_v1_id,
        ttl=args.token_ttl_seconds,
        renew=True,
        description=f"hardened-rke2 team stack {pulumi.get_project()}/{pulumi.get_stack()} ({name})",
        opts=opts,
    )
    ca: pulumi.Input[str | None] | None = args.certificate_authority or certificate_authority

    def _render(values: list[Any]) -> str:
        url, v1, value, pem = values
        # A stack output is checked like the config value (which is already normalised PEM).
        pem = pem_certificates(pem, "certificate authority (rancherCaCerts)") if pem else None
        return render_kubeconfig(proxy_server(url, v1), value, f"rancher-{v1}", pem)

    inputs = pulumi.Output.all(rancher_url, cluster_v1_id, token.token, ca)
    rendered: pulumi.Output[str] = inputs.apply(_render)
    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(rendered)
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        # A stable identity: renewing the token changes the kubeconfig but must not replace every object.
        cluster_identifier=pulumi.Output.concat("rancher-", cluster_v1_id),
        enable_server_side_apply=True,
        delete_unreachable=False,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[token])),
    )
    return ScopedKubernetes(token=token, provider=provider, kubeconfig=kubeconfig)
