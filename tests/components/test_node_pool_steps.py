"""Node-pool decisions without the engine: roles, the drivers' hardened machine configs, the pool rules and
the layout rules (issue 18: test_node_pools.py builds the pools under the mock engine; these pin each
decision so a mutation run takes seconds per mutant)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components import node_pools as n
from components.problems import ConfigProblems
from tests.support.provider_inputs import plain

CRED = "cattle-global-data:cc-1"
EC2: dict[str, Any] = {
    "type": "amazonec2",
    "region": "eu-west-1",
    "ami": "ami-1",
    "zone": "b",
    "vpcId": "vpc-1",
    "subnetId": "subnet-1",
    "securityGroups": ["nodes"],
}
VSPHERE: dict[str, Any] = {
    "type": "vsphere",
    "cloneFrom": "tpl",
    "datacenter": "dc",
    "datastore": "ds",
    "networks": ["net"],
}


ONE_ROLE_FIX = "set etcd, controlPlane and/or worker to true"
ROLE_FIX = "use etcd, controlPlane or worker"
KEY_FIX = "use [prefix/]name"
COMMA_FIX = "the driver joins tags with commas"
CUSTOM_NO_CREDENTIAL = (
    "cloudCredentialSecretName: custom (bring-your-own) pools use no cloud credential (fix: remove it, or "
    "choose a node driver)"
)
HEALTH_CHECKS = (
    "maxUnhealthy/unhealthyNodeTimeout: machine health checks replace node-driver machines only (fix: remove "
    "them from custom pools)"
)
EC2_CREDENTIAL = (
    "cloudCredentialSecretName: required for the amazonec2 driver (fix: name the rancher2 cloud credential, "
    "e.g. 'cattle-global-data:cc-xxxxx')"
)
OPEN_PORTS = (
    "openPorts: opening ports to the Internet needs allowPublicIp: true and allowDriverSecurityGroupRules: "
    "true (fix: remove openPorts, or set both explicitly)"
)
DATASTORE = "set exactly one of datastore or datastoreCluster (fix: name where the VM disks go)"


def driver(model: type[Any], data: dict[str, Any]) -> Any:
    return model.model_validate(data)


def rejected(model: type[Any], data: dict[str, Any], message: str, loc: tuple[str, ...] = ()) -> None:
    """The one validation error the user reads: where, what and the fix, exactly."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    found = [(tuple(e["loc"]), e["msg"]) for e in info.value.errors()]
    assert found == [(loc, f"Value error, <root>: {message}")]


# ---------------------------------------------------------------------------------------------- roles


def test_roles_names_and_registration_flags() -> None:
    all_roles = n.NodeRoles(etcd=True, control_plane=True, worker=True)
    assert all_roles.names() == ["etcd", "controlPlane", "worker"]
    assert all_roles.registration_flags() == "--etcd --controlplane --worker"
    assert n.NodeRoles(control_plane=True).registration_flags() == "--controlplane"
    assert n.NodeRoles(worker=True).names() == ["worker"]
    rejected(n.NodeRoles, {}, f"a pool needs at least one role (fix: {ONE_ROLE_FIX})")


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["etcd", " Control-Plane ", "WORKER"], (True, True, True)),
        (["controlplane"], (False, True, False)),
        (["control_plane"], (False, True, False)),
        (("worker",), (False, False, True)),
        ({"etcd": True}, (True, False, False)),
    ],
)
def test_roles_from_a_list_accept_the_aliases(roles: Any, expected: tuple[bool, bool, bool]) -> None:
    r = n.NodePoolArgs.model_validate({"name": "p", "roles": roles}).roles
    assert (r.etcd, r.control_plane, r.worker) == expected


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        (["etcd", "master"], f"unknown role 'master' (fix: {ROLE_FIX})"),
        (["etcd", 5], f"unknown role 5 (fix: {ROLE_FIX})"),
        (["etcd", "ETCD"], "role 'ETCD' listed twice (fix: list each role once)"),
    ],
)
def test_roles_from_a_list_reject_unknown_and_repeated(roles: list[Any], message: str) -> None:
    rejected(n.NodePoolArgs, {"name": "p", "roles": roles}, message, ("roles",))


