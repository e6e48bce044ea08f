"""The stack program as Pulumi runs it: blueprint/__main__.py with the stack's config."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from hardened_rke2.capture import EchoMocks, ProgramRun, RecordingMonitor, run_program
from tests.support.stack_configs import MOCKS, NODE_COMMAND, stack_values, wire_config

REPO = Path(__file__).resolve().parents[2]
TEAM_OUTPUTS = {
    "clusterName",
    "clusterId",
    "clusterV1Id",
    "rancherUrl",
    "kubernetesVersion",
    "allowedRegistries",
    "projectNetworkIsolation",
    "kubeconfig",
}


def _main() -> None:
    runpy.run_module("blueprint.__main__", run_name="__main__")


def _run(stack: str, preview: bool = False) -> ProgramRun:
    return run_program(
        _main,
        project="hardened-rke2",
        stack=stack,
        config=wire_config(stack_values(stack)),
        mocks=MOCKS,
        preview=preview,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_exports_the_team_outputs(stack: str) -> None:
    run = _run(stack)
    out = run.stack_outputs
    assert set(out) >= TEAM_OUTPUTS
    assert out["clusterName"] == stack
    assert out["clusterV1Id"] == "c-m-12345"
    assert out["projectNetworkIsolation"] is True
    assert out["kubeconfig"][rpc._special_sig_key] == rpc._special_secret_sig
    kubeconfig = yaml.safe_load(out["kubeconfig"]["value"])
    assert kubeconfig["clusters"][0]["cluster"]["server"].endswith("/k8s/clusters/c-m-12345")


def test_dev_exports_custom_node_instructions() -> None:
    out = _run("dev").stack_outputs
    assert out["registrationCommand"][rpc._special_sig_key] == rpc._special_secret_sig
    assert "sysctl" in out["hostPrepScript"]
    per_pool = out["registrationCommands"]
    assert per_pool[rpc._special_sig_key] == rpc._special_secret_sig
    assert per_pool["value"] == {"all-in-one": f"{NODE_COMMAND} --etcd --controlplane --worker"}


def test_prod_exports_registries_and_no_registration_command() -> None:
    out = _run("prod").stack_outputs
    assert "registrationCommand" not in out and "hostPrepScript" not in out
    assert "registry.internal.example.com" in out["allowedRegistries"]


def test_preview_registers_the_expected_tree() -> None:
    run = _run("prod", preview=True)
    types = [r.type for r in run.resources]
    assert types.count("rancher2:index/machineConfigV2:MachineConfigV2") == 3
    cluster = run.one("rancher2:index/clusterV2:ClusterV2")
    component = run.one("hardened-rke2:cluster:HardenedCluster")
    assert cluster.parent == component.urn
    assert cluster.protect is True
    assert "rancher2:index/clusterSync:ClusterSync" in types and "pulumi:providers:kubernetes" in types


def test_invalid_config_raises_run_error_and_registers_nothing() -> None:
    values = stack_values("prod")
    values["cluster"]["rke2"] = {"extraArgs": {"kubelet-arg": {"anonymous-auth": "true"}}}
    values["cluster"]["network"] = {"projectNetworkIsolaton": False}
    monitor = RecordingMonitor(EchoMocks())
    with pytest.raises(pulumi.RunError) as info:
        run_program(_main, project="hardened-rke2", stack="prod", config=wire_config(values), monitor=monitor)
    text = str(info.value)
    assert (
        "cluster.rke2.extraArgs.kubelet-arg.anonymous-auth" in text
        or "cluster.network.projectNetworkIsolaton" in text
    )
    assert "Traceback" not in text
    assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []


@pytest.mark.slow
def test_program_imports_with_only_blueprint_on_sys_path() -> None:
    # Pulumi's language host runs main: blueprint/ with that folder first on sys.path; the modules must not
    # shadow stdlib/3rd-party names and the packages must come from the installed project.
    code = (
        "import sys; sys.path[0] = sys.argv[1]; "
        "import blueprint.config, blueprint.program, components.cluster, yaml, json, typing, types; "
        "print(blueprint.config.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code, str(REPO / "blueprint")], capture_output=True, text=True, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    import importlib.metadata

    names = {p.stem for p in (REPO / "blueprint").glob("*.py")} | {
        p.name for p in (REPO / "blueprint").iterdir() if (p / "__init__.py").exists()
    }
    taken = set(sys.stdlib_module_names) | set(importlib.metadata.packages_distributions())
    taken |= {"report", "test", "tests"}
    assert not (names - {"__init__", "__main__"}) & taken


def test_rancher_url_falls_back_to_provider_config(monkeypatch: pytest.MonkeyPatch) -> None:
    values = stack_values("dev")
    del values["rancher"]["url"]
    monkeypatch.setenv("RANCHER_URL", "https://rancher.from-env.example.com/")
    run = run_program(
        _main, project="hardened-rke2", stack="dev", config=wire_config(values), mocks=MOCKS, preview=False
    )
    assert run.stack_outputs["rancherUrl"] == "https://rancher.from-env.example.com"
    assert run.of_type("rancher2:index/token:Token")


def test_config_errors_raised_by_build_are_clean_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint import program
    from blueprint.config import ClusterStackConfig, stack_config_error
    from components.problems import Problem

    def failing_build(config: ClusterStackConfig) -> None:
        raise stack_config_error([Problem(("cluster", "x"), "resolved value is wrong", "set it")])

    monkeypatch.setitem(program.STACK_KINDS, "cluster", (ClusterStackConfig, failing_build))
    monitor = RecordingMonitor(EchoMocks())
    with pytest.raises(pulumi.RunError, match=r"cluster\.x: resolved value is wrong"):
        run_program(
            _main,
            project="hardened-rke2",
            stack="dev",
            config=wire_config(stack_values("dev")),
            monitor=monitor,
        )
    assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []


def test_missing_secret_config_at_deploy_is_a_clean_error() -> None:
    # The management stack reads ssoClientSecret from secret config; `pulumi up` without it must stop with
    # the key and the command that sets it (a RunError: no traceback), having registered nothing.
    monitor = RecordingMonitor(EchoMocks())
    with pytest.raises(pulumi.RunError) as info:
        run_program(
            _main,
            project="hardened-rke2",
            stack="management",
            config=wire_config(stack_values("management")),
            monitor=monitor,
            preview=False,
        )
    assert "sso.clientSecret: secret config hardened-rke2:ssoClientSecret is not set" in str(info.value)
    assert "pulumi config set --secret hardened-rke2:ssoClientSecret" in str(info.value)
    assert [r.type for r in monitor.captured if r.type != "pulumi:pulumi:Stack"] == []


def test_credentials_in_plain_stack_config_are_warned_about() -> None:
    values = stack_values("prod")
    s3 = values["cluster"]["etcd"]["s3"]
    del s3["cloudCredentialName"]
    s3.update(accessKey="AKIAEXAMPLE", secretKey="s3cr3t-example")
    plain_run = run_program(
        _main, project="hardened-rke2", stack="prod", config=wire_config(values), mocks=MOCKS, preview=True
    )
    warned = [w for w in plain_run.warnings if "a credential in plain stack config" in w]
    assert [w.split(":", 1)[0] for w in warned] == ["cluster.etcd.s3.accessKey", "cluster.etcd.s3.secretKey"]
    assert "pulumi config set --secret --path 'cluster.etcd.s3.secretKey'" in warned[1]
    assert not any("s3cr3t-example" in w for w in plain_run.warnings)
    secret_run = run_program(
        _main,
        project="hardened-rke2",
        stack="prod",
        config=wire_config(values),
        secret_keys=["hardened-rke2:cluster"],
        mocks=MOCKS,
        preview=True,
    )
    assert not [w for w in secret_run.warnings if "plain stack config" in w]
    cred = secret_run.one("rancher2:index/cloudCredential:CloudCredential")
    assert cred.is_secret("s3CredentialConfig.secretKey")
