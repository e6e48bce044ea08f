"""HardenedCluster's decisions without the engine: the argument models' rules and the step functions that
build the ClusterV2's inputs (issue 18: the whole-program tests in test_cluster.py cover these end to end;
these pin each decision so a mutation run takes seconds per mutant)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components import cluster as c
from components.audit_policy import RKE2_AUDIT_POLICY_PATH
from components.fips import FIPS_LABEL
from components.tls import FIPS_CIPHER_SUITES
from components.versions import PINS
from tests.support.provider_inputs import plain

V133 = "v1.33.5+rke2r1"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"  # models strip whitespace
ALL_ROLES = [{"name": "all", "roles": ["etcd", "controlPlane", "worker"]}]


def args(**over: Any) -> c.HardenedClusterArgs:
    base: dict[str, Any] = {
        "name": "dev",
        "kubernetesVersion": V133,
        "production": False,
        "nodePools": ALL_ROLES,
    }
    return c.HardenedClusterArgs.model_validate({**base, **over})


def problems(exc: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]


def errors(model: type[Any], data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """(location, message) of every validation error, exactly as the user reads them."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return problems(info.value)


# --------------------------------------------------------------------------------------------- network


def test_cni_list_puts_multus_first() -> None:
    assert c.NetworkArgs().cni_list() == ["canal"]
    assert c.NetworkArgs(cni="cilium", multus=True).cni_list() == ["multus", "cilium"]


@pytest.mark.parametrize(
    ("pods", "services", "clash"),
    [
        (None, None, None),
        ("10.43.0.0/16", None, "clusterCidr 10.43.0.0/16 and serviceCidr 10.43.0.0/16 overlap"),
        (None, "10.42.128.0/17", "clusterCidr 10.42.0.0/16 and serviceCidr 10.42.128.0/17 overlap"),
        ("10.60.0.0/16", "10.61.0.0/16", None),
    ],
)
def test_pod_and_service_cidrs_must_not_overlap(
    pods: str | None, services: str | None, clash: str | None
) -> None:
    data = {"clusterCidr": pods, "serviceCidr": services}
    if clash is None:
        c.NetworkArgs.model_validate(data)
        return
    assert errors(c.NetworkArgs, data) == [
        ((), f"Value error, serviceCidr: {clash} (fix: give the pod and service networks disjoint ranges)")
    ]


# ------------------------------------------------------------------------------ authorized endpoint, S3


FQDN_MISSING = (
    "fqdn: enabled needs both fqdn and caCerts; fqdn is missing (fix: set the FQDN of the load balancer in "
    "front of the control-plane nodes, or enabled: false)"
)
CA_MISSING = (
    "caCerts: enabled needs both fqdn and caCerts; caCerts is missing (fix: set the PEM CA certificate(s) of "
    "that endpoint, or enabled: false)"
)
NOT_PEM = "caCerts: must be PEM certificates (fix: give -----BEGIN CERTIFICATE----- blocks)"
NOT_ENABLED = (
    "enabled: fqdn/caCerts are set but enabled is false (fix: remove them, or set enabled: true (the pack "
    "reports an enabled endpoint))"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"enabled": True, "caCerts": CA}, [FQDN_MISSING]),
        ({"enabled": True, "fqdn": "k8s.example.com"}, [CA_MISSING]),
        ({"enabled": True, "fqdn": "k8s.example.com", "caCerts": "not pem"}, [NOT_PEM]),
        ({"fqdn": "k8s.example.com"}, [NOT_ENABLED]),
        ({"caCerts": CA}, [NOT_ENABLED]),
        ({"enabled": True}, [FQDN_MISSING, CA_MISSING]),
        ({"caCerts": "not pem"}, [NOT_PEM, NOT_ENABLED]),
    ],
)
def test_authorized_endpoint_rules(data: dict[str, Any], expected: list[str]) -> None:
    assert errors(c.AuthorizedEndpointArgs, data) == [((), "Value error, " + "; ".join(expected))]


def test_authorized_endpoint_off_or_complete_is_accepted() -> None:
    assert not c.AuthorizedEndpointArgs().enabled
    on = c.AuthorizedEndpointArgs.model_validate(
        {"enabled": True, "fqdn": "k8s.example.com:6443", "caCerts": CA}
    )
    assert on.fqdn == "k8s.example.com:6443"