def test_taint_keys_and_pool_labels_follow_kubernetes_rules() -> None:
    assert n.Taint(key="example.com/gpu").effect == "NoSchedule"
    taint_message = f"'bad key' is not a valid taint key (fix: {KEY_FIX}, e.g. dedicated)"
    rejected(n.Taint, {"key": "bad key"}, taint_message, ("key",))
    base = {"name": "p", "roles": ["worker"]}
    bad_key, bad_value = {**base, "labels": {"bad key": "v"}}, {**base, "labels": {"k": "bad value"}}
    rejected(n.NodePoolArgs, bad_key, f"'bad key' is not a valid label key (fix: {KEY_FIX})", ("labels",))
    value_message = "label k: 'bad value' is not a valid label value (fix: ≤63 chars, [A-Za-z0-9-_.])"
    rejected(n.NodePoolArgs, bad_value, value_message, ("labels",))
    assert n.NodePoolArgs.model_validate({**base, "labels": {"k": "v-1.2_3"}}).labels == {"k": "v-1.2_3"}


@pytest.mark.parametrize("value", ["0", "12", "5%", "99%", "100%"])
def test_max_unhealthy_counts_and_percentages(value: str) -> None:
    data = {"name": "p", "roles": ["worker"], "driver": EC2, "cloudCredentialSecretName": CRED}
    assert n.NodePoolArgs.model_validate({**data, "maxUnhealthy": value}).max_unhealthy == value


@pytest.mark.parametrize("value", ["101%", "1000%", "x", "5 %", "-1"])
def test_max_unhealthy_rejects_the_rest(value: str) -> None:
    data = {"name": "p", "roles": ["worker"], "driver": EC2, "cloudCredentialSecretName": CRED}
    message = f"'{value}' is not a count or percentage (fix: e.g. '1' or '33%')"
    rejected(n.NodePoolArgs, {**data, "maxUnhealthy": value}, message, ("maxUnhealthy",))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"cloudCredentialSecretName": CRED},
            CUSTOM_NO_CREDENTIAL,
        ),
        ({"maxUnhealthy": "1"}, HEALTH_CHECKS),
        ({"unhealthyNodeTimeout": 60}, HEALTH_CHECKS),
        ({"driver": EC2}, EC2_CREDENTIAL),
        ({"driver": EC2, "cloudCredentialSecretName": ""}, EC2_CREDENTIAL),
    ],
)
def test_pool_driver_rules(extra: dict[str, Any], message: str) -> None:
    rejected(n.NodePoolArgs, {"name": "p", "roles": ["worker"], **extra}, message)


def test_a_pool_is_custom_only_with_the_custom_driver() -> None:
    assert n.NodePoolArgs.model_validate({"name": "p", "roles": ["worker"]}).is_custom
    ec2 = n.NodePoolArgs.model_validate(
        {"name": "p", "roles": ["worker"], "driver": EC2, "cloudCredentialSecretName": CRED}
    )
    assert not ec2.is_custom


# -------------------------------------------------------------------------------------------- drivers


def cloud_config(text: str) -> dict[str, Any]:
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def test_ec2_hardened_machine_config() -> None:
    got = plain(driver(n.Amazonec2Driver, EC2).machine_config()["amazonec2_config"])
    userdata = got.pop("userdata")
    assert got == {
        "region": "eu-west-1",
        "ami": "ami-1",
        "zone": "b",
        "vpc_id": "vpc-1",
        "subnet_id": "subnet-1",
        "security_groups": ["nodes"],
        "security_group_readonly": True,
        "root_size": "50",
        "volume_type": "gp3",
        "encrypt_ebs_volume": True,
        "http_endpoint": "enabled",
        "http_tokens": "required",
        "http_protocol_ipv6": "disabled",
        "private_address_only": True,
        "use_private_address": True,
        "insecure_transport": False,
        "monitoring": True,
    }
    assert "write_files" in cloud_config(userdata)


