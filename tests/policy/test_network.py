"""Network separation policies: namespaces, services, ingresses, network policies, and the stack-level
coverage of every namespace (default-deny, LimitRange, ResourceQuota)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from hardened_rke2.analysis.testing import UNKNOWN, analyze_stack
from tests.support.paths import PACK_DIR
from tests.support.policy_builders import analyze, names

NS = "kubernetes:core/v1:Namespace"
RNS = "rancher2:index/namespace:Namespace"
PROJECT = "rancher2:index/project:Project"
SVC = "kubernetes:core/v1:Service"
ING = "kubernetes:networking.k8s.io/v1:Ingress"
NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
LR = "kubernetes:core/v1:LimitRange"
RQ = "kubernetes:core/v1:ResourceQuota"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
STACK_POLICIES = {
    "namespace-default-deny-network-policy",
    "namespace-limit-range",
    "namespace-resource-quota",
}


def namespace(
    name: str | None = "team-a", labels: dict[str, str] | None = None, **meta: Any
) -> dict[str, Any]:
    md: dict[str, Any] = {"labels": RESTRICTED if labels is None else labels, **meta}
    if name is not None:
        md["name"] = name
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": md}


# ----------------------------------------------------------------------------- namespaces


@pytest.mark.parametrize(
    ("rtype", "props", "rname", "expected"),
    [
        (NS, namespace("team-a"), "ns", set()),
        (NS, namespace("kube-team"), "ns", {"namespace-name-not-reserved"}),
        (NS, namespace(None), "kube-auto", {"namespace-name-not-reserved"}),  # auto-named from the resource
        (
            RNS,
            {"name": "kube-things", "projectId": "c-1:p-1", "labels": RESTRICTED},
            "ns",
            {"namespace-name-not-reserved"},
        ),
        (RNS, {"name": "things", "projectId": "c-1:p-1", "labels": RESTRICTED}, "ns", set()),
    ],
)
def test_reserved_namespace_prefix(rtype: str, props: dict[str, Any], rname: str, expected: set[str]) -> None:
    assert names(analyze(rtype, props, name=rname)) == expected


@pytest.mark.parametrize(
    ("labels", "config", "expected"),
    [
        (RESTRICTED, None, set()),
        ({"pod-security.kubernetes.io/enforce": "baseline"}, None, {"namespace-pod-security-enforced"}),
        ({"pod-security.kubernetes.io/enforce": "privileged"}, None, {"namespace-pod-security-enforced"}),
        ({"pod-security.kubernetes.io/warn": "restricted"}, None, {"namespace-pod-security-enforced"}),
        ({}, None, {"namespace-pod-security-enforced"}),
        (
            {"pod-security.kubernetes.io/enforce": "baseline"},
            {"namespace-pod-security-enforced": {"minimumLevel": "baseline"}},
            set(),
        ),
        (
            {"pod-security.kubernetes.io/enforce": "privileged"},
            {"namespace-pod-security-enforced": {"minimumLevel": "baseline"}},
            {"namespace-pod-security-enforced"},
        ),
    ],
)
def test_namespace_psa_enforce_label(labels: dict[str, str], config: Any, expected: set[str]) -> None:
    assert names(analyze(NS, namespace("team-a", labels), config=config)) == expected
    rancher = {"name": "team-a", "projectId": "c-1:p-1", "labels": labels}
    assert names(analyze(RNS, rancher, config=config)) == expected


def test_patching_a_system_namespace_is_not_creating_one() -> None:
    patch = {"metadata": {"name": "kube-system", "labels": {"team": "platform"}}}
    assert analyze("kubernetes:core/v1:NamespacePatch", patch) == []


def test_exempt_system_namespace_needs_no_psa_label() -> None:
    assert analyze(NS, namespace("cattle-system", {}), name="sys") == []


def test_psa_label_unknown_is_a_preview_advisory() -> None:
    violations = analyze(NS, namespace("team-a", {"pod-security.kubernetes.io/enforce": UNKNOWN}))
    assert names(violations) == {"namespace-pod-security-enforced"}
    assert violations[0].is_preview_unknown


@pytest.mark.parametrize(
    ("ns", "config", "expected"),
    [
        ("team-a", None, set()),
        ("default", None, {"workload-not-in-default-namespace"}),
        ("kube-public", None, {"workload-not-in-system-namespace"}),
        (
            "sandbox",
            {"workload-not-in-system-namespace": {"forbiddenNamespaces": ["sandbox*"]}},
            {"workload-not-in-system-namespace"},
        ),
    ],
)
def test_workload_namespace_placement(ns: str, config: Any, expected: set[str]) -> None:
    from tests.support.policy_builders import POD_TYPES, restricted_spec, wrap

    assert (
        names(analyze(POD_TYPES["Job"], wrap("Job", restricted_spec(), namespace=ns), config=config))
        == expected
    )


# ----------------------------------------------------------------------------- services and ingresses


def service(kind: str = "ClusterIP", name: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {
            "type": kind,
            "selector": {"app": name},
            "ports": [{"port": 443.0, "targetPort": 8443.0}],
            **spec,
        },
    }


@pytest.mark.parametrize(
    ("props", "config", "expected"),
    [
        (service(), None, set()),
        (service(externalIPs=["203.0.113.10"]), None, {"service-no-external-ips"}),
        (service("NodePort"), None, {"service-exposure-allowed"}),
        (service("LoadBalancer"), None, {"service-exposure-allowed"}),
        (
            service("LoadBalancer", name="ingress-gw"),
            {"service-exposure-allowed": {"allowedExposedServices": ["team-a/ingress-*"]}},
            set(),
        ),
        (
            service("LoadBalancer", name="web"),
            {"service-exposure-allowed": {"allowedExposedServices": ["team-a/ingress-*"]}},
            {"service-exposure-allowed"},
        ),
    ],
)
def test_services(props: dict[str, Any], config: Any, expected: set[str]) -> None:
    violations = analyze(SVC, props, config=config)
    assert names(violations) == expected
    assert all(v.is_mandatory for v in violations)


def ingress(tls: list[dict[str, Any]] | None, hosts: list[str | None]) -> dict[str, Any]:
    rules = []
    for h in hosts:
        rule: dict[str, Any] = {
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "web", "port": {"number": 443.0}}},
                    }
                ]
            }
        }
        if h:
            rule["host"] = h
        rules.append(rule)
    spec: dict[str, Any] = {"ingressClassName": "nginx", "rules": rules}
    if tls is not None:
        spec["tls"] = tls
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("props", "ok"),
    [
        (ingress(None, ["app.example.com"]), False),
        (ingress([], ["app.example.com"]), False),
        (ingress([{"hosts": ["app.example.com"], "secretName": "tls"}], ["app.example.com"]), True),
        (ingress([{"hosts": ["*.example.com"], "secretName": "tls"}], ["app.example.com"]), True),
        (ingress([{"hosts": ["*.example.com"], "secretName": "tls"}], ["a.b.example.com"]), False),
        (
            ingress(
                [{"hosts": ["app.example.com"], "secretName": "tls"}], ["app.example.com", "api.example.com"]
            ),
            False,
        ),
        (ingress([{"secretName": "tls"}], ["app.example.com", None]), True),
        (ingress([{"hosts": ["app.example.com"], "secretName": "tls"}], [None]), False),
    ],
)
def test_ingress_tls(props: dict[str, Any], ok: bool) -> None:
    for rtype in (
        ING,
        "kubernetes:networking.k8s.io/v1beta1:Ingress",
        "kubernetes:extensions/v1beta1:Ingress",
    ):
        got = names(analyze(rtype, props)) - {"removed-api-versions"}  # v1beta1 APIs: reported apart
        assert got == (set() if ok else {"ingress-tls"})


def egress_policy(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "egress", "namespace": "team-a"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
            "egress": list(rules),
        },
    }


@pytest.mark.parametrize(
    ("rule", "opens_metadata"),
    [
        ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}, True),
        ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}, False),
        (
            {"to": [{"ipBlock": {"cidr": "169.254.0.0/16"}}], "ports": [{"port": 80.0, "protocol": "TCP"}]},
            True,
        ),
        ({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}, False),
        ({"ports": [{"port": 53.0, "protocol": "UDP"}, {"port": 53.0, "protocol": "TCP"}]}, False),
        ({}, True),
        ({"to": [{"namespaceSelector": {}}]}, False),
        ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443.0}]}, False),
        ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 1.0, "endPort": 1024.0}]}, True),
    ],
)
def test_metadata_endpoint_egress_is_advisory(rule: dict[str, Any], opens_metadata: bool) -> None:
    violations = analyze(NP, egress_policy(rule))
    assert names(violations) == ({"network-policy-blocks-metadata-endpoint"} if opens_metadata else set())
    assert all(v.enforcement_level == "advisory" for v in violations)


# ----------------------------------------------------------------------------- stack-level coverage


def deny_all(
    ns: Any, name: str = "default-deny", types: tuple[str, ...] = ("Ingress", "Egress"), **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": {}, "policyTypes": list(types), **spec},
    }


def limit_range(ns: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "limits", "namespace": ns},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"cpu": "1"},
                    "defaultRequest": {"cpu": "500m"},
                    "max": {"cpu": "2"},
                    "min": {"cpu": "500m"},
                }
            ]
        },
    }


def quota(ns: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "quota", "namespace": ns},
        "spec": {
            "hard": {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi"}
        },
    }


def tenant(
    ns: str = "team-a",
    *,
    np: list[dict[str, Any]] | None = None,
    lr: bool = True,
    rq: bool = True,
    ns_props: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    res = [{"type": NS, "name": f"{ns}-ns", "props": ns_props or namespace(ns)}]
    for i, p in enumerate(np if np is not None else [deny_all(ns)]):
        res.append({"type": NP, "name": f"{ns}-np{i}", "props": p, "dependencies": [f"{ns}-ns"]})
    if lr:
        res.append({"type": LR, "name": f"{ns}-lr", "props": limit_range(ns)})
    if rq:
        res.append({"type": RQ, "name": f"{ns}-rq", "props": quota(ns)})
    return res


def stack_violations(resources: list[dict[str, Any]], config: Any = None) -> list[Any]:
    result = analyze_stack(PACK_DIR, resources, config)
    return [v for v in result.violations if v.policy_name in STACK_POLICIES or v.phase == "analyze-stack"]


def test_fully_covered_namespace_passes() -> None:
    result = analyze_stack(PACK_DIR, tenant())
    assert result.violations == []


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (tenant(np=[]), {"namespace-default-deny-network-policy"}),
        (tenant(lr=False), {"namespace-limit-range"}),
        (tenant(rq=False), {"namespace-resource-quota"}),
        (tenant(np=[], lr=False, rq=False), STACK_POLICIES),
        (tenant(np=[deny_all("team-a", types=("Ingress",))]), {"namespace-default-deny-network-policy"}),
        (tenant(np=[deny_all("team-a", types=())]), {"namespace-default-deny-network-policy"}),
        (tenant(np=[deny_all("team-a", "in", ("Ingress",)), deny_all("team-a", "out", ("Egress",))]), set()),
        (tenant(np=[deny_all("team-a", ingress=[{}])]), {"namespace-default-deny-network-policy"}),
        (
            tenant(np=[deny_all("team-a", egress=[{"to": [{"podSelector": {}}]}])]),
            {"namespace-default-deny-network-policy"},
        ),
        (tenant(np=[deny_all("team-a", egress=[{"ports": [{"port": 53.0, "protocol": "UDP"}]}])]), set()),
        (
            tenant(np=[deny_all("team-a", egress=[{"ports": [{"port": 53.0}, {"port": 443.0}]}])]),
            {"namespace-default-deny-network-policy"},
        ),
        (
            tenant(
                np=[
                    {
                        **deny_all("team-a"),
                        "spec": {
                            "podSelector": {"matchLabels": {"app": "x"}},
                            "policyTypes": ["Ingress", "Egress"],
                        },
                    }
                ]
            ),
            {"namespace-default-deny-network-policy"},
        ),
        (tenant(np=[deny_all("team-b")]), {"namespace-default-deny-network-policy"}),
    ],
)
def test_namespace_coverage(resources: list[dict[str, Any]], expected: set[str]) -> None:
    if any(r["name"] == "team-a-np0" and r["props"]["metadata"]["namespace"] == "team-b" for r in resources):
        for r in resources:
            r.pop("dependencies", None)  # a policy in another namespace, unrelated to team-a
    violations = stack_violations(resources)
    assert names(violations) == expected, [v.message for v in violations]
    for v in violations:
        assert v.is_mandatory and "team-a" in v.message and v.resource_type == NS


def test_every_namespace_is_checked_and_reported_on_its_own_urn() -> None:
    resources = tenant("team-a") + tenant("team-b", lr=False)
    violations = stack_violations(resources)
    assert [(v.policy_name, v.resource_name) for v in violations] == [("namespace-limit-range", "team-b-ns")]


def test_unknown_namespace_name_is_matched_through_dependencies() -> None:
    resources = tenant(ns_props=namespace(UNKNOWN))
    for r in resources[1:]:
        r["props"]["metadata"]["namespace"] = UNKNOWN
        r["dependencies"] = ["team-a-ns"]
    assert stack_violations(resources) == []


def test_undecidable_coverage_is_a_preview_advisory_not_a_pass() -> None:
    resources = tenant(rq=False)
    resources.append({"type": RQ, "name": "mystery", "props": quota(UNKNOWN)})
    violations = stack_violations(resources)
    assert names(violations) == {"namespace-resource-quota"}
    assert violations[0].is_preview_unknown


def test_rancher_namespace_quota_and_limits_count() -> None:
    rns = {
        "name": "team-a",
        "projectId": "c-1:p-1",
        "labels": RESTRICTED,
        "resourceQuota": {"limit": {"limitsCpu": "2000m"}},
        "containerResourceLimit": {"limitsCpu": "500m", "requestsCpu": "100m"},
    }
    resources = [
        {"type": RNS, "name": "team-a-ns", "props": rns},
        {"type": NP, "name": "deny", "props": deny_all("team-a")},
    ]
    assert stack_violations(resources) == []
    rns_plain = {"name": "team-a", "projectId": "c-1:p-1", "labels": RESTRICTED}
    resources[0]["props"] = rns_plain
    assert names(stack_violations(resources)) == {"namespace-limit-range", "namespace-resource-quota"}
    # The project's quota and container limits apply to its namespaces.
    project = {
        "name": "team",
        "clusterId": "c-1",
        "resourceQuota": {
            "projectLimit": {"limitsCpu": "8000m"},
            "namespaceDefaultLimit": {"limitsCpu": "2000m"},
        },
        "containerResourceLimit": {"limitsCpu": "500m"},
    }
    resources.insert(0, {"type": PROJECT, "name": "team", "props": project})
    resources[1]["dependencies"] = ["team"]
    assert stack_violations(resources) == []


def test_exempt_namespaces_and_exemptions_apply_to_stack_findings() -> None:
    sys_ns = [{"type": NS, "name": "sys", "props": namespace("cattle-system")}]
    assert stack_violations(sys_ns) == []
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    ann = {
        "policy.hardened-rke2.io/exemptions": json.dumps(
            [
                {
                    "policy": "namespace-limit-range",
                    "reason": "batch jobs size themselves",
                    "expires": expires,
                    "approvedBy": "platform",
                }
            ]
        )
    }
    resources = tenant(lr=False, ns_props=namespace("team-a", annotations=ann))
    result = analyze_stack(PACK_DIR, resources)
    assert [v.policy_name for v in result.violations] == ["exemption-applied"]
    assert result.violations[0].enforcement_level == "advisory"


# -- issue 11: a policy that opens a direction to everything undoes default-deny in that direction -----

ALLOW_ALL_INGRESS = {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        # an Egress policy whose allow rule admits everything
        ({"policyTypes": ["Egress"], "egress": [{}]}, "egress"),
        ({"policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]}, "egress"),
        # ingress from 0.0.0.0/0 on all ports
        ({"policyTypes": ["Ingress"], "ingress": [ALLOW_ALL_INGRESS]}, "ingress"),
        # policyTypes left out: Ingress is implied, and an allow-all ingress rule opens it
        ({"ingress": [{}]}, "ingress"),
    ],
)
def test_an_allow_all_policy_undoes_default_deny(extra: dict[str, Any], missing: str) -> None:
    opener = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "open", "namespace": "team-a"},
        "spec": {"podSelector": {}, **extra},
    }
    found = stack_violations([*tenant(), {"type": NP, "name": "open", "props": opener}])
    (v,) = [v for v in found if v.policy_name == "namespace-default-deny-network-policy"]
    assert f"({missing})" in v.message and f"allows all {missing} traffic" in v.message


@pytest.mark.parametrize(
    "spec",
    [
        # narrowed: some pods, some ports, some peers, or an exception in the block
        {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]},
        {"podSelector": {}, "ingress": [{**ALLOW_ALL_INGRESS, "ports": [{"port": 443}]}]},
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]},
        {
            "podSelector": {},
            "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}],
        },
        {"podSelector": {}, "policyTypes": ["Ingress"], "egress": [{}]},  # egress rules not in force
    ],
)
def test_narrow_allow_rules_keep_default_deny(spec: dict[str, Any]) -> None:
    allow = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow", "namespace": "team-a"},
        "spec": spec,
    }
    assert stack_violations([*tenant(), {"type": NP, "name": "allow", "props": allow}]) == []


# -- issue 18: what each finding says, and the edges mutation testing found untested -------------------

PSA = "pod-security.kubernetes.io/enforce"
BASELINE_MINIMUM = {"namespace-pod-security-enforced": {"minimumLevel": "baseline"}}
TLS_APP = [{"hosts": ["app.example.com"], "secretName": "tls"}]


def messages(rtype: str, props: Any, config: Any = None, name: str = "ns") -> list[tuple[str, str]]:
    return sorted((v.policy_name, v.message) for v in analyze(rtype, props, config=config, name=name))


@pytest.mark.parametrize(
    ("rtype", "props", "config", "expected"),
    [
        (
            NS,
            namespace("kube-team"),
            None,
            [("namespace-name-not-reserved", "namespace 'kube-team' uses the reserved 'kube-' prefix")],
        ),
        (
            NS,
            namespace("team-a", {}),
            None,
            [("namespace-pod-security-enforced", f"label {PSA} is missing: must enforce 'restricted'")],
        ),
        (
            NS,
            namespace("team-a", {PSA: "baseline"}),
            None,
            [("namespace-pod-security-enforced", f"label {PSA} is 'baseline': must enforce 'restricted'")],
        ),
        (
            NS,
            namespace("team-a", {PSA: "privileged"}),
            BASELINE_MINIMUM,
            [
                (
                    "namespace-pod-security-enforced",
                    f"label {PSA} is 'privileged': must enforce 'baseline' or stricter",
                )
            ],
        ),
        # Not a level at all: weaker than every minimum.
        (
            NS,
            namespace("team-a", {PSA: "bogus"}),
            BASELINE_MINIMUM,
            [
                (
                    "namespace-pod-security-enforced",
                    f"label {PSA} is 'bogus': must enforce 'baseline' or stricter",
                )
            ],
        ),
        (
            NS,
            namespace("team-a", {PSA: "restricted", f"{PSA}-version": 1.0}),
            None,
            [("namespace-pod-security-enforced", f"label {PSA}-version is 1: use 'latest'")],
        ),
        (NS, namespace("team-a", {PSA: "restricted", f"{PSA}-version": "v1.31"}), None, []),
        # Patching labels onto an existing namespace: a weak level is reported, an absent one is not.
        (
            "kubernetes:core/v1:NamespacePatch",
            {"metadata": {"name": "team-a", "labels": {PSA: "baseline"}}},
            None,
            [("namespace-pod-security-enforced", f"label {PSA} is 'baseline': must enforce 'restricted'")],
        ),
        (
            "kubernetes:core/v1:NamespacePatch",
            {"metadata": {"name": "team-a", "labels": {"team": "a"}}},
            None,
            [],
        ),
        (
            SVC,
            service(externalIPs=["203.0.113.10", 5.0]),
            None,
            [
                (
                    "service-no-external-ips",
                    "spec.externalIPs is set (['203.0.113.10', '5.0']): external IPs can "
                    "intercept cluster traffic (CVE-2020-8554); use a LoadBalancer or Ingress instead",
                )
            ],
        ),
        (
            SVC,
            service("NodePort"),
            None,
            [
                (
                    "service-exposure-allowed",
                    "Service 'team-a/web' is of type NodePort: only services listed in "
                    "allowedExposedServices may be exposed outside the cluster network",
                )
            ],
        ),
        (
            ING,
            ingress(None, ["app.example.com"]),
            None,
            [("ingress-tls", "spec.tls is empty: serve every Ingress host over TLS")],
        ),
        (
            ING,
            ingress(TLS_APP, ["app.example.com", "api.example.com"]),
            None,
            [
                (
                    "ingress-tls",
                    "spec.rules[1].host 'api.example.com' is not covered by spec.tls hosts "
                    "['app.example.com']",
                )
            ],
        ),
        (
            ING,
            ingress(TLS_APP, [None]),
            None,
            [
                (
                    "ingress-tls",
                    "spec.rules[0] has no host but every spec.tls entry lists hosts: it is served "
                    "without TLS",
                )
            ],
        ),
        # A wildcard covers one label followed by its dot, not a name that merely ends the same way.
        (
            ING,
            ingress([{"hosts": ["*.example.com"], "secretName": "tls"}], ["appexample.com"]),
            None,
            [
                (
                    "ingress-tls",
                    "spec.rules[0].host 'appexample.com' is not covered by spec.tls hosts ['*.example.com']",
                )
            ],
        ),
        # An Ingress without a spec serves nothing over TLS; a patch without a spec changes no TLS.
        (
            ING,
            {"metadata": {"name": "web", "namespace": "team-a"}},
            None,
            [("ingress-tls", "spec.tls is empty: serve every Ingress host over TLS")],
        ),
        (
            "kubernetes:networking.k8s.io/v1:IngressPatch",
            {"metadata": {"name": "web", "namespace": "team-a"}},
            None,
            [],
        ),
        (
            "kubernetes:networking.k8s.io/v1:IngressPatch",
            ingress(None, ["app.example.com"]),
            None,
            [("ingress-tls", "spec.tls is empty: serve every Ingress host over TLS")],
        ),
    ],
)
def test_resource_findings_say_exactly_what_to_change(
    rtype: str, props: Any, config: Any, expected: list[tuple[str, str]]
) -> None:
    assert messages(rtype, props, config) == expected


def test_workload_placement_messages() -> None:
    from tests.support.policy_builders import POD_TYPES, restricted_spec, wrap

    job = POD_TYPES["Job"]
    assert messages(job, wrap("Job", restricted_spec(), namespace=None)) == [
        (
            "workload-not-in-default-namespace",
            "workload is placed in no namespace (so 'default'): put it in a dedicated application namespace",
        )
    ]
    assert messages(job, wrap("Job", restricted_spec(), namespace="kube-system")) == [
        (
            "workload-not-in-system-namespace",
            "workload is placed in namespace 'kube-system': put it in a dedicated application namespace",
        )
    ]


def test_the_providers_default_namespace_places_workloads_and_services() -> None:
    from tests.support.policy_builders import POD_TYPES, restricted_spec, wrap

    exposed = service("NodePort")
    del exposed["metadata"]["namespace"]
    result = analyze_stack(
        PACK_DIR,
        [
            {"type": "pulumi:providers:kubernetes", "name": "sys", "props": {"namespace": "kube-system"}},
            {"type": "pulumi:providers:kubernetes", "name": "apps", "props": {"namespace": "team-b"}},
            {
                "type": POD_TYPES["Job"],
                "name": "job",
                "props": wrap("Job", restricted_spec(), namespace=None),
                "provider": "sys",
            },
            {"type": SVC, "name": "svc", "props": exposed, "provider": "apps"},
        ],
    )
    found = sorted((v.policy_name, v.message) for v in result.violations)
    assert found == [
        (
            "service-exposure-allowed",
            "Service 'team-b/web' is of type NodePort: only services listed in "
            "allowedExposedServices may be exposed outside the cluster network",
        ),
        (
            "workload-not-in-system-namespace",
            "workload is placed in namespace 'kube-system': put it in a dedicated application namespace",
        ),
    ]


EVERY_DESTINATION = (
    "allows every destination, including the cloud metadata endpoint 169.254.169.254: restrict 'to' or add "
    "an ipBlock with except 169.254.169.254/32"
)


def metadata_findings(*rules: dict[str, Any]) -> list[str]:
    return [v.message for v in analyze(NP, egress_policy(*rules))]


def to_block(cidr: str, *excepts: str, **rule: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return {"to": [{"ipBlock": block}], **rule}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        # Every rule is checked: one that does not reach port 80, then one that does.
        (
            [{"ports": [{"port": 443.0}]}, {}, to_block("0.0.0.0/0")],
            [
                f"spec.egress[1] {EVERY_DESTINATION}",
                "spec.egress[2].to[0].ipBlock 0.0.0.0/0 includes the cloud metadata endpoint: add except "
                "[169.254.169.254/32]",
            ],
        ),
        # A CIDR written with host bits still names its network.
        (
            [to_block("169.254.1.1/16")],
            [
                "spec.egress[0].to[0].ipBlock 169.254.1.1/16 includes the cloud "
                "metadata endpoint: add except [169.254.169.254/32]"
            ],
        ),
        ([to_block("not-a-cidr")], []),
        # An exception with host bits, and one that does not parse before one that excludes the endpoint.
        ([to_block("0.0.0.0/0", "169.254.169.254/16")], []),
        ([to_block("0.0.0.0/0", "bogus", "169.254.169.254/32")], []),
        # Ports: UDP 80 is not HTTP; a TCP entry without a port, the named port http, and a range to 80 are.
        ([to_block("0.0.0.0/0", ports=[{"port": 80.0, "protocol": "UDP"}])], []),
        ([to_block("0.0.0.0/0", ports=[{"port": 53.0, "protocol": "UDP"}, {"port": 80.0}])], ["to[0]"]),
        ([to_block("0.0.0.0/0", ports=[{"protocol": "TCP"}])], ["to[0]"]),
        ([to_block("0.0.0.0/0", ports=[{"port": "http"}])], ["to[0]"]),
        ([to_block("0.0.0.0/0", ports=[{"port": 1.0, "endPort": 80.0}])], ["to[0]"]),
        ([to_block("0.0.0.0/0", ports=[{"port": 81.0, "endPort": 90.0}])], []),
    ],
)
def test_metadata_endpoint_rules_ports_and_cidrs(rules: list[dict[str, Any]], expected: list[str]) -> None:
    found = metadata_findings(*rules)
    if all(e == "to[0]" for e in expected):  # short form: one finding on the first peer of rule 0
        assert [f.split(".ipBlock")[0] for f in found] == ["spec.egress[0].to[0]" for _ in expected]
    else:
        assert found == expected


def stack_messages(resources: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return sorted((v.policy_name, v.message, v.is_preview_unknown) for v in stack_violations(resources))


def opener(name: str, ns: str, **spec: Any) -> dict[str, Any]:
    props = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": {}, **spec},
    }
    return {"type": NP, "name": name, "props": props}


def test_coverage_messages_name_the_namespace_and_what_is_missing() -> None:
    assert stack_messages(tenant(np=[], lr=False, rq=False)) == [
        (
            "namespace-default-deny-network-policy",
            "namespace 'team-a' has no default-deny NetworkPolicy (egress, ingress)",
            False,
        ),
        ("namespace-limit-range", "namespace 'team-a' has no LimitRange", False),
        ("namespace-resource-quota", "namespace 'team-a' has no ResourceQuota", False),
    ]
    # Two openers in the namespace: both directions are named.
    resources = [
        *tenant(),
        opener("in", "team-a", ingress=[{}]),
        opener("out", "team-a", policyTypes=["Egress"], egress=[{}]),
    ]
    assert stack_messages(resources) == [
        (
            "namespace-default-deny-network-policy",
            "namespace 'team-a' has no default-deny NetworkPolicy (egress, ingress); a NetworkPolicy there "
            "allows all egress, ingress traffic to every pod",
            False,
        ),
    ]
    # An auto-named namespace is reported by its resource name.
    auto = tenant(lr=False, ns_props=namespace(None))
    for r in auto[1:]:
        r["props"]["metadata"]["namespace"] = UNKNOWN
        r["dependencies"] = ["team-a-ns"]
    assert stack_messages(auto) == [
        ("namespace-limit-range", "namespace 'team-a-ns' has no LimitRange", False)
    ]


def test_an_opener_in_another_namespace_does_not_open_this_one() -> None:
    assert stack_violations([*tenant(), opener("open", "team-b", ingress=[{}])]) == []


@pytest.mark.parametrize(
    "spec",
    [
        {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}, "ingress": [{}]},
        # Without policyTypes, egress rules make it an Egress policy too.
        {"podSelector": {}, "egress": [{}]},
        {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{"to": [{"podSelector": {}}]}]},
    ],
)
def test_which_policies_open_a_direction(spec: dict[str, Any]) -> None:
    found = stack_violations([*tenant(), opener("p", "team-a", **spec)])
    opens_egress = spec.get("egress") == [{}]
    assert [v.message.endswith("allows all egress traffic to every pod") for v in found] == (
        [True] if opens_egress else []
    )


def test_a_patch_opens_nothing_and_a_namespace_patch_needs_no_coverage() -> None:
    patch = {**opener("open", "team-a", ingress=[{}]), "type": NP + "Patch"}
    assert stack_violations([*tenant(), patch]) == []
    ns_patch = {
        "type": "kubernetes:core/v1:NamespacePatch",
        "name": "label-ns",
        "props": {"metadata": {"name": "team-b", "labels": RESTRICTED}},
    }
    assert stack_violations([*tenant(), ns_patch]) == []


@pytest.mark.parametrize(
    ("spec", "covered"),
    [
        # A selector with expressions selects some pods only.
        (
            {
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                "policyTypes": ["Ingress", "Egress"],
            },
            False,
        ),
        # policyTypes left out: Ingress, plus Egress because egress rules exist (here: DNS only).
        ({"podSelector": {}, "egress": [{"ports": [{"port": 53.0, "protocol": "UDP"}]}]}, True),
        ({"podSelector": {}}, False),  # Ingress only
        # policyTypes left out and an ingress allow rule: ingress is not denied.
        ({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}], "egress": []}, False),
        # DNS as a port range is more than DNS.
        (
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "egress": [{"ports": [{"port": 53.0, "endPort": 60.0}]}],
            },
            False,
        ),
    ],
)
def test_what_counts_as_default_deny(spec: dict[str, Any], covered: bool) -> None:
    policy = {**deny_all("team-a"), "spec": spec}
    found = names(stack_violations(tenant(np=[policy])))
    assert found == (set() if covered else {"namespace-default-deny-network-policy"})


def test_unknown_policy_content_is_a_preview_advisory_and_later_policies_still_count() -> None:
    unknown = {**deny_all("team-a", "mystery"), "spec": UNKNOWN}
    # Nothing else covers the namespace: the unknown policy might; preview cannot tell.
    found = stack_messages(tenant(np=[unknown]))
    assert [(p, unknown_) for p, _, unknown_ in found] == [("namespace-default-deny-network-policy", True)]
    # A known default-deny after the unknown one still covers it.
    assert stack_violations(tenant(np=[unknown, deny_all("team-a")])) == []


@pytest.mark.parametrize("via", ["parent", "propertyDependencies"])
def test_unknown_namespace_name_is_matched_through_parent_or_property_dependencies(via: str) -> None:
    resources = tenant(ns_props=namespace(UNKNOWN))
    for r in resources[1:]:
        r["props"]["metadata"]["namespace"] = UNKNOWN
        r.pop("dependencies", None)
        r.update(
            {"parent": "team-a-ns"}
            if via == "parent"
            else {"propertyDependencies": {"metadata": ["team-a-ns"]}}
        )
    assert stack_violations(resources) == []


def test_rancher_fields_count_only_on_rancher_namespaces_and_their_projects() -> None:
    # A Kubernetes Namespace carrying Rancher's field is still uncovered.
    k8s = tenant(
        lr=False,
        rq=False,
        ns_props={
            **namespace("team-a"),
            "resourceQuota": {"limit": {}},
            "containerResourceLimit": {"limitsCpu": "1"},
        },
    )
    assert names(stack_violations(k8s)) == {"namespace-limit-range", "namespace-resource-quota"}
    # A Rancher namespace depending on something that is not a project.
    rns = {"name": "team-a", "projectId": "c-1:p-1", "labels": RESTRICTED}
    resources = [
        {"type": "rancher2:index/cluster:Cluster", "name": "c", "props": {"name": "c"}},
        {"type": RNS, "name": "team-a-ns", "props": rns, "dependencies": ["c"]},
        {"type": NP, "name": "deny", "props": deny_all("team-a")},
    ]
    assert stack_messages(resources) == [
        ("namespace-limit-range", "namespace 'team-a' has no LimitRange", False),
        ("namespace-resource-quota", "namespace 'team-a' has no ResourceQuota", False),
    ]


def test_a_fresh_pack_load_checks_every_network_type_and_its_patch(fresh_pack: None) -> None:
    # The type sets are built when the pack is imported: load it anew so that code runs under test.
    assert names(analyze(NS, namespace("team-a", {}))) == {"namespace-pod-security-enforced"}
    patch = {"metadata": {"name": "team-a", "labels": {PSA: "baseline"}}}
    assert names(analyze("kubernetes:core/v1:NamespacePatch", patch)) == {"namespace-pod-security-enforced"}
    assert names(analyze(SVC + "Patch", service("NodePort"))) == {"service-exposure-allowed"}
    assert names(analyze(SVC, service("NodePort"))) == {"service-exposure-allowed"}
    assert stack_messages(tenant(np=[], lr=False, rq=False))[0][0] == "namespace-default-deny-network-policy"


def test_an_empty_peer_list_admits_everyone() -> None:
    found = stack_messages([*tenant(), opener("open", "team-a", ingress=[{"from": []}])])
    assert [m for _, m, _ in found] == [
        "namespace 'team-a' has no default-deny NetworkPolicy (ingress); a NetworkPolicy there allows all "
        "ingress traffic to every pod"
    ]


def test_the_providers_namespace_places_stack_resources_too() -> None:
    resources = tenant()
    provider = {"type": "pulumi:providers:kubernetes", "name": "k8s", "props": {"namespace": "team-a"}}
    for r in resources[1:]:
        del r["props"]["metadata"]["namespace"]
        r.pop("dependencies", None)
        r["provider"] = "k8s"
    assert stack_violations([provider, *resources]) == []


def test_an_auto_named_namespace_is_covered_by_what_depends_on_it() -> None:
    # At `pulumi up` the dependents know the generated name; the Namespace's own props have none.
    resources = tenant(ns_props=namespace(None))
    for r in resources[1:]:
        r["props"]["metadata"]["namespace"] = "team-a-ns-x1y2z3"
        r["dependencies"] = ["team-a-ns"]
    assert stack_violations(resources) == []


def test_a_namespace_whose_name_is_unknown_cannot_be_judged_in_preview() -> None:
    resources = [*tenant("team-b", lr=False), {"type": NS, "name": "mystery-ns", "props": namespace(UNKNOWN)}]
    found = [(v.resource_name, v.policy_name, v.is_preview_unknown) for v in stack_violations(resources)]
    # The SDK's preview advisory is attributed to the stack (no resource name), not a finding on it.
    assert sorted(found) == [
        ("", "namespace-default-deny-network-policy", True),
        ("", "namespace-limit-range", True),
        ("", "namespace-resource-quota", True),
        ("team-b-ns", "namespace-limit-range", False),
    ]
    (deny,) = [v.message for v in stack_violations(resources) if v.policy_name.endswith("network-policy")]
    assert deny.startswith("can't run policy 'namespace-default-deny-network-policy' from policy pack ")
    assert deny.endswith("during preview: string value at .metadata.namespace can't be known during preview")


def test_an_unknown_patch_might_be_the_default_deny() -> None:
    # A NetworkPolicyPatch counts as default-deny but never opens anything: its unknown spec is read once.
    patch = {"type": NP + "Patch", "name": "mystery", "props": {**deny_all("team-a"), "spec": UNKNOWN}}
    found = stack_violations([*tenant(np=[]), patch])
    assert [(v.policy_name, v.is_preview_unknown) for v in found] == [
        ("namespace-default-deny-network-policy", True)
    ]
    assert found[0].message.endswith("string value at .spec can't be known during preview")


def test_an_opener_after_an_unknown_one_still_counts() -> None:
    unknown_from = opener("mystery", "team-a", policyTypes=["Ingress"], ingress=[{"from": UNKNOWN}])
    found = stack_violations([*tenant(), unknown_from, opener("open", "team-a", ingress=[{}])])
    assert [v.policy_name for v in found] == ["namespace-default-deny-network-policy"]
