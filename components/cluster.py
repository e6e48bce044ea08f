"""HardenedCluster: a Rancher-provisioned RKE2 cluster (`rancher2.ClusterV2`) whose defaults are hardened.

What it creates, all parented to the component:
- the custom PSA template (optional), the audit-policy Secret on Rancher's local cluster (optional), an
  S3 cloud credential for etcd snapshots (optional), one MachineConfigV2 per node-driver pool;
- the ClusterV2 (protected, long custom timeouts, secret outputs);
- a `ClusterSync` gate every downstream resource depends on (`handle.depends_on()`);
- a cluster-scoped `rancher2.Token` with an explicit TTL and a Kubernetes provider built from it.

Everything is validated (`HardenedClusterArgs`) before the first resource is registered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_rancher2 as rancher2
import yaml
from pydantic import Field, SecretStr, field_validator, model_validator

from components import node_pools as np_mod
from components.audit_policy import RKE2_AUDIT_POLICY_PATH, AuditPolicyArgs
from components.cluster_operations import ClusterOperationsArgs, EncryptionKeyRotation, rke_config_operations
from components.fips import FIPS_LABEL, ComplianceArgs, fips_problems
from components.handles import ClusterHandle
from components.host_prep import host_prep_script
from components.kube_names import DnsLabel, LabelKey, LabelValue
from components.model import HardenedModel
from components.net_types import DualStackCidr, overlapping
from components.pod_security import PodSecurityArgs, PodSecurityTemplate
from components.problems import ConfigProblems, ProblemList
from components.rke2_config import RenderedRke2Config, Rke2ConfigArgs, Rke2Version, render
from components.tls import certificate_authority_data, pem_certificates
from components.versions import DEFAULT_RANCHER_LINE, PINS, RancherLine, pins_for

FLEET_NAMESPACE = "fleet-default"
LOCAL_CLUSTER_ID = "local"
AUTHORIZED_FOR_CLUSTERS = "rke.cattle.io/object-authorized-for-clusters"
CONTROL_PLANE_SELECTOR = {"rke.cattle.io/control-plane-role": "true"}
CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="90m", update="90m", delete="60m")

_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")
_CRON_FIELD = r"[0-9*/,\-]+"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")
_CONCURRENCY = re.compile(r"^(\d+)(%?)$")
_PEM_CERT = "-----BEGIN CERTIFICATE-----"


def _supported_minors() -> set[str]:
    return {m for pins in PINS.values() for m in pins.kubernetes_minors}


class NetworkArgs(HardenedModel):
    cni: Literal["canal", "calico", "cilium"] = "canal"
    """All three enforce NetworkPolicy; canal is the only one rebuilt for FIPS."""
    multus: bool = False
    """Multus goes first (`cni: [multus, <cni>]`)."""
    project_network_isolation: bool = True
    """Rancher project network isolation (`enable_network_policy`). false is a weakening the pack reports."""
    cluster_cidr: DualStackCidr | None = None
    """Pod CIDR (or dual-stack `v4,v6`); RKE2 default when unset."""
    service_cidr: DualStackCidr | None = None
    """Service CIDR (or dual-stack `v4,v6`); RKE2 default when unset. Must not overlap the pod CIDR."""

    @model_validator(mode="after")
    def _cidrs_apart(self) -> NetworkArgs:
        pods = self.cluster_cidr or "10.42.0.0/16"  # RKE2's defaults
        services = self.service_cidr or "10.43.0.0/16"
        if overlapping(pods, services):
            raise ConfigProblems.one(
                f"clusterCidr {pods} and serviceCidr {services} overlap",
                "give the pod and service networks disjoint ranges",
                "serviceCidr",
            )
        return self

    def cni_list(self) -> list[str]:
        return ["multus", self.cni] if self.multus else [self.cni]


class AuthorizedEndpointArgs(HardenedModel):
    """Rancher's authorized cluster endpoint (ACE): API traffic bypassing Rancher's proxy and audit log."""

    enabled: bool = False
    """ACE on/off; on requires fqdn and caCerts."""
    fqdn: str | None = Field(None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?$")
    """Load-balanced FQDN in front of the control-plane nodes."""
    ca_certs: str | None = None
    """PEM CA certificate(s) of that endpoint."""

    @model_validator(mode="after")
    def _fqdn_and_ca(self) -> AuthorizedEndpointArgs:
        problems = ProblemList()
        if self.enabled and not self.fqdn:
            problems.add(
                ["fqdn"],
                "enabled needs both fqdn and caCerts; fqdn is missing",
                "set the FQDN of the load balancer in front of the control-plane nodes, or enabled: false",
            )
        if self.enabled and not self.ca_certs:
            problems.add(
                ["caCerts"],
                "enabled needs both fqdn and caCerts; caCerts is missing",
                "set the PEM CA certificate(s) of that endpoint, or enabled: false",
            )
        if self.ca_certs and _PEM_CERT not in self.ca_certs:
            problems.add(["caCerts"], "must be PEM certificates", "give -----BEGIN CERTIFICATE----- blocks")
        if not self.enabled and (self.fqdn or self.ca_certs):
            problems.add(
                ["enabled"],
                "fqdn/caCerts are set but enabled is false",
                "remove them, or set enabled: true (the pack reports an enabled endpoint)",
            )
        problems.raise_if_any()
        return self


class S3SnapshotArgs(HardenedModel):
    """Off-cluster etcd snapshots. TLS verification stays on; credentials are secrets."""

    bucket: str = Field(min_length=3, max_length=63)
    """S3 bucket of the snapshots."""
    endpoint: str
    """S3 host[:port]; https:// is implied, http:// is rejected."""
    folder: str | None = None
    """Folder (key prefix) in the bucket."""
    region: str | None = None
    """S3 region."""
    endpoint_ca: str | None = None
    """PEM CA bundle of the S3 endpoint (private CA)."""
    skip_ssl_verify: Literal[False] = False
    """Always false: snapshots hold every Secret of the cluster."""
    cloud_credential_name: str | None = None
    """An existing Rancher cloud credential (e.g. `cattle-global-data:cc-xxxxx`)."""
    access_key: SecretStr | None = None
    """S3 access key id (Pulumi secret config), set together with `secretKey`."""
    secret_key: SecretStr | None = None
    """Set both (as Pulumi secret config) to let the component create the cloud credential."""

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if v.startswith("http://"):
            raise ValueError("plain-HTTP endpoint; give the HTTPS host (without scheme), e.g. s3.example.com")
        v = v.removeprefix("https://")
        if not _HOST.match(v):
            raise ValueError("not a host[:port]")
        return v

    @model_validator(mode="after")
    def _one_credential(self) -> S3SnapshotArgs:
        keys = (self.access_key is not None, self.secret_key is not None)
        if keys[0] != keys[1]:
            raise ValueError("give both accessKey and secretKey, or neither")
        if keys[0] == bool(self.cloud_credential_name):
            raise ValueError("give exactly one of cloudCredentialName or accessKey+secretKey")
        if self.endpoint_ca and _PEM_CERT not in self.endpoint_ca:
            raise ValueError("endpointCa must be a PEM certificate")
        return self


