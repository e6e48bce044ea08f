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
    "service-account type, no key id": '"type": "service_account", ' * 30_000,
    "connection-string passwords": ";password= " * 25_000,
    "stripe prefixes": "sk_live_" * 30_000,
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


# -- issue 11 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("list_name", ["containers", "initContainers", "ephemeralContainers"])
@pytest.mark.parametrize("kind", sorted(POD_TYPES))
def test_secrets_exposed_as_env_are_advisory(kind: str, list_name: str) -> None:
    spec = restricted_spec()
    if list_name != "containers":
        spec[list_name] = [dict(spec["containers"][0], name="side")]
    target = spec[list_name][0]
    target["env"] = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]
    target["envFrom"] = [{"secretRef": {"name": "api"}}, {"configMapRef": {"name": "settings"}}]
    found = [
        v for v in analyze(POD_TYPES[kind], wrap(kind, spec)) if v.policy_name == "secrets-not-in-env-vars"
    ]
    assert len(found) == 2
    assert all(v.enforcement_level == "advisory" and list_name in v.message for v in found)


def test_secrets_as_env_can_be_made_mandatory() -> None:
    spec = restricted_spec()
    spec["containers"][0]["envFrom"] = [{"secretRef": {"name": "api"}}]
    (v,) = analyze(POD_TYPES["Pod"], wrap("Pod", spec), config={"secrets-not-in-env-vars": "mandatory"})
    assert v.is_mandatory


def test_config_maps_without_secret_refs_pass() -> None:
    spec = restricted_spec()
    spec["containers"][0]["envFrom"] = [{"configMapRef": {"name": "settings"}}]
    ref = {"configMapKeyRef": {"name": "s", "key": "m"}}
    spec["containers"][0]["env"] = [{"name": "MODE", "valueFrom": ref}]
    assert analyze(POD_TYPES["Pod"], wrap("Pod", spec)) == []


CM = "kubernetes:core/v1:ConfigMap"


