"""Node-driver machine configs (`rancher2` MachineConfigV2): the cloud side of a node.

A MachineConfigV2 carries one driver block (`amazonec2Config`, `digitaloceanConfig`, `vsphereConfig`,
`harvesterConfig`, `azureConfig`, `googleConfig`, `nutanixConfig`, `openstackConfig`, `linodeConfig`),
whose fields are the Rancher machine driver's flags. Absent fields mean the DRIVER's default, which is
usually the weak one (EC2: IMDSv1 allowed, unencrypted EBS, a public IP, security-group rules added;
DigitalOcean: no private networking), so most checks here require an explicit value.

What the preview cannot see (documented, not guessed): the EC2 IMDS hop limit (not exposed by the
SDK; AWS's default of 1 keeps pods from reaching IMDS unless an account default raises it), what an
existing security group or VPC allows, the contents of a pre-built image, and which pool (role) uses a
config: ClusterV2 names a machine config by its server-generated name, unknown at preview.
"""

from __future__ import annotations

import base64
import binascii
import email
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pulumi_policy import ResourceValidationArgs

from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import (
    as_int,
    as_list,
    check_validator,
    config_of,
    get_path,
    is_list,
    is_map,
    is_true,
    matches_any,
    props_of,
    text,
)
from nsa_cisa.render import safe_repr

MACHINE_CONFIG_V2 = "rancher2:index/machineConfigV2:MachineConfigV2"

DRIVER_BLOCKS = (
    "amazonec2Config",
    "azureConfig",
    "digitaloceanConfig",
    "googleConfig",
    "harvesterConfig",
    "linodeConfig",
    "nutanixConfig",
    "openstackConfig",
    "vsphereConfig",
)

EC2_IMDS_URL = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html"
EBS_URL = "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"
MACHINE_CONFIG_URL = "https://www.pulumi.com/registry/packages/rancher2/api-docs/machineconfigv2/"
RKE2_HARDENING_URL = "https://docs.rke2.io/security/hardening_guide"
DO_URL = "https://docs.digitalocean.com/products/networking/vpc/"
VSPHERE_URL = "https://core.vmware.com/security-configuration-guide"

Report = Callable[..., None]

# Node-driver machine configs: pure checks of their props by default; exempt namespaces do not apply.
GROUP = PolicyGroup(
    __name__,
    section="network",
    resource_types=[MACHINE_CONFIG_V2],
    url=MACHINE_CONFIG_URL,
    honor_exempt_namespaces=False,
    adapt=check_validator,
)