class EtcdArgs(HardenedModel):
    snapshot_schedule_cron: str = "0 */6 * * *"
    """Snapshot schedule (5-field cron)."""
    snapshot_retention: int = Field(12, ge=2, le=1000)
    """Snapshots kept per node."""
    s3: S3SnapshotArgs | None = None
    """Off-cluster snapshot target (required when production is true)."""

    @field_validator("snapshot_schedule_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        if not _CRON.match(v):
            raise ValueError("not a 5-field cron expression like '0 */6 * * *'")
        return v


class RegistryConfigArgs(HardenedModel):
    hostname: str = Field(pattern=_HOST.pattern)
    """Registry host[:port]."""
    auth_config_secret_name: str | None = None
    """Secret with the registry credentials."""
    tls_secret_name: str | None = None
    """Secret with a client certificate for the registry."""
    ca_bundle: str | None = None
    """PEM CA bundle of the registry."""
    insecure: Literal[False] = False
    """Always false: TLS verification to registries stays on."""


class RegistryMirrorArgs(HardenedModel):
    hostname: str = Field(pattern=r"^(\*|[A-Za-z0-9.-]+(:\d+)?)$")
    """Registry the mirror stands in for (`*` for all)."""
    endpoints: tuple[str, ...] = Field(min_length=1)
    """Mirror endpoints, tried in order."""
    rewrites: dict[str, str] = Field(default_factory=dict)
    """Image name rewrites (regular expression -> replacement)."""

    @field_validator("endpoints")
    @classmethod
    def _https(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in v if not e.startswith("https://")]
        if bad:
            raise ValueError(f"mirror endpoints must be https:// URLs: {', '.join(bad)}")
        return v


class RegistriesArgs(HardenedModel):
    system_default_registry: str | None = Field(None, pattern=_HOST.pattern)
    """Registry every system image is pulled from (air-gapped sites)."""
    configs: tuple[RegistryConfigArgs, ...] = ()
    """Per-registry TLS and credentials."""
    mirrors: tuple[RegistryMirrorArgs, ...] = ()
    """Registry mirrors."""
    allowed: tuple[str, ...] | None = None
    """Registries workloads may pull from (exported as `allowedRegistries`); derived when not given."""

    def allowed_registries(self) -> list[str]:
        if self.allowed is not None:
            return sorted(set(self.allowed))
        hosts = {c.hostname for c in self.configs}
        hosts |= {e.removeprefix("https://").split("/")[0] for m in self.mirrors for e in m.endpoints}
        if self.system_default_registry:
            hosts.add(self.system_default_registry)
        return sorted(hosts)


class UpgradeStrategyArgs(HardenedModel):
    control_plane_concurrency: Literal["1"] = "1"
    """One control-plane node at a time keeps etcd quorum and the API available."""
    worker_concurrency: str = "10%"
    """Workers upgraded at once: a count or a percentage up to 50%."""
    drain: bool = True
    """Drain nodes before upgrading them (control plane and workers)."""
    drain_timeout_seconds: int = Field(600, ge=30, le=7200)
    """How long a node drain may take during an upgrade."""

    @field_validator("worker_concurrency")
    @classmethod
    def _bounded(cls, v: str) -> str:
        m = _CONCURRENCY.match(v)
        if not m:
            raise ValueError("a count like '2' or a percentage like '10%'")
        n, pct = int(m.group(1)), m.group(2)
        if n < 1 or (pct and n > 50):
            raise ValueError("must be at least 1 and at most 50% so upgrades stay bounded")
        return v


class HardenedClusterArgs(HardenedModel):
    """Everything about one hardened downstream cluster. The defaults are the hardened settings."""

    name: DnsLabel
    """Cluster name in Rancher (DNS label)."""
    kubernetes_version: str = Field(pins_for(DEFAULT_RANCHER_LINE).default_kubernetes_version)
    """RKE2 release, e.g. `v1.33.5+rke2r1`; in a stack it defaults to the pin of `rancher.line`."""
    node_pools: tuple[np_mod.NodePoolArgs, ...] = Field(min_length=1)
    """All custom (bring-your-own) or all node-driver pools."""
    production: bool = True
    """Production layouts need an odd etcd count >= 3, >= 2 control-plane nodes and role-split pools."""
    rke2: Rke2ConfigArgs = Field(default_factory=Rke2ConfigArgs)
    """RKE2 node configuration (hardened flags, allow-listed extra keys/args)."""
    audit: AuditPolicyArgs = Field(default_factory=AuditPolicyArgs)
    """API-server audit policy and log retention."""
    pod_security: PodSecurityArgs = Field(default_factory=PodSecurityArgs)
    """Cluster default Pod Security Admission template."""
    network: NetworkArgs = Field(default_factory=NetworkArgs)
    """CNI and network settings."""
    authorized_endpoint: AuthorizedEndpointArgs = Field(default_factory=AuthorizedEndpointArgs)
    """Authorized cluster endpoint (off by default)."""
    etcd: EtcdArgs = Field(default_factory=EtcdArgs)
    """etcd snapshots (schedule, retention, optional S3)."""
    registries: RegistriesArgs = Field(default_factory=RegistriesArgs)
    """Private registries, mirrors and system-default-registry."""
    upgrade: UpgradeStrategyArgs = Field(default_factory=UpgradeStrategyArgs)
    """Rolling upgrade strategy."""
    operations: ClusterOperationsArgs = Field(default_factory=ClusterOperationsArgs)
    """Day-2 operations as generation counters: certificate rotation, on-demand etcd snapshot, etcd restore,
    secrets-encryption key rotation (docs/day2.md)."""
    protect: bool = True
    """`protect` on the ClusterV2 (a destroy must first unprotect it). false is the named opt-out."""
    kubeconfig_token_ttl_hours: int = Field(24, ge=1, le=720)
    """TTL of the dedicated Rancher token behind the Kubernetes provider; once expired it is replaced by
    the next update that refreshes first (`refresh: always`, docs/tokens.md). The policy pack's default
    maximum is 24 h; at most `rancher.tokenMaxTtlMinutes`."""
    compliance: ComplianceArgs = Field(default_factory=ComplianceArgs)
    """Compliance regimes beyond the hardening every cluster gets: `fips: true` for FIPS 140 mode."""
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Labels of the Rancher cluster object."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations of the Rancher cluster object."""

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, v: str) -> str:
        version = Rke2Version.parse(v)
        if version.minor_key not in _supported_minors():
            raise ValueError(
                f"RKE2 {version.minor_key} is not supported by Rancher {', '.join(PINS)}; "
                f"use one of {', '.join(sorted(_supported_minors()))}"
            )
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> HardenedClusterArgs:
        problems = ProblemList()
        problems.extend(self.rke2.problems(self.kubernetes_version, path=("rke2",)))
        problems.extend(
            fips_problems(
                self.compliance,
                cni=self.network.cni,
                multus=self.network.multus,
                secrets_encryption_provider=self.rke2.secrets_encryption_provider,
                cipher_suites=self.rke2.cipher_suites(self.compliance.fips),
                extra_args=self.rke2.extra_args,
                labels=self.labels,
            )
        )
        try:
            np_mod.validate_layout(self.node_pools, self.production, field="nodePools")
        except ConfigProblems as exc:
            problems.extend(exc.items)
        if self.production and not self.etcd.s3:
            problems.add(
                ("etcd", "s3"),
                "production clusters need off-cluster etcd snapshots",
                "configure etcd.s3, or set production: false for a non-production cluster",
            )
        problems.raise_if_any()
        return self

    @property
    def is_custom(self) -> bool:
        return all(p.is_custom for p in self.node_pools)

    def cluster_labels(self) -> dict[str, str]:
        """The ClusterV2's labels: the user's, plus the FIPS mark the policy pack keys on."""
        marks = {FIPS_LABEL: "true"} if self.compliance.fips else {}
        return dict(sorted({**self.labels, **marks}.items()))


