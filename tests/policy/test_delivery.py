"""Fleet GitRepo / GitRepoRestriction, Istio PeerAuthentication and add-on AppV2 policies, through the
analyzer protocol with props as `apiextensions.CustomResource` / `rancher2.AppV2` send them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from blueprint.offline.analyzer import UNKNOWN, analyze_props
from tests.conftest import PACK_DIR

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
    assert run(APP, {"chartName": "istiod", "clusterId": "c", "namespace": "istio-system"}) == {}


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
