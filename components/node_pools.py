"""Node pools of a hardened RKE2 cluster: role layout, node-driver machine configs, custom nodes.

- Custom (bring-your-own) pools register no Rancher objects: the operator runs `host_prep_script()`
  and then the cluster's registration command on each host.
- Node-driver pools (Amazon EC2, Harvester, vSphere, DigitalOcean) each get a `rancher2.MachineConfigV2`
  whose driver options default to the hardened settings and whose cloud-init carries the CIS host
  preparation merged with the operator's own cloud-init.

Known provider behaviour: changing a machine config makes Rancher roll the pool's machines
(rancher/rancher#53458), so edit driver settings deliberately.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import pulumi
import pulumi_rancher2 as rancher2
from pydantic import Field, field_validator, model_validator

from components.host_prep import render_node_cloud_init
from components.kube_names import check_dns_label, is_label_key, is_label_value
from components.model import HardenedModel
from components.problems import ConfigProblems, Problem

FLEET_NAMESPACE = "fleet-default"
ROLE_NAMES = ("etcd", "controlPlane", "worker")
_ROLE_ALIASES = {
    "etcd": "etcd",
    "controlplane": "controlPlane",
    "control-plane": "controlPlane",
    "control_plane": "controlPlane",
    "worker": "worker",
}
_MAX_UNHEALTHY = re.compile(r"^([0-9]+|[0-9]{1,2}%|100%)$")


# --------------------------------------------------------------------------------------------- roles
class NodeRoles(HardenedModel):
    """Which RKE2 roles the nodes of a pool carry."""

    etcd: bool = False
    """Nodes run etcd."""
    control_plane: bool = False
    """Nodes run the Kubernetes control plane."""
    worker: bool = False
    """Nodes run workloads."""

    @model_validator(mode="after")
    def _at_least_one(self) -> NodeRoles:
        if not (self.etcd or self.control_plane or self.worker):
            raise ConfigProblems.one(
                "a pool needs at least one role", "set etcd, controlPlane and/or worker to true"
            )
        return self

    def names(self) -> list[str]:
        flags = (self.etcd, self.control_plane, self.worker)
        return [name for name, on in zip(ROLE_NAMES, flags, strict=True) if on]

    def registration_flags(self) -> str:
        """Flags for Rancher's custom-node registration command (e.g. `--etcd --controlplane`)."""
        flags = {"etcd": "--etcd", "controlPlane": "--controlplane", "worker": "--worker"}
        return " ".join(flags[n] for n in self.names())


