"""CIS host preparation: the cloud-init merge and the custom-node shell script."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from components.host_prep import (
    CIS_SYSCTLS,
    SYSCTL_FILE_NAME,
    SYSCTL_PATH,
    CloudInitError,
    host_prep_script,
    render_node_cloud_init,
    sysctl_conf,
)
from components.node_pools import NodeDriverConfig

SH = shutil.which("sh")


def parse_sysctl(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def assert_cis_prepared(doc: dict[str, Any]) -> None:
    """The CIS preparation is present in a parsed cloud-config document."""
    assert "etcd" in doc["groups"]
    etcd = [u for u in doc["users"] if isinstance(u, dict) and u.get("name") == "etcd"]
    assert len(etcd) == 1
    assert etcd[0]["system"] is True
    assert etcd[0]["primary_group"] == "etcd"
    assert etcd[0]["shell"].endswith("nologin")
    files = [f for f in doc["write_files"] if f["path"] == SYSCTL_PATH]
    assert len(files) == 1 and doc["write_files"][0] == files[0]  # first: a bad user entry cannot skip it
    assert parse_sysctl(files[0]["content"]) == dict(CIS_SYSCTLS)
    assert files[0]["permissions"] == "0644"
    assert doc["runcmd"][0] == ["sysctl", "-p", SYSCTL_PATH]


# ----------------------------------------------------------------------------------------- cloud-init
def test_sysctls_are_the_rke2_cis_values() -> None:
    assert parse_sysctl(sysctl_conf()) == {
        "vm.panic_on_oom": "0",
        "vm.overcommit_memory": "1",
        "kernel.panic": "10",
        "kernel.panic_on_oops": "1",
    }


def test_cloud_init_without_user_data_keeps_default_user_and_prepares_cis() -> None:
    text = render_node_cloud_init(None)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert_cis_prepared(doc)
    assert "default" in doc["users"]  # node drivers SSH in as the distro's default user


def test_user_cloud_init_is_merged_without_losing_the_cis_prep() -> None:
    user = """#cloud-config
packages: [chrony]
runcmd:
  - echo user-step
write_files:
  - path: /etc/motd
    content: authorised use only
users:
  - name: ops
    groups: [wheel]