S3 = {"bucket": "snaps", "endpoint": "s3.example.com", "cloudCredentialName": "cattle-global-data:cc-1"}


@pytest.mark.parametrize(
    ("over", "loc", "message"),
    [
        (
            {"endpoint": "http://s3.example.com"},
            ("endpoint",),
            "plain-HTTP endpoint; give the HTTPS host (without scheme), e.g. s3.example.com",
        ),
        ({"endpoint": "s3.example.com/path"}, ("endpoint",), "not a host[:port]"),
        ({"accessKey": "a"}, (), "give both accessKey and secretKey, or neither"),
        ({"secretKey": "s"}, (), "give both accessKey and secretKey, or neither"),
        (
            {"accessKey": "a", "secretKey": "s"},
            (),
            "give exactly one of cloudCredentialName or accessKey+secretKey",
        ),
        ({"cloudCredentialName": None}, (), "give exactly one of cloudCredentialName or accessKey+secretKey"),
        ({"endpointCa": "not pem"}, (), "endpointCa must be a PEM certificate"),
    ],
)
def test_s3_snapshot_target_rules(over: dict[str, Any], loc: tuple[str, ...], message: str) -> None:
    assert errors(c.S3SnapshotArgs, {**S3, **over}) == [(loc, f"Value error, {message}")]


def test_s3_endpoint_drops_https_and_keeps_a_port() -> None:
    assert c.S3SnapshotArgs.model_validate({**S3, "endpoint": "https://minio.example.com:9000"}).endpoint == (
        "minio.example.com:9000"
    )
    keys = c.S3SnapshotArgs.model_validate(
        {**S3, "cloudCredentialName": None, "accessKey": "a", "secretKey": "s"}
    )
    assert keys.access_key is not None and keys.endpoint_ca is None


@pytest.mark.parametrize("cron", ["0 */6 * * *", "5,35 1-5 * * 0"])
def test_cron_accepts_five_fields(cron: str) -> None:
    assert c.EtcdArgs(snapshot_schedule_cron=cron).snapshot_schedule_cron == cron


@pytest.mark.parametrize("cron", ["0 */6 * *", "0 */6 * * * *", "@hourly", "0 */6 * * MON"])
def test_cron_rejects_other_shapes(cron: str) -> None:
    assert errors(c.EtcdArgs, {"snapshotScheduleCron": cron}) == [
        (("snapshotScheduleCron",), "Value error, not a 5-field cron expression like '0 */6 * * *'")
    ]


# ---------------------------------------------------------------------------------------- registries


def test_mirror_endpoints_must_be_https_and_the_error_lists_the_bad_ones() -> None:
    with pytest.raises(ValidationError, match="mirror endpoints must be https:// URLs: http://a, ftp://b"):
        c.RegistryMirrorArgs(hostname="docker.io", endpoints=("https://ok", "http://a", "ftp://b"))


def test_allowed_registries_are_given_or_derived() -> None:
    given = c.RegistriesArgs(allowed=("b.example.com", "a.example.com", "b.example.com"))
    assert given.allowed_registries() == ["a.example.com", "b.example.com"]
    derived = c.RegistriesArgs.model_validate(
        {
            "systemDefaultRegistry": "sys.example.com",
            "configs": [{"hostname": "cfg.example.com"}],
            "mirrors": [{"hostname": "docker.io", "endpoints": ["https://m.example.com/v2/path"]}],
        }
    )
    assert derived.allowed_registries() == ["cfg.example.com", "m.example.com", "sys.example.com"]
    assert c.RegistriesArgs().allowed_registries() == []


