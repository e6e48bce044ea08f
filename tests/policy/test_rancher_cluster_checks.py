"""The Rancher-cluster checks called directly, `(props, config) -> messages`, one weakening at a time: what
each finding says exactly, pinned in fixtures/rancher/check_messages.json (issue 18: the engine-driven tests
in test_rancher_cluster.py check policy names and message parts; these pin every message, fast enough to run
per mutant). After a deliberate wording change regenerate with RANCHER_MESSAGES_UPDATE=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from nsa_cisa import rancher_cluster as rc

from tests.support.rancher_clusters import (
    AUDIT_POLICY,
    GLOBAL,
    api_args,
    good_cluster,
    good_project,
    good_template,
    mutate,
    with_global,
)

MESSAGES = Path(__file__).parent / "fixtures" / "rancher" / "check_messages.json"
Check = Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]

CLUSTER_CHECKS: list[Check] = [
    rc.check_config_readable,
    rc.check_config_keys_known,
    rc.check_config_values_kept,
    rc.check_cis_profile,
    rc.check_secrets_encryption,
    rc.check_audit_logging,
    rc.check_audit_policy_content,
    rc.check_audit_policy_delivered,
    rc.check_psa_default,
    rc.check_network_isolation,
    rc.check_cni,
    rc.check_apiserver_authn,
    rc.check_apiserver_authz,
    rc.check_insecure_port,
    rc.check_tls,
    rc.check_kubelet,
    rc.check_control_plane_flags,
    rc.check_protect_kernel_defaults,
    rc.check_kubeconfig_mode,
    rc.check_pod_max_pids,
    rc.check_authorized_endpoint,
    rc.check_kubernetes_version,
    rc.check_etcd_snapshots,
    rc.check_etcd_tls,
    rc.check_s3_tls,
    rc.check_registries,
]


def selector(config: dict[str, Any], **entry: Any) -> dict[str, Any]:
    """The good cluster with one more machineSelectorConfigs entry."""
    props = good_cluster()
    props["rkeConfig"]["machineSelectorConfigs"].append({"config": yaml.safe_dump(config), **entry})
    return props


def rke(**changes: Any) -> dict[str, Any]:
    return mutate(lambda p: p["rkeConfig"].update(changes))


def etcd(**changes: Any) -> dict[str, Any]:
    return mutate(lambda p: p["rkeConfig"]["etcd"].update(changes))


def selector_file(path: str, kind: str = "secret") -> list[dict[str, Any]]:
    return [{"fileSources": [{kind: {"name": "audit", "items": [{"key": "k", "path": path}]}}]}]


NO_AUDIT_FILE = {k: v for k, v in GLOBAL.items() if k != "audit-policy-file"}
CP = {"matchLabels": {"rke.cattle.io/control-plane-role": "true"}}

# case -> (check, props, policy config)
CASES: dict[str, tuple[Check, dict[str, Any], dict[str, Any]]] = {
    "readable/bad-yaml": (rc.check_config_readable, rke(machineGlobalConfig="a: ["), {}),
    "readable/not-an-object": (rc.check_config_readable, mutate(lambda p: p.update(rkeConfig=[1])), {}),
    "keys/typo": (rc.check_config_keys_known, with_global(protect_kernel_default=True), {}),
    "keys/no-close-match": (rc.check_config_keys_known, selector({"zzzz-qqqq": "x"}), {}),
    "keys/extra-known": (
        rc.check_config_keys_known,
        with_global(site_key="x", other_key="y"),
        {"extraKnownKeys": ["site-key", 5]},
    ),
    "keys/extra-not-a-list": (
        rc.check_config_keys_known,
        with_global(site_key="x"),
        {"extraKnownKeys": "site-key"},
    ),
    "values/int": (rc.check_config_values_kept, with_global(etcd_snapshot_retention=5), {}),
    "values/float": (rc.check_config_values_kept, with_global(etcd_snapshot_retention=5.5), {}),
    "values/mapping": (rc.check_config_values_kept, with_global(audit_policy_file=AUDIT_POLICY), {}),
    "values/null": (rc.check_config_values_kept, selector({"debug": None}), {}),
    "cis/missing": (rc.check_cis_profile, with_global(profile=None), {}),
    "cis/obsolete-1.23": (rc.check_cis_profile, with_global(profile="cis-1.23"), {}),
    "cis/obsolete-1.6": (rc.check_cis_profile, with_global(profile="cis-1.6"), {}),
    "cis/obsolete-1.5": (rc.check_cis_profile, with_global(profile="cis-1.5"), {}),
    "cis/other": (rc.check_cis_profile, selector({"profile": ""}), {}),
    "secrets/off": (rc.check_secrets_encryption, with_global(secrets_encryption="false"), {}),
    "secrets/on": (rc.check_secrets_encryption, with_global(secrets_encryption=True), {}),
    "secrets/identity": (
        rc.check_secrets_encryption,
        with_global(secrets_encryption_provider="identity"),
        {},
    ),
    "secrets/secretbox": (
        rc.check_secrets_encryption,
        with_global(secrets_encryption_provider="secretbox"),
        {},
    ),
    "secrets/aescbc": (rc.check_secrets_encryption, with_global(secrets_encryption_provider="aescbc"), {}),
    "secrets/empty-provider-config": (
        rc.check_secrets_encryption,
        with_global(kube_apiserver_arg=api_args(None, "encryption-provider-config=")),
        {},
    ),
    "secrets/provider-config": (
        rc.check_secrets_encryption,
        with_global(kube_apiserver_arg=api_args(None, "encryption-provider-config=/etc/enc.yaml")),
        {},
    ),
    "audit/no-policy": (rc.check_audit_logging, with_global(audit_policy_file=None), {}),
    "audit/policy-mapping": (rc.check_audit_logging, with_global(audit_policy_file=AUDIT_POLICY), {}),
    "audit/policy-bad-yaml": (rc.check_audit_logging, with_global(audit_policy_file="a: ["), {}),
    "audit/policy-path-flag-empty": (
        rc.check_audit_logging,
        with_global(audit_policy_file=None, kube_apiserver_arg=api_args(None, "audit-policy-file=")),
        {},
    ),
    "audit/no-log-path": (
        rc.check_audit_logging,
        with_global(kube_apiserver_arg=api_args("audit-log-path")),
        {},
    ),
    "audit/webhook-only": (
        rc.check_audit_logging,
        with_global(kube_apiserver_arg=api_args("audit-log-path", "audit-webhook-config-file=/etc/wh.yaml")),
        {},
    ),
    "audit/stdout": (
        rc.check_audit_logging,
        with_global(kube_apiserver_arg=api_args("audit-log-maxage", "audit-log-path=-")),
        {},
    ),
    "audit/retention-missing": (
        rc.check_audit_logging,
        with_global(
            kube_apiserver_arg=[
                a for a in api_args() if "maxage" not in a and "maxbackup" not in a and "maxsize" not in a
            ]
        ),
        {},
    ),
    "audit/retention-low": (
        rc.check_audit_logging,
        with_global(
            kube_apiserver_arg=[
                *api_args("audit-log-maxage"),
                "audit-log-maxage=29",
            ]
        ),
        {"minAuditLogMaxBackup": 11, "minAuditLogMaxSizeMB": 101},
    ),
    "audit/retention-at-floor": (
        rc.check_audit_logging,
        good_cluster(),
        {"minAuditLogMaxAgeDays": 30, "minAuditLogMaxBackup": 10, "minAuditLogMaxSizeMB": 100},
    ),
    "audit/retention-not-a-number": (
        rc.check_audit_logging,
        with_global(kube_apiserver_arg=[*api_args("audit-log-maxage"), "audit-log-maxage=forever"]),
        {},
    ),
    "audit/no-apiserver-args": (rc.check_audit_logging, with_global(kube_apiserver_arg=None), {}),
    "audit/default-path-file": (
        rc.check_audit_logging,
        mutate(
            lambda p: p["rkeConfig"].update(
                machineGlobalConfig=yaml.safe_dump(NO_AUDIT_FILE),
                machineSelectorFiles=selector_file("/etc/rancher/rke2/audit-policy.yaml", "configMap"),
            )
        ),
        {},
    ),
    "audit/other-path-file": (
        rc.check_audit_logging,
        mutate(
            lambda p: p["rkeConfig"].update(
                machineGlobalConfig=yaml.safe_dump(NO_AUDIT_FILE),
                machineSelectorFiles=selector_file("/etc/other.yaml", "configmap"),
            )
        ),
        {},
    ),
    "content/level-none": (
        rc.check_audit_policy_content,
        with_global(audit_policy_file=yaml.safe_dump({"kind": "Policy", "rules": [{"level": "None"}]})),
        {},
    ),
    "delivered/path-not-delivered": (
        rc.check_audit_policy_delivered,
        with_global(audit_policy_file="/etc/rke2/audit.yaml"),
        {},
    ),
    "delivered/flag-not-delivered": (
        rc.check_audit_policy_delivered,
        with_global(
            audit_policy_file=None, kube_apiserver_arg=api_args(None, "audit-policy-file=/etc/a.yaml")
        ),
        {},
    ),
    "delivered/flag-delivered": (
        rc.check_audit_policy_delivered,
        mutate(
            lambda p: p["rkeConfig"].update(
                machineGlobalConfig=yaml.safe_dump(
                    {**NO_AUDIT_FILE, "kube-apiserver-arg": api_args(None, "audit-policy-file=/etc/a.yaml")}
                ),
                machineSelectorFiles=selector_file("/etc/a.yaml"),
            )
        ),
        {},
    ),
    "psa/unset": (
        rc.check_psa_default,
        mutate(lambda p: p.pop("defaultPodSecurityAdmissionConfigurationTemplateName")),
        {},
    ),
    "psa/blank": (
        rc.check_psa_default,
        mutate(lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName=" ")),
        {},
    ),
    "psa/not-a-string": (
        rc.check_psa_default,
        mutate(lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName=5)),
        {},
    ),
    "psa/privileged": (
        rc.check_psa_default,
        mutate(
            lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName=" rancher-privileged ")
        ),
        {},
    ),
    "psa/baseline": (
        rc.check_psa_default,
        mutate(lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName="rancher-baseline ")),
        {},
    ),
    "psa/restricted-padded": (
        rc.check_psa_default,
        mutate(
            lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName=" rancher-restricted")
        ),
        {},
    ),
    "psa/custom": (
        rc.check_psa_default,
        mutate(lambda p: p.update(defaultPodSecurityAdmissionConfigurationTemplateName="hardened")),
        {},
    ),
    "isolation/off": (rc.check_network_isolation, mutate(lambda p: p.update(enableNetworkPolicy=False)), {}),
    "isolation/string-true": (
        rc.check_network_isolation,
        mutate(lambda p: p.update(enableNetworkPolicy="true")),
        {},
    ),
    "cni/flannel": (rc.check_cni, with_global(cni="flannel"), {}),
    "cni/disable-canal": (rc.check_cni, with_global(disable=["rke2-canal", "rke2-ingress-nginx"]), {}),
    "cni/disable-other": (rc.check_cni, with_global(disable="rke2-ingress-nginx"), {}),
    "authn/anonymous": (
        rc.check_apiserver_authn,
        with_global(kube_apiserver_arg=api_args("anonymous-auth", "anonymous-auth=true")),
        {},
    ),
    "authn/anonymous-off": (
        rc.check_apiserver_authn,
        with_global(kube_apiserver_arg=api_args("anonymous-auth", "anonymous-auth=false")),
        {},
    ),
    "authn/static-files": (
        rc.check_apiserver_authn,
        with_global(kube_apiserver_arg=api_args(None, "token-auth-file=/t.csv", "basic-auth-file=/b.csv")),
        {},
    ),
    "authz/always-allow": (
        rc.check_apiserver_authz,
        with_global(kube_apiserver_arg=api_args("authorization-mode", "authorization-mode=Node,AlwaysAllow")),
        {},
    ),
    "authz/no-node-no-rbac": (
        rc.check_apiserver_authz,
        with_global(kube_apiserver_arg=api_args("authorization-mode", "authorization-mode=Webhook")),
        {},
    ),
    "authz/rbac-only": (
        rc.check_apiserver_authz,
        with_global(kube_apiserver_arg=api_args("authorization-mode", "authorization-mode= RBAC ,,")),
        {},
    ),
    "authz/always-admit": (
        rc.check_apiserver_authz,
        with_global(
            kube_apiserver_arg=api_args(None, "enable-admission-plugins=NodeRestriction, AlwaysAdmit")
        ),
        {},
    ),
    "authz/other-plugins": (
        rc.check_apiserver_authz,
        with_global(kube_apiserver_arg=api_args(None, "enable-admission-plugins=AlwaysAdmitNot")),
        {},
    ),
    "insecure-port/8080": (
        rc.check_insecure_port,
        with_global(kube_apiserver_arg=api_args(None, "insecure-port=8080")),
        {},
    ),
    "insecure-port/0": (
        rc.check_insecure_port,
        with_global(kube_apiserver_arg=api_args(None, "insecure-port=0")),
        {},
    ),
    "kubeconfig-mode/0644": (rc.check_kubeconfig_mode, with_global(write_kubeconfig_mode="0644"), {}),
    "kube-version/unset": (rc.check_kubernetes_version, mutate(lambda p: p.pop("kubernetesVersion")), {}),
    "kube-version/old": (
        rc.check_kubernetes_version,
        mutate(lambda p: p.update(kubernetesVersion="v1.30.9+rke2r1")),
        {},
    ),
    "kube-version/at-floor": (
        rc.check_kubernetes_version,
        mutate(lambda p: p.update(kubernetesVersion="v1.31.0+rke2r1")),
        {},
    ),
    "kube-version/not-a-version": (
        rc.check_kubernetes_version,
        mutate(lambda p: p.update(kubernetesVersion="stable")),
        {},
    ),
    "kube-version/bad-floor": (
        rc.check_kubernetes_version,
        good_cluster(),
        {"minKubernetesVersion": "latest"},
    ),
    "kube-version/floor": (rc.check_kubernetes_version, good_cluster(), {"minKubernetesVersion": "v1.33"}),
    "etcd/not-an-object": (rc.check_etcd_snapshots, rke(etcd=[1]), {}),
    "etcd/disabled": (rc.check_etcd_snapshots, etcd(disableSnapshots=True), {}),
    "etcd/retention-zero": (rc.check_etcd_snapshots, etcd(snapshotRetention=0.0), {}),
    "etcd/retention-text": (rc.check_etcd_snapshots, etcd(snapshotRetention="many"), {}),
    "etcd/retention-one": (rc.check_etcd_snapshots, etcd(snapshotRetention=1.0), {}),
    "etcd/cron-empty": (rc.check_etcd_snapshots, etcd(snapshotScheduleCron=" "), {}),
    "etcd/config-keys": (
        rc.check_etcd_snapshots,
        with_global(etcd_disable_snapshots=True, etcd_snapshot_retention="0"),
        {},
    ),
    "etcd/config-keys-ok": (
        rc.check_etcd_snapshots,
        with_global(etcd_disable_snapshots=False, etcd_snapshot_retention="1"),
        {},
    ),
    "etcd-tls/all": (
        rc.check_etcd_tls,
        with_global(
            etcd_arg=[
                "client-cert-auth=false",
                "peer-client-cert-auth=false",
                "auto-tls=true",
                "peer-auto-tls=true",
            ]
        ),
        {},
    ),
    "etcd-tls/kept": (
        rc.check_etcd_tls,
        with_global(
            etcd_arg=[
                "client-cert-auth=true",
                "peer-client-cert-auth=true",
                "auto-tls=false",
                "peer-auto-tls=false",
            ]
        ),
        {},
    ),
    "s3/skip-verify": (
        rc.check_s3_tls,
        etcd(s3Config={"endpoint": " HTTP://minio:9000", "skipSslVerify": True}),
        {},
    ),
    "s3/config-keys": (
        rc.check_s3_tls,
        with_global(etcd_s3_skip_ssl_verify="true", etcd_s3_insecure=True),
        {},
    ),
    "registries/insecure": (
        rc.check_registries,
        rke(
            registries={
                "configs": [{"hostname": "ok.example.com"}, {"hostname": "r.example.com", "insecure": True}],
                "mirrors": [
                    {"hostname": "docker.io", "endpoints": ["https://ok", " Http://m:5000"]},
                    {"hostname": "quay.io", "endpoints": ["http://q"]},
                ],
            }
        ),
        {},
    ),
}


def template(**changes: Any) -> dict[str, Any]:
    """The hardened PSA template with top-level fields replaced (None removes one)."""
    props = good_template()
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def mutate_project(fn: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    props = good_project()
    fn(props)
    return props


def more_case(check: Check, props: dict[str, Any], cfg: dict[str, Any] | None = None) -> Any:
    return (check, props, cfg or {})


ACE_ON = {"enabled": True}
CASES.update(
    {
        "tls/no-apiserver-args": more_case(rc.check_tls, with_global(kube_apiserver_arg=None)),
        "tls/min-version-unset": more_case(
            rc.check_tls, with_global(kube_apiserver_arg=api_args("tls-min-version"))
        ),
        "tls/min-version-weak": more_case(
            rc.check_tls,
            with_global(kubelet_arg=["tls-min-version=VersionTLS10", "read-only-port=0", "pod-max-pids=100"]),
        ),
        "tls/weak-suites": more_case(
            rc.check_tls,
            with_global(
                kube_apiserver_arg=[
                    *api_args("tls-cipher-suites"),
                    "tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA,TLS_RSA_WITH_AES_128_CBC_SHA",
                ]
            ),
        ),
        "tls/etcd-cipher-suites": more_case(
            rc.check_tls, with_global(etcd_arg=["cipher-suites=TLS_RSA_WITH_3DES_EDE_CBC_SHA"])
        ),
        "tls/etcd-strong-suites": more_case(
            rc.check_tls, with_global(etcd_arg=["cipher-suites=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"])
        ),
        "kubelet/all-weak": more_case(
            rc.check_kubelet,
            with_global(
                kubelet_arg=[
                    "read-only-port=10255",
                    "anonymous-auth=true",
                    "authorization-mode=AlwaysAllow",
                    "client-ca-file= ",
                ]
            ),
        ),
        "kubelet/explicit-hardened": more_case(
            rc.check_kubelet,
            with_global(
                kubelet_arg=[
                    "read-only-port=0",
                    "anonymous-auth=false",
                    "authorization-mode= Webhook",
                    "client-ca-file=/etc/ca.pem",
                ]
            ),
        ),
        "flags/all-weak": more_case(
            rc.check_control_plane_flags,
            with_global(
                kube_apiserver_arg=api_args(
                    None,
                    "profiling",
                    "bind-address=0.0.0.0",
                    "service-account-extend-token-expiration=true",
                    "disable-admission-plugins=ServiceAccount, NodeRestriction,Other",
                ),
                kube_controller_manager_arg=[
                    "bind-address=10.0.0.1",
                    "use-service-account-credentials=false",
                    "profiling=true",
                ],
                kube_scheduler_arg=["bind-address= localhost ", "profiling=false"],
                kubelet_arg=["read-only-port=0", "pod-max-pids=100", "make-iptables-util-chains=false"],
                etcd_expose_metrics="true",
                enable_pprof=True,
                debug=True,
            ),
        ),
        "flags/stated-hardened": more_case(
            rc.check_control_plane_flags,
            with_global(
                kube_controller_manager_arg=["bind-address=::1", "use-service-account-credentials=true"],
                kubelet_arg=["read-only-port=0", "pod-max-pids=100", "make-iptables-util-chains=true"],
                etcd_expose_metrics=False,
                enable_pprof="false",
                debug=False,
            ),
        ),
        "kernel/global-false-no-selector": more_case(
            rc.check_protect_kernel_defaults,
            mutate(
                lambda p: (
                    p["rkeConfig"].pop("machineSelectorConfigs"),
                    p["rkeConfig"].update(
                        machineGlobalConfig=yaml.safe_dump({**GLOBAL, "protect-kernel-defaults": "false"})
                    ),
                )
            ),
        ),
        "kernel/global-true-only": more_case(
            rc.check_protect_kernel_defaults,
            mutate(
                lambda p: (
                    p["rkeConfig"].pop("machineSelectorConfigs"),
                    p["rkeConfig"].update(
                        machineGlobalConfig=yaml.safe_dump({**GLOBAL, "protect-kernel-defaults": True})
                    ),
                )
            ),
        ),
        "kernel/selector-false": more_case(
            rc.check_protect_kernel_defaults, selector({"protect-kernel-defaults": 0})
        ),
        "kubeconfig-mode/not-octal": more_case(
            rc.check_kubeconfig_mode, with_global(write_kubeconfig_mode="0689")
        ),
        "kubeconfig-mode/not-digits": more_case(
            rc.check_kubeconfig_mode, with_global(write_kubeconfig_mode="rw")
        ),
        "kubeconfig-mode/bool": more_case(rc.check_kubeconfig_mode, with_global(write_kubeconfig_mode=True)),
        "kubeconfig-mode/padded-0600": more_case(
            rc.check_kubeconfig_mode, with_global(write_kubeconfig_mode=" 0600 ")
        ),
        "kubeconfig-mode/0604": more_case(
            rc.check_kubeconfig_mode, with_global(write_kubeconfig_mode="0604")
        ),
        "pids/unset": more_case(rc.check_pod_max_pids, with_global(kubelet_arg=["read-only-port=0"])),
        "pids/zero": more_case(rc.check_pod_max_pids, with_global(kubelet_arg=["pod-max-pids=0"])),
        "pids/text": more_case(rc.check_pod_max_pids, with_global(kubelet_arg=["pod-max-pids=many"])),
        "pids/one": more_case(rc.check_pod_max_pids, with_global(kubelet_arg=["pod-max-pids=1"])),
        "pids/no-kubelet-args": more_case(rc.check_pod_max_pids, with_global(kubelet_arg=None)),
        "ace/top-without-both": more_case(
            rc.check_authorized_endpoint, mutate(lambda p: p.update(localAuthEndpoint=ACE_ON))
        ),
        "ace/rke-without-ca": more_case(
            rc.check_authorized_endpoint,
            rke(localAuthEndpoint={"enabled": "true", "fqdn": "k8s.example.com", "caCerts": " "}),
        ),
        "ace/not-an-object": more_case(
            rc.check_authorized_endpoint, mutate(lambda p: p.update(localAuthEndpoint="on"))
        ),
        "ace/off": more_case(
            rc.check_authorized_endpoint, mutate(lambda p: p.update(localAuthEndpoint={"enabled": False}))
        ),
        "ace/pinned": more_case(
            rc.check_authorized_endpoint,
            rke(localAuthEndpoint={"enabled": True, "fqdn": "k8s.example.com", "caCerts": "PEM"}),
        ),
        "project/bare": more_case(rc.check_project_quotas, {"name": "p"}),
        "project/partial": more_case(
            rc.check_project_quotas,
            mutate_project(
                lambda p: (
                    p["resourceQuota"]["namespaceDefaultLimit"].pop("limitsMemory"),
                    p["containerResourceLimit"].update(requestsCpu=" "),
                )
            ),
        ),
        "psact/enforce-unset": more_case(rc.check_psact_enforce, template(defaults={"audit": "restricted"})),
        "psact/enforce-baseline": more_case(
            rc.check_psact_enforce, template(defaults={"enforce": "baseline"})
        ),
        "psact/audit-warn": more_case(
            rc.check_psact_audit_warn, template(defaults={"enforce": "restricted", "warn": "baseline"})
        ),
        "psact/exemptions-not-an-object": more_case(rc.check_psact_exemptions, template(exemptions=["a"])),
        "psact/exemptions-none": more_case(rc.check_psact_exemptions, template(exemptions=None)),
        "psact/exemptions-field-not-a-list": more_case(
            rc.check_psact_exemptions, template(exemptions={"namespaces": "team-a", "usernames": None})
        ),
        "psact/unjustified": more_case(
            rc.check_psact_exemptions,
            template(
                exemptions={
                    "namespaces": ["cattle-x", "team-a", "kube-system"],
                    "usernames": ["bot"],
                    "runtimeClasses": ["kata", "gvisor", "runc-debug"],
                },
                annotations={
                    "psa.hardened-rke2.io/exemption-justifications": yaml.safe_dump(
                        {"runtimeClasses/kata": "sandboxed runtime by design", "usernames/bot": "short"}
                    ),
                    "hardened-rke2.io/exemption-0": "gvisor: sandboxed runtime for untrusted builds",
                    "hardened-rke2.io/exemption-1": "team-a: short",
                    "hardened-rke2.io/exemption-2": "no separator here at all",
                    "hardened-rke2.io/exemption-3": 5,
                },
            ),
            {"exemptNamespaces": ["cattle-*", "kube-system"]},
        ),
        "psact/justifications-bad-yaml": more_case(
            rc.check_psact_exemptions,
            template(
                exemptions={"namespaces": ["kube-system"]},
                annotations={"psa.hardened-rke2.io/exemption-justifications": "a: ["},
            ),
            {"exemptNamespaces": ["kube-system"]},
        ),
        "psact/annotations-not-a-mapping": more_case(
            rc.check_psact_exemptions, template(exemptions={"usernames": ["bot"]}, annotations="x")
        ),
    }
)


def with_selector(props: dict[str, Any], config: dict[str, Any], **entry: Any) -> dict[str, Any]:
    props["rkeConfig"]["machineSelectorConfigs"].append({"config": yaml.safe_dump(config), **entry})
    return props


INLINE_NONE = yaml.safe_dump({"kind": "Policy", "rules": [{"level": "None"}]})
APISERVER_ONLY_PATH = ["audit-log-path=/var/log/audit.log"]
CASES.update(
    {
        "audit/mapping-then-inline": more_case(
            rc.check_audit_logging,
            with_selector(
                with_global(audit_policy_file=AUDIT_POLICY),
                {"audit-policy-file": yaml.safe_dump(AUDIT_POLICY)},
                machineLabelSelector=CP,
            ),
        ),
        "audit/max-age-floor": more_case(
            rc.check_audit_logging, good_cluster(), {"minAuditLogMaxAgeDays": 365}
        ),
        "audit/each-apiserver-layer": more_case(
            rc.check_audit_logging,
            with_selector(
                with_global(kube_apiserver_arg=api_args("audit-log-path")),
                {"kube-apiserver-arg": APISERVER_ONLY_PATH},
                machineLabelSelector=CP,
            ),
        ),
        "audit/stdout-then-file": more_case(
            rc.check_audit_logging,
            with_selector(
                with_global(kube_apiserver_arg=api_args("audit-log-path", "audit-log-path=-")),
                {"kube-apiserver-arg": APISERVER_ONLY_PATH},
                machineLabelSelector=CP,
            ),
        ),
        "content/two-inline-policies": more_case(
            rc.check_audit_policy_content,
            mutate(
                lambda p: (
                    p["rkeConfig"].update(
                        machineGlobalConfig=yaml.safe_dump({**GLOBAL, "audit-policy-file": INLINE_NONE})
                    ),
                    p["rkeConfig"]["machineSelectorConfigs"].append(
                        {"config": yaml.safe_dump({"audit-policy-file": INLINE_NONE})}
                    ),
                )
            ),
        ),
        "audit/default-path-configmap": more_case(
            rc.check_audit_logging,
            mutate(
                lambda p: p["rkeConfig"].update(
                    machineGlobalConfig=yaml.safe_dump(NO_AUDIT_FILE),
                    machineSelectorFiles=selector_file("/etc/rancher/rke2/audit-policy.yaml", "configmap"),
                )
            ),
        ),
        "audit/default-path-second-entry": more_case(
            rc.check_audit_logging,
            mutate(
                lambda p: p["rkeConfig"].update(
                    machineGlobalConfig=yaml.safe_dump(NO_AUDIT_FILE),
                    machineSelectorFiles=[
                        {"fileSources": "x"},
                        *selector_file("/etc/rancher/rke2/audit-policy.yaml"),
                    ],
                )
            ),
        ),
        "authz/always-admit-no-space": more_case(
            rc.check_apiserver_authz,
            with_global(
                kube_apiserver_arg=api_args(None, "enable-admission-plugins=NodeRestriction,AlwaysAdmit")
            ),
        ),
        "ace/top-not-an-object-rke-enabled": more_case(
            rc.check_authorized_endpoint,
            mutate(
                lambda p: (
                    p.update(localAuthEndpoint="on"),
                    p["rkeConfig"].update(localAuthEndpoint={"enabled": True}),
                )
            ),
        ),
        "ace/top-off-rke-enabled": more_case(
            rc.check_authorized_endpoint,
            mutate(
                lambda p: (
                    p.update(localAuthEndpoint={"enabled": False}),
                    p["rkeConfig"].update(localAuthEndpoint={"enabled": True, "fqdn": "k.example.com"}),
                )
            ),
        ),
        "cni/disable-calico": more_case(rc.check_cni, with_global(disable=["rke2-calico"])),
        "cni/disable-cilium": more_case(rc.check_cni, with_global(disable="rke2-cilium")),
        "flags/scheduler-profiling": more_case(
            rc.check_control_plane_flags, with_global(kube_scheduler_arg=["profiling=true"])
        ),
        "flags/apiserver-stated-hardened": more_case(
            rc.check_control_plane_flags,
            with_global(
                kube_apiserver_arg=api_args(
                    None,
                    "profiling=false",
                    "service-account-extend-token-expiration=false",
                    "disable-admission-plugins=AlwaysPullImages",
                )
            ),
        ),
        "kubeconfig-mode/0000": more_case(
            rc.check_kubeconfig_mode, with_global(write_kubeconfig_mode="0000")
        ),
        "delivered/odd-item-paths-are-skipped": more_case(
            rc.check_audit_policy_delivered,
            mutate(
                lambda p: p["rkeConfig"].update(
                    machineGlobalConfig=yaml.safe_dump({**NO_AUDIT_FILE, "audit-policy-file": "/etc/a.yaml"}),
                    machineSelectorFiles=[
                        {
                            "fileSources": [
                                {
                                    "secret": {
                                        "items": [{"path": {"x": 1}}, {"path": ""}, {"path": "/etc/a.yaml"}]
                                    }
                                }
                            ]
                        }
                    ],
                )
            ),
        ),
        "psact/not-a-list-then-list": more_case(
            rc.check_psact_exemptions, template(exemptions={"namespaces": "team-a", "usernames": ["bot"]})
        ),
        "psact/missing-field-then-list": more_case(
            rc.check_psact_exemptions, template(exemptions={"namespaces": None, "usernames": ["bot"]})
        ),
        "psact/reasons-at-the-minimum-and-with-colons": more_case(
            rc.check_psact_exemptions,
            template(
                exemptions={"usernames": ["bot", "ci"], "runtimeClasses": ["kata", "gvisor"]},
                annotations={
                    "psa.hardened-rke2.io/exemption-justifications": yaml.safe_dump(
                        {"usernames/bot": "ticket-123", "usernames/ci": "ticket-12"}
                    ),
                    "hardened-rke2.io/exemption-0": "kata: ticket-456",
                    "hardened-rke2.io/exemption-1": "gvisor: see: the sandbox ADR",
                    "owner": "gvisor: the platform team, not a justification",
                },
            ),
        ),
        "psact/unrelated-annotation-is-no-justification": more_case(
            rc.check_psact_exemptions,
            template(
                exemptions={"runtimeClasses": ["gvisor"]},
                annotations={"owner": "gvisor: the platform team owns this template"},
            ),
        ),
        "s3/config-keys-off": more_case(
            rc.check_s3_tls, with_global(etcd_s3_skip_ssl_verify="false", etcd_s3_insecure=False)
        ),
        "tls/cipher-suites-only-for-etcd": more_case(
            rc.check_tls,
            with_global(kube_apiserver_arg=api_args(None, "cipher-suites=TLS_RSA_WITH_RC4_128_SHA")),
        ),
        "tls/etcd-two-weak-suites": more_case(
            rc.check_tls,
            with_global(etcd_arg=["cipher-suites=TLS_RSA_WITH_3DES_EDE_CBC_SHA,TLS_RSA_WITH_RC4_128_SHA"]),
        ),
    }
)


def _findings() -> dict[str, list[str]]:
    return {case: check(props, cfg) for case, (check, props, cfg) in CASES.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_weakening_reports_its_exact_messages(case: str) -> None:
    check, props, cfg = CASES[case]
    expected = json.loads(MESSAGES.read_text(encoding="utf-8"))
    assert check(props, cfg) == expected[case]


def test_the_message_fixture_lists_every_case() -> None:
    found = _findings()
    if os.environ.get("RANCHER_MESSAGES_UPDATE"):
        MESSAGES.write_text(
            json.dumps(found, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    assert sorted(json.loads(MESSAGES.read_text(encoding="utf-8"))) == sorted(CASES)


def test_the_hardened_cluster_passes_every_check() -> None:
    assert {c.__name__: c(good_cluster(), {}) for c in CLUSTER_CHECKS} == {
        c.__name__: [] for c in CLUSTER_CHECKS
    }


def test_project_and_template_checks_pass_the_hardened_objects() -> None:
    assert rc.check_project_quotas(good_project(), {}) == []
    template = good_template()
    for check in (rc.check_psact_enforce, rc.check_psact_audit_warn, rc.check_psact_exemptions):
        assert check(template, {"exemptNamespaces": ["kube-system", "cattle-*"]}) == []


def test_the_protect_option_is_required() -> None:
    from types import SimpleNamespace

    found: list[str] = []
    for opts in (
        SimpleNamespace(protect=True),
        SimpleNamespace(protect=False),
        None,
        SimpleNamespace(protect="yes"),
    ):
        found.clear()
        rc._validate_protect(SimpleNamespace(opts=opts), found.append)  # type: ignore[arg-type]
        assert bool(found) == (opts is None or opts.protect is not True)
    assert found == [
        "the cluster is not protected: set the `protect` resource option so a `pulumi destroy` or an "
        "accidental replacement cannot delete it (and its etcd) without an explicit unprotect"
    ]
