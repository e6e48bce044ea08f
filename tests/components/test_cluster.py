"""HardenedCluster under the mock engine: every hardened default on the registered inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components.cluster import HardenedCluster, HardenedClusterArgs
from hardened_rke2.capture import EchoMocks, ProgramRun, RecordingMonitor, run_program
from tests.support.validation import leading_path, rejected_at

CLUSTER = "rancher2:index/clusterV2:ClusterV2"
SYNC = "rancher2:index/clusterSync:ClusterSync"
TOKEN = "rancher2:index/token:Token"
K8S = "pulumi:providers:kubernetes"
V133 = "v1.33.5+rke2r1"


def custom_args(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "dev",
        "kubernetesVersion": V133,
        "production": False,
        "nodePools": [{"name": "all", "roles": ["etcd", "controlPlane", "worker"]}],
    }
    base.update(over)
    return base


def vsphere_driver() -> dict[str, Any]:
    return {
        "type": "vsphere",
        "cloneFrom": "/dc/vm/tpl",
        "datacenter": "/dc",
        "datastore": "/dc/datastore/ds",
        "networks": ["/dc/network/n"],
    }


def prod_args(**over: Any) -> dict[str, Any]:
    pools = [
        {
            "name": n,
            "roles": [r],
            "quantity": q,
            "cloudCredentialSecretName": "cattle-global-data:cc-1",
            "driver": vsphere_driver(),
        }
        for n, r, q in (("etcd", "etcd", 3), ("cp", "controlPlane", 2), ("workers", "worker", 3))
    ]
    base: dict[str, Any] = {
        "name": "prod",
        "kubernetesVersion": V133,
        "nodePools": pools,
        "etcd": {
            "s3": {
                "bucket": "snaps",
                "endpoint": "s3.example.com",
                "cloudCredentialName": "cattle-global-data:cc-s3",
            }
        },
    }
    base.update(over)
    return base


@pytest.fixture
def run(mock_run: Callable[..., ProgramRun]) -> Callable[..., ProgramRun]:
    def _run(args: dict[str, Any], **kw: Any) -> ProgramRun:
        box: dict[str, HardenedCluster] = {}

        def program() -> None:
            box["c"] = HardenedCluster(
                args["name"], args, rancher_url=kw.pop("rancher_url", "https://rancher.example.com"), **kw
            )

        result = mock_run(program)
        result.component = box["c"]  # type: ignore[attr-defined]
        return result

    return _run


def _global(run: ProgramRun) -> dict[str, Any]:
    return yaml.safe_load(run.one(CLUSTER).inputs["rkeConfig"]["machineGlobalConfig"])


def test_cluster_v2_carries_the_hardened_settings(run: Callable[..., ProgramRun]) -> None:
    r = run(custom_args())
    c = r.one(CLUSTER)
    i = c.inputs
    assert c.protect is True
    assert dict(c.custom_timeouts) == {"create": "90m", "update": "90m", "delete": "60m"}
    assert i["name"] == "dev" and i["fleetNamespace"] == "fleet-default"
    assert i["kubernetesVersion"] == V133
    assert i["enableNetworkPolicy"] is True
    assert i["defaultPodSecurityAdmissionConfigurationTemplateName"] == "rancher-restricted"
    assert i["localAuthEndpoint"] == {"enabled": False}
    rke = i["rkeConfig"]
    assert "machinePools" not in rke  # custom cluster
    assert "registries" not in rke and "machineSelectorFiles" not in rke  # defaults: none, inline audit
    selectors = [yaml.safe_load(s["config"]) for s in rke["machineSelectorConfigs"]]
    assert {"protect-kernel-defaults": True} in selectors
    assert all("machineLabelSelector" not in s for s in rke["machineSelectorConfigs"])
    g = _global(r)
    assert g["profile"] == "cis" and g["etcd-expose-metrics"] is False and g["cni"] == ["canal"]
    assert g["write-kubeconfig-mode"] == "0600"
    api = dict(a.split("=", 1) for a in g["kube-apiserver-arg"])
    assert api["anonymous-auth"] == "false" and api["tls-min-version"] == "VersionTLS12"
    assert (
        int(api["audit-log-maxage"]) >= 30
        and api["audit-log-maxbackup"] == "10"
        and api["audit-log-maxsize"] == "100"
    )
    policy = yaml.safe_load(g["audit-policy-file"])  # inline delivery (default)
    assert policy["kind"] == "Policy" and policy["omitStages"] == ["RequestReceived"]
    etcd = rke["etcd"]
    assert etcd["snapshotScheduleCron"] == "0 */6 * * *" and etcd["snapshotRetention"] == 12
    assert etcd["disableSnapshots"] is False and "s3Config" not in etcd
    up = rke["upgradeStrategy"]
    assert up["controlPlaneConcurrency"] == "1" and up["workerConcurrency"] == "10%"
    for drain in (up["controlPlaneDrainOptions"], up["workerDrainOptions"]):
        assert drain["enabled"] is True and drain["force"] is False and drain["deleteEmptyDirData"] is True


def test_secrets_and_gate(run: Callable[..., ProgramRun]) -> None:
    r = run(custom_args())
    c = r.one(CLUSTER)
    assert {"clusterRegistrationToken", "kubeConfig"} <= set(c.additional_secret_outputs)
    sync = r.one(SYNC)
    assert dict(sync.custom_timeouts)["create"] == "90m"
    token = r.one(TOKEN)
    assert token.inputs["ttl"] == 24 * 3600 and token.inputs["renew"] is True
    assert sync.urn in token.dependencies
    assert {"token", "secretKey"} <= set(token.additional_secret_outputs)
    provider = r.one(K8S)
    assert sync.urn in provider.dependencies
    assert provider.is_secret("kubeconfig")
    comp = r.component  # type: ignore[attr-defined]
    assert comp.handle.ready is comp.sync
    assert comp.handle.depends_on() == [comp.sync]
    assert comp.handle.kubernetes_provider is comp.kubernetes_provider
    assert comp.handle.network_isolation is True and comp.handle.kubernetes_version == V133
    assert comp.host_prep_script and "etcd" in comp.host_prep_script


def test_outputs_are_secret(mock_run: Callable[..., ProgramRun]) -> None:
    import pulumi

    def program() -> None:
        c = HardenedCluster("dev", custom_args(), rancher_url="https://rancher.example.com")
        pulumi.export("kubeconfig", c.kubeconfig)
        pulumi.export("registrationCommand", c.registration_command)

    mocks = EchoMocks(
        extra_outputs={
            CLUSTER: lambda a: {
                "clusterV1Id": "c-m-abc",
                "clusterRegistrationToken": {"nodeCommand": "curl x | sh"},
            },
            TOKEN: lambda a: {"token": "token-abc:secret"},
        }
    )
    r = mock_run(program, mocks=mocks, preview=False)
    out = r.stack_outputs
    from pulumi.runtime import rpc

    for key in ("kubeconfig", "registrationCommand"):
        assert out[key][rpc._special_sig_key] == rpc._special_secret_sig
    kubeconfig = yaml.safe_load(out["kubeconfig"]["value"])
    assert (
        kubeconfig["clusters"][0]["cluster"]["server"] == "https://rancher.example.com/k8s/clusters/c-m-abc"
    )
    assert kubeconfig["users"][0]["user"]["token"] == "token-abc:secret"
    assert out["registrationCommand"]["value"] == "curl x | sh"


def test_node_driver_pools_and_s3_with_existing_credential(run: Callable[..., ProgramRun]) -> None:
    r = run(prod_args())
    rke = r.one(CLUSTER).inputs["rkeConfig"]
    pools = {p["name"]: p for p in rke["machinePools"]}
    assert pools["etcd"]["quantity"] == 3 and pools["etcd"]["etcdRole"] is True
    assert pools["cp"]["controlPlaneRole"] is True and pools["workers"]["workerRole"] is True
    assert len(r.of_type("rancher2:index/machineConfigV2:MachineConfigV2")) == 3
    s3 = rke["etcd"]["s3Config"]
    assert s3["skipSslVerify"] is False and s3["cloudCredentialName"] == "cattle-global-data:cc-s3"
    assert s3["bucket"] == "snaps" and s3["endpoint"] == "s3.example.com"
    assert r.component.host_prep_script is None  # type: ignore[attr-defined]


def test_s3_keys_become_a_secret_cloud_credential(run: Callable[..., ProgramRun]) -> None:
    args = prod_args(
        etcd={
            "s3": {
                "bucket": "snaps",
                "endpoint": "https://s3.example.com",
                "accessKey": "AKIA1",
                "secretKey": "s3cr3t",
            }
        }
    )
    r = run(args)
    cred = r.one("rancher2:index/cloudCredential:CloudCredential")
    assert cred.is_secret("s3CredentialConfig.accessKey") and cred.is_secret("s3CredentialConfig.secretKey")
    assert cred.inputs["s3CredentialConfig"]["defaultSkipSslVerify"] is False
    cluster = r.one(CLUSTER)
    assert cred.urn in cluster.dependencies  # destroy deletes the cluster before its credential
    assert cluster.inputs["rkeConfig"]["etcd"]["s3Config"]["endpoint"] == "s3.example.com"


def test_audit_policy_via_selector_files(run: Callable[..., ProgramRun]) -> None:
    r = run(custom_args(audit={"delivery": "secret"}))
    secret = r.one("rancher2:index/secretV2:SecretV2")
    assert secret.inputs["clusterId"] == "local" and secret.inputs["namespace"] == "fleet-default"
    assert secret.inputs["annotations"] == {"rke.cattle.io/object-authorized-for-clusters": "dev"}
    assert yaml.safe_load(secret.inputs["data"]["audit-policy.yaml"])["kind"] == "Policy"
    rke = r.one(CLUSTER).inputs["rkeConfig"]
    (files,) = rke["machineSelectorFiles"]
    assert files["machineLabelSelector"]["matchLabels"] == {"rke.cattle.io/control-plane-role": "true"}
    item = files["fileSources"][0]["secret"]["items"][0]
    assert item["permissions"] == "0600" and item["dynamic"] is True
    assert item["path"] == "/etc/rancher/rke2/audit-policy.yaml"
    assert "audit-policy-file" not in _global(r)


def test_custom_pod_security_template(run: Callable[..., ProgramRun]) -> None:
    psa = {
        "custom": {
            "name": "team-restricted",
            "exemptions": [{"namespace": "cattle-system", "reason": "Rancher agent needs host access"}],
        }
    }
    r = run(custom_args(podSecurity=psa))
    t = r.one(
        "rancher2:index/podSecurityAdmissionConfigurationTemplate:PodSecurityAdmissionConfigurationTemplate"
    )
    d = t.inputs["defaults"]
    assert d["enforce"] == d["audit"] == d["warn"] == "restricted"
    assert t.inputs["exemptions"]["namespaces"] == ["cattle-system"]
    assert "Rancher agent" in next(iter(t.inputs["annotations"].values()))
    c = r.one(CLUSTER)
    assert c.inputs["defaultPodSecurityAdmissionConfigurationTemplateName"] == "team-restricted"
    assert t.urn in c.dependencies


@pytest.mark.parametrize(
    "psa",
    [
        {"template": "rancher-privileged"},
        {"custom": {"name": "x", "enforce": "baseline"}},
        {"custom": {"name": "x", "exemptions": [{"namespace": "ns"}]}},
        {"custom": {"name": "rancher-restricted"}},
    ],
)
def test_weak_pod_security_is_rejected(psa: dict[str, Any]) -> None:
    rejected_at(lambda: HardenedClusterArgs.model_validate(custom_args(podSecurity=psa)), "podSecurity")


def test_registries_mirrors_and_system_default_registry(run: Callable[..., ProgramRun]) -> None:
    reg = {
        "systemDefaultRegistry": "reg.example.com",
        "mirrors": [{"hostname": "docker.io", "endpoints": ["https://reg.example.com"]}],
        "configs": [{"hostname": "reg.example.com", "tlsSecretName": "reg-tls"}],
    }
    r = run(custom_args(registries=reg))
    rke = r.one(CLUSTER).inputs["rkeConfig"]
    assert rke["registries"]["mirrors"][0]["endpoints"] == ["https://reg.example.com"]
    assert rke["registries"]["configs"][0]["insecure"] is False
    assert _global(r)["system-default-registry"] == "reg.example.com"
    assert HardenedClusterArgs.model_validate(
        custom_args(registries=reg)
    ).registries.allowed_registries() == ["reg.example.com"]


def test_cni_choice_and_multus(run: Callable[..., ProgramRun]) -> None:
    assert _global(run(custom_args(network={"cni": "cilium", "multus": True})))["cni"] == ["multus", "cilium"]
    rejected_at(
        lambda: HardenedClusterArgs.model_validate(custom_args(network={"cni": "flannel"})), "network", "cni"
    )


def test_authorized_endpoint_requires_fqdn_and_ca(run: Callable[..., ProgramRun]) -> None:
    with pytest.raises(ValidationError, match="fqdn and caCerts"):
        HardenedClusterArgs.model_validate(
            custom_args(authorizedEndpoint={"enabled": True, "fqdn": "k8s.example.com"})
        )
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    r = run(custom_args(authorizedEndpoint={"enabled": True, "fqdn": "k8s.example.com", "caCerts": ca}))
    assert r.one(CLUSTER).inputs["localAuthEndpoint"] == {
        "enabled": True,
        "fqdn": "k8s.example.com",
        "caCerts": ca.strip(),
    }


def test_protect_can_be_disabled_by_name(run: Callable[..., ProgramRun]) -> None:
    assert run(custom_args(protect=False)).one(CLUSTER).protect is False


@pytest.mark.parametrize(
    "over",
    [
        {
            "etcd": {
                "s3": {
                    "bucket": "b",
                    "endpoint": "s3.example.com",
                    "cloudCredentialName": "c",
                    "skipSslVerify": True,
                }
            }
        },
        {"etcd": {"s3": {"bucket": "b", "endpoint": "http://s3.example.com", "cloudCredentialName": "c"}}},
        {"etcd": {"s3": {"bucket": "b", "endpoint": "s3.example.com"}}},
        {"etcd": {"snapshotRetention": 0}},
        {"etcd": {"snapshotScheduleCron": "every hour"}},
        {"registries": {"configs": [{"hostname": "r.example.com", "insecure": True}]}},
        {"registries": {"mirrors": [{"hostname": "docker.io", "endpoints": ["http://r.example.com"]}]}},
        {"upgrade": {"controlPlaneConcurrency": "3"}},
        {"upgrade": {"workerConcurrency": "100%"}},
        {"kubernetesVersion": "v1.25.16+rke2r1"},
        {"name": "Not_A_Label"},
        {"nodePools": []},
    ],
)
def test_invalid_settings_are_rejected(over: dict[str, Any]) -> None:
    rejected_at(lambda: HardenedClusterArgs.model_validate(custom_args(**over)), *leading_path(over))


def test_production_layout_and_snapshots_are_enforced() -> None:
    bad = prod_args(etcd={})
    bad["nodePools"][0]["quantity"] = 2
    with pytest.raises(ValidationError) as info:
        HardenedClusterArgs.model_validate(bad)
    text = str(info.value)
    assert "odd number of etcd nodes" in text and "etcd.s3" in text


def test_invalid_args_register_nothing() -> None:
    monitor = RecordingMonitor(EchoMocks())

    def program() -> None:
        HardenedCluster("dev", custom_args(rke2={"extraArgs": {"kubelet-arg": {"read-only-port": "10255"}}}))

    with pytest.raises(ValidationError, match="kubeletReadOnlyPort"):
        run_program(program, project="hardened-rke2", stack="t", monitor=monitor)
    assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []


def test_rendering_is_byte_identical_across_runs(run: Callable[..., ProgramRun]) -> None:
    a = run(prod_args()).one(CLUSTER).inputs["rkeConfig"]
    b = run(prod_args()).one(CLUSTER).inputs["rkeConfig"]
    assert a["machineGlobalConfig"] == b["machineGlobalConfig"]
    assert a["machineSelectorConfigs"] == b["machineSelectorConfigs"]


def test_without_rancher_url_the_cluster_kubeconfig_is_used(run: Callable[..., ProgramRun]) -> None:
    r = run(custom_args(), rancher_url=None)
    assert r.of_type(TOKEN) == []
    assert r.one(K8S).is_secret("kubeconfig")


# --- one test per constructor step -------------------------------------------------------------------


def test_step_rke2_extra_keys() -> None:
    from components.cluster import rke2_extra_keys

    a = HardenedClusterArgs.model_validate(custom_args(network={"clusterCidr": "10.42.0.0/16"}))
    keys = rke2_extra_keys(a)
    assert keys["cluster-cidr"] == "10.42.0.0/16" and "service-cidr" not in keys
    assert ("audit-policy-file" in keys) == (a.audit.delivery == "inline")


def test_step_audit_policy_files_and_registries() -> None:
    from components.cluster import audit_policy_files, registries_config

    assert audit_policy_files(None) is None
    a = HardenedClusterArgs.model_validate(custom_args())
    assert registries_config(a.registries) is None
    mirrored = HardenedClusterArgs.model_validate(
        custom_args(registries={"mirrors": [{"hostname": "docker.io", "endpoints": ["https://m.example"]}]})
    )
    regs = registries_config(mirrored.registries)
    assert regs is not None and regs.configs is None and regs.mirrors is not None


def test_step_etcd_s3_config_without_a_credential_uses_the_named_one() -> None:
    from components.cluster import etcd_s3_config

    a = HardenedClusterArgs.model_validate(custom_args())
    assert etcd_s3_config(a, None) is None


def test_step_registration_commands() -> None:
    from components.cluster import registration_commands

    a = HardenedClusterArgs.model_validate(custom_args())
    commands = registration_commands(a, "curl x | sh -s -")
    assert commands and all(c.startswith("curl x | sh -s - --") for c in commands.values())


def test_cluster_name_follows_kubernetes_dns_label_rule() -> None:
    # Accepted-set change: a leading digit is a valid DNS-1123 label (apimachinery IsDNS1123Label).
    assert HardenedClusterArgs.model_validate(custom_args(name="1st-cluster")).name == "1st-cluster"
    HardenedClusterArgs.model_validate(custom_args(name="c" * 63))
    for bad in ("c" * 64, "Prod", "-dev", "dev-"):
        with pytest.raises(ValidationError, match=r"is not a DNS-1123 label"):
            HardenedClusterArgs.model_validate(custom_args(name=bad))


def test_pool_names_and_label_keys_follow_kubernetes_rules() -> None:
    # Accepted-set change: pool names are now capped at 63 characters, label-key names too.
    long_pool = [{"name": "p" * 64, "roles": ["etcd", "controlPlane", "worker"]}]
    with pytest.raises(ValidationError, match=r"nodePools\.0\.name"):
        HardenedClusterArgs.model_validate(custom_args(nodePools=long_pool))
    labelled = [{"name": "all", "roles": ["etcd", "controlPlane", "worker"], "labels": {"k" * 64: "v"}}]
    with pytest.raises(ValidationError, match="is not a valid label key"):
        HardenedClusterArgs.model_validate(custom_args(nodePools=labelled))
    ok = [
        {
            "name": "all",
            "roles": ["etcd", "controlPlane", "worker"],
            "labels": {"example.com/" + "k" * 63: "v"},
        }
    ]
    HardenedClusterArgs.model_validate(custom_args(nodePools=ok))
