"""CIS host preparation for RKE2 nodes: the `etcd` user/group and the kernel sysctls.

RKE2's `profile: cis` refuses to start unless every node has these sysctls set, and runs etcd as the
`etcd` user, which must exist before RKE2 starts. Node-driver pools get the preparation through
cloud-init (merged with the operator's own cloud-init); custom (bring-your-own) nodes get a POSIX shell
script that the operator runs before the registration command.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from components import yaml_render
from components.problems import ConfigProblems, Problem
from components.templates import heredoc_body, render_template, shell_word

# The values RKE2's CIS profile checks (rke2-cis-sysctl.conf shipped with RKE2).
CIS_SYSCTLS: Mapping[str, str] = {
    "kernel.panic": "10",
    "kernel.panic_on_oops": "1",
    "vm.overcommit_memory": "1",
    "vm.panic_on_oom": "0",
}
SYSCTL_DIR = "/etc/sysctl.d"
SYSCTL_FILE_NAME = "60-rke2-cis.conf"
SYSCTL_PATH = f"{SYSCTL_DIR}/{SYSCTL_FILE_NAME}"
ETCD_USER = "etcd"
ETCD_GROUP = "etcd"
NOLOGIN_SHELL = "/sbin/nologin"

# Cloud-init keys the CIS preparation writes to; every other key of the user's cloud-init is kept as is.
_OWNED_KEYS = ("groups", "users", "write_files", "runcmd")
# Keys merged as lists (ours or a driver's entries are added), so they must be lists in the user's document.
_LIST_KEYS = (*_OWNED_KEYS, "packages")


class _CloudConfigDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (file contents) as readable literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CloudConfigDumper.add_representer(str, _represent_str)


class CloudInitError(ConfigProblems):
    """The operator's cloud-init cannot be merged with the CIS host preparation."""

    @classmethod
    def at(cls, field: str | None, path: Sequence[str | int], message: str, fix: str) -> CloudInitError:
        # `field` names the cloud-init input for a direct caller; a pydantic validator passes None, since
        # pydantic already puts the field's location in front of the problem's path.
        return cls([Problem((*([field] if field else []), *path), message, fix)], style="yaml")


def sysctl_conf() -> str:
    """Content of /etc/sysctl.d/60-rke2-cis.conf (sorted, so it renders identically every time)."""
    lines = ["# Kernel parameters required by the RKE2 CIS profile (managed by hardened-rke2)."]
    lines += [f"{key} = {value}" for key, value in sorted(CIS_SYSCTLS.items())]
    return "\n".join(lines) + "\n"


def cis_cloud_config() -> dict[str, Any]:
    """The CIS preparation as a cloud-config mapping.

    The user is declared through cloud-init's `users` module (init stage) so it exists before the
    final stage, where Rancher's machine provisioning appends the rancher-system-agent install to
    `runcmd`; our `runcmd` entries are placed first for the same reason.
    """
    return {
        "groups": [ETCD_GROUP],
        "users": [
            {
                "name": ETCD_USER,
                "gecos": "etcd user",
                "primary_group": ETCD_GROUP,
                "system": True,
                "shell": NOLOGIN_SHELL,
                "lock_passwd": True,
            },
            "default",  # keep the distro's default user: node drivers log in with it over SSH
        ],
        "write_files": [
            {
                "path": SYSCTL_PATH,
                "owner": "root:root",
                "permissions": "0644",
                "content": sysctl_conf(),
            }
        ],
        "runcmd": [["sysctl", "-p", SYSCTL_PATH]],
    }


def parse_user_cloud_init(text: str | None, *, field: str | None = "userData") -> dict[str, Any]:
    """Parse the operator's `#cloud-config` YAML into a mapping ({} when empty)."""
    if text is None or not text.strip():
        return {}
    stripped = text.lstrip()
    if stripped.startswith("#!") or stripped.startswith("Content-Type:"):
        raise CloudInitError.at(
            field,
            (),
            "only '#cloud-config' YAML can be merged with the CIS host preparation, not a shell script or "
            "MIME multipart document",
            "move the commands into a 'runcmd' list of a #cloud-config document",
        )
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CloudInitError.at(
            field, (), f"is not valid YAML ({exc})", "supply a #cloud-config document"
        ) from exc
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise CloudInitError.at(
            field,
            (),
            f"a #cloud-config document must be a mapping, got {type(parsed).__name__}",
            "use top-level keys such as 'packages', 'runcmd', 'write_files'",
        )
    for key in _LIST_KEYS:
        if key in parsed and parsed[key] is not None and not isinstance(parsed[key], list):
            raise CloudInitError.at(field, (key,), "must be a list", f"write '{key}:' as a YAML list")
        for i, entry in enumerate(parsed.get(key) or []):
            if not _ENTRY_SHAPES[key](entry):
                raise CloudInitError.at(field, (key, i), *_ENTRY_HINTS[key])
    return parsed


# Malformed entries would make cloud-init abort a module on the node, possibly before the CIS entries.
_ENTRY_SHAPES: Mapping[str, Any] = {
    "groups": lambda e: isinstance(e, str) or (isinstance(e, dict) and bool(e)),
    "users": lambda e: isinstance(e, str) or (isinstance(e, dict) and isinstance(e.get("name"), str)),
    "write_files": lambda e: isinstance(e, dict) and isinstance(e.get("path"), str),
    "runcmd": lambda e: isinstance(e, str | list),
    "packages": lambda e: isinstance(e, str | list),
}
_ENTRY_HINTS: Mapping[str, tuple[str, str]] = {  # (message, fix)
    "groups": ("not a group", "use a group name or {name: [members]}"),
    "users": ("not a user", "use 'default' or a mapping with a 'name'"),
    "write_files": ("not a file", "use a mapping with 'path' and 'content'"),
    "runcmd": ("not a command", "use a string or a list of arguments"),
    "packages": ("not a package", "use a name or [name, version]"),
}


