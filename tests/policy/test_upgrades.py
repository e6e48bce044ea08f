"""NSA-5.4: no API versions Kubernetes no longer serves, no obsolete cluster components."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.policy_builders import POD_TYPES, analyze, names, restricted_spec, wrap


@pytest.mark.parametrize(
    ("resource_type", "removed"),
    [
        ("kubernetes:extensions/v1beta1:Ingress", True),
        ("kubernetes:networking.k8s.io/v1beta1:Ingress", True),
        ("kubernetes:policy/v1beta1:PodSecurityPolicy", True),
        ("kubernetes:policy/v1beta1:PodDisruptionBudget", True),
        ("kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRole", True),
        ("kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler", True),
        ("kubernetes:flowcontrol.apiserver.k8s.io/v1beta3:FlowSchema", True),
        ("kubernetes:storage.k8s.io/v1beta1:CSIStorageCapacity", True),
        ("kubernetes:apps/v1beta2:DeploymentPatch", True),
        ("kubernetes:networking.k8s.io/v1:Ingress", False),
        ("kubernetes:policy/v1:PodDisruptionBudget", False),
        ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", False),
        ("kubernetes:storage.k8s.io/v1beta1:VolumeAttributesClass", False),
        ("kubernetes:core/v1:ConfigMap", False),
        ("rancher2:index/project:Project", False),
    ],
)
def test_removed_api_versions(resource_type: str, removed: bool) -> None:
    props: dict[str, Any] = {"metadata": {"name": "x", "namespace": "team-a"}}
    got = names(analyze(resource_type, props)) & {"removed-api-versions"}
    assert got == ({"removed-api-versions"} if removed else set())


@pytest.mark.parametrize(
    ("image", "obsolete"),
    [
        ("docker.io/kubernetesui/dashboard:v2.7.0", True),
        ("registry.example.com/mirror/kubernetes-dashboard-api:1.10.1", True),
        ("gcr.io/kubernetes-helm/tiller:v2.17.0", True),
        ("registry.example.com/team/app:1.4.2", False),
    ],
)
def test_obsolete_components_are_advisory(image: str, obsolete: bool) -> None:
    spec = restricted_spec()
    spec["containers"][0]["image"] = image
    violations = analyze(POD_TYPES["Deployment"], wrap("Deployment", spec))
    assert names(violations) == ({"no-obsolete-cluster-components"} if obsolete else set())
    assert all(v.enforcement_level == "advisory" for v in violations)


def test_removed_api_versions_are_advisory() -> None:
    (v,) = analyze("kubernetes:policy/v1beta1:PodSecurityPolicy", {"metadata": {"name": "restricted"}})
    assert v.policy_name == "removed-api-versions" and v.enforcement_level == "advisory"


# -- issue 11: Tiller and the Dashboard by labels, flags and Services, whatever the image --------------


@pytest.mark.parametrize(
    ("labels", "args", "expected"),
    [
        ({"app.kubernetes.io/name": "tiller"}, [], True),
        ({"app": "helm", "name": "tiller"}, [], True),
        ({"k8s-app": "kubernetes-dashboard"}, [], True),
        ({}, ["--enable-skip-login"], True),
        ({}, ["--enable-insecure-login=true"], True),
        ({}, ["--enable-skip-login=false"], False),
        ({"app": "helm"}, [], False),  # a Helm-3 managed app is not Tiller
        ({"app.kubernetes.io/name": "web"}, ["--port=8080"], False),
    ],
)
def test_obsolete_components_by_labels_and_flags(
    labels: dict[str, str], args: list[str], expected: bool
) -> None:
    spec = restricted_spec()
    spec["containers"][0]["image"] = "registry.example.com/mirror/app:1.0"
    spec["containers"][0]["args"] = args
    props = wrap("Deployment", spec)
    props["spec"]["template"]["metadata"] = {"labels": labels}
    violations = analyze(POD_TYPES["Deployment"], props)
    assert names(violations) == ({"no-obsolete-cluster-components"} if expected else set())
    assert all(v.enforcement_level == "advisory" and "0x" not in v.message for v in violations)


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ({"metadata": {"name": "tiller-deploy", "namespace": "kube-system"}}, True),
        (
            {"metadata": {"name": "deployer", "namespace": "tools"}, "spec": {"ports": [{"port": 44134}]}},
            True,
        ),
        (
            {
                "metadata": {"name": "ui", "namespace": "tools"},
                "spec": {"selector": {"k8s-app": "kubernetes-dashboard"}},
            },
            True,
        ),
        ({"metadata": {"name": "web", "namespace": "tools"}, "spec": {"ports": [{"port": 443}]}}, False),
    ],
)
def test_obsolete_component_services(service: dict[str, Any], expected: bool) -> None:
    violations = analyze(
        "kubernetes:core/v1:Service",
        service,
        config={"no-obsolete-component-services": {"exemptNamespaces": []}},
    )
    found = {v.policy_name for v in violations} & {"no-obsolete-component-services"}
    assert found == ({"no-obsolete-component-services"} if expected else set())