def _drain(args: UpgradeStrategyArgs) -> dict[str, Any]:
    return {
        "enabled": args.drain,
        "delete_empty_dir_data": True,
        "ignore_daemon_sets": True,
        "force": False,
        "grace_period": -1,
        "timeout": args.drain_timeout_seconds,
    }


def _kubeconfig(server: str, token: str, cluster: str, ca_certs: str | None = None) -> str:
    entry: dict[str, str] = {"server": server}
    if ca_certs:
        entry["certificate-authority-data"] = certificate_authority_data(ca_certs)
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": entry}],
            "users": [{"name": cluster, "user": {"token": token}}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
            "current-context": cluster,
        },
        sort_keys=True,
    )


# --- the steps of HardenedCluster, in the order it runs them -------------------------------------------


def rke2_extra_keys(a: HardenedClusterArgs) -> dict[str, str]:
    """RKE2 config keys that come from other sections (inline audit policy, CIDRs)."""
    extra_keys: dict[str, str] = {}
    if a.audit.delivery == "inline":
        extra_keys["audit-policy-file"] = a.audit.policy_yaml()
    for key, value in (
        ("cluster-cidr", a.network.cluster_cidr),
        ("service-cidr", a.network.service_cidr),
    ):
        if value:
            extra_keys[key] = value
    return extra_keys