class Taint(HardenedModel):
    key: str
    """Taint key."""
    value: str = ""
    """Taint value."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"
    """Taint effect."""

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not is_label_key(v):
            raise ConfigProblems.one(f"'{v}' is not a valid taint key", "use [prefix/]name, e.g. dedicated")
        return v


# ------------------------------------------------------------------------------------------- drivers
class CustomDriver(HardenedModel):
    """Bring-your-own nodes: no machine config; run `host_prep_script()` then the registration command."""

    type: Literal["custom"] = "custom"
    """Selects this driver (bring-your-own nodes)."""


class _NodeDriver(HardenedModel):
    user_data: str | None = None
    """Operator cloud-init (`#cloud-config` YAML); merged with the CIS host preparation."""

    def _extra_cloud_config(self) -> list[dict[str, Any]]:
        return []

    def cloud_init(self) -> str:
        return render_node_cloud_init(self.user_data, self._extra_cloud_config(), field="userData")

    @field_validator("user_data")
    @classmethod
    def _cloud_init_merges(cls, v: str | None) -> str | None:
        # A cloud-init that cannot be merged is a config error now, not a node that boots unprepared.
        # (Driver extras only add packages/commands, so they cannot make a valid document conflict.)
        render_node_cloud_init(v, field=None)  # pydantic prefixes the field path
        return v


def _comma_free(values: Sequence[str], what: str) -> None:
    for v in values:
        if "," in v:
            raise ConfigProblems.one(
                f"{what} '{v}' contains a comma", f"the driver joins {what}s with commas"
            )


class Amazonec2Driver(_NodeDriver):
    """Amazon EC2. Hardened: IMDSv2 only, encrypted EBS root volume, no public IP, no driver-made SG rules.

    The SDK (pulumi_rancher2 13.x) does not expose the IMDS hop limit; AWS's default for new instances
    is 1 (pods cannot reach IMDS), unless an account-level default raises it.
    """

    type: Literal["amazonec2"]
    """Selects this driver."""
    region: str
    """AWS region."""
    ami: str
    """AMI id of the node image."""
    zone: str = Field(pattern=r"^[a-z]$", description="availability-zone letter, e.g. 'a'")
    vpc_id: str
    """VPC id."""
    subnet_id: str
    """Subnet id (a private subnet; see `allowPublicIp`)."""
    security_groups: list[str] = Field(min_length=1)
    """Existing security groups (names) whose rules you manage; the driver is told not to add rules."""
    instance_type: str | None = None
    """EC2 instance type (driver default when unset)."""
    iam_instance_profile: str | None = None
    """IAM instance profile of the nodes."""
    root_size_gb: int = Field(default=50, ge=20, le=16384)
    """Root volume size in GiB."""
    volume_type: Literal["gp3", "gp2", "io1", "io2"] = "gp3"
    """EBS volume type of the root volume."""
    kms_key: str | None = None
    """KMS key for the encrypted root volume (default: the account's EBS key)."""
    monitoring: bool = True
    """Detailed CloudWatch monitoring."""
    ssh_user: str | None = None
    """SSH user of the image."""
    tags: dict[str, str] = Field(default_factory=dict)
    """AWS tags of the instances."""
    use_private_address: bool = True
    """Rancher reaches the nodes on their private address."""
    # Explicit, named weakening settings (reported by the policy pack).
    allow_public_ip: bool = False
    """Gives the instances a public IP address."""
    allow_imds_v1: bool = False
    """Allows IMDSv1 (no session token) on the instances."""
    allow_unencrypted_volume: bool = False
    """Leaves the EBS root volume (etcd data, the Secrets key) unencrypted."""
    allow_driver_security_group_rules: bool = False
    """Lets the driver add its own security group rules."""
    open_ports: list[str] = Field(default_factory=list)
    """Ports the driver opens to the Internet; empty unless explicitly listed."""

    @model_validator(mode="after")
    def _consistent(self) -> Amazonec2Driver:
        if self.open_ports and not (self.allow_public_ip and self.allow_driver_security_group_rules):
            raise ConfigProblems.one(
                "openPorts: opening ports to the Internet needs allowPublicIp: true and "
                "allowDriverSecurityGroupRules: true",
                "remove openPorts, or set both explicitly",
            )
        if self.kms_key and self.allow_unencrypted_volume:
            raise ConfigProblems.one("kmsKey: set together with allowUnencryptedVolume", "remove one of them")
        _comma_free([*self.tags.keys(), *self.tags.values()], "tag")
        return self

    def machine_config(self) -> dict[str, Any]:
        tags = ",".join(f"{k},{v}" for k, v in sorted(self.tags.items()))
        return {
            "amazonec2_config": rancher2.MachineConfigV2Amazonec2ConfigArgs(
                region=self.region,
                ami=self.ami,
                zone=self.zone,
                vpc_id=self.vpc_id,
                subnet_id=self.subnet_id,
                security_groups=list(self.security_groups),
                security_group_readonly=not self.allow_driver_security_group_rules,
                open_ports=list(self.open_ports) or None,
                instance_type=self.instance_type,
                iam_instance_profile=self.iam_instance_profile,
                root_size=str(self.root_size_gb),
                volume_type=self.volume_type,
                encrypt_ebs_volume=not self.allow_unencrypted_volume,
                kms_key=self.kms_key,
                http_endpoint="enabled",  # cloud-init reads its user data from IMDS
                http_tokens="optional" if self.allow_imds_v1 else "required",
                http_protocol_ipv6="disabled",
                private_address_only=not self.allow_public_ip,
                use_private_address=self.use_private_address,
                insecure_transport=False,
                monitoring=self.monitoring,
                ssh_user=self.ssh_user,
                tags=tags or None,
                userdata=self.cloud_init(),
            )
        }


class HarvesterDisk(HardenedModel):
    size_gb: int = Field(ge=1)
    """Disk size in GiB."""
    boot_order: int = Field(ge=1)
    """Boot order (1 = the boot disk)."""
    image_name: str | None = None
    """Harvester image the disk is created from."""
    storage_class_name: str | None = None
    """Storage class of the disk (point it at an encrypted Longhorn class)."""

    @model_validator(mode="after")
    def _source(self) -> HarvesterDisk:
        if (self.image_name is None) == (self.storage_class_name is None):
            raise ConfigProblems.one(
                "set exactly one of imageName or storageClassName", "the boot disk uses imageName"
            )
        return self

    def rendered(self) -> dict[str, Any]:
        out: dict[str, Any] = {"bootOrder": self.boot_order, "size": self.size_gb}
        if self.image_name is not None:
            out["imageName"] = self.image_name
        if self.storage_class_name is not None:
            out["storageClassName"] = self.storage_class_name
        return out


class HarvesterDriver(_NodeDriver):
    """Harvester. Hardened: key-based SSH only (no password field), CIS prep in cloud-init, guest agent.

    Encryption at rest comes from the Harvester storage class (Longhorn volume encryption): point
    `storageClassName` disks at an encrypted class; it cannot be checked from here.
    """

    type: Literal["harvester"]
    """Selects this driver."""
    vm_namespace: str
    """Harvester namespace of the VMs."""
    ssh_user: str
    """SSH user of the image (key-based login only)."""
    cpu_count: int = Field(default=4, ge=1)
    """vCPUs per VM."""
    memory_gb: int = Field(default=8, ge=1)
    """Memory per VM in GiB."""
    disks: list[HarvesterDisk] = Field(min_length=1)
    """VM disks (at least one)."""
    networks: list[str] = Field(min_length=1, description="Harvester networks as <namespace>/<name>")
    network_data: str | None = None
    """cloud-init network data passed to the VM."""
    vm_affinity: str | None = None
    """VM affinity passed to the driver as given."""
    install_guest_agent: bool = True
    """Install and start qemu-guest-agent (Harvester reads the VM's IP through it)."""

    def _extra_cloud_config(self) -> list[dict[str, Any]]:
        if not self.install_guest_agent:
            return []
        return [
            {
                "packages": ["qemu-guest-agent"],
                "runcmd": [["systemctl", "enable", "--now", "qemu-guest-agent.service"]],
            }
        ]

    def machine_config(self) -> dict[str, Any]:
        disks = {"disks": [d.rendered() for d in sorted(self.disks, key=lambda d: d.boot_order)]}
        networks = {"interfaces": [{"networkName": n} for n in self.networks]}
        return {
            "harvester_config": rancher2.MachineConfigV2HarvesterConfigArgs(
                vm_namespace=self.vm_namespace,
                ssh_user=self.ssh_user,
                cpu_count=str(self.cpu_count),
                memory_size=str(self.memory_gb),
                disk_info=json.dumps(disks, sort_keys=True),
                network_info=json.dumps(networks, sort_keys=True),
                network_data=self.network_data,
                vm_affinity=self.vm_affinity,
                user_data=self.cloud_init(),
            )
        }


# VMware vSphere Security Configuration Guide VM advanced settings; disk.enableUUID is what Rancher
# itself sets (the vSphere CSI driver needs it).
VSPHERE_HARDENED_CFGPARAMS: Mapping[str, str] = {
    "disk.enableUUID": "TRUE",
    "isolation.device.connectable.disable": "TRUE",
    "isolation.tools.copy.disable": "TRUE",
    "isolation.tools.diskShrink.disable": "TRUE",
    "isolation.tools.diskWiper.disable": "TRUE",
    "isolation.tools.dnd.disable": "TRUE",
    "isolation.tools.paste.disable": "TRUE",
    "isolation.tools.setGUIOptions.enable": "FALSE",
    "log.keepOld": "10",
    "log.rotateSize": "2048000",
    "mks.enable3d": "FALSE",
    "RemoteDisplay.maxConnections": "1",
    "tools.guestlib.enableHostInfo": "FALSE",
    "tools.setInfo.sizeLimit": "1048576",
}


class VsphereDriver(_NodeDriver):
    """VMware vSphere. Hardened: VM advanced settings from the vSphere hardening guide, clone-based
    creation only (no boot2docker/legacy), CIS prep in the cloud-config ISO."""

    type: Literal["vsphere"]
    """Selects this driver."""
    creation_type: Literal["template", "library", "vm"] = "template"
    """Clone source kind: a `template`, a content `library` item or a `vm`."""
    clone_from: str
    """Template, library item or VM to clone."""
    content_library: str | None = None
    """Content library of `cloneFrom` (`creationType: library`)."""
    datacenter: str
    """vSphere datacenter."""
    datastore: str | None = None
    """Datastore of the VMs."""
    datastore_cluster: str | None = None
    """Datastore cluster of the VMs (instead of `datastore`)."""
    folder: str | None = None
    """VM folder."""
    pool: str | None = None
    """Resource pool."""
    hostsystem: str | None = None
    """ESXi host to place the VMs on."""
    networks: list[str] = Field(min_length=1)
    """Networks the VMs attach to (at least one)."""
    cpu_count: int = Field(default=4, ge=1)
    """vCPUs per VM."""
    memory_mb: int = Field(default=8192, ge=1024)
    """Memory per VM in MiB."""
    disk_size_mb: int = Field(default=51200, ge=10240)
    """Disk size per VM in MiB."""
    ssh_user: str | None = None
    """SSH user of the image."""
    tags: list[str] = Field(default_factory=list)
    """vSphere tags of the VMs."""
    custom_attributes: list[str] = Field(default_factory=list)
    """vSphere custom attributes of the VMs."""
    graceful_shutdown_timeout_seconds: int | None = Field(default=None, ge=0)
    """Seconds to wait for a guest shutdown before powering off."""
    cfgparams: dict[str, str] = Field(default_factory=dict)
    """Extra VM advanced settings; they may not change a hardened one unless allowVmxOverrides is true."""
    allow_vmx_overrides: bool = False
    """Lets `cfgparams` change a hardened VM advanced setting."""

    @model_validator(mode="after")
    def _consistent(self) -> VsphereDriver:
        if (self.datastore is None) == (self.datastore_cluster is None):
            raise ConfigProblems.one(
                "set exactly one of datastore or datastoreCluster", "name where the VM disks go"
            )
        if self.creation_type == "library" and not self.content_library:
            raise ConfigProblems.one(
                "contentLibrary: required with creationType 'library'", "name the library"
            )
        hardened = {k.lower(): (k, v) for k, v in VSPHERE_HARDENED_CFGPARAMS.items()}
        for key, value in self.cfgparams.items():
            if "=" in key:
                raise ConfigProblems.one(
                    f"cfgparams: key '{key}' contains '='", "use the setting name as the key"
                )
            known = hardened.get(key.lower())
            if known and known[1].lower() != value.lower() and not self.allow_vmx_overrides:
                raise ConfigProblems.one(
                    f"cfgparams.{key}: would change the hardened value {known[1]!r} to {value!r}",
                    "drop it, or set allowVmxOverrides: true to weaken it explicitly",
                )
        return self

    def rendered_cfgparams(self) -> list[str]:
        merged = {k.lower(): (k, v) for k, v in VSPHERE_HARDENED_CFGPARAMS.items()}
        for key, value in self.cfgparams.items():
            merged[key.lower()] = (key, value)
        return [f"{k}={v}" for k, v in sorted(merged.values(), key=lambda kv: kv[0].lower())]

    def machine_config(self) -> dict[str, Any]:
        return {
            "vsphere_config": rancher2.MachineConfigV2VsphereConfigArgs(
                creation_type=self.creation_type,
                clone_from=self.clone_from,
                content_library=self.content_library,
                datacenter=self.datacenter,
                datastore=self.datastore,
                datastore_cluster=self.datastore_cluster,
                folder=self.folder,
                pool=self.pool,
                hostsystem=self.hostsystem,
                networks=list(self.networks),
                cpu_count=str(self.cpu_count),
                memory_size=str(self.memory_mb),
                disk_size=str(self.disk_size_mb),
                ssh_user=self.ssh_user,
                tags=list(self.tags) or None,
                custom_attributes=list(self.custom_attributes) or None,
                graceful_shutdown_timeout=(
                    None
                    if self.graceful_shutdown_timeout_seconds is None
                    else str(self.graceful_shutdown_timeout_seconds)
                ),
                cfgparams=self.rendered_cfgparams(),
                os="linux",
                cloud_config=self.cloud_init(),
            )
        }


class DigitaloceanDriver(_NodeDriver):
    """DigitalOcean. Hardened: private networking and monitoring on, provider backups off (a droplet
    backup copies etcd's data — every Secret — out of the cluster's control), IPv6 off."""

    type: Literal["digitalocean"]
    """Selects this driver."""
    region: str
    """DigitalOcean region."""
    size: str
    """Droplet size slug."""
    image: str
    """Droplet image slug."""
    ssh_user: str | None = None
    """SSH user of the image."""
    tags: list[str] = Field(default_factory=list)
    """Droplet tags."""
    private_networking: bool = True
    """Private (VPC) networking."""
    monitoring: bool = True
    """DigitalOcean monitoring agent."""
    ipv6: bool = False
    """Public IPv6 address."""
    allow_backups: bool = False
    """Turns on droplet backups (full-disk copies with etcd and its key)."""

    @model_validator(mode="after")
    def _consistent(self) -> DigitaloceanDriver:
        _comma_free(self.tags, "tag")
        return self

    def machine_config(self) -> dict[str, Any]:
        return {
            "digitalocean_config": rancher2.MachineConfigV2DigitaloceanConfigArgs(
                region=self.region,
                size=self.size,
                image=self.image,
                ssh_user=self.ssh_user,
                tags=",".join(sorted(self.tags)) or None,
                private_networking=self.private_networking,
                monitoring=self.monitoring,
                ipv6=self.ipv6,
                backups=self.allow_backups,
                userdata=self.cloud_init(),
            )
        }


NodeDriverConfig = Amazonec2Driver | HarvesterDriver | VsphereDriver | DigitaloceanDriver
DriverConfig = Annotated[
    CustomDriver | Amazonec2Driver | HarvesterDriver | VsphereDriver | DigitaloceanDriver,
    Field(discriminator="type"),
]

# `kind` of the machine-config object per driver (terraform-provider-rancher2 machineConfigV2*Kind).
MACHINE_CONFIG_KINDS: Mapping[str, str] = {
    "amazonec2": "Amazonec2Config",
    "harvester": "HarvesterConfig",
    "vsphere": "VmwarevsphereConfig",
    "digitalocean": "DigitaloceanConfig",
}


# ---------------------------------------------------------------------------------------------- pool
class NodePoolArgs(HardenedModel):
    """One pool of identically configured nodes."""

    name: str = Field(max_length=40)
    """Pool name (unique in the cluster, at most 40 characters)."""
    roles: NodeRoles
    """`{etcd: true, controlPlane: true}` or a list such as `[etcd, controlPlane]`."""
    quantity: int = Field(default=1, ge=1, le=1000)
    """Number of nodes; also checked for etcd / control-plane quorum (e.g. 3 or 5 etcd nodes)."""
    driver: DriverConfig = Field(default_factory=CustomDriver)
    """How the nodes are provisioned; one of the variants below, chosen by `type` (default `custom`)."""
    cloud_credential_secret_name: str | None = None
    """Rancher cloud credential of a node-driver pool (e.g. `cattle-global-data:cc-xxxxx`); required for
    drivers, refused for custom pools."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Kubernetes labels of the pool's nodes."""
    taints: list[Taint] = Field(default_factory=list)
    """Kubernetes taints of the pool's nodes."""
    drain_before_delete: bool = True
    """Drain a node before Rancher deletes its machine."""
    max_unhealthy: str | None = None
    """Machine health check: how many unhealthy machines may be replaced at once ("1" or "33%")."""
    unhealthy_node_timeout: int | None = Field(default=None, ge=1)
    """Machine health check: seconds a node may be unhealthy before it is replaced."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dns_label(v)

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_from_list(cls, v: Any) -> Any:
        if not isinstance(v, list | tuple):
            return v
        out: dict[str, bool] = {}
        for item in v:
            role = _ROLE_ALIASES.get(str(item).strip().lower()) if isinstance(item, str) else None
            if role is None:
                raise ConfigProblems.one(f"unknown role {item!r}", "use etcd, controlPlane or worker")
            if role in out:
                raise ConfigProblems.one(f"role {item!r} listed twice", "list each role once")
            out[role] = True
        return out

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not is_label_key(key):
                raise ConfigProblems.one(f"'{key}' is not a valid label key", "use [prefix/]name")
            if not is_label_value(value):
                raise ConfigProblems.one(
                    f"label {key}: '{value}' is not a valid label value", "≤63 chars, [A-Za-z0-9-_.]"
                )
        return v

    @field_validator("max_unhealthy")
    @classmethod
    def _max_unhealthy(cls, v: str | None) -> str | None:
        if v is not None and not _MAX_UNHEALTHY.match(v):
            raise ConfigProblems.one(f"'{v}' is not a count or percentage", "e.g. '1' or '33%'")
        return v

    @model_validator(mode="after")
    def _driver_rules(self) -> NodePoolArgs:
        if self.is_custom:
            if self.cloud_credential_secret_name is not None:
                raise ConfigProblems.one(
                    "cloudCredentialSecretName: custom (bring-your-own) pools use no cloud credential",
                    "remove it, or choose a node driver",
                )
            if self.max_unhealthy is not None or self.unhealthy_node_timeout is not None:
                raise ConfigProblems.one(
                    "maxUnhealthy/unhealthyNodeTimeout: machine health checks replace node-driver machines "
                    "only",
                    "remove them from custom pools",
                )
        elif not self.cloud_credential_secret_name:
            raise ConfigProblems.one(
                f"cloudCredentialSecretName: required for the {self.driver.type} driver",
                "name the rancher2 cloud credential, e.g. 'cattle-global-data:cc-xxxxx'",
            )
        return self

    @property
    def is_custom(self) -> bool:
        return isinstance(self.driver, CustomDriver)


# ------------------------------------------------------------------------------------------- layout
def _layout_error(problems: Sequence[Problem]) -> ConfigProblems:
    # Layout paths read like stack config (`nodePools[0].name`).
    return ConfigProblems(problems, style="yaml")


# A bad pool layout is a `ConfigProblems`; the old name stays for callers that catch it.
NodeLayoutError = ConfigProblems


def _role_count(pools: Sequence[NodePoolArgs], role: str) -> int:
    attr = {"etcd": "etcd", "controlPlane": "control_plane", "worker": "worker"}[role]
    return sum(p.quantity for p in pools if getattr(p.roles, attr))


def validate_layout(pools: Sequence[NodePoolArgs], production: bool, *, field: str = "nodePools") -> None:
    """Raise NodeLayoutError (a ValueError) listing every problem of the layout, or return None.

    Rules: at least one pool; unique pool names; custom and node-driver pools not mixed; at least one
    etcd, control-plane and worker node overall. Production additionally: an odd etcd count ≥ 3 (etcd
    quorum survives a node loss), ≥ 2 control-plane nodes, and each pool carries exactly one role.
    """
    if not pools:
        raise _layout_error([Problem((field,), "no node pools", "add at least one pool with every role")])
    problems: list[Problem] = []

    seen: dict[str, int] = {}
    for i, pool in enumerate(pools):
        if pool.name in seen:
            problems.append(
                Problem(
                    (field, i, "name"),
                    f"'{pool.name}' is already used by {field}[{seen[pool.name]}]",
                    "give every pool a unique name",
                )
            )
        seen.setdefault(pool.name, i)

    custom = [i for i, p in enumerate(pools) if p.is_custom]
    if custom and len(custom) != len(pools):
        driver = next(i for i, p in enumerate(pools) if not p.is_custom)
        problems.append(
            Problem(
                (field, custom[0], "driver"),
                f"custom pools cannot be mixed with node-driver pools such as {field}[{driver}]",
                "use only custom pools, or only node-driver pools",
            )
        )

    for role in ROLE_NAMES:
        if _role_count(pools, role) == 0:
            problems.append(
                Problem((field,), f"no pool has the {role} role", f"set roles.{role}: true on a pool")
            )

    if production:
        etcd = _role_count(pools, "etcd")
        if etcd and (etcd < 3 or etcd % 2 == 0):
            problems.append(
                Problem(
                    (field,),
                    f"production needs an odd number of etcd nodes ≥ 3, got {etcd}",
                    "set the etcd pools' quantity to 3 or 5",
                )
            )
        cp = _role_count(pools, "controlPlane")
        if cp and cp < 2:
            problems.append(
                Problem(
                    (field,),
                    f"production needs ≥ 2 control-plane nodes, got {cp}",
                    "raise the control-plane pool's quantity to 2 or more",
                )
            )
        for i, pool in enumerate(pools):
            if len(pool.roles.names()) != 1:
                problems.append(
                    Problem(
                        (field, i, "roles"),
                        f"production pools carry exactly one role, '{pool.name}' has "
                        + ", ".join(pool.roles.names()),
                        "split it into separate etcd, controlPlane and worker pools",
                    )
                )
    if problems:
        raise _layout_error(problems)


# -------------------------------------------------------------------------------------------- build
def build_machine_pools(
    cluster_name: str,
    pools: Sequence[NodePoolArgs],
    parent: pulumi.Resource,
    opts: pulumi.ResourceOptions | None = None,
) -> list[rancher2.ClusterV2RkeConfigMachinePoolArgs]:
    """Create one MachineConfigV2 per node-driver pool and return the cluster's machine pools.

    Returns [] for custom pools (their nodes register themselves with the registration command).
    """
    if not pools or all(p.is_custom for p in pools):
        return []
    if any(p.is_custom for p in pools):
        raise _layout_error(
            [Problem(("nodePools",), "custom and node-driver pools cannot be mixed", "use one kind")]
        )
    names = [p.name for p in pools]
    if len(set(names)) != len(names):
        # Caught here too: duplicate resource names would otherwise fail deep inside Pulumi.
        raise _layout_error([Problem(("nodePools",), "pool names repeat", "give every pool a unique name")])

    machine_pools: list[rancher2.ClusterV2RkeConfigMachinePoolArgs] = []
    for pool in pools:
        driver = pool.driver
        assert not isinstance(driver, CustomDriver)  # narrowed by the checks above
        base = f"{cluster_name}-{pool.name}"
        config = rancher2.MachineConfigV2(
            base,
            generate_name=base,
            fleet_namespace=FLEET_NAMESPACE,
            **driver.machine_config(),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=parent)),
        )
        machine_pools.append(
            rancher2.ClusterV2RkeConfigMachinePoolArgs(
                name=pool.name,
                machine_config=rancher2.ClusterV2RkeConfigMachinePoolMachineConfigArgs(
                    kind=MACHINE_CONFIG_KINDS[driver.type],
                    name=config.name,
                ),
                cloud_credential_secret_name=pool.cloud_credential_secret_name,
                etcd_role=pool.roles.etcd,
                control_plane_role=pool.roles.control_plane,
                worker_role=pool.roles.worker,
                quantity=pool.quantity,
                machine_labels=dict(sorted(pool.labels.items())) or None,
                taints=[
                    rancher2.ClusterV2RkeConfigMachinePoolTaintArgs(key=t.key, value=t.value, effect=t.effect)
                    for t in pool.taints
                ]
                or None,
                drain_before_delete=pool.drain_before_delete,
                max_unhealthy=pool.max_unhealthy,
                unhealthy_node_timeout_seconds=pool.unhealthy_node_timeout,
            )
        )
    return machine_pools
