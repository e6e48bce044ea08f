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
    violations = [v for v in violations if v.policy_name != "secrets-not-in-env-vars"]  # tested below
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