def render_node_config(a: HardenedClusterArgs) -> RenderedRke2Config:
    """The RKE2 node config (global + selector YAML); raises before anything is registered."""
    return render(
        a.rke2,
        kubernetes_version=a.kubernetes_version,
        cni=a.network.cni_list(),
        system_default_registry=a.registries.system_default_registry,
        apiserver_flags=a.audit.apiserver_flags(),
        extra_keys=rke2_extra_keys(a),
        fips=a.compliance.fips,
    )


def audit_policy_secret(
    name: str, a: HardenedClusterArgs, opts: pulumi.ResourceOptions
) -> rancher2.SecretV2 | None:
    """`delivery: secret`: the audit policy as a Secret in fleet-default on Rancher's local cluster."""
    if a.audit.delivery != "secret":
        return None
    return rancher2.SecretV2(
        f"{name}-audit-policy",
        cluster_id=LOCAL_CLUSTER_ID,
        namespace=FLEET_NAMESPACE,
        name=f"{a.name}-audit-policy",
        annotations={AUTHORIZED_FOR_CLUSTERS: a.name},
        data={"audit-policy.yaml": a.audit.policy_yaml()},
        opts=opts,
    )


def audit_policy_files(
    secret: rancher2.SecretV2 | None,
) -> list[rancher2.ClusterV2RkeConfigMachineSelectorFileArgs] | None:
    """The machine-selector file that puts the audit-policy Secret on every control-plane node (0600)."""
    if secret is None:
        return None
    return [
        rancher2.ClusterV2RkeConfigMachineSelectorFileArgs(
            machine_label_selector=rancher2.ClusterV2RkeConfigMachineSelectorFileMachineLabelSelectorArgs(
                match_labels=CONTROL_PLANE_SELECTOR
            ),
            file_sources=[
                rancher2.ClusterV2RkeConfigMachineSelectorFileFileSourceArgs(
                    secret=rancher2.ClusterV2RkeConfigMachineSelectorFileFileSourceSecretArgs(
                        name=secret.name,
                        default_permissions="0600",
                        items=[
                            rancher2.ClusterV2RkeConfigMachineSelectorFileFileSourceSecretItemArgs(
                                key="audit-policy.yaml",
                                path=RKE2_AUDIT_POLICY_PATH,
                                permissions="0600",
                                dynamic=True,
                            )
                        ],
                    )
                )
            ],
        )
    ]


