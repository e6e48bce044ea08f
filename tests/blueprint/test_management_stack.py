"""The management stack: the example config, the stack program's outputs, config errors, and the pack."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.config import StackConfigError, load_stack_config
from blueprint.management import ManagementStackConfig, build_management_stack
from hardened_rke2.capture import EchoMocks, ProgramRun, plain

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
EXAMPLE = REPO / "stacks" / "Pulumi.management.yaml"
MOCKS = EchoMocks(
    extra_outputs={
        "random:index/randomPassword:RandomPassword": lambda a: {"result": f"pw-{a.name}"},
        "rancher2:index/bootstrap:Bootstrap": lambda a: {"token": "token-admin:abc"},
        "rancher2:index/token:Token": lambda a: {"token": "token-automation:xyz"},
    }
)


def example_values() -> dict[str, Any]:
    raw = yaml.safe_load(EXAMPLE.read_text())["config"]
    return {k.removeprefix("hardened-rke2:"): v for k, v in raw.items()}


def run_stack(mock_run: Any, values: dict[str, Any], secrets: dict[str, str] | None = None) -> ProgramRun:
    config = load_stack_config(values)
    assert isinstance(config, ManagementStackConfig)
    return mock_run(lambda: build_management_stack(config), mocks=MOCKS, config=secrets or {})


def test_example_stack_is_a_valid_management_stack() -> None:
    config = load_stack_config(example_values())
    assert isinstance(config, ManagementStackConfig)
    assert config.management.rancher_line == config.rancher.line == "2.13"
    assert config.management.security.rancher_line == "2.13"
    assert config.management.sso.access_mode == "restricted"


def test_example_stack_file_holds_no_secret_values() -> None:
    raw = yaml.safe_load(EXAMPLE.read_text())["config"]
    text = yaml.safe_dump(raw)
    assert "secure" not in text
    for key in ("ssoClientSecret", "managementKubeconfig"):
        assert f"hardened-rke2:{key}" not in raw


def test_secret_config_keys_are_not_schema_errors() -> None:
    values = {**example_values(), "ssoClientSecret": "s3cret", "managementKubeconfig": "apiVersion: v1"}
    assert isinstance(load_stack_config(values), ManagementStackConfig)
    with pytest.raises(StackConfigError, match="unrelatedKey"):
        load_stack_config({**example_values(), "unrelatedKey": 1})


def test_outputs_for_cluster_stacks_and_operators(mock_run: Any) -> None:
    run = run_stack(mock_run, example_values(), {"hardened-rke2:ssoClientSecret": "s3cret"})
    out = run.stack_outputs
    assert plain(out["rancherApiUrl"]) == "https://rancher.example.com"
    assert plain(out["rancherLine"]) == "2.13"
    assert plain(out["newUserDefaultRole"]) == "user-base"
    assert plain(out["authAccessMode"]) == "restricted"
    assert plain(out["securitySettings"])["password-min-length"] == "15"
    for key in ("rancherTokenKey", "emergencyAdminPassword"):
        assert out[key]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270", key
    assert plain(out["rancherTokenKey"]) == "token-automation:xyz"
    assert "rancherCaCerts" not in out  # letsEncrypt: a public CA, nothing to pin
    ids = plain(out["roleTemplateIds"])
    assert set(ids) == {"team-developer", "team-viewer", "cluster-auditor"}
    assert (
        ids["team-developer"]
        == run.one("rancher2:index/roleTemplate:RoleTemplate", "management-roles-team-developer").id
    )


def test_private_ca_is_exported_for_cluster_stacks(mock_run: Any) -> None:
    values = example_values()
    pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----"
    values["management"]["server"]["tls"] = {"source": "secret", "privateCaCertificate": pem}
    run = run_stack(mock_run, values)
    assert plain(run.stack_outputs["rancherCaCerts"]) == pem
    providers = run.of_type("pulumi:providers:rancher2")
    assert {p.inputs["caCerts"] for p in providers} == {pem}


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("security", "passwordMinLength"), 8, "management.security.passwordMinLength"),
        (("security", "tokenMaxTtlMinutes"), 0, "management.security.tokenMaxTtlMinutes"),
        (("server", "replicas"), 1, "management.server.replicas"),
        (("server", "auditLog", "level"), 1, "management.server.auditLog.level"),
        (("sso", "accessMode"), "open", "management.sso.accessMode"),
        (
            ("roles", "platformAdminGroups"),
            ["okta_group://admins"],
            "management.roles.platformAdminGroups[0]",
        ),
    ],
)
def test_invalid_config_lists_the_yaml_path(path: tuple[str, ...], value: Any, expected: str) -> None:
    values = copy.deepcopy(example_values())
    node = values["management"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(StackConfigError) as err:
        load_stack_config(values)
    assert any(p.startswith(expected) and "(fix:" in p for p in err.value.problems), err.value.problems


def test_line_conflict_is_reported() -> None:
    values = copy.deepcopy(example_values())
    values["management"]["rancherLine"] = "2.11"
    with pytest.raises(StackConfigError, match=r"differs from rancher\.line"):
        load_stack_config(values)


# ------------------------------------------------------------------------------ the policy pack


def _pack_available() -> bool:
    try:
        from hardened_rke2.analysis import testing as analyzer
    except ImportError:
        return False
    return hasattr(analyzer, "analyze_props") and (PACK / "PulumiPolicy.yaml").is_file()


needs_pack = pytest.mark.skipif(not _pack_available(), reason="policy pack / offline analyzer not present")


def mandatory_violations(run: ProgramRun) -> list[str]:
    from hardened_rke2.analysis.testing import analyze_props

    found = []
    for r in run.resources:
        if not r.custom or r.type.startswith("pulumi:"):
            continue
        for v in analyze_props(PACK, r.type, r.inputs, name=r.name):
            if v.is_mandatory:
                found.append(f"{v.policy_name}:{r.name}")
    return found


@needs_pack
def test_example_passes_the_pack_offline() -> None:
    from hardened_rke2.preview import preview_project

    result = preview_project(REPO, "management", policy_packs=[PACK])
    assert result.status == "ok", result.problems
    assert not result.has_mandatory, [(v.policy_name, v.resource_name, v.message) for v in result.violations]
    assert result.exit_code == 0
    types = {r.type for r in result.resources}
    assert "kubernetes:helm.sh/v3:Release" in types and "rancher2:index/bootstrap:Bootstrap" in types


def _weaken(values: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    values = copy.deepcopy(values)
    node = values["management"]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return values


@needs_pack
@pytest.mark.parametrize(
    ("changes", "policy"),
    [
        ({("server", "auditLog", "enabled"): False}, "audit"),
        ({("server", "auditLog", "level"): 1, ("server", "auditLog", "allowLowAuditLevel"): True}, "audit"),
        ({("server", "replicas"): 1, ("server", "allowReducedAvailability"): True}, "replicas"),
        ({("sso", "accessMode"): "unrestricted"}, "access"),
        ({("security", "passwordMinLength"): 8, ("security", "allowWeakPasswordLength"): True}, "settings"),
        (
            {("security", "tokenMaxTtlMinutes"): 100_000, ("security", "allowLongLivedTokens"): True},
            "settings",
        ),
    ],
)
def test_weakened_variants_fail_the_pack(
    mock_run: Any, changes: dict[tuple[str, ...], Any], policy: str
) -> None:
    assert mandatory_violations(run_stack(mock_run, example_values())) == []
    values = example_values()
    for path, value in changes.items():
        values = _weaken(values, path, value)
    found = mandatory_violations(run_stack(mock_run, values))
    assert found, "the weakened stack passed the pack"
    assert any(policy in f for f in found), found


@needs_pack
@pytest.mark.parametrize(
    ("changes", "policy"),
    [
        (
            {("server", "tls"): {"source": "rancher", "allowUnverifiedBootstrapTls": True}},
            "rancher-provider-tls",
        ),
        (
            {
                ("sso",): {
                    "provider": "openLdap",
                    "servers": ["ldap.example.com"],
                    "serviceAccountDistinguishedName": "cn=rancher,dc=example,dc=com",
                    "userSearchBase": "dc=example,dc=com",
                    "testUsername": "rancher-test",
                    "tls": False,
                    "allowPlaintextLdap": True,
                    "accessMode": "restricted",
                    "allowedPrincipalIds": ["openldap_group://rancher-users"],
                },
                ("roles",): {
                    "platformAdminGroups": ["openldap_group://platform-admins"],
                    "auditorGroups": ["openldap_group://security-auditors"],
                },
            },
            "rancher-auth-ldap-tls",
        ),
    ],
)
def test_transport_weakenings_fail_the_pack(
    mock_run: Any, changes: dict[tuple[str, ...], Any], policy: str
) -> None:
    """Weakenings that land on the rancher2 provider or an LDAP auth config (providers included here)."""
    from hardened_rke2.analysis.testing import analyze_props

    def found(run: ProgramRun) -> set[str]:
        return {
            v.policy_name
            for r in run.resources
            if r.custom
            for v in analyze_props(PACK, r.type, r.inputs, name=r.name)
            if v.is_mandatory
        }

    assert policy not in found(run_stack(mock_run, example_values()))
    values = example_values()
    for path, value in changes.items():
        values = _weaken(values, path, value)
    assert policy in found(run_stack(mock_run, values))


def test_a_secret_written_inline_is_rejected_with_the_secret_config_fix() -> None:
    values = copy.deepcopy(example_values())
    values["management"]["sso"]["clientSecret"] = "inline-s3cret"
    with pytest.raises(StackConfigError) as err:
        load_stack_config(values)
    (problem,) = err.value.problems
    assert problem.startswith("management.sso.clientSecret: ")
    assert "pulumi config set --secret" in problem and "{configKey: " in problem
    assert "inline-s3cret" not in problem