def test_registries_config_renders_tls_and_mirrors_never_insecure() -> None:
    r = c.RegistriesArgs.model_validate(
        {
            "configs": [
                {
                    "hostname": "r.example.com",
                    "authConfigSecretName": "auth",
                    "tlsSecretName": "tls",
                    "caBundle": CA,
                }
            ],
            "mirrors": [
                {
                    "hostname": "docker.io",
                    "endpoints": ["https://m1", "https://m2"],
                    "rewrites": {"^b/(.*)": "x/$1", "^a/(.*)": "y/$1"},
                }
            ],
        }
    )
    assert plain(c.registries_config(r)) == {
        "configs": [
            {
                "hostname": "r.example.com",
                "auth_config_secret_name": "auth",
                "tls_secret_name": "tls",
                "ca_bundle": CA,
                "insecure": False,
            }
        ],
        "mirrors": [
            {
                "hostname": "docker.io",
                "endpoints": ["https://m1", "https://m2"],
                "rewrites": {"^a/(.*)": "y/$1", "^b/(.*)": "x/$1"},
            }
        ],
    }
    assert list(plain(c.registries_config(r))["mirrors"][0]["rewrites"]) == ["^a/(.*)", "^b/(.*)"]
    only_configs = c.RegistriesArgs.model_validate({"configs": [{"hostname": "r.example.com"}]})
    assert plain(c.registries_config(only_configs)) == {
        "configs": [{"hostname": "r.example.com", "insecure": False}],
    }
    no_rewrites = c.RegistriesArgs.model_validate(
        {"mirrors": [{"hostname": "*", "endpoints": ["https://m"]}]}
    )
    assert plain(c.registries_config(no_rewrites)) == {
        "mirrors": [{"hostname": "*", "endpoints": ["https://m"]}]
    }


# ----------------------------------------------------------------------------------------- upgrades


@pytest.mark.parametrize("value", ["1", "3", "1%", "50%"])
def test_worker_concurrency_bounded_values(value: str) -> None:
    assert c.UpgradeStrategyArgs(worker_concurrency=value).worker_concurrency == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be at least 1 and at most 50% so upgrades stay bounded"),
        ("0%", "must be at least 1 and at most 50% so upgrades stay bounded"),
        ("51%", "must be at least 1 and at most 50% so upgrades stay bounded"),
        ("ten", "a count like '2' or a percentage like '10%'"),
        ("10 %", "a count like '2' or a percentage like '10%'"),
    ],
)
def test_worker_concurrency_rejected_values(value: str, message: str) -> None:
    assert errors(c.UpgradeStrategyArgs, {"workerConcurrency": value}) == [
        (("workerConcurrency",), f"Value error, {message}")
    ]


def test_upgrade_strategy_drains_both_node_kinds_the_same_way() -> None:
    drain = {
        "enabled": False,
        "delete_empty_dir_data": True,
        "ignore_daemon_sets": True,
        "force": False,
        "grace_period": -1,
        "timeout": 900,
    }
    u = c.UpgradeStrategyArgs(worker_concurrency="2", drain=False, drain_timeout_seconds=900)
    assert plain(c.upgrade_strategy(u)) == {
        "control_plane_concurrency": "1",
        "worker_concurrency": "2",
        "control_plane_drain_options": drain,
        "worker_drain_options": drain,
    }


# ------------------------------------------------------------------------------------ cluster args


def test_unsupported_kubernetes_minor_names_the_supported_ones() -> None:
    with pytest.raises(ValidationError) as info:
        args(kubernetesVersion="v1.25.16+rke2r1")
    minors = sorted({m for pins in PINS.values() for m in pins.kubernetes_minors})
    assert "1.33" in minors and "1.25" not in minors
    assert problems(info.value) == [
        (
            ("kubernetesVersion",),
            f"Value error, RKE2 1.25 is not supported by Rancher {', '.join(PINS)}; "
            f"use one of {', '.join(minors)}",
        )
    ]


def test_cross_checks_collect_rke2_layout_and_snapshot_problems_together() -> None:
    bad = {
        "name": "prod",
        "kubernetesVersion": V133,
        "nodePools": [{"name": "all", "roles": ["etcd", "controlPlane", "worker"]}],
        "rke2": {"extraArgs": {"kubelet-arg": {"read-only-port": "10255"}}},
    }
    expected = [
        "rke2.extraArgs.kubelet-arg.read-only-port: '10255' weakens the hardened value '0' (fix: remove it, "
        "or set rke2.weakenings.kubeletReadOnlyPort: true (reported by the policy pack))",
        "nodePools: production needs an odd number of etcd nodes ≥ 3, got 1 (fix: set the etcd pools' "
        "quantity to 3 or 5)",
        "nodePools: production needs ≥ 2 control-plane nodes, got 1 (fix: raise the control-plane pool's "
        "quantity to 2 or more)",
        "nodePools.0.roles: production pools carry exactly one role, 'all' has etcd, controlPlane, worker "
        "(fix: split it into separate etcd, controlPlane and worker pools)",
        "etcd.s3: production clusters need off-cluster etcd snapshots (fix: configure etcd.s3, or set "
        "production: false for a non-production cluster)",
    ]
    assert errors(c.HardenedClusterArgs, bad) == [((), "Value error, " + "; ".join(expected))]