def test_ec2_weakenings_are_named_and_rendered() -> None:
    weak = {
        **EC2,
        "allowPublicIp": True,
        "allowImdsV1": True,
        "allowUnencryptedVolume": True,
        "allowDriverSecurityGroupRules": True,
        "openPorts": ["443/tcp"],
        "tags": {"team": "a", "env": "prod"},
        "instanceType": "m6i.large",
        "iamInstanceProfile": "nodes",
        "sshUser": "ubuntu",
        "rootSizeGb": 80,
        "monitoring": False,
        "usePrivateAddress": False,
    }
    got = plain(driver(n.Amazonec2Driver, weak).machine_config()["amazonec2_config"])
    assert {
        k: got[k]
        for k in (
            "security_group_readonly",
            "open_ports",
            "encrypt_ebs_volume",
            "http_tokens",
            "private_address_only",
            "tags",
            "instance_type",
            "iam_instance_profile",
            "ssh_user",
            "root_size",
            "monitoring",
            "use_private_address",
        )
    } == {
        "security_group_readonly": False,
        "open_ports": ["443/tcp"],
        "encrypt_ebs_volume": False,
        "http_tokens": "optional",
        "private_address_only": False,
        "tags": "env,prod,team,a",
        "instance_type": "m6i.large",
        "iam_instance_profile": "nodes",
        "ssh_user": "ubuntu",
        "root_size": "80",
        "monitoring": False,
        "use_private_address": False,
    }
    kms = plain(driver(n.Amazonec2Driver, {**EC2, "kmsKey": "arn:kms"}).machine_config()["amazonec2_config"])
    assert kms["kms_key"] == "arn:kms" and kms["encrypt_ebs_volume"] is True


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"openPorts": ["22/tcp"]}, OPEN_PORTS),
        ({"openPorts": ["22/tcp"], "allowPublicIp": True}, OPEN_PORTS),
        ({"openPorts": ["22/tcp"], "allowDriverSecurityGroupRules": True}, OPEN_PORTS),
        (
            {"kmsKey": "k", "allowUnencryptedVolume": True},
            "kmsKey: set together with allowUnencryptedVolume (fix: remove one of them)",
        ),
        ({"tags": {"a,b": "c"}}, f"tag 'a,b' contains a comma (fix: {COMMA_FIX})"),
        ({"tags": {"a": "b,c"}}, f"tag 'b,c' contains a comma (fix: {COMMA_FIX})"),
    ],
)
def test_ec2_inconsistent_settings_are_rejected(extra: dict[str, Any], message: str) -> None:
    rejected(n.Amazonec2Driver, {**EC2, **extra}, message)


def test_harvester_disks_networks_and_guest_agent() -> None:
    data = {
        "type": "harvester",
        "vmNamespace": "vms",
        "sshUser": "ubuntu",
        "cpuCount": 2,
        "memoryGb": 4,
        "disks": [
            {"sizeGb": 100, "bootOrder": 2, "storageClassName": "encrypted"},
            {"sizeGb": 40, "bootOrder": 1, "imageName": "img"},
        ],
        "networks": ["ns/vlan1", "ns/vlan2"],
        "networkData": "nd",
        "vmAffinity": "aff",
    }
    got = plain(driver(n.HarvesterDriver, data).machine_config()["harvester_config"])
    user_data = cloud_config(got.pop("user_data"))
    assert got == {
        "vm_namespace": "vms",
        "ssh_user": "ubuntu",
        "cpu_count": "2",
        "memory_size": "4",
        "disk_info": '{"disks": [{"bootOrder": 1, "imageName": "img", "size": 40}, '
        '{"bootOrder": 2, "size": 100, "storageClassName": "encrypted"}]}',
        "network_info": '{"interfaces": [{"networkName": "ns/vlan1"}, {"networkName": "ns/vlan2"}]}',
        "network_data": "nd",
        "vm_affinity": "aff",
    }
    assert "qemu-guest-agent" in user_data["packages"]
    assert ["systemctl", "enable", "--now", "qemu-guest-agent.service"] in user_data["runcmd"]
    without = plain(driver(n.HarvesterDriver, {**data, "installGuestAgent": False}).machine_config())
    assert "qemu-guest-agent" not in yaml.safe_load(without["harvester_config"]["user_data"]).get(
        "packages", []
    )


