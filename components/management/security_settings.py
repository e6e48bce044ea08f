"""Rancher global settings that bound credentials and sessions, as `rancher2.Setting` resources.

Defaults (why):
- `auth-token-max-ttl-minutes` 1440: no API token outlives a day (Rancher's own default is 90 days; 0 is
  "never expires" and is refused outright).
- `kubeconfig-default-token-ttl-minutes` 480: a downloaded kubeconfig is a working day's credential; it
  must not exceed the max TTL.
- `auth-user-session-ttl-minutes` 480 and `auth-user-session-idle-ttl-minutes` 15 (DoD SRG session-lock
  practice; must be <= the session TTL). The idle setting exists since Rancher 2.11.0 (rancher/rancher
  `pkg/settings/setting.go` at v2.11.0, line 159), so it is set on every supported line.
- `password-min-length` 15 (DoD SRG; floor 12).
- `agent-tls-mode` is NOT set here: the `rancher` chart value `agentTLSMode` (`RancherServerArgs`) becomes
  the env var `CATTLE_AGENT_TLS_MODE`, which makes the setting read-only (`source: env`); an update of it is
  answered with HTTP 405 (rancher/rancher `pkg/api/norman/customization/setting/setting.go:49-50`). The
  chart value is the one source of truth (`rancher_server.CHART_ENV_SETTINGS`).
- user retention: disable accounts after 35 days without login (DoD SRG inactive-account rule); deletion
  off by default (a deleted external user is recreated on its next login anyway). Rancher's webhook
  requires deletion >= 336h and session TTL <= both retention periods.
  DISA's Rancher STIG (V-252847) says never disable the emergency account: `RancherBootstrap` exempts the
  local admin through its `UserAttribute` (`disableAfter`/`deleteAfter` "0s").
Every value is a string: Rancher settings are strings on the wire.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_rancher2 as rancher2
from pydantic import Field, model_validator

from components.model import HardenedModel
from components.problems import ProblemList
from components.versions import DEFAULT_RANCHER_LINE, RancherLine

MAX_REASONABLE_TOKEN_TTL_MINUTES = 43_200  # 30 days
MAX_REASONABLE_SESSION_TTL_MINUTES = 960  # Rancher's default, 16 h
MAX_REASONABLE_IDLE_MINUTES = 60
PASSWORD_FLOOR = 12
MIN_DELETE_HOURS = 336  # Rancher webhook floor for delete-inactive-user-after
# Settings that moved elsewhere: old key -> (where it went, why). Reported with a fix, never ignored.
MOVED_KEYS = {
    "agentTlsMode": (
        "server.agentTlsMode",
        "the chart value sets agent-tls-mode through CATTLE_AGENT_TLS_MODE, which makes the setting "
        "read-only "
        "(Rancher answers an update with HTTP 405)",
    ),
}


class SecuritySettingsArgs(HardenedModel):
    """Hardened Rancher global settings; weakening past a floor needs the named `allow*` switch."""

    rancher_line: RancherLine = DEFAULT_RANCHER_LINE
    """Rancher release line (every setting here exists on every supported line, 2.11 and later)."""
    token_max_ttl_minutes: int = Field(default=1440, gt=0)
    """`auth-token-max-ttl-minutes`: the longest any API token may live; above 43200 (30 days) needs
    `allowLongLivedTokens`."""
    kubeconfig_token_ttl_minutes: int = Field(default=480, gt=0)
    """`kubeconfig-default-token-ttl-minutes`: TTL of tokens in kubeconfigs Rancher generates."""
    allow_long_lived_tokens: bool = False
    """Permits `tokenMaxTtlMinutes` above 30 days."""
    session_ttl_minutes: int = Field(default=480, gt=0)
    """`auth-user-session-ttl-minutes`: UI session lifetime; above 960 needs `allowLongSessions`."""
    session_idle_ttl_minutes: int | None = Field(default=None, ge=1)
    """`auth-user-session-idle-ttl-minutes` (Rancher 2.11.0 and later, i.e. every supported line): a session
    idle this long ends. Default 15 (or `sessionTtlMinutes` when shorter); above 60 needs
    `allowLongSessions`; at most `sessionTtlMinutes`."""
    allow_long_sessions: bool = False
    """Permits a session TTL above 960 minutes or an idle TTL above 60 minutes."""
    password_min_length: int = Field(default=15, ge=2, le=256)
    """`password-min-length` of local users; below 12 needs `allowWeakPasswordLength`."""
    allow_weak_password_length: bool = False
    """Permits `passwordMinLength` below 12."""
    user_retention_cron: str = "0 0 * * *"
    """`user-retention-cron`: when inactive users are disabled / deleted."""
    disable_inactive_user_after_hours: int | None = Field(default=840, gt=0)
    """35 days. null turns automatic disabling off (explicit)."""
    delete_inactive_user_after_hours: int | None = Field(default=None, gt=0)
    """`delete-inactive-user-after` in hours (at least 336); null: inactive users are not deleted."""
    user_retention_dry_run: bool = False
    """`user-retention-dry-run`: only log which users retention would disable or delete."""

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        p = ProblemList()
        for key, (target, why) in MOVED_KEYS.items():
            if key in data or _snake_key(key) in data:
                p.add((key,), f"is no longer a security setting: {why}", f"remove it and set {target}")
        p.raise_if_any()
        return data

    @model_validator(mode="after")
    def _floors(self) -> SecuritySettingsArgs:
        p = ProblemList()
        if self.token_max_ttl_minutes > MAX_REASONABLE_TOKEN_TTL_MINUTES and not self.allow_long_lived_tokens:
            p.add(
                ("tokenMaxTtlMinutes",),
                f"{self.token_max_ttl_minutes} exceeds {MAX_REASONABLE_TOKEN_TTL_MINUTES} minutes (30 days)",
                "lower it, or set allowLongLivedTokens: true",
            )
        if self.kubeconfig_token_ttl_minutes > self.token_max_ttl_minutes:
            p.add(
                ("kubeconfigTokenTtlMinutes",),
                f"{self.kubeconfig_token_ttl_minutes} > tokenMaxTtlMinutes ({self.token_max_ttl_minutes})",
                "make it <= tokenMaxTtlMinutes",
            )
        if self.session_ttl_minutes > MAX_REASONABLE_SESSION_TTL_MINUTES and not self.allow_long_sessions:
            p.add(
                ("sessionTtlMinutes",),
                f"{self.session_ttl_minutes} exceeds {MAX_REASONABLE_SESSION_TTL_MINUTES} minutes",
                "lower it, or set allowLongSessions: true",
            )
        idle = self.effective_idle_ttl_minutes
        if idle > self.session_ttl_minutes:
            # Rancher's webhook refuses it too (rancher/webhook setting validator.go:246-280).
            p.add(
                ("sessionIdleTtlMinutes",),
                f"{idle} exceeds sessionTtlMinutes {self.session_ttl_minutes} (Rancher rejects it)",
                "make it <= sessionTtlMinutes",
            )
        if idle > MAX_REASONABLE_IDLE_MINUTES and not self.allow_long_sessions:
            p.add(
                ("sessionIdleTtlMinutes",),
                f"{idle} exceeds {MAX_REASONABLE_IDLE_MINUTES} minutes",
                "lower it, or set allowLongSessions: true",
            )
        if self.password_min_length < PASSWORD_FLOOR and not self.allow_weak_password_length:
            p.add(
                ("passwordMinLength",),
                f"{self.password_min_length} is below the floor of {PASSWORD_FLOOR}",
                "use 15, or set allowWeakPasswordLength: true",
            )
        for field, hours in (
            ("disableInactiveUserAfterHours", self.disable_inactive_user_after_hours),
            ("deleteInactiveUserAfterHours", self.delete_inactive_user_after_hours),
        ):
            if hours is not None and hours * 60 < self.session_ttl_minutes:
                p.add(
                    (field,), f"{hours}h is shorter than sessionTtlMinutes (Rancher rejects it)", "raise it"
                )
        delete = self.delete_inactive_user_after_hours
        if delete is not None and delete < MIN_DELETE_HOURS:
            p.add(
                ("deleteInactiveUserAfterHours",),
                f"{delete}h is below Rancher's webhook floor of {MIN_DELETE_HOURS}h",
                f"use >= {MIN_DELETE_HOURS}",
            )
        disable = self.disable_inactive_user_after_hours
        if delete is not None and disable is not None and delete <= disable:
            p.add(
                ("deleteInactiveUserAfterHours",),
                "must be longer than disableInactiveUserAfterHours",
                "disable first, delete later",
            )
        if len(self.user_retention_cron.split()) != 5:
            p.add(("userRetentionCron",), "is not a 5-field cron expression", "e.g. '0 0 * * *'")
        p.raise_if_any()
        return self

    @property
    def effective_idle_ttl_minutes(self) -> int:
        if self.session_idle_ttl_minutes is not None:
            return self.session_idle_ttl_minutes
        return min(15, self.session_ttl_minutes)


def _snake_key(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def rendered_settings(args: SecuritySettingsArgs) -> dict[str, str]:
    """Setting name -> string value, exactly what Rancher receives."""
    settings = {
        "auth-token-max-ttl-minutes": str(args.token_max_ttl_minutes),
        "kubeconfig-default-token-ttl-minutes": str(args.kubeconfig_token_ttl_minutes),
        "auth-user-session-ttl-minutes": str(args.session_ttl_minutes),
        "password-min-length": str(args.password_min_length),
        "user-retention-cron": args.user_retention_cron,
        "user-retention-dry-run": "true" if args.user_retention_dry_run else "false",
        # Empty or 0 turns the retention step off; "0" is explicit.
        "disable-inactive-user-after": (
            f"{args.disable_inactive_user_after_hours}h" if args.disable_inactive_user_after_hours else "0"
        ),
        "delete-inactive-user-after": (
            f"{args.delete_inactive_user_after_hours}h" if args.delete_inactive_user_after_hours else "0"
        ),
        "auth-user-session-idle-ttl-minutes": str(args.effective_idle_ttl_minutes),
    }
    return dict(sorted(settings.items()))


class SecuritySettings(pulumi.ComponentResource):
    """One `rancher2.Setting` per hardened global setting, through the token provider."""

    settings: dict[str, rancher2.Setting]

    def __init__(
        self,
        name: str,
        args: SecuritySettingsArgs | dict[str, Any],
        *,
        provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args if isinstance(args, SecuritySettingsArgs) else SecuritySettingsArgs.model_validate(args)
        values = rendered_settings(args)
        super().__init__("hardened-rke2:management:SecuritySettings", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.settings = {
            key: rancher2.Setting(f"{name}-{key}", name=key, value=value, opts=child)
            for key, value in values.items()
        }
        self.register_outputs({"settings": values})