def _entry_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        name = entry.get("name")
        if isinstance(name, str):
            return name
        if len(entry) == 1:  # cloud-init groups form: {groupname: [members]}
            only = next(iter(entry))
            return only if isinstance(only, str) else None
    return None


def merge_cloud_config(
    user: Mapping[str, Any],
    *extras: Mapping[str, Any],
    field: str | None = "userData",
) -> dict[str, Any]:
    """Merge the CIS preparation, the operator's cloud-config and driver extras, deterministically.

    - `groups` / `users`: the `etcd` group/user first (cloud-init stops at the first entry it cannot
      create, so the CIS entries must not come after the operator's), then the user's entries. With no
      `users` of their own, the distro's `default` user is kept (node drivers SSH in with it); with
      their own list, their choice about `default` is respected. An operator-defined `etcd` user or
      group is rejected: the CIS profile depends on its exact shape.
    - `write_files`: ours, then the user's; the same path twice is rejected.
    - `runcmd`: CIS preparation first, then the user's, then driver extras.
    - `packages`: union, order preserved. Any other key: the user's value (extras fill absent keys).
    """
    cis = cis_cloud_config()
    merged: dict[str, Any] = copy.deepcopy(dict(user))
    (etcd_user,) = [u for u in cis["users"] if u != "default"]

    for key, what in (("users", ETCD_USER), ("groups", ETCD_GROUP)):
        if any(_entry_name(entry) == what for entry in merged.get(key) or []):
            raise CloudInitError.at(
                field,
                (key,),
                f"defines '{what}', which the CIS host preparation creates",
                f"remove the '{what}' entry",
            )
    user_users = merged.get("users")
    merged["users"] = [etcd_user, *(["default"] if user_users is None else user_users)]
    merged["groups"] = [*cis["groups"], *(merged.get("groups") or [])]

    files = list(merged.get("write_files") or [])
    paths = {f.get("path") for f in files if isinstance(f, dict)}
    for entry in cis["write_files"]:
        if entry["path"] in paths:
            raise CloudInitError.at(
                field,
                ("write_files",),
                f"writes {entry['path']}, which the CIS host preparation owns",
                "put extra sysctls in another file under /etc/sysctl.d/",
            )
    merged["write_files"] = cis["write_files"] + files  # ours first: nothing before it can abort the module

    merged["runcmd"] = [*cis["runcmd"], *(merged.get("runcmd") or [])]

    for extra in extras:
        for key, value in extra.items():
            if key == "runcmd":
                merged["runcmd"] = [*merged["runcmd"], *value]
            elif key == "packages":
                packages = list(merged.get("packages") or [])
                packages += [p for p in value if p not in packages]
                merged["packages"] = packages
            elif key not in merged:
                merged[key] = copy.deepcopy(value)
    return merged


def render_cloud_config(document: Mapping[str, Any]) -> str:
    """`#cloud-config` header + YAML with sorted keys (byte-identical across runs)."""
    body = yaml_render.dump(
        document,
        Dumper=_CloudConfigDumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
    )
    return "#cloud-config\n" + body


def render_node_cloud_init(
    user_text: str | None,
    extras: Sequence[Mapping[str, Any]] = (),
    *,
    field: str | None = "userData",
) -> str:
    """Parse the operator's cloud-init, merge the CIS preparation (and driver extras), render it."""
    user = parse_user_cloud_init(user_text, field=field)
    return render_cloud_config(merge_cloud_config(user, *extras, field=field))


def host_prep_script(*, fips: bool = False) -> str:
    """POSIX shell script that prepares a custom (bring-your-own) node for RKE2's CIS profile.

    Idempotent: it only creates what is missing and only rewrites the sysctl file when its content
    differs. Run it as root before the registration command. The sysctl directory can be redirected
    with HARDENED_RKE2_SYSCTL_DIR (used by the tests; leave it unset on real nodes).
    With `fips` (a FIPS cluster) it first refuses a node that is not x86_64 or whose kernel is not in FIPS
    mode (`/proc/sys/crypto/fips_enabled`; HARDENED_RKE2_FIPS_FLAG_FILE redirects it for the tests).
    The script is the packaged template `components/templates/host-prep.sh`.
    """
    return render_template(
        HOST_PREP_TEMPLATE,
        REQUIRE_FIPS="1" if fips else "0",
        ETCD_USER=shell_word(ETCD_USER),
        ETCD_GROUP=shell_word(ETCD_GROUP),
        SYSCTL_DIR=shell_word(SYSCTL_DIR),
        SYSCTL_FILE_NAME=shell_word(SYSCTL_FILE_NAME),
        SYSCTL_CONF=heredoc_body(sysctl_conf().rstrip("\n"), terminator=SYSCTL_HEREDOC),
        CIS_SETTINGS=" ".join(shlex.quote(f"{k}={v}") for k, v in sorted(CIS_SYSCTLS.items())),
    )


HOST_PREP_TEMPLATE = "host-prep.sh"
SYSCTL_HEREDOC = "HARDENED_RKE2_SYSCTL"  # the here-document delimiter in that template
