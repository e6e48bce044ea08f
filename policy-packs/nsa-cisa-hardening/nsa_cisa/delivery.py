"""Delivery and mesh resources: Fleet GitRepo / GitRepoRestriction, Istio PeerAuthentication and the
add-on charts Rancher installs (`rancher2` AppV2).

Fleet objects are `apiextensions.CustomResource`s (type `kubernetes:fleet.cattle.io/v1alpha1:GitRepo`);
GitRepoRestriction keeps its fields at the top level of the object (some tools put them under `spec`:
both are read).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from nsa_cisa import rke2_parsing as rp
from nsa_cisa.declare import PolicyGroup
from nsa_cisa.framework import check_validator
from nsa_cisa.render import safe_repr

GITREPO = "kubernetes:fleet.cattle.io/v1alpha1:GitRepo"
GITREPO_RESTRICTION = "kubernetes:fleet.cattle.io/v1alpha1:GitRepoRestriction"
PEER_AUTHN_TYPES = (
    "kubernetes:security.istio.io/v1:PeerAuthentication",
    "kubernetes:security.istio.io/v1beta1:PeerAuthentication",
)
APP_V2 = "rancher2:index/appV2:AppV2"
NV_ADMISSION_RULE = "kubernetes:neuvector.com/v1:NvAdmissionControlSecurityRule"
LOG_OUTPUT_TYPES = (
    "kubernetes:logging.banzaicloud.io/v1beta1:ClusterOutput",
    "kubernetes:logging.banzaicloud.io/v1beta1:Output",
)
ALERTMANAGER_CONFIG_TYPES = (
    "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig",
    "kubernetes:monitoring.coreos.com/v1beta1:AlertmanagerConfig",
)
CATALOG_V2 = "rancher2:index/catalogV2:CatalogV2"

FLEET_URL = "https://fleet.rancher.io/ref-gitrepo"
FLEET_RESTRICTION_URL = "https://fleet.rancher.io/namespaces#restricting-gitrepos"
ISTIO_PA_URL = "https://istio.io/latest/docs/reference/config/security/peer_authentication/"
ISTIO_EGRESS_URL = "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/"
LOGGING_OUTPUT_URL = "https://kube-logging.dev/docs/configuration/plugins/outputs/"
ALERTMANAGER_CONFIG_URL = "https://prometheus-operator.dev/docs/api-reference/api/"
NEUVECTOR_URL = "https://open-docs.neuvector.com/deploying/rancher"

Report = Callable[..., None]

# Fleet, Istio, NeuVector, logging and monitoring objects: pure checks of their props; exempt namespaces
# do not apply (they are platform objects, not team workloads).
GROUP = PolicyGroup(__name__, honor_exempt_namespaces=False, adapt=check_validator)

_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:[^/].*|^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:/.+")


def repo_url_problem(url: Any) -> str | None:
    """Why a Git URL is not an authenticated, encrypted transport (https or ssh), or None."""
    if not isinstance(url, str) or not url.strip():
        return "spec.repo is not set"
    text = url.strip()
    low = text.lower()
    if low.startswith("https://") or low.startswith("ssh://"):
        return None
    if "://" not in text and _SCP_LIKE.match(text):
        return None  # scp-like ssh syntax: git@github.com:org/repo.git
    scheme = low.split("://", 1)[0] if "://" in low else "(none)"
    return (
        f"spec.repo {safe_repr(text)} uses scheme {scheme}: only https:// and ssh (ssh:// or git@host:path) "
        "authenticate the server and encrypt the transfer"
    )


# ---------------------------------------------------------------------------------------- Fleet


@GROUP.policy(
    name="fleet-gitrepo-tls-verify",
    description="Fleet verifies the Git server's TLS certificate.",
    severity="high",
    nsa=("NSA-2.17", "NSA-1.8"),
    section="network",
    resource_types=[GITREPO],
    url=FLEET_URL,
    remediation_steps="Remove spec.insecureSkipTLSVerify; give spec.caBundle for a private CA.",
)
def check_gitrepo_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    spec = props.get("spec")
    if rp.as_bool(rp.dig(spec, "insecureSkipTLSVerify")) is True:
        return [
            "spec.insecureSkipTLSVerify is true: Fleet would accept any certificate for the Git server, "
            "so anyone on the path can feed it manifests; use caBundle for a private CA"
        ]
    return []


@GROUP.policy(
    name="fleet-gitrepo-secure-url",
    description="Fleet pulls from https:// or ssh Git URLs only.",
    severity="high",
    nsa=("NSA-2.17", "NSA-1.8"),
    section="network",
    resource_types=[GITREPO],
    url=FLEET_URL,
    remediation_steps="Use an https:// or ssh URL for spec.repo (with clientSecretName).",
)
def check_gitrepo_url(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = []
    problem = repo_url_problem(rp.dig(props.get("spec"), "repo"))
    if problem:
        out.append(problem)
    helm_regex = rp.dig(props.get("spec"), "helmRepoURLRegex")
    if isinstance(helm_regex, str) and helm_regex.lower().startswith("http:"):
        out.append(
            f"spec.helmRepoURLRegex {safe_repr(helm_regex)} sends Helm credentials to plain-HTTP repositories"
        )
    return out


@GROUP.policy(
    name="fleet-gitrepo-pinned-or-drift-corrected",
    description="Fleet deploys a pinned revision or corrects drift.",
    severity="low",
    nsa=("NSA-1.8", "NSA-5.4"),
    section="upgrades",
    enforcement_level="advisory",
    resource_types=[GITREPO],
    url=FLEET_URL,
    remediation_steps="Set spec.revision to a commit/tag, or spec.correctDrift.enabled: true.",
)
def check_gitrepo_pinned(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    spec = props.get("spec")
    revision = rp.dig(spec, "revision")
    drift = rp.as_bool(rp.dig(spec, "correctDrift.enabled"))
    if (isinstance(revision, str) and revision.strip()) or drift is True:
        return []
    return [
        "neither a pinned spec.revision nor spec.correctDrift.enabled: what runs follows a moving branch "
        "and manual changes on the clusters are never reverted; pin a revision or turn on drift correction"
    ]


@GROUP.policy(
    name="fleet-gitrepo-service-account",
    description="Fleet deploys with a named least-privilege service account.",
    severity="medium",
    nsa=("NSA-1.21", "NSA-3.4"),
    section="authn-authz",
    enforcement_level="advisory",
    resource_types=[GITREPO],
    url=FLEET_URL,
    remediation_steps="Set spec.serviceAccount (or the workspace GitRepoRestriction's "
    "defaultServiceAccount).",
)
def check_gitrepo_service_account(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    sa = rp.dig(props.get("spec"), "serviceAccount")
    if isinstance(sa, str) and sa.strip():
        return []
    return [
        "spec.serviceAccount is not set: bundles are applied with the Fleet agent's cluster-admin identity "
        "unless the workspace's GitRepoRestriction sets defaultServiceAccount; name a least-privilege "
        "service account"
    ]


def restriction_field(props: Mapping[str, Any], field: str) -> Any:
    value = props.get(field)
    if value is None:
        value = rp.dig(props.get("spec"), field)
    return value


_MATCH_ALL = {".*", "^.*$", ".+", "^.+$", "^.*", ".*$", "(.*)"}


@GROUP.policy(
    name="fleet-gitrepo-restriction-scoped",
    description="A GitRepoRestriction limits repositories and deploy identities.",
    severity="medium",
    nsa=("NSA-1.8", "NSA-3.4"),
    section="authn-authz",
    enforcement_level="advisory",
    resource_types=[GITREPO_RESTRICTION],
    url=FLEET_RESTRICTION_URL,
    remediation_steps="List allowedRepoPatterns for the team's repositories (https/ssh) and "
    "allowedServiceAccounts or defaultServiceAccount.",
)
def check_restriction_scoped(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    out = []
    patterns = restriction_field(props, "allowedRepoPatterns")
    if not rp.is_list(patterns) or len(patterns) == 0:
        out.append("allowedRepoPatterns is empty: GitRepos in this workspace may pull from any repository")
    else:
        broad = [p for p in patterns if isinstance(p, str) and p.strip() in _MATCH_ALL]
        if broad:
            out.append(f"allowedRepoPatterns {broad} match every repository")
        plain = [p for p in patterns if isinstance(p, str) and re.search(r"(^|\^)(http|git)://", p)]
        if plain:
            out.append(f"allowedRepoPatterns {plain} allow unencrypted Git transports")
    sas = restriction_field(props, "allowedServiceAccounts")
    default_sa = restriction_field(props, "defaultServiceAccount")
    if not (rp.is_list(sas) and len(sas) > 0) and not (isinstance(default_sa, str) and default_sa.strip()):
        out.append(
            "neither allowedServiceAccounts nor defaultServiceAccount is set: bundles may deploy with the "
            "Fleet agent's cluster-admin identity"
        )
    return out


# ---------------------------------------------------------------------------------------- Istio


def selects_all_workloads(selector: Any) -> bool:
    """An absent selector, or one without match labels, applies to every workload of the namespace."""
    labels = rp.dig(selector, "matchLabels")
    return not (rp.is_mapping(labels) and len(labels) > 0)


@GROUP.policy(
    name="istio-peer-authentication-strict",
    description="Istio PeerAuthentication never allows plaintext (no PERMISSIVE or DISABLE; the mesh-wide "
    "policy is STRICT).",
    severity="high",
    nsa=("NSA-4.7", "NSA-2.17"),
    section="logging",
    resource_types=PEER_AUTHN_TYPES,
    url=ISTIO_PA_URL,
    config_schema={
        "istioRootNamespace": {
            "type": "string",
            "default": "istio-system",
            "description": "Istio's root namespace (mesh-wide policies).",
        }
    },
    remediation_steps="Set spec.mtls.mode: STRICT (and on every portLevelMtls entry).",
)
def check_peer_authentication(props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    root = cfg.get("istioRootNamespace") or "istio-system"
    spec = props.get("spec")
    mode = rp.dig(spec, "mtls.mode")
    out = []
    if mode in ("PERMISSIVE", "DISABLE"):
        out.append(f"mtls.mode {mode}: workloads accept plaintext traffic; use STRICT")
    elif mode is not None and mode not in ("STRICT", "UNSET"):
        out.append(f"mtls.mode {safe_repr(mode)} is not an Istio mTLS mode (use STRICT)")
    ports = rp.dig(spec, "portLevelMtls")
    if rp.is_mapping(ports):
        for port, setting in ports.items():
            pmode = rp.dig(setting, "mode")
            if pmode in ("PERMISSIVE", "DISABLE"):
                out.append(f"portLevelMtls[{port}].mode {pmode}: that port accepts plaintext traffic")
    namespace = rp.dig(props, "metadata.namespace")
    selector = rp.dig(spec, "selector")
    mesh_wide = namespace == root and selects_all_workloads(selector)
    if mesh_wide and mode in (None, "UNSET"):
        out.append(
            f"the mesh-wide PeerAuthentication in {root} leaves mtls.mode unset, which means "
            "PERMISSIVE; set STRICT"
        )
    return out


# ---------------------------------------------------------------------------------------- catalogs


@GROUP.policy(
    name="rancher-catalog-tls",
    description="Rancher chart repositories are fetched over verified TLS.",
    severity="high",
    nsa=("NSA-1.8", "NSA-2.17"),
    section="network",
    resource_types=[CATALOG_V2],
    url="https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/helm-charts-in-rancher",
    remediation_steps="Use an https:// or oci:// url (or an https/ssh gitRepo), keep insecure and "
    "insecurePlainHttp false, give caBundle for a private CA.",
)
def check_catalog_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    """A Rancher chart repository (CatalogV2, Helm `url` or `gitRepo`) is fetched over verified TLS."""
    out = []
    if rp.as_bool(props.get("insecure")) is True:
        out.append("insecure is true: chart downloads skip TLS verification; give caBundle for a private CA")
    if rp.as_bool(props.get("insecurePlainHttp")) is True:
        out.append("insecurePlainHttp is true: charts (and the images they name) are fetched over plain HTTP")
    url = props.get("url")
    if isinstance(url, str) and url.strip().lower().startswith("http://"):
        out.append(f"url {url} is plain HTTP: use https:// (or an oci:// registry over TLS)")
    git = props.get("gitRepo")
    if isinstance(git, str) and git.strip():
        problem = repo_url_problem(git)
        if problem:
            out.append(problem.replace("spec.repo", "gitRepo"))
    return out


# ---------------------------------------------------------------------------------------- add-ons


@GROUP.policy(
    name="neuvector-bootstrap-password",
    description="NeuVector is installed with a bootstrap password, not the default admin password.",
    severity="critical",
    nsa=("NSA-3.2",),
    section="authn-authz",
    resource_types=[APP_V2],
    url=NEUVECTOR_URL,
    remediation_steps="Set values.bootstrapPassword from a generated Pulumi secret.",
)
def check_neuvector_password(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("chartName") != "neuvector":
        return []
    values, err = rp.load_values(props.get("values"))
    if err:
        return [f"values: {err}"]
    if not any(k == "bootstrapPassword" for k in values):
        return [
            "neuvector values do not set bootstrapPassword: the console starts with the well-known default "
            "admin password; pass a generated password as a Pulumi secret"
        ]
    return []


@GROUP.policy(
    name="istio-outbound-registry-only",
    description="Istio sidecars reach only registered external services (outboundTrafficPolicy "
    "REGISTRY_ONLY).",
    severity="medium",
    nsa=("NSA-2.5",),
    section="network",
    enforcement_level="advisory",
    resource_types=[APP_V2],
    url=ISTIO_EGRESS_URL,
    remediation_steps="Set istiod values meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY (the "
    "blueprint's default; addons.istio.outboundTrafficPolicy) and add ServiceEntries for allowed external "
    "hosts.",
)
def check_istio_outbound(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("chartName") != "istiod":
        return []
    values, err = rp.load_values(props.get("values"))
    if err:
        return [f"values: {err}"]
    mode = rp.dig(values, "meshConfig.outboundTrafficPolicy.mode")
    if mode == "REGISTRY_ONLY":
        return []
    shown = f"is {safe_repr(mode)}" if mode is not None else "is not set (Istio's default: ALLOW_ANY)"
    return [
        f"istiod values meshConfig.outboundTrafficPolicy.mode {shown}: sidecars pass traffic to any "
        "external host; use REGISTRY_ONLY and declare external services with ServiceEntries"
    ]


@GROUP.policy(
    name="neuvector-admission-protect",
    description="NeuVector admission control is on and in protect mode (its deny rules block, not only log).",
    severity="medium",
    nsa=("NSA-4.8",),
    section="logging",
    enforcement_level="advisory",
    resource_types=[NV_ADMISSION_RULE],
    url=NEUVECTOR_URL,
    remediation_steps="Set spec.config.enable: true and spec.config.mode: protect "
    "(addons.neuvector.admission.mode: protect).",
)
def check_neuvector_admission(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    config = rp.dig(props, "spec.config")
    if not rp.is_mapping(config):
        return []
    out = []
    if rp.as_bool(config.get("enable")) is False:
        out.append("spec.config.enable is false: NeuVector admission control is off")
    mode = config.get("mode")
    if mode is not None and mode != "protect":
        out.append(f"spec.config.mode is {safe_repr(mode)}: admission rules only log; 'protect' denies")
    return out


# Output plugin settings that turn TLS server verification off (kube-logging output plugins).
_LOG_OUTPUT_INSECURE: Mapping[str, tuple[tuple[str, str], ...]] = {
    "syslog": (("insecure", "true"), ("verify_fqdn", "false")),
    "elasticsearch": (("ssl_verify", "false"),),
    "opensearch": (("ssl_verify", "false"),),
    "splunkHec": (("insecure_ssl", "true"),),
    "http": (("tls_verify_mode", "none"),),
}


@GROUP.policy(
    name="log-output-tls-verified",
    description="Log shipping outputs verify the receiver's TLS certificate.",
    severity="high",
    nsa=("NSA-4.4", "NSA-2.17"),
    section="logging",
    resource_types=LOG_OUTPUT_TYPES,
    url=LOGGING_OUTPUT_URL,
    remediation_steps="Remove syslog insecure / verify_fqdn: false (and ssl_verify: false, insecure_ssl, "
    "tls_verify_mode: none); trust a private CA instead (addons.auditLogging.output.caBundle).",
)
def check_log_output_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    spec = props.get("spec")
    if not rp.is_mapping(spec):
        return []
    out = []
    for plugin, settings in _LOG_OUTPUT_INSECURE.items():
        block = spec.get(plugin)
        if not rp.is_mapping(block):
            continue
        for key, bad in settings:
            value = block.get(key)
            if isinstance(value, (bool, str)) and str(value).strip().lower() == bad:
                out.append(
                    f"spec.{plugin}.{key} is {bad}: the log shipper does not verify the receiver's "
                    "certificate, so audit logs can be read or altered on the way"
                )
    return out


@GROUP.policy(
    name="alert-receiver-tls-verified",
    description="Alertmanager receivers verify the receiver's TLS certificate.",
    severity="high",
    nsa=("NSA-4.8", "NSA-2.17"),
    section="logging",
    resource_types=ALERTMANAGER_CONFIG_TYPES,
    url=ALERTMANAGER_CONFIG_URL,
    remediation_steps="Remove httpConfig.tlsConfig.insecureSkipVerify "
    "(addons.monitoring.receiver.insecureSkipTlsVerify); trust the receiver's CA instead.",
)
def check_alertmanager_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    receivers = rp.dig(props, "spec.receivers")
    out = []
    for i, receiver in enumerate(receivers if rp.is_list(receivers) else []):
        if not rp.is_mapping(receiver):
            continue
        for kind, configs in receiver.items():
            for j, config in enumerate(configs if kind.endswith("Configs") and rp.is_list(configs) else []):
                skip = rp.dig(config, "httpConfig.tlsConfig.insecureSkipVerify")
                if rp.as_bool(skip) is True:
                    out.append(
                        f"spec.receivers[{i}].{kind}[{j}].httpConfig.tlsConfig.insecureSkipVerify is true: "
                        "alerts (and the receiver's credential) go to an unverified server"
                    )
    return out


@GROUP.policy(
    name="addon-chart-supported",
    description="Add-on charts are ones Rancher still maintains (no rancher-istio).",
    severity="medium",
    nsa=("NSA-5.1", "NSA-5.4"),
    section="upgrades",
    enforcement_level="advisory",
    resource_types=[APP_V2],
    url=ISTIO_PA_URL,
    remediation_steps="Replace rancher-istio with Istio's upstream charts (base, istiod, cni).",
)
def check_deprecated_addon(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    chart = props.get("chartName")
    if chart == "rancher-istio":
        return [
            "rancher-istio is deprecated in Rancher 2.12 and removed in 2.13 (no further security fixes): "
            "install Istio's upstream base/istiod/cni charts"
        ]
    return []


HELM_CHART_TYPES = (
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v3:Chart",
    "kubernetes:helm.sh/v4:Chart",
)


@GROUP.policy(
    name="helm-chart-repository-tls",
    description="Helm charts the stack installs are fetched over TLS (https:// or oci://), not plain HTTP.",
    severity="high",
    nsa=("NSA-1.8", "NSA-2.17"),
    section="network",
    resource_types=list(HELM_CHART_TYPES),
    url="https://helm.sh/docs/topics/chart_repository/",
    remediation_steps="Use an https:// (or oci://) chart repository, e.g. an HTTPS mirror; for the "
    "management stack remove allowPlainHttpChartRepositories.",
)
def check_helm_repository_tls(props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    """A Helm Release/Chart's repository (`repositoryOpts.repo`, v3 Chart `fetchOpts.repo`) or chart URL
    is not plain HTTP."""
    out = []
    for where in ("repositoryOpts.repo", "fetchOpts.repo", "repo", "chart"):
        url = rp.dig(props, where)
        if isinstance(url, str) and url.strip().lower().startswith("http://"):
            out.append(
                f"{where} {url.strip()[:200]} is plain HTTP: the chart (and the images it names) can be "
                "replaced in transit; use https:// or oci://"
            )
    return out
