"""The Rancher policies against what the real components register (captured under the mock engine as a
first preview: the cluster's v1 id is UNKNOWN), driven through the full engine sequence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.addons import AddonsArgs, ClusterAddons
from components.cluster import HardenedCluster
from hardened_rke2.analysis.testing import analyze_stack
from hardened_rke2.capture import EchoMocks, ProgramRun
from tests.support.paths import PACK_DIR

MINE = {
    "cluster-required-addons",
    "istio-mesh-strict-mtls",
    "fleet-workspace-restricted",
    "istio-peer-authentication-strict",
    "neuvector-bootstrap-password",
    "addon-chart-supported",
}
SYSLOG: dict[str, Any] = {"type": "syslog", "host": "siem.example.com"}


def cluster_args(name: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "kubernetesVersion": "v1.33.5+rke2r1",
        "production": False,
        "nodePools": [{"name": "all", "roles": ["etcd", "controlPlane", "worker"]}],
    }
    base.update(over)
    return base


def capture(
    mock_run: Callable[..., ProgramRun], clusters: dict[str, dict[str, Any] | None], **cluster_over: Any
) -> ProgramRun:
    """One HardenedCluster per entry, with ClusterAddons when the entry gives add-on config."""

    def program() -> None:
        for name, addons in clusters.items():
            c = HardenedCluster(
                name, cluster_args(name, **cluster_over), rancher_url="https://rancher.example.com"
            )
            if addons is not None:
                ClusterAddons(f"{name}-addons", AddonsArgs.model_validate(addons), c.handle)

    # EchoMocks without extra outputs: clusterV1Id is unknown, as in a real first preview.
    return mock_run(program, mocks=EchoMocks())


def test_hardened_cluster_passes_every_rancher_policy(mock_run: Callable[..., ProgramRun]) -> None:
    run = capture(mock_run, {"prod": {"auditLogging": {"output": SYSLOG}}})
    result = analyze_stack(PACK_DIR, run.resources)
    assert result.mandatory == [], [(v.policy_name, v.message) for v in result.mandatory]
    assert not result.by_policy("cluster-required-addons")


def test_audit_policy_delivered_as_a_secret_passes(mock_run: Callable[..., ProgramRun]) -> None:
    run = capture(mock_run, {"prod": None}, audit={"delivery": "secret"})
    result = analyze_stack(PACK_DIR, run.resources)
    assert result.mandatory == [], [(v.policy_name, v.message) for v in result.mandatory]
    assert not result.by_policy("rke2-audit-policy-delivered")


def test_addons_link_to_their_own_cluster_without_ids(mock_run: Callable[..., ProgramRun]) -> None:
    run = capture(
        mock_run,
        {
            "a": {"auditLogging": {"output": SYSLOG}},
            "b": {"auditLogging": {"output": SYSLOG}, "neuvector": {"enabled": False}},
        },
    )
    missing = analyze_stack(PACK_DIR, run.resources).by_policy("cluster-required-addons")
    assert [v.resource_name for v in missing] == ["b"]
    assert "threat detection" in missing[0].message and "compliance" not in missing[0].message


def test_istio_addon_brings_its_strict_peer_authentication(mock_run: Callable[..., ProgramRun]) -> None:
    run = capture(mock_run, {"mesh": {"auditLogging": {"output": SYSLOG}, "istio": {"enabled": True}}})
    result = analyze_stack(PACK_DIR, run.resources)
    assert not [v for v in result.violations if v.policy_name in MINE and not v.is_preview_unknown], [
        (v.policy_name, v.message) for v in result.violations if v.policy_name in MINE
    ]


@pytest.mark.parametrize("drop", ["kubernetes:security.istio.io/v1:PeerAuthentication"])
def test_istio_without_the_peer_authentication_fails(mock_run: Callable[..., ProgramRun], drop: str) -> None:
    run = capture(mock_run, {"mesh": {"auditLogging": {"output": SYSLOG}, "istio": {"enabled": True}}})
    kept = [r for r in run.resources if r.type != drop]
    assert len(kept) < len(run.resources), "the Istio component registers a PeerAuthentication"
    got = analyze_stack(PACK_DIR, kept).by_policy("istio-mesh-strict-mtls")
    assert got and got[0].enforcement_level == "mandatory"


# Each named RKE2 weakening with the setting it allows, and the policy that must then report the cluster.
RKE2_WEAKENINGS: dict[str, tuple[dict[str, Any], str]] = {
    "apiserverAnonymousAuth": (
        {"extraArgs": {"kube-apiserver-arg": {"anonymous-auth": "true"}}},
        "rke2-apiserver-authentication",
    ),
    "insecureAuthorizationMode": (
        {"extraArgs": {"kube-apiserver-arg": {"authorization-mode": "AlwaysAllow"}}},
        "rke2-apiserver-authorization",
    ),
    "profiling": ({"extraArgs": {"kube-scheduler-arg": {"profiling": "true"}}}, "rke2-control-plane-flags"),
    "serviceAccountTokenExtension": (
        {"extraArgs": {"kube-apiserver-arg": {"service-account-extend-token-expiration": "true"}}},
        "rke2-control-plane-flags",
    ),
    "nonLocalhostBind": (
        {"extraArgs": {"kube-controller-manager-arg": {"bind-address": "0.0.0.0"}}},
        "rke2-control-plane-flags",
    ),
    "sharedControllerCredentials": (
        {"extraArgs": {"kube-controller-manager-arg": {"use-service-account-credentials": "false"}}},
        "rke2-control-plane-flags",
    ),
    "kubeletAnonymousAuth": (
        {"extraArgs": {"kubelet-arg": {"anonymous-auth": "true"}}},
        "rke2-kubelet-hardening",
    ),
    "kubeletReadOnlyPort": (
        {"extraArgs": {"kubelet-arg": {"read-only-port": "10255"}}},
        "rke2-kubelet-hardening",
    ),
    "kubeletIptablesChains": (
        {"extraArgs": {"kubelet-arg": {"make-iptables-util-chains": "false"}}},
        "rke2-control-plane-flags",
    ),
    "etcdExposeMetrics": ({"etcdExposeMetrics": True}, "rke2-control-plane-flags"),
    "disableAdmissionPlugins": (
        {"extraArgs": {"kube-apiserver-arg": {"disable-admission-plugins": "PodSecurity"}}},
        "rke2-control-plane-flags",
    ),
    "etcdCertAuth": ({"extraArgs": {"etcd-arg": {"client-cert-auth": "false"}}}, "rke2-etcd-tls"),
    "permissiveKubeconfigMode": ({"writeKubeconfigMode": "0644"}, "rke2-kubeconfig-file-mode"),
    "debugEndpoints": ({"extraConfig": {"enable-pprof": True}}, "rke2-control-plane-flags"),
}


def test_every_rke2_weakening_has_a_case() -> None:
    from components.rke2_config import Rke2Weakenings

    assert set(RKE2_WEAKENINGS) == set(Rke2Weakenings().model_dump(by_alias=True))


@pytest.mark.parametrize("weakening", sorted(RKE2_WEAKENINGS))
def test_every_named_rke2_weakening_is_reported(mock_run: Callable[..., ProgramRun], weakening: str) -> None:
    settings, policy = RKE2_WEAKENINGS[weakening]
    run = capture(mock_run, {"prod": None}, rke2={**settings, "weakenings": {weakening: True}})
    got = [v for v in analyze_stack(PACK_DIR, run.resources).mandatory if v.resource_name == "prod"]
    assert policy in {v.policy_name for v in got}, [(v.policy_name, v.message) for v in got]


ADDON_WEAKENINGS: dict[str, tuple[dict[str, Any], str]] = {
    "addons.auditLogging.output.insecureSkipTlsVerify": (
        {"auditLogging": {"output": {**SYSLOG, "insecureSkipTlsVerify": True}}},
        "log-output-tls-verified",
    ),
    "addons.monitoring.receiver.insecureSkipTlsVerify": (
        {
            "auditLogging": {"output": SYSLOG},
            "monitoring": {
                "enabled": True,
                "receiver": {
                    "type": "webhook",
                    "url": "https://hooks.example.com/alerts",
                    "insecureSkipTlsVerify": True,
                },
            },
        },
        "alert-receiver-tls-verified",
    ),
    "addons.istio.outboundTrafficPolicy": (
        {
            "auditLogging": {"output": SYSLOG},
            "istio": {"enabled": True, "outboundTrafficPolicy": "ALLOW_ANY"},
        },
        "istio-outbound-registry-only",
    ),
    "addons.neuvector.admission.mode": (
        {"auditLogging": {"output": SYSLOG}, "neuvector": {"admission": {"mode": "monitor"}}},
        "neuvector-admission-protect",
    ),
}


@pytest.mark.parametrize("setting", sorted(ADDON_WEAKENINGS))
def test_named_addon_weakenings_are_reported(mock_run: Callable[..., ProgramRun], setting: str) -> None:
    addons, policy = ADDON_WEAKENINGS[setting]
    hardened = capture(mock_run, {"prod": {"auditLogging": {"output": SYSLOG}, "istio": {"enabled": True}}})
    assert not analyze_stack(PACK_DIR, hardened.resources).by_policy(policy)
    run = capture(mock_run, {"prod": addons})
    got = analyze_stack(PACK_DIR, run.resources).by_policy(policy)
    assert got and not any(v.is_preview_unknown for v in got), setting
