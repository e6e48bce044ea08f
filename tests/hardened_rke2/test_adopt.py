"""`hardened-rke2 adopt`: Cluster objects -> stack config, import file and hardening plan, checked by
previewing the written stack with the offline engine and the policy pack (round trip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hardened_rke2.adopt import PROJECT, engine_urns, preview_adopted
from hardened_rke2.adoption.compare import changes, explained
from hardened_rke2.adoption.importfile import import_urns
from hardened_rke2.adoption.mapping import adopt
from hardened_rke2.adoption.source import AdoptionInputError, parse_source
from tests.support.adoption import (
    FIXTURES,
    Adopted,
    cluster_from_inputs,
    cluster_v2_inputs,
    load_fixture,
    preview_with_pack,
    run_adopt,
)
from tests.support.hostile_yaml import alias_bomb

CASES = {
    "default-custom.yaml": "edge-custom",
    "node-driver-ec2.yaml": "shop",
    "air-gapped.yaml": "vault-dc",
}


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Adopted, Any]]:
    """Every fixture adopted once, and its stack previewed with the pack."""
    out = {}
    for fixture, name in CASES.items():
        result = run_adopt(FIXTURES / fixture, tmp_path_factory.mktemp(name))
        assert result.code == 0, result.err
        out[fixture] = (result, preview_with_pack(result, name))
    return out


def _kinds(plan: dict[str, Any], kind: str) -> set[str]:
    return {f["key"] for f in plan["findings"] if f["kind"] == kind}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_every_managed_clusterv2_input_matches_the_cluster_or_is_named_in_the_plan(
    fixture: str, adopted: dict[str, tuple[Adopted, Any]]
) -> None:
    result, preview = adopted[fixture]
    name = CASES[fixture]
    inputs = cluster_v2_inputs(preview, name, result.imports, name)
    cluster = load_fixture(fixture)
    plan = result.plan
    found = changes(cluster, inputs)
    # The command's own verification and this independent recomputation agree.
    assert [c["path"] for c in plan["firstUpChanges"]] == [c[0] for c in found]
    assert plan["unexplainedChanges"] == []
    covered = adopt(parse_source(yaml.safe_load((FIXTURES / fixture).read_text()))).covered
    assert [c for c in found if not explained(c[0], covered)] == []
    unrepresentable = [f for f in plan["findings"] if f["kind"] == "unrepresentable"]
    # A change exists only where the plan says the blueprint cannot carry the cluster's value.
    assert bool(found) <= bool(unrepresentable)


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_the_pack_reports_exactly_the_weakenings_the_plan_lists(
    fixture: str, adopted: dict[str, tuple[Adopted, Any]]
) -> None:
    result, preview = adopted[fixture]
    plan = result.plan
    reported = {v.policy_name for v in preview.violations}
    assert reported == set(plan["expectedPolicies"])
    for f in plan["findings"]:
        if f["kind"] != "weakening":
            continue
        tags = {t for v in preview.violations if v.policy_name in f["policies"] for t in v.tags}
        assert set(f["nsa"]) <= tags, (f["key"], f["nsa"], tags)


def test_default_custom_cluster(adopted: dict[str, tuple[Adopted, Any]]) -> None:
    result, _ = adopted["default-custom.yaml"]
    plan, cluster = result.plan, result.stack["hardened-rke2:cluster"]
    assert _kinds(plan, "weakening") == {"network.projectNetworkIsolation", "addons"}
    assert {
        "rke2.profile",
        "rke2.protect-kernel-defaults",
        "rke2.audit-policy-file",
        "podSecurity.template",
        "rke2.kubelet-arg/pod-max-pids",
        "rke2.kube-apiserver-arg/tls-cipher-suites",
    } <= _kinds(plan, "unrepresentable")
    assert cluster["network"] == {"projectNetworkIsolation": False}
    assert cluster["etcd"] == {"snapshotScheduleCron": "0 */5 * * *", "snapshotRetention": 5}
    assert cluster["upgrade"] == {"workerConcurrency": "1", "drain": False}
    assert cluster["labels"] == {"env": "edge"}  # Rancher's own annotations are left to Rancher
    assert "annotations" not in cluster
    assert cluster["production"] is False
    # the order puts no-restart changes first, machine replacements last
    stages = [f["stage"] for f in plan["findings"]]
    assert stages == sorted(stages)


def test_node_driver_cluster_keeps_its_weakenings_as_named_switches(
    adopted: dict[str, tuple[Adopted, Any]],
) -> None:
    result, preview = adopted["node-driver-ec2.yaml"]
    cluster = result.stack["hardened-rke2:cluster"]
    assert cluster["rke2"]["weakenings"] == {"kubeletReadOnlyPort": True}
    assert cluster["rke2"]["extraArgs"] == {"kubelet-arg": {"read-only-port": "10255"}}
    pools = {p["name"]: p for p in cluster["nodePools"]}
    assert [p["roles"] for p in cluster["nodePools"]] == [["etcd"], ["controlPlane"], ["worker"]]
    assert pools["web"]["driver"]["allowPublicIp"] is True and pools["web"]["driver"]["allowImdsV1"] is True
    assert "allowPublicIp" not in pools["etcd"]["driver"]
    assert pools["web"]["unhealthyNodeTimeout"] == 600 and pools["web"]["maxUnhealthy"] == "1"
    assert "production" not in cluster  # 3 etcd, 2 control plane, role-split, S3 snapshots
    machine_urns = {v.resource_name for v in preview.violations if v.policy_name == "machine-no-public-ip"}
    assert machine_urns == {"shop-web"}
    plan = result.plan
    assert [m["id"] for m in plan["machineConfigs"]] == [
        "fleet-default/nc-shop-etcd-x7k2m",
        "fleet-default/nc-shop-cp-4wq9z",
        "fleet-default/nc-shop-web-p3n8d",
    ]
    assert all(
        f["rolls"] == "machines" for f in plan["findings"] if f["key"].startswith("nodePools.web.driver")
    )
    assert any("MachineConfigV2 has no importer" in n for n in plan["notes"])


def test_air_gapped_cluster_reproduces_its_registries(adopted: dict[str, tuple[Adopted, Any]]) -> None:
    result, _ = adopted["air-gapped.yaml"]
    cluster = result.stack["hardened-rke2:cluster"]
    reg = cluster["registries"]
    assert reg["systemDefaultRegistry"] == "registry.vault.internal:5000"
    assert reg["configs"][0]["caBundle"].startswith("-----BEGIN CERTIFICATE-----")  # base64 []byte decoded
    assert [m["hostname"] for m in reg["mirrors"]] == ["docker.io", "registry.rancher.com"]
    assert cluster["rke2"]["tlsMinVersion"] == "VersionTLS13"
    assert cluster["audit"]["rules"][0]["level"] == "Metadata"
    plan = result.plan
    assert {"registries.mirrors.quay.io", "rkeConfig.chartValues"} <= _kinds(plan, "unrepresentable")
    assert "caBundle: |" in result.stack_text  # PEM stays readable in the stack file


def test_an_already_hardened_cluster_adopts_without_any_change(tmp_path: Path) -> None:
    stack = {
        "hardened-rke2:kind": "cluster",
        "hardened-rke2:cluster": {
            "name": "fortress",
            "kubernetesVersion": "v1.34.1+rke2r1",
            "nodePools": [
                {"name": "etcd", "roles": ["etcd"], "quantity": 3},
                {"name": "cp", "roles": ["controlPlane"], "quantity": 2},
                {"name": "workers", "roles": ["worker"], "quantity": 3},
            ],
            "rke2": {"selinux": True},
            "etcd": {
                "s3": {
                    "bucket": "fortress-etcd",
                    "endpoint": "s3.example.com",
                    "cloudCredentialName": "cattle-global-data:cc-s3",
                }
            },
            "registries": {
                "systemDefaultRegistry": "registry.example.com",
                "mirrors": [{"hostname": "docker.io", "endpoints": ["https://registry.example.com"]}],
            },
        },
    }
    text = yaml.safe_dump({"config": stack})
    original = preview_adopted(text, "fortress")
    assert original.status == "ok", original.error or original.problems
    inputs = cluster_v2_inputs(original, "fortress", _imports("fortress"), "fortress")
    cluster_file = tmp_path / "fortress.yaml"
    cluster_file.write_text(yaml.safe_dump(cluster_from_inputs(inputs)), encoding="utf-8")

    result = run_adopt(cluster_file, tmp_path)
    assert result.code == 0, result.err
    plan = result.plan
    assert plan["firstUpChanges"] == []
    assert _kinds(plan, "unrepresentable") == set()
    assert _kinds(plan, "weakening") == {"addons"}
    assert _kinds(plan, "difference") == {"cluster.production"}  # the custom nodes are not in the object
    again = preview_adopted(result.stack_text, "fortress")
    assert cluster_v2_inputs(again, "fortress", result.imports, "fortress") == inputs


def _imports(name: str) -> dict[str, Any]:
    from hardened_rke2.adoption.importfile import import_file
    from hardened_rke2.adoption.mapping import Adoption

    return import_file(Adoption(cluster_name=name, namespace="fleet-default", rancher_line="2.13", config={}))


def test_import_file_names_the_program_urns_and_rancher_ids(adopted: dict[str, tuple[Adopted, Any]]) -> None:
    result, preview = adopted["node-driver-ec2.yaml"]
    doc = result.imports
    allowed = {"type", "name", "id", "parent", "logicalName", "component"}  # import.go importSpec json tags
    assert all(set(r) <= allowed for r in doc["resources"])
    cluster = next(r for r in doc["resources"] if r["type"] == "rancher2:index/clusterV2:ClusterV2")
    assert cluster["id"] == "fleet-default/shop" and cluster["logicalName"] == "shop"
    component = next(r for r in doc["resources"] if r.get("component"))
    assert "id" not in component and cluster["parent"] == component["name"]
    urns = import_urns(doc, stack="shop", project=PROJECT)
    program = engine_urns(preview.resources, stack="shop", project=PROJECT)
    assert set(urns.values()) <= set(program)
    assert urns["shop"] == (
        "urn:pulumi:shop::hardened-rke2::hardened-rke2:cluster:HardenedCluster$rancher2:index/clusterV2:ClusterV2::shop"
    )


def test_engine_urns_chain_every_ancestor_type_like_the_engine() -> None:
    # pulumi sdk/go/common/resource/urn/urn.go New: parent's qualified type + "$" + type; root stack left out.
    result = preview_adopted(
        yaml.safe_dump(
            {
                "config": {
                    "hardened-rke2:cluster": {
                        "name": "x1",
                        "production": False,
                        "nodePools": [{"name": "a", "roles": ["etcd", "controlPlane", "worker"]}],
                        "podSecurity": {"custom": {"name": "x1-restricted"}},
                    }
                }
            }
        ),
        "x1",
    )
    urns = engine_urns(result.resources, stack="x1", project=PROJECT)
    assert (
        "urn:pulumi:x1::hardened-rke2::hardened-rke2:cluster:HardenedCluster$hardened-rke2:pod_security:"
        "PodSecurityTemplate$rancher2:index/podSecurityAdmissionConfigurationTemplate:"
        "PodSecurityAdmissionConfigurationTemplate::x1-pod-security-psa"
    ) in urns
    assert "urn:pulumi:x1::hardened-rke2::hardened-rke2:cluster:HardenedCluster::x1" in urns


def _write(tmp: Path, data: Any) -> Path:
    p = tmp / "in.yaml"
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")
    return p


def _fixture_with(edit: Any, name: str = "default-custom.yaml") -> dict[str, Any]:
    data = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    edit(data)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("- just\n- a list\n", "expected a Cluster object"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "apiVersion/kind: v1 ConfigMap is neither"),
        (_fixture_with(lambda d: d["metadata"].update(namespace="fleet-local")), "metadata.namespace"),
        (_fixture_with(lambda d: d["spec"].pop("rkeConfig")), "spec.rkeConfig: missing"),
        (
            _fixture_with(lambda d: d["spec"].update(kubernetesVersion="v1.33.5+k3s1")),
            "spec.kubernetesVersion",
        ),
        (
            _fixture_with(lambda d: d["spec"].update(kubernetesVersion="v1.28.9+rke2r1")),
            "spec.kubernetesVersion: RKE2 1.28 is outside",
        ),
        (
            _fixture_with(lambda d: d["items"].pop(), "node-driver-ec2.yaml"),
            r"machinePools\[2\].machineConfigRef: Amazonec2Config nc-shop-web-p3n8d is not in the input",
        ),
        (
            _fixture_with(
                lambda d: d["items"][0]["spec"]["rkeConfig"]["machinePools"][0]["machineConfigRef"].update(
                    kind="HarvesterConfig"
                ),
                "node-driver-ec2.yaml",
            ),
            r"machinePools\[0\].machineConfigRef.kind: HarvesterConfig",
        ),
        (
            _fixture_with(lambda d: d["items"][1].pop("securityGroup"), "node-driver-ec2.yaml"),
            "Amazonec2Config nc-shop-etcd-x7k2m.securityGroup",
        ),
    ],
)
def test_bad_input_names_the_field_and_exits_2(tmp_path: Path, data: Any, message: str) -> None:
    result = run_adopt(_write(tmp_path, data), tmp_path)
    assert result.code == 2
    assert "Traceback" not in result.err
    import re

    assert re.search(message, result.err), result.err
    assert not result.stack_file.exists()


def test_parse_source_refuses_two_clusters() -> None:
    one = load_fixture("default-custom.yaml")
    with pytest.raises(AdoptionInputError, match=r"exactly one provisioning\.cattle\.io/v1 Cluster, found 2"):
        parse_source({"kind": "List", "items": [one, one]})


def test_existing_outputs_are_not_overwritten_without_force(tmp_path: Path) -> None:
    first = run_adopt(FIXTURES / "default-custom.yaml", tmp_path, "--no-verify")
    assert first.code == 0
    before = first.stack_text
    first.stack_file.write_text(before + "# edited\n", encoding="utf-8")
    again = run_adopt(FIXTURES / "default-custom.yaml", tmp_path, "--no-verify")
    assert again.code == 2 and "exists (fix: choose another path or pass --force)" in again.err
    assert again.stack_text.endswith("# edited\n")
    forced = run_adopt(FIXTURES / "default-custom.yaml", tmp_path, "--no-verify", "--force")
    assert forced.code == 0 and forced.stack_text == before
    assert forced.plan["firstUpChanges"] is None  # not verified


def test_inline_machine_credentials_are_never_copied(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    def add(d: dict[str, Any]) -> None:
        d["items"][1].update(accessKey="AKIAEXAMPLE0000000", secretKey=secret)

    result = run_adopt(_write(tmp_path, _fixture_with(add, "node-driver-ec2.yaml")), tmp_path)
    assert result.code == 0, result.err
    for text in (
        result.stack_text,
        result.plan_file.read_text(),
        result.import_file.read_text(),
        result.out,
        result.err,
    ):
        assert secret not in text and "AKIAEXAMPLE0000000" not in text
    keys = _kinds(result.plan, "unrepresentable")
    assert {"nodePools.etcd.driver.accessKey", "nodePools.etcd.driver.secretKey"} <= keys


def test_markdown_plan_orders_stages_and_cites_rancher(tmp_path: Path) -> None:
    from hardened_rke2.cli import main

    out = tmp_path / "shop.plan.md"
    code = main(
        [
            "adopt",
            "--cluster",
            str(FIXTURES / "node-driver-ec2.yaml"),
            "--out",
            str(tmp_path / "Pulumi.shop.yaml"),
            "--import-file",
            str(tmp_path / "i.json"),
            "--plan",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text()
    assert text.index("### Stage 1") < text.index("### Stage 2") < text.index("### Stage 3")
    assert "pkg/controllers/provisioningv2/provisioningcluster/template.go" in text
    assert "pkg/capr/planner/config.go:320-333" in text
    assert "`cluster.nodePools[2].driver.allowPublicIp`" in text
    assert "set `cluster.rke2.extraArgs.kubelet-arg.read-only-port` back to read-only-port=0" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (alias_bomb(), "aliases expand to more than"),
        (b"\xff\xfe not utf-8", "is not UTF-8"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        (None, "cannot read cluster file"),
    ],
)
def test_hostile_cluster_files_exit_2_without_a_traceback(tmp_path: Path, content: Any, message: str) -> None:
    path = tmp_path / "cluster.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    result = run_adopt(path, tmp_path)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


def _weak_flags(d: dict[str, Any]) -> None:
    d["spec"]["kubernetesVersion"] = "v1.33.5+rke2r1"  # Rancher passes write-kubeconfig-mode from here
    g = d["spec"]["rkeConfig"]["machineGlobalConfig"]
    g["kube-apiserver-arg"] += [
        "anonymous-auth=true",
        "profiling=true",
        "token-auth-file=/etc/tokens.csv",
        "service-account-extend-token-expiration=true",
        "disable-admission-plugins=PodSecurity",
    ]
    g["kube-controller-manager-arg"] += ["bind-address=0.0.0.0", "use-service-account-credentials=false"]
    g["kubelet-arg"] += [
        "anonymous-auth=true",
        "authorization-mode=AlwaysAllow",
        "make-iptables-util-chains=false",
        "read-only-port=10255",
    ]
    g["etcd-arg"] = ["client-cert-auth=false"]
    g.update({"write-kubeconfig-mode": "0644", "etcd-expose-metrics": True, "enable-pprof": True})
    d["spec"]["defaultPodSecurityAdmissionConfigurationTemplateName"] = "corp-baseline"
    d["spec"]["enableNetworkPolicy"] = False


def test_every_rke2_weakening_switch_is_reported_by_the_policy_the_plan_names(tmp_path: Path) -> None:
    result = run_adopt(_write(tmp_path, _fixture_with(_weak_flags, "air-gapped.yaml")), tmp_path)
    assert result.code == 0, result.err
    switches = result.stack["hardened-rke2:cluster"]["rke2"]["weakenings"]
    assert set(switches) == {
        "apiserverAnonymousAuth",
        "profiling",
        "serviceAccountTokenExtension",
        "disableAdmissionPlugins",
        "nonLocalhostBind",
        "sharedControllerCredentials",
        "kubeletAnonymousAuth",
        "insecureAuthorizationMode",
        "kubeletIptablesChains",
        "kubeletReadOnlyPort",
        "etcdCertAuth",
        "permissiveKubeconfigMode",
        "etcdExposeMetrics",
        "debugEndpoints",
    }
    plan = result.plan
    # a static token file has no switch: the stack leaves it out and says so
    assert "rke2.kube-apiserver-arg/token-auth-file" in _kinds(plan, "unrepresentable")
    assert "token-auth-file" not in result.stack_text
    preview = preview_with_pack(result, "vault-dc")
    assert {v.policy_name for v in preview.violations} == set(plan["expectedPolicies"])
    assert set(plan["expectedPolicies"]) >= {
        "rke2-apiserver-authentication",
        "rke2-control-plane-flags",
        "rke2-kubelet-hardening",
        "rke2-etcd-tls",
        "rke2-kubeconfig-file-mode",
        "cluster-psa-template-defined",
        "cluster-project-network-isolation",
    }


def test_every_ec2_driver_switch_is_reported_by_the_policy_the_plan_names(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["items"][1].update(encryptEbsVolume=False, securityGroupReadonly=False)
        d["items"][3].update(securityGroupReadonly=False, openPort=["443"], insecureTransport=True)

    result = run_adopt(_write(tmp_path, _fixture_with(edit, "node-driver-ec2.yaml")), tmp_path)
    assert result.code == 0, result.err
    pools = {p["name"]: p["driver"] for p in result.stack["hardened-rke2:cluster"]["nodePools"]}
    assert pools["etcd"]["allowUnencryptedVolume"] is True and pools["etcd"]["allowDriverSecurityGroupRules"]
    assert pools["web"]["openPorts"] == ["443"]
    assert "nodePools.web.driver.insecureTransport" in _kinds(result.plan, "unrepresentable")
    preview = preview_with_pack(result, "shop")
    assert {v.policy_name for v in preview.violations} == set(result.plan["expectedPolicies"])
    assert {"machine-ec2-root-volume-encrypted", "machine-no-driver-opened-ports"} <= set(
        result.plan["expectedPolicies"]
    )


def test_weak_flags_without_a_switch_are_named_and_left_out(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        g = d["spec"]["rkeConfig"]["machineGlobalConfig"]
        g["kube-apiserver-arg"] += [
            "insecure-port=6080",
            "enable-admission-plugins=AlwaysAdmit,NodeRestriction",
        ]
        g["etcd-arg"] = [
            "auto-tls=true",
            "cipher-suites=TLS_RSA_WITH_AES_128_CBC_SHA",
            "tls-min-version=TLS1.2",
        ]
        d["metadata"]["labels"] = {"bad label": "x", "team": "vault"}

    result = run_adopt(_write(tmp_path, _fixture_with(edit, "air-gapped.yaml")), tmp_path)
    assert result.code == 0, result.err
    assert {
        "rke2.kube-apiserver-arg/insecure-port",
        "rke2.kube-apiserver-arg/enable-admission-plugins",
        "rke2.etcd-arg/auto-tls",
        "rke2.etcd-arg/cipher-suites",
        "rke2.etcd-arg/tls-min-version",
        "labels.bad label",
    } <= _kinds(result.plan, "unrepresentable")
    for flag in ("insecure-port", "AlwaysAdmit", "auto-tls", "TLS_RSA_WITH_AES_128_CBC_SHA", "bad label"):
        assert flag not in result.stack_text
    assert result.stack["hardened-rke2:cluster"]["labels"] == {"team": "vault"}
    preview = preview_with_pack(result, "vault-dc")
    assert {v.policy_name for v in preview.violations} == set(result.plan["expectedPolicies"])


def test_per_selector_rke2_configs_are_named_because_the_blueprint_has_one_config_for_all_nodes(
    tmp_path: Path,
) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["spec"]["rkeConfig"]["machineSelectorConfig"].append(
            {
                "config": {"kubelet-arg": ["max-pods=250"]},
                "machineLabelSelector": {"matchLabels": {"rke.cattle.io/worker-role": "true"}},
            }
        )

    result = run_adopt(_write(tmp_path, _fixture_with(edit)), tmp_path)
    assert result.code == 0, result.err
    [finding] = [f for f in result.plan["findings"] if f["key"] == "rke2.machineSelectorConfig[1]"]
    assert finding["kind"] == "unrepresentable" and finding["rolls"] == "rke2-config"
    assert "max-pods" not in result.stack_text


def test_immutable_data_directories_are_flagged_as_blocking_the_first_update(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["spec"]["rkeConfig"]["dataDirectories"] = {"k8sDistro": "/data/rke2"}

    result = run_adopt(_write(tmp_path, _fixture_with(edit)), tmp_path)
    assert result.code == 0, result.err
    [finding] = [f for f in result.plan["findings"] if f["key"] == "rkeConfig.dataDirectories"]
    assert finding["kind"] == "unrepresentable" and finding["note"].startswith("IMMUTABLE once set")


def _vsphere(name: str, overrides: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "rke-machine-config.cattle.io/v1",
        "kind": "VmwarevsphereConfig",
        "metadata": {"name": name, "namespace": "fleet-default"},
        "creationType": "template",
        "cloneFrom": "/dc1/vm/templates/sles-15-sp6",
        "datacenter": "/dc1",
        "datastore": "/dc1/datastore/ssd",
        "folder": "/dc1/vm/shop",
        "network": ["/dc1/network/shop"],
        "cpuCount": "4",
        "memorySize": "8192",
        "diskSize": "40960",
        "cfgparam": ["disk.enableUUID=TRUE", *overrides],
        "password": "vsphere-admin-password",
        "os": "linux",
    }


def test_vsphere_pools_map_and_vmx_overrides_use_the_named_switch(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        pools = d["items"][0]["spec"]["rkeConfig"]["machinePools"]
        names = []
        for pool in pools:
            pool["machineConfigRef"]["kind"] = "VmwarevsphereConfig"
            names.append(pool["machineConfigRef"]["name"])
        d["items"][1:] = [
            _vsphere(n, ["isolation.tools.copy.disable=FALSE"] if i == 2 else ["numa.autosize=TRUE"])
            for i, n in enumerate(names)
        ]

    result = run_adopt(_write(tmp_path, _fixture_with(edit, "node-driver-ec2.yaml")), tmp_path)
    assert result.code == 0, result.err
    drivers = [p["driver"] for p in result.stack["hardened-rke2:cluster"]["nodePools"]]
    assert [d["type"] for d in drivers] == ["vsphere"] * 3
    assert drivers[0]["cfgparams"] == {"numa.autosize": "TRUE"} and "allowVmxOverrides" not in drivers[0]
    assert drivers[2]["allowVmxOverrides"] is True and drivers[2]["memoryMb"] == 8192
    assert "vsphere-admin-password" not in result.stack_text + result.plan_file.read_text()
    preview = preview_with_pack(result, "shop")
    assert {v.policy_name for v in preview.violations} == set(result.plan["expectedPolicies"])
    assert "machine-vsphere-vmx-hardening" in result.plan["expectedPolicies"]
