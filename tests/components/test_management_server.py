"""RancherServer: the Rancher and cert-manager Helm values as the engine (and the policy pack) sees them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.management import RancherServer, RancherServerArgs
from components.versions import pins_for
from hardened_rke2.capture import EchoMocks, ProgramRun

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----\n"
MOCKS = EchoMocks(
    extra_outputs={"random:index/randomPassword:RandomPassword": lambda a: {"result": "generated"}}
)


def run_server(
    mock_run: Any,
    args: dict[str, Any],
    config: dict[str, str] | None = None,
    errors: list[Exception] | None = None,
) -> ProgramRun:
    """Run a RancherServer; with `errors`, a construction error is collected so the run still completes
    and shows everything that WAS registered."""
    import pulumi_kubernetes as k8s

    def program() -> None:
        provider = k8s.Provider("local", kubeconfig=None)
        try:
            RancherServer(
                "rancher", {"hostname": "rancher.example.com", **args}, kubernetes_provider=provider
            )
        except Exception as exc:
            if errors is None:
                raise
            errors.append(exc)

    return mock_run(program, mocks=MOCKS, config=config)


def problem_paths(err: ValidationError) -> set[str]:
    """Full dotted path of every problem (model-validator problems carry their own sub-paths)."""
    out = set()
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        problems = getattr((e.get("ctx") or {}).get("error"), "items", None)
        if problems:
            out |= {".".join([*loc, *(str(x) for x in p.path)]) for p in problems}
        else:
            out.add(".".join(loc))
    return out


def values(run: ProgramRun) -> dict[str, Any]:
    return run.one(RELEASE, "rancher").inputs["values"]


def test_default_values_are_hardened(mock_run: Any) -> None:
    run = run_server(mock_run, {})
    release = run.one(RELEASE, "rancher")
    v = release.inputs["values"]
    assert release.inputs["chart"] == "rancher"
    assert release.inputs["namespace"] == "cattle-system"
    assert release.inputs["version"] == pins_for("2.13").rancher_chart
    assert release.inputs["repositoryOpts"]["repo"] == "https://releases.rancher.com/server-charts/stable"
    assert v["hostname"] == "rancher.example.com"
    assert v["replicas"] == 3
    assert v["antiAffinity"] == "required"
    assert v["agentTLSMode"] == "strict"
    assert v["auditLog"] == {
        "enabled": True,
        "level": 2,
        "destination": "sidecar",
        "hostPath": "/var/log/rancher/audit/",
        "maxAge": 30,
        "maxBackup": 10,
        "maxSize": 100,
    }
    assert v["ingress"] == {"tls": {"source": "secret"}}
    assert v["privateCA"] is False
    assert v["useBundledSystemChart"] is False
    assert "systemDefaultRegistry" not in v
    assert v["bootstrapPassword"] == "generated"


def test_bootstrap_password_is_a_generated_secret(mock_run: Any) -> None:
    run = run_server(mock_run, {})
    assert run.one(RELEASE, "rancher").is_secret("values.bootstrapPassword")
    assert not run.one(RELEASE, "rancher").is_secret("values.hostname")
    assert "values" in run.one(RELEASE, "rancher").additional_secret_outputs
    pw = run.one("random:index/randomPassword:RandomPassword")
    assert pw.inputs["length"] >= 20


def test_secret_source_needs_no_cert_manager_and_namespace_comes_first(mock_run: Any) -> None:
    run = run_server(mock_run, {})
    assert [r.name for r in run.of_type(RELEASE)] == ["rancher"]
    ns = run.one(NAMESPACE)
    assert ns.inputs["metadata"]["name"] == "cattle-system"
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns.urn in run.one(RELEASE, "rancher").dependencies


@pytest.mark.parametrize("source", ["letsEncrypt", "rancher"])
def test_cert_manager_only_when_the_tls_source_needs_it(mock_run: Any, source: str) -> None:
    tls: dict[str, Any] = {"source": source}
    if source == "letsEncrypt":
        tls["letsEncryptEmail"] = "ops@example.com"
    else:
        tls["privateCaCertificate"] = PEM
    run = run_server(mock_run, {"tls": tls, "rancherLine": "2.12"})
    cm = run.one(RELEASE, "rancher-cert-manager")
    assert cm.inputs["chart"] == "cert-manager"
    assert cm.inputs["version"] == pins_for("2.12").cert_manager_chart
    assert cm.inputs["values"]["crds"] == {"enabled": True, "keep": True}
    assert cm.urn in run.one(RELEASE, "rancher").dependencies
    v = values(run)
    assert v["ingress"]["tls"]["source"] == source
    if source == "letsEncrypt":
        assert v["letsEncrypt"] == {
            "email": "ops@example.com",
            "environment": "production",
            "ingress": {"class": "nginx"},
        }


def test_private_ca_creates_tls_ca_secret_before_rancher(mock_run: Any) -> None:
    run = run_server(mock_run, {"tls": {"source": "secret", "privateCaCertificate": PEM}})
    assert values(run)["privateCA"] is True
    ca = run.one(SECRET, "rancher-private-ca")
    assert ca.inputs["metadata"] == {"name": "tls-ca", "namespace": "cattle-system"}
    assert ca.inputs["stringData"]["cacerts.pem"] == PEM.strip()  # models strip whitespace
    assert ca.urn in run.one(RELEASE, "rancher").dependencies


def test_ingress_certificate_from_secret_config_is_secret(mock_run: Any) -> None:
    args = {"tls": {"certificate": {"configKey": "tlsCert"}, "privateKey": {"configKey": "tlsKey"}}}
    run = run_server(mock_run, args, config={"hardened-rke2:tlsCert": "CERT", "hardened-rke2:tlsKey": "KEY"})
    secret = run.one(SECRET, "rancher-ingress-tls")
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert secret.inputs["metadata"]["name"] == "tls-rancher-ingress"
    assert secret.inputs["stringData"] == {"tls.crt": "CERT", "tls.key": "KEY"}
    assert secret.is_secret("stringData.tls.key") and secret.is_secret("stringData.tls.crt")
    assert secret.urn in run.one(RELEASE, "rancher").dependencies


def test_air_gap_values(mock_run: Any) -> None:
    run = run_server(
        mock_run,
        {
            "systemDefaultRegistry": "registry.internal:5000",
            "useBundledSystemChart": True,
            "chartRepository": "https://charts.internal/rancher",
            "tls": {"source": "rancher", "privateCaCertificate": PEM},
        },
    )
    v = values(run)
    assert v["systemDefaultRegistry"] == "registry.internal:5000"
    assert v["useBundledSystemChart"] is True
    assert run.one(RELEASE, "rancher").inputs["repositoryOpts"]["repo"] == "https://charts.internal/rancher"
    assert run.one(RELEASE, "rancher-cert-manager").inputs["values"]["image"] == {
        "registry": "registry.internal:5000"
    }


@pytest.mark.parametrize(
    ("line", "audit", "expected"),
    [
        ("2.11", {}, {"enabled": True, "level": 2}),
        ("2.11", {"enabled": False}, {"enabled": False, "level": 0}),
        ("2.12", {"level": 3}, {"enabled": True, "level": 3}),
        ("2.13", {"enabled": False}, {"enabled": False, "level": 2}),
        ("2.13", {"level": 1, "allowLowAuditLevel": True}, {"enabled": True, "level": 1}),
    ],
)
def test_line_specific_audit_values(
    mock_run: Any, line: str, audit: dict[str, Any], expected: dict[str, Any]
) -> None:
    run = run_server(mock_run, {"rancherLine": line, "auditLog": audit})
    got = values(run)["auditLog"]
    assert {k: got[k] for k in expected} == expected
    assert run.one(RELEASE, "rancher").inputs["version"] == pins_for(line).rancher_chart


def test_host_path_audit_destination(mock_run: Any) -> None:
    run = run_server(
        mock_run, {"auditLog": {"destination": "hostPath", "hostPath": "/var/log/rancher-audit/"}}
    )
    assert values(run)["auditLog"]["destination"] == "hostPath"
    assert values(run)["auditLog"]["hostPath"] == "/var/log/rancher-audit/"
    # a hostPath volume is only admitted at the privileged level; audit/warn stay restricted
    labels = run.one(NAMESPACE).inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


@pytest.mark.parametrize(
    ("args", "field", "needle"),
    [
        ({"hostname": "https://rancher.example.com"}, "hostname", "without scheme"),
        ({"replicas": 1}, "replicas", "allowReducedAvailability"),
        ({"antiAffinity": "preferred"}, "antiAffinity", "allowReducedAvailability"),
        ({"auditLog": {"level": 1}}, "auditLog.level", "allowLowAuditLevel"),
        ({"auditLog": {"level": 4}}, "auditLog.level", "less than or equal"),
        (
            {"rancherLine": "2.11", "auditLog": {"level": 0, "allowLowAuditLevel": True}},
            "auditLog.level",
            "turns the audit log off",
        ),
        ({"tls": {"source": "letsEncrypt"}}, "tls.letsEncryptEmail", "letsEncrypt"),
        ({"tls": {"source": "rancher"}}, "tls.privateCaCertificate", "allowUnverifiedBootstrapTls"),
        ({"tls": {"privateCaCertificate": "not a pem"}}, "tls.privateCaCertificate", "PEM"),
        ({"tls": {"certificate": {"configKey": "c"}}}, "tls.certificate", "go together"),
        ({"agentTlsMode": "off"}, "agentTlsMode", "strict"),
        ({"replicas": 3, "typo": 1}, "typo", "Extra inputs"),
    ],
)
def test_invalid_args_fail_before_any_resource(
    mock_run: Any, args: dict[str, Any], field: str, needle: str
) -> None:
    errors: list[Exception] = []
    run = run_server(mock_run, args, errors=errors)
    # only the stack and the test's own provider: the component registered nothing
    assert sorted(r.type for r in run.resources) == ["pulumi:providers:kubernetes", "pulumi:pulumi:Stack"]
    (err,) = errors
    assert isinstance(err, ValidationError)
    assert field in problem_paths(err)
    assert needle in str(err)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as err:
        RancherServerArgs.model_validate({"hostname": "Bad_Host", "replicas": 2, "antiAffinity": "preferred"})
    assert {"hostname", "replicas", "antiAffinity"} <= problem_paths(err.value)


def test_reduced_availability_is_explicit(mock_run: Any) -> None:
    run = run_server(mock_run, {"replicas": 1, "antiAffinity": "preferred", "allowReducedAvailability": True})
    assert values(run)["replicas"] == 1
    assert values(run)["antiAffinity"] == "preferred"


def test_args_are_camel_case_and_snake_case() -> None:
    a = RancherServerArgs.model_validate({"hostname": "r.example.com", "agentTlsMode": "strict"})
    b = RancherServerArgs(hostname="r.example.com", agent_tls_mode="strict")
    assert a == b


# --- one test per constructor step -------------------------------------------------------------------


def test_step_rancher_namespace_labels() -> None:
    from components.management.rancher_server import rancher_namespace_labels

    labels = rancher_namespace_labels(RancherServerArgs(hostname="rancher.example.com"))
    assert labels == {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def test_step_cert_manager_release_only_when_needed() -> None:
    import pulumi

    from components.management.rancher_server import cert_manager_release

    args = RancherServerArgs.model_validate(
        {
            "hostname": "rancher.example.com",
            "tls": {"source": "secret", "certificate": {"configKey": "c"}, "privateKey": {"configKey": "k"}},
        }
    )
    assert cert_manager_release("r", args, pins_for(args.rancher_line), pulumi.ResourceOptions()) is None


def test_step_tls_secrets_and_release(mock_run: Any) -> None:
    import pulumi
    import pulumi_kubernetes as k8s

    from components.management.rancher_server import rancher_namespace, rancher_release, tls_secrets

    def program() -> None:
        args = RancherServerArgs.model_validate(
            {
                "hostname": "rancher.example.com",
                "tls": {
                    "source": "secret",
                    "privateCaCertificate": PEM,
                    "certificate": {"configKey": "c"},
                    "privateKey": {"configKey": "k"},
                },
            }
        )
        opts = pulumi.ResourceOptions(provider=k8s.Provider("local", kubeconfig=None))
        ns = rancher_namespace("r", args, opts)
        secrets = tls_secrets("r", args, "crt", "key", ns, opts)
        assert len(secrets) == 2
        rancher_release("r", args, pins_for(args.rancher_line), "pw", [ns, *secrets], opts)

    run = mock_run(program, mocks=MOCKS)
    assert {r.name for r in run.of_type(SECRET)} == {"r-ingress-tls", "r-private-ca"}
    (release,) = run.of_type(RELEASE)
    assert release.inputs["chart"] == "rancher" and release.inputs["namespace"] == "cattle-system"
