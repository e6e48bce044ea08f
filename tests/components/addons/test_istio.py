"""Istio: upstream charts via a downstream CatalogV2, istio-cni on RKE2 paths, STRICT mTLS, allowances."""

from __future__ import annotations

from typing import Any

import pytest

from components.addons.istio import ISTIO_HELM_REPO, Istio, IstioArgs
from components.versions import RANCHER_LINES, pins_for
from tests.support.addons import (
    CATALOG,
    K8S_PROVIDER,
    NETPOL,
    V1,
    apps,
    assert_app_contract,
    custom_resources,
    depends_on,
    gate_urn,
    mocks,
    program,
    values,
)
from tests.support.validation import rejected_at


def run_istio(mock_run, args: dict[str, Any] | None = None, **handle_kw: Any):
    i_args = IstioArgs.model_validate({"enabled": True, **(args or {})})
    return mock_run(program(lambda h: Istio("istio", i_args, h), **handle_kw), mocks=mocks())


def test_off_by_default() -> None:
    assert IstioArgs().enabled is False


def test_catalog_on_the_downstream_cluster(mock_run) -> None:
    run = run_istio(mock_run)
    catalog = run.one(CATALOG)
    assert catalog.inputs["url"] == ISTIO_HELM_REPO
    assert catalog.inputs["clusterId"] == V1
    assert gate_urn(run) in catalog.dependencies
    for app in apps(run).values():
        assert app.inputs["repoName"] == catalog.inputs["name"] == "istio"
        assert depends_on(app, catalog)
        assert_app_contract(run, app)


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_upstream_version_per_line(mock_run, line: str) -> None:
    run = run_istio(mock_run, line=line)
    assert {a.inputs["chartVersion"] for a in apps(run).values()} == {pins_for(line).istio}


def test_install_order_base_cni_istiod_gateway(mock_run) -> None:
    run = run_istio(mock_run, {"gateway": {"enabled": True, "serviceType": "NodePort"}})
    a = apps(run)
    assert set(a) == {"base", "cni", "istiod", "gateway"}
    assert depends_on(a["cni"], a["base"])
    assert depends_on(a["istiod"], a["base"]) and depends_on(a["istiod"], a["cni"])
    assert depends_on(a["gateway"], a["istiod"])
    assert a["gateway"].inputs["namespace"] == "istio-ingress"


def test_gateway_optional(mock_run) -> None:
    assert set(apps(run_istio(mock_run))) == {"base", "cni", "istiod"}


def test_cni_uses_rke2_paths_and_chains(mock_run) -> None:
    run = run_istio(mock_run)
    cni = apps(run)["cni"]
    assert cni.inputs["namespace"] == "kube-system"  # PSA-exempt under rancher-restricted
    v = values(cni)
    assert v["cniBinDir"] == "/opt/cni/bin"
    assert v["cniConfDir"] == "/etc/cni/net.d"
    assert v["chained"] is True
    assert {"istio-system", "kube-system"} <= set(v["excludeNamespaces"])


def test_istiod_uses_cni_and_restricts_egress(mock_run) -> None:
    v = values(apps(run_istio(mock_run))["istiod"])
    # The istiod chart reads `cni` at the top level (istio 1.28.0 istio-discovery
    # templates/istiod-injector-configmap.yaml:18-19); a `pilot:` key is read by nothing.
    assert v["cni"] == {"enabled": True, "provider": "default"}
    assert "pilot" not in v
    assert v["global"]["proxy"]["privileged"] is False
    assert v["meshConfig"]["outboundTrafficPolicy"]["mode"] == "REGISTRY_ONLY"


def test_egress_weakening_is_named(mock_run) -> None:
    v = values(apps(run_istio(mock_run, {"outboundTrafficPolicy": "ALLOW_ANY"}))["istiod"])
    assert v["meshConfig"]["outboundTrafficPolicy"]["mode"] == "ALLOW_ANY"


def test_mesh_wide_strict_mtls(mock_run) -> None:
    run = run_istio(mock_run)
    (pa,) = custom_resources(run, "PeerAuthentication")
    assert pa.type == "kubernetes:security.istio.io/v1:PeerAuthentication"
    assert pa.inputs["metadata"] == {"name": "default", "namespace": "istio-system"}
    assert pa.inputs["spec"] == {"mtls": {"mode": "STRICT"}}
    assert pa.provider is not None and pa.provider.startswith(run.one(K8S_PROVIDER).urn)
    assert depends_on(pa, apps(run)["istiod"])
    assert gate_urn(run) in pa.dependencies


def test_permissive_mtls_not_offered() -> None:
    rejected_at(lambda: IstioArgs.model_validate({"mtlsMode": "PERMISSIVE"}), "mtlsMode")


def test_network_policies_in_istio_system(mock_run) -> None:
    run = run_istio(mock_run)
    policies = {p.inputs["metadata"]["name"]: p.inputs for p in run.of_type(NETPOL)}
    assert all(p["metadata"]["namespace"] == "istio-system" for p in policies.values())
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}

    def ports(name: str) -> set[int]:
        return {port["port"] for rule in policies[name]["spec"]["ingress"] for port in rule["ports"]}

    assert ports("allow-istiod-xds-from-mesh") == {15012}
    assert policies["allow-istiod-xds-from-mesh"]["spec"]["ingress"][0]["from"] == [{"namespaceSelector": {}}]
    assert ports("allow-istiod-webhook-from-apiserver") == {15017}
    assert ports("allow-istiod-metrics-from-monitoring") == {15014}
    for p in run.of_type(NETPOL):
        assert gate_urn(run) in p.dependencies


def test_network_policies_can_be_left_to_the_platform(mock_run) -> None:
    assert run_istio(mock_run, {"networkPolicies": False}).of_type(NETPOL) == []


def test_needs_the_kubernetes_provider(mock_run) -> None:
    errors: list[Exception] = []

    def build(h):
        try:
            Istio("istio", IstioArgs(enabled=True), h)
        except ValueError as exc:
            errors.append(exc)

    run = mock_run(program(build, with_provider=False), mocks=mocks())
    assert errors and "Kubernetes provider" in str(errors[0])
    assert run.of_type(CATALOG) == []


def test_internal_chart_mirror(mock_run) -> None:
    run = run_istio(mock_run, {"helmRepoUrl": "https://charts.internal.example.com/istio"})
    assert run.one(CATALOG).inputs["url"] == "https://charts.internal.example.com/istio"
    rejected_at(
        lambda: IstioArgs.model_validate({"helmRepoUrl": "http://charts.internal.example.com/istio"}),
        "helmRepoUrl",
    )
