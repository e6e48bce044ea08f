"""Credentials for the management plane come from Pulumi secret config, never from stack YAML.

A `SecretRef` names a config key (`pulumi config set --secret hardened-rke2:<key> ...`). At deploy time a
missing key is an error naming the key and the command that fixes it. During a preview (including the
offline engine, which cannot decrypt `secure:` values) a missing key becomes an unknown secret value and
a warning, exactly like any other value that is only known at deploy time: nothing weaker is rendered.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any

import pulumi
from pydantic import field_validator

from components.model import HardenedModel
from components.problems import ConfigProblems, Problem

_KEY = re.compile(r"^(?:[A-Za-z0-9_.-]+:)?[A-Za-z][A-Za-z0-9_.-]*$")


# A required secret config value that is not set (raised at deploy time, before any resource exists) is a
# `ConfigProblems` like every other config problem; the old name stays for callers that catch it.
MissingSecretError = ConfigProblems


class SecretRef(HardenedModel):
    """A secret read from Pulumi config: `{configKey: ssoClientSecret}`."""

    config_key: str
    """Config key (optionally `project:key`) whose secret value is used; set it with `pulumi config set
    --secret <key>`."""

    @field_validator("config_key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError(
                f"{value!r} is not a Pulumi config key (use e.g. ssoClientSecret or project:key)"
            )
        return value


def _done(value: Any) -> Awaitable[Any]:
    fut: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
    fut.set_result(value)
    return fut


def unknown_secret() -> pulumi.Output[str]:
    """An Output that is unknown (preview) and secret: what an unresolved credential looks like."""
    return pulumi.Output(set(), _done(None), _done(False), _done(True))


def resolve_secret(ref: SecretRef, field_path: str) -> pulumi.Output[str]:
    """The secret value of `ref`; see the module docstring for the preview/deploy behaviour."""
    namespace, _, key = ref.config_key.rpartition(":")
    config = pulumi.Config(namespace or None)
    value = config.get_secret(key)
    if value is not None:
        return value
    full_key = f"{config.name}:{key}"
    fix = f"pulumi config set --secret {full_key} <value>"
    if pulumi.runtime.is_dry_run():
        pulumi.log.warn(
            f"{field_path}: secret config {full_key} is not set; the preview treats it as unknown and "
            f"`pulumi up` will stop until it is set (fix: {fix})"
        )
        return unknown_secret()
    raise ConfigProblems([Problem((field_path,), f"secret config {full_key} is not set", fix)])
