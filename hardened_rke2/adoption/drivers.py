"""Node-driver machine configs -> the blueprint's driver settings (Amazon EC2).

Field names are those of Rancher's `rke-machine-config.cattle.io/v1` `Amazonec2Config` object (the
docker-machine driver flags in camelCase, as the rancher2 provider reads them: terraform-provider-rancher2
v13.5.0 rancher2/structure_machine_config_v2_amazonec2.go, struct machineConfigV2Amazonec2). Weaker settings
map to the driver's named switches (components/node_pools.py Amazonec2Driver: allowPublicIp, allowImdsV1,
allowUnencryptedVolume, allowDriverSecurityGroupRules, openPorts); credentials are never copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hardened_rke2.adoption.findings import Finding
from hardened_rke2.adoption.source import AdoptionInputError

# Driver flags the blueprint has no setting for: set on the object, they cannot be carried over.
_UNMAPPED = (
    "requestSpotInstance",
    "spotPrice",
    "blockDurationMinutes",
    "useEbsOptimizedInstance",
    "deviceName",
    "endpoint",
    "retries",
    "sshKeyContents",
    "enablePrimaryIpv6",
    "ipv6AddressCount",
    "ipv6AddressOnly",
)
_CREDENTIALS = ("accessKey", "secretKey", "sessionToken")


class _DriverFindings:
    """Records one driver setting's difference from the hardened default as a finding of pool `pool`
    (the `index`-th node pool): a weakening when the driver has a named `switch` for it, else unrepresentable.
    A driver setting's change replaces the pool's machines."""

    def __init__(
        self, findings: list[Finding], at: str, pool: str, index: int, default_severity: int
    ) -> None:
        self.findings, self.at, self.pool, self.index = findings, at, pool, index
        self.default_severity = default_severity

    def unmapped_and_credentials(
        self, obj: Mapping[str, Any], unmapped: Sequence[str], credentials: Sequence[str]
    ) -> None:
        """Driver fields the blueprint has no setting for (left out of the new machine config), and inline
        credentials (never copied: the pool uses its cloud credential)."""
        for key in unmapped:
            if obj.get(key) not in (None, "", False, []):
                self(
                    key,
                    "set",
                    "not offered by the blueprint",
                    ("NSA-5.2",),
                    severity=3,
                    note="the new machine config leaves it out",
                )
        for key in credentials:
            if obj.get(key):
                self(
                    key,
                    "set (not shown)",
                    "a cloud credential",
                    ("NSA-2.18",),
                    severity=0,
                    note="inline credentials are never copied; the pool uses its cloud credential",
                )

    def __call__(
        self,
        field: str,
        current: str,
        hardened: str,
        nsa: tuple[str, ...],
        *,
        switch: str | None = None,
        policies: tuple[str, ...] = (),
        note: str = "",
        severity: int | None = None,
    ) -> None:
        path = f"cluster.nodePools[{self.index}].driver.{switch}" if switch else None
        self.findings.append(
            Finding(
                key=f"nodePools.{self.pool}.driver.{field}",
                source=f"{self.at}.{field}",
                current=current,
                hardened=hardened,
                kind="weakening" if switch else "unrepresentable",
                nsa=nsa,
                rolls="machines",
                stack_path=path,
                switch=path,
                policies=policies,
                note=note,
                severity=self.default_severity if severity is None else severity,
            )
        )


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def adopt_amazonec2(obj: Mapping[str, Any], pool: str, index: int) -> tuple[dict[str, Any], list[Finding]]:
    at = f"Amazonec2Config {obj.get('metadata', {}).get('name')}"
    findings: list[Finding] = []
    finding = _DriverFindings(findings, at, pool, index, default_severity=1)

    driver: dict[str, Any] = {"type": "amazonec2"}
    for key, name in (
        ("region", "region"),
        ("ami", "ami"),
        ("zone", "zone"),
        ("vpcId", "vpcId"),
        ("subnetId", "subnetId"),
    ):
        value = obj.get(key)
        if not value:
            raise AdoptionInputError(f"{at}.{key}: required by the blueprint's amazonec2 driver")
        driver[name] = str(value)
    groups = obj.get("securityGroup") or []
    if not isinstance(groups, list) or not groups:
        raise AdoptionInputError(f"{at}.securityGroup: the blueprint needs named security groups you manage")
    driver["securityGroups"] = [str(g) for g in groups]
    for key in ("instanceType", "iamInstanceProfile", "kmsKey", "sshUser"):
        if obj.get(key):
            driver[key] = str(obj[key])
    root = str(obj.get("rootSize") or "")
    if root.isdigit() and 20 <= int(root) <= 16384:
        driver["rootSizeGb"] = int(root)
    elif root:
        finding("rootSize", root, "20..16384 GiB", ("NSA-5.2",), note="outside what the blueprint accepts")
    volume = str(obj.get("volumeType") or "gp2")  # the driver's default
    if volume in ("gp3", "gp2", "io1", "io2"):
        driver["volumeType"] = volume
    else:
        finding("volumeType", volume, "gp3", ("NSA-5.2",), note="not a volume type the blueprint offers")
    driver["monitoring"] = _truthy(obj.get("monitoring"))
    if not _truthy(obj.get("usePrivateAddress")):
        driver["usePrivateAddress"] = False
    if obj.get("tags"):
        parts = [p for p in str(obj["tags"]).split(",")]
        if len(parts) % 2:
            finding("tags", str(obj["tags"]), "key,value pairs", ("NSA-5.2",), note="an odd tag list")
        else:
            driver["tags"] = {parts[i]: parts[i + 1] for i in range(0, len(parts), 2)}
    if obj.get("userdata"):
        driver["userData"] = str(obj["userdata"])

    if not _truthy(obj.get("privateAddressOnly")):
        driver["allowPublicIp"] = True
        finding(
            "privateAddressOnly",
            "false",
            "true",
            ("NSA-2.11", "NSA-2.16"),
            switch="allowPublicIp",
            policies=("machine-no-public-ip",),
            note="nodes get public addresses",
        )
    if str(obj.get("httpTokens") or "optional") != "required" and obj.get("httpEndpoint") != "disabled":
        driver["allowImdsV1"] = True
        finding(
            "httpTokens",
            str(obj.get("httpTokens") or "unset (optional)"),
            "required",
            ("NSA-2.6",),
            switch="allowImdsV1",
            policies=("machine-ec2-imdsv2-required",),
            note="IMDSv1 lets anything on the node read its IAM credentials",
        )
    if obj.get("httpEndpoint") == "disabled":
        finding(
            "httpEndpoint",
            "disabled",
            "enabled (IMDSv2 only)",
            ("NSA-2.6",),
            severity=3,
            note="the blueprint's cloud-init reads its user data from IMDS; the first `pulumi up` enables it "
            "with session tokens required",
        )
    if not _truthy(obj.get("encryptEbsVolume")):
        driver["allowUnencryptedVolume"] = True
        driver.pop("kmsKey", None)
        finding(
            "encryptEbsVolume",
            "false",
            "true",
            ("NSA-2.19",),
            switch="allowUnencryptedVolume",
            policies=("machine-ec2-root-volume-encrypted",),
            note="etcd data and the Secrets key on plain EBS",
            severity=0,
        )
    if not _truthy(obj.get("securityGroupReadonly")):
        driver["allowDriverSecurityGroupRules"] = True
        finding(
            "securityGroupReadonly",
            "false",
            "true",
            ("NSA-2.11", "NSA-2.16"),
            switch="allowDriverSecurityGroupRules",
            policies=("machine-no-driver-opened-ports",),
            note="the driver adds its own ingress rules (SSH and the RKE2 ports from anywhere)",
        )
    ports = [str(p) for p in (obj.get("openPort") or [])]
    if ports:
        if driver.get("allowPublicIp") and driver.get("allowDriverSecurityGroupRules"):
            driver["openPorts"] = ports
            finding(
                "openPort",
                ", ".join(ports),
                "none",
                ("NSA-2.11", "NSA-2.16"),
                switch="openPorts",
                policies=("machine-no-driver-opened-ports",),
                note="ports opened to the Internet",
            )
        else:
            finding(
                "openPort",
                ", ".join(ports),
                "none",
                ("NSA-2.11", "NSA-2.16"),
                note="open ports need allowPublicIp and allowDriverSecurityGroupRules in the blueprint; the "
                "new machines open none",
            )
    if _truthy(obj.get("insecureTransport")):
        finding(
            "insecureTransport",
            "true",
            "false",
            ("NSA-2.17",),
            severity=0,
            note="the blueprint always verifies the EC2 API's TLS",
        )
    if obj.get("httpProtocolIpv6") not in (None, "", "disabled"):
        finding("httpProtocolIpv6", str(obj["httpProtocolIpv6"]), "disabled", ("NSA-2.6",), severity=3)
    finding.unmapped_and_credentials(obj, _UNMAPPED, _CREDENTIALS)
    # A given pair of weakening switches already implies driver rules; the blueprint needs both for openPorts.
    if driver.get("kmsKey") and driver.get("allowUnencryptedVolume"):
        driver.pop("kmsKey")
    return driver, findings


# vSphere: `rke-machine-config.cattle.io/v1` `VmwarevsphereConfig` (terraform-provider-rancher2 v13.5.0
# rancher2/structure_machine_config_v2_vsphere.go, struct machineConfigV2Vmwarevsphere). Counts and sizes are
# strings there; the blueprint's VsphereDriver takes numbers.
_VSPHERE_UNMAPPED = (
    "boot2dockerUrl",
    "vappIpallocationpolicy",
    "vappIpprotocol",
    "vappProperty",
    "vappTransport",
    "sshPort",
    "sshUserGroup",
)
_VSPHERE_CREDENTIALS = ("password", "sshPassword", "username")


def adopt_vsphere(obj: Mapping[str, Any], pool: str, index: int) -> tuple[dict[str, Any], list[Finding]]:
    from components.node_pools import VSPHERE_HARDENED_CFGPARAMS

    at = f"VmwarevsphereConfig {obj.get('metadata', {}).get('name')}"
    findings: list[Finding] = []
    finding = _DriverFindings(findings, at, pool, index, default_severity=2)

    driver: dict[str, Any] = {"type": "vsphere"}
    creation = str(obj.get("creationType") or "template")
    if creation not in ("template", "library", "vm"):
        raise AdoptionInputError(
            f"{at}.creationType: {creation!r}: the blueprint clones from a template, library item or VM only"
        )
    driver["creationType"] = creation
    for key in ("cloneFrom", "datacenter"):
        if not obj.get(key):
            raise AdoptionInputError(f"{at}.{key}: required by the blueprint's vsphere driver")
        driver[key] = str(obj[key])
    if bool(obj.get("datastore")) == bool(obj.get("datastoreCluster")):
        raise AdoptionInputError(
            f"{at}.datastore: the blueprint needs exactly one of datastore or datastoreCluster"
        )
    networks = obj.get("network") or []
    if not isinstance(networks, list) or not networks:
        raise AdoptionInputError(f"{at}.network: the blueprint needs at least one network")
    driver["networks"] = [str(n) for n in networks]
    for key in ("contentLibrary", "datastore", "datastoreCluster", "folder", "pool", "hostsystem", "sshUser"):
        if obj.get(key):
            driver[key] = str(obj[key])
    for key, name, low in (
        ("cpuCount", "cpuCount", 1),
        ("memorySize", "memoryMb", 1024),
        ("diskSize", "diskSizeMb", 10240),
    ):
        raw = str(obj.get(key) or "")
        if raw.isdigit() and int(raw) >= low:
            driver[name] = int(raw)
        elif raw:
            finding(key, raw, f">= {low}", ("NSA-5.2",), note="outside what the blueprint accepts")
    for key, name in (("tag", "tags"), ("customAttribute", "customAttributes")):
        if obj.get(key):
            driver[name] = [str(t) for t in obj[key]]
    timeout = str(obj.get("gracefulShutdownTimeout") or "")
    if timeout.isdigit():
        driver["gracefulShutdownTimeoutSeconds"] = int(timeout)
    if obj.get("cloudConfig"):
        driver["userData"] = str(obj["cloudConfig"])
    hardened = {k.lower(): (k, v) for k, v in VSPHERE_HARDENED_CFGPARAMS.items()}
    extra: dict[str, str] = {}
    overrides = []
    for entry in obj.get("cfgparam") or []:
        key, _, value = str(entry).partition("=")
        known = hardened.get(key.lower())
        if known and known[1].lower() == value.lower():
            continue
        extra[key] = value
        if known:
            overrides.append(f"{key}={value}")
    if extra:
        driver["cfgparams"] = extra
    if overrides:
        driver["allowVmxOverrides"] = True
        finding(
            "cfgparam",
            ", ".join(overrides),
            "the vSphere hardening guide's VM settings",
            ("NSA-5.2",),
            switch="allowVmxOverrides",
            policies=("machine-vsphere-vmx-hardening",),
            note="VM advanced settings weaker than the vSphere hardening guide",
            severity=2,
        )
    if obj.get("cloudinit"):
        finding(
            "cloudinit",
            "set",
            "cloud-config in cloudConfig",
            ("NSA-5.2",),
            severity=3,
            note="the blueprint delivers cloud-init through cloudConfig (with the CIS host preparation)",
        )
    finding.unmapped_and_credentials(obj, _VSPHERE_UNMAPPED, _VSPHERE_CREDENTIALS)
    return driver, findings