@pytest.mark.parametrize(
    "disk",
    [{"sizeGb": 1, "bootOrder": 1}, {"sizeGb": 1, "bootOrder": 1, "imageName": "i", "storageClassName": "s"}],
)
def test_a_harvester_disk_has_exactly_one_source(disk: dict[str, Any]) -> None:
    rejected(
        n.HarvesterDisk,
        disk,
        "set exactly one of imageName or storageClassName (fix: the boot disk uses imageName)",
    )


def test_vsphere_hardened_machine_config_and_cfgparams() -> None:
    data = {
        **VSPHERE,
        "cfgparams": {"Custom.Setting": "1", "LOG.KEEPOLD": "10"},
        "tags": ["t"],
        "customAttributes": ["a=b"],
        "gracefulShutdownTimeoutSeconds": 0,
        "folder": "f",
        "pool": "p",
        "hostsystem": "h",
        "sshUser": "u",
    }
    d = driver(n.VsphereDriver, data)
    params = d.rendered_cfgparams()
    assert params[0] == "Custom.Setting=1"
    assert "LOG.KEEPOLD=10" in params and "log.keepOld=10" not in params
    assert [p.split("=")[0].lower() for p in params] == sorted(p.split("=")[0].lower() for p in params)
    assert len(params) == len(n.VSPHERE_HARDENED_CFGPARAMS) + 1
    got = plain(d.machine_config()["vsphere_config"])
    got.pop("cloud_config")
    assert got == {
        "creation_type": "template",
        "clone_from": "tpl",
        "datacenter": "dc",
        "datastore": "ds",
        "folder": "f",
        "pool": "p",
        "hostsystem": "h",
        "networks": ["net"],
        "cpu_count": "4",
        "memory_size": "8192",
        "disk_size": "51200",
        "ssh_user": "u",
        "tags": ["t"],
        "custom_attributes": ["a=b"],
        "graceful_shutdown_timeout": "0",
        "cfgparams": params,
        "os": "linux",
    }
    bare = plain(driver(n.VsphereDriver, VSPHERE).machine_config()["vsphere_config"])
    assert "graceful_shutdown_timeout" not in bare and "tags" not in bare and "custom_attributes" not in bare
    assert "isolation.tools.copy.disable=TRUE" in bare["cfgparams"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"datastore": None}, DATASTORE),
        ({"datastoreCluster": "dsc"}, DATASTORE),
        (
            {"creationType": "library"},
            "contentLibrary: required with creationType 'library' (fix: name the library)",
        ),
        (
            {"cfgparams": {"a=b": "c"}},
            "cfgparams: key 'a=b' contains '=' (fix: use the setting name as the key)",
        ),
        (
            {"cfgparams": {"ISOLATION.TOOLS.COPY.DISABLE": "false"}},
            "cfgparams.ISOLATION.TOOLS.COPY.DISABLE: would change the hardened value 'TRUE' to 'false' "
            "(fix: drop it, or set allowVmxOverrides: true to weaken it explicitly)",
        ),
    ],
)
def test_vsphere_rules(extra: dict[str, Any], message: str) -> None:
    rejected(n.VsphereDriver, {**VSPHERE, **extra}, message)


