"""A Rancher `Cluster` object -> the blueprint's stack config, with a finding for every difference.

Field names follow Rancher's API types (rancher/rancher v2.13.8 pkg/apis/provisioning.cattle.io/v1/
cluster_types.go; pkg/apis/rke.cattle.io/v1/cluster_configuration_types.go, common_types.go,
etcdsnapshot_types.go) and the rancher2 provider's expand code, which decides what the program's ClusterV2
inputs become (rancher/terraform-provider-rancher2 v13.5.0 rancher2/structure_cluster_v2*.go).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.cluster import FLEET_NAMESPACE
from components.kube_names import check_dns_label, is_label_key, is_label_value
from components.node_pools import MACHINE_CONFIG_KINDS
from components.pod_security import BUILTIN_RESTRICTED
from components.rke2_config import Rke2Version
from components.versions import DEFAULT_RANCHER_LINE, PINS, RANCHER_LINES
from hardened_rke2.adoption.drivers import adopt_amazonec2, adopt_vsphere
from hardened_rke2.adoption.findings import Finding
from hardened_rke2.adoption.rke2 import adopt_rke2
from hardened_rke2.adoption.source import AdoptionInputError, AdoptionSource

# Metadata Rancher writes itself; not the user's, so the stack leaves it to Rancher.
RANCHER_OWNED_PREFIXES = (
    "field.cattle.io/",
    "objectset.rio.cattle.io/",
    "provisioning.cattle.io/",
    "rke.cattle.io/",
    "management.cattle.io/",
    "cattle.io/",
    "kubectl.kubernetes.io/",
    "lifecycle.cattle.io/",
)
# Spec fields the blueprint does not manage: the provider sends the object without them (it expands only
# what the program sets), so the first `pulumi up` removes or resets them.
UNMANAGED_SPEC = (
    "agentEnvVars",
    "clusterAgentDeploymentCustomization",
    "fleetAgentDeploymentCustomization",
    "defaultClusterRoleForProjectMembers",
    "clusterAPIConfig",
    "redeploySystemAgentGeneration",
)
UNMANAGED_RKE = (
    "chartValues",
    "additionalManifest",
    "machineSelectorFiles",
    "dataDirectories",
    "networking",
    "etcdSnapshotCreate",
    "etcdSnapshotRestore",
    "rotateCertificates",
    "rotateEncryptionKeys",
    "provisionGeneration",
    "infrastructureRef",
)
UNMANAGED_POOL = (
    "paused",
    "rollingUpdate",
    "machineDeploymentLabels",
    "machineDeploymentAnnotations",
    "autoscalingMinSize",
    "autoscalingMaxSize",
    "nodeStartupTimeout",
    "drainBeforeDeleteTimeout",
    "unhealthyRange",
    "machineOS",
    "hostnameLengthLimit",
    "userdata",
)
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")
_CRON = re.compile(r"^[0-9*/,\-]+( [0-9*/,\-]+){4}$")
_CONCURRENCY = re.compile(r"^(\d+)(%?)$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@dataclass
class MachineConfigRef:
    pool: str
    kind: str
    name: str
    namespace: str

    @property
    def rancher_id(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class Adoption:
    cluster_name: str
    namespace: str
    rancher_line: str
    config: dict[str, Any]
    """The stack's `hardened-rke2:` keys (without the prefix)."""
    findings: list[Finding] = field(default_factory=list)
    machine_configs: list[MachineConfigRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Consequences of adopting that are not settings (e.g. recreated machine configs)."""
    covered: set[str] = field(default_factory=set)
    """Cluster-spec paths whose value the stack does not reproduce (each named by a finding)."""

    @property
    def rancher_id(self) -> str:
        return f"{self.namespace}/{self.cluster_name}"


def adopt(source: AdoptionSource, *, rancher_line: str | None = None) -> Adoption:
    cluster = source.cluster
    meta = cluster.get("metadata") or {}
    spec = cluster.get("spec") or {}
    name = str(meta.get("name"))
    try:
        check_dns_label(name)
    except ValueError as e:
        raise AdoptionInputError(f"metadata.name: {e}") from None
    namespace = str(meta.get("namespace") or FLEET_NAMESPACE)
    if namespace != FLEET_NAMESPACE:
        raise AdoptionInputError(
            f"metadata.namespace: {namespace!r}: the blueprint manages clusters in {FLEET_NAMESPACE} only "
            "(fix: adopt a cluster of the fleet-default workspace)"
        )
    rke = spec.get("rkeConfig")
    if not isinstance(rke, Mapping):
        raise AdoptionInputError(
            "spec.rkeConfig: missing: not a Rancher-provisioned RKE2 cluster (imported or hosted clusters "
            "cannot be adopted by this blueprint)"
        )
    version_text = spec.get("kubernetesVersion")
    try:
        version = Rke2Version.parse(str(version_text))
    except ValueError as e:
        raise AdoptionInputError(f"spec.kubernetesVersion: {e}") from None
    if "k3s" in str(version_text):
        raise AdoptionInputError("spec.kubernetesVersion: a K3s cluster; the blueprint provisions RKE2")
    line = _line(version, rancher_line)

    findings: list[Finding] = []
    covered: set[str] = set()
    notes: list[str] = []
    c: dict[str, Any] = {"name": name, "kubernetesVersion": str(version_text)}

    r = adopt_rke2(rke, str(version_text))
    findings += r.findings
    covered |= {f"rke2:{k}" for k in r.covered}
    if r.rke2:
        c["rke2"] = r.rke2
    if r.audit:
        c["audit"] = r.audit
    network = dict(r.network)

    # --- Rancher-side settings -------------------------------------------------------------------------
    enp = spec.get("enableNetworkPolicy")
    if enp is not True:
        network["projectNetworkIsolation"] = False
        findings.append(
            Finding(
                key="network.projectNetworkIsolation",
                source="spec.enableNetworkPolicy",
                current=_text(enp),
                hardened="true",
                kind="weakening",
                nsa=("NSA-2.4", "NSA-2.5"),
                rolls="cluster-agent",
                stack_path="cluster.network.projectNetworkIsolation",
                switch="cluster.network.projectNetworkIsolation",
                policies=("cluster-project-network-isolation",),
                severity=1,
                note="turning it on isolates Rancher projects from each other: allow the cross-project "
                "traffic you "
                "need first",
            )
        )
    if network:
        c["network"] = network
    _pod_security(spec, c, findings, covered)
    _authorized_endpoint(spec, c, findings, covered)
    labels, annotations = _metadata(meta, findings, covered)
    if labels:
        c["labels"] = labels
    if annotations:
        c["annotations"] = annotations

    # --- etcd, registries, upgrades ---------------------------------------------------------------------
    s3_ok = _etcd(rke.get("etcd"), c, findings, covered)
    _registries(rke.get("registries"), r.system_default_registry, c, findings, covered)
    _upgrade(rke.get("upgradeStrategy"), c, findings, covered)

    # --- pools -----------------------------------------------------------------------------------------
    refs: list[MachineConfigRef] = []
    pools = _pools(rke.get("machinePools"), spec, source, namespace, refs, findings, covered, notes)
    c["nodePools"] = pools
    production = s3_ok and _production_layout(pools) and bool(refs)
    if not production:
        c["production"] = False
        findings.append(
            Finding(
                key="cluster.production",
                source="spec.rkeConfig.machinePools / spec.rkeConfig.etcd.s3",
                current="not a production layout",
                hardened="production: odd etcd >= 3, >= 2 control plane, "
                "role-split pools, off-cluster snapshots",
                kind="difference",
                nsa=("NSA-2.14",),
                rolls="none",
                stack_path="cluster.production",
                severity=3,
                note="the stack sets production: false; the blueprint then skips its production layout "
                "checks",
            )
        )

    for key in UNMANAGED_SPEC:
        if spec.get(key) not in (None, "", [], {}, 0):
            findings.append(_unmanaged(f"spec.{key}", spec[key]))
            covered.add(f"spec.{key}")
    for key in UNMANAGED_RKE:
        value = rke.get(key)
        if value not in (None, "", [], {}, 0) and not (
            isinstance(value, Mapping) and not any(value.values())
        ):
            findings.append(_unmanaged(f"spec.rkeConfig.{key}", value))
            covered.add(f"rke:{key}")

    findings.append(
        Finding(
            key="addons",
            source="(not in the Cluster object)",
            current="unknown to the adoption",
            hardened="NeuVector, compliance scanning and audit-log shipping (addons)",
            kind="weakening",
            nsa=("NSA-1.9", "NSA-4.4", "NSA-4.5", "NSA-4.8", "NSA-5.2", "NSA-5.3"),
            rolls="none",
            stack_path="addons",
            policies=("cluster-required-addons",),
            severity=2,
            note="the stack installs no add-ons until `addons` is configured (the program warns, the pack "
            "reports it)",
        )
    )
    config: dict[str, Any] = {"kind": "cluster", "rancher": {"line": line}, "cluster": c}
    return Adoption(
        cluster_name=name,
        namespace=namespace,
        rancher_line=line,
        config=config,
        findings=findings,
        machine_configs=refs,
        notes=notes,
        covered=covered,
    )


def _line(version: Rke2Version, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in PINS:
            raise AdoptionInputError(f"--rancher-line {wanted}: use one of {', '.join(RANCHER_LINES)}")
        if version.minor_key not in PINS[wanted].kubernetes_minors:
            raise AdoptionInputError(
                f"spec.kubernetesVersion: RKE2 {version.minor_key} is not supported by Rancher {wanted} "
                f"(supports {', '.join(PINS[wanted].kubernetes_minors)})"
            )
        return wanted
    if version.minor_key in PINS[DEFAULT_RANCHER_LINE].kubernetes_minors:
        return DEFAULT_RANCHER_LINE
    for line in reversed(RANCHER_LINES):
        if version.minor_key in PINS[line].kubernetes_minors:
            return line
    supported = sorted({m for p in PINS.values() for m in p.kubernetes_minors})
    raise AdoptionInputError(
        f"spec.kubernetesVersion: RKE2 {version.minor_key} is outside what the blueprint supports "
        f"({', '.join(supported)}) (fix: upgrade the cluster in Rancher first, then adopt it)"
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unset" if value is None or value == "" else str(value)


def _unmanaged(path: str, value: Any) -> Finding:
    return Finding(
        key=path.removeprefix("spec."),
        source=path,
        current="set",
        hardened="not managed by the blueprint",
        kind="unrepresentable",
        nsa=("NSA-5.2",),
        rolls="rke2-config" if path.startswith("spec.rkeConfig") else "cluster-agent",
        note=_IMMUTABLE.get(path.rsplit(".", 1)[-1], "")
        + "the rancher2 provider sends only what the program sets (terraform-provider-rancher2 v13.5.0 "
        "rancher2/structure_cluster_v2.go expandClusterV2), so the first `pulumi up` removes this; keep a "
        "copy and re-apply it outside the stack if it is needed",
    )


_IMMUTABLE = {
    "dataDirectories": "IMMUTABLE once set: Rancher's webhook refuses the change ('data directory cannot be "
    "changed after cluster creation', rancher/webhook 31c772b1 "
    "pkg/resources/provisioning.cattle.io/v1/cluster/validator.go:235,295-299), so the first `pulumi up` "
    "fails on it — do not adopt such a cluster until the blueprint carries data directories; ",
}


def _pod_security(
    spec: Mapping[str, Any], c: dict[str, Any], findings: list[Finding], covered: set[str]
) -> None:
    name = spec.get("defaultPodSecurityAdmissionConfigurationTemplateName") or None
    if name == BUILTIN_RESTRICTED:
        return
    if name is None or name == "rancher-privileged":
        covered.add("spec.defaultPodSecurityAdmissionConfigurationTemplateName")
        findings.append(
            Finding(
                key="podSecurity.template",
                source="spec.defaultPodSecurityAdmissionConfigurationTemplateName",
                current=_text(name),
                hardened=BUILTIN_RESTRICTED,
                kind="unrepresentable",
                nsa=("NSA-1.10",),
                rolls="control-plane",
                severity=0,
                note="the blueprint always sets a restricting template; the first `pulumi up` makes "
                f"{BUILTIN_RESTRICTED} the default (Rancher reconfigures the API servers' admission) — "
                f"check the "
                "cluster's workloads against the restricted level first",
            )
        )
        return
    c["podSecurity"] = {"template": name, "allowUnverifiedTemplate": True}
    findings.append(
        Finding(
            key="podSecurity.template",
            source="spec.defaultPodSecurityAdmissionConfigurationTemplateName",
            current=name,
            hardened=BUILTIN_RESTRICTED,
            kind="weakening",
            nsa=("NSA-1.10",),
            rolls="control-plane",
            stack_path="cluster.podSecurity.template",
            switch="cluster.podSecurity.allowUnverifiedTemplate",
            policies=("cluster-psa-template-defined",),
            severity=1,
            note="a template managed outside the stack: its levels are not verified here",
        )
    )


def _authorized_endpoint(
    spec: Mapping[str, Any], c: dict[str, Any], findings: list[Finding], covered: set[str]
) -> None:
    ace = spec.get("localClusterAuthEndpoint") or {}
    if not isinstance(ace, Mapping) or not ace.get("enabled"):
        if isinstance(ace, Mapping) and (ace.get("fqdn") or ace.get("caCerts")):
            covered.add("spec.localClusterAuthEndpoint")
            findings.append(
                Finding(
                    key="authorizedEndpoint",
                    source="spec.localClusterAuthEndpoint",
                    current="disabled, with fqdn/caCerts",
                    hardened="disabled",
                    kind="unrepresentable",
                    nsa=("NSA-2.11",),
                    rolls="none",
                    note="the blueprint clears fqdn/caCerts of a disabled endpoint",
                )
            )
        return
    fqdn, ca = ace.get("fqdn"), ace.get("caCerts")
    if not fqdn or not ca or "-----BEGIN CERTIFICATE-----" not in str(ca):
        covered.add("spec.localClusterAuthEndpoint")
        findings.append(
            Finding(
                key="authorizedEndpoint",
                source="spec.localClusterAuthEndpoint",
                current="enabled without fqdn and PEM caCerts",
                hardened="disabled",
                kind="unrepresentable",
                nsa=("NSA-2.11",),
                rolls="control-plane",
                severity=1,
                note="API traffic through the endpoint bypasses Rancher's proxy and audit log; the "
                "blueprint allows it "
                "only pinned to an FQDN with CA certificates, so the first `pulumi up` turns it off",
            )
        )
        return
    c["authorizedEndpoint"] = {"enabled": True, "fqdn": str(fqdn), "caCerts": str(ca)}
    findings.append(
        Finding(
            key="authorizedEndpoint",
            source="spec.localClusterAuthEndpoint",
            current=f"enabled ({fqdn})",
            hardened="disabled",
            kind="difference",
            nsa=("NSA-2.11",),
            rolls="control-plane",
            stack_path="cluster.authorizedEndpoint",
            severity=2,
            note="API traffic through the endpoint bypasses Rancher's proxy and audit log",
        )
    )


def _metadata(
    meta: Mapping[str, Any], findings: list[Finding], covered: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    labels: dict[str, str] = {}
    for k, v in sorted((meta.get("labels") or {}).items()):
        if str(k).startswith(RANCHER_OWNED_PREFIXES):
            continue
        if is_label_key(str(k)) and is_label_value(str(v)):
            labels[str(k)] = str(v)
        else:
            covered.add("spec.labels")
            findings.append(
                Finding(
                    key=f"labels.{k}",
                    source=f"metadata.labels.{k}",
                    current=str(v),
                    hardened="a valid label",
                    kind="unrepresentable",
                    nsa=("NSA-5.2",),
                    rolls="none",
                    note="not a label the blueprint's models accept; the first `pulumi up` removes it",
                )
            )
    annotations = {
        str(k): str(v)
        for k, v in sorted((meta.get("annotations") or {}).items())
        if not str(k).startswith(RANCHER_OWNED_PREFIXES)
    }
    return labels, annotations


def _etcd(etcd: Any, c: dict[str, Any], findings: list[Finding], covered: set[str]) -> bool:
    etcd = etcd if isinstance(etcd, Mapping) else {}
    out: dict[str, Any] = {}
    if etcd.get("disableSnapshots"):
        covered.add("etcd.disableSnapshots")
        findings.append(
            Finding(
                key="etcd.disableSnapshots",
                source="spec.rkeConfig.etcd.disableSnapshots",
                current="true",
                hardened="false",
                kind="unrepresentable",
                nsa=("NSA-2.14",),
                rolls="control-plane",
                severity=1,
                note="the blueprint always takes etcd snapshots; the first `pulumi up` turns them on",
            )
        )
    cron = etcd.get("snapshotScheduleCron") or ""
    if cron and _CRON.match(cron):
        out["snapshotScheduleCron"] = cron
    else:
        covered.add("etcd.snapshotScheduleCron")
        findings.append(
            Finding(
                key="etcd.snapshotScheduleCron",
                source="spec.rkeConfig.etcd.snapshotScheduleCron",
                current=_text(cron) if cron else "unset (RKE2: every 12 hours)",
                hardened="0 */6 * * *",
                kind="unrepresentable",
                nsa=("NSA-2.14",),
                rolls="control-plane",
                severity=3,
                note="the blueprint always sets a schedule; the first `pulumi up` sets its default",
            )
        )
    retention = etcd.get("snapshotRetention")
    if isinstance(retention, int) and not isinstance(retention, bool) and 2 <= retention <= 1000:
        out["snapshotRetention"] = retention
        if retention < 12:
            findings.append(
                Finding(
                    key="etcd.snapshotRetention",
                    source="spec.rkeConfig.etcd.snapshotRetention",
                    current=str(retention),
                    hardened="12",
                    kind="difference",
                    nsa=("NSA-2.14",),
                    rolls="control-plane",
                    stack_path="cluster.etcd.snapshotRetention",
                    severity=3,
                    note="fewer recovery points than the blueprint keeps",
                )
            )
    else:
        covered.add("etcd.snapshotRetention")
        findings.append(
            Finding(
                key="etcd.snapshotRetention",
                source="spec.rkeConfig.etcd.snapshotRetention",
                current=_text(retention) if retention else "unset (RKE2: 5)",
                hardened="12",
                kind="unrepresentable",
                nsa=("NSA-2.14",),
                rolls="control-plane",
                severity=3,
                note="the blueprint keeps 2..1000 snapshots and always sets the number",
            )
        )
    s3 = etcd.get("s3")
    ok = False
    if isinstance(s3, Mapping) and s3:
        target, problem = _s3(s3)
        if target is not None:
            out["s3"] = target
            ok = True
        else:
            covered.add("etcd.s3")
            findings.append(
                Finding(
                    key="etcd.s3",
                    source="spec.rkeConfig.etcd.s3",
                    current=problem,
                    hardened="verified HTTPS, a named cloud credential",
                    kind="unrepresentable",
                    nsa=("NSA-2.14", "NSA-2.17"),
                    rolls="control-plane",
                    severity=0,
                    note="the first `pulumi up` stops the off-cluster snapshots until etcd.s3 is configured "
                    "in the "
                    "stack (snapshots hold every Secret: never over unverified TLS)",
                )
            )
    else:
        findings.append(
            Finding(
                key="etcd.s3",
                source="spec.rkeConfig.etcd.s3",
                current="unset (snapshots stay on the etcd nodes)",
                hardened="off-cluster snapshots (production)",
                kind="difference",
                nsa=("NSA-2.14",),
                rolls="control-plane",
                stack_path="cluster.etcd.s3",
                severity=2,
                note="a lost etcd node set takes its snapshots with it",
            )
        )
    if out:
        c["etcd"] = out
    return ok


def _s3(s3: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if s3.get("skipSSLVerify"):
        return None, "skipSSLVerify: true"
    endpoint = str(s3.get("endpoint") or "")
    if endpoint.startswith("http://"):
        return None, f"plain-HTTP endpoint {endpoint}"
    endpoint = endpoint.removeprefix("https://")
    bucket = str(s3.get("bucket") or "")
    credential = str(s3.get("cloudCredentialName") or "")
    if not endpoint or not _HOST.match(endpoint) or not (3 <= len(bucket) <= 63) or not credential:
        return None, "bucket, endpoint or cloudCredentialName taken from the credential's defaults"
    out: dict[str, Any] = {"bucket": bucket, "endpoint": endpoint, "cloudCredentialName": credential}
    for key, name in (("folder", "folder"), ("region", "region")):
        if s3.get(key):
            out[name] = str(s3[key])
    ca = s3.get("endpointCA")
    if ca:
        if "-----BEGIN CERTIFICATE-----" not in str(ca):
            return None, "endpointCA is a node path or base64 (the blueprint takes a PEM bundle)"
        out["endpointCa"] = str(ca)
    return out, ""


def _registries(
    reg: Any, system_default: str | None, c: dict[str, Any], findings: list[Finding], covered: set[str]
) -> None:
    out: dict[str, Any] = {}
    if system_default:
        if _HOST.match(system_default):
            out["systemDefaultRegistry"] = system_default
        else:
            covered.add("rke2:system-default-registry")
            findings.append(
                Finding(
                    key="registries.systemDefaultRegistry",
                    source="spec.rkeConfig.machineGlobalConfig.system-default-registry",
                    current=system_default,
                    hardened="a registry host[:port]",
                    kind="unrepresentable",
                    nsa=("NSA-1.8",),
                    rolls="rke2-config",
                )
            )
    reg = reg if isinstance(reg, Mapping) else {}
    configs = []
    for host, cfg in sorted((reg.get("configs") or {}).items()):
        cfg = cfg if isinstance(cfg, Mapping) else {}
        if cfg.get("insecureSkipVerify"):
            covered.add(f"registries.configs.{host}")
            findings.append(
                Finding(
                    key=f"registries.configs.{host}",
                    source=f"spec.rkeConfig.registries.configs.{host}",
                    current="insecureSkipVerify: true",
                    hardened="TLS verified",
                    kind="unrepresentable",
                    nsa=("NSA-2.17", "NSA-1.8"),
                    rolls="rke2-config",
                    severity=0,
                    note="the blueprint never skips registry TLS verification: give the registry's CA as "
                    "caBundle",
                )
            )
        entry: dict[str, Any] = {"hostname": str(host)}
        if cfg.get("authConfigSecretName"):
            entry["authConfigSecretName"] = str(cfg["authConfigSecretName"])
        if cfg.get("tlsSecretName"):
            entry["tlsSecretName"] = str(cfg["tlsSecretName"])
        if cfg.get("caBundle"):
            entry["caBundle"] = _ca_bundle(cfg["caBundle"], host)
        if not _HOST.match(str(host)):
            raise AdoptionInputError(f"spec.rkeConfig.registries.configs.{host}: not a registry host[:port]")
        configs.append(entry)
    mirrors = []
    for host, m in sorted((reg.get("mirrors") or {}).items()):
        m = m if isinstance(m, Mapping) else {}
        endpoints = [str(e) for e in (m.get("endpoint") or [])]
        bad = [e for e in endpoints if not e.startswith("https://")]
        if bad or not endpoints:
            covered.add(f"registries.mirrors.{host}")
            findings.append(
                Finding(
                    key=f"registries.mirrors.{host}",
                    source=f"spec.rkeConfig.registries.mirrors.{host}.endpoint",
                    current=", ".join(bad) or "no endpoints",
                    hardened="https:// endpoints",
                    kind="unrepresentable",
                    nsa=("NSA-2.17", "NSA-1.8"),
                    rolls="rke2-config",
                    severity=0,
                    note="the blueprint only pulls through verified HTTPS mirrors; the first `pulumi up` "
                    "drops this "
                    "mirror",
                )
            )
            continue
        entry = {"hostname": str(host), "endpoints": endpoints}
        if m.get("rewrite"):
            entry["rewrites"] = {str(k): str(v) for k, v in sorted(m["rewrite"].items())}
        mirrors.append(entry)
    if configs:
        out["configs"] = configs
    if mirrors:
        out["mirrors"] = mirrors
    if out:
        c["registries"] = out


def _ca_bundle(value: Any, host: str) -> str:
    """`caBundle` is `[]byte` in Rancher's type, i.e. base64 in JSON/YAML; the provider's input is the PEM."""
    text = str(value)
    if "-----BEGIN" in text:
        return text
    try:
        pem = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AdoptionInputError(
            f"spec.rkeConfig.registries.configs.{host}.caBundle: neither PEM nor base64 of PEM"
        ) from None
    return pem


def _upgrade(strategy: Any, c: dict[str, Any], findings: list[Finding], covered: set[str]) -> None:
    s = strategy if isinstance(strategy, Mapping) else {}
    out: dict[str, Any] = {}
    cp = str(s.get("controlPlaneConcurrency") or "1")
    if cp != "1":
        covered.add("upgradeStrategy.controlPlaneConcurrency")
        findings.append(
            Finding(
                key="upgrade.controlPlaneConcurrency",
                source="spec.rkeConfig.upgradeStrategy.controlPlaneConcurrency",
                current=cp,
                hardened="1",
                kind="unrepresentable",
                nsa=("NSA-5.1",),
                rolls="none",
                severity=2,
                note="one control-plane node at a time keeps etcd quorum and the API during upgrades",
            )
        )
    wc = str(s.get("workerConcurrency") or "1")
    m = _CONCURRENCY.match(wc)
    if m and int(m.group(1)) >= 1 and not (m.group(2) and int(m.group(1)) > 50):
        if wc != "10%":
            out["workerConcurrency"] = wc
    else:
        covered.add("upgradeStrategy.workerConcurrency")
        findings.append(
            Finding(
                key="upgrade.workerConcurrency",
                source="spec.rkeConfig.upgradeStrategy.workerConcurrency",
                current=wc,
                hardened="10% (at most 50%)",
                kind="unrepresentable",
                nsa=("NSA-5.1",),
                rolls="none",
                severity=2,
                note="the blueprint bounds how many workers upgrade at once",
            )
        )
    drains: list[Mapping[str, Any]] = [
        _as_mapping(s.get(k)) for k in ("controlPlaneDrainOptions", "workerDrainOptions")
    ]
    enabled = [bool(d.get("enabled")) for d in drains]
    if enabled[0] != enabled[1]:
        covered.add("upgradeStrategy.drain")
        findings.append(
            Finding(
                key="upgrade.drain",
                source="spec.rkeConfig.upgradeStrategy.*DrainOptions.enabled",
                current=f"control plane {enabled[0]}, workers {enabled[1]}",
                hardened="true for both",
                kind="unrepresentable",
                nsa=("NSA-5.1",),
                rolls="none",
                severity=3,
                note="the blueprint drains control plane and workers alike",
            )
        )
    if not any(enabled):
        out["drain"] = False
        findings.append(
            Finding(
                key="upgrade.drain",
                source="spec.rkeConfig.upgradeStrategy.*DrainOptions.enabled",
                current="false",
                hardened="true",
                kind="difference",
                nsa=("NSA-5.1",),
                rolls="none",
                stack_path="cluster.upgrade.drain",
                severity=3,
                note="nodes restart (upgrades, config changes) without being drained first",
            )
        )
    timeouts = {int(d.get("timeout") or 0) for d in drains if d.get("enabled")}
    if len(timeouts) == 1:
        t = timeouts.pop()
        if 30 <= t <= 7200 and t != 600:
            out["drainTimeoutSeconds"] = t
    covered.add("upgradeStrategy.drainDetails")  # force/grace/emptyDir: the blueprint's fixed values
    if out:
        c["upgrade"] = out


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    m = _DURATION.match(str(value))
    if not m or not any(m.groups()):
        return None
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def _pools(
    pools: Any,
    spec: Mapping[str, Any],
    source: AdoptionSource,
    namespace: str,
    refs: list[MachineConfigRef],
    findings: list[Finding],
    covered: set[str],
    notes: list[str],
) -> list[dict[str, Any]]:
    if not pools:
        notes.append(
            "custom cluster: the Cluster object does not list its nodes, so the stack describes them as one "
            "custom pool with every role. Custom pools create no Rancher objects (they only shape the "
            "registration commands the stack outputs): edit nodePools to describe your hosts."
        )
        return [
            {
                "name": "nodes",
                "roles": ["etcd", "controlPlane", "worker"],
                "quantity": 1,
                "driver": {"type": "custom"},
            }
        ]
    if not isinstance(pools, list):
        raise AdoptionInputError("spec.rkeConfig.machinePools: expected a list")
    out = []
    for i, pool in enumerate(pools):
        at = f"spec.rkeConfig.machinePools[{i}]"
        if not isinstance(pool, Mapping):
            raise AdoptionInputError(f"{at}: expected an object")
        name = str(pool.get("name") or "")
        try:
            check_dns_label(name)
        except ValueError as e:
            raise AdoptionInputError(f"{at}.name: {e}") from None
        ref = pool.get("machineConfigRef") or {}
        kind, ref_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        if not kind or not ref_name:
            raise AdoptionInputError(f"{at}.machineConfigRef: kind and name are required")
        roles = [
            r
            for r, key in (
                ("etcd", "etcdRole"),
                ("controlPlane", "controlPlaneRole"),
                ("worker", "workerRole"),
            )
            if pool.get(key)
        ]
        if not roles:
            raise AdoptionInputError(f"{at}: the pool has no role (etcdRole/controlPlaneRole/workerRole)")
        entry: dict[str, Any] = {"name": name, "roles": roles, "quantity": int(pool.get("quantity") or 0)}
        if entry["quantity"] < 1:
            raise AdoptionInputError(f"{at}.quantity: at least 1 (the blueprint has no empty pools)")
        credential = pool.get("cloudCredentialSecretName") or spec.get("cloudCredentialSecretName")
        if not credential:
            raise AdoptionInputError(
                f"{at}.cloudCredentialSecretName: a node-driver pool needs a cloud credential"
            )
        entry["cloudCredentialSecretName"] = str(credential)
        if pool.get("labels"):
            entry["labels"] = {str(k): str(v) for k, v in sorted(pool["labels"].items())}
        if pool.get("taints"):
            entry["taints"] = [
                {
                    "key": str(t.get("key")),
                    "value": str(t.get("value") or ""),
                    "effect": str(t.get("effect") or "NoSchedule"),
                }
                for t in pool["taints"]
            ]
        if not pool.get("drainBeforeDelete"):
            entry["drainBeforeDelete"] = False
            findings.append(
                Finding(
                    key=f"nodePools.{name}.drainBeforeDelete",
                    source=f"{at}.drainBeforeDelete",
                    current="false",
                    hardened="true",
                    kind="difference",
                    nsa=("NSA-5.1",),
                    rolls="none",
                    stack_path=f"cluster.nodePools[{i}].drainBeforeDelete",
                    severity=3,
                    note="machines are deleted without draining their workloads first",
                )
            )
        if pool.get("maxUnhealthy"):
            entry["maxUnhealthy"] = str(pool["maxUnhealthy"])
        timeout = _seconds(pool.get("unhealthyNodeTimeout"))
        if timeout:
            entry["unhealthyNodeTimeout"] = timeout
        for key in UNMANAGED_POOL:
            if pool.get(key) not in (None, "", [], {}, 0, False):
                covered.add(f"pool:{name}:{key}")
                findings.append(_unmanaged(f"{at}.{key}", pool[key]))
        driver_type = next((t for t, k in MACHINE_CONFIG_KINDS.items() if k == kind), None)
        obj = source.machine_configs.get((kind, ref_name))
        adopt_driver = _DRIVERS.get(driver_type or "")
        if adopt_driver is None:
            raise AdoptionInputError(
                f"{at}.machineConfigRef.kind: {kind}: adopt maps Amazonec2Config and VmwarevsphereConfig "
                "machine configs only (the blueprint's Harvester and DigitalOcean pools are not mapped yet)"
            )
        if obj is None:
            raise AdoptionInputError(
                f"{at}.machineConfigRef: {kind} {ref_name} is not in the input (fix: export the Cluster "
                f"with its machine configs as one List: `kubectl get -n {namespace} -o yaml "
                f"clusters.provisioning.cattle.io/<cluster> {kind.lower()}s.rke-machine-config.cattle.io/"
                f"{ref_name} ...`)"
            )
        driver, driver_findings = adopt_driver(obj, name, i)
        entry["driver"] = driver
        findings += driver_findings
        refs.append(MachineConfigRef(pool=name, kind=kind, name=ref_name, namespace=namespace))
        out.append(entry)
    if refs:
        notes.append(
            "machine configs are not imported: the rancher2 provider's MachineConfigV2 has no importer and "
            "its "
            "Read needs `kind` from existing state (terraform-provider-rancher2 v13.5.0 rancher2/"
            "resource_rancher2_machine_config_v2.go:14-26 (no importer), 76-80 (Read), 369-370 (an empty "
            "kind fails)), so "
            "`pulumi import` cannot read them. The first "
            "`pulumi up` creates one new machine config per pool (generate_name <cluster>-<pool>) with the "
            "hardened driver settings and the CIS host preparation in cloud-init; because the machine "
            "template's name hashes the machine config data, every node-driver pool is replaced machine by "
            "machine (rancher/rancher v2.13.8 pkg/controllers/provisioningv2/provisioningcluster/"
            "template.go:204-207,249-267). The old machine configs stay in fleet-default: delete them after "
            "the rollout (" + ", ".join(r.rancher_id for r in refs) + ")."
        )
    return out


_DRIVERS = {"amazonec2": adopt_amazonec2, "vsphere": adopt_vsphere}


def _production_layout(pools: list[dict[str, Any]]) -> bool:
    def count(role: str) -> int:
        return sum(p["quantity"] for p in pools if role in p["roles"])

    etcd, cp = count("etcd"), count("controlPlane")
    return etcd >= 3 and etcd % 2 == 1 and cp >= 2 and all(len(p["roles"]) == 1 for p in pools)
