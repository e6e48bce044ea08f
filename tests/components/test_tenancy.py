"""TeamTenancy: every hardened property of a tenant space, read from what the engine would receive."""

from __future__ import annotations

import gc
import ipaddress
import json
from decimal import Decimal
from typing import Any

import pulumi
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.runtime.mocks import MockResourceArgs

from components.tenancy import (
    METADATA_ENDPOINTS,
    ContainerResourcesArgs,
    NamespacePodSecurityArgs,
    QuotaArgs,
    TeamAccessArgs,
    TeamConfigError,
    TeamNamespaceArgs,
    TeamTenancy,
    TeamTenancyArgs,
    parse_quantity,
    parse_team_args,
    scoped_kubernetes_provider,
)
from hardened_rke2.capture import UNKNOWN, EchoMocks, ProgramRun
from tests.support.tenancy import FLEET, GITREPO

V1 = "c-m-abc12345"
PROJECT_ID = f"{V1}:p-team1"
NS = "kubernetes:core/v1:Namespace"
NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RQ = "kubernetes:core/v1:ResourceQuota"
LR = "kubernetes:core/v1:LimitRange"
SA = "kubernetes:core/v1:ServiceAccountPatch"
PROJECT = "rancher2:index/project:Project"
PRTB = "rancher2:index/projectRoleTemplateBinding:ProjectRoleTemplateBinding"
ROLE = "rancher2:index/roleTemplate:RoleTemplate"
TOKEN = "rancher2:index/token:Token"
K8S_PROVIDER = "pulumi:providers:kubernetes"


