"""Fleet GitRepo / GitRepoRestriction, Istio PeerAuthentication and add-on AppV2 policies, through the
analyzer protocol with props as `apiextensions.CustomResource` / `rancher2.AppV2` send them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from hardened_rke2.analysis.testing import UNKNOWN, analyze_props
from tests.support.paths import PACK_DIR

GITREPO = "kubernetes:fleet.cattle.io/v1alpha1:GitRepo"
RESTRICTION = "kubernetes:fleet.cattle.io/v1alpha1:GitRepoRestriction"
PA_V1 = "kubernetes:security.istio.io/v1:PeerAuthentication"
PA_V1BETA1 = "kubernetes:security.istio.io/v1beta1:PeerAuthentication"
APP = "rancher2:index/appV2:AppV2"


def run(type_: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in analyze_props(PACK_DIR, type_, props, name="r", config=config):
        out.setdefault(v.policy_name, []).append(v.message)
    return out


def gitrepo(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "repo": "https://git.example.com/platform/apps.git",
        "branch": "main",
        "paths": ["apps"],
        "clientSecretName": "git-auth",
        "correctDrift": {"enabled": True},
        "serviceAccount": "fleet-deployer",
        "insecureSkipTLSVerify": False,
        "targets": [{"clusterSelector": {"matchLabels": {"env": "prod"}}}],
    }
    base.update(spec)
    return {
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "GitRepo",
        "metadata": {"name": "apps", "namespace": "fleet-default"},
        "spec": base,
    }


@pytest.mark.parametrize(
    "repo",
    [
        "https://git.example.com/a.git",
        "ssh://git@git.example.com/a.git",
        "git@github.com:org/repo.git",
        "HTTPS://Git.Example.com/a",
    ],
)
def test_hardened_gitrepo_passes(repo: str) -> None:
    assert run(GITREPO, gitrepo(repo=repo)) == {}
    pinned = gitrepo(repo=repo, revision="v1.4.2", correctDrift={"enabled": False})
    pinned["spec"].pop("branch")
    assert run(GITREPO, pinned) == {}


@pytest.mark.parametrize(
    ("props", "policy", "part"),
    [
        (gitrepo(insecureSkipTLSVerify=True), "fleet-gitrepo-tls-verify", "insecureSkipTLSVerify is true"),
        (gitrepo(insecureSkipTLSVerify="true"), "fleet-gitrepo-tls-verify", "insecureSkipTLSVerify is true"),
        (gitrepo(repo="http://git.example.com/a.git"), "fleet-gitrepo-secure-url", "scheme http"),
        (gitrepo(repo="git://git.example.com/a.git"), "fleet-gitrepo-secure-url", "scheme git"),
        (gitrepo(repo="file:///srv/repo"), "fleet-gitrepo-secure-url", "scheme file"),
        (gitrepo(repo=""), "fleet-gitrepo-secure-url", "not set"),
        (gitrepo(helmRepoURLRegex="http://charts.*"), "fleet-gitrepo-secure-url", "plain-HTTP"),
        (gitrepo(correctDrift={"enabled": False}), "fleet-gitrepo-pinned-or-drift-corrected", "neither"),
        (gitrepo(serviceAccount=""), "fleet-gitrepo-service-account", "not set"),
    ],
)
def test_weak_gitrepo_fails(props: dict[str, Any], policy: str, part: str) -> None:
    got = run(GITREPO, props)
    assert policy in got and any(part in m for m in got[policy]), got


def test_gitrepo_levels() -> None:
    vs = analyze_props(
        PACK_DIR, GITREPO, gitrepo(insecureSkipTLSVerify=True, correctDrift={"enabled": False})
    )
    levels = {v.policy_name: v.enforcement_level for v in vs}
    assert levels == {
        "fleet-gitrepo-tls-verify": "mandatory",
        "fleet-gitrepo-pinned-or-drift-corrected": "advisory",
    }


def restriction(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "GitRepoRestriction",
        "metadata": {"name": "restriction", "namespace": "fleet-default"},
        "allowedRepoPatterns": ["^https://git\\.example\\.com/platform/.*$"],
        "allowedServiceAccounts": ["fleet-deployer"],
        "defaultServiceAccount": "fleet-deployer",
    }
    base.update(fields)
    return base


def test_restriction_scoped_passes_top_level_and_spec() -> None:
    assert run(RESTRICTION, restriction()) == {}
    under_spec = {
        "metadata": {"name": "r", "namespace": "team-a"},
        "spec": {
            "allowedRepoPatterns": ["^ssh://git@git\\.example\\.com/team-a/.*"],
            "defaultServiceAccount": "team-a-deployer",
        },
    }
    assert run(RESTRICTION, under_spec) == {}


@pytest.mark.parametrize(
    ("fields", "part"),
    [
        ({"allowedRepoPatterns": []}, "any repository"),
        ({"allowedRepoPatterns": [".*"]}, "match every repository"),
        ({"allowedRepoPatterns": ["^http://git.example.com/.*"]}, "unencrypted"),
        ({"allowedServiceAccounts": [], "defaultServiceAccount": None}, "cluster-admin identity"),
    ],
)
def test_loose_restriction_fails(fields: dict[str, Any], part: str) -> None:
    props = {k: v for k, v in restriction(**fields).items() if v is not None}
    got = run(RESTRICTION, props)
    assert any(part in m for m in got["fleet-gitrepo-restriction-scoped"]), got


def pa(mode: str | None, namespace: str = "istio-system", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(spec)
    if mode is not None:
        body["mtls"] = {"mode": mode}
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": namespace},
        "spec": body,
    }


@pytest.mark.parametrize("type_", [PA_V1, PA_V1BETA1])
def test_strict_peer_authentication_passes(type_: str) -> None:
    assert run(type_, pa("STRICT")) == {}
    # A namespace/workload policy may inherit (UNSET) from the STRICT mesh-wide one.
    assert run(type_, pa("UNSET", namespace="team-a", selector={"matchLabels": {"app": "x"}})) == {}
    assert run(type_, pa(None, namespace="team-a")) == {}


@pytest.mark.parametrize(
    ("props", "part"),
    [
        (pa("PERMISSIVE"), "PERMISSIVE"),
        (pa("DISABLE", namespace="team-a"), "DISABLE"),
        (
            pa("STRICT", namespace="team-a", portLevelMtls={"8080": {"mode": "PERMISSIVE"}}),
            "portLevelMtls[8080]",
        ),
        (pa(None), "unset"),
        (pa("UNSET"), "unset"),
        (pa(None, selector={"matchLabels": {}}), "unset"),
        (pa("OPTIONAL"), "not an Istio mTLS mode"),
    ],
)
def test_plaintext_peer_authentication_fails(props: dict[str, Any], part: str) -> None:
    got = run(PA_V1, props)
    assert any(part in m for m in got["istio-peer-authentication-strict"]), got


def neuvector_app(values: Any) -> dict[str, Any]:
    return {
        "chartName": "neuvector",
        "chartVersion": "107.0.1",
        "clusterId": "c-m-abc",
        "name": "neuvector",
        "namespace": "cattle-neuvector-system",
        "repoName": "rancher-charts",
        "values": values,
    }


def test_neuvector_bootstrap_password() -> None:
    good = yaml.safe_dump({"bootstrapPassword": "generated", "controller": {"replicas": 3}})
    assert run(APP, neuvector_app(good)) == {}
    got = run(APP, neuvector_app(yaml.safe_dump({"controller": {"replicas": 3}})))
    assert got.keys() == {"neuvector-bootstrap-password"}
    assert run(APP, neuvector_app("a: ["))["neuvector-bootstrap-password"] == [
        "values: values are not valid YAML"
    ]
    # The rendered values are unknown during a first preview (they embed a generated secret).
    vs = analyze_props(PACK_DIR, APP, neuvector_app(UNKNOWN))
    assert [v.policy_name for v in vs if v.is_preview_unknown] == ["neuvector-bootstrap-password"]
    assert not [v for v in vs if not v.is_preview_unknown]


def test_deprecated_rancher_istio() -> None:
    got = run(APP, {"chartName": "rancher-istio", "clusterId": "c", "namespace": "istio-system"})
    assert list(got) == ["addon-chart-supported"]
    istiod = run(APP, {"chartName": "istiod", "clusterId": "c", "namespace": "istio-system"})
    assert "addon-chart-supported" not in istiod  # (no values: istio-outbound-registry-only reports it)


CATALOG = "rancher2:index/catalogV2:CatalogV2"


@pytest.mark.parametrize(
    "props",
    [
        {"clusterId": "c", "name": "istio", "url": "https://istio-release.storage.googleapis.com/charts"},
        {"clusterId": "c", "name": "oci", "url": "oci://registry.example.com/charts", "insecure": False},
        {
            "clusterId": "c",
            "name": "git",
            "gitRepo": "https://git.example.com/charts.git",
            "gitBranch": "main",
        },
    ],
)
def test_catalog_over_tls_passes(props: dict[str, Any]) -> None:
    assert run(CATALOG, props) == {}


@pytest.mark.parametrize(
    ("props", "part"),
    [
        ({"url": "https://x", "insecure": True}, "insecure is true"),
        ({"url": "oci://x", "insecurePlainHttp": True}, "plain HTTP"),
        ({"url": "http://charts.example.com"}, "plain HTTP"),
        ({"gitRepo": "git://git.example.com/charts.git"}, "gitRepo"),
    ],
)
def test_insecure_catalog_fails(props: dict[str, Any], part: str) -> None:
    got = run(CATALOG, {"clusterId": "c", "name": "x", **props})
    assert any(part in m for m in got["rancher-catalog-tls"]), got


# ---------------------------------------------------------------- add-on weakenings (named settings)

NV_RULE = "kubernetes:neuvector.com/v1:NvAdmissionControlSecurityRule"
CLUSTER_OUTPUT = "kubernetes:logging.banzaicloud.io/v1beta1:ClusterOutput"
ALERTMANAGER_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"


def istiod_app(values: Any) -> dict[str, Any]:
    return {
        "chartName": "istiod",
        "chartVersion": "1.27.1",
        "name": "istiod",
        "namespace": "istio-system",
        "values": values,
    }


def test_istio_outbound_traffic_policy() -> None:
    good = yaml.safe_dump({"meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}})
    assert run(APP, istiod_app(good)) == {}
    for values, part in (
        (yaml.safe_dump({"meshConfig": {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}}), "is 'ALLOW_ANY'"),
        (yaml.safe_dump({"pilot": {"replicaCount": 2}}), "is not set (Istio's default: ALLOW_ANY)"),
    ):
        got = run(APP, istiod_app(values))
        assert got.keys() == {"istio-outbound-registry-only"}
        assert part in got["istio-outbound-registry-only"][0]
    # other charts are not istiod
    assert run(APP, {**istiod_app(yaml.safe_dump({"a": 1})), "chartName": "base"}) == {}


def nv_rule(**config: Any) -> dict[str, Any]:
    return {
        "apiVersion": "neuvector.com/v1",
        "kind": "NvAdmissionControlSecurityRule",
        "metadata": {"name": "local"},
        "spec": {
            "config": {"client_mode": "service", "enable": True, "mode": "protect", **config},
            "rules": [],
        },
    }


def test_neuvector_admission_protect() -> None:
    assert run(NV_RULE, nv_rule()) == {}
    assert "only log" in run(NV_RULE, nv_rule(mode="monitor"))["neuvector-admission-protect"][0]
    assert "is off" in run(NV_RULE, nv_rule(enable=False))["neuvector-admission-protect"][0]


def cluster_output(plugin: str, **cfg: Any) -> dict[str, Any]:
    return {
        "apiVersion": "logging.banzaicloud.io/v1beta1",
        "kind": "ClusterOutput",
        "metadata": {"name": "audit", "namespace": "cattle-logging-system"},
        "spec": {plugin: {"host": "siem.example.com", **cfg}},
    }


@pytest.mark.parametrize(
    "props",
    [
        cluster_output("syslog", transport="tls", insecure=False, verify_fqdn=True),
        cluster_output("elasticsearch", scheme="https", ssl_verify=True),
        cluster_output("splunkHec", protocol="https", insecure_ssl=False),
        cluster_output("http", tls_verify_mode="peer"),
    ],
)
def test_log_output_with_tls_verification_passes(props: dict[str, Any]) -> None:
    assert run(CLUSTER_OUTPUT, props) == {}


@pytest.mark.parametrize(
    ("props", "part"),
    [
        (cluster_output("syslog", transport="tls", insecure=True, verify_fqdn=True), "spec.syslog.insecure"),
        (cluster_output("syslog", transport="tls", verify_fqdn="false"), "spec.syslog.verify_fqdn"),
        (cluster_output("opensearch", ssl_verify=False), "spec.opensearch.ssl_verify"),
        (cluster_output("splunkHec", insecure_ssl=True), "spec.splunkHec.insecure_ssl"),
        (cluster_output("http", tls_verify_mode="none"), "spec.http.tls_verify_mode"),
    ],
)
def test_log_output_without_tls_verification_fails(props: dict[str, Any], part: str) -> None:
    got = run(CLUSTER_OUTPUT, props)
    assert got.keys() == {"log-output-tls-verified"}
    assert any(m.startswith(part) for m in got["log-output-tls-verified"])


def alertmanager_config(skip: Any) -> dict[str, Any]:
    webhook = {
        "urlSecret": {"name": "r", "key": "url"},
        "httpConfig": {"tlsConfig": {"insecureSkipVerify": skip}},
    }
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": "r", "namespace": "cattle-monitoring-system"},
        "spec": {"route": {"receiver": "hook"}, "receivers": [{"name": "hook", "webhookConfigs": [webhook]}]},
    }


def test_alert_receiver_tls() -> None:
    assert run(ALERTMANAGER_CONFIG, alertmanager_config(False)) == {}
    got = run(ALERTMANAGER_CONFIG, alertmanager_config(True))
    assert got.keys() == {"alert-receiver-tls-verified"}
    assert got["alert-receiver-tls-verified"][0].startswith(
        "spec.receivers[0].webhookConfigs[0].httpConfig.tlsConfig.insecureSkipVerify is true"
    )


RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.mark.parametrize(
    ("props", "fails"),
    [
        (
            {
                "chart": "rancher",
                "repositoryOpts": {"repo": "https://releases.rancher.com/server-charts/stable"},
            },
            False,
        ),
        ({"chart": "oci://registry.example.com/charts/app"}, False),
        ({"chart": "rancher", "repositoryOpts": {"repo": "http://charts.example.com"}}, True),
        ({"chart": "http://charts.example.com/app-1.0.0.tgz"}, True),
    ],
)
def test_helm_chart_repository_tls(props: dict[str, Any], fails: bool) -> None:
    got = run(RELEASE, {"namespace": "cattle-system", **props})
    assert ("helm-chart-repository-tls" in got) is fails, got