def etcd_s3_credential(
    name: str, a: HardenedClusterArgs, opts: pulumi.ResourceOptions
) -> rancher2.CloudCredential | None:
    """The S3 cloud credential for etcd snapshots, when the keys (not an existing credential) are given."""
    s3 = a.etcd.s3
    if s3 is None or s3.access_key is None or s3.secret_key is None:
        return None
    return rancher2.CloudCredential(
        f"{name}-etcd-s3",
        name=f"{a.name}-etcd-s3",
        description=f"etcd snapshot target of {a.name} (hardened-rke2)",
        s3_credential_config=rancher2.CloudCredentialS3CredentialConfigArgs(
            access_key=pulumi.Output.secret(s3.access_key.get_secret_value()),
            secret_key=pulumi.Output.secret(s3.secret_key.get_secret_value()),
            default_bucket=s3.bucket,
            default_endpoint=s3.endpoint,
            default_region=s3.region,
            default_folder=s3.folder,
            default_endpoint_ca=s3.endpoint_ca,
            default_skip_ssl_verify=False,
        ),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["s3_credential_config"])
        ),
    )


def etcd_s3_config(
    a: HardenedClusterArgs, credential: rancher2.CloudCredential | None
) -> rancher2.ClusterV2RkeConfigEtcdS3ConfigArgs | None:
    """The cluster's etcd S3 target (TLS verification always on)."""
    s3 = a.etcd.s3
    if s3 is None:
        return None
    credential_name: pulumi.Input[str] | None = (
        credential.id if credential is not None else s3.cloud_credential_name
    )
    return rancher2.ClusterV2RkeConfigEtcdS3ConfigArgs(
        bucket=s3.bucket,
        endpoint=s3.endpoint,
        folder=s3.folder,
        region=s3.region,
        endpoint_ca=s3.endpoint_ca,
        cloud_credential_name=credential_name,
        skip_ssl_verify=False,
    )