@pytest.mark.parametrize(
    ("data", "leaks"),
    [
        ({"db": "Server=db.internal;Database=app;User Id=app;Password=Tr0ub4dor&3;"}, True),
        ({"jdbc": "jdbc:sqlserver://db:1433;databaseName=app;user=app;password=Summer2026x"}, True),
        (
            {"storage": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + "Qk9v" * 22 + "==;"},
            True,
        ),
        ({"billing": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"}, True),
        ({"signing": "kR7vQ2mX9pL4wN8zT1yB6cF3hJ5dG0sA"}, True),  # a generated key under a plain name
        # ordinary configuration
        ({"db": "Server=db.internal;Database=app;User Id=app;Password=${DB_PASSWORD};"}, False),
        ({"url": "https://api.example.com/v1/items?page=2"}, False),
        ({"flags": "featureA=true\nfeatureB=false\nmaxItems=100\n"}, False),
        ({"host": "db-primary.prod.svc.cluster.local"}, False),
        (
            {
                "ca.crt": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ0aGVsbG8gd29ybGQ\n"
                "-----END CERTIFICATE-----\n"
            },
            False,
        ),
        ({"ca.b64": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lV"}, False),
        ({"digest": "sha256:" + "a3f5" * 16}, False),
        ({"id": "6f1c2d8e-4b7a-4c39-9a0e-2f5d8b7c1e44"}, False),
        ({"path": "/var/lib/app/data/cache/objects/index"}, False),
        ({"greeting": "Hello from the platform team, welcome aboard"}, False),
    ],
)
def test_config_map_credentials_by_format_and_entropy(data: dict[str, str], leaks: bool) -> None:
    props = {"metadata": {"name": "c", "namespace": "team-a"}, "data": data}
    found = {v.policy_name for v in analyze(CM, props)}
    assert found == ({"no-credentials-in-configmaps"} if leaks else set()), data


# ----------------------------------------------------------------------------- exact messages
# (mutation testing, docs/mutation-testing.md): what the user reads names the place and the finding.


def test_env_messages_name_the_container_the_variable_and_every_finding() -> None:
    env: list[Any] = [
        {"name": "DB_PASSWORD", "value": "correct-horse-battery"},
        {"name": "CONFIG", "value": "postgres://app:hunter2@db:5432/app AKIAIOSFODNN7EXAMPLE"},
        {"name": "TOKEN", "value": "<token>"},  # placeholders, numbers and durations are not credentials
        {"name": "PWD", "value": "12s"},
        {"name": "API_KEY", "value": "changeme"},
        {"name": "SECRET", "value": 5},
        "not-an-env-entry",
    ]
    violations = analyze(POD_TYPES["Deployment"], env_pod(*env, list_name="initContainers"))
    assert [v.message for v in violations] == [
        "initContainers[0] 'init': env[0] 'DB_PASSWORD' looks like a credential set as a literal value: "
        "use valueFrom.secretKeyRef",
        "initContainers[0] 'init': env[1] 'CONFIG' holds an AWS access key id, a password in a URL as a "
        "literal: use valueFrom.secretKeyRef",
    ]


def test_configmap_messages_name_the_key_and_what_it_holds() -> None:
    data = {
        "password": "hunter2hunter2",
        "id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nx",
        "app.yaml": "db:\n  password: hunter2\n  token: 'abc'\n  secret: {\n  apiKey: ${X}\n  password: x\n",
        "empty": "  ",
        "notes": "token rotation",
    }
    violations = analyze(CM, configmap(data, {"keystore.p12": "AAAA", "logo.png": "x"}))
    assert sorted(v.message for v in violations) == [
        "binaryData['keystore.p12'] looks like key material: move it to a Secret",
        "data['app.yaml'] sets ['password', 'token'] to literal values: move them to a Secret",
        "data['id_rsa'] holds a private key: move it to a Secret",
        "data['password'] looks like a credential: move it to a Secret",
    ]


def test_allowed_configmap_keys_also_cover_binary_data() -> None:
    config = {"no-credentials-in-configmaps": {"allowedKeys": ["*.p12"]}}
    assert analyze(CM, configmap(None, {"keystore.p12": "AAAA"}), config=config) == []


@pytest.mark.parametrize(
    ("value", "fields"),
    [
        ("password: hunter2", ["password"]),
        ('"apiKey": "abc123",', ["apiKey"]),
        ("token = 'x1';", ["token"]),
        ("secret: |\n  multi-line", []),  # a YAML block, not a literal
        ("secret: &anchor", []),
        ("secret: [a, b]", []),
        ("password: ${DB_PASSWORD}", []),
        ("password: '<set me>'", []),
        ("password: 'true'", []),
        ("password: 300s", []),
        ("client_secret: ***", []),
        ("secret: >-\n  folded", []),
        ("secret: *alias", []),
        ("password: X1X", ["password"]),  # not a number once quoted letters are kept
        ("token: 9X", ["token"]),
        ('"password": "${DB}",', []),  # JSON: the trailing comma is not part of the placeholder
        ("secret: '{\"a\": 1}'", []),  # a quoted nested object
        ("password: ${X}\ntoken: abc", ["token"]),  # a placeholder does not end the scan
    ],
)
def test_configmap_file_assignments(value: str, fields: list[str]) -> None:
    violations = analyze(CM, configmap({"app.conf": value}))
    expected = [f"data['app.conf'] sets {sorted(set(fields))} to literal values: move them to a Secret"]
    assert [v.message for v in violations] == (expected if fields else [])


def test_skipped_entries_do_not_hide_later_ones() -> None:
    env: list[Any] = [
        "not-an-env-entry",
        {"name": "SECRET", "value": 5},
        {"name": "PUBLIC_TOKEN", "value": "anon"},
        {"name": "DB_PASSWORD", "value": "pw-literal-123"},
    ]
    config = {"no-credentials-in-env": {"allowedEnvNames": ["PUBLIC_*"]}}
    violations = analyze(POD_TYPES["Deployment"], env_pod(*env), config=config)
    assert [v.message.split(": ", 1)[1] for v in violations] == [
        "env[3] 'DB_PASSWORD' looks like a credential set as a literal value: use valueFrom.secretKeyRef"
    ]
    # Keys arrive in the wire's (protobuf map) order, not the dict's: mix allowed and leaking keys.
    data: dict[str, Any] = {"a-count": 5}
    data.update({f"{p}-password-policy": "min 12" for p in "abcde"})
    data.update({f"{p}-password": "hunter2hunter2" for p in "vwxyz"})
    config = {"no-credentials-in-configmaps": {"allowedKeys": ["*-password-policy"]}}
    violations = analyze(CM, configmap(data), config=config)
    assert sorted(v.message for v in violations) == [
        f"data['{p}-password'] looks like a credential: move it to a Secret" for p in "vwxyz"
    ]


def test_quoted_placeholders_and_near_placeholders() -> None:
    def env_leaks(value: str) -> bool:
        return bool(analyze(POD_TYPES["Deployment"], env_pod({"name": "API_TOKEN", "value": value})))

    assert not env_leaks('"${API_TOKEN}"')
    assert not env_leaks("'<token>'")
    assert env_leaks("X2024X")  # letters around a number: not a number
    assert env_leaks("9X")


def test_configmap_value_with_two_findings_and_multi_line_named_values() -> None:
    both = "-----BEGIN PRIVATE KEY-----\nAKIAIOSFODNN7EXAMPLE\n"
    assert [v.message for v in analyze(CM, configmap({"bundle": both}))] == [
        "data['bundle'] holds a private key, an AWS access key id: move it to a Secret"
    ]
    # A multi-line value is a file: judged by what it assigns, not by its key's name.
    assert analyze(CM, configmap({"password": "first line\nsecond line"})) == []
    assert len(analyze(CM, configmap({"password": "rotate: weekly\npassword: hunter2"}))) == 1
