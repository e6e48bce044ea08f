"""Node pools under the mock engine: hardened driver defaults, CIS cloud-init, layout rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_rancher2 as rancher2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from components.host_prep import CIS_SYSCTLS, SYSCTL_PATH
from components.node_pools import (
    VSPHERE_HARDENED_CFGPARAMS,
    NodeLayoutError,
    NodePoolArgs,
    build_machine_pools,
    validate_layout,
)
from components.problems import Problem
from hardened_rke2.capture import EchoMocks, ProgramRun
from tests.support.validation import rejected_at

MACHINE_CONFIG = "rancher2:index/machineConfigV2:MachineConfigV2"
CLUSTER = "rancher2:index/clusterV2:ClusterV2"
CRED = "cattle-global-data:cc-abcde"

EC2: dict[str, Any] = {
    "type": "amazonec2",
    "region": "eu-west-1",
    "ami": "ami-0123",
    "zone": "a",
    "vpcId": "vpc-1",
    "subnetId": "subnet-1",
    "securityGroups": ["rke2-nodes"],
}
HARVESTER: dict[str, Any] = {
    "type": "harvester",
    "vmNamespace": "rke2",
    "sshUser": "ubuntu",
    "disks": [{"imageName": "harvester-public/ubuntu", "sizeGb": 60, "bootOrder": 1}],
    "networks": ["harvester-public/vlan10"],
}
VSPHERE: dict[str, Any] = {
    "type": "vsphere",
    "cloneFrom": "templates/ubuntu-24.04",
    "datacenter": "dc1",
    "datastore": "ds1",
    "networks": ["VM Network"],
}
DIGITALOCEAN: dict[str, Any] = {
    "type": "digitalocean",
    "region": "fra1",
    "size": "s-4vcpu-8gb",
    "image": "ubuntu-24-04-x64",
}

# driver -> (input key of its config block, input key of its cloud-init field)
CLOUD_INIT_FIELD = {
    "amazonec2": ("amazonec2Config", "userdata"),
    "harvester": ("harvesterConfig", "userData"),
    "vsphere": ("vsphereConfig", "cloudConfig"),
    "digitalocean": ("digitaloceanConfig", "userdata"),
}
DRIVERS: dict[str, dict[str, Any]] = {
    "amazonec2": EC2,
    "harvester": HARVESTER,
    "vsphere": VSPHERE,
    "digitalocean": DIGITALOCEAN,
}


def pool(
    name: str, roles: Any, quantity: int = 1, driver: dict[str, Any] | None = None, **extra: Any
) -> NodePoolArgs:
    data: dict[str, Any] = {"name": name, "roles": roles, "quantity": quantity, **extra}
    if driver is not None:
        data["driver"] = driver
        data.setdefault("cloudCredentialSecretName", CRED)
    return NodePoolArgs.model_validate(data)


def production_layout(driver: dict[str, Any], **worker_extra: Any) -> list[NodePoolArgs]:
    return [
        pool("etcd", ["etcd"], 3, driver),
        pool("cp", ["controlPlane"], 2, driver),
        pool("workers", ["worker"], 3, driver, **worker_extra),
    ]


def build(
    mock_run: Callable[..., ProgramRun], pools: list[NodePoolArgs], cluster: str = "prod"
) -> tuple[ProgramRun, list[Any]]:
    """Build the pools under a parent component and feed them to a ClusterV2 as the cluster helper does."""
    returned: list[Any] = []
    mocks = EchoMocks(
        extra_outputs={
            MACHINE_CONFIG: lambda args: {
                "name": f"nc-{args.inputs['generateName']}-x1y2z",
                "kind": "ignored",
            }
        }
    )

    def program() -> None:
        parent = pulumi.ComponentResource("hardened-rke2:cluster:HardenedCluster", cluster)
        machine_pools = build_machine_pools(cluster, pools, parent)
        returned.extend(machine_pools)
        rancher2.ClusterV2(
            cluster,
            name=cluster,
            kubernetes_version="v1.33.5+rke2r1",
            rke_config=rancher2.ClusterV2RkeConfigArgs(machine_pools=machine_pools or None),
            opts=pulumi.ResourceOptions(parent=parent),
        )

    return mock_run(program, mocks=mocks), returned


def machine_config_inputs(run: ProgramRun, name: str, driver: str) -> dict[str, Any]:
    block: dict[str, Any] = run.one(MACHINE_CONFIG, name).inputs[CLOUD_INIT_FIELD[driver][0]]
    return block


def cloud_init(run: ProgramRun, name: str, driver: str) -> dict[str, Any]:
    text = machine_config_inputs(run, name, driver)[CLOUD_INIT_FIELD[driver][1]]
    assert text.startswith("#cloud-config\n")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def sysctls_of(doc: dict[str, Any]) -> dict[str, str]:
    (entry,) = [f for f in doc["write_files"] if f["path"] == SYSCTL_PATH]
    lines = [ln for ln in entry["content"].splitlines() if ln and not ln.startswith("#")]
    return {k.strip(): v.strip() for k, _, v in (ln.partition("=") for ln in lines)}


# --------------------------------------------------------------------------------- CIS cloud-init
@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_every_driver_carries_the_cis_host_prep_in_its_cloud_init(mock_run, driver: str) -> None:
    run, _ = build(mock_run, production_layout(DRIVERS[driver]))
    for name in ("prod-etcd", "prod-cp", "prod-workers"):
        doc = cloud_init(run, name, driver)
        (etcd,) = [u for u in doc["users"] if isinstance(u, dict) and u["name"] == "etcd"]
        assert etcd["system"] is True and etcd["primary_group"] == "etcd"
        assert etcd["shell"].endswith("nologin")
        assert "default" in doc["users"]
        assert "etcd" in doc["groups"]
        assert sysctls_of(doc) == {
            "vm.panic_on_oom": "0",
            "vm.overcommit_memory": "1",
            "kernel.panic": "10",
            "kernel.panic_on_oops": "1",
        }
        assert doc["runcmd"][0] == ["sysctl", "-p", SYSCTL_PATH]


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_user_cloud_init_is_merged_not_replacing_the_cis_prep(mock_run, driver: str) -> None:
    user = (
        "#cloud-config\npackages: [auditd]\nruncmd:\n  - [systemctl, enable, --now, auditd]\n"
        "ntp: {enabled: true}\n"
    )
    run, _ = build(mock_run, production_layout({**DRIVERS[driver], "userData": user}))
    doc = cloud_init(run, "prod-etcd", driver)
    assert "auditd" in doc["packages"]
    assert doc["ntp"] == {"enabled": True}
    assert doc["runcmd"][0] == ["sysctl", "-p", SYSCTL_PATH]
    assert ["systemctl", "enable", "--now", "auditd"] in doc["runcmd"]
    assert sysctls_of(doc) == dict(CIS_SYSCTLS)
    assert any(isinstance(u, dict) and u["name"] == "etcd" for u in doc["users"])


def test_rendering_is_byte_identical_across_runs(mock_run) -> None:
    user = "runcmd: [b, a]\npackages: [z, y]\nwrite_files: [{path: /etc/x, content: y}]\n"
    pools = [
        pool(f"{driver}-{role.lower()}", [role], 3, {**spec, "userData": user})
        for driver, spec in DRIVERS.items()
        for role in ("etcd", "controlPlane", "worker")
    ]

    def rendered(run: ProgramRun) -> dict[str, str]:
        return {r.name: json.dumps(r.inputs, sort_keys=True) for r in run.of_type(MACHINE_CONFIG)}

    first, second = build(mock_run, pools)[0], build(mock_run, pools)[0]
    assert len(rendered(first)) == 12
    assert rendered(first) == rendered(second)


def test_bad_user_cloud_init_is_rejected_before_anything_is_registered() -> None:
    with pytest.raises(ValidationError) as err:
        pool("w", ["worker"], 1, {**EC2, "userData": "users: [{name: etcd, shell: /bin/bash}]"})
    assert "userData" in str(err.value) and "(fix:" in str(err.value)
    with pytest.raises(ValidationError, match="shell script"):
        pool("w", ["worker"], 1, {**DIGITALOCEAN, "userData": "#!/bin/bash\nuseradd x\n"})


# ------------------------------------------------------------------------------ hardened defaults
def test_ec2_hardened_defaults(mock_run) -> None:
    run, _ = build(mock_run, production_layout(EC2))
    cfg = machine_config_inputs(run, "prod-etcd", "amazonec2")
    assert cfg["httpTokens"] == "required"  # IMDSv2 only
    assert cfg["httpEndpoint"] == "enabled"
    assert cfg["httpProtocolIpv6"] == "disabled"
    assert cfg["encryptEbsVolume"] is True
    assert cfg["privateAddressOnly"] is True  # no public IP
    assert cfg["usePrivateAddress"] is True
    assert cfg["securityGroupReadonly"] is True  # the driver adds no rules to the groups
    assert cfg["securityGroups"] == ["rke2-nodes"]
    assert "openPorts" not in cfg
    assert cfg["insecureTransport"] is False
    assert cfg["monitoring"] is True
    assert cfg["rootSize"] == "50" and cfg["volumeType"] == "gp3"  # numbers as strings
    assert "accessKey" not in cfg and "secretKey" not in cfg  # credentials come from the cloud credential


def test_ec2_weakening_needs_named_settings(mock_run) -> None:
    weak = {
        **EC2,
        "allowPublicIp": True,
        "allowImdsV1": True,
        "allowUnencryptedVolume": True,
        "allowDriverSecurityGroupRules": True,
        "openPorts": ["443"],
    }
    run, _ = build(mock_run, production_layout(weak))
    cfg = machine_config_inputs(run, "prod-workers", "amazonec2")
    assert cfg["httpTokens"] == "optional"
    assert cfg["encryptEbsVolume"] is False
    assert cfg["privateAddressOnly"] is False
    assert cfg["securityGroupReadonly"] is False
    assert cfg["openPorts"] == ["443"]


def test_ec2_open_ports_alone_are_rejected() -> None:
    with pytest.raises(ValidationError, match="openPorts"):
        pool("w", ["worker"], 1, {**EC2, "openPorts": ["22"]})


@pytest.mark.parametrize(
    ("mutation", "match"),
    [
        ({"securityGroups": []}, "securityGroups"),
        ({"zone": "eu-west-1a"}, "zone"),
        ({"accessKey": "AKIA..."}, "accessKey"),
        ({"httpTokens": "optional"}, "httpTokens"),
        ({"tags": {"a,b": "c"}}, "tag 'a,b' contains a comma"),
    ],
)
def test_ec2_invalid_or_unknown_settings_are_rejected(mutation: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        pool("w", ["worker"], 1, {**EC2, **mutation})


def test_ec2_tags_and_kms_key_render(mock_run) -> None:
    run, _ = build(
        mock_run, production_layout({**EC2, "tags": {"team": "platform", "env": "prod"}, "kmsKey": "k"})
    )
    cfg = machine_config_inputs(run, "prod-cp", "amazonec2")
    assert cfg["tags"] == "env,prod,team,platform"
    assert cfg["kmsKey"] == "k"


def test_harvester_defaults(mock_run) -> None:
    run, _ = build(mock_run, production_layout(HARVESTER))
    cfg = machine_config_inputs(run, "prod-etcd", "harvester")
    assert json.loads(cfg["diskInfo"]) == {
        "disks": [{"imageName": "harvester-public/ubuntu", "size": 60, "bootOrder": 1}]
    }
    assert json.loads(cfg["networkInfo"]) == {"interfaces": [{"networkName": "harvester-public/vlan10"}]}
    assert cfg["cpuCount"] == "4" and cfg["memorySize"] == "8"
    assert "sshPassword" not in cfg  # key-based SSH only
    doc = cloud_init(run, "prod-etcd", "harvester")
    assert "qemu-guest-agent" in doc["packages"]
    assert doc["runcmd"][-1] == ["systemctl", "enable", "--now", "qemu-guest-agent.service"]
    rejected_at(lambda: pool("w", ["worker"], 1, {**HARVESTER, "sshPassword": "hunter2"}), "sshPassword")


def test_vsphere_defaults_and_vmx_hardening(mock_run) -> None:
    run, _ = build(mock_run, production_layout({**VSPHERE, "cfgparams": {"guestinfo.extra": "1"}}))
    cfg = machine_config_inputs(run, "prod-cp", "vsphere")
    params = dict(p.split("=", 1) for p in cfg["cfgparams"])
    for key, value in VSPHERE_HARDENED_CFGPARAMS.items():
        assert params[key] == value
    assert params["isolation.tools.copy.disable"] == "TRUE"
    assert params["guestinfo.extra"] == "1"
    assert cfg["creationType"] == "template" and cfg["os"] == "linux"
    assert cfg["memorySize"] == "8192" and cfg["diskSize"] == "51200" and cfg["cpuCount"] == "4"
    assert "boot2dockerUrl" not in cfg and "password" not in cfg


def test_vsphere_weakening_a_vmx_setting_needs_allow_vmx_overrides(mock_run) -> None:
    weak = {**VSPHERE, "cfgparams": {"isolation.tools.copy.disable": "FALSE"}}
    with pytest.raises(ValidationError, match="allowVmxOverrides"):
        pool("w", ["worker"], 1, weak)
    run, _ = build(mock_run, production_layout({**weak, "allowVmxOverrides": True}))
    params = dict(p.split("=", 1) for p in machine_config_inputs(run, "prod-etcd", "vsphere")["cfgparams"])
    assert params["isolation.tools.copy.disable"] == "FALSE"


@pytest.mark.parametrize(
    ("mutation", "match"),
    [
        ({"creationType": "legacy"}, "creationType"),
        ({"datastoreCluster": "dsc"}, "exactly one of datastore or datastoreCluster"),
        ({"datastore": None}, "exactly one of datastore or datastoreCluster"),
        ({"creationType": "library"}, "contentLibrary: required with creationType 'library'"),
    ],
)
def test_vsphere_invalid_settings_are_rejected(mutation: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        pool("w", ["worker"], 1, {**VSPHERE, **mutation})


def test_digitalocean_defaults(mock_run) -> None:
    run, _ = build(mock_run, production_layout({**DIGITALOCEAN, "tags": ["rke2", "prod"]}))
    cfg = machine_config_inputs(run, "prod-workers", "digitalocean")
    assert cfg["privateNetworking"] is True
    assert cfg["monitoring"] is True
    assert cfg["backups"] is False  # droplet backups would copy etcd (every Secret) off-cluster
    assert cfg["ipv6"] is False
    assert cfg["tags"] == "prod,rke2"
    assert "accessToken" not in cfg


# -------------------------------------------------------------------------------- machine pools
def test_machine_pools_reference_their_machine_configs(mock_run) -> None:
    pools = [
        pool("etcd", {"etcd": True}, 3, EC2),
        pool("cp", {"controlPlane": True}, 2, EC2),
        pool(
            "workers",
            ["worker"],
            4,
            EC2,
            labels={"node.example.com/tier": "apps"},
            taints=[{"key": "dedicated", "value": "apps", "effect": "NoSchedule"}],
            maxUnhealthy="25%",
            unhealthyNodeTimeout=600,
        ),
    ]
    run, returned = build(mock_run, pools)
    assert len(returned) == 3
    component = run.one("hardened-rke2:cluster:HardenedCluster")
    configs = run.of_type(MACHINE_CONFIG)  # registration order varies under the async mock engine
    assert sorted(c.name for c in configs) == ["prod-cp", "prod-etcd", "prod-workers"]
    for config in configs:
        assert config.parent == component.urn
        assert config.inputs["generateName"] == config.name
        assert config.inputs["fleetNamespace"] == "fleet-default"

    cluster = run.one(CLUSTER)
    machine_pools = cluster.inputs["rkeConfig"]["machinePools"]
    assert [p["name"] for p in machine_pools] == ["etcd", "cp", "workers"]
    etcd, cp, workers = machine_pools
    assert etcd["machineConfig"] == {"kind": "Amazonec2Config", "name": "nc-prod-etcd-x1y2z"}
    assert (etcd["etcdRole"], etcd["controlPlaneRole"], etcd["workerRole"], etcd["quantity"]) == (
        True,
        False,
        False,
        3,
    )
    assert (cp["etcdRole"], cp["controlPlaneRole"], cp["workerRole"], cp["quantity"]) == (
        False,
        True,
        False,
        2,
    )
    assert workers["workerRole"] is True and workers["quantity"] == 4
    assert all(p["cloudCredentialSecretName"] == CRED for p in machine_pools)
    assert all(p["drainBeforeDelete"] is True for p in machine_pools)
    assert workers["machineLabels"] == {"node.example.com/tier": "apps"}
    assert workers["taints"] == [{"key": "dedicated", "value": "apps", "effect": "NoSchedule"}]
    assert workers["maxUnhealthy"] == "25%"
    assert workers["unhealthyNodeTimeoutSeconds"] == 600
    # The cluster waits for its machine configs (it references their computed names).
    assert {c.urn for c in configs} <= set(cluster.dependencies)


@pytest.mark.parametrize(
    ("driver", "kind"),
    [
        ("harvester", "HarvesterConfig"),
        ("vsphere", "VmwarevsphereConfig"),
        ("digitalocean", "DigitaloceanConfig"),
    ],
)
def test_machine_config_kind_per_driver(mock_run, driver: str, kind: str) -> None:
    run, _ = build(mock_run, production_layout(DRIVERS[driver]))
    assert {p["machineConfig"]["kind"] for p in run.one(CLUSTER).inputs["rkeConfig"]["machinePools"]} == {
        kind
    }


def test_custom_pools_register_nothing(mock_run) -> None:
    pools = [pool("all", ["etcd", "controlPlane", "worker"], 1)]
    run, returned = build(mock_run, pools)
    assert returned == []
    assert run.of_type(MACHINE_CONFIG) == []
    assert "machinePools" not in run.one(CLUSTER).inputs.get("rkeConfig", {})


def test_build_rejects_duplicate_pool_names(mock_run) -> None:
    with pytest.raises(ValueError, match="unique name"):
        build(
            mock_run, [pool("a", ["etcd", "controlPlane", "worker"], 1, EC2), pool("a", ["worker"], 1, EC2)]
        )


def test_build_rejects_mixed_pools(mock_run) -> None:
    with pytest.raises(ValueError, match="mixed"):
        build(mock_run, [pool("a", ["etcd", "controlPlane"], 1), pool("b", ["worker"], 1, EC2)])


# ----------------------------------------------------------------------------------- pool model
def test_roles_list_and_mapping_forms_are_equivalent() -> None:
    listed = pool("p", ["etcd", "control-plane", "worker"])
    mapped = pool("p", {"etcd": True, "controlPlane": True, "worker": True})
    assert listed == mapped
    assert listed.roles.registration_flags() == "--etcd --controlplane --worker"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"name": "p", "roles": []}, "at least one role"),
        ({"name": "p", "roles": ["master"]}, "unknown role"),
        ({"name": "p", "roles": ["etcd", "etcd"]}, "twice"),
        ({"name": "P_1", "roles": ["etcd"]}, "DNS label"),
        ({"name": "p", "roles": ["etcd"], "quantity": 0}, "quantity"),
        ({"name": "p", "roles": ["etcd"], "cloudCredentialSecretName": CRED}, "cloudCredentialSecretName"),
        ({"name": "p", "roles": ["etcd"], "maxUnhealthy": "1"}, "maxUnhealthy"),
        ({"name": "p", "roles": ["etcd"], "driver": EC2}, "cloudCredentialSecretName: required"),
        ({"name": "p", "roles": ["etcd"], "driver": {"type": "azure"}}, "driver"),
        ({"name": "p", "roles": ["etcd"], "labels": {"bad key": "x"}}, "label key"),
        ({"name": "p", "roles": ["etcd"], "taints": [{"key": "k", "effect": "Never"}]}, "effect"),
        (
            {
                "name": "p",
                "roles": ["etcd"],
                "driver": EC2,
                "cloudCredentialSecretName": CRED,
                "maxUnhealthy": "x",
            },
            "count",
        ),
        ({"name": "p", "roles": ["etcd"], "nodeRoles": ["etcd"]}, "nodeRoles"),
    ],
)
def test_invalid_pools_are_rejected_naming_the_field(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError) as err:
        NodePoolArgs.model_validate(data)
    assert needle in str(err.value)


# --------------------------------------------------------------------------------------- layout
def test_valid_production_layout_passes() -> None:
    validate_layout(production_layout(EC2), production=True)


def test_single_node_all_roles_is_valid_only_outside_production() -> None:
    layout = [pool("all", ["etcd", "controlPlane", "worker"])]
    validate_layout(layout, production=False)
    with pytest.raises(NodeLayoutError) as err:
        validate_layout(layout, production=True)
    text = str(err.value)
    assert "odd number of etcd nodes ≥ 3, got 1" in text
    assert "≥ 2 control-plane nodes, got 1" in text
    assert "nodePools[0].roles: production pools carry exactly one role" in text
    assert all("(fix:" in p for p in err.value.problems)


@pytest.mark.parametrize(
    ("layout", "production", "needle"),
    [
        ([], False, "no node pools"),
        ([pool("a", ["etcd", "controlPlane"])], False, "no pool has the worker role"),
        ([pool("a", ["worker"]), pool("a", ["etcd", "controlPlane"])], False, "nodePools[1].name"),
        ([pool("a", ["etcd", "controlPlane"]), pool("b", ["worker"], 1, EC2)], False, "cannot be mixed"),
        (
            [pool("e", ["etcd"], 4, EC2), pool("c", ["controlPlane"], 2, EC2), pool("w", ["worker"], 1, EC2)],
            True,
            "got 4",
        ),
        (
            [pool("e", ["etcd"], 3, EC2), pool("c", ["controlPlane"], 1, EC2), pool("w", ["worker"], 1, EC2)],
            True,
            "got 1",
        ),
    ],
)
def test_layout_errors_name_the_field_and_the_fix(
    layout: list[NodePoolArgs], production: bool, needle: str
) -> None:
    with pytest.raises(NodeLayoutError) as err:
        validate_layout(layout, production=production)
    assert needle in str(err.value)
    assert all(p.startswith("nodePools") and "(fix:" in p for p in err.value.problems)


def test_production_rejects_a_combined_etcd_and_control_plane_pool() -> None:
    layout = [pool("servers", ["etcd", "controlPlane"], 3, EC2), pool("workers", ["worker"], 3, EC2)]
    validate_layout(layout, production=False)
    with pytest.raises(NodeLayoutError) as err:
        validate_layout(layout, production=True)
    assert err.value.problems == [
        "nodePools[0].roles: production pools carry exactly one role, 'servers' has etcd, controlPlane "
        "(fix: split it into separate etcd, controlPlane and worker pools)"
    ]


def test_layout_error_details_are_structured() -> None:
    with pytest.raises(NodeLayoutError) as err:
        validate_layout([pool("e", ["etcd"], 2), pool("c", ["controlPlane"], 2)], production=True)
    assert err.value.items == (
        Problem(("nodePools",), "no pool has the worker role", "set roles.worker: true on a pool"),
        Problem(
            ("nodePools",),
            "production needs an odd number of etcd nodes ≥ 3, got 2",
            "set the etcd pools' quantity to 3 or 5",
        ),
    )
    assert err.value.problems == [f"{p.path[0]}: {p.message} (fix: {p.fix})" for p in err.value.items]


def test_layout_error_paths_follow_the_callers_field() -> None:
    with pytest.raises(ValueError, match=r"cluster\.nodePools: no pool has the etcd role"):
        validate_layout([pool("w", ["worker"])], production=False, field="cluster.nodePools")


_pool_specs = st.lists(
    st.tuples(
        st.tuples(st.booleans(), st.booleans(), st.booleans()).filter(any),  # etcd, controlPlane, worker
        st.integers(min_value=1, max_value=6),
        st.booleans(),  # node driver (True) or custom (False)
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=_pool_specs, production=st.booleans())
def test_layout_is_valid_iff_the_rules_hold(
    specs: list[tuple[tuple[bool, bool, bool], int, bool]], production: bool
) -> None:
    pools = [
        pool(
            f"p{i}",
            {"etcd": e, "controlPlane": c, "worker": w},
            q,
            EC2 if driver else None,
        )
        for i, ((e, c, w), q, driver) in enumerate(specs)
    ]
    etcd = sum(q for (e, _, _), q, _ in specs if e)
    cp = sum(q for (_, c, _), q, _ in specs if c)
    workers = sum(q for (_, _, w), q, _ in specs if w)
    kinds = {driver for _, _, driver in specs}
    expected = etcd >= 1 and cp >= 1 and workers >= 1 and len(kinds) == 1
    if production:
        single_role = all(sum(roles) == 1 for roles, _, _ in specs)
        expected = expected and etcd >= 3 and etcd % 2 == 1 and cp >= 2 and single_role
    if expected:
        validate_layout(pools, production=production)
    else:
        with pytest.raises(NodeLayoutError) as err:
            validate_layout(pools, production=production)
        assert err.value.problems
        assert all("(fix:" in p for p in err.value.problems)
