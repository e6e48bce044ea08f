"""Exemptions (annotation or pack config), pack-wide settings, config reconciliation like the engine's,
and the metadata every policy carries."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest
from nsa_cisa import PACK_VERSION

from hardened_rke2.analysis.errors import PolicyConfigError
from hardened_rke2.analysis.session import PolicyPackSession
from hardened_rke2.analysis.testing import analyze_props
from tests.support.paths import PACK_DIR
from tests.support.policy_builders import POD_TYPES, analyze, names, restricted_spec, wrap

ANNOTATION = "policy.hardened-rke2.io/exemptions"
TODAY = datetime.date.today()


def days(n: int) -> str:
    return (TODAY + datetime.timedelta(days=n)).isoformat()


def privileged_pod(exemptions: Any = None, **meta: Any) -> dict[str, Any]:
    spec = restricted_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    ann = None
    if exemptions is not None:
        ann = {ANNOTATION: exemptions if isinstance(exemptions, str) else json.dumps(exemptions)}
    return wrap("Deployment", spec, annotations=ann, **meta)


GOOD = {
    "policy": "pss-privileged-containers",
    "reason": "GPU driver installer needs /dev access",
    "expires": days(30),
    "approvedBy": "security@example.com",
}


def _analyze(props: dict[str, Any], config: Any = None) -> list[Any]:
    return analyze(POD_TYPES["Deployment"], props, config=config)


def test_without_exemption_the_violation_is_mandatory() -> None:
    (v,) = _analyze(privileged_pod())
    assert v.policy_name == "pss-privileged-containers" and v.is_mandatory


def test_valid_annotation_exempts_and_is_reported_as_advisory() -> None:
    violations = _analyze(privileged_pod([GOOD]))
    assert [(v.policy_name, v.enforcement_level) for v in violations] == [("exemption-applied", "advisory")]
    msg = violations[0].message
    assert "pss-privileged-containers" in msg and "GPU driver" in msg and "security@example.com" in msg
    assert days(30) in msg


def test_yaml_annotation_and_glob_policy_names() -> None:
    text = f"- policy: pss-*\n  reason: vendor appliance, tracked in SEC-123\n  expires: {days(10)}\n"
    spec_violations = _analyze(privileged_pod(text))
    assert names(spec_violations) == {"exemption-applied"}


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({**GOOD, "reason": ""}, "reason"),
        ({k: v for k, v in GOOD.items() if k != "reason"}, "reason"),
        ({k: v for k, v in GOOD.items() if k != "expires"}, "expires"),
        ({**GOOD, "expires": "next year"}, "YYYY-MM-DD"),
        ({**GOOD, "expires": days(400)}, "366 days"),
    ],
)
def test_unjustified_exemption_is_its_own_violation_and_exempts_nothing(
    record: dict[str, Any], problem: str
) -> None:
    violations = _analyze(privileged_pod([record]))
    by_name = {v.policy_name: v for v in violations}
    assert problem in by_name["exemption-must-be-justified"].message
    assert by_name["exemption-must-be-justified"].is_mandatory
    if problem != "366 days":  # an over-long but well-formed record still applies (and is flagged)
        assert by_name["pss-privileged-containers"].is_mandatory
        assert "exemption ignored" in by_name["pss-privileged-containers"].message


def test_exemption_naming_no_policy_is_flagged() -> None:
    typo = {**GOOD, "policy": "pss-privilegd-containers"}
    violations = _analyze(privileged_pod([typo]))
    by_name = {v.policy_name: v for v in violations}
    assert "names no policy" in by_name["exemption-must-be-justified"].message
    assert by_name["pss-privileged-containers"].is_mandatory
    assert "exemption-applied" not in by_name


def test_garbled_annotation_is_reported_not_crashing() -> None:
    violations = _analyze(privileged_pod("{not: [valid"))
    assert {"exemption-must-be-justified", "pss-privileged-containers"} <= names(violations)


def test_expired_exemption_no_longer_exempts() -> None:
    violations = _analyze(privileged_pod([{**GOOD, "expires": days(-1)}]))
    assert names(violations) == {"pss-privileged-containers"}
    assert "expired" in violations[0].message and violations[0].is_mandatory


def test_exemption_expiring_today_still_applies() -> None:
    assert names(_analyze(privileged_pod([{**GOOD, "expires": days(0)}]))) == {"exemption-applied"}


def test_exemption_for_another_policy_does_not_apply() -> None:
    other = {**GOOD, "policy": "read-only-root-filesystem"}
    assert names(_analyze(privileged_pod([other]))) == {"pss-privileged-containers", "exemption-applied"}


def test_pack_config_exemptions_match_resource_urn_or_name() -> None:
    record = {**GOOD, "resource": "gpu-*"}
    config = {
        "pss-privileged-containers": {"exemptions": [record]},
        "exemption-applied": {"exemptions": [record]},
    }
    violations = analyze_props(
        PACK_DIR, POD_TYPES["Deployment"], privileged_pod(), name="gpu-installer", config=config
    )
    assert [(v.policy_name, v.enforcement_level) for v in violations] == [("exemption-applied", "advisory")]
    assert "pack config" in violations[0].message
    other = analyze_props(PACK_DIR, POD_TYPES["Deployment"], privileged_pod(), name="web", config=config)
    assert names(other) == {"pss-privileged-containers"}


def test_governance_policies_cannot_be_exempted() -> None:
    records = [
        {"policy": "*", "reason": "blanket", "expires": days(30)},
        {"policy": "pss-privileged-containers"},
    ]
    assert names(_analyze(privileged_pod(records))) == {"exemption-must-be-justified", "exemption-applied"}


# ----------------------------------------------------------------------------- config like the engine's


def test_all_key_sets_levels_but_not_properties() -> None:
    props = privileged_pod()
    props["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:latest"
    violations = analyze(POD_TYPES["Deployment"], props, config={"all": "advisory"})
    assert {v.enforcement_level for v in violations} == {"advisory"}
    # Properties under "all" do not reach policies (the engine drops them).
    config = {"all": {"enforcementLevel": "mandatory", "exemptNamespaces": ["app"]}}
    assert "pss-privileged-containers" in names(analyze(POD_TYPES["Deployment"], props, config=config))


def test_per_policy_level_overrides_all() -> None:
    config = {"all": "advisory", "pss-privileged-containers": "mandatory"}
    (v,) = analyze(POD_TYPES["Deployment"], privileged_pod(), config=config)
    assert v.enforcement_level == "mandatory"
    assert (
        analyze(POD_TYPES["Deployment"], privileged_pod(), config={"pss-privileged-containers": "disabled"})
        == []
    )


@pytest.mark.parametrize(
    "config",
    [
        {"pss-privileged-containers": {"exemptNamespaces": "kube-system"}},
        {"image-tag-pinned": {"requireDigest": "yes"}},
        {"namespace-pod-security-enforced": {"minimumLevel": "privileged"}},
        {"exemption-must-be-justified": {"maxExemptionDays": -1}},
    ],
)
def test_schema_validation_rejects_bad_config(config: dict[str, Any]) -> None:
    ((policy, options),) = config.items()
    (option,) = options
    # the error names the policy and the option that is wrong, not just "some config is invalid"
    with pytest.raises(PolicyConfigError, match=rf"{re.escape(policy)}[\s\S]*{re.escape(option)}"):
        PolicyPackSession(PACK_DIR, config=config)


def test_require_digest_option() -> None:
    spec = restricted_spec()
    config = {"image-tag-pinned": {"requireDigest": True}}
    assert names(analyze(POD_TYPES["Pod"], wrap("Pod", spec), config=config)) == {"image-tag-pinned"}
    for lst in ("containers", "initContainers", "ephemeralContainers"):
        spec[lst][0]["image"] = "registry.example.com/team/app@sha256:" + "b" * 64
    assert analyze(POD_TYPES["Pod"], wrap("Pod", spec), config=config) == []


@pytest.mark.parametrize(
    ("image", "allowed"),
    [
        ("registry.example.com/team/app:1", True),
        ("registry.example.com:5000/team/app:1", False),
        ("registry.example.com.evil.io/team/app:1", False),
        ("nginx:1.27", False),
        ("docker.io/library/nginx:1.27", False),
        ("quay.io/prometheus/node-exporter:v1.8.0", True),
        ("bitnami/redis:7", True),
        ("docker.io/bitnami/redis:7", True),
    ],
)
def test_allowed_registries(image: str, allowed: bool) -> None:
    config = {
        "image-allowed-registries": {
            "allowedRegistries": ["registry.example.com", "quay.io/prometheus/", "bitnami"]
        }
    }
    spec = restricted_spec()
    spec["initContainers"][0]["image"] = image
    got = names(analyze(POD_TYPES["Job"], wrap("Job", spec), config=config))
    assert got == (set() if allowed else {"image-allowed-registries"})


def test_registry_policy_is_not_applicable_while_unconfigured() -> None:
    from hardened_rke2.analysis.testing import analyze_resource

    spec = restricted_spec()
    spec["containers"][0]["image"] = "evil.example.net/miner:1"
    result = analyze_resource(PACK_DIR, POD_TYPES["Pod"], wrap("Pod", spec))
    assert result.violations == []
    assert any(
        n.policy_name == "image-allowed-registries" and "allowedRegistries" in n.reason
        for n in result.not_applicable
    )


def test_pack_settings_reach_every_policy_that_declares_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pack: None
) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        "allowedRegistries: [registry.example.com]\nexemptNamespaces: [legacy-*]\n"
        "enforcementLevels: {pss-host-ports: advisory}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("NSA_CISA_PACK_SETTINGS", str(settings))
    spec = restricted_spec()
    spec["containers"][0]["image"] = "evil.example.net/miner:1"
    spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80}]
    violations = analyze(POD_TYPES["Pod"], wrap("Pod", spec))
    assert {(v.policy_name, v.enforcement_level) for v in violations} == {
        ("image-allowed-registries", "mandatory"),
        ("pss-host-ports", "advisory"),
    }
    # Every other policy keeps its own level although its initial config now carries properties.
    spec["containers"][0]["securityContext"]["privileged"] = True
    assert ("pss-privileged-containers", "mandatory") in {
        (v.policy_name, v.enforcement_level) for v in analyze(POD_TYPES["Pod"], wrap("Pod", spec))
    }
    # kube-system is no longer exempt: the settings replaced the default list.
    assert "pss-privileged-containers" in names(
        analyze(POD_TYPES["Pod"], wrap("Pod", spec, namespace="kube-system"))
    )
    assert "pss-privileged-containers" not in names(
        analyze(POD_TYPES["Pod"], wrap("Pod", spec, namespace="legacy-a"))
    )


def test_bad_pack_settings_stop_the_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pack: None
) -> None:
    from hardened_rke2.analysis.errors import PolicyPackLoadError

    settings = tmp_path / "settings.yaml"
    settings.write_text("allowedRegistry: [typo.example.com]\n", encoding="utf-8")
    monkeypatch.setenv("NSA_CISA_PACK_SETTINGS", str(settings))
    with pytest.raises(PolicyPackLoadError, match="allowedRegistry: unknown setting"):
        PolicyPackSession(PACK_DIR)


# ----------------------------------------------------------------------------- metadata


MINE = {
    "pss-windows-host-process",
    "pss-host-namespaces",
    "pss-privileged-containers",
    "pss-capabilities-baseline",
    "pss-host-path-volumes",
    "pss-host-ports",
    "pss-apparmor",
    "pss-selinux",
    "pss-proc-mount",
    "pss-seccomp-not-unconfined",
    "pss-sysctls",
    "pss-host-probes-lifecycle",
    "pss-restricted-volume-types",
    "pss-allow-privilege-escalation",
    "pss-run-as-non-root",
    "pss-run-as-user-not-root",
    "pss-seccomp-profile-required",
    "pss-capabilities-drop-all",
    "pss-ulimits",
    "pss-cgroup-options",
    "read-only-root-filesystem",
    "non-root-groups",
    "pod-service-account-token-not-automounted",
    "service-account-token-not-automounted",
    "container-resources",
    "image-allowed-registries",
    "image-tag-pinned",
    "namespace-name-not-reserved",
    "workload-not-in-system-namespace",
    "workload-not-in-default-namespace",
    "namespace-pod-security-enforced",
    "service-no-external-ips",
    "service-exposure-allowed",
    "ingress-tls",
    "network-policy-blocks-metadata-endpoint",
    "namespace-default-deny-network-policy",
    "namespace-limit-range",
    "namespace-resource-quota",
    "rbac-no-wildcards",
    "rbac-no-escalation-verbs",
    "rbac-no-pod-exec",
    "rbac-secrets-read-restricted",
    "rbac-no-cluster-admin-binding",
    "rbac-no-system-group-binding",
    "rbac-secret-readers-allowed",
    "no-credentials-in-env",
    "no-credentials-in-configmaps",
    "exemption-must-be-justified",
    "exemption-applied",
    "removed-api-versions",
    "no-obsolete-cluster-components",
    "sandboxed-runtime-for-sensitive-workloads",
}


def test_every_policy_carries_complete_metadata() -> None:
    session = PolicyPackSession(PACK_DIR)
    by_name = {p.name: p for p in session.policies}
    assert set(by_name) >= MINE
    for p in session.policies:
        assert p.framework.get("name") == "NSA/CISA Kubernetes Hardening Guide", p.name
        assert p.framework.get("version") == "1.2", p.name
        assert p.framework.get("reference"), p.name
        assert p.severity in {"low", "medium", "high", "critical"}, p.name
        assert p.remediation_steps and p.url.startswith("https://"), p.name
        assert p.config_schema and "exemptions" in p.config_schema["properties"], p.name
    for name in MINE - {"exemption-must-be-justified", "exemption-applied"}:
        ids = [t for t in by_name[name].tags if re.fullmatch(r"NSA-\d+\.\d+", t)]
        assert ids, name


def test_pss_policies_cover_every_restricted_check_once() -> None:
    session = PolicyPackSession(PACK_DIR)
    checks = [t.split(":", 1)[1] for p in session.policies for t in p.tags if t.startswith("pss-check:")]
    assert sorted(checks) == sorted(
        {
            "windowsHostProcess",
            "hostNamespaces",
            "privileged",
            "capabilities_baseline",
            "hostPathVolumes",
            "hostPorts",
            "appArmorProfile",
            "seLinuxOptions",
            "procMount",
            "seccompProfile_baseline",
            "sysctls",
            "hostProbesAndHostLifecycle",
            "restrictedVolumes",
            "allowPrivilegeEscalation",
            "runAsNonRoot",
            "runAsUser",
            "seccompProfile_restricted",
            "capabilities_restricted",
            "ulimits",
            "cgroupOptions",
        }
    )


def test_pack_yaml_and_code_agree_on_the_version() -> None:
    import yaml

    meta = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert meta["runtime"]["name"] == "python" and meta["description"]
    session = PolicyPackSession(PACK_DIR)
    assert session.name == "nsa-cisa-hardening" and session.version == str(meta["version"]) == PACK_VERSION


def test_example_pack_settings_are_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pack: None
) -> None:
    example = PACK_DIR / "pack-settings.example.yaml"
    monkeypatch.setenv("NSA_CISA_PACK_SETTINGS", str(example))
    session = PolicyPackSession(PACK_DIR)
    assert session.config["read-only-root-filesystem"].enforcement_level == "mandatory"
    registries = session.config["image-allowed-registries"].properties or {}
    assert registries["allowedRegistries"] == ["registry.example.com/"]
    assert session.config["pss-privileged-containers"].enforcement_level == "mandatory"
