"""Node-driver machine-config policies (rancher2 MachineConfigV2), driven through the analyzer protocol with
props exactly as the engine sends them. Each policy: a hardened baseline that passes and failing mutations;
plus the machine configs HardenedCluster's node pools build (every driver) pass, and their named
weakening settings are reported."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nsa_cisa import ALL_POLICIES
from nsa_cisa import node_drivers as nd

from components.node_pools import NodePoolArgs, build_machine_pools
from hardened_rke2.analysis.results import Violation
from hardened_rke2.analysis.testing import UNKNOWN, analyze_props
from hardened_rke2.capture import ProgramRun
from tests.support.paths import PACK_DIR

MC = "rancher2:index/machineConfigV2:MachineConfigV2"
OURS = {p.name for p in nd.GROUP.policies}
ADVISORY = {
    "machine-digitalocean-private-networking",
    "machine-digitalocean-backups-off",
    "machine-cis-host-prep",
}

SYSCTL_FILE = "/etc/sysctl.d/60-rke2-cis.conf"
SYSCTL_CONTENT = (
    "kernel.panic = 10\nkernel.panic_on_oops = 1\nvm.overcommit_memory = 1\nvm.panic_on_oom = 0\n"
)


def cloud_config(**changes: Any) -> str:
    """A #cloud-config with the CIS preparation; keyword args replace/remove (None) top-level keys."""
    doc: dict[str, Any] = {
        "users": [{"name": "etcd", "system": True, "shell": "/sbin/nologin"}, "default"],
        "write_files": [{"path": SYSCTL_FILE, "content": SYSCTL_CONTENT, "permissions": "0644"}],
        "runcmd": [["sysctl", "-p", SYSCTL_FILE]],
    }
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=True)


def good_ec2() -> dict[str, Any]:
    return {
        "fleetNamespace": "fleet-default",
        "generateName": "prod-etcd",
        "amazonec2Config": {
            "region": "eu-west-1",
            "ami": "ami-0123",
            "zone": "a",
            "vpcId": "vpc-1",
            "subnetId": "subnet-1",
            "securityGroups": ["rke2-nodes"],
            "securityGroupReadonly": True,
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "encryptEbsVolume": True,
            "privateAddressOnly": True,
            "usePrivateAddress": True,
            "rootSize": "50",
            "userdata": cloud_config(),
        },
    }


def good_do() -> dict[str, Any]:
    return {
        "generateName": "prod-worker",
        "digitaloceanConfig": {
            "region": "fra1",
            "size": "s-4vcpu-8gb",
            "image": "ubuntu-24-04-x64",
            "privateNetworking": True,
            "backups": False,
            "ipv6": False,
            "monitoring": True,
            "userdata": cloud_config(),
        },
    }


def good_vsphere() -> dict[str, Any]:
    return {
        "generateName": "prod-cp",
        "vsphereConfig": {
            "creationType": "template",
            "cloneFrom": "ubuntu-2404",
            "datacenter": "dc1",
            "cfgparams": [
                "disk.enableUUID=TRUE",
                "isolation.tools.copy.disable=TRUE",
                "RemoteDisplay.maxConnections=1",
                "log.keepOld=10",
            ],
            "cloudConfig": cloud_config(),
        },
    }


def good_harvester() -> dict[str, Any]:
    return {
        "generateName": "prod-w",
        "harvesterConfig": {"vmNamespace": "vms", "sshUser": "ubuntu", "userData": cloud_config()},
    }


def good_azure() -> dict[str, Any]:
    return {"azureConfig": {"noPublicIp": True, "nsg": "rke2-nodes", "customData": cloud_config()}}


def good_google() -> dict[str, Any]:
    return {"googleConfig": {"useInternalIpOnly": True, "userData": cloud_config()}}


GOOD = {
    "amazonec2": good_ec2,
    "digitalocean": good_do,
    "vsphere": good_vsphere,
    "harvester": good_harvester,
    "azure": good_azure,
    "google": good_google,
}


def violations(
    props: dict[str, Any], *, config: dict[str, Any] | None = None, name: str = "prod-etcd"
) -> list[Violation]:
    return [v for v in analyze_props(PACK_DIR, MC, props, name=name, config=config) if v.policy_name in OURS]