def registries_config(r: RegistriesArgs) -> rancher2.ClusterV2RkeConfigRegistriesArgs | None:
    """Private registry TLS/credentials and mirrors (never `insecure`)."""
    if not (r.configs or r.mirrors):
        return None
    return rancher2.ClusterV2RkeConfigRegistriesArgs(
        configs=[
            rancher2.ClusterV2RkeConfigRegistriesConfigArgs(
                hostname=c.hostname,
                auth_config_secret_name=c.auth_config_secret_name,
                tls_secret_name=c.tls_secret_name,
                ca_bundle=c.ca_bundle,
                insecure=False,
            )
            for c in r.configs
        ]
        or None,
        mirrors=[
            rancher2.ClusterV2RkeConfigRegistriesMirrorArgs(
                hostname=m.hostname,
                endpoints=list(m.endpoints),
                rewrites=dict(sorted(m.rewrites.items())) or None,
            )
            for m in r.mirrors
        ]
        or None,
    )


def upgrade_strategy(u: UpgradeStrategyArgs) -> rancher2.ClusterV2RkeConfigUpgradeStrategyArgs:
    return rancher2.ClusterV2RkeConfigUpgradeStrategyArgs(
        control_plane_concurrency=u.control_plane_concurrency,
        worker_concurrency=u.worker_concurrency,
        control_plane_drain_options=rancher2.ClusterV2RkeConfigUpgradeStrategyControlPlaneDrainOptionsArgs(
            **_drain(u)
        ),
        worker_drain_options=rancher2.ClusterV2RkeConfigUpgradeStrategyWorkerDrainOptionsArgs(**_drain(u)),
    )


def cluster_inputs(
    a: HardenedClusterArgs,
    rendered: RenderedRke2Config,
    *,
    pod_security_template: pulumi.Input[str] | None,
    selector_files: list[rancher2.ClusterV2RkeConfigMachineSelectorFileArgs] | None,
    s3_config: rancher2.ClusterV2RkeConfigEtcdS3ConfigArgs | None,
    machine_pools: list[rancher2.ClusterV2RkeConfigMachinePoolArgs],
) -> dict[str, Any]:
    """Every input of the ClusterV2 (its resource options stay with the component)."""
    ace = a.authorized_endpoint
    return {
        "name": a.name,
        "fleet_namespace": FLEET_NAMESPACE,
        "kubernetes_version": a.kubernetes_version,
        "enable_network_policy": a.network.project_network_isolation,
        "default_pod_security_admission_configuration_template_name": pod_security_template,
        "local_auth_endpoint": rancher2.ClusterV2LocalAuthEndpointArgs(
            enabled=ace.enabled, fqdn=ace.fqdn, ca_certs=ace.ca_certs
        ),
        "labels": a.cluster_labels() or None,
        "annotations": dict(sorted(a.annotations.items())) or None,
        "rke_config": rancher2.ClusterV2RkeConfigArgs(
            machine_global_config=rendered.global_yaml,
            machine_selector_configs=[
                # No selector = every node. Always sent: without it the provider inserts
                # protect-kernel-defaults: false, and RKE2's CIS profile then refuses to start.
                rancher2.ClusterV2RkeConfigMachineSelectorConfigArgs(config=rendered.selector_yaml)
            ],
            machine_selector_files=selector_files,
            machine_pools=machine_pools or None,
            etcd=rancher2.ClusterV2RkeConfigEtcdArgs(
                disable_snapshots=False,
                snapshot_schedule_cron=a.etcd.snapshot_schedule_cron,
                snapshot_retention=a.etcd.snapshot_retention,
                s3_config=s3_config,
            ),
            registries=registries_config(a.registries),
            upgrade_strategy=upgrade_strategy(a.upgrade),
            **rke_config_operations(a.operations),
        ),
    }


