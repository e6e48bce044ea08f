"""No policy raises on malformed input: thousands of random and garbled props, through the analyzer.

Each example is a small stack of resources (so resource AND stack policies see it) whose props are
either random JSON-like trees over Kubernetes/Rancher field names, or valid resources with random
subtrees replaced by garbage or by values unknown during preview. The pack must answer every request;
no policy may fall back to the framework's safety net ("could not evaluate the input"), which would mean
it raised on the input.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardened_rke2.analysis.testing import UNKNOWN, analyze_stack
from tests.support.paths import PACK_DIR
from tests.support.policy_builders import POD_TYPES, restricted_spec, wrap

RESOURCE_TYPES = [
    *POD_TYPES.values(),
    "kubernetes:apps/v1:DeploymentPatch",
    "kubernetes:batch/v1:CronJobPatch",
    "kubernetes:core/v1:Namespace",
    "rancher2:index/namespace:Namespace",
    "rancher2:index/project:Project",
    "kubernetes:core/v1:Service",
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:core/v1:LimitRange",
    "kubernetes:core/v1:ResourceQuota",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    # other modules' resource types: every policy of the pack is fuzzed, not only these modules'
    "rancher2:index/clusterV2:ClusterV2",
    "rancher2:index/podSecurityAdmissionConfigurationTemplate:PodSecurityAdmissionConfigurationTemplate",
    "rancher2:index/setting:Setting",
    "rancher2:index/authConfigGenericOidc:AuthConfigGenericOidc",
    "rancher2:index/appV2:AppV2",
    "rancher2:index/globalRole:GlobalRole",
    "rancher2:index/roleTemplate:RoleTemplate",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:fleet.cattle.io/v1alpha1:GitRepo",
    "kubernetes:security.istio.io/v1:PeerAuthentication",
    "rancher2:index/machineConfigV2:MachineConfigV2",
    "kubernetes:neuvector.com/v1:NvAdmissionControlSecurityRule",
    "kubernetes:logging.banzaicloud.io/v1beta1:ClusterOutput",
    "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig",
    "rancher2:index/authConfigOpenLdap:AuthConfigOpenLdap",
    "pulumi:providers:rancher2",
]

FIELD_NAMES = [
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "template",
    "jobTemplate",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "securityContext",
    "capabilities",
    "add",
    "drop",
    "privileged",
    "allowPrivilegeEscalation",
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "supplementalGroups",
    "seccompProfile",
    "appArmorProfile",
    "seLinuxOptions",
    "type",
    "user",
    "role",
    "procMount",
    "sysctls",
    "windowsOptions",
    "hostProcess",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "os",
    "volumes",
    "hostPath",
    "nfs",
    "emptyDir",
    "ports",
    "hostPort",
    "livenessProbe",
    "httpGet",
    "tcpSocket",
    "host",
    "lifecycle",
    "postStart",
    "image",
    "env",
    "value",
    "valueFrom",
    "resources",
    "limits",
    "requests",
    "readOnlyRootFilesystem",
    "automountServiceAccountToken",
    "data",
    "binaryData",
    "rules",
    "verbs",
    "resources",
    "apiGroups",
    "resourceNames",
    "roleRef",
    "subjects",
    "podSelector",
    "policyTypes",
    "ingress",
    "egress",
    "to",
    "ipBlock",
    "cidr",
    "except",
    "tls",
    "hosts",
    "externalIPs",
    "rkeConfig",
    "machineGlobalConfig",
    "machineSelectorConfigs",
    "config",
    "values",
    "kubernetesVersion",
    "defaultPodSecurityAdmissionConfigurationTemplateName",
    "resourceQuota",
    "containerResourceLimit",
    "projectId",
    "policy.hardened-rke2.io/exemptions",
    "exemptions",
    "__target",
    # MachineConfigV2 driver blocks and the driver fields the node-driver policies read
    "generateName",
    "amazonec2Config",
    "azureConfig",
    "digitaloceanConfig",
    "googleConfig",
    "harvesterConfig",
    "linodeConfig",
    "nutanixConfig",
    "openstackConfig",
    "vsphereConfig",
    "httpEndpoint",
    "httpTokens",
    "encryptEbsVolume",
    "privateAddressOnly",
    "ipv6AddressCount",
    "ipv6AddressOnly",
    "enablePrimaryIpv6",
    "securityGroupReadonly",
    "openPorts",
    "insecureTransport",
    "secretKey",
    "sessionToken",
    "sshKeyContents",
    "noPublicIp",
    "staticPublicIp",
    "nsg",
    "useInternalIpOnly",
    "floatingIpPool",
    "insecure",
    "password",
    "privateNetworking",
    "backups",
    "ipv6",
    "cfgparams",
    "userdata",
    "userData",
    "cloudInit",
    "cloudConfig",
    "customData",
    "runcmd",
    "bootcmd",
    "write_files",
    "content",
    "encoding",
    "path",
    # add-on resources: NeuVector admission, log outputs, Alertmanager receivers, istiod values
    "chartName",
    "mode",
    "enable",
    "syslog",
    "verify_fqdn",
    "ssl_verify",
    "tls_verify_mode",
    "receivers",
    "webhookConfigs",
    "httpConfig",
    "tlsConfig",
    "insecureSkipVerify",
    "meshConfig",
    "outboundTrafficPolicy",
    "startTls",
    "apiUrl",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**31), max_value=2**31).map(float),
    st.text(max_size=20),
    st.sampled_from(
        [
            "ALL",
            "SYS_ADMIN",
            "Unconfined",
            "RuntimeDefault",
            "windows",
            "true",
            "false",
            "0",
            "*",
            "kube-system",
            "default",
            "restricted",
            "nginx:latest",
            "0.0.0.0/0",
            "[",
            "{",
            ":",
            "- policy: x\n  reason: y",
            '[{"policy": 1}]',
            UNKNOWN,
        ]
    ),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)


def _valid_examples() -> list[tuple[str, dict[str, Any]]]:
    out = [(t, wrap(k, restricted_spec())) for k, t in POD_TYPES.items()]
    out += [
        (
            "kubernetes:core/v1:Namespace",
            {"metadata": {"name": "team-a", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
        ),
        (
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            {
                "metadata": {"name": "d", "namespace": "team-a"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            },
        ),
        (
            "kubernetes:rbac.authorization.k8s.io/v1:Role",
            {
                "metadata": {"name": "r", "namespace": "team-a"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
            },
        ),
        (
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
            {
                "metadata": {"name": "b", "namespace": "team-a"},
                "roleRef": {"kind": "Role", "name": "r"},
                "subjects": [{"kind": "User", "name": "jane"}],
            },
        ),
        (
            "kubernetes:networking.k8s.io/v1:Ingress",
            {
                "metadata": {"name": "i", "namespace": "team-a"},
                "spec": {"tls": [{"hosts": ["a.example.com"]}], "rules": [{"host": "a.example.com"}]},
            },
        ),
        (
            "kubernetes:core/v1:ConfigMap",
            {"metadata": {"name": "c", "namespace": "team-a"}, "data": {"app.yaml": "password: x\n"}},
        ),
        (
            "rancher2:index/machineConfigV2:MachineConfigV2",
            {
                "generateName": "prod-etcd",
                "amazonec2Config": {
                    "httpEndpoint": "enabled",
                    "httpTokens": "required",
                    "encryptEbsVolume": True,
                    "privateAddressOnly": True,
                    "securityGroupReadonly": True,
                    "openPorts": [],
                    "userdata": _HOST_PREP_CLOUD_CONFIG,
                },
            },
        ),
        (
            "rancher2:index/machineConfigV2:MachineConfigV2",
            {
                "generateName": "prod-cp",
                "vsphereConfig": {
                    "cfgparams": ["isolation.tools.copy.disable=TRUE", "RemoteDisplay.maxConnections=1"],
                    "cloudConfig": _HOST_PREP_CLOUD_CONFIG,
                },
            },
        ),
    ]
    return out


# A cloud-config with the CIS host preparation the machine-cis-host-prep policy looks for.
_HOST_PREP_CLOUD_CONFIG = "#cloud-config\n" + (
    "users:\n- name: etcd\n  shell: /sbin/nologin\n  system: true\n- default\n"
    "write_files:\n- path: /etc/sysctl.d/60-rke2-cis.conf\n"
    "  content: \"kernel.panic = 10\\nkernel.panic_on_oops = 1\\nvm.overcommit_memory = 1\\n"
    "vm.panic_on_oom = 0\\n\"\n"
    "runcmd:\n- [sysctl, -p, /etc/sysctl.d/60-rke2-cis.conf]\n"
)


VALID = _valid_examples()


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def garbled(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    rtype, base = draw(st.sampled_from(VALID))
    props = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(props) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = props
        for key in path[:-1]:
            parent = parent[key]
        replacement = draw(st.one_of(trees, st.just(UNKNOWN), st.just(None)))
        if replacement is None and isinstance(parent, dict):
            parent.pop(path[-1])
        else:
            parent[path[-1]] = replacement
    # the engine never sends None/absent as a whole property bag
    return rtype, props


@st.composite
def random_resource(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    rtype = draw(st.sampled_from(RESOURCE_TYPES))
    props = draw(st.dictionaries(keys, trees, max_size=6))
    return rtype, props


def _run(resources: list[tuple[str, dict[str, Any]]], config: dict[str, Any] | None = None) -> None:
    stack = [{"type": t, "name": f"r{i}", "props": p} for i, (t, p) in enumerate(resources)]
    result = analyze_stack(PACK_DIR, stack, config)
    crashed = [v for v in result.violations if "could not evaluate the input" in v.message]
    assert not crashed, [(v.policy_name, v.message) for v in crashed]


FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@FUZZ
@given(st.lists(random_resource(), min_size=1, max_size=5))
def test_random_props_never_crash_any_policy(resources: list[tuple[str, dict[str, Any]]]) -> None:
    _run(resources)


@FUZZ
@given(st.lists(garbled(), min_size=1, max_size=5))
def test_garbled_valid_resources_never_crash_any_policy(resources: list[tuple[str, dict[str, Any]]]) -> None:
    _run(resources)


REMEDIATE_ALL = {
    name: "remediate"
    for name in (
        "pss-allow-privilege-escalation",
        "pss-capabilities-drop-all",
        "pss-seccomp-profile-required",
        "pod-service-account-token-not-automounted",
        "read-only-root-filesystem",
    )
}


@FUZZ
@given(st.lists(garbled(), min_size=1, max_size=4))
def test_remediations_never_crash_on_garbled_input(resources: list[tuple[str, dict[str, Any]]]) -> None:
    _run(resources, REMEDIATE_ALL)