def run(props: dict[str, Any], **kw: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in violations(props, **kw):
        out.setdefault(v.policy_name, []).append(v.message)
    return out


def mutate(base: Callable[[], dict[str, Any]], block: str, **fields: Any) -> dict[str, Any]:
    props = base()
    for key, value in fields.items():
        if value is None:
            props[block].pop(key, None)
        else:
            props[block][key] = value
    return props


# ------------------------------------------------------------------------------------- baselines


@pytest.mark.parametrize("driver", sorted(GOOD))
def test_hardened_baseline_passes_every_machine_policy(driver: str) -> None:
    assert run(GOOD[driver]()) == {}


def test_policies_are_in_the_pack_with_complete_metadata() -> None:
    names = {p.name for p in ALL_POLICIES}
    assert names >= OURS and len(OURS) == 10
    for policy in nd.GROUP.policies:
        assert policy.framework is not None and policy.framework.version == "1.2"
        assert any(t.startswith("NSA-") for t in policy.tags or [])
        assert policy.remediation_steps and policy.url and policy.severity is not None
        expected = "advisory" if policy.name in ADVISORY else "mandatory"
        assert policy.enforcement_level is not None and policy.enforcement_level.value == expected
    schema = next(p for p in nd.GROUP.policies if p.name == "machine-no-public-ip").config_schema
    assert schema is not None
    assert schema.properties["allowPublicIp"]["default"] is False
    assert schema.properties["publicIpAllowedFor"]["default"] == []


def test_other_resource_types_are_ignored() -> None:
    props = {"amazonec2Config": {"httpTokens": "optional"}}
    found = [
        v
        for v in analyze_props(PACK_DIR, "rancher2:index/cloudCredential:CloudCredential", props)
        if v.policy_name in OURS
    ]
    assert found == []


# ------------------------------------------------------------------------------------------- IMDS


@pytest.mark.parametrize("tokens", ["optional", None, ""])
def test_ec2_imdsv1_fails(tokens: str | None) -> None:
    found = violations(mutate(good_ec2, "amazonec2Config", httpTokens=tokens))
    imds = [v for v in found if v.policy_name == "machine-ec2-imdsv2-required"]
    assert len(imds) == 1 and "httpTokens" in imds[0].message
    assert imds[0].is_mandatory and "NSA-2.6" in imds[0].tags and imds[0].severity == "high"


def test_ec2_imds_disabled_or_tokens_required_passes() -> None:
    assert "machine-ec2-imdsv2-required" not in run(
        mutate(good_ec2, "amazonec2Config", httpEndpoint="disabled", httpTokens="optional")
    )
    assert "machine-ec2-imdsv2-required" not in run(
        mutate(good_ec2, "amazonec2Config", httpTokens="Required")
    )


def test_ec2_imds_unknown_at_preview_is_reported_as_cannot_run() -> None:
    found = violations(mutate(good_ec2, "amazonec2Config", httpTokens=UNKNOWN))
    imds = [v for v in found if v.policy_name == "machine-ec2-imdsv2-required"]
    assert len(imds) == 1 and imds[0].is_preview_unknown


# -------------------------------------------------------------------------------------------- EBS


@pytest.mark.parametrize("value", [False, None, "false"])
def test_ec2_unencrypted_root_volume_fails(value: Any) -> None:
    found = run(mutate(good_ec2, "amazonec2Config", encryptEbsVolume=value))
    assert list(found) == ["machine-ec2-root-volume-encrypted"]
    assert "encryptEbsVolume" in found["machine-ec2-root-volume-encrypted"][0]


# ------------------------------------------------------------------------------------- public IPs


@pytest.mark.parametrize(
    ("base", "block", "fields", "needle"),
    [
        (good_ec2, "amazonec2Config", {"privateAddressOnly": False}, "privateAddressOnly"),
        (good_ec2, "amazonec2Config", {"privateAddressOnly": None}, "privateAddressOnly"),
        (good_ec2, "amazonec2Config", {"ipv6AddressCount": 1.0}, "IPv6"),
        (good_ec2, "amazonec2Config", {"ipv6AddressOnly": True}, "IPv6"),
        (good_azure, "azureConfig", {"noPublicIp": None}, "noPublicIp"),
        (good_azure, "azureConfig", {"staticPublicIp": True}, "staticPublicIp"),
        (good_google, "googleConfig", {"useInternalIpOnly": False}, "useInternalIpOnly"),
        (good_do, "digitaloceanConfig", {"ipv6": True}, "ipv6"),
    ],
)
def test_public_addresses_fail(
    base: Callable[[], dict[str, Any]], block: str, fields: dict[str, Any], needle: str
) -> None:
    found = run(mutate(base, block, **fields))
    assert list(found) == ["machine-no-public-ip"]
    assert needle in found["machine-no-public-ip"][0]


def test_openstack_floating_ip_fails() -> None:
    found = run({"openstackConfig": {"floatingIpPool": "public", "userDataFile": cloud_config()}})
    assert "floatingIpPool" in found["machine-no-public-ip"][0]
    assert run({"openstackConfig": {"userDataFile": cloud_config()}}) == {}


def test_public_ip_allowed_by_config() -> None:
    public = mutate(good_ec2, "amazonec2Config", privateAddressOnly=False)
    assert "machine-no-public-ip" not in run(public, config={"machine-no-public-ip": {"allowPublicIp": True}})
    allow_edge = {"machine-no-public-ip": {"publicIpAllowedFor": ["*-edge*"]}}
    edge = copy.deepcopy(public)
    edge["generateName"] = "prod-edge"
    assert "machine-no-public-ip" not in run(edge, config=allow_edge, name="prod-edge")
    # the allow-list names pools; others stay private
    assert "machine-no-public-ip" in run(public, config=allow_edge, name="prod-etcd")


# ------------------------------------------------------------------------------ driver-made rules


@pytest.mark.parametrize("readonly", [False, None])
def test_ec2_driver_security_group_rules_fail(readonly: bool | None) -> None:
    found = run(mutate(good_ec2, "amazonec2Config", securityGroupReadonly=readonly))
    assert list(found) == ["machine-no-driver-opened-ports"]
    assert "securityGroupReadonly" in found["machine-no-driver-opened-ports"][0]


@pytest.mark.parametrize(
    ("base", "block"),
    [(good_ec2, "amazonec2Config"), (good_azure, "azureConfig"), (good_google, "googleConfig")],
)
def test_open_ports_fail(base: Callable[[], dict[str, Any]], block: str) -> None:
    found = run(mutate(base, block, openPorts=["6443", "10250/tcp"]))
    msgs = found["machine-no-driver-opened-ports"]
    assert any("6443" in m and "10250/tcp" in m and f"{block}.openPorts" in m for m in msgs)


def test_azure_driver_created_nsg_fails() -> None:
    found = run(mutate(good_azure, "azureConfig", nsg=None))
    assert "nsg" in found["machine-no-driver-opened-ports"][0]


# ----------------------------------------------------------------------------------- DigitalOcean


@pytest.mark.parametrize("value", [False, None])
def test_do_without_private_networking_is_advisory(value: bool | None) -> None:
    found = violations(mutate(good_do, "digitaloceanConfig", privateNetworking=value))
    assert [v.policy_name for v in found] == ["machine-digitalocean-private-networking"]
    assert found[0].enforcement_level == "advisory" and "NSA-2.16" in found[0].tags


def test_do_backups_are_advisory() -> None:
    found = violations(mutate(good_do, "digitaloceanConfig", backups=True))
    assert [v.policy_name for v in found] == ["machine-digitalocean-backups-off"]
    assert found[0].enforcement_level == "advisory" and "backups" in found[0].message
    assert run(mutate(good_do, "digitaloceanConfig", backups=None)) == {}  # the driver default is off


# ---------------------------------------------------------------------------------------- vSphere


@pytest.mark.parametrize(
    "entry",
    [
        "isolation.tools.copy.disable=FALSE",
        "Isolation.Tools.Paste.Disable=false",
        "isolation.tools.setGUIOptions.enable=TRUE",
        "RemoteDisplay.maxConnections=5",
        "mks.enable3d=TRUE",
    ],
)
def test_vsphere_weakened_vmx_setting_fails(entry: str) -> None:
    props = good_vsphere()
    props["vsphereConfig"]["cfgparams"] = [*props["vsphereConfig"]["cfgparams"], entry]
    found = run(props)
    assert list(found) == ["machine-vsphere-vmx-hardening"]
    assert entry.split("=")[0] in found["machine-vsphere-vmx-hardening"][0]


def test_vsphere_unrelated_cfgparams_pass() -> None:
    props = good_vsphere()
    props["vsphereConfig"]["cfgparams"] = ["guestinfo.foo=bar", "log.rotateSize=2048000", "no-equals-sign"]
    assert run(props) == {}


# --------------------------------------------------------------------------------- driver API TLS


@pytest.mark.parametrize(("block", "field"), nd.INSECURE_API_FIELDS)
def test_driver_api_without_tls_fails(block: str, field: str) -> None:
    found = violations({block: {field: True}})
    tls = [v for v in found if v.policy_name == "machine-driver-api-tls"]
    assert len(tls) == 1 and f"{block}.{field}" in tls[0].message and "NSA-2.17" in tls[0].tags
    assert tls[0].is_mandatory
    assert "machine-driver-api-tls" not in run({block: {field: False}})


# ----------------------------------------------------------------------------- inline credentials


@pytest.mark.parametrize(
    ("block", "field"),
    [(b, f) for b, fields in sorted(nd.CREDENTIAL_FIELDS.items()) for f in fields],
)
def test_inline_credentials_fail(block: str, field: str) -> None:
    props = {block: {field: "s3cr3t-value"}}
    found = run(props)
    assert any(f"{block}.{field}" in m for m in found["machine-no-inline-credentials"])
    props[block][field] = ""
    assert "machine-no-inline-credentials" not in run(props)


# ---------------------------------------------------------------------------- CIS host preparation


def prep_messages(
    userdata: str | None, *, block: str = "amazonec2Config", field: str = "userdata"
) -> list[str]:
    props = copy.deepcopy(
        GOOD[
            {
                "amazonec2Config": "amazonec2",
                "harvesterConfig": "harvester",
                "vsphereConfig": "vsphere",
                "digitaloceanConfig": "digitalocean",
            }[block]
        ]()
    )
    props[block][field] = userdata
    if block == "vsphereConfig" and field != "cloudConfig":
        props[block].pop("cloudConfig")
    found = violations(props)
    assert all(v.enforcement_level == "advisory" for v in found if v.policy_name == "machine-cis-host-prep")
    assert {v.policy_name for v in found} <= {"machine-cis-host-prep"}
    return [v.message for v in found]


@pytest.mark.parametrize("userdata", [None, "", "   "])
def test_host_prep_missing_cloud_init(userdata: str | None) -> None:
    msgs = prep_messages(userdata)
    assert len(msgs) == 1 and "no CIS host preparation" in msgs[0]


def test_host_prep_missing_etcd_user() -> None:
    msgs = prep_messages(cloud_config(users=["default", {"name": "ops"}]))
    assert len(msgs) == 1 and "'etcd' user" in msgs[0]


@pytest.mark.parametrize("key", sorted(nd.CIS_SYSCTLS))
def test_host_prep_missing_sysctl(key: str) -> None:
    content = "".join(line + "\n" for line in SYSCTL_CONTENT.splitlines() if not line.startswith(key + " "))
    msgs = prep_messages(cloud_config(write_files=[{"path": SYSCTL_FILE, "content": content}]))
    assert len(msgs) == 1 and f"does not set {key}={nd.CIS_SYSCTLS[key]}" in msgs[0]


def test_host_prep_wrong_sysctl_value() -> None:
    content = SYSCTL_CONTENT.replace("vm.overcommit_memory = 1", "vm.overcommit_memory = 0")
    msgs = prep_messages(cloud_config(write_files=[{"path": SYSCTL_FILE, "content": content}]))
    assert (
        msgs == [msgs[0]]
        and "vm.overcommit_memory=0" in msgs[0]
        and "requires vm.overcommit_memory=1" in msgs[0]
    )


def test_host_prep_written_but_never_loaded() -> None:
    msgs = prep_messages(cloud_config(runcmd=[["echo", "hello"]]))
    assert len(msgs) == 4 and all("never loads" in m for m in msgs)
    # a different file loaded does not count; `sysctl --system` or a systemd-sysctl restart does
    assert len(prep_messages(cloud_config(runcmd=[["sysctl", "-p", "/etc/sysctl.d/other.conf"]]))) == 4
    assert prep_messages(cloud_config(runcmd=["sysctl --system"])) == []
    assert prep_messages(cloud_config(runcmd=[["systemctl", "restart", "systemd-sysctl"]])) == []
    assert prep_messages(cloud_config(runcmd=[f"sysctl -p{SYSCTL_FILE}"])) == []
    # bootcmd runs before write_files: on the first boot there is nothing to load yet
    early = prep_messages(cloud_config(bootcmd=[f"sysctl -p {SYSCTL_FILE}"], runcmd=None))
    assert len(early) == 4 and all("never loads" in m for m in early)


def test_host_prep_runtime_only_is_not_persisted() -> None:
    cmds = [["sysctl", "-w", f"{k}={v}"] for k, v in sorted(nd.CIS_SYSCTLS.items())]
    msgs = prep_messages(cloud_config(write_files=None, runcmd=cmds))
    assert len(msgs) == 4 and all("only at runtime" in m for m in msgs)


def test_host_prep_sysctl_conf_loaded_with_plain_p() -> None:
    doc = cloud_config(
        write_files=[{"path": "/etc/sysctl.conf", "content": SYSCTL_CONTENT, "append": True}],
        runcmd=["sysctl -p"],
    )
    assert prep_messages(doc) == []


def test_host_prep_base64_write_files_content() -> None:
    encoded = base64.b64encode(SYSCTL_CONTENT.encode()).decode()
    doc = cloud_config(write_files=[{"path": SYSCTL_FILE, "content": encoded, "encoding": "b64"}])
    assert prep_messages(doc) == []
    gz = cloud_config(write_files=[{"path": SYSCTL_FILE, "content": "H4sI", "encoding": "gz+b64"}])
    assert any("cannot be read" in m for m in prep_messages(gz))


RKE2_DOCS_SCRIPT = f"""#!/bin/bash
set -e
useradd -r -c "etcd user" -s /sbin/nologin -M etcd -U
cat > {SYSCTL_FILE} <<'EOF'
vm.panic_on_oom=0
vm.overcommit_memory=1
kernel.panic=10
kernel.panic_on_oops=1
EOF
sudo sysctl -p {SYSCTL_FILE}
"""


def test_host_prep_shell_script_passes() -> None:
    assert prep_messages(RKE2_DOCS_SCRIPT) == []


def test_host_prep_shell_script_loading_before_writing_fails() -> None:
    load = f"sudo sysctl -p {SYSCTL_FILE}\n"
    script = RKE2_DOCS_SCRIPT.replace(load, "").replace("set -e\n", "set -e\n" + load)
    msgs = prep_messages(script)
    assert len(msgs) == 4 and all("never loads" in m for m in msgs)


def test_host_prep_echo_into_sysctl_file_in_runcmd() -> None:
    lines = [f"echo '{k}={v}' >> /etc/sysctl.d/99-cis.conf" for k, v in sorted(nd.CIS_SYSCTLS.items())]
    doc = cloud_config(write_files=None, runcmd=[*lines, "sysctl --system"])
    assert prep_messages(doc) == []


def test_host_prep_useradd_of_another_user_does_not_count() -> None:
    script = RKE2_DOCS_SCRIPT.replace(
        'useradd -r -c "etcd user" -s /sbin/nologin -M etcd -U', "useradd -g etcd backup"
    )
    msgs = prep_messages(script)
    assert len(msgs) == 1 and "'etcd' user" in msgs[0]


def test_host_prep_base64_user_data_harvester() -> None:
    encoded = base64.b64encode(cloud_config().encode()).decode()
    assert prep_messages(encoded, block="harvesterConfig", field="userData") == []
    broken = base64.b64encode(cloud_config(users=None).encode()).decode()
    assert any("'etcd' user" in m for m in prep_messages(broken, block="harvesterConfig", field="userData"))


def test_host_prep_mime_multipart() -> None:
    boundary = "==BOUNDARY=="
    body = (
        f'Content-Type: multipart/mixed; boundary="{boundary}"\nMIME-Version: 1.0\n\n'
        f'--{boundary}\nContent-Type: text/cloud-config; charset="us-ascii"\n\n{cloud_config()}\n'
        f"--{boundary}\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho hi\n--{boundary}--\n"
    )
    assert prep_messages(body) == []
    without = body.replace(cloud_config(), cloud_config(users=None))
    assert any("'etcd' user" in m for m in prep_messages(without))


def test_host_prep_vsphere_cloudinit_field() -> None:
    assert prep_messages(cloud_config(), block="vsphereConfig", field="cloudinit") == []


@pytest.mark.parametrize(
    ("userdata", "needle"),
    [
        ("users:\n- name: etcd\n", "neither '#cloud-config'"),
        ("#cloud-config\nusers: [unclosed\n", "not valid YAML"),
        ("#cloud-config\n- a list\n", "not a mapping"),
        ("https://config.example.com/node.yaml", "is a URL"),
    ],
)
def test_host_prep_unusable_cloud_init(userdata: str, needle: str) -> None:
    assert any(needle in m for m in prep_messages(userdata))


def test_host_prep_driver_without_cloud_init() -> None:
    found = run({"linodeConfig": {"image": "linode/ubuntu24.04", "region": "eu-west"}})
    assert (
        list(found) == ["machine-cis-host-prep"]
        and "cannot carry cloud-init" in found["machine-cis-host-prep"][0]
    )


# ------------------------------------------------------------------------------------- exemptions


def test_annotation_exemption_applies_to_machine_configs() -> None:
    props = mutate(good_do, "digitaloceanConfig", backups=True)
    props["annotations"] = {
        "policy.hardened-rke2.io/exemptions": json.dumps(
            [
                {
                    "policy": "machine-digitalocean-backups-off",
                    "reason": "provider-side DR drill until migration",
                    "expires": "2999-12-31",
                    "approvedBy": "security-team",
                }
            ]
        )
    }
    assert "machine-digitalocean-backups-off" not in run(props)


# --------------------------------------------------------------------------------------- garbage

_garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.just(UNKNOWN),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_field_names = st.sampled_from(
    sorted(
        {f for fs in nd.CLOUD_INIT_FIELDS.values() for f in fs}
        | {
            "httpTokens",
            "httpEndpoint",
            "encryptEbsVolume",
            "privateAddressOnly",
            "securityGroupReadonly",
            "openPorts",
            "ipv6AddressCount",
            "noPublicIp",
            "nsg",
            "cfgparams",
            "backups",
            "privateNetworking",
            "floatingIpPool",
            "useInternalIpOnly",
            "secretKey",
        }
    )
)
_user_data = st.sampled_from(
    [
        "#cloud-config\n",
        "#cloud-config\nwrite_files: 3\n",
        "#cloud-config\nwrite_files: [{path: 1}]\n",
        "#cloud-config\nruncmd: [[1, 2], {a: b}, 'sysctl -p \"unterminated']\n",
        "#!/bin/sh\nuseradd\nsysctl -p\n",
        "Content-Type: multipart/mixed; boundary=x\n\n--x\n",
        "#cloud-config\nusers: [{name: [etcd]}]\n",
        "#cloud-config\nwrite_files: [{path: /etc/sysctl.d/a.conf, content: 5}]\n",
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    block=st.sampled_from(nd.DRIVER_BLOCKS),
    fields=st.dictionaries(_field_names, _garbage | _user_data, max_size=5),
    whole=_garbage,
)
def test_malformed_props_never_crash_a_policy(block: str, fields: dict[str, Any], whole: Any) -> None:
    for props in ({block: fields}, {block: whole}, {"generateName": whole, block: fields}):
        for v in violations(props):
            assert "could not evaluate" not in v.message, v.message


# ------------------------------------------------------------- node pools built by the components

DRIVERS: dict[str, dict[str, Any]] = {
    "amazonec2": {
        "type": "amazonec2",
        "region": "eu-west-1",
        "ami": "ami-0123",
        "zone": "a",
        "vpcId": "vpc-1",
        "subnetId": "subnet-1",
        "securityGroups": ["rke2-nodes"],
        "kmsKey": "alias/rke2",
        "tags": {"team": "platform"},
    },
    "digitalocean": {
        "type": "digitalocean",
        "region": "fra1",
        "size": "s-4vcpu-8gb",
        "image": "ubuntu-24-04-x64",
    },
    "vsphere": {
        "type": "vsphere",
        "cloneFrom": "ubuntu-2404",
        "datacenter": "dc1",
        "datastore": "ds1",
        "networks": ["VM Network"],
        "cfgparams": {"guestinfo.role": "node"},
    },
    "harvester": {
        "type": "harvester",
        "vmNamespace": "vms",
        "sshUser": "ubuntu",
        "disks": [{"sizeGb": 60, "bootOrder": 1, "imageName": "default/ubuntu"}],
        "networks": ["default/vlan1"],
    },
}
USER_CLOUD_INIT = "#cloud-config\npackages: [jq]\nruncmd:\n- echo ready\n"


def build(mock_run: Callable[..., ProgramRun], driver: dict[str, Any]) -> list[dict[str, Any]]:
    pools = [
        NodePoolArgs.model_validate(
            {
                "name": role.lower(),
                "roles": [role],
                "quantity": 3 if role == "etcd" else 2,
                "cloudCredentialSecretName": "cattle-global-data:cc-abc",
                "driver": driver,
            }
        )
        for role in ("etcd", "controlPlane", "worker")
    ]

    def program() -> None:
        parent = pulumi.ComponentResource("hardened-rke2:test:Pools", "pools")
        build_machine_pools("prod", pools, parent)

    configs = mock_run(program).of_type(MC)
    assert len(configs) == 3
    return [c.inputs for c in configs]


@pytest.mark.parametrize("driver", sorted(DRIVERS))
@pytest.mark.parametrize("user_data", [None, USER_CLOUD_INIT])
def test_node_pools_built_by_the_component_pass(
    mock_run: Callable[..., ProgramRun], driver: str, user_data: str | None
) -> None:
    spec = dict(DRIVERS[driver], **({"userData": user_data} if user_data else {}))
    for props in build(mock_run, spec):
        assert violations(props, name=props["generateName"]) == []


WEAKENINGS = [
    ("amazonec2", {"allowImdsV1": True}, {"machine-ec2-imdsv2-required"}),
    ("amazonec2", {"allowUnencryptedVolume": True, "kmsKey": None}, {"machine-ec2-root-volume-encrypted"}),
    ("amazonec2", {"allowPublicIp": True}, {"machine-no-public-ip"}),
    ("amazonec2", {"allowDriverSecurityGroupRules": True}, {"machine-no-driver-opened-ports"}),
    (
        "amazonec2",
        {"allowPublicIp": True, "allowDriverSecurityGroupRules": True, "openPorts": ["8443"]},
        {"machine-no-public-ip", "machine-no-driver-opened-ports"},
    ),
    ("digitalocean", {"privateNetworking": False}, {"machine-digitalocean-private-networking"}),
    ("digitalocean", {"allowBackups": True}, {"machine-digitalocean-backups-off"}),
    ("digitalocean", {"ipv6": True}, {"machine-no-public-ip"}),
    (
        "vsphere",
        {"allowVmxOverrides": True, "cfgparams": {"isolation.tools.copy.disable": "FALSE"}},
        {"machine-vsphere-vmx-hardening"},
    ),
]


@pytest.mark.parametrize(("driver", "changes", "expected"), WEAKENINGS)
def test_named_weakening_settings_are_reported(
    mock_run: Callable[..., ProgramRun], driver: str, changes: dict[str, Any], expected: set[str]
) -> None:
    spec = {k: v for k, v in {**DRIVERS[driver], **changes}.items() if v is not None}
    for props in build(mock_run, spec):
        assert {v.policy_name for v in violations(props, name=props["generateName"])} == expected


_cloud_init_text = st.one_of(
    st.text(max_size=200),
    st.builds(lambda body: "#cloud-config\n" + body, st.text(max_size=200)),
    st.builds(
        lambda body: "#!/bin/sh\n" + body,
        st.text(alphabet=" -=|&;'\"\\\nabcdeklmnoprstuy./0189", max_size=200),
    ),
    st.builds(
        lambda body: base64.b64encode(("#cloud-config\n" + body).encode()).decode(), st.text(max_size=80)
    ),
)


@settings(max_examples=200, deadline=None)
@given(userdata=_cloud_init_text)
def test_arbitrary_cloud_init_text_never_raises(userdata: str) -> None:
    # The pure check, without the framework's safety net: every message is a plain string.
    for block, fields in nd.CLOUD_INIT_FIELDS.items():
        for name in fields:
            messages = nd.check_cis_host_prep({block: {name: userdata}}, {})
            assert all(isinstance(m, str) and m for m in messages)