def test_vsphere_overrides_need_the_named_switch_and_same_values_pass() -> None:
    same = driver(n.VsphereDriver, {**VSPHERE, "cfgparams": {"isolation.tools.copy.disable": "true"}})
    assert "isolation.tools.copy.disable=true" in same.rendered_cfgparams()
    weak = {**VSPHERE, "cfgparams": {"isolation.tools.copy.disable": "FALSE"}, "allowVmxOverrides": True}
    assert "isolation.tools.copy.disable=FALSE" in driver(n.VsphereDriver, weak).rendered_cfgparams()
    library = {**VSPHERE, "creationType": "library", "contentLibrary": "lib"}
    assert (
        plain(driver(n.VsphereDriver, library).machine_config())["vsphere_config"]["content_library"] == "lib"
    )


def test_digitalocean_hardened_machine_config() -> None:
    data = {"type": "digitalocean", "region": "fra1", "size": "s", "image": "img", "tags": ["b", "a"]}
    got = plain(driver(n.DigitaloceanDriver, data).machine_config()["digitalocean_config"])
    got.pop("userdata")
    assert got == {
        "region": "fra1",
        "size": "s",
        "image": "img",
        "tags": "a,b",
        "private_networking": True,
        "monitoring": True,
        "ipv6": False,
        "backups": False,
    }
    rejected(
        n.DigitaloceanDriver, {**data, "tags": ["a,b"]}, f"tag 'a,b' contains a comma (fix: {COMMA_FIX})"
    )
    weak = {**data, "tags": [], "allowBackups": True, "ipv6": True, "sshUser": "root"}
    got = plain(driver(n.DigitaloceanDriver, weak).machine_config()["digitalocean_config"])
    assert got["backups"] is True and got["ipv6"] is True and got["ssh_user"] == "root" and "tags" not in got


def test_user_cloud_init_that_cannot_merge_is_rejected_at_the_driver() -> None:
    rejected(
        n.DigitaloceanDriver,
        {
            "type": "digitalocean",
            "region": "r",
            "size": "s",
            "image": "i",
            "userData": "#cloud-config\n- a list\n",
        },
        "a #cloud-config document must be a mapping, got list (fix: use top-level keys such as 'packages', "
        "'runcmd', 'write_files')",
        ("userData",),
    )


def test_machine_config_kinds() -> None:
    assert dict(n.MACHINE_CONFIG_KINDS) == {
        "amazonec2": "Amazonec2Config",
        "harvester": "HarvesterConfig",
        "vsphere": "VmwarevsphereConfig",
        "digitalocean": "DigitaloceanConfig",
    }


# --------------------------------------------------------------------------------------------- layout


def pool(name: str, roles: list[str], quantity: int = 1, **extra: Any) -> n.NodePoolArgs:
    return n.NodePoolArgs.model_validate({"name": name, "roles": roles, "quantity": quantity, **extra})


def layout_problems(pools: list[n.NodePoolArgs], production: bool, field: str = "nodePools") -> list[Any]:
    try:
        n.validate_layout(pools, production, field=field)
    except ConfigProblems as exc:
        return [(p.path, p.message, p.fix) for p in exc.items]
    return []


def test_no_pools() -> None:
    assert layout_problems([], False, "pools") == [
        (("pools",), "no node pools", "add at least one pool with every role")
    ]


def test_every_role_is_needed_and_names_are_unique() -> None:
    pools = [pool("a", ["etcd"]), pool("a", ["etcd"]), pool("a", ["etcd"])]
    assert layout_problems(pools, False) == [
        (("nodePools", 1, "name"), "'a' is already used by nodePools[0]", "give every pool a unique name"),
        (("nodePools", 2, "name"), "'a' is already used by nodePools[0]", "give every pool a unique name"),
        (("nodePools",), "no pool has the controlPlane role", "set roles.controlPlane: true on a pool"),
        (("nodePools",), "no pool has the worker role", "set roles.worker: true on a pool"),
    ]


