"""ClusterV2 and PSA-template policies, driven through the analyzer protocol with props as the engine
sends them. Each policy has a passing case (the hardened baseline) and failing mutations of it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from hardened_rke2.analysis.testing import UNKNOWN, analyze_props
from tests.support.paths import PACK_DIR
from tests.support.rancher_clusters import (
    API_ARGS,
    AUDIT_POLICY,
    GLOBAL,
    api_args,
    good_cluster,
    good_project,
    good_template,
    mutate,
    with_global,
)

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
PSACT = "rancher2:index/podSecurityAdmissionConfigurationTemplate:PodSecurityAdmissionConfigurationTemplate"

PROTECTED = {"protect": True}


def run(
    props: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    type_: str = CLUSTER,
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in analyze_props(
        PACK_DIR, type_, props, name="prod", config=config, options=PROTECTED if options is None else options
    ):
        out.setdefault(v.policy_name, []).append(v.message)
    return out


def test_hardened_baseline_passes_every_cluster_policy() -> None:
    assert run(good_cluster()) == {}


FAILING: list[tuple[str, str, dict[str, Any]]] = [
    (
        "rke2-config-readable",
        "not valid YAML",
        mutate(lambda p: p["rkeConfig"].update(machineGlobalConfig="a: [")),
    ),
    ("rke2-cis-profile", "no `profile: cis`", with_global(profile=None)),
    ("rke2-cis-profile", "obsolete", with_global(profile="cis-1.23")),
    ("rke2-cis-profile", "obsolete", with_global(profile="cis-1.6")),
    (
        "rke2-cis-profile",
        "not the CIS profile",
        mutate(lambda p: p["rkeConfig"]["machineSelectorConfigs"].append({"config": "profile: ''\n"})),
    ),
    ("rke2-secrets-encryption", "disables encryption", with_global(secrets_encryption=False)),
    ("rke2-secrets-encryption", "disables encryption", with_global(secrets_encryption="false")),
    (
        "rke2-secrets-encryption",
        "not an encrypting provider",
        with_global(secrets_encryption_provider="identity"),
    ),
    ("rke2-audit-logging", "no audit policy", with_global(audit_policy_file=None)),
    ("rke2-audit-logging", "no audit-log-path", with_global(kube_apiserver_arg=api_args("audit-log-path"))),
    (
        "rke2-audit-logging",
        "audit-log-maxage is not set",
        with_global(kube_apiserver_arg=api_args("audit-log-maxage")),
    ),
    (
        "rke2-audit-logging",
        "below the minimum of 30",
        with_global(kube_apiserver_arg=api_args("audit-log-maxage", "audit-log-maxage=7")),
    ),
    (
        "rke2-audit-logging",
        "audit-log-maxbackup is not set",
        with_global(kube_apiserver_arg=api_args("audit-log-maxbackup")),
    ),
    (
        "rke2-audit-logging",
        "audit-log-maxsize is not set",
        with_global(kube_apiserver_arg=api_args("audit-log-maxsize")),
    ),
    ("rke2-audit-logging", "kube-apiserver-arg is not set", with_global(kube_apiserver_arg=None)),
    # A control-plane selector that replaces the list drops the audit flags on those nodes.
    (
        "rke2-audit-logging",
        "machineSelectorConfigs[1].config kube-apiserver-arg: no audit-log-path",
        mutate(
            lambda p: p["rkeConfig"]["machineSelectorConfigs"].append(
                {
                    "config": yaml.safe_dump({"kube-apiserver-arg": ["tls-min-version=VersionTLS13"]}),
                    "machineLabelSelector": {"matchLabels": {"rke.cattle.io/control-plane-role": "true"}},
                }
            )
        ),
    ),
    (
        "rke2-audit-policy-content",
        "level None",
        with_global(audit_policy_file=yaml.safe_dump({"kind": "Policy", "rules": [{"level": "None"}]})),
    ),
    (
        "rke2-audit-policy-content",
        "logs secrets at RequestResponse",
        with_global(
            audit_policy_file=yaml.safe_dump({"kind": "Policy", "rules": [{"level": "RequestResponse"}]})
        ),
    ),
    (
        "rke2-audit-policy-delivered",
        "no rkeConfig.machineSelectorFiles",
        with_global(
            audit_policy_file=None,
            kube_apiserver_arg=api_args(None, "audit-policy-file=/etc/rke2/audit.yaml"),
        ),
    ),
    (
        "cluster-psa-default-template",
        "is not set",
        mutate(lambda p: p.pop("defaultPodSecurityAdmissionConfigurationTemplateName")),
    ),
    (
        "cluster-psa-default-template",
        "rancher-privileged",
        mutate(lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName="rancher-privileged")),
    ),
    (
        "cluster-psa-default-template",
        "only 'rancher-restricted' enforces restricted",
        mutate(lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName="rancher-baseline")),
    ),
    (
        "cluster-project-network-isolation",
        "enableNetworkPolicy is False",
        mutate(lambda p: p.update(enableNetworkPolicy=False)),
    ),
    (
        "cluster-project-network-isolation",
        "enableNetworkPolicy is None",
        mutate(lambda p: p.pop("enableNetworkPolicy")),
    ),
    ("rke2-cni-enforces-network-policy", "does not enforce NetworkPolicy", with_global(cni="flannel")),
    ("rke2-cni-enforces-network-policy", "does not enforce NetworkPolicy", with_global(cni="none")),
    ("rke2-cni-enforces-network-policy", "no primary CNI", with_global(cni=["multus"])),
    ("rke2-cni-enforces-network-policy", "removes the bundled CNI", with_global(disable=["rke2-canal"])),
    (
        "rke2-apiserver-authentication",
        "anonymous requests",
        with_global(kube_apiserver_arg=api_args("anonymous-auth", "anonymous-auth=true")),
    ),
    (
        "rke2-apiserver-authentication",
        "token-auth-file",
        with_global(kube_apiserver_arg=api_args(None, "token-auth-file=/etc/tokens.csv")),
    ),
    (
        "rke2-apiserver-authentication",
        "basic-auth-file",
        with_global(kube_apiserver_arg=api_args(None, "--basic-auth-file=/etc/pw.csv")),
    ),
    (
        "rke2-apiserver-authorization",
        "AlwaysAllow",
        with_global(kube_apiserver_arg=api_args("authorization-mode", "authorization-mode=AlwaysAllow")),
    ),
    (
        "rke2-apiserver-authorization",
        "missing Node",
        with_global(kube_apiserver_arg=api_args("authorization-mode", "authorization-mode=RBAC")),
    ),
    (
        "rke2-apiserver-authorization",
        "AlwaysAdmit",
        with_global(
            kube_apiserver_arg=api_args(None, "enable-admission-plugins=NodeRestriction,AlwaysAdmit")
        ),
    ),
    (
        "rke2-apiserver-insecure-port",
        "must be 0",
        with_global(kube_apiserver_arg=api_args(None, "insecure-port=8080")),
    ),
    (
        "rke2-tls-floor",
        "tls-min-version is not set",
        with_global(kube_apiserver_arg=api_args("tls-min-version")),
    ),
    (
        "rke2-tls-floor",
        "below TLS 1.2",
        with_global(kube_apiserver_arg=api_args("tls-min-version", "tls-min-version=VersionTLS11")),
    ),
    (
        "rke2-tls-floor",
        "weak suites",
        with_global(kubelet_arg=["tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA"]),
    ),
    ("rke2-kubelet-hardening", "read-only-port=10255", with_global(kubelet_arg=["read-only-port=10255"])),
    ("rke2-kubelet-hardening", "anonymous-auth=true", with_global(kubelet_arg=["anonymous-auth=true"])),
    (
        "rke2-kubelet-hardening",
        "authorization-mode=AlwaysAllow",
        with_global(kubelet_arg=["authorization-mode=AlwaysAllow"]),
    ),
    (
        "rke2-protect-kernel-defaults",
        "no machineSelectorConfigs entry",
        mutate(lambda p: p["rkeConfig"].pop("machineSelectorConfigs")),
    ),
    (
        "rke2-protect-kernel-defaults",
        "protect-kernel-defaults is False",
        with_global(protect_kernel_defaults=False),
    ),
    ("rke2-kubeconfig-file-mode", "lets group/others read", with_global(write_kubeconfig_mode="0644")),
    ("rke2-kubelet-pod-pid-limit", "pod-max-pids is not set", with_global(kubelet_arg=["read-only-port=0"])),
    (
        "cluster-authorized-endpoint",
        "without fqdn and caCerts",
        mutate(lambda p: p.update(localAuthEndpoint={"enabled": True})),
    ),
    (
        "cluster-authorized-endpoint",
        "without caCerts",
        mutate(
            lambda p: p["rkeConfig"].update(localAuthEndpoint={"enabled": True, "fqdn": "k8s.example.com"})
        ),
    ),
    (
        "cluster-kubernetes-version-supported",
        "older than the supported floor",
        mutate(lambda p: p.update(kubernetesVersion="v1.29.9+rke2r1")),
    ),
    ("cluster-kubernetes-version-supported", "not set", mutate(lambda p: p.pop("kubernetesVersion"))),
    (
        "cluster-kubernetes-version-supported",
        "not a Kubernetes version",
        mutate(lambda p: p.update(kubernetesVersion="stable")),
    ),
    (
        "rke2-etcd-snapshots",
        "disableSnapshots is true",
        mutate(lambda p: p["rkeConfig"]["etcd"].update(disableSnapshots=True)),
    ),
    (
        "rke2-etcd-snapshots",
        "keep at least one snapshot",
        mutate(lambda p: p["rkeConfig"]["etcd"].update(snapshotRetention=0.0)),
    ),
    ("rke2-etcd-snapshots", "disables etcd snapshots", with_global(etcd_disable_snapshots=True)),
    ("rke2-etcd-tls", "client-cert-auth=false", with_global(etcd_arg=["client-cert-auth=false"])),
    ("rke2-control-plane-flags", "profiling=true", with_global(kube_scheduler_arg=["profiling=true"])),
    (
        "rke2-control-plane-flags",
        "profiling=true",  # a bare boolean flag means true
        with_global(kube_apiserver_arg=api_args(None, "profiling")),
    ),
    (
        "rke2-control-plane-flags",
        "bind-address=0.0.0.0",
        with_global(kube_controller_manager_arg=["bind-address=0.0.0.0"]),
    ),
    (
        "rke2-control-plane-flags",
        "use-service-account-credentials=false",
        with_global(kube_controller_manager_arg=["use-service-account-credentials=false"]),
    ),
    (
        "rke2-control-plane-flags",
        "service-account-extend-token-expiration=true",
        with_global(kube_apiserver_arg=api_args(None, "service-account-extend-token-expiration=true")),
    ),
    (
        "rke2-control-plane-flags",
        "turns off NodeRestriction, PodSecurity admission",
        with_global(
            kube_apiserver_arg=api_args(None, "disable-admission-plugins=PodSecurity,NodeRestriction")
        ),
    ),
    (
        "rke2-control-plane-flags",
        "make-iptables-util-chains=false",
        with_global(kubelet_arg=["read-only-port=0", "make-iptables-util-chains=false"]),
    ),
    ("rke2-control-plane-flags", "etcd metrics", with_global(etcd_expose_metrics=True)),
    ("rke2-control-plane-flags", "etcd metrics", with_global(etcd_expose_metrics="true")),
    ("rke2-control-plane-flags", "enable-pprof", with_global(enable_pprof=True)),
    ("rke2-control-plane-flags", "debug", with_global(debug="true")),
    (
        "rke2-etcd-s3-tls",
        "skipSslVerify is true",
        mutate(lambda p: p["rkeConfig"]["etcd"]["s3Config"].update(skipSslVerify=True)),
    ),
    (
        "rke2-etcd-s3-tls",
        "plain HTTP",
        mutate(lambda p: p["rkeConfig"]["etcd"]["s3Config"].update(endpoint="http://minio:9000")),
    ),
    ("rke2-etcd-s3-tls", "turns off TLS", with_global(etcd_s3_skip_ssl_verify="true")),
    (
        "rke2-registries-tls",
        "is insecure",
        mutate(lambda p: p["rkeConfig"]["registries"]["configs"][0].update(insecure=True)),
    ),
    (
        "rke2-registries-tls",
        "plain HTTP",
        mutate(lambda p: p["rkeConfig"]["registries"]["mirrors"][0].update(endpoints=["http://mirror:5000"])),
    ),
]


@pytest.mark.parametrize(("policy", "part", "props"), FAILING, ids=[f"{p}:{m}" for p, m, _ in FAILING])
def test_weakened_cluster_fails_the_right_policy(policy: str, part: str, props: dict[str, Any]) -> None:
    got = run(props)
    assert policy in got, got
    assert any(part in m for m in got[policy]), got[policy]


def test_unprotected_cluster_fails() -> None:
    got = run(good_cluster(), options={"protect": False})
    assert list(got) == ["cluster-protected"]


@pytest.mark.parametrize(
    "props",
    [
        # The authorized endpoint is fine when off or fully pinned.
        mutate(lambda p: p.update(localAuthEndpoint={"enabled": False})),
        mutate(
            lambda p: p.update(
                localAuthEndpoint={"enabled": True, "fqdn": "k8s.example.com", "caCerts": "PEM"}
            )
        ),
        # Absent settings keep RKE2's hardened defaults (canal CNI, encryption on, kubelet port off).
        with_global(cni=None),
        with_global(cni=["multus", "cilium"]),
        with_global(cni="calico"),
        # Audit policy from machineSelectorFiles with the flag pointing at the delivered path.
        mutate(
            lambda p: p["rkeConfig"].update(
                machineGlobalConfig=yaml.safe_dump(
                    {
                        **{k: v for k, v in GLOBAL.items() if k != "audit-policy-file"},
                        "kube-apiserver-arg": api_args(None, "audit-policy-file=/etc/a.yaml"),
                    }
                ),
                machineSelectorFiles=[
                    {
                        "fileSources": [
                            {
                                "secret": {
                                    "name": "audit",
                                    "items": [
                                        {"key": "policy", "path": "/etc/a.yaml", "permissions": "0600"}
                                    ],
                                }
                            }
                        ]
                    }
                ],
            )
        ),
        # Audit flags only on control-plane nodes is fine when that is the only kube-apiserver-arg layer.
        mutate(
            lambda p: p["rkeConfig"].update(
                machineGlobalConfig=yaml.safe_dump(
                    {k: v for k, v in GLOBAL.items() if k != "kube-apiserver-arg"}
                ),
                machineSelectorConfigs=[
                    {"config": yaml.safe_dump({"protect-kernel-defaults": True})},
                    {
                        "config": yaml.safe_dump({"kube-apiserver-arg": API_ARGS}),
                        "machineLabelSelector": {"matchLabels": {"rke.cattle.io/control-plane-role": "true"}},
                    },
                ],
            )
        ),
        # Newer version than the floor; whole-number strings and floats for retention.
        mutate(lambda p: p.update(kubernetesVersion="v1.34.1+rke2r1")),
        mutate(lambda p: p["rkeConfig"]["etcd"].update(snapshotRetention="3")),
        # RKE2's CIS values stated explicitly, and admission plugins other than the protected ones.
        with_global(
            kube_apiserver_arg=api_args(
                None,
                "profiling=false",
                "service-account-extend-token-expiration=false",
                "disable-admission-plugins=AlwaysPullImages",
            ),
            kube_controller_manager_arg=["bind-address=127.0.0.1", "use-service-account-credentials=true"],
            kube_scheduler_arg=["bind-address=::1", "profiling=false"],
        ),
        # Debug endpoints stated as off.
        with_global(enable_pprof=False, debug=False),
    ],
)
def test_acceptable_variants_pass(props: dict[str, Any]) -> None:
    assert run(props) == {}


def test_version_floor_and_audit_age_are_configurable() -> None:
    props = mutate(lambda p: p.update(kubernetesVersion="v1.31.2+rke2r1"))
    assert "cluster-kubernetes-version-supported" not in run(props)
    got = run(props, config={"cluster-kubernetes-version-supported": {"minKubernetesVersion": "v1.33"}})
    assert "cluster-kubernetes-version-supported" in got
    strict = run(good_cluster(), config={"rke2-audit-logging": {"minAuditLogMaxAgeDays": 365}})
    assert any("below the minimum of 365" in m for m in strict["rke2-audit-logging"])


def test_unknown_config_during_preview_is_reported_not_passed() -> None:
    props = mutate(lambda p: p["rkeConfig"].update(machineGlobalConfig=UNKNOWN))
    violations = analyze_props(PACK_DIR, CLUSTER, props, name="prod", options=PROTECTED)
    unknown = {v.policy_name for v in violations if v.is_preview_unknown}
    assert "rke2-cis-profile" in unknown and "rke2-audit-logging" in unknown
    assert not [
        v
        for v in violations
        if v.is_mandatory and not v.is_preview_unknown and v.policy_name == "rke2-cis-profile"
    ]


def test_metadata_on_cluster_policies() -> None:
    violations = analyze_props(PACK_DIR, CLUSTER, with_global(profile=None), name="prod", options=PROTECTED)
    v = next(v for v in violations if v.policy_name == "rke2-cis-profile")
    assert v.enforcement_level == "mandatory" and v.severity == "high" and "NSA-5.2" in v.tags


def test_garbage_cluster_props_never_crash() -> None:
    for props in (
        {},
        {"rkeConfig": "x"},
        {"rkeConfig": {"machineSelectorConfigs": "x", "etcd": [1]}},
        {"rkeConfig": {"machineGlobalConfig": 5.0, "registries": {"configs": [None]}}},
        {"localAuthEndpoint": "on", "kubernetesVersion": 1.3},
    ):
        violations = analyze_props(PACK_DIR, CLUSTER, props, name="x", options=PROTECTED)
        assert all("could not evaluate" not in v.message for v in violations), [v.message for v in violations]


# ---------------------------------------------------------------------------------------- PSA templates


def test_good_psa_template_passes() -> None:
    assert run(good_template(), type_=PSACT, options={}) == {}


@pytest.mark.parametrize(
    ("policy", "part", "change"),
    [
        (
            "psa-template-enforces-restricted",
            "'baseline'",
            {"defaults": {"enforce": "baseline", "audit": "restricted", "warn": "restricted"}},
        ),
        (
            "psa-template-enforces-restricted",
            "'privileged' applies",
            {"defaults": {"audit": "restricted", "warn": "restricted"}},
        ),
        (
            "psa-template-audits-and-warns-restricted",
            "defaults.warn",
            {"defaults": {"enforce": "restricted", "audit": "restricted"}},
        ),
        (
            "psa-template-exemptions-justified",
            "'team-a' without a justification",
            {"exemptions": {"namespaces": ["team-a"]}},
        ),
        (
            "psa-template-exemptions-justified",
            "'ci-bot' without a justification",
            {"exemptions": {"usernames": ["ci-bot"]}},
        ),
        (
            "psa-template-exemptions-justified",
            "'kata' without a justification",
            {"exemptions": {"runtimeClasses": ["kata"]}},
        ),
        (
            "psa-template-exemptions-justified",
            "not valid YAML",
            {
                "exemptions": {"namespaces": ["kube-system"]},
                "annotations": {"psa.hardened-rke2.io/exemption-justifications": "a: ["},
            },
        ),
    ],
)
def test_weak_psa_templates_fail(policy: str, part: str, change: dict[str, Any]) -> None:
    props = copy.deepcopy(good_template())
    props.update(change)
    got = run(props, type_=PSACT, options={})
    assert policy in got and any(part in m for m in got[policy]), got


def test_psa_justification_accepts_listed_reasons() -> None:
    props = good_template()
    props["exemptions"] = {"usernames": ["ci-bot"], "runtimeClasses": ["kata"]}
    props["annotations"] = {
        "psa.hardened-rke2.io/exemption-justifications": yaml.safe_dump(
            {"usernames/ci-bot": "image builder, ticket SEC-12", "runtimeClasses/kata": "sandboxed by design"}
        )
    }
    assert run(props, type_=PSACT, options={}) == {}


def test_psa_justification_per_item_annotations_from_the_component() -> None:
    # HardenedCluster's PodSecurityTemplate writes one `hardened-rke2.io/exemption-<n>: "<value>: <reason>"`.
    props = good_template()
    props["exemptions"] = {"namespaces": ["team-gpu"], "runtimeClasses": ["nvidia"]}
    props["annotations"] = {
        "hardened-rke2.io/exemption-0": "team-gpu: GPU device plugin needs hostPath, ticket SEC-7",
        "hardened-rke2.io/exemption-1": "nvidia: vendor runtime class for GPU nodes (SEC-7)",
    }
    assert run(props, type_=PSACT, options={}) == {}
    props["annotations"]["hardened-rke2.io/exemption-1"] = "nvidia: needed"
    got = run(props, type_=PSACT, options={})
    assert [m for m in got["psa-template-exemptions-justified"] if "'nvidia'" in m]


def test_audit_policy_at_rke2_default_path_needs_no_flag() -> None:
    # HardenedCluster's `secret` delivery: the file lands at RKE2's default policy path on control planes.
    props = mutate(
        lambda p: p["rkeConfig"].update(
            machineGlobalConfig=yaml.safe_dump({k: v for k, v in GLOBAL.items() if k != "audit-policy-file"}),
            machineSelectorFiles=[
                {
                    "machineLabelSelector": {"matchLabels": {"rke.cattle.io/control-plane-role": "true"}},
                    "fileSources": [
                        {
                            "secret": {
                                "name": "audit",
                                "items": [
                                    {
                                        "key": "audit-policy.yaml",
                                        "path": "/etc/rancher/rke2/audit-policy.yaml",
                                        "permissions": "0600",
                                        "dynamic": True,
                                    }
                                ],
                            }
                        }
                    ],
                }
            ],
        )
    )
    assert run(props) == {}
    props["rkeConfig"]["machineSelectorFiles"][0]["fileSources"][0]["secret"]["items"][0]["path"] = (
        "/tmp/x.yaml"
    )
    assert any("no audit policy" in m for m in run(props)["rke2-audit-logging"])


@pytest.mark.parametrize(
    ("props", "policy", "part"),
    [
        (
            with_global(protect_kernel_default=True),
            "rke2-config-keys-known",
            "did you mean 'protect-kernel-defaults'",
        ),
        (
            mutate(
                lambda p: p["rkeConfig"]["machineSelectorConfigs"].append({"config": "kubelet-args: [x=1]\n"})
            ),
            "rke2-config-keys-known",
            "'kubelet-args' is not an RKE2 config key",
        ),
        (
            with_global(etcd_snapshot_retention=5),
            "rke2-config-values-kept",
            "'etcd-snapshot-retention' is int",
        ),
        (with_global(write_kubeconfig_mode=600), "rke2-config-values-kept", "quote it"),
        (
            with_global(audit_policy_file=AUDIT_POLICY),
            "rke2-config-values-kept",
            "'audit-policy-file' is a mapping",
        ),
        (with_global(audit_policy_file=AUDIT_POLICY), "rke2-audit-logging", "Rancher drops"),
    ],
)
def test_config_rancher_would_drop_fails(props: dict[str, Any], policy: str, part: str) -> None:
    got = run(props)
    assert policy in got and any(part in m for m in got[policy]), got


def test_extra_known_keys_are_configurable() -> None:
    props = with_global(site_specific_key="x")
    assert "rke2-config-keys-known" in run(props)
    assert run(props, config={"rke2-config-keys-known": {"extraKnownKeys": ["site-specific-key"]}}) == {}


def test_project_quotas() -> None:
    project = "rancher2:index/project:Project"
    assert run(good_project(), type_=project, options={}) == {}
    bare = {"name": "p", "clusterId": "c"}
    got = run(bare, type_=project, options={})["rancher-project-quotas"]
    assert len(got) == 3 and any("containerResourceLimit" in m for m in got)
    partial = good_project()
    del partial["resourceQuota"]["namespaceDefaultLimit"]["limitsMemory"]
    got = run(partial, type_=project, options={})["rancher-project-quotas"]
    assert got == [m for m in got if "namespaceDefaultLimit does not set limitsMemory" in m] and got


def test_cluster_policies_honour_explicit_exemptions() -> None:
    import json

    props = mutate(lambda p: p.update(enableNetworkPolicy=False))
    props["annotations"] = {
        "policy.hardened-rke2.io/exemptions": json.dumps(
            [
                {
                    "policy": "cluster-project-network-isolation",
                    "reason": "single-tenant lab cluster, ticket SEC-9",
                    "expires": "2999-12-31",
                    "approvedBy": "platform-security",
                }
            ]
        )
    }
    vs = analyze_props(PACK_DIR, CLUSTER, props, name="prod", options=PROTECTED)
    assert not [v for v in vs if v.policy_name == "cluster-project-network-isolation"]
    assert [v.enforcement_level for v in vs if v.policy_name == "exemption-applied"] == ["advisory"]
    props["annotations"] = {
        "policy.hardened-rke2.io/exemptions": json.dumps(
            [{"policy": "cluster-project-network-isolation", "reason": "old", "expires": "2000-01-01"}]
        )
    }
    vs = analyze_props(PACK_DIR, CLUSTER, props, name="prod", options=PROTECTED)
    assert [v.enforcement_level for v in vs if v.policy_name == "cluster-project-network-isolation"] == [
        "mandatory"
    ]


# Each group/other permission bit on its own: a mask narrower than 0o077 (e.g. 0o007 or 0o070) lets one of
# these through, so every bit is pinned, and owner-only modes stay allowed.
GROUP_OR_OTHER_MODES = ["0640", "0620", "0610", "0604", "0602", "0601", "0660", "0644"]


@pytest.mark.parametrize("mode", GROUP_OR_OTHER_MODES)
def test_kubeconfig_mode_with_any_group_or_other_bit_is_a_violation(mode: str) -> None:
    found = run(with_global(write_kubeconfig_mode=mode))
    assert any("lets group/others read" in m for m in found.get("rke2-kubeconfig-file-mode", [])), found


@pytest.mark.parametrize("mode", ["0600", "0400", "0700"])
def test_owner_only_kubeconfig_modes_pass(mode: str) -> None:
    assert "rke2-kubeconfig-file-mode" not in run(with_global(write_kubeconfig_mode=mode))
