"""Issue 19: what the add-ons render for the `prod` stack, checked against what the upstream charts,
operators and Kubernetes do with it on a real cluster (mocks cannot see any of this). Each test names the
upstream source that decides its expectation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from blueprint.config import StackConfigError, load_stack_config
from components.addons import AddonsArgs, ClusterAddons
from components.addons.audit_logging import AuditLoggingArgs, AuditLogShipping
from components.addons.istio import Istio, IstioArgs
from components.addons.monitoring import ClusterMonitoring, MonitoringArgs
from components.addons.neuvector import NeuVector, NeuVectorArgs
from tests.support.addons import SYSLOG_OUTPUT, apps, custom_resources, mocks, program, values
from tests.support.paths import REPO_ROOT as ROOT
from tests.support.validation import rejected_at

# --------------------------------------------------------------------------------------------------
# 1. NeuVector admission rules and the platform's own workloads
#
# NeuVector's admission control (neuvector/neuvector v5.4.9 and v5.5.3, controller/cache/admission.go:2138
# onwards, MatchK8sAdmissionRules): the built-in ("critical") allow rules first, then the CRD allow rules,
# the CRD deny rules, the user allow rules and the user deny rules; the first match decides, no match
# admits; criteria in one rule are ANDed (neuvector/docs user/pages/05.policy/03.admission/docs.md). The
# built-in allow rules (controller/kv/create.go:255-290, createDefAdmCtrlRules) cover `namespace containsAny
# kube-system,kube-public,istio-system` and NeuVector's own namespace. Criterion names and the `containsAny`
# operator: share/criteria.go:44-83.
NEUVECTOR_BUILTIN_ALLOWED = ("kube-system", "kube-public", "istio-system", "cattle-neuvector-system")


@dataclass(frozen=True)
class Workload:
    name: str
    namespace: str
    properties: frozenset[str]
    """NeuVector admission criteria the pod spec matches (runAsPrivileged, sharePidWithHost, ...)."""


def _matches(criterion: dict[str, Any], workload: Workload) -> bool:
    name, op, value = criterion["name"], criterion["op"], criterion["value"]
    if name == "namespace":
        listed = set(value.split(","))
        assert op in ("containsAny", "notContainsAny"), op
        return (workload.namespace in listed) == (op == "containsAny")
    assert op == "=" and value == "true", criterion
    return name in workload.properties


def neuvector_admits(spec: dict[str, Any], workload: Workload) -> bool:
    """The admission decision for `workload` under the rendered `NvAdmissionControlSecurityRule` spec."""
    if not spec["config"]["enable"] or workload.namespace in NEUVECTOR_BUILTIN_ALLOWED:
        return True
    rules = [r for r in spec["rules"] if not r["disabled"]]
    for rule in [r for r in rules if r["action"] == "allow"]:
        if all(_matches(c, workload) for c in rule["criteria"]):
            return True
    for rule in [r for r in rules if r["action"] == "deny"]:
        if all(_matches(c, workload) for c in rule["criteria"]):
            return spec["config"]["mode"] != "protect"
    return True


# What the blueprint installs that needs privileges, and where (chart sources of the pinned lines):
PLATFORM_WORKLOADS = (
    # rancher-compliance / security-scan: the scan job runs privileged in the host PID namespace
    Workload(
        "compliance scan job",
        "compliance-operator-system",
        frozenset({"runAsPrivileged", "sharePidWithHost", "runAsRoot"}),
    ),
    # rancher-monitoring's prometheus-node-exporter: host network and host PID
    Workload(
        "node-exporter", "cattle-monitoring-system", frozenset({"shareNetWithHost", "sharePidWithHost"})
    ),
    # rancher-logging's fluent-bit and the rke2 journald / kube-audit readers run as root
    Workload("fluent-bit", "cattle-logging-system", frozenset({"runAsRoot"})),
    # Rancher's system-upgrade-controller plans and cluster agent
    Workload(
        "system-upgrade plan",
        "cattle-system",
        frozenset({"runAsPrivileged", "sharePidWithHost", "shareIpcWithHost", "shareNetWithHost"}),
    ),
    Workload("fleet-agent", "cattle-fleet-system", frozenset({"runAsRoot"})),
    # istio-cni node agent (root, NET_ADMIN/SYS_ADMIN) in kube-system
    Workload("istio-cni", "kube-system", frozenset({"runAsRoot", "allowPrivEscalation"})),
    # NeuVector's own enforcer
    Workload(
        "neuvector enforcer", "cattle-neuvector-system", frozenset({"runAsPrivileged", "sharePidWithHost"})
    ),
)


def _prod_addons() -> AddonsArgs:
    config = load_stack_config(_prod_values())
    return config.addons


def _prod_values() -> dict[str, Any]:
    import yaml

    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    return {k.removeprefix("hardened-rke2:"): v for k, v in raw.items()}


def _admission_spec(mock_run, addons: AddonsArgs) -> dict[str, Any]:
    run = mock_run(program(lambda h: ClusterAddons("addons", addons, h)), mocks=mocks())
    (rule,) = custom_resources(run, "NvAdmissionControlSecurityRule")
    return rule.inputs["spec"]


@pytest.mark.parametrize("workload", PLATFORM_WORKLOADS, ids=lambda w: w.name)
def test_neuvector_protect_mode_admits_every_platform_workload(mock_run, workload: Workload) -> None:
    addons = _prod_addons()
    assert addons.neuvector.admission.mode == "protect"
    spec = _admission_spec(mock_run, addons)
    assert neuvector_admits(spec, workload), f"{workload.name} in {workload.namespace} would be denied"


@pytest.mark.parametrize("workload", PLATFORM_WORKLOADS, ids=lambda w: w.name)
def test_neuvector_denies_a_team_workload_with_the_same_privileges(mock_run, workload: Workload) -> None:
    spec = _admission_spec(mock_run, _prod_addons())
    team = Workload(f"team copy of {workload.name}", "team-payments", workload.properties)
    assert not neuvector_admits(spec, team)


def test_neuvector_exempts_exactly_the_platform_namespace_list(mock_run) -> None:
    addons = _prod_addons()
    spec = _admission_spec(mock_run, addons)
    allow = [r for r in spec["rules"] if r["action"] == "allow"]
    assert len(allow) == 1
    exempt = allow[0]["criteria"][0]["value"].split(",")
    from components.addons import platform_namespaces

    assert tuple(exempt) == platform_namespaces(addons, "2.13")
    assert set(exempt) == {
        "kube-system",
        "cattle-system",
        "cattle-fleet-system",
        "cattle-monitoring-system",
        "cattle-neuvector-system",
        "compliance-operator-system",
        "cattle-logging-system",
    }


def test_platform_namespaces_follow_the_enabled_addons() -> None:
    from components.addons import platform_namespaces

    base = AddonsArgs.model_validate({"auditLogging": {"enabled": False}, "compliance": {"enabled": False}})
    assert "cattle-logging-system" not in platform_namespaces(base, "2.13")
    assert "cis-operator-system" in platform_namespaces(
        AddonsArgs.model_validate({"auditLogging": {"output": SYSLOG_OUTPUT}}), "2.11"
    )


# --------------------------------------------------------------------------------------------------
# 2. Istio gateway Service type vs what the cluster has
# helm pkg/kube/ready.go `serviceReady`: a LoadBalancer Service without externalIPs is ready only once
# `status.loadBalancer.ingress` is set; Rancher apps install with wait, so without a load-balancer
# implementation the install times out and is rolled back.


def test_gateway_service_type_is_an_explicit_setting() -> None:
    with pytest.raises(ValidationError, match="serviceType: the gateway needs an explicit Service type"):
        IstioArgs.model_validate({"enabled": True, "gateway": {"enabled": True}})


def test_loadbalancer_gateway_without_a_load_balancer_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"LoadBalancer needs a load-balancer"):
        AddonsArgs.model_validate(
            {
                "auditLogging": {"output": SYSLOG_OUTPUT},
                "istio": {"enabled": True, "gateway": {"enabled": True, "serviceType": "LoadBalancer"}},
            }
        )


def test_gateway_keeps_the_sysctl_that_lets_it_bind_80_and_443(mock_run) -> None:
    # istio 1.28.0 manifests/charts/gateway/templates/deployment.yaml:53-61: a `securityContext` value
    # replaces the chart's pod securityContext, whose only content is this sysctl; the proxy runs as 1337.
    gateway = {"enabled": True, "serviceType": "NodePort"}
    args = IstioArgs.model_validate({"enabled": True, "gateway": gateway})
    v = values(apps(mock_run(program(lambda h: Istio("istio", args, h)), mocks=mocks()))["gateway"])
    assert {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"} in v["securityContext"]["sysctls"]
    assert v["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def _stack(
    extra_config: dict[str, Any] | None = None,
    gateway_type: str = "LoadBalancer",
    cluster_facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    values = _prod_values()
    rke2 = {**values["cluster"]["rke2"], "extraConfig": extra_config or {}}
    addons = {
        **values["addons"],
        "istio": {"enabled": True, "gateway": {"enabled": True, "serviceType": gateway_type}},
    }
    if cluster_facts is not None:
        addons["cluster"] = cluster_facts
    return {**values, "cluster": {**values["cluster"], "rke2": rke2}, "addons": addons}


def test_prod_stack_reports_a_loadbalancer_gateway_on_vsphere_without_servicelb() -> None:
    with pytest.raises(StackConfigError, match=r"addons\.istio\.gateway\.serviceType: LoadBalancer needs"):
        load_stack_config(_stack())


@pytest.mark.parametrize(
    ("extra", "facts", "expected"),
    [
        ({"enable-servicelb": True}, None, "serviceLB"),
        ({"cloud-provider-name": "aws"}, None, "cloudProvider"),
        ({"cloud-provider-name": "rancher-vsphere"}, {"loadBalancer": "external"}, "external"),
    ],
)
def test_loadbalancer_gateway_where_the_cluster_has_one(extra, facts, expected) -> None:
    values_ = _stack(extra, cluster_facts=facts)
    # `enable-servicelb` is on Rancher's confirmed allow-list for 1.33 (components/data/rke2_keys.json)
    values_["cluster"] = {**values_["cluster"], "kubernetesVersion": "v1.33.5+rke2r1"}
    config = load_stack_config(values_)
    assert config.addons.cluster.load_balancer == expected


def test_prod_gateway_is_a_nodeport_behind_the_existing_load_balancer(mock_run) -> None:
    addons = _prod_addons()
    run = mock_run(program(lambda h: ClusterAddons("addons", addons, h)), mocks=mocks())
    assert values(apps(run)["gateway"])["service"]["type"] == "NodePort"


# --------------------------------------------------------------------------------------------------
# 5. SELinux: every add-on follows the cluster's setting (prod: cluster.rke2.selinux: true)


def test_selinux_is_derived_from_the_cluster_and_cannot_disagree() -> None:
    assert _prod_addons().cluster.selinux is True
    values_ = _prod_values()
    values_["addons"] = {**values_["addons"], "cluster": {"selinux": False}}
    with pytest.raises(StackConfigError, match=r"addons\.cluster\.selinux: must follow the cluster"):
        load_stack_config(values_)


def test_prod_addons_render_their_selinux_settings(mock_run) -> None:
    run = mock_run(program(lambda h: ClusterAddons("addons", _prod_addons(), h)), mocks=mocks())
    a = apps(run)
    # rancher/charts rancher-logging 104.1.0+up4.8.0 templates/_generic_fluentbitagent.yaml:27-30 and
    # loggings/rke2/daemonset.yaml:23-26: rke_logreader_t only with global.seLinux.enabled.
    assert values(a["rancher-logging"])["global"]["seLinux"] == {"enabled": True}
    # rancher-monitoring 104.1.2+up57.0.3 charts/*/templates/pushprox-clients.yaml:141
    assert values(a["rancher-monitoring"])["global"]["seLinux"] == {"enabled": True}
    # istio 1.28.0 manifests/charts/istio-cni/templates/daemonset.yaml:107 (privileged: false) and
    # :135-137 (seLinuxOptions merged with type spc_t): without it, container_t cannot write /opt/cni/bin.
    assert values(a["cni"])["seLinuxOptions"] == {"type": "spc_t"}


@pytest.mark.parametrize("selinux", [False, True])
def test_components_built_directly_take_selinux(mock_run, selinux: bool) -> None:
    def build(h: Any) -> None:
        Istio("istio", IstioArgs(enabled=True), h, selinux=selinux)
        logging = AuditLoggingArgs.model_validate({"output": SYSLOG_OUTPUT})
        AuditLogShipping("audit", logging, h, selinux=selinux)
        ClusterMonitoring("mon", MonitoringArgs(enabled=True), h, selinux=selinux)

    a = apps(mock_run(program(build), mocks=mocks()))
    assert ("seLinuxOptions" in values(a["cni"])) is selinux
    assert values(a["rancher-logging"])["global"]["seLinux"]["enabled"] is selinux
    assert values(a["rancher-monitoring"])["global"]["seLinux"]["enabled"] is selinux


# --------------------------------------------------------------------------------------------------
# 6. istiod HA (istio manifests/charts/istio-control/istio-discovery): values.yaml:4-8 (autoscale on,
# min 1; all three pinned versions), templates/deployment.yaml (replicas only when autoscaling is off),
# autoscale.yaml (minReplicas = autoscaleMin). The PDB differs: 1.26.2 and 1.27.1 create it whenever
# global.defaultPodDisruptionBudget.enabled (minAvailable 1; with one replica it blocks every drain), 1.28.0
# only when autoscaleMin > 1 (or, without autoscaling, replicaCount > 1), poddisruptionbudget.yaml:6.


def chart_replicas_and_pdb(v: dict[str, Any], version: str) -> tuple[int, int | None]:
    """What the istiod chart renders from the values: (minimum replicas, PDB minAvailable or None)."""
    defaults = {"autoscaleEnabled": True, "autoscaleMin": 1, "replicaCount": 1}
    merged = {**defaults, **{k: v[k] for k in defaults if k in v}}
    pdb_on = v.get("global", {}).get("defaultPodDisruptionBudget", {}).get("enabled", True)
    replicas = merged["autoscaleMin"] if merged["autoscaleEnabled"] else merged["replicaCount"]
    min_available = v.get("pdb", {}).get("minAvailable", 1) if version != "1.26.2" else 1
    if version in ("1.26.2", "1.27.1"):
        return replicas, (min_available if pdb_on else None)
    return replicas, (min_available if pdb_on and replicas > 1 else None)


@pytest.mark.parametrize("line", ["2.11", "2.12", "2.13"])
def test_istiod_runs_two_replicas_with_a_pdb_that_allows_a_drain(mock_run, line: str) -> None:
    from components.versions import pins_for

    run = mock_run(program(lambda h: Istio("istio", IstioArgs(enabled=True), h), line=line), mocks=mocks())
    v = values(apps(run)["istiod"])
    replicas, min_available = chart_replicas_and_pdb(v, pins_for(line).istio)
    assert replicas >= 2
    assert min_available is not None and min_available < replicas


def test_istiod_replicas_cannot_drop_below_two() -> None:
    one = {"enabled": True, "istiodReplicas": 1}
    problems = rejected_at(lambda: IstioArgs.model_validate(one), "istiodReplicas")
    assert any("greater than or equal to 2" in p for p in problems), problems


# --------------------------------------------------------------------------------------------------
# 8. istio-system is enforced: istiod meets restricted; the namespace says so; the pack does not exempt it.


def test_istiod_meets_the_restricted_level(mock_run) -> None:
    run = mock_run(program(lambda h: Istio("istio", IstioArgs(enabled=True), h)), mocks=mocks())
    # restricted needs a seccomp profile; the istiod chart's default is `seccompProfile: {}`
    # (istio 1.28.0 istio-discovery values.yaml:26); its containers already drop ALL and run as non-root.
    assert values(apps(run)["istiod"])["seccompProfile"] == {"type": "RuntimeDefault"}


def test_prod_pod_security_enforces_istio_system_and_exempts_the_platform(mock_run) -> None:
    config = load_stack_config(_prod_values())
    custom = config.cluster.pod_security.custom
    assert custom is not None and custom.enforce == "restricted"
    exempt = {e.namespace for e in custom.exemptions}
    assert "istio-system" not in exempt
    from components.addons import platform_namespaces

    assert exempt == set(platform_namespaces(config.addons, config.rancher.line))


def test_istio_with_rancher_restricted_is_reported() -> None:
    # rancher/rancher pkg/data/management/podadmissionconfigurationtemplate_data.go:31 exempts istio-system.
    values_ = _prod_values()
    values_["cluster"] = {**values_["cluster"], "podSecurity": {"template": "rancher-restricted"}}
    with pytest.raises(StackConfigError, match=r"cluster\.podSecurity: rancher-restricted exempts istio-sy"):
        load_stack_config(values_)


def test_custom_template_must_exempt_the_platform_and_not_istio_system() -> None:
    values_ = _prod_values()
    custom = dict(values_["cluster"]["podSecurity"]["custom"])
    custom["exemptions"] = [e for e in custom["exemptions"] if e["namespace"] != "cattle-monitoring-system"]
    custom["exemptions"].append({"namespace": "istio-system", "reason": "the mesh control plane namespace"})
    values_["cluster"] = {**values_["cluster"], "podSecurity": {"custom": custom}}
    with pytest.raises(StackConfigError) as err:
        load_stack_config(values_)
    text = str(err.value)
    assert "exempts istio-system" in text
    assert "run in cattle-monitoring-system, which the template does not exempt" in text


def test_pack_does_not_exempt_istio_system() -> None:
    import ast

    framework = ROOT / "policy-packs" / "nsa-cisa-hardening" / "nsa_cisa" / "framework.py"
    tree = ast.parse(framework.read_text())
    (node,) = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(getattr(t, "id", "") == "DEFAULT_EXEMPT_NAMESPACES" for t in n.targets)
    ]
    assert "istio-system" not in ast.literal_eval(node.value)


# --------------------------------------------------------------------------------------------------
# 3 + 4 (log outputs) are in test_audit_logging.py (CA bundles with mountFrom; Elasticsearch/OpenSearch
# `user` a string), with the logging-operator 4.10.0 sources.


def test_neuvector_direct_default_exempts_its_own_and_the_base_namespaces(mock_run) -> None:
    run = mock_run(program(lambda h: NeuVector("nv", NeuVectorArgs(), h)), mocks=mocks())
    (rule,) = custom_resources(run, "NvAdmissionControlSecurityRule")
    exempt = rule.inputs["spec"]["rules"][0]["criteria"][0]["value"].split(",")
    assert {"cattle-neuvector-system", "cattle-system", "kube-system"} <= set(exempt)
