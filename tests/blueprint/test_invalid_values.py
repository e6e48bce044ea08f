"""Values that were accepted although invalid or weaker (issue 15): each is now a problem with its path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blueprint.config import StackConfigError, load_stack_config
from tests.support.stack_configs import stack_values

REPO = Path(__file__).resolve().parents[2]

Edit = Callable[[dict[str, Any]], None]


def _network(**kw: str) -> Edit:
    return lambda v: v["cluster"].setdefault("network", {}).update(kw)


def _audit_output(**kw: Any) -> Edit:
    return lambda v: v["addons"]["auditLogging"]["output"].update(kw)


def _rke2(**kw: Any) -> Edit:
    return lambda v: v["cluster"].setdefault("rke2", {}).update(kw)


def _server(**kw: Any) -> Edit:
    return lambda v: v["management"]["server"].update(kw)


def _tls(**kw: Any) -> Edit:
    return lambda v: v["management"]["server"]["tls"].update(kw)


CASES: list[tuple[str, str, Edit, str]] = [
    ("prod", "CIDR /33", _network(clusterCidr="10.42.0.0/33"), "cluster.network.clusterCidr"),
    (
        "prod",
        "overlapping CIDRs",
        _network(clusterCidr="10.42.0.0/16", serviceCidr="10.42.128.0/17"),
        "cluster.network.serviceCidr",
    ),
    ("prod", "Rancher URL host -..-", lambda v: v["rancher"].update(url="https://-..-"), "rancher.url"),
    ("prod", "syslog host", _audit_output(host="bad host!!"), "addons.auditLogging.output.host"),
    ("prod", "syslog port 70000", _audit_output(port=70000), "addons.auditLogging.output.port"),
    (
        "prod",
        "320-character label key with spaces",
        lambda v: v["cluster"].update(labels={"a b" * 107: "x"}),
        "cluster.labels",
    ),
    ("prod", "tlsSan not a host", _rke2(tlsSan=["not a host!"]), "cluster.rke2.tlsSan[0]"),
    (
        "prod",
        "quantity: true",
        lambda v: v["cluster"]["nodePools"][0].update(quantity=True),
        "nodePools[0].quantity: expected a number",
    ),
    (
        "prod",
        "Kubernetes version with a 21-digit patch",
        lambda v: v["cluster"].update(kubernetesVersion="v1.34." + "1" * 21 + "+rke2r1"),
        "cluster.kubernetesVersion",
    ),
    ("management", "malformed email", _tls(letsEncryptEmail="not-an-email@"), "letsEncryptEmail"),
    (
        "management",
        "plain-HTTP chart repository",
        _server(chartRepository="http://charts.example.com/rancher"),
        "management.server.chartRepository",
    ),
    (
        "management",
        "plain-HTTP cert-manager repository",
        _server(certManagerRepository="http://charts.jetstack.io"),
        "management.server.certManagerRepository",
    ),
    (
        "prod",
        "PSA template that is not known to enforce restricted",
        lambda v: v["cluster"].update(podSecurity={"template": "team-lenient"}),
        "cluster.podSecurity",
    ),
]


@pytest.mark.parametrize(
    ("stack", "edit", "path"), [(s, e, p) for s, _, e, p in CASES], ids=[c[1] for c in CASES]
)
def test_invalid_value_is_refused(stack: str, edit: Edit, path: str) -> None:
    values = stack_values(stack)
    edit(values)
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    assert any(path in p for p in info.value.problems), info.value.problems


def test_named_weakenings_accept_what_they_name() -> None:
    values = stack_values("management")
    values["management"]["server"].update(
        chartRepository="http://charts.example.com/rancher", allowPlainHttpChartRepositories=True
    )
    load_stack_config(values)
    values = stack_values("prod")
    values["cluster"]["podSecurity"] = {"template": "team-restricted", "allowUnverifiedTemplate": True}
    load_stack_config(values)


def test_valid_network_values_pass() -> None:
    values = stack_values("prod")
    values["cluster"].setdefault("network", {}).update(
        clusterCidr="10.42.0.0/16,fd00:42::/56", serviceCidr="10.43.0.0/16,fd00:43::/112"
    )
    values["cluster"].setdefault("rke2", {}).update(tlsSan=["api.example.com", "*.example.com", "10.0.0.1"])
    load_stack_config(values)


def test_invalid_value_from_a_secret_key_is_not_echoed() -> None:
    values = stack_values("prod")
    values["cluster"]["name"] = "Hunter2_Secret"
    values["cluster"]["labels"] = {"bad key!!": "x"}
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    assert any("Hunter2_Secret" in p for p in info.value.problems)  # plain config: shown, as before
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values, secret_keys={"cluster"})
    text = str(info.value)
    assert "Hunter2_Secret" not in text and "bad key!!" not in text
    assert "cluster.name: [secret] is not a DNS-1123 label" in text


def test_secret_key_redaction_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A whole `secure:` stack key whose plaintext (from --secret-config) is invalid: neither the text
    output nor the reports carry the value."""
    import json
    import shutil

    import yaml

    from hardened_rke2.cli import main

    stacks = REPO / "stacks"
    project = tmp_path / "proj"
    project.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "blueprint").symlink_to(REPO / "blueprint")
    (project / "stacks").mkdir()
    doc = yaml.safe_load((stacks / "Pulumi.dev.yaml").read_text())
    cluster = doc["config"]["hardened-rke2:cluster"]
    doc["config"]["hardened-rke2:cluster"] = {"secure": "AAABAEncrypted"}
    (project / "stacks" / "Pulumi.s.yaml").write_text(yaml.safe_dump(doc))
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"hardened-rke2:cluster": {**cluster, "name": "Hunter2_Secret"}}))
    report = tmp_path / "r.json"
    code = main(
        [
            "preview",
            "--project",
            str(project),
            "--stack",
            "s",
            "--secret-config",
            str(secrets),
            "--report-json",
            str(report),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert "cluster.name" in out and "Hunter2_Secret" not in out + err
    assert "Hunter2_Secret" not in report.read_text() and json.loads(report.read_text())["problems"]
