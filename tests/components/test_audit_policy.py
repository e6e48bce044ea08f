"""The API-server audit policy: guide-aligned default, overridable but never empty, retention flags."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from pydantic import ValidationError

from components.audit_policy import AuditPolicyArgs
from tests.support.paths import REPO_ROOT
from tests.support.validation import leading_path, rejected_at

SENSITIVE = {
    ("", "secrets"),
    ("", "configmaps"),
    ("authentication.k8s.io", "tokenreviews"),
    ("", "serviceaccounts/token"),
}
READ_ONLY = {"get", "list", "watch"}


def _first_match_level(rules: list[dict], group: str, resource: str, verb: str = "create") -> str:
    """Level of the first rule matching a request from an ordinary user (rules with users/groups skipped)."""
    for rule in rules:
        if rule.get("users") or rule.get("userGroups") or rule.get("nonResourceURLs"):
            continue
        if "verbs" in rule and verb not in rule["verbs"]:
            continue
        if "resources" in rule and not any(
            r["group"] == group and resource in r.get("resources", []) for r in rule["resources"]
        ):
            continue
        return rule["level"]
    raise AssertionError("no rule matched")


def test_default_policy_is_guide_aligned() -> None:
    policy = yaml.safe_load(AuditPolicyArgs().policy_yaml())
    assert policy["apiVersion"] == "audit.k8s.io/v1" and policy["kind"] == "Policy"
    assert policy["omitStages"] == ["RequestReceived"]
    rules = policy["rules"]
    for group, resource in SENSITIVE:
        for verb in ("get", "create", "update", "delete"):
            assert _first_match_level(rules, group, resource, verb) == "Metadata", (resource, verb)
    assert _first_match_level(rules, "apps", "deployments") == "RequestResponse"
    assert (
        _first_match_level(rules, "rbac.authorization.k8s.io", "clusterrolebindings", "delete")
        == "RequestResponse"
    )
    assert rules[-1] == {"level": "RequestResponse"}


def test_only_read_only_noise_is_dropped() -> None:
    rules = AuditPolicyArgs().policy()["rules"]
    dropped = [r for r in rules if r["level"] == "None"]
    assert dropped, "noisy system traffic should be dropped"
    for rule in dropped:
        assert set(rule["verbs"]) <= READ_ONLY, rule


def test_retention_flags_are_strings_with_guide_minimums() -> None:
    flags = AuditPolicyArgs().apiserver_flags()
    assert flags == {
        "audit-log-path": "/var/lib/rancher/rke2/server/logs/audit.log",
        "audit-log-maxage": "30",
        "audit-log-maxbackup": "10",
        "audit-log-maxsize": "100",
        "audit-log-mode": "blocking-strict",
    }
    assert AuditPolicyArgs(max_age_days=365).apiserver_flags()["audit-log-maxage"] == "365"


@pytest.mark.parametrize(
    "field", [{"maxAgeDays": 29}, {"maxBackups": 1}, {"mode": "none"}, {"logPath": "audit.log"}]
)
def test_weaker_retention_is_rejected(field: dict) -> None:
    rejected_at(lambda: AuditPolicyArgs.model_validate(field), *leading_path(field))


def test_custom_rules_replace_the_default() -> None:
    rules = [
        {"level": "Metadata", "resources": [{"group": "", "resources": ["secrets"]}]},
        {"level": "Request"},
    ]
    policy = AuditPolicyArgs.model_validate({"rules": rules}).policy()
    assert policy["rules"] == rules
    assert policy["omitStages"] == ["RequestReceived"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([], "empty"),
        ([{"level": "None"}], "nothing would be logged"),
        ([{"level": "None"}, {"level": "None", "verbs": ["get"]}], "nothing would be logged"),
        ([{"level": "Everything"}], "level must be one of"),
        ([{"verbs": ["get"]}], "level must be one of"),
    ],
)
def test_custom_rules_must_log_something(rules: list, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AuditPolicyArgs.model_validate({"rules": rules})


def _render_in_fresh_interpreter(hash_seed: str) -> str:
    # A fresh process with another hash seed: set/dict iteration order that leaked into the YAML would show.
    code = (
        "from components.audit_policy import AuditPolicyArgs; print(AuditPolicyArgs().policy_yaml(), end='')"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout


def test_rendering_is_byte_identical_across_processes_and_hash_seeds() -> None:
    here = AuditPolicyArgs().policy_yaml()
    assert _render_in_fresh_interpreter("1") == here
    assert _render_in_fresh_interpreter("2") == here


def test_rendering_does_not_depend_on_the_order_keys_were_given_in() -> None:
    rule = {"level": "Metadata", "resources": [{"group": "", "resources": ["secrets"]}], "verbs": ["get"]}
    reordered = dict(reversed(list(rule.items())))
    first = AuditPolicyArgs.model_validate({"rules": [rule]}).policy_yaml()
    assert AuditPolicyArgs.model_validate({"rules": [reordered]}).policy_yaml() == first
    assert first.index("level:") < first.index("resources:") < first.index("verbs:")  # sorted keys