def registration_commands(a: HardenedClusterArgs, command: str) -> dict[str, str]:
    """Rancher's node command carries no role flags; per custom pool, append that pool's roles."""
    if not a.is_custom:
        return {}
    flags = {p.name: p.roles.registration_flags() for p in a.node_pools}
    return {n: f"{command} {f}" for n, f in sorted(flags.items())}


def kubeconfig_token(
    name: str,
    a: HardenedClusterArgs,
    cluster_v1_id: pulumi.Input[str],
    sync: rancher2.ClusterSync,
    parent: pulumi.Resource,
) -> rancher2.Token:
    """A dedicated, cluster-scoped token with an explicit TTL: the ClusterV2 kube_config embeds a token
    whose lifetime is whatever Rancher's kubeconfig default is."""
    return rancher2.Token(
        f"{name}-kubeconfig-token",
        cluster_id=cluster_v1_id,
        description=f"hardened-rke2 Kubernetes provider for {a.name}",
        ttl=a.kubeconfig_token_ttl_hours * 3600,
        renew=True,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[sync], additional_secret_outputs=["token", "secret_key"]
        ),
    )


def cluster_identifier(cluster: str, rancher_url: str | None) -> str:
    """A Kubernetes provider identity that outlives its credentials: the cluster's name (ForceNew on the
    ClusterV2) and the Rancher that manages it, both plain values so the identity is known in every preview.
    Never the token or anything computed: an identifier that changes (or is unknown) replaces the provider."""
    return f"rancher-cluster:{cluster}" + (f"@{rancher_url.rstrip('/')}" if rancher_url else "")


def proxy_kubeconfig(
    rancher_url: str,
    cluster_v1_id: pulumi.Input[str],
    token: pulumi.Input[str],
    cluster: str,
    ca_certs: str | None = None,
) -> pulumi.Output[str]:
    """A kubeconfig through Rancher's authenticated, audited proxy (`<url>/k8s/clusters/<id>`); `ca_certs`
    (PEM) is the private CA that signed Rancher's certificate, carried as `certificate-authority-data`."""
    base = rancher_url.rstrip("/")
    return pulumi.Output.all(cluster_v1_id, token).apply(
        lambda v: _kubeconfig(f"{base}/k8s/clusters/{v[0]}", v[1], cluster, ca_certs)
    )


