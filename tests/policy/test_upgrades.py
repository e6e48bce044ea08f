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