def _block(props: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = props.get(name)
    return value if is_map(value) else None


def _lower(value: Any) -> str:
    return text(value).strip().lower()


def _ports(value: Any) -> list[str]:
    """openPorts as strings ('8080', '8080/udp'); a scalar counts as one port."""
    if is_list(value):
        return [str(p) for p in as_list(value) if p is not None and str(p).strip()]
    if value is None or (isinstance(value, str) and not value.strip()) or value is False:
        return []
    return [str(value)]


# ------------------------------------------------------------------------------------ EC2: IMDS


@GROUP.policy(
    name="machine-ec2-imdsv2-required",
    description="EC2 node machines require IMDSv2 session tokens (or disable the metadata endpoint).",
    severity="high",
    nsa=("NSA-2.6",),
    url=EC2_IMDS_URL,
    specification="Block pod access to cloud metadata: the cloud-config route on EC2 is IMDSv2 (session "
    "tokens) with a hop limit of 1.",
    remediation_steps="Set amazonec2Config.httpTokens: required (keep httpEndpoint: enabled for cloud-init; "
    "AWS's default hop limit of 1 keeps pods from reaching IMDS). HardenedCluster does this unless a pool "
    "sets allowImdsV1: true.",
)
def check_ec2_imdsv2(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    ec2 = _block(props, "amazonec2Config")
    if ec2 is None:
        return []
    if _lower(ec2.get("httpEndpoint")) == "disabled":
        return []  # no metadata service at all (cloud-init then needs another user-data source)
    tokens = _lower(ec2.get("httpTokens"))
    if tokens == "required":
        return []
    shown = f"'{text(ec2.get('httpTokens'))}'" if tokens else "unset (AWS default: optional for most AMIs)"
    return [
        f"amazonec2Config.httpTokens is {shown}: IMDSv1 answers unauthenticated GETs, so any pod that "
        "reaches 169.254.169.254 (or an SSRF in one) can read the node's IAM role credentials; set "
        "httpTokens: required (IMDSv2 with the default hop limit of 1 keeps pods out)"
    ]


# -------------------------------------------------------------------------------------- EC2: EBS


@GROUP.policy(
    name="machine-ec2-root-volume-encrypted",
    description="EC2 node root volumes (etcd data, the Secrets encryption key) are EBS-encrypted.",
    severity="high",
    nsa=("NSA-2.19",),
    url=EBS_URL,
    specification="Secrets at rest: etcd's data and RKE2's encryption key live on the node's root volume, "
    "so the volume itself must be encrypted too.",
    remediation_steps="Set amazonec2Config.encryptEbsVolume: true (and kmsKey for a customer-managed key). "
    "HardenedCluster does this unless a pool sets allowUnencryptedVolume: true.",
)
def check_ec2_ebs_encrypted(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    ec2 = _block(props, "amazonec2Config")
    if ec2 is None or is_true(ec2.get("encryptEbsVolume")):
        return []
    value = ec2.get("encryptEbsVolume")
    shown = "unset (driver default: false)" if value is None else safe_repr(value)
    return [
        f"amazonec2Config.encryptEbsVolume is {shown}: the root volume holds etcd's data (every Secret) "
        "and RKE2's encryption-at-rest key side by side, unencrypted on EBS and in its snapshots; set "
        "encryptEbsVolume: true (optionally with kmsKey)"
    ]


# ----------------------------------------------------------------------------- public addresses


def _public_address_problems(props: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    ec2 = _block(props, "amazonec2Config")
    if ec2 is not None:
        if not is_true(ec2.get("privateAddressOnly")):
            value = ec2.get("privateAddressOnly")
            shown = "unset (driver default: false)" if value is None else safe_repr(value)
            out.append(
                f"amazonec2Config.privateAddressOnly is {shown}: the instance gets a public IPv4 address"
            )
        count = as_int(ec2.get("ipv6AddressCount"))
        if (
            (count is not None and count > 0)
            or is_true(ec2.get("ipv6AddressOnly"))
            or is_true(ec2.get("enablePrimaryIpv6"))
        ):
            out.append("amazonec2Config requests IPv6 addresses, which are globally routable")
    azure = _block(props, "azureConfig")
    if azure is not None:
        if not is_true(azure.get("noPublicIp")):
            out.append("azureConfig.noPublicIp is not true: the driver creates a public IP for the machine")
        if is_true(azure.get("staticPublicIp")):
            out.append("azureConfig.staticPublicIp is true: a static public IP is reserved for the machine")
    google = _block(props, "googleConfig")
    if google is not None and not is_true(google.get("useInternalIpOnly")):
        out.append("googleConfig.useInternalIpOnly is not true: the VM gets an external IP")
    openstack = _block(props, "openstackConfig")
    if openstack is not None and text(openstack.get("floatingIpPool")).strip():
        out.append(
            f"openstackConfig.floatingIpPool is '{text(openstack.get('floatingIpPool'))}': a floating IP is "
            "attached to the instance"
        )
    do = _block(props, "digitaloceanConfig")
    if do is not None and is_true(do.get("ipv6")):
        out.append("digitaloceanConfig.ipv6 is true: the droplet gets a public IPv6 address")
    return out


def _public_ip_allowed(args: ResourceValidationArgs, cfg: Mapping[str, Any]) -> bool:
    if is_true(cfg.get("allowPublicIp")):
        return True
    patterns = as_list(cfg.get("publicIpAllowedFor"))
    if not patterns:
        return False
    props = props_of(args)
    names = [n for n in (args.name, args.urn, text(props.get("generateName")), text(props.get("name"))) if n]
    return any(matches_any(n, patterns) for n in names)


@GROUP.policy(
    name="machine-no-public-ip",
    description="Node machines get no public address unless the pool is explicitly allowed one.",
    severity="high",
    nsa=("NSA-2.11", "NSA-2.16"),
    specification="Nodes (API server, kubelet, etcd) must not be reachable from the Internet; "
    "external-facing worker nodes are segmented and named explicitly.",
    adapt=None,
    config_schema={
        "allowPublicIp": {
            "type": "boolean",
            "default": False,
            "description": "Allow public addresses on every node machine (not recommended).",
        },
        "publicIpAllowedFor": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Globs over machine-config names/URNs/generateName (e.g. '*-edge*') of "
            "deliberately external-facing pools that may have public addresses.",
        },
    },
    remediation_steps="EC2: privateAddressOnly: true (no IPv6 addresses); Azure: noPublicIp: true; Google: "
    "useInternalIpOnly: true; OpenStack: no floatingIpPool; DigitalOcean: ipv6: false. Reach nodes through "
    "a bastion/VPN. For a deliberately external-facing pool, add its name to publicIpAllowedFor.",
)
def _validate_no_public_ip(args: ResourceValidationArgs, report: Report) -> None:
    problems = _public_address_problems(props_of(args))
    if not problems or _public_ip_allowed(args, config_of(args)):
        return
    for problem in problems:
        report(
            f"{problem}; cluster nodes (and their kubelet, etcd and API ports) must sit on private networks "
            "behind a firewall. Keep them private, or list the pool in publicIpAllowedFor if it is "
            "deliberately external-facing"
        )


# ----------------------------------------------------------------------------- driver-made rules


@GROUP.policy(
    name="machine-no-driver-opened-ports",
    description="Node drivers neither open ports to the Internet nor add their own firewall rules.",
    severity="high",
    nsa=("NSA-2.11", "NSA-2.16"),
    remediation_steps="EC2: securityGroupReadonly: true and no openPorts; Azure: name an existing nsg and "
    "no openPorts; Google: no openPorts. Manage node firewall rules yourself (private sources only). "
    "HardenedCluster does this unless a pool sets allowDriverSecurityGroupRules/openPorts.",
)
def check_driver_opened_ports(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    ec2 = _block(props, "amazonec2Config")
    if ec2 is not None and not is_true(ec2.get("securityGroupReadonly")):
        value = ec2.get("securityGroupReadonly")
        shown = "unset (driver default: false)" if value is None else safe_repr(value)
        out.append(
            f"amazonec2Config.securityGroupReadonly is {shown}: the driver adds its default ingress rules "
            "(SSH and the Kubernetes/RKE2 ports, from 0.0.0.0/0) to the named security groups; set "
            "securityGroupReadonly: true and manage the rules yourself"
        )
    for block_name in ("amazonec2Config", "azureConfig", "googleConfig"):
        block = _block(props, block_name)
        ports = _ports(block.get("openPorts")) if block is not None else []
        if ports:
            out.append(
                f"{block_name}.openPorts opens {', '.join(ports)} to the Internet: remove openPorts and "
                "allow only the traffic you need, from known sources, in your own firewall rules"
            )
    azure = _block(props, "azureConfig")
    if azure is not None and not text(azure.get("nsg")).strip():
        out.append(
            "azureConfig.nsg is not set: the driver creates a network security group per machine that "
            "allows SSH (and the driver's ports) from the Internet; name an existing NSG you manage"
        )
    return out


# ----------------------------------------------------------------------------------- DigitalOcean


@GROUP.policy(
    name="machine-digitalocean-private-networking",
    description="DigitalOcean droplets use private (VPC) networking.",
    severity="medium",
    nsa=("NSA-2.16",),
    enforcement_level="advisory",
    url=DO_URL,
    remediation_steps="Set digitaloceanConfig.privateNetworking: true and add a Cloud Firewall that blocks "
    "the public interface except what you need.",
)
def check_do_private_networking(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    do = _block(props, "digitaloceanConfig")
    if do is None or is_true(do.get("privateNetworking")):
        return []
    value = do.get("privateNetworking")
    shown = "unset (driver default: false)" if value is None else safe_repr(value)
    return [
        f"digitaloceanConfig.privateNetworking is {shown}: node-to-node traffic (etcd, kubelet, CNI) then "
        "crosses the droplets' public interfaces; set privateNetworking: true and restrict the public "
        "interface with a DigitalOcean Cloud Firewall (droplets always have a public IPv4)"
    ]


@GROUP.policy(
    name="machine-digitalocean-backups-off",
    description="DigitalOcean droplet backups (full-disk copies with etcd and its key) are off.",
    severity="medium",
    nsa=("NSA-2.19",),
    enforcement_level="advisory",
    url=DO_URL,
    remediation_steps="Set digitaloceanConfig.backups: false; back up etcd with RKE2 snapshots to an "
    "encrypted S3 bucket.",
)
def check_do_backups(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    do = _block(props, "digitaloceanConfig")
    if do is None or not is_true(do.get("backups")):
        return []
    return [
        "digitaloceanConfig.backups is true: droplet backups copy the whole disk — etcd's data AND the "
        "key that encrypts Secrets at rest — out of the cluster's control; set backups: false and rely on "
        "RKE2 etcd snapshots (encrypted S3 target)"
    ]


# ------------------------------------------------------------------------------------------ vSphere

# VM advanced settings of the vSphere Security Configuration Guide (keys lower-case) and their safe value.
VSPHERE_HARDENED: Mapping[str, str] = {
    "isolation.device.connectable.disable": "true",
    "isolation.tools.copy.disable": "true",
    "isolation.tools.diskshrink.disable": "true",
    "isolation.tools.diskwiper.disable": "true",
    "isolation.tools.dnd.disable": "true",
    "isolation.tools.paste.disable": "true",
    "isolation.tools.setguioptions.enable": "false",
    "mks.enable3d": "false",
    "tools.guestlib.enablehostinfo": "false",
}
_VSPHERE_LIMITS: Mapping[str, int] = {"remotedisplay.maxconnections": 1}


@GROUP.policy(
    name="machine-vsphere-vmx-hardening",
    description="vSphere node VMs keep the hardening guide's VM advanced settings (cfgparams).",
    severity="medium",
    nsa=("NSA-5.2",),
    section="upgrades",
    url=VSPHERE_URL,
    specification="Follow the platform's hardening benchmark for node VMs (vSphere Security Configuration "
    "Guide VM settings).",
    remediation_steps="Remove cfgparams entries that re-enable copy/paste, drag-and-drop, disk shrink/wipe, "
    "device connect, GUI options, 3D or host info, or raise RemoteDisplay.maxConnections above 1 "
    "(HardenedCluster needs allowVmxOverrides: true to do so).",
)
def check_vsphere_vmx(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    vs = _block(props, "vsphereConfig")
    if vs is None:
        return []
    out: list[str] = []
    for entry in as_list(vs.get("cfgparams")):
        if not isinstance(entry, str) or "=" not in entry:
            continue
        key, _, value = entry.partition("=")
        k, v = key.strip().lower(), value.strip().lower()
        want = VSPHERE_HARDENED.get(k)
        if want is not None and v != want:
            out.append(
                f"vsphereConfig.cfgparams sets {key.strip()}={value.strip()}: the vSphere hardening value "
                f"is {want.upper()} (guest/host isolation); drop the override"
            )
        limit = _VSPHERE_LIMITS.get(k)
        number = as_int(value)
        if limit is not None and (number is None or number > limit or number < 0):
            out.append(
                f"vsphereConfig.cfgparams sets {key.strip()}={value.strip()}: allow at most {limit} "
                "concurrent remote console session"
            )
    return out


# ------------------------------------------------------------------------------- driver API TLS

# (block, field): true means the driver talks to the infrastructure API without (verified) TLS.
INSECURE_API_FIELDS: tuple[tuple[str, str], ...] = (
    ("amazonec2Config", "insecureTransport"),
    ("nutanixConfig", "insecure"),
    ("openstackConfig", "insecure"),
)


@GROUP.policy(
    name="machine-driver-api-tls",
    description="Node drivers reach the infrastructure API over verified TLS.",
    severity="high",
    nsa=("NSA-2.17",),
    remediation_steps="Remove amazonec2Config.insecureTransport / openstackConfig.insecure / "
    "nutanixConfig.insecure (or set them false); give a private CA through the driver's CA setting.",
)
def check_driver_api_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for block_name, name in INSECURE_API_FIELDS:
        block = _block(props, block_name)
        if block is not None and is_true(block.get(name)):
            out.append(
                f"{block_name}.{name} is true: the driver sends the cloud credential and the node's user "
                "data to the infrastructure API without verified TLS; set it to false (for a private CA, "
                "trust the CA instead, e.g. openstackConfig.cacert)"
            )
    return out


# -------------------------------------------------------------------------------- inline credentials

CREDENTIAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "amazonec2Config": ("secretKey", "sessionToken", "sshKeyContents"),
    "azureConfig": ("clientSecret",),
    "digitaloceanConfig": ("accessToken", "sshKeyContents"),
    "googleConfig": ("authEncodedJson",),
    "harvesterConfig": ("sshPassword",),
    "linodeConfig": ("token", "rootPass"),
    "nutanixConfig": ("password",),
    "openstackConfig": ("password", "applicationCredentialSecret"),
    "vsphereConfig": ("password", "sshPassword"),
}


@GROUP.policy(
    name="machine-no-inline-credentials",
    description="Machine configs carry no provider credentials, passwords or private keys.",
    severity="high",
    nsa=("NSA-2.18",),
    remediation_steps="Remove the credential fields; give the pool a rancher2.CloudCredential "
    "(cloudCredentialSecretName) and let the driver generate SSH keys.",
)
def check_inline_credentials(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for block_name, fields in CREDENTIAL_FIELDS.items():
        block = _block(props, block_name)
        if block is None:
            continue
        for name in fields:
            value = block.get(name)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                out.append(
                    f"{block_name}.{name} is set: the machine config is a plain object in fleet-default, "
                    "readable by everyone who can read the cluster's machine configs; put provider "
                    "credentials in a rancher2.CloudCredential (cloudCredentialSecretName on the pool) and "
                    "use key-based SSH generated by the driver"
                )
    return out


# ----------------------------------------------------------------------------- CIS host preparation

CIS_SYSCTLS: Mapping[str, str] = {
    "kernel.panic": "10",
    "kernel.panic_on_oops": "1",
    "vm.overcommit_memory": "1",
    "vm.panic_on_oom": "0",
}
ETCD_USER = "etcd"

# Where each driver takes its cloud-init (Rancher writes the field's content to a file for the driver).
CLOUD_INIT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "amazonec2Config": ("userdata",),
    "azureConfig": ("customData",),
    "digitaloceanConfig": ("userdata",),
    "googleConfig": ("userData",),
    "harvesterConfig": ("userData",),
    "linodeConfig": (),
    "nutanixConfig": ("cloudInit",),
    "openstackConfig": ("userDataFile",),
    "vsphereConfig": ("cloudConfig", "cloudinit"),
}

_USER_DATA_HEADERS = ("#cloud-config", "#!", "Content-Type:", "MIME-Version:", "## template: jinja")
_SYSCTL_DIRS = (
    "/etc/sysctl.d/",
    "/run/sysctl.d/",
    "/usr/lib/sysctl.d/",
    "/lib/sysctl.d/",
    "/usr/local/lib/sysctl.d/",
)
_SYSCTL_CONF = "/etc/sysctl.conf"
_SEGMENT_SPLIT = re.compile(r"&&|\|\||[;|\n&]")
_SYSCTL_PATH = re.compile(
    r"(/etc/sysctl\.conf|/(?:etc|run|usr/lib|lib|usr/local/lib)/sysctl\.d/[^\s'\"<>|;&]+\.conf)"
)
_ASSIGNMENT = re.compile(r"(?<![\w.-])([a-z][\w-]*(?:[./][\w-]+)+)\s*=\s*([^\s'\"]+)")
# useradd/adduser options that take a value (the first other operand is the user name).
_USER_OPTS_WITH_VALUE = frozenset(
    {
        "-b",
        "-c",
        "-d",
        "-e",
        "-f",
        "-g",
        "-G",
        "-h",
        "-k",
        "-K",
        "-p",
        "-R",
        "-P",
        "-s",
        "-u",
        "-Z",
        "--base-dir",
        "--comment",
        "--home-dir",
        "--home",
        "--expiredate",
        "--inactive",
        "--gid",
        "--groups",
        "--skel",
        "--key",
        "--password",
        "--root",
        "--prefix",
        "--shell",
        "--uid",
        "--selinux-user",
        "--ingroup",
        "--gecos",
        "--firstuid",
        "--lastuid",
        "--add_extra_groups",
        "--conf",
    }
)


@dataclass
class _HostPrep:
    """What the node's cloud-init does about the CIS preparation."""

    etcd_user: bool = False
    persisted: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (value, file)
    runtime: dict[str, str] = field(default_factory=dict)  # key -> value set with `sysctl -w`
    loaded: set[str] = field(default_factory=set)  # persisted keys loaded AFTER their file was written
    unreadable: list[str] = field(default_factory=list)

    def load(self, path: str | None) -> None:
        """A `sysctl -p <path>` (`None`: `sysctl --system`) loads what has been written so far."""
        for key, (_value, written_to) in self.persisted.items():
            if path is None or written_to == path:
                self.loaded.add(key)


def _norm_key(key: str) -> str:
    return key.strip().replace("/", ".")


def _is_sysctl_file(path: str) -> bool:
    return path == _SYSCTL_CONF or (path.endswith(".conf") and path.startswith(_SYSCTL_DIRS))


def _sysctl_lines(content: str) -> Iterable[tuple[str, str]]:
    for line in content.splitlines():
        line = line.strip().lstrip("-")  # '-key = value' = ignore errors for that key
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        yield _norm_key(key), value.strip()


def _user_added(argv: list[str]) -> str | None:
    """The user name a useradd/adduser command creates."""
    args = iter(argv[1:])
    for arg in args:
        if arg in _USER_OPTS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _record_sysctl(args: list[str], prep: _HostPrep) -> None:
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--system":
            prep.load(None)
        elif arg in ("-p", "--load"):
            nxt = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("-") else None
            if nxt is not None and "=" not in nxt:
                prep.load(nxt)
                i += 1
            else:
                prep.load(_SYSCTL_CONF)
        elif arg.startswith("--load="):
            prep.load(arg.split("=", 1)[1])
        elif arg.startswith("-p") and len(arg) > 2:
            prep.load(arg[2:])
        elif "=" in arg and not arg.startswith("-"):
            key, _, value = arg.partition("=")
            prep.runtime[_norm_key(key)] = value.strip()
        i += 1


def _record_command(argv: list[str], prep: _HostPrep) -> bool:
    """Record one command (an argv list); True if it was a command this module understands."""
    while argv and argv[0] in ("sudo", "env", "command", "exec"):
        argv = argv[1:]
    if not argv:
        return False
    prog = argv[0].rsplit("/", 1)[-1]
    if prog in ("useradd", "adduser"):
        if _user_added(argv) == ETCD_USER:
            prep.etcd_user = True
        return True
    if prog == "systemctl":
        if any(a.startswith("systemd-sysctl") for a in argv[1:]) and any(
            a in ("restart", "start", "reload-or-restart", "try-restart") for a in argv[1:]
        ):
            prep.load(None)
        return True
    if prog == "sysctl":
        _record_sysctl(argv[1:], prep)
        return True
    return False


def _record_shell(script: str, prep: _HostPrep) -> None:
    """A shell script or runcmd string: its commands, plus sysctl assignments written to a sysctl file
    (`echo k=v >> /etc/sysctl.d/x.conf`, or the lines of a heredoc into such a file)."""
    script = script.replace("\\\n", " ")
    paths = _SYSCTL_PATH.findall(script)
    for segment in _SEGMENT_SPLIT.split(script):
        try:
            argv = shlex.split(segment, comments=True)
        except ValueError:
            argv = segment.split()
        if _record_command(argv, prep) or not paths:
            continue
        own = _SYSCTL_PATH.findall(segment)
        for key, value in _ASSIGNMENT.findall(segment):
            prep.persisted[_norm_key(key)] = (value, own[0] if own else paths[0])


def _record_commands(commands: Any, prep: _HostPrep) -> None:
    for cmd in commands if isinstance(commands, list) else []:
        if isinstance(cmd, list):
            _record_command([str(a) for a in cmd], prep)
        elif isinstance(cmd, str):
            _record_shell(cmd, prep)


def _record_cloud_config(doc: Mapping[str, Any], prep: _HostPrep, where: str) -> None:
    """In cloud-init's order: bootcmd runs before write_files (so it cannot load those files on the
    first boot), runcmd after them."""
    _record_commands(doc.get("bootcmd"), prep)
    users = doc.get("users")
    for entry in users if isinstance(users, list) else []:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if name == ETCD_USER:
            prep.etcd_user = True
    files = doc.get("write_files")
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        path = entry["path"].strip()
        if not _is_sysctl_file(path):
            continue
        content = entry.get("content")
        encoding = str(entry.get("encoding") or "").lower()
        if isinstance(content, str) and encoding in ("b64", "base64"):
            try:
                content = base64.b64decode(content, validate=False).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                content = None
        elif encoding:
            content = None  # gzip: cannot inspect here
        if not isinstance(content, str):
            prep.unreadable.append(f"{where}: write_files {path} content cannot be read")
            continue
        for key, value in _sysctl_lines(content):
            prep.persisted[key] = (value, path)
    _record_commands(doc.get("runcmd"), prep)


def _decode_b64(raw: str) -> str | None:
    compact = "".join(raw.split())
    if len(compact) < 8 or not re.fullmatch(r"[A-Za-z0-9+/=_-]+", compact):
        return None
    padded = compact + "=" * (-len(compact) % 4)
    try:
        data = (
            base64.urlsafe_b64decode(padded)
            if re.search(r"[-_]", compact)
            else base64.b64decode(padded, validate=True)
        )
        decoded = data.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if decoded.lstrip().startswith(_USER_DATA_HEADERS) else None


def _record_user_data(raw: str, prep: _HostPrep, where: str, depth: int = 0) -> None:
    body = raw.lstrip("\ufeff").lstrip()
    if not body:
        return
    if body.startswith("## template: jinja"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    if body.startswith("#cloud-config"):
        try:
            doc = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            prep.unreadable.append(
                f"{where}: #cloud-config is not valid YAML ({type(exc).__name__}); "
                "cloud-init skips the whole document"
            )
            return
        if doc is None:
            return
        if not isinstance(doc, dict):
            prep.unreadable.append(f"{where}: #cloud-config is not a mapping")
            return
        _record_cloud_config(doc, prep, where)
        return
    if body.startswith("#!"):
        _record_shell(body, prep)
        return
    if body.startswith(("Content-Type:", "MIME-Version:")) and depth < 3:
        message = email.message_from_string(body)
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                try:
                    content = payload.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if part.get_content_type() == "text/cloud-config" and not content.lstrip().startswith("#"):
                    content = "#cloud-config\n" + content
                _record_user_data(content, prep, f"{where} (MIME part {part.get_content_type()})", depth + 1)
        return
    if re.match(r"https?://\S+$", body):
        prep.unreadable.append(
            f"{where} is a URL: its content cannot be checked at preview; inline the cloud-init instead"
        )
        return
    decoded = _decode_b64(body) if depth < 3 else None
    if decoded is not None:
        _record_user_data(decoded, prep, f"{where} (base64)", depth + 1)
        return
    prep.unreadable.append(
        f"{where} is neither '#cloud-config' YAML nor a '#!' script (nor MIME/base64 of one): cloud-init "
        "does not run it"
    )


def _applied(key: str, prep: _HostPrep) -> bool:
    return key in prep.runtime or key in prep.loaded


@GROUP.policy(
    name="machine-cis-host-prep",
    description="Node cloud-init creates the etcd user and sets and loads the CIS kernel sysctls.",
    severity="medium",
    nsa=("NSA-5.2",),
    enforcement_level="advisory",  # RKE2 fails closed without it, and an image may be prepared already
    section="upgrades",
    url=RKE2_HARDENING_URL,
    remediation_steps="Put the CIS host preparation in the driver's cloud-init: an `etcd` system user, "
    "/etc/sysctl.d/60-rke2-cis.conf with kernel.panic=10, kernel.panic_on_oops=1, vm.overcommit_memory=1, "
    "vm.panic_on_oom=0, and `sysctl -p <file>` in runcmd (HardenedCluster merges it into every pool's "
    "cloud-init). For a prepared image, exempt the config.",
)
def check_cis_host_prep(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    blocks = [name for name in DRIVER_BLOCKS if _block(props, name) is not None]
    out: list[str] = []
    for block_name in blocks:
        block = _block(props, block_name) or {}
        fields = CLOUD_INIT_FIELDS.get(block_name, ())
        if not fields:
            out.append(
                f"{block_name} cannot carry cloud-init: the image must already have the CIS host "
                "preparation (etcd user, kernel sysctls); document that and exempt this config"
            )
            continue
        prep = _HostPrep()
        present = []
        for name in fields:
            value = get_path(block, name)
            if isinstance(value, str) and value.strip():
                present.append(f"{block_name}.{name}")
                _record_user_data(value, prep, f"{block_name}.{name}")
        where = " / ".join(present) if present else f"{block_name}.{fields[0]}"
        if not present:
            out.append(
                f"{where} is empty: the node gets no CIS host preparation, and RKE2's CIS profile refuses "
                "to start without the etcd user and the kernel sysctls; add them to the cloud-init "
                f"(users: [{{name: etcd, system: true}}], a file in /etc/sysctl.d with "
                f"{', '.join(f'{k}={v}' for k, v in sorted(CIS_SYSCTLS.items()))}, and `sysctl --system` in "
                "runcmd) or use an image prepared that way"
            )
            continue
        out += prep.unreadable
        if not prep.etcd_user:
            out.append(
                f"{where}: no '{ETCD_USER}' user is created (users entry or useradd): RKE2's CIS profile "
                "runs etcd as that user and will not start without it"
            )
        for key, want in sorted(CIS_SYSCTLS.items()):
            persisted = prep.persisted.get(key)
            runtime = prep.runtime.get(key)
            wrong = [v for v in (persisted[0] if persisted else None, runtime) if v is not None and v != want]
            if wrong:
                out.append(f"{where}: sets {key}={wrong[0]}, the CIS profile requires {key}={want}")
            elif persisted is None and runtime is None:
                out.append(f"{where}: does not set {key}={want} (required by the CIS profile)")
            elif persisted is None:
                out.append(
                    f"{where}: sets {key}={want} only at runtime (sysctl -w); also write it to a file in "
                    "/etc/sysctl.d so it survives a reboot"
                )
            elif not _applied(key, prep):
                out.append(
                    f"{where}: writes {key}={want} to {persisted[1]} but never loads it, so the first boot "
                    f"runs with the kernel default; add `sysctl -p {persisted[1]}` (or `sysctl --system`) "
                    "to runcmd"
                )
    return out