def test_custom_pools_make_a_custom_cluster() -> None:
    assert args().is_custom
    driver = {"type": "digitalocean", "region": "fra1", "size": "s-2vcpu-4gb", "image": "ubuntu-24-04-x64"}
    pools = [{**ALL_ROLES[0], "driver": driver, "cloudCredentialSecretName": "cattle-global-data:cc-1"}]
    assert not args(nodePools=pools).is_custom
    assert c.registration_commands(args(nodePools=pools), "curl x") == {}


def test_registration_commands_append_each_pools_roles() -> None:
    pools = [{"name": "cp", "roles": ["etcd", "controlPlane"]}, {"name": "w", "roles": ["worker"]}]
    assert c.registration_commands(args(nodePools=pools), "curl x | sh -s -") == {
        "cp": "curl x | sh -s - --etcd --controlplane",
        "w": "curl x | sh -s - --worker",
    }


# ------------------------------------------------------------------------------------------- steps


def test_rke2_extra_keys_carry_the_inline_policy_and_cidrs() -> None:
    a = args(network={"clusterCidr": "10.60.0.0/16", "serviceCidr": "10.61.0.0/16"})
    assert c.rke2_extra_keys(a) == {
        "audit-policy-file": a.audit.policy_yaml(),
        "cluster-cidr": "10.60.0.0/16",
        "service-cidr": "10.61.0.0/16",
    }
    assert c.rke2_extra_keys(args(audit={"delivery": "secret"})) == {}


def test_render_node_config_feeds_cni_registry_audit_flags_and_extra_keys() -> None:
    a = args(
        network={"cni": "calico", "multus": True, "clusterCidr": "10.60.0.0/16"},
        registries={"systemDefaultRegistry": "sys.example.com"},
    )
    rendered = yaml.safe_load(c.render_node_config(a).global_yaml)
    assert rendered["cni"] == ["multus", "calico"]
    assert rendered["system-default-registry"] == "sys.example.com"
    assert rendered["cluster-cidr"] == "10.60.0.0/16"
    assert rendered["audit-policy-file"] == a.audit.policy_yaml()
    flags = dict(f.split("=", 1) for f in rendered["kube-apiserver-arg"])
    assert all(flags[k] == v for k, v in a.audit.apiserver_flags().items())
    assert yaml.safe_load(c.render_node_config(a).selector_yaml) == {"protect-kernel-defaults": True}


def test_audit_policy_files_put_the_secret_on_control_planes_owner_only() -> None:
    class Secret:
        name = "dev-audit-policy"

    files = plain(c.audit_policy_files(Secret()))  # type: ignore[arg-type]
    assert files == [
        {
            "machine_label_selector": {"match_labels": {"rke.cattle.io/control-plane-role": "true"}},
            "file_sources": [
                {
                    "secret": {
                        "name": "dev-audit-policy",
                        "default_permissions": "0600",
                        "items": [
                            {
                                "key": "audit-policy.yaml",
                                "path": RKE2_AUDIT_POLICY_PATH,
                                "permissions": "0600",
                                "dynamic": True,
                            }
                        ],
                    }
                }
            ],
        }
    ]


def test_etcd_s3_config_keeps_tls_verification_and_picks_the_credential() -> None:
    a = args(etcd={"s3": {**S3, "folder": "f", "region": "eu", "endpointCa": CA}})
    assert plain(c.etcd_s3_config(a, None)) == {
        "bucket": "snaps",
        "endpoint": "s3.example.com",
        "folder": "f",
        "region": "eu",
        "endpoint_ca": CA,
        "cloud_credential_name": "cattle-global-data:cc-1",
        "skip_ssl_verify": False,
    }

    class Credential:
        id = "cattle-global-data:cc-made"

    made = c.etcd_s3_config(a, Credential())  # type: ignore[arg-type]
    assert made is not None and made.cloud_credential_name == "cattle-global-data:cc-made"


