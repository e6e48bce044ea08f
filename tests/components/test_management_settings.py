"""Property tests: any accepted SecuritySettingsArgs renders settings Rancher accepts, and any value past a
floor was asked for by its named switch."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from components.management.security_settings import (
    MAX_REASONABLE_IDLE_MINUTES,
    MAX_REASONABLE_SESSION_TTL_MINUTES,
    MAX_REASONABLE_TOKEN_TTL_MINUTES,
    MIN_DELETE_HOURS,
    PASSWORD_FLOOR,
    SecuritySettingsArgs,
    rendered_settings,
)

candidates = st.fixed_dictionaries(
    {},
    optional={
        "rancherLine": st.sampled_from(["2.11", "2.12", "2.13"]),
        "tokenMaxTtlMinutes": st.integers(-5, 120_000),
        "kubeconfigTokenTtlMinutes": st.integers(-5, 120_000),
        "allowLongLivedTokens": st.booleans(),
        "sessionTtlMinutes": st.integers(-5, 5_000),
        "sessionIdleTtlMinutes": st.none() | st.integers(-5, 5_000),
        "allowLongSessions": st.booleans(),
        "passwordMinLength": st.integers(0, 64),
        "allowWeakPasswordLength": st.booleans(),
        "disableInactiveUserAfterHours": st.none() | st.integers(-5, 5_000),
        "deleteInactiveUserAfterHours": st.none() | st.integers(-5, 10_000),
    },
)


@settings(max_examples=200, deadline=None)
@given(candidates)
def test_accepted_settings_are_consistent_and_floors_need_their_switch(raw: dict[str, Any]) -> None:
    try:
        args = SecuritySettingsArgs.model_validate(raw)
    except ValidationError:
        return
    s = rendered_settings(args)
    assert all(isinstance(v, str) for v in s.values())
    max_ttl = int(s["auth-token-max-ttl-minutes"])
    assert 0 < int(s["kubeconfig-default-token-ttl-minutes"]) <= max_ttl
    assert max_ttl <= MAX_REASONABLE_TOKEN_TTL_MINUTES or args.allow_long_lived_tokens
    session = int(s["auth-user-session-ttl-minutes"])
    assert session > 0
    assert session <= MAX_REASONABLE_SESSION_TTL_MINUTES or args.allow_long_sessions
    # The idle TTL exists on every supported line: rancher/rancher pkg/settings/setting.go:159 at v2.11.0.
    idle = s["auth-user-session-idle-ttl-minutes"]
    assert 1 <= int(idle) <= session
    assert int(idle) <= MAX_REASONABLE_IDLE_MINUTES or args.allow_long_sessions
    assert int(s["password-min-length"]) >= PASSWORD_FLOOR or args.allow_weak_password_length
    # agent-tls-mode comes from the chart (CATTLE_AGENT_TLS_MODE), never from a Setting.
    assert "agent-tls-mode" not in s
    for key in ("disable-inactive-user-after", "delete-inactive-user-after"):
        if s[key] != "0":
            assert int(s[key].removesuffix("h")) * 60 >= session
    if s["delete-inactive-user-after"] != "0":
        assert int(s["delete-inactive-user-after"].removesuffix("h")) >= MIN_DELETE_HOURS


@settings(max_examples=100, deadline=None)
@given(st.integers(2, PASSWORD_FLOOR - 1))  # below 2 is a plain range error
def test_short_passwords_always_need_the_switch(length: int) -> None:
    try:
        SecuritySettingsArgs(password_min_length=length)
    except ValidationError as err:
        assert "allowWeakPasswordLength" in str(err)
    else:
        raise AssertionError(f"password-min-length {length} was accepted without allowWeakPasswordLength")


def test_idle_session_ttl_is_set_on_rancher_2_11_rancher_pkg_settings_setting_go_159_at_v2_11_0() -> None:
    for line in ("2.11", "2.12", "2.13"):
        assert (
            rendered_settings(SecuritySettingsArgs(rancher_line=line))["auth-user-session-idle-ttl-minutes"]
            == "15"
        )
    explicit = SecuritySettingsArgs.model_validate({"rancherLine": "2.11", "sessionIdleTtlMinutes": 30})
    assert rendered_settings(explicit)["auth-user-session-idle-ttl-minutes"] == "30"


def test_idle_default_never_exceeds_a_short_session_ttl() -> None:
    short = SecuritySettingsArgs.model_validate(
        {"sessionTtlMinutes": 10, "disableInactiveUserAfterHours": None}
    )
    assert rendered_settings(short)["auth-user-session-idle-ttl-minutes"] == "10"


def test_agent_tls_mode_as_a_security_setting_is_refused_with_where_it_moved() -> None:
    try:
        SecuritySettingsArgs.model_validate({"agentTlsMode": "strict"})
    except ValidationError as err:
        text = str(err)
        assert "agentTlsMode" in text and "server.agentTlsMode" in text and "405" in text
    else:
        raise AssertionError("security.agentTlsMode was accepted")
