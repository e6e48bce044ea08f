"""Fleet GitOps: GitRepo safe defaults and validation; GitRepoRestriction with top-level fields."""

from __future__ import annotations

import base64
from typing import Any

import pulumi_kubernetes as k8s
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from components.gitops import (
    GitOpsArgs,
    GitOpsRepo,
    GitOpsRepoArgs,
    GitRepoRestriction,
    GitRepoRestrictionArgs,
    local_cluster_provider,
    repo_transport,
)
from hardened_rke2.capture import EchoMocks

GITREPO = "kubernetes:fleet.cattle.io/v1alpha1:GitRepo"
RESTRICTION = "kubernetes:fleet.cattle.io/v1alpha1:GitRepoRestriction"
PROVIDER = "pulumi:providers:kubernetes"


def repo_args(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "payments-apps",
        "repo": "https://git.example.com/payments/deploy.git",
        "branch": "main",
        "serviceAccount": "fleet-deployer",
        "targets": [{"clusterSelector": {"env": "prod", "team": "payments"}}],
    }
    base.update(over)
    return base


def restriction_args(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "workspace": "fleet-default",
        "allowedRepoPatterns": ["^https://git\\.example\\.com/payments/"],
        "allowedServiceAccounts": ["fleet-deployer"],
        "defaultServiceAccount": "fleet-deployer",
        "allowedClientSecretNames": ["payments-git"],
        "allowedTargetNamespaces": ["payments-api", "payments-web"],
    }
    base.update(over)
    return base


def run_repo(mock_run, **over: Any):
    args = GitOpsRepoArgs.model_validate(repo_args(**over))

    def program() -> None:
        local = k8s.Provider("rancher-local", kubeconfig="offline")
        GitOpsRepo("payments", args, local)

    return mock_run(program, mocks=EchoMocks())


def test_gitrepo_safe_defaults(mock_run) -> None:
    run = run_repo(mock_run)
    repo = run.one(GITREPO)
    assert repo.inputs["metadata"] == {"name": "payments-apps", "namespace": "fleet-default"}
    spec = repo.inputs["spec"]
    assert spec["repo"].startswith("https://")
    assert spec["insecureSkipTLSVerify"] is False
    assert spec["correctDrift"] == {"enabled": True}
    assert spec["serviceAccount"] == "fleet-deployer"
    assert spec["targets"] == [{"clusterSelector": {"matchLabels": {"env": "prod", "team": "payments"}}}]
    assert spec["branch"] == "main" and "revision" not in spec
    assert spec["pollingInterval"] == "60s"
    # Created on Rancher's local cluster through the provider passed in.
    assert repo.provider is not None and repo.provider.startswith(run.one(PROVIDER).urn)
    assert run.one("hardened-rke2:gitops:GitOpsRepo").urn == repo.parent


def test_pinned_revision_secret_names_and_ca(mock_run) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    run = run_repo(
        mock_run,
        branch=None,
        revision="3f2c1a9e",
        clientSecretName="payments-git",
        helmSecretName="payments-helm",
        caBundle=pem,
        paths=["apps/api", "apps/web"],
        targetNamespace="payments-api",
    )
    spec = run.one(GITREPO).inputs["spec"]
    assert spec["revision"] == "3f2c1a9e" and "branch" not in spec
    assert spec["clientSecretName"] == "payments-git"
    assert spec["helmSecretName"] == "payments-helm"
    assert base64.b64decode(spec["caBundle"]).decode() == pem
    assert spec["paths"] == ["apps/api", "apps/web"]
    assert spec["targetNamespace"] == "payments-api"


def test_named_weakenings_are_visible(mock_run) -> None:
    spec = run_repo(mock_run, insecureSkipTlsVerify=True, correctDrift=False).one(GITREPO).inputs["spec"]
    assert spec["insecureSkipTLSVerify"] is True
    assert spec["correctDrift"] == {"enabled": False}