groups: [admins]
timezone: UTC
"""
    doc = yaml.safe_load(render_node_cloud_init(user))
    assert_cis_prepared(doc)
    assert doc["packages"] == ["chrony"]
    assert doc["timezone"] == "UTC"
    assert doc["runcmd"][1:] == ["echo user-step"]  # CIS prep runs before the user's commands
    assert {"path": "/etc/motd", "content": "authorised use only"} in doc["write_files"]
    assert doc["groups"] == ["etcd", "admins"]  # CIS entries first: a failing user entry cannot skip them
    # The user's own user list is respected (no `default` added back), etcd is appended.
    assert [u if isinstance(u, str) else u["name"] for u in doc["users"]] == ["etcd", "ops"]


def test_rendering_is_deterministic_and_sorted() -> None:
    user = "runcmd: [b]\npackages: [x]\nbootcmd: [a]\n"
    first, second = render_node_cloud_init(user), render_node_cloud_init(user)
    assert first == second
    top_keys = [line.split(":")[0] for line in first.splitlines()[1:] if line and not line[0].isspace()]
    top_keys = [k for k in top_keys if not k.startswith("-")]
    assert top_keys == sorted(top_keys)


def test_extras_add_packages_and_commands_after_the_user() -> None:
    extra = {"packages": ["qemu-guest-agent"], "runcmd": [["systemctl", "enable", "--now", "qga"]]}
    doc = yaml.safe_load(render_node_cloud_init("packages: [qemu-guest-agent, vim]\nruncmd: [u]\n", [extra]))
    assert doc["packages"] == ["qemu-guest-agent", "vim"]
    assert doc["runcmd"][1:] == ["u", ["systemctl", "enable", "--now", "qga"]]


@pytest.mark.parametrize(
    ("user", "needle"),
    [
        ("#!/bin/sh\necho hi\n", "shell script"),
        ("- a\n- b\n", "must be a mapping"),
        ("runcmd: [unclosed\n", "not valid YAML"),
        ("users: [{name: etcd, shell: /bin/bash}]\n", "userData.users"),
        ("groups: [{etcd: [ops]}]\n", "userData.groups"),
        ("write_files: [{path: /etc/sysctl.d/60-rke2-cis.conf, content: x}]\n", "userData.write_files"),
        ("runcmd: echo\n", "userData.runcmd"),
        ("packages: vim\n", "userData.packages"),
        ("write_files: [null]\n", "userData.write_files[0]"),
        ("write_files: [{content: x}]\n", "userData.write_files[0]"),
        ("users: [default, {shell: /bin/sh}]\n", "userData.users[1]"),
        ("groups: [[]]\n", "userData.groups[0]"),
        ("runcmd: [{a: b}]\n", "userData.runcmd[0]"),
    ],
)
def test_unmergeable_user_cloud_init_is_rejected_with_a_fix(user: str, needle: str) -> None:
    with pytest.raises(CloudInitError) as err:
        render_node_cloud_init(user)
    assert needle in str(err.value)
    assert "(fix:" in str(err.value)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)
_documents = st.dictionaries(
    st.sampled_from(["users", "groups", "write_files", "runcmd", "packages", "bootcmd", "ntp"]),
    _values,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(doc=_documents)
def test_any_user_document_merges_with_the_cis_prep_or_fails_cleanly(doc: dict[str, Any]) -> None:
    extra = {"packages": ["qemu-guest-agent"], "runcmd": [["systemctl", "start", "qga"]]}
    try:
        rendered = render_node_cloud_init(yaml.safe_dump(doc), [extra])
    except CloudInitError as err:
        assert "(fix:" in str(err)
        return
    assert_cis_prepared(yaml.safe_load(rendered))


# ------------------------------------------------------------------------------------- shell script
@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "host-prep.sh"
    path.write_text(host_prep_script())
    return path


@pytest.mark.skipif(SH is None, reason="no POSIX sh on this machine")
def test_script_is_valid_posix_sh(script: Path) -> None:
    assert SH is not None
    subprocess.run([SH, "-n", str(script)], check=True)
    if shutil.which("dash"):  # dash is a strict POSIX shell: no bashisms slip through
        subprocess.run(["dash", "-n", str(script)], check=True)


_FAKES = {
    # Fake system tools: the script runs as an unprivileged test, against a state directory.
    "id": 'echo "${FAKE_UID:-0}"',
    "getent": '[ -e "$STATE/$1.$2" ]',
    "groupadd": 'echo "groupadd $*" >> "$STATE/calls"; for a; do n=$a; done; '
    '[ ! -e "$STATE/group.$n" ] || exit 9; touch "$STATE/group.$n"',
    "useradd": 'echo "useradd $*" >> "$STATE/calls"; for a; do n=$a; done; '
    '[ ! -e "$STATE/passwd.$n" ] || exit 9; touch "$STATE/passwd.$n"',
    "sysctl": 'if [ "$1" = "-p" ]; then echo "sysctl -p $2" >> "$STATE/calls"; '
    "grep -v '^#' \"$2\" | while IFS='=' read -r k v; do k=$(echo $k); v=$(echo $v); "
    '[ "$k" = "${FAKE_STUCK:-}" ] || echo "$v" > "$STATE/sysctl.$k"; done; '
    'elif [ "$1" = "-n" ]; then cat "$STATE/sysctl.$2" 2>/dev/null || echo unset; fi',
}


def _run(script: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir, state, sysctl_dir = tmp_path / "bin", tmp_path / "state", tmp_path / "sysctl.d"
    bin_dir.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    for name, body in _FAKES.items():
        fake = bin_dir / name
        fake.write_text(f"#!/bin/sh\n{body}\n")
        fake.chmod(0o755)
    full_env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STATE": str(state),
        "HARDENED_RKE2_SYSCTL_DIR": str(sysctl_dir),
        **env,
    }
    assert SH is not None
    return subprocess.run([SH, str(script)], env=full_env, capture_output=True, text=True, check=False)


def _calls(tmp_path: Path) -> list[str]:
    calls = tmp_path / "state" / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.skipif(SH is None, reason="no POSIX sh on this machine")
def test_script_prepares_the_host_and_is_idempotent(script: Path, tmp_path: Path) -> None:
    first = _run(script, tmp_path)
    assert first.returncode == 0, first.stderr
    conf = tmp_path / "sysctl.d" / SYSCTL_FILE_NAME
    assert conf.read_text() == sysctl_conf()
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    calls = _calls(tmp_path)
    assert [c.split()[0] for c in calls] == ["groupadd", "useradd", "sysctl"]
    assert "--system" in calls[0] and calls[0].endswith(" etcd")
    assert "--system" in calls[1] and "--gid etcd" in calls[1] and calls[1].endswith(" etcd")
    shell = calls[1].split("--shell ")[1].split()[0]
    assert shell.endswith("/nologin") or shell == "/bin/false"
    for key, value in CIS_SYSCTLS.items():
        assert (tmp_path / "state" / f"sysctl.{key}").read_text().strip() == value
    inode, mtime = conf.stat().st_ino, conf.stat().st_mtime_ns

    second = _run(script, tmp_path)
    assert second.returncode == 0, second.stderr
    # Nothing is created twice (the fakes exit 9 if it were) and the file is left untouched.
    assert [c.split()[0] for c in _calls(tmp_path)[len(calls) :]] == ["sysctl"]
    assert (conf.stat().st_ino, conf.stat().st_mtime_ns) == (inode, mtime)
    assert "wrote" not in second.stdout
    assert sorted(p.name for p in conf.parent.iterdir()) == [SYSCTL_FILE_NAME]  # no temp files left


@pytest.mark.skipif(SH is None, reason="no POSIX sh on this machine")
def test_script_repairs_a_drifted_sysctl_file(script: Path, tmp_path: Path) -> None:
    conf = tmp_path / "sysctl.d" / SYSCTL_FILE_NAME
    conf.parent.mkdir()
    conf.write_text("vm.overcommit_memory = 0\n")
    result = _run(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert conf.read_text() == sysctl_conf()


@pytest.mark.skipif(SH is None, reason="no POSIX sh on this machine")
def test_script_fails_when_the_kernel_does_not_take_a_value(script: Path, tmp_path: Path) -> None:
    result = _run(script, tmp_path, FAKE_STUCK="kernel.panic")
    assert result.returncode != 0
    assert "kernel.panic" in result.stderr


@pytest.mark.skipif(SH is None, reason="no POSIX sh on this machine")
def test_script_refuses_to_run_unprivileged(script: Path, tmp_path: Path) -> None:
    result = _run(script, tmp_path, FAKE_UID="1000")
    assert result.returncode == 1
    assert "root" in result.stderr
    assert _calls(tmp_path) == []


# ------------------------------------------------------------------------------------------ shellcheck
SHELLCHECK = shutil.which("shellcheck")
# One minimal config per node driver; the test below fails when a driver is added and not listed here.
DRIVER_EXAMPLES: dict[str, dict[str, Any]] = {
    "amazonec2": {"type": "amazonec2", "region": "eu-west-1", "ami": "ami-0123", "zone": "a",
                  "vpcId": "vpc-1", "subnetId": "subnet-1", "securityGroups": ["rke2-nodes"]},
    "harvester": {"type": "harvester", "vmNamespace": "rke2", "sshUser": "ubuntu",
                  "disks": [{"imageName": "harvester-public/ubuntu", "sizeGb": 60, "bootOrder": 1}],
                  "networks": ["harvester-public/vlan10"]},
    "vsphere": {"type": "vsphere", "cloneFrom": "templates/ubuntu-24.04", "datacenter": "dc1",
                "datastore": "ds1", "networks": ["VM Network"]},
    "digitalocean": {"type": "digitalocean", "region": "fra1", "size": "s-4vcpu-8gb",
                     "image": "ubuntu-24-04-x64"},
}  # fmt: skip


def cloud_init_runcmd_script(cloud_config: str) -> str:
    """The shell script cloud-init makes of `runcmd` (cloudinit.util.shellify): list entries are quoted
    word by word, string entries are taken as shell code."""
    lines = ["#!/bin/sh"]
    for entry in yaml.safe_load(cloud_config)["runcmd"]:
        if isinstance(entry, list):
            lines.append(" ".join("'{}'".format(str(arg).replace("'", "'\\''")) for arg in entry))
        else:
            lines.append(entry)
    return "\n".join(lines) + "\n"


def _host_prep_variants() -> dict[str, str]:
    variants = {"custom": host_prep_script()}
    for driver, config in DRIVER_EXAMPLES.items():
        model = TypeAdapter(NodeDriverConfig).validate_python(config)
        variants[driver] = cloud_init_runcmd_script(model.cloud_init())
    return variants


def test_every_node_driver_has_a_shellcheck_variant() -> None:
    drivers = {get_args(m.model_fields["type"].annotation)[0] for m in get_args(NodeDriverConfig)}
    assert drivers == set(DRIVER_EXAMPLES)


@pytest.mark.skipif(
    SHELLCHECK is None, reason="shellcheck is not installed (Debian: apt-get install shellcheck)"
)
@pytest.mark.parametrize(
    "script_text", [pytest.param(text, id=variant) for variant, text in sorted(_host_prep_variants().items())]
)
def test_host_prep_is_shellcheck_clean(tmp_path: Path, script_text: str) -> None:
    assert SHELLCHECK is not None
    path = tmp_path / "host-prep.sh"
    path.write_text(script_text)
    # POSIX sh, every optional check's severity included: the rendered script must produce no finding.
    result = subprocess.run(
        [SHELLCHECK, "--shell=sh", "--severity=style", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