def test_custom_and_driver_pools_do_not_mix() -> None:
    driven = pool("d", ["worker"], driver=EC2, cloudCredentialSecretName=CRED)
    pools = [pool("c1", ["etcd", "controlPlane"]), driven, pool("c2", ["worker"])]
    assert layout_problems(pools, False) == [
        (
            ("nodePools", 0, "driver"),
            "custom pools cannot be mixed with node-driver pools such as nodePools[1]",
            "use only custom pools, or only node-driver pools",
        ),
    ]


@pytest.mark.parametrize(
    ("quantities", "expected"),
    [
        ((3, 2, 1), []),
        ((5, 3, 1), []),
        ((1, 2, 1), ["production needs an odd number of etcd nodes ≥ 3, got 1"]),
        ((2, 2, 1), ["production needs an odd number of etcd nodes ≥ 3, got 2"]),
        ((4, 2, 1), ["production needs an odd number of etcd nodes ≥ 3, got 4"]),
        ((3, 1, 1), ["production needs ≥ 2 control-plane nodes, got 1"]),
    ],
)
def test_production_quorum(quantities: tuple[int, int, int], expected: list[str]) -> None:
    e, cp, w = quantities
    pools = [pool("e", ["etcd"], e), pool("cp", ["controlPlane"], cp), pool("w", ["worker"], w)]
    assert [m for _, m, _ in layout_problems(pools, True)] == expected
    assert layout_problems(pools, False) == []


def test_production_pools_carry_one_role_each() -> None:
    pools = [
        pool("ec", ["etcd", "controlPlane"], 3),
        pool("cp", ["controlPlane"], 1),
        pool("w", ["worker"], 2),
    ]
    assert layout_problems(pools, True) == [
        (
            ("nodePools", 0, "roles"),
            "production pools carry exactly one role, 'ec' has etcd, controlPlane",
            "split it into separate etcd, controlPlane and worker pools",
        ),
    ]
    fixes = {
        f
        for _, _, f in layout_problems(
            [pool("e", ["etcd"], 2), pool("cp", ["controlPlane"]), pool("w", ["worker"])], True
        )
    }
    assert fixes == {
        "set the etcd pools' quantity to 3 or 5",
        "raise the control-plane pool's quantity to 2 or more",
    }


def test_role_counts_add_quantities_of_every_pool_with_the_role() -> None:
    pools = [pool("a", ["etcd", "worker"], 2), pool("b", ["worker"], 3)]
    assert [n._role_count(pools, r) for r in n.ROLE_NAMES] == [2, 0, 5]


def test_layout_errors_read_like_stack_config_and_default_to_node_pools() -> None:
    pools = [pool("a", ["etcd", "controlPlane", "worker"]), pool("a", ["worker"])]
    with pytest.raises(ConfigProblems) as info:
        n.validate_layout(pools, False)
    assert info.value.problems == [
        "nodePools[1].name: 'a' is already used by nodePools[0] (fix: give every pool a unique name)"
    ]


def test_the_operators_cloud_init_is_merged_into_the_drivers_user_data() -> None:
    data = {
        "type": "digitalocean",
        "region": "r",
        "size": "s",
        "image": "i",
        "userData": "#cloud-config\npackages: [htop]\n",
    }
    user_data = cloud_config(driver(n.DigitaloceanDriver, data).cloud_init())
    assert "htop" in user_data["packages"] and "write_files" in user_data


def test_vsphere_datastore_cluster_and_cfgparam_order() -> None:
    data = {**VSPHERE, "datastore": None, "datastoreCluster": "dsc", "cfgparams": {"xz": "2", "x_y": "1"}}
    d = driver(n.VsphereDriver, data)
    got = plain(d.machine_config()["vsphere_config"])
    assert got["datastore_cluster"] == "dsc" and "datastore" not in got
    params = [p.split("=")[0] for p in d.rendered_cfgparams()]
    assert params.index("x_y") < params.index("xz")  # ordered by lower-case name: '_' sorts before 'z'