def test_cluster_inputs_carry_every_hardened_setting() -> None:
    a = args(
        network={"projectNetworkIsolation": False},
        authorizedEndpoint={"enabled": True, "fqdn": "k8s.example.com", "caCerts": CA},
        etcd={"snapshotScheduleCron": "0 */2 * * *", "snapshotRetention": 7},
        labels={"b": "2", "a": "1"},
        annotations={"y": "2", "x": "1"},
    )
    rendered = c.render_node_config(a)
    inputs = c.cluster_inputs(
        a, rendered, pod_security_template="tpl", selector_files=None, s3_config=None, machine_pools=[]
    )
    got = {k: plain(v) for k, v in inputs.items()}
    assert got == {
        "name": "dev",
        "fleet_namespace": "fleet-default",
        "kubernetes_version": V133,
        "enable_network_policy": False,
        "default_pod_security_admission_configuration_template_name": "tpl",
        "local_auth_endpoint": {"enabled": True, "fqdn": "k8s.example.com", "ca_certs": CA},
        "labels": {"a": "1", "b": "2"},
        "annotations": {"x": "1", "y": "2"},
        "rke_config": {
            "machine_global_config": rendered.global_yaml,
            "machine_selector_configs": [{"config": rendered.selector_yaml}],
            "etcd": {
                "disable_snapshots": False,
                "snapshot_schedule_cron": "0 */2 * * *",
                "snapshot_retention": 7,
            },
            "upgrade_strategy": plain(c.upgrade_strategy(a.upgrade)),
        },
    }
    assert list(got["labels"]) == ["a", "b"] and list(got["annotations"]) == ["x", "y"]
    bare = c.cluster_inputs(
        args(),
        c.render_node_config(args()),
        pod_security_template=None,
        selector_files=None,
        s3_config=None,
        machine_pools=[],
    )
    assert bare["labels"] is None and bare["annotations"] is None and bare["enable_network_policy"] is True


def test_cluster_identifier_outlives_credentials() -> None:
    assert c.cluster_identifier("prod", None) == "rancher-cluster:prod"
    assert c.cluster_identifier("prod", "https://rancher.example.com/") == (
        "rancher-cluster:prod@https://rancher.example.com"
    )
    # Only slashes are trimmed (a path prefix may end in any character).
    assert (
        c.cluster_identifier("prod", "https://example.com/X/") == "rancher-cluster:prod@https://example.com/X"
    )