class RancherMocks(EchoMocks):
    """Echo mocks where Rancher assigns project ids (`<cluster>:<project>`) and token values."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        rid, outputs = super().new_resource(args)
        if args.typ == PROJECT:
            rid = PROJECT_ID
        if args.typ == TOKEN:
            outputs["token"] = "token-xyz:secret"
        return rid, outputs


def team(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"team": "payments", "namespaces": [{"name": "payments-api"}]}
    config.update(overrides)
    return config


def run_tenancy(mock_run, config: dict[str, Any] | TeamTenancyArgs) -> ProgramRun:
    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "team-k8s", {})
        TeamTenancy("payments", config, cluster_v1_id=V1, kubernetes_provider=provider)

    return mock_run(program, mocks=RancherMocks())


def in_namespace(run: ProgramRun, type_: str, namespace: str) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs
        for r in run.of_type(type_)
        if r.inputs["metadata"]["namespace"] == namespace
    }


# --- one namespace ---------------------------------------------------------------------------------------


def test_project_on_the_cluster_with_quota_and_container_defaults(mock_run) -> None:
    run = run_tenancy(mock_run, team())
    project = run.one(PROJECT).inputs
    assert project["clusterId"] == V1
    assert project["name"] == "payments"
    limit = project["resourceQuota"]["projectLimit"]
    assert limit == {
        "limitsCpu": "8",
        "limitsMemory": "16Gi",
        "requestsCpu": "4",
        "requestsMemory": "8Gi",
        "pods": "100",
        "servicesLoadBalancers": "0",
        "servicesNodePorts": "0",
    }
    assert set(project["resourceQuota"]["namespaceDefaultLimit"]) == set(limit)
    assert project["containerResourceLimit"] == {
        "limitsCpu": "500m",
        "limitsMemory": "512Mi",
        "requestsCpu": "100m",
        "requestsMemory": "128Mi",
    }


def test_namespace_restricted_psa_and_project_membership(mock_run) -> None:
    run = run_tenancy(mock_run, team())
    ns = run.one(NS).inputs["metadata"]
    assert ns["name"] == "payments-api"
    for mode in ("enforce", "audit", "warn"):
        assert ns["labels"][f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert ns["labels"][f"pod-security.kubernetes.io/{mode}-version"] == "latest"
    assert ns["annotations"]["field.cattle.io/projectId"] == PROJECT_ID
    # Rancher's own namespace quota / container defaults match the explicit objects.
    assert json.loads(ns["annotations"]["field.cattle.io/resourceQuota"])["limit"]["limitsCpu"] == "4"
    assert (
        json.loads(ns["annotations"]["field.cattle.io/containerDefaultResourceLimit"])["limitsMemory"]
        == "512Mi"
    )


def test_resource_quota_and_limit_range(mock_run) -> None:
    run = run_tenancy(mock_run, team())
    quota = in_namespace(run, RQ, "payments-api")["team-quota"]["spec"]["hard"]
    assert quota == {
        "limits.cpu": "4",
        "limits.memory": "8Gi",
        "requests.cpu": "2",
        "requests.memory": "4Gi",
        "pods": "50",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    (limits,) = in_namespace(run, LR, "payments-api")["team-limits"]["spec"]["limits"]
    assert limits["type"] == "Container"
    assert limits["default"] == {"cpu": "500m", "memory": "512Mi"}
    assert limits["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}
    assert limits["max"] == {"cpu": "2", "memory": "4Gi"}


def test_default_service_account_token_automount_off(mock_run) -> None:
    run = run_tenancy(mock_run, team())
    patch = run.one(SA).inputs
    assert patch["metadata"] == {"name": "default", "namespace": "payments-api"}
    assert patch["automountServiceAccountToken"] is False


def test_default_deny_then_dns_and_same_namespace(mock_run) -> None:
    run = run_tenancy(mock_run, team())
    policies = {name: p["spec"] for name, p in in_namespace(run, NP, "payments-api").items()}
    assert set(policies) == {"default-deny-all", "allow-dns-egress", "allow-same-namespace"}
    deny = policies["default-deny-all"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies["allow-dns-egress"]
    assert dns["policyTypes"] == ["Egress"] and "ingress" not in dns
    (rule,) = dns["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]
    same = policies["allow-same-namespace"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert same["egress"] == [{"to": [{"podSelector": {}}]}]


def test_ingress_controller_allowance_only_when_configured(mock_run) -> None:
    config = team(
        namespaces=[{"name": "payments-api", "allowFromIngressController": True, "allowSameNamespace": False}]
    )
    run = run_tenancy(mock_run, config)
    policies = {name: p["spec"] for name, p in in_namespace(run, NP, "payments-api").items()}
    assert "allow-same-namespace" not in policies
    (rule,) = policies["allow-from-ingress-controller"]["ingress"]
    assert rule["from"][0]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "rke2-ingress-nginx"}}
    assert policies["allow-from-ingress-controller"]["policyTypes"] == ["Ingress"]


def _metadata_reachable(spec: dict[str, Any]) -> bool:
    for rule in spec.get("egress", []):
        peers = rule.get("to")
        if not peers:  # an egress rule with no `to` allows every destination
            return True
        for peer in peers:
            block = peer.get("ipBlock")
            if not block:
                continue
            net = ipaddress.ip_network(block["cidr"])
            excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
            for meta in METADATA_ENDPOINTS:
                inside = net.version == meta.version and meta.subnet_of(net)  # type: ignore[arg-type]
                carved = any(e.version == meta.version and meta.subnet_of(e) for e in excepted)  # type: ignore[arg-type]
                if inside and not carved:
                    return True
    return False


def test_cidr_egress_never_reaches_the_metadata_endpoint(mock_run) -> None:
    egress = [
        {"name": "internet", "cidr": "0.0.0.0/0", "ports": [{"port": 443}]},
        {"name": "linklocal", "cidr": "169.254.0.0/16", "ports": [{"port": 80}]},
        {"name": "v6", "cidr": "::/0", "ports": [{"port": 443}]},
        {"name": "db", "cidr": "10.20.0.0/16", "ports": [{"port": 5432}]},
    ]
    run = run_tenancy(mock_run, team(namespaces=[{"name": "payments-api", "egress": egress}]))
    policies = in_namespace(run, NP, "payments-api")
    assert policies["allow-egress-internet"]["spec"]["egress"][0]["to"][0]["ipBlock"] == {
        "cidr": "0.0.0.0/0",
        "except": ["169.254.169.254/32"],
    }
    assert policies["allow-egress-v6"]["spec"]["egress"][0]["to"][0]["ipBlock"]["except"] == [
        "fd00:ec2::254/128"
    ]
    assert "except" not in policies["allow-egress-db"]["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert policies["allow-egress-db"]["spec"]["egress"][0]["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert not any(_metadata_reachable(p["spec"]) for p in policies.values())


def test_metadata_reachability_check_can_fail() -> None:
    assert _metadata_reachable({"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})
    assert _metadata_reachable({"egress": [{"ports": [{"port": 80}]}]})


def test_everything_in_cluster_uses_the_given_provider_and_sits_under_the_component(mock_run) -> None:
    run = run_tenancy(mock_run, team())
    component = run.one("hardened-rke2:tenancy:TeamTenancy", "payments")
    provider = run.one(K8S_PROVIDER)
    for res in run.resources:
        if res.type.startswith("kubernetes:"):
            assert res.provider is not None and res.provider.startswith(provider.urn), res.name
        if res.type.startswith(("kubernetes:", "rancher2:")):
            assert res.parent == component.urn
    # namespaced objects wait for their namespace
    ns_urn = run.one(NS).urn
    for type_ in (RQ, LR, SA, NP):
        for res in run.of_type(type_):
            assert ns_urn in res.dependencies


# --- several namespaces ------------------------------------------------------------------------------------


def test_several_namespaces_each_fully_hardened(mock_run) -> None:
    config = team(
        namespaces=[
            {"name": "payments-api", "allowFromIngressController": True},
            {
                "name": "payments-jobs",
                "quota": {
                    "limitsCpu": "2",
                    "limitsMemory": "4Gi",
                    "requestsCpu": "1",
                    "requestsMemory": "2Gi",
                    "pods": "20",
                },
            },
        ],
    )
    run = run_tenancy(mock_run, config)
    names = sorted(r.inputs["metadata"]["name"] for r in run.of_type(NS))
    assert names == ["payments-api", "payments-jobs"]
    for ns in names:
        meta = run.one(NS, f"payments-{ns}").inputs["metadata"]
        assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        assert meta["annotations"]["field.cattle.io/projectId"] == PROJECT_ID
        policies = in_namespace(run, NP, ns)
        assert policies["default-deny-all"]["spec"] == {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
        }
        assert "allow-dns-egress" in policies
        assert set(in_namespace(run, RQ, ns)) == {"team-quota"}
        assert set(in_namespace(run, LR, ns)) == {"team-limits"}
        assert [
            p.inputs["automountServiceAccountToken"]
            for p in run.of_type(SA)
            if p.inputs["metadata"]["namespace"] == ns
        ] == [False]
    assert "allow-from-ingress-controller" in in_namespace(run, NP, "payments-api")
    assert "allow-from-ingress-controller" not in in_namespace(run, NP, "payments-jobs")
    assert in_namespace(run, RQ, "payments-jobs")["team-quota"]["spec"]["hard"]["limits.cpu"] == "2"
    assert in_namespace(run, RQ, "payments-api")["team-quota"]["spec"]["hard"]["limits.cpu"] == "4"
    assert len(run.of_type(PROJECT)) == 1


# --- SSO group bindings and custom roles ------------------------------------------------------------------


def test_group_bindings_map_personas_to_builtin_role_templates(mock_run) -> None:
    groups = [
        {"groupPrincipalId": "keycloakoidc_group://payments-leads", "persona": "owner"},
        {"groupPrincipalId": "azuread_group://0b1c7e0e-1111-2222-3333-444455556666", "persona": "member"},
        {"groupPrincipalId": "okta_group://00g1abcd", "persona": "read-only"},
    ]
    run = run_tenancy(mock_run, team(groups=groups))
    bound = {b.inputs["groupPrincipalId"]: b.inputs for b in run.of_type(PRTB)}
    assert {k: v["roleTemplateId"] for k, v in bound.items()} == {
        "keycloakoidc_group://payments-leads": "project-owner",
        "azuread_group://0b1c7e0e-1111-2222-3333-444455556666": "project-member",
        "okta_group://00g1abcd": "read-only",
    }
    assert {v["projectId"] for v in bound.values()} == {PROJECT_ID}
    assert not any("userPrincipalId" in v or "userId" in v for v in bound.values())


def test_custom_role_is_project_scoped_without_wildcards(mock_run) -> None:
    roles = [{"name": "log-reader", "rules": [{"resources": ["pods", "pods/log"], "verbs": ["get", "list"]}]}]
    groups = [{"groupPrincipalId": "github_team://4242", "customRole": "log-reader"}]
    run = run_tenancy(mock_run, team(customRoles=roles, groups=groups))
    role = run.one(ROLE)
    assert role.inputs["context"] == "project"
    assert role.inputs["administrative"] is False
    assert role.inputs["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}
    ]
    assert run.one(PRTB).inputs["roleTemplateId"] == role.id


# --- invalid configuration: clear errors, nothing registered ---------------------------------------------

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("bad team name", team(team="Payments_Team"), "team: team name 'Payments_Team' is not a DNS-1123 label"),
    (
        "bad namespace name",
        team(namespaces=[{"name": "Payments"}]),
        "namespaces.0.name: namespace name 'Payments'",
    ),
    (
        "kube- prefix",
        team(namespaces=[{"name": "kube-payments"}]),
        "namespaces.0.name: namespace 'kube-payments' is reserved",
    ),
    (
        "default namespace",
        team(namespaces=[{"name": "default"}]),
        "namespaces.0.name: namespace 'default' is reserved",
    ),
    ("cattle- namespace", team(namespaces=[{"name": "cattle-system"}]), "is reserved"),
    (
        "duplicate namespace",
        team(namespaces=[{"name": "a"}, {"name": "a"}]),
        "namespaces.1.name: namespace 'a' is listed twice",
    ),
    ("no namespace", team(namespaces=[]), "namespaces: List should have at least 1 item"),
    (
        "quota sum over project",
        team(namespaces=[{"name": "a"}, {"name": "b"}, {"name": "c"}]),
        "projectQuota.limitsCpu: the namespaces' quotas add up to 12 limitsCpu, more than the project "
        "limit 8",
    ),
    (
        "namespace quota over project",
        team(
            namespaces=[
                {
                    "name": "a",
                    "quota": {
                        "limitsCpu": "9",
                        "limitsMemory": "1Gi",
                        "requestsCpu": "1",
                        "requestsMemory": "1Gi",
                        "pods": "1",
                    },
                }
            ]
        ),
        "projectQuota.limitsCpu: the namespaces' quotas add up to 9 limitsCpu",
    ),
    (
        "memory sum over project",
        team(
            namespaces=[
                {
                    "name": "a",
                    "quota": {
                        "limitsCpu": "1",
                        "limitsMemory": "17Gi",
                        "requestsCpu": "1",
                        "requestsMemory": "1Gi",
                        "pods": "1",
                    },
                }
            ]
        ),
        "projectQuota.limitsMemory",
    ),
    (
        "namespace quota missing a project key",
        team(
            namespaces=[
                {
                    "name": "a",
                    "quota": {
                        "limitsCpu": "1",
                        "limitsMemory": "1Gi",
                        "requestsCpu": "1",
                        "requestsMemory": "1Gi",
                    },
                }
            ]
        ),
        "namespaces.0.quota.pods: pods is set in projectQuota only",
    ),
    (
        "request above limit",
        team(
            projectQuota={
                "limitsCpu": "1",
                "limitsMemory": "1Gi",
                "requestsCpu": "2",
                "requestsMemory": "1Gi",
            }
        ),
        "projectQuota.requestsCpu",
    ),
    (
        "bad quantity",
        team(
            namespaceDefaultQuota={
                "limitsCpu": "lots",
                "limitsMemory": "1Gi",
                "requestsCpu": "1",
                "requestsMemory": "1Gi",
            }
        ),
        "namespaceDefaultQuota.limitsCpu: 'lots' is not a Kubernetes quantity",
    ),
    (
        "wildcard verb",
        team(customRoles=[{"name": "r", "rules": [{"resources": ["pods"], "verbs": ["*"]}]}]),
        "customRoles.0.rules.0.verbs.0: wildcard '*'",
    ),
    (
        "wildcard resource",
        team(customRoles=[{"name": "r", "rules": [{"resources": ["pods/*"], "verbs": ["get"]}]}]),
        "customRoles.0.rules.0.resources.0: wildcard",
    ),
    (
        "wildcard api group",
        team(
            customRoles=[{"name": "r", "rules": [{"apiGroups": ["*"], "resources": ["x"], "verbs": ["get"]}]}]
        ),
        "customRoles.0.rules.0.apiGroups.0: wildcard",
    ),
    (
        "escalate verb",
        team(customRoles=[{"name": "r", "rules": [{"resources": ["roles"], "verbs": ["escalate"]}]}]),
        "customRoles.0.rules.0.verbs.0: verb 'escalate'",
    ),
    (
        "user principal",
        team(groups=[{"groupPrincipalId": "okta_user://bob", "persona": "owner"}]),
        "groups.0.groupPrincipalId: 'okta_user://bob' is a user or local principal",
    ),
    (
        "local principal",
        team(groups=[{"groupPrincipalId": "local://u-abc", "persona": "owner"}]),
        "is not a group principal",
    ),
    (
        "unknown scheme",
        team(groups=[{"groupPrincipalId": "foo_group://x", "persona": "owner"}]),
        "groups.0.groupPrincipalId",
    ),
    (
        "persona and custom role",
        team(groups=[{"groupPrincipalId": "okta_group://x", "persona": "owner", "customRole": "r"}]),
        "exactly one of persona, customRole and platformRole",
    ),
    (
        "undefined custom role",
        team(groups=[{"groupPrincipalId": "okta_group://x", "customRole": "nope"}]),
        "groups.0.customRole: custom role 'nope' is not defined",
    ),
    (
        "unknown persona",
        team(groups=[{"groupPrincipalId": "okta_group://x", "persona": "admin"}]),
        "groups.0.persona",
    ),
    (
        "metadata egress",
        team(
            namespaces=[
                {
                    "name": "a",
                    "egress": [{"name": "imds", "cidr": "169.254.169.254/32", "ports": [{"port": 80}]}],
                }
            ]
        ),
        "namespaces.0.egress.0.cidr: cidr 169.254.169.254/32 is the cloud metadata endpoint",
    ),
    (
        "egress without ports",
        team(namespaces=[{"name": "a", "egress": [{"name": "x", "cidr": "10.0.0.0/8", "ports": []}]}]),
        "namespaces.0.egress.0.ports",
    ),
    (
        "typo",
        team(namespace=[{"name": "a"}]),
        "namespace: Extra inputs are not permitted (fix: remove the key",
    ),
    ("container max over namespace", team(containerResources={"maxCpu": "5"}), "containerResources.maxCpu"),
    ("baseline typo", team(podSecurity={"enforce": "privileged"}), "podSecurity.enforce"),
]


@pytest.mark.parametrize(
    ("config", "expected"), [(c, e) for _, c, e in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_team_config_is_rejected_before_anything_is_registered(mock_run, config, expected) -> None:
    errors: list[TeamConfigError] = []

    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "team-k8s", {})
        try:
            TeamTenancy("payments", config, cluster_v1_id=V1, kubernetes_provider=provider)
        except TeamConfigError as err:
            errors.append(err)

    run = mock_run(program, mocks=RancherMocks())
    assert len(errors) == 1
    message = str(errors[0])
    assert expected in message
    assert all("(fix:" in line for line in errors[0].lines), message
    assert [r.type for r in run.resources if r.type not in ("pulumi:pulumi:Stack", K8S_PROVIDER)] == []


def test_every_problem_is_reported_at_once() -> None:
    config = team(
        team="Bad",
        namespaces=[{"name": "kube-x"}],
        customRoles=[{"name": "r", "rules": [{"resources": ["*"], "verbs": ["*"]}]}],
    )
    with pytest.raises(TeamConfigError) as info:
        parse_team_args(config)
    paths = [line.split(":")[0] for line in info.value.lines]
    assert {
        "team",
        "namespaces.0.name",
        "customRoles.0.rules.0.resources.0",
        "customRoles.0.rules.0.verbs.0",
    } <= set(paths)


# --- defaults are the hardened settings ---------------------------------------------------------------------


def test_defaults_are_hardened() -> None:
    args = TeamTenancyArgs.model_validate(team())
    assert args.pod_security == NamespacePodSecurityArgs(enforce="restricted", version="latest")
    assert args.project_quota.services_node_ports == "0"
    assert args.project_quota.services_load_balancers == "0"
    ns = args.namespaces[0]
    assert ns == TeamNamespaceArgs(name="payments-api")
    assert ns.allow_from_ingress_controller is False
    assert ns.allow_same_namespace is True
    assert ns.egress == []
    assert args.groups == [] and args.custom_roles == []
    assert args.container_resources == ContainerResourcesArgs()
    assert TeamAccessArgs().token_ttl_seconds == 8 * 3600
    assert TeamAccessArgs().certificate_authority is None


def test_baseline_enforcement_is_an_explicit_setting_and_audit_warn_stay_restricted(mock_run) -> None:
    run = run_tenancy(mock_run, team(podSecurity={"enforce": "baseline", "version": "v1.33"}))
    labels = run.one(NS).inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn-version"] == "v1.33"


# --- quantities and the quota arithmetic -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1Gi", Decimal(2**30)),
        ("1G", Decimal(10**9)),
        ("512Mi", Decimal(512 * 2**20)),
        ("1.5", Decimal("1.5")),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "1.2.3", "ten", "-1", "1gi", "5 m"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=5),
    st.integers(min_value=1, max_value=20),
)
def test_quota_fit_is_exactly_the_sum_rule(cpus: list[int], project_cpu: int) -> None:
    def quota(cpu: int) -> dict[str, str]:
        return {"limitsCpu": str(cpu), "limitsMemory": "1Gi", "requestsCpu": "100m", "requestsMemory": "1Gi"}

    config = {
        "team": "t",
        # only limitsCpu is tight; every other project limit has room for five namespaces
        "projectQuota": {
            **quota(project_cpu),
            "limitsMemory": "5Gi",
            "requestsCpu": "500m",
            "requestsMemory": "5Gi",
        },
        "namespaceDefaultQuota": quota(1),
        "containerResources": {"maxCpu": "1", "maxMemory": "1Gi", "limitsMemory": "512Mi"},
        "namespaces": [{"name": f"t-{i}", "quota": quota(c)} for i, c in enumerate(cpus)],
    }
    if sum(cpus) <= project_cpu:
        assert parse_team_args(config).namespaces[0].quota == QuotaArgs.model_validate(quota(cpus[0]))
    else:
        with pytest.raises(TeamConfigError, match=r"projectQuota\.limitsCpu"):
            parse_team_args(config)


# --- scoped Kubernetes provider -----------------------------------------------------------------------------


def test_scoped_provider_uses_rancher_proxy_and_a_cluster_scoped_token(mock_run) -> None:
    def program() -> None:
        scoped_kubernetes_provider(
            "payments",
            rancher_url=pulumi.Output.from_input("https://rancher.example.com/"),
            cluster_v1_id=V1,
            args=TeamAccessArgs(token_ttl_seconds=3600),
        )

    run = mock_run(program, mocks=RancherMocks())
    token = run.one(TOKEN)
    assert token.inputs["clusterId"] == V1
    assert token.inputs["ttl"] == 3600
    provider = run.one(K8S_PROVIDER)
    assert provider.is_secret("kubeconfig")
    assert token.urn in provider.dependencies
    assert provider.inputs["clusterIdentifier"] == f"rancher-{V1}"
    kubeconfig = yaml.safe_load(provider.inputs["kubeconfig"])
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"] == {"server": f"https://rancher.example.com/k8s/clusters/{V1}"}
    assert kubeconfig["users"][0]["user"] == {"token": "token-xyz:secret"}


def test_scoped_provider_kubeconfig_is_unknown_until_the_token_exists(mock_run) -> None:
    run = mock_run(
        lambda: scoped_kubernetes_provider("p", rancher_url="https://r.example.com", cluster_v1_id=V1)
    )
    provider = run.one(K8S_PROVIDER)
    assert provider.is_secret("kubeconfig")
    assert provider.inputs["kubeconfig"] == UNKNOWN


def test_scoped_provider_pins_a_private_ca() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    args = TeamAccessArgs(certificate_authority=pem)
    from components.tenancy import render_kubeconfig

    config = yaml.safe_load(
        render_kubeconfig("https://r/k8s/clusters/c-m-1", "t", "ctx", args.certificate_authority)
    )
    assert "certificate-authority-data" in config["clusters"][0]["cluster"]
    assert "insecure-skip-tls-verify" not in config["clusters"][0]["cluster"]


@pytest.mark.parametrize(
    ("url", "v1", "match"),
    [
        ("http://rancher.example.com", V1, "is not https"),
        ("https://rancher.example.com", "local/x", "not a Rancher v1"),
    ],
)
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")  # aborted run
def test_scoped_provider_rejects_unsafe_targets(mock_run, url: str, v1: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mock_run(
            lambda: scoped_kubernetes_provider("p", rancher_url=url, cluster_v1_id=v1), mocks=RancherMocks()
        )
    with pytest.raises(ValueError, match=match):  # the same check when the values come from a StackReference
        mock_run(
            lambda: scoped_kubernetes_provider(
                "p", rancher_url=pulumi.Output.from_input(url), cluster_v1_id=pulumi.Output.from_input(v1)
            ),
            mocks=RancherMocks(),
        )
    gc.collect()  # release the failed run's futures here, not at a random later point of the session


def test_token_ttl_is_bounded() -> None:
    with pytest.raises(ValueError, match=r"token_?[tT]tl_?[sS]econds"):
        TeamAccessArgs(token_ttl_seconds=24 * 3600 + 1)  # above the pack's default maximum
    assert TeamAccessArgs(token_ttl_seconds=24 * 3600).token_ttl_seconds == 86400


# --- optional Fleet repo restricted to the team's namespaces ------------------------------------------------

RESTRICTION = "kubernetes:fleet.cattle.io/v1alpha1:GitRepoRestriction"


def run_with_fleet(mock_run, config: dict[str, Any]) -> ProgramRun:
    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "team-k8s", {})
        local = pulumi.ProviderResource("kubernetes", "rancher-local", {})
        TeamTenancy("payments", config, cluster_v1_id=V1, kubernetes_provider=provider, fleet_provider=local)

    return mock_run(program, mocks=RancherMocks())


def test_fleet_repo_is_restricted_to_the_team_namespaces(mock_run) -> None:
    config = team(namespaces=[{"name": "payments-api"}, {"name": "payments-jobs"}], fleet=FLEET)
    run = run_with_fleet(mock_run, config)
    restriction = run.one(RESTRICTION)
    assert restriction.inputs["metadata"]["namespace"] == "fleet-payments"
    assert restriction.inputs["allowedTargetNamespaces"] == ["payments-api", "payments-jobs"]
    assert restriction.inputs["allowedServiceAccounts"] == ["payments-deployer"]
    assert restriction.inputs["defaultServiceAccount"] == "payments-deployer"
    assert restriction.inputs["allowedRepoPatterns"] == ["^https://git\\.example\\.com/payments/"]
    repo = run.one(GITREPO)
    assert repo.inputs["spec"]["targetNamespace"] == "payments-api"
    assert repo.inputs["spec"]["serviceAccount"] == "payments-deployer"
    assert restriction.urn in repo.dependencies  # the restriction exists before the repo is admitted
    local = run.one("pulumi:providers:kubernetes", "rancher-local")
    assert repo.provider is not None and repo.provider.startswith(local.urn)
    assert restriction.provider is not None and restriction.provider.startswith(local.urn)


def test_fleet_in_a_shared_workspace_leaves_the_restriction_to_the_platform(mock_run) -> None:
    fleet = {**FLEET, "repo": {**FLEET["repo"], "workspace": "fleet-default"}, "manageRestriction": False}
    run = run_with_fleet(mock_run, team(fleet=fleet))
    assert run.of_type(RESTRICTION) == []
    assert run.one(GITREPO).inputs["metadata"]["namespace"] == "fleet-default"


@pytest.mark.parametrize(
    ("fleet", "expected"),
    [
        (
            {**FLEET, "repo": {**FLEET["repo"], "targetNamespace": "kube-system"}},
            "fleet.repo.targetNamespace: 'kube-system' is not one of the team's namespaces",
        ),
        (
            {**FLEET, "repo": {**FLEET["repo"], "repo": "https://github.com/other/repo.git"}},
            "fleet.repo.repo: https://github.com/other/repo.git matches none of allowedRepoPatterns",
        ),
        ({**FLEET, "allowedRepoPatterns": ["git.example.com"]}, "fleet.allowedRepoPatterns.0"),
        (
            {**FLEET, "allowedRepoPatterns": ["^https://git.example.com/(payments"]},
            "fleet.allowedRepoPatterns.0: is not a valid regular expression",
        ),
    ],
)
def test_invalid_fleet_config_is_rejected(mock_run, fleet: dict[str, Any], expected: str) -> None:
    with pytest.raises(TeamConfigError) as info:
        parse_team_args(team(fleet=fleet))
    assert expected in str(info.value)


def test_fleet_without_a_local_cluster_provider_registers_nothing(mock_run) -> None:
    errors: list[TeamConfigError] = []

    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "team-k8s", {})
        try:
            TeamTenancy("payments", team(fleet=FLEET), cluster_v1_id=V1, kubernetes_provider=provider)
        except TeamConfigError as err:
            errors.append(err)

    run = mock_run(program, mocks=RancherMocks())
    assert "fleet: a Fleet repo lives on Rancher's local cluster" in str(errors[0])
    assert [r.type for r in run.resources if r.type not in ("pulumi:pulumi:Stack", K8S_PROVIDER)] == []


# --- platform role templates (management stack `roleTemplateIds`) ----------------------------------------

PLATFORM_ROLES = {"team-developer": "rt-dev42", "team-viewer": "rt-view7"}


def test_platform_role_binds_the_management_stacks_role_template_id(mock_run) -> None:
    groups = [{"groupPrincipalId": "okta_group://payments-devs", "platformRole": "team-developer"}]

    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "team-k8s", {})
        ids = pulumi.Output.from_input(PLATFORM_ROLES)  # as read from a StackReference
        TeamTenancy(
            "payments",
            team(groups=groups),
            cluster_v1_id=V1,
            kubernetes_provider=provider,
            platform_role_template_ids=ids,
        )

    run = mock_run(program, mocks=RancherMocks())
    binding = run.one(PRTB).inputs
    assert binding["roleTemplateId"] == "rt-dev42"
    assert binding["groupPrincipalId"] == "okta_group://payments-devs"
    assert binding["projectId"] == PROJECT_ID


def test_platform_role_without_ids_registers_nothing(mock_run) -> None:
    groups = [{"groupPrincipalId": "okta_group://payments-devs", "platformRole": "team-developer"}]
    errors: list[TeamConfigError] = []

    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "team-k8s", {})
        try:
            TeamTenancy("payments", team(groups=groups), cluster_v1_id=V1, kubernetes_provider=provider)
        except TeamConfigError as err:
            errors.append(err)

    run = mock_run(program, mocks=RancherMocks())
    assert "groups.0.platformRole: no platform role template ids were given" in str(errors[0])
    assert [r.type for r in run.resources if r.type not in ("pulumi:pulumi:Stack", K8S_PROVIDER)] == []


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")  # aborted run
def test_unknown_platform_role_names_the_published_ones(mock_run) -> None:
    groups = [{"groupPrincipalId": "okta_group://payments-devs", "platformRole": "team-admin"}]

    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "team-k8s", {})
        TeamTenancy(
            "payments",
            team(groups=groups),
            cluster_v1_id=V1,
            kubernetes_provider=provider,
            platform_role_template_ids=PLATFORM_ROLES,
        )

    with pytest.raises(
        ValueError, match="platformRole 'team-admin' is not a role template of the management"
    ):
        mock_run(program, mocks=RancherMocks())
    gc.collect()


# --- platform side: a tenant space on a cluster handle ---------------------------------------------------


def test_for_cluster_uses_the_handle_and_waits_for_cluster_sync(mock_run) -> None:
    from components.handles import ClusterHandle

    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "cluster-k8s", {})
        sync = pulumi.CustomResource("rancher2:index/clusterSync:ClusterSync", "sync", {"clusterId": V1})
        handle = ClusterHandle(
            name="prod",
            v1_id=V1,
            ready=sync,
            kubernetes_version="v1.34.1+rke2r1",
            rancher_line="2.13",
            kubernetes_provider=provider,
        )
        TeamTenancy.for_cluster("payments", team(), handle)

    run = mock_run(program, mocks=RancherMocks())
    sync_urn = run.one("rancher2:index/clusterSync:ClusterSync").urn
    assert sync_urn in run.one(PROJECT).dependencies
    assert sync_urn in run.one(NS).dependencies
    assert str(run.one(NS).provider).startswith(run.one(K8S_PROVIDER, "cluster-k8s").urn)


def test_for_cluster_without_a_provider_is_refused() -> None:
    from components.handles import ClusterHandle

    handle = ClusterHandle(name="prod", v1_id=V1, ready=None, kubernetes_version="v1", rancher_line="2.13")
    with pytest.raises(TeamConfigError, match="cluster 'prod' has no Kubernetes provider"):
        TeamTenancy.for_cluster("payments", team(), handle)


# --- one test per TeamTenancy step (the resource-creating ones are pinned by the runs above) -------------


def test_step_check_providers_reports_every_platform_role_binding() -> None:
    from components.tenancy import check_providers

    args = parse_team_args(
        team(
            groups=[
                {"groupPrincipalId": "okta_group://a", "platformRole": "ops"},
                {"groupPrincipalId": "okta_group://b", "platformRole": "dev"},
            ]
        )
    )
    with pytest.raises(TeamConfigError) as info:
        check_providers(args, None, None)
    assert [p.path for p in info.value.items] == [
        ("groups", 0, "platformRole"),
        ("groups", 1, "platformRole"),
    ]
    check_providers(args, {"ops": "rt-1", "dev": "rt-2"}, None)


def test_step_limit_range_and_namespace_annotations() -> None:
    from components.tenancy import limit_range_spec, namespace_annotations

    args = parse_team_args(team())
    (limit,) = limit_range_spec(args.container_resources)["limits"]
    assert limit["type"] == "Container" and set(limit) == {"type", "default", "defaultRequest", "max"}
    annotations = namespace_annotations(args, args.namespaces[0], "c-m-1:p-1")
    assert annotations["field.cattle.io/projectId"] == "c-m-1:p-1"
    assert json.loads(annotations["field.cattle.io/resourceQuota"]) == {
        "limit": args.quota_for(args.namespaces[0]).as_rancher()
    }