@pytest.mark.parametrize(
    ("over", "fragment"),
    [
        ({"repo": "http://git.example.com/x.git"}, "https://"),
        ({"repo": "git://git.example.com/x.git"}, "https://"),
        ({"repo": "file:///srv/git/x.git"}, "https://"),
        ({"repo": "ssh://git@git.example.com/x.git"}, "clientSecretName"),
        ({"repo": "git@git.example.com:team/x.git"}, "clientSecretName"),
        ({"branch": None}, "branch"),
        ({"revision": "abc"}, "both branch and revision"),
        ({"targets": []}, "targets"),
        ({"targets": [{}]}, "empty selector"),
        ({"targets": [{"clusterSelector": {}}]}, "empty selector"),
        ({"serviceAccount": None}, "serviceAccount"),
        ({"name": "Payments_Apps"}, "DNS-1123"),
        ({"caBundle": "not a pem"}, "PEM"),
        ({"pollingInterval": "often"}, "pollingInterval"),
        ({"insecureSkipTLSVerify": True}, "insecureSkipTLSVerify"),
    ],
)
def test_invalid_gitrepo(over: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        GitOpsRepoArgs.model_validate(repo_args(**over))


def test_ssh_with_known_hosts_secret_is_fine() -> None:
    args = GitOpsRepoArgs.model_validate(
        repo_args(repo="git@git.example.com:payments/deploy.git", clientSecretName="payments-ssh")
    )
    assert repo_transport(args.repo) == "ssh"


def test_cluster_group_target(mock_run) -> None:
    spec = (
        run_repo(mock_run, targets=[{"name": "prod", "clusterGroup": "prod-eu"}]).one(GITREPO).inputs["spec"]
    )
    assert spec["targets"] == [{"name": "prod", "clusterGroup": "prod-eu"}]


@settings(max_examples=150, deadline=None)
@given(
    scheme=st.sampled_from(["http", "git", "file", "ftp", "HTTPS", "rsync"]),
    rest=st.from_regex(r"[a-z0-9.-]{1,20}/[a-z0-9/_-]{0,20}", fullmatch=True),
)
def test_only_https_and_ssh_transports(scheme: str, rest: str) -> None:
    with pytest.raises(ValueError, match=r"not https:// or ssh") as info:
        repo_transport(f"{scheme}://{rest}")
    assert rest not in str(info.value)  # the URL itself is never echoed
    assert repo_transport(f"https://{rest}") == "https"
    assert repo_transport(f"ssh://{rest}") == "ssh"


@pytest.mark.parametrize(
    "repo",
    [
        "https://bob:ghp_s3cret@git.example.com/payments/deploy.git",
        "https://x-access-token:ghs_s3cret@github.com/org/repo.git",
        "http://bob:s3cret@git.example.com/payments/deploy.git",
    ],
)
def test_credentials_in_the_repo_url_are_rejected_without_echoing_them(repo: str) -> None:
    with pytest.raises(ValidationError) as info:
        GitOpsRepoArgs.model_validate(repo_args(repo=repo))
    text = str(info.value)
    assert "embeds a password or token" in text and "clientSecretName" in text
    assert "s3cret" not in text


def test_ssh_user_and_port_are_not_credentials() -> None:
    assert repo_transport("ssh://git@git.example.com:2222/payments/deploy.git") == "ssh"
    assert repo_transport("https://git.example.com:8443/payments/deploy.git") == "https"


def test_restriction_fields_are_top_level(mock_run) -> None:
    args = GitRepoRestrictionArgs.model_validate(restriction_args())

    def program() -> None:
        GitRepoRestriction("payments", args, k8s.Provider("rancher-local", kubeconfig="offline"))

    run = mock_run(program, mocks=EchoMocks())
    obj = run.one(RESTRICTION)
    inputs = obj.inputs
    assert "spec" not in inputs
    assert inputs["apiVersion"] == "fleet.cattle.io/v1alpha1" and inputs["kind"] == "GitRepoRestriction"
    assert inputs["metadata"] == {"name": "hardened-rke2", "namespace": "fleet-default"}
    assert inputs["allowedRepoPatterns"] == ["^https://git\\.example\\.com/payments/"]
    assert inputs["allowedServiceAccounts"] == ["fleet-deployer"]
    assert inputs["defaultServiceAccount"] == "fleet-deployer"
    assert inputs["allowedClientSecretNames"] == ["payments-git"]
    assert inputs["allowedTargetNamespaces"] == ["payments-api", "payments-web"]
    assert obj.provider is not None and obj.provider.startswith(run.one(PROVIDER).urn)


@pytest.mark.parametrize(
    ("over", "fragment"),
    [
        ({"allowedRepoPatterns": ["git.example.com/payments"]}, "anchored"),
        ({"allowedRepoPatterns": ["^http://git.example.com/"]}, "secure scheme"),
        ({"allowedRepoPatterns": ["^.*"]}, "secure scheme"),
        ({"allowedRepoPatterns": ["^https://(unclosed"]}, "regular expression"),
        ({"allowedRepoPatterns": []}, "allowedRepoPatterns"),
        ({"defaultServiceAccount": "root-deployer"}, "allowedServiceAccounts"),
        ({"allowedTargetNamespaces": []}, "allowedTargetNamespaces"),
        ({"workspace": "Fleet Default"}, "DNS-1123"),
    ],
)
def test_invalid_restriction(over: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        GitRepoRestrictionArgs.model_validate(restriction_args(**over))


def test_ssh_patterns_allowed() -> None:
    args = GitRepoRestrictionArgs.model_validate(
        restriction_args(allowedRepoPatterns=["^ssh://git@git\\.example\\.com/", "^git@git\\.example\\.com:"])
    )
    assert len(args.allowed_repo_patterns) == 2


def test_local_cluster_provider_uses_a_scoped_expiring_token(mock_run) -> None:
    def program() -> None:
        provider = local_cluster_provider("gitops", "https://rancher.example.com/", 24)
        GitOpsRepo("payments", GitOpsRepoArgs.model_validate(repo_args()), provider)

    mocks = EchoMocks(extra_outputs={"rancher2:index/token:Token": lambda a: {"token": "token-abc:xyz"}})
    run = mock_run(program, mocks=mocks)
    token = run.one("rancher2:index/token:Token")
    assert token.inputs["clusterId"] == "local"
    assert token.inputs["ttl"] == 24 * 3600
    assert {"token", "secretKey"} <= set(token.additional_secret_outputs)
    provider = run.one(PROVIDER)
    assert provider.is_secret("kubeconfig")
    kubeconfig = yaml.safe_load(provider.inputs["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://rancher.example.com/k8s/clusters/local"
    assert kubeconfig["users"][0]["user"]["token"] == "token-abc:xyz"
    assert run.one(GITREPO).provider.startswith(provider.urn)


def test_gitops_args_reject_duplicates() -> None:
    with pytest.raises(ValidationError, match="duplicate GitRepo"):
        GitOpsArgs.model_validate({"repos": [repo_args(), repo_args()]})
    with pytest.raises(ValidationError, match="one GitRepoRestriction per workspace"):
        GitOpsArgs.model_validate({"restrictions": [restriction_args(), restriction_args()]})
    assert GitOpsArgs().empty


def test_gitrepo_waits_for_the_workspace_restriction(mock_run) -> None:
    def program() -> None:
        local = k8s.Provider("rancher-local", kubeconfig="offline")
        restriction = GitRepoRestriction(
            "ws", GitRepoRestrictionArgs.model_validate(restriction_args()), local
        )
        GitOpsRepo(
            "payments", GitOpsRepoArgs.model_validate(repo_args()), local, after=[restriction.restriction]
        )

    run = mock_run(program, mocks=EchoMocks())
    assert run.one(RESTRICTION).urn in run.one(GITREPO).dependencies