class HardenedCluster(pulumi.ComponentResource):
    """A hardened RKE2 cluster managed by Rancher. See the module docstring for what it creates."""

    cluster: rancher2.ClusterV2
    cluster_id: pulumi.Output[str]
    cluster_v1_id: pulumi.Output[str]
    registration_command: pulumi.Output[str]
    """Rancher's node command (secret), without role flags."""
    kubeconfig: pulumi.Output[str]
    sync: rancher2.ClusterSync
    kubernetes_provider: k8s.Provider
    handle: ClusterHandle
    host_prep_script: str | None

    def __init__(
        self,
        name: str,
        args: HardenedClusterArgs | Mapping[str, Any],
        *,
        rancher_line: RancherLine = DEFAULT_RANCHER_LINE,
        rancher_url: str | None = None,
        rancher_ca_certs: str | None = None,
        local_kubernetes_provider: pulumi.ProviderResource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`local_kubernetes_provider`: a Kubernetes provider for Rancher's local cluster, needed (only) by
        `operations.rotateEncryptionKeys`, a patch of the provisioning Cluster there."""
        # Validate and render everything before registering anything.
        a = args if isinstance(args, HardenedClusterArgs) else HardenedClusterArgs.model_validate(args)
        if a.operations.rotate_encryption_keys is not None and local_kubernetes_provider is None:
            raise ConfigProblems.one(
                "needs a Kubernetes provider for Rancher's local cluster (the rotation is a patch of the "
                "provisioning Cluster there)",
                "pass local_kubernetes_provider= (a stack gets it from Rancher's URL: set rancher.url)",
                "operations",
                "rotateEncryptionKeys",
            )
        ca_certs = pem_certificates(rancher_ca_certs, "rancher_ca_certs") if rancher_ca_certs else None
        pins_for(rancher_line)
        rendered = render_node_config(a)
        super().__init__("hardened-rke2:cluster:HardenedCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.args = a
        cluster_deps: list[pulumi.Resource] = []

        psa = PodSecurityTemplate(f"{name}-pod-security", a.pod_security, opts=child)
        if psa.template is not None:
            cluster_deps.append(psa.template)
        audit_secret = audit_policy_secret(name, a, child)
        if audit_secret is not None:
            cluster_deps.append(audit_secret)
        credential = etcd_s3_credential(name, a, child)
        if credential is not None:
            # The cluster depends on the credential, so a destroy deletes the cluster first.
            cluster_deps.append(credential)
        machine_pools = np_mod.build_machine_pools(
            a.name, a.node_pools, self, pulumi.ResourceOptions(parent=self)
        )
        self.cluster = rancher2.ClusterV2(
            name,
            **cluster_inputs(
                a,
                rendered,
                pod_security_template=psa.template_name,
                selector_files=audit_policy_files(audit_secret),
                s3_config=etcd_s3_config(a, credential),
                machine_pools=machine_pools,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=a.protect,
                custom_timeouts=CLUSTER_TIMEOUTS,
                depends_on=cluster_deps,
                additional_secret_outputs=["cluster_registration_token", "kube_config"],
            ),
        )
        rotation = a.operations.rotate_encryption_keys
        self.encryption_key_rotation = (
            EncryptionKeyRotation(
                name,
                a.name,
                FLEET_NAMESPACE,
                rotation,
                provider=local_kubernetes_provider,
                cluster=self.cluster,
                parent=self,
            )
            if rotation is not None and local_kubernetes_provider is not None
            else None
        )
        self.cluster_id = self.cluster.id
        self.cluster_v1_id = self.cluster.cluster_v1_id
        self.registration_command = pulumi.Output.secret(
            self.cluster.cluster_registration_token.apply(lambda t: (t.node_command or "") if t else "")
        )
        self.host_prep_script = host_prep_script(fips=a.compliance.fips) if a.is_custom else None
        self.registration_commands: pulumi.Output[dict[str, str]] = pulumi.Output.secret(
            self.registration_command.apply(functools.partial(registration_commands, a))
        )
        self.sync = rancher2.ClusterSync(
            f"{name}-sync",
            cluster_id=self.cluster_v1_id,
            wait_catalogs=True,
            opts=pulumi.ResourceOptions(parent=self, custom_timeouts=CLUSTER_TIMEOUTS),
        )
        self.token = kubeconfig_token(name, a, self.cluster_v1_id, self.sync, self) if rancher_url else None
        if self.token is not None and rancher_url:
            kubeconfig = proxy_kubeconfig(rancher_url, self.cluster_v1_id, self.token.token, a.name, ca_certs)
        else:  # Rancher's URL unknown: fall back to the cluster's own (secret) kubeconfig
            kubeconfig = self.cluster.kube_config
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Without it, a kubeconfig that is unknown in preview (a renewed or replaced token) makes
            # pulumi-kubernetes replace the provider and with it every object on the cluster.
            cluster_identifier=cluster_identifier(a.name, rancher_url),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.sync]),
        )
        self.handle = ClusterHandle(
            name=a.name,
            v1_id=self.cluster_v1_id,
            ready=self.sync,
            kubernetes_version=a.kubernetes_version,
            rancher_line=rancher_line,
            network_isolation=a.network.project_network_isolation,
            rancher_url=rancher_url,
            kubernetes_provider=self.kubernetes_provider,
        )
        self.register_outputs(
            {
                "clusterId": self.cluster_id,
                "clusterV1Id": self.cluster_v1_id,
                "registrationCommand": self.registration_command,
                "kubeconfig": self.kubeconfig,
            }
        )
