"""Credentials must live in Secrets: not in env literals, not in ConfigMaps (NSA-2.18)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.policy_builders import POD_TYPES, analyze, names, restricted_spec, wrap

CM = "kubernetes:core/v1:ConfigMap"


def env_pod(*env: dict[str, Any], list_name: str = "containers") -> dict[str, Any]:
    spec = restricted_spec()
    spec[list_name][0]["env"] = list(env)
    return wrap("Deployment", spec)


@pytest.mark.parametrize(
    ("env", "leaks"),
    [
        ({"name": "DB_PASSWORD", "value": "correct-horse-battery"}, True),
        ({"name": "api_key", "value": "0123456789abcdef"}, True),
        ({"name": "GITHUB_TOKEN", "value": "ghp_" + "a" * 36}, True),
        ({"name": "CONFIG", "value": "postgres://app:hunter2@db:5432/app"}, True),
        ({"name": "TLS_KEY", "value": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."}, True),
        ({"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"}, True),
        ({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}, False),
        ({"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db-password"}, False),
        ({"name": "TOKEN_TTL", "value": "3600"}, False),
        ({"name": "AUTH_ENABLED", "value": "true"}, False),
        ({"name": "DB_PASSWORD", "value": "${DB_PASSWORD}"}, False),
        ({"name": "DB_PASSWORD", "value": ""}, False),
        ({"name": "LOG_LEVEL", "value": "debug"}, False),
        ({"name": "DATABASE_URL", "value": "postgres://db:5432/app"}, False),
    ],
)
@pytest.mark.parametrize("list_name", ["containers", "initContainers", "ephemeralContainers"])
def test_env_literals(env: dict[str, Any], leaks: bool, list_name: str) -> None:
    violations = analyze(POD_TYPES["Deployment"], env_pod(env, list_name=list_name))
    assert names(violations) == ({"no-credentials-in-env"} if leaks else set())
    assert all(v.is_mandatory and list_name in v.message for v in violations)


def test_env_names_can_be_allowed() -> None:
    config = {"no-credentials-in-env": {"allowedEnvNames": ["PUBLIC_*"]}}
    assert (
        analyze(
            POD_TYPES["Deployment"],
            env_pod({"name": "PUBLIC_TOKEN", "value": "anon-readonly"}),
            config=config,
        )
        == []
    )


def configmap(data: dict[str, str] | None = None, binary: dict[str, str] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "team-a"},
    }
    if data is not None:
        props["data"] = data
    if binary is not None:
        props["binaryData"] = binary
    return props


@pytest.mark.parametrize(
    ("data", "binary", "leaks"),
    [
        ({"log-level": "info", "app.yaml": "server:\n  port: 8080\n"}, None, False),
        ({"password": "hunter2hunter2"}, None, True),
        ({"app.yaml": "db:\n  host: db\n  password: hunter2hunter2\n"}, None, True),
        ({"app.properties": "spring.datasource.password=s3cr3t\n"}, None, True),
        ({"app.yaml": "db:\n  password: ${DB_PASSWORD}\n"}, None, False),
        ({"settings.json": '{"apiKey": "{{ .Values.key }}"}'}, None, False),
        (
            {"id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"},
            None,
            True,
        ),
        ({"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}, None, False),
        ({"notes": "token rotation happens daily"}, None, False),
        (None, {"keystore.p12": "AAAA"}, True),
        (None, {"logo.png": "iVBORw0KGgo="}, False),
    ],
)
def test_configmaps(data: dict[str, str] | None, binary: dict[str, str] | None, leaks: bool) -> None:
    violations = analyze(CM, configmap(data, binary))
    assert names(violations) == ({"no-credentials-in-configmaps"} if leaks else set())


def test_configmap_keys_can_be_allowed() -> None:
    config = {"no-credentials-in-configmaps": {"allowedKeys": ["password-policy"]}}
    assert analyze(CM, configmap({"password-policy": "min-length-12"}), config=config) == []


# --- bounded time on hostile values (issue 15) -------------------------------------------------------

ADVERSARIAL = {
    "letters": "a" * 100_000,
    "url schemes": "a://" * 25_000,
    "url without password": "a://b" + ":" * 100_000,
    "slack prefix then dashes": "xoxb-aaaaaaaaaa" * 4_000 + "-" * 40_000 + ".",
    "jwt prefixes": "-eyJ" * 25_000,
    "blank lines": "\n" * 100_000,
    "assignment with inner spaces": "password: x" + " " * 100_000 + "y",
    "dash run": "-" * 100_000 + "x",
    "private key prefixes": "-----BEGIN A" * 8_000,
}


@pytest.mark.parametrize("value", ADVERSARIAL.values(), ids=list(ADVERSARIAL))
def test_credential_patterns_are_linear(value: str) -> None:
    """Before: the password-in-URL pattern took 51 s on 100,000 characters, blank lines ~47 s on 20,000."""
    import time

    from nsa_cisa import secrets

    t0 = time.perf_counter()
    secrets.value_findings(value)
    secrets._assignment_findings(value)
    assert time.perf_counter() - t0 < 2.0


def test_patterns_still_find_what_they_found() -> None:
    from nsa_cisa.secrets import _assignment_findings, value_findings

    assert value_findings("postgres://app:hunter2@db:5432/x") == ["a password in a URL"]
    assert value_findings("see https://example.com/a:b@c") == []
    assert value_findings("xoxb-1234567890-abcdef") == ["a Slack token"]
    assert value_findings("ghp_" + "a" * 36) == ["a GitHub token"]
    assert value_findings("eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4fw") == ["a JSON web token"]
    assert _assignment_findings("a: 1\n  password: hunter2   \n") == ["password"]
    assert _assignment_findings('  "apiKey" : "abc",\n') == ["apiKey"]


def test_oversized_configmap_value_says_it_was_cut() -> None:
    from nsa_cisa.secrets import MAX_SCANNED_CHARS

    big = "x" * (MAX_SCANNED_CHARS + 10) + "\npassword: hunter2\n"
    violations = analyze(CM, configmap({"app.yaml": big}))
    assert names(violations) == {"no-credentials-in-configmaps"}
    assert "only the first 1,048,576 were scanned" in violations[0].message
    leaked = "postgres://app:hunter2@db/x " + big
    assert "password in a URL" in analyze(CM, configmap({"app.yaml": leaked}))[0].message