def test_kubeconfig_goes_through_rancher_with_its_ca() -> None:
    doc = yaml.safe_load(c._kubeconfig("https://r/k8s/clusters/c-1", "tok", "prod", CA))
    assert doc == {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "prod",
                "cluster": {
                    "server": "https://r/k8s/clusters/c-1",
                    "certificate-authority-data": base64.b64encode(CA.encode()).decode(),
                },
            }
        ],
        "users": [{"name": "prod", "user": {"token": "tok"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
        "current-context": "prod",
    }
    assert (
        "certificate-authority-data"
        not in yaml.safe_load(c._kubeconfig("s", "t", "p"))["clusters"][0]["cluster"]
    )


def test_kubeconfig_keys_are_written_sorted() -> None:
    text = c._kubeconfig("s", "t", "p")
    top = [line.split(":")[0] for line in text.splitlines() if not line.startswith((" ", "-"))]
    assert top == ["apiVersion", "clusters", "contexts", "current-context", "kind", "users"]


def test_cluster_inputs_pass_the_built_parts_through() -> None:
    a = args(registries={"configs": [{"hostname": "r.example.com"}]})
    files, s3, pools = ["files"], "s3-target", ["pool"]
    rke = plain(
        c.cluster_inputs(
            a,
            c.render_node_config(a),
            pod_security_template=None,
            selector_files=files,  # type: ignore[arg-type]
            s3_config=s3,  # type: ignore[arg-type]
            machine_pools=pools,  # type: ignore[arg-type]
        )["rke_config"]
    )
    assert rke["machine_selector_files"] == files and rke["machine_pools"] == pools
    assert rke["etcd"]["s3_config"] == s3
    assert rke["registries"] == plain(c.registries_config(a.registries))


# -------------------------------------------------------------------------------------------- FIPS

CHACHA = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"


def test_a_fips_cluster_checks_its_own_cni_provider_and_cipher_lists() -> None:
    # The defaults (canal, no Multus, aescbc, the FIPS suites chosen for it) make a valid FIPS cluster.
    assert args(compliance={"fips": True}).compliance.fips
    bad = {
        "name": "dev",
        "kubernetesVersion": V133,
        "production": False,
        "nodePools": ALL_ROLES,
        "compliance": {"fips": True},
        "network": {"cni": "calico", "multus": True},
        "rke2": {
            "tlsCipherSuites": [CHACHA],
            "extraArgs": {"etcd-arg": {"cipher-suites": f"[{CHACHA}]"}},
        },
    }
    fips_suites = ", ".join(FIPS_CIPHER_SUITES)
    expected = [
        "network.cni: 'calico' is not rebuilt for FIPS (only canal is) (fix: use cni: canal, or set "
        "compliance.weakenings.nonFipsCni: true (reported by the pack))",
        "network.multus: Multus is not rebuilt for FIPS (only canal is) (fix: set multus: false, or set "
        "compliance.weakenings.nonFipsCni: true (reported by the pack))",
        f"rke2.tlsCipherSuites: not FIPS-approved: {CHACHA} (fix: use only {fips_suites} (the default on a "
        "FIPS cluster), or set compliance.weakenings.nonFipsCipherSuites: true (reported by the pack))",
        f"rke2.extraArgs.etcd-arg.cipher-suites: not FIPS-approved: {CHACHA} (fix: remove it: a FIPS "
        "cluster gives etcd the FIPS list of rke2.tlsCipherSuites)",
    ]
    assert errors(c.HardenedClusterArgs, bad) == [((), "Value error, " + "; ".join(expected))]


def test_render_node_config_renders_the_fips_lists_of_a_fips_cluster() -> None:
    fips_list = ",".join(FIPS_CIPHER_SUITES)
    rendered = yaml.safe_load(c.render_node_config(args(compliance={"fips": True})).global_yaml)
    assert rendered["etcd-arg"] == [f"cipher-suites=[{fips_list}]"]
    assert dict(f.split("=", 1) for f in rendered["kubelet-arg"])["tls-cipher-suites"] == fips_list
    assert "etcd-arg" not in yaml.safe_load(c.render_node_config(args()).global_yaml)


def test_cluster_labels_add_the_fips_mark_the_pack_keys_on() -> None:
    labels = {"b": "2", "a": "1"}
    fips = args(compliance={"fips": True}, labels=labels).cluster_labels()
    assert fips == {"a": "1", "b": "2", FIPS_LABEL: "true"}
    assert list(fips) == ["a", "b", FIPS_LABEL]
    assert args(labels=labels).cluster_labels() == {"a": "1", "b": "2"}
    assert args().cluster_labels() == {}


# ------------------------------------------------------------------------------------------ day 2


def test_cluster_inputs_carry_the_day2_operations() -> None:
    a = args(
        operations={
            "rotateCertificates": {"generation": 2, "services": ["etcd", "api-server"]},
            "etcdSnapshotCreate": {"generation": 5},
            "etcdSnapshotRestore": {"name": "dev-etcd-snapshot-abc", "generation": 1},
        }
    )
    rke = plain(
        c.cluster_inputs(
            a,
            c.render_node_config(a),
            pod_security_template=None,
            selector_files=None,
            s3_config=None,
            machine_pools=[],
        )["rke_config"]
    )
    assert rke["rotate_certificates"] == {"generation": 2, "services": ["api-server", "etcd"]}
    assert rke["etcd_snapshot_create"] == {"generation": 5}
    assert rke["etcd_snapshot_restore"] == {
        "name": "dev-etcd-snapshot-abc",
        "generation": 1,
        "restore_rke_config": "none",
    }
