"""First contact with a fresh Rancher: set the admin password, mint a token, hand out a normal provider.

Provider chain: `rancher2.Provider(bootstrap=True)` -> `rancher2.Bootstrap` (admin password, admin token
with an explicit TTL) -> `rancher2.Provider(token_key=bootstrap.token)` used by everything else in the
management stack. A separate `rancher2.Token` (also with a TTL) is what downstream cluster stacks get.

Both tokens are renewed only by an update that refreshes first (the project sets `refresh: always`): the
bootstrap resource's refresh marks an expired token for renewal and its update mints a new one (logging in
with the stored admin password), and the refresh of an expired `rancher2.Token(renew=True)` makes the update
replace it (terraform-provider-rancher2 `resource_rancher2_bootstrap.go:118-124`,
`resource_rancher2_token.go:82-85`). See docs/tokens.md.

The bootstrap resource's id is the admin user's id, which is also the name of that user's `UserAttribute`:
the emergency account is exempted from user retention there (`disableAfter`/`deleteAfter` "0s"), as DISA's
Rancher STIG (V-252847) requires that emergency accounts are never disabled or removed automatically.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
import pulumi_rancher2 as rancher2
import pulumi_random as random
from pydantic import Field

from components.model import HardenedModel

ADMIN_USERNAME = "admin"


class RancherBootstrapArgs(HardenedModel):
    """Bootstrap settings. TTLs are seconds (the Rancher API's unit for tokens); 0 (never) is refused."""

    token_ttl_seconds: int = Field(default=86_400, gt=0)
    """The management stack's own admin token (renewed by the first refreshing update after it expired);
    at most `security.tokenMaxTtlMinutes`."""
    automation_token_ttl_seconds: int = Field(default=86_400, gt=0)
    """The token exported for downstream cluster stacks (`rancherTokenKey`); at most
    `security.tokenMaxTtlMinutes`."""
    admin_password_length: int = Field(default=32, ge=16)
    """Length of the generated emergency admin password (exported as a secret)."""
    ui_default_landing: Literal["vue", "ember"] = "vue"
    """Rancher UI default landing page (`ui-default-landing` setting)."""
    exempt_admin_from_retention: bool = True
    """Keep the emergency admin out of user retention (needs the local-cluster Kubernetes provider)."""


class UserRetentionExemption(pulumi.CustomResource):
    """Server-side-apply patch of a Rancher `UserAttribute`: retention never disables or deletes this user.

    Retained on delete (like the new-user-default patches in `roles.py`): a destroyed stack must not put the
    emergency account back under user retention by relinquishing `disableAfter`/`deleteAfter`.
    """

    def __init__(self, name: str, user_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> None:
        props = {
            "apiVersion": "management.cattle.io/v3",
            "kind": "UserAttribute",
            "metadata": {"name": user_id, "annotations": {"pulumi.com/patchForce": "true"}},
            "disableAfter": "0s",
            "deleteAfter": "0s",
        }
        retained = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
        super().__init__("kubernetes:management.cattle.io/v3:UserAttributePatch", name, props, retained)


class RancherBootstrap(pulumi.ComponentResource):
    """Bootstrap provider, `rancher2.Bootstrap`, the token provider and an automation token."""

    bootstrap_provider: rancher2.Provider
    bootstrap: rancher2.Bootstrap
    provider: rancher2.Provider
    automation_token: rancher2.Token
    api_url: str
    ca_certs: str | None
    admin_password: pulumi.Output[str]
    token: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: RancherBootstrapArgs | dict[str, Any],
        *,
        api_url: str,
        initial_password: pulumi.Input[str],
        ca_certs: str | None = None,
        insecure: bool = False,
        kubernetes_provider: pulumi.ProviderResource | None = None,
        depends_on: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args if isinstance(args, RancherBootstrapArgs) else RancherBootstrapArgs.model_validate(args)
        if not api_url.startswith("https://"):
            raise ValueError(
                f"api_url {api_url!r} must be https:// (fix: pass the Rancher server's https URL)"
            )
        super().__init__("hardened-rke2:management:RancherBootstrap", name, None, opts)
        self.api_url = api_url
        self.ca_certs = ca_certs
        child = pulumi.ResourceOptions(parent=self)

        self.bootstrap_provider = rancher2.Provider(
            f"{name}-bootstrap",
            api_url=api_url,
            bootstrap=True,
            ca_certs=ca_certs,
            insecure=insecure,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )
        password = random.RandomPassword(
            f"{name}-admin-password",
            length=args.admin_password_length,
            special=True,
            override_special="!#%*+-_=?",
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            min_special=2,
            opts=child,
        )
        self.admin_password = pulumi.Output.secret(password.result)
        self.bootstrap = rancher2.Bootstrap(
            f"{name}-admin",
            initial_password=pulumi.Output.secret(initial_password),
            password=self.admin_password,
            token_ttl=args.token_ttl_seconds,
            ui_default_landing=args.ui_default_landing,
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.bootstrap_provider, depends_on=depends_on or []
            ),
        )
        self.token = pulumi.Output.secret(self.bootstrap.token)
        # The URL is known from the hostname (not the computed `bootstrap.url`) so previews stay concrete.
        self.provider = rancher2.Provider(
            f"{name}-admin",
            api_url=api_url,
            token_key=self.token,
            ca_certs=ca_certs,
            insecure=insecure,
            opts=child,
        )
        self.automation_token = rancher2.Token(
            f"{name}-automation",
            description="hardened-rke2 cluster stacks (managed by the management stack)",
            ttl=args.automation_token_ttl_seconds,
            renew=True,
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, additional_secret_outputs=["token"]
            ),
        )
        self.retention_exemption: UserRetentionExemption | None = None
        if args.exempt_admin_from_retention and kubernetes_provider is not None:
            self.retention_exemption = UserRetentionExemption(
                f"{name}-admin-retention-exemption",
                self.bootstrap.id,
                pulumi.ResourceOptions(
                    parent=self, provider=kubernetes_provider, depends_on=[self.bootstrap]
                ),
            )
        self.register_outputs({"apiUrl": api_url})
