#!/usr/bin/env python
"""Generate `hardened_rke2/data/replace-on-change.json`: which input changes force a replacement.

    python scripts/gen_replace_table.py            # rewrite the data file
    python scripts/gen_replace_table.py --check    # exit 1 when the committed file is out of date

Sources (bare git mirrors, read with `git show <ref>:<path>`; nothing is copied, only field names and the
file:line where each rule is stated):
- rancher2: terraform-provider-rancher2 at RANCHER2_REF. `rancher2/provider.go` maps each TF resource name
  to its `resourceRancher2*()` function; that function's `Schema:` names the fields function; every
  top-level field of it with `ForceNew: true` forces a new resource (the TF bridge turns ForceNew into a
  Pulumi replace). `CustomizeDiff: customdiff.ForceNewIf(...)` is recorded as a conditional rule. The
  Pulumi type token and the TF resource name are paired through pulumi-rancher2's bridge metadata, else
  through the naming rule (`rancher2:index/fooBar:FooBar` <-> `rancher2_foo_bar`); each field is checked
  against the installed pulumi_rancher2 SDK's input names.
- kubernetes: pulumi-kubernetes at KUBERNETES_REF, `provider/pkg/provider/diff.go` (the `forceNew` table,
  `metadataForceNewProperties`, the Secret/ConfigMap mutability rules), `provider.go` (patch resources only
  replace on `.metadata.name/.namespace`) and `helm_release.go` (`.name`, `.namespace`).

The mirrors are not part of this repository; the script needs them only when the table is regenerated.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "hardened_rke2" / "data" / "replace-on-change.json"
# bare git mirrors of the provider repositories (owner+name/repo), e.g. made with `git clone --mirror`
MIRRORS = Path(os.environ.get("UPSTREAM_MIRRORS", "/work/.mirror"))
RANCHER2_GIT = MIRRORS / "rancher+terraform-provider-rancher2" / "repo"
RANCHER2_REF = "v15.0.0-rc.16"
PULUMI_RANCHER2_GIT = MIRRORS / "pulumi+pulumi-rancher2" / "repo"
PULUMI_RANCHER2_REF = "90a1e93d93e4e278b71fbf2f2bfa062f64037ef8"  # newest mirrored: only names types
KUBERNETES_GIT = MIRRORS / "pulumi+pulumi-kubernetes" / "repo"
KUBERNETES_REF = "94977969d64112b04e19945818a7d5d5f38f631d"  # v4.32.0-27, the newest mirrored

# Every rancher2 type the components can register (tests/hardened_rke2/test_replacements.py checks that the
# example stacks register nothing else); the AuthConfig* family because SSO picks one by name.
RANCHER2_TYPES = [
    "AppV2",
    "Bootstrap",
    "CatalogV2",
    "CloudCredential",
    "ClusterSync",
    "ClusterV2",
    "GlobalRole",
    "GlobalRoleBinding",
    "MachineConfigV2",
    "PodSecurityAdmissionConfigurationTemplate",
    "Project",
    "ProjectRoleTemplateBinding",
    "RoleTemplate",
    "SecretV2",
    "Setting",
    "Token",
    "AuthConfigActiveDirectory",
    "AuthConfigAdfs",
    "AuthConfigAzureAd",
    "AuthConfigCognito",
    "AuthConfigFreeIpa",
    "AuthConfigGenericOidc",
    "AuthConfigGithub",
    "AuthConfigGithubapp",
    "AuthConfigKeycloak",
    "AuthConfigKeycloakOidc",
    "AuthConfigOkta",
    "AuthConfigOpenLdap",
    "AuthConfigPing",
]
# Every kubernetes type the components and the example team project can register.
KUBERNETES_TYPES = [
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:LimitRange",
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ResourceQuota",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccountPatch",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:compliance.cattle.io/v1:ClusterScan",
    "kubernetes:fleet.cattle.io/v1alpha1:GitRepo",
    "kubernetes:fleet.cattle.io/v1alpha1:GitRepoRestriction",
    "kubernetes:logging.banzaicloud.io/v1beta1:ClusterFlow",
    "kubernetes:logging.banzaicloud.io/v1beta1:ClusterOutput",
    "kubernetes:management.cattle.io/v3:GlobalRolePatch",
    "kubernetes:management.cattle.io/v3:UserAttributePatch",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    "kubernetes:provisioning.cattle.io/v1:ClusterPatch",
    "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig",
    "kubernetes:neuvector.com/v1:NvAdmissionControlSecurityRule",
    "kubernetes:security.istio.io/v1:PeerAuthentication",
]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def show(repo: Path, ref: str, path: str) -> list[str]:
    return git(repo, "show", f"{ref}:{path}").splitlines()


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(camel_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel_name).lower()


# ------------------------------------------------------------------------------------------ rancher2


def _bridge_renames() -> dict[str, str]:
    """Pulumi token -> TF resource name, from pulumi-rancher2's bridge metadata (newest mirrored)."""
    try:
        text = git(
            PULUMI_RANCHER2_GIT,
            "show",
            f"{PULUMI_RANCHER2_REF}:provider/cmd/pulumi-resource-rancher2/bridge-metadata.json",
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        return {}
    return dict(json.loads(text)["renames"]["resources"])


def _function_body(ref: str, func: str) -> tuple[str, list[str], int]:
    """(file, lines of the function, 1-based line of its first line) of a Go function in rancher2/."""
    hits = git(RANCHER2_GIT, "grep", "-n", f"^func {func}(", ref, "--", "rancher2/").splitlines()
    hits = [h for h in hits if "_test.go" not in h]
    if len(hits) != 1:
        raise SystemExit(f"{func}: expected one definition at {ref}, found {hits}")
    _, path, line, _ = hits[0].split(":", 3)
    lines = show(RANCHER2_GIT, ref, path)
    start = int(line) - 1
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "}")
    return path, lines[start : end + 1], start + 1


def _sdk_inputs(cls_name: str) -> set[str]:
    import pulumi_rancher2

    args_cls = getattr(pulumi_rancher2, f"{cls_name}Args")
    return {p for p in inspect.signature(args_cls.__init__).parameters if p not in ("self", "__self__")}


def rancher2_entry(ref: str, token: str, tf_name: str, provider_lines: list[str]) -> dict[str, Any]:
    cls_name = token.rsplit(":", 1)[1]
    pattern = re.compile(rf'^\s*"{re.escape(tf_name)}":\s+(resourceRancher2\w+)\(\),')
    matches = [(i + 1, m.group(1)) for i, line in enumerate(provider_lines) if (m := pattern.match(line))]
    if len(matches) != 1:
        raise SystemExit(f"{tf_name}: not in rancher2/provider.go at {ref}")
    provider_line, resource_func = matches[0]
    res_path, res_lines, res_start = _function_body(ref, resource_func)
    schema_funcs = [m.group(1) for line in res_lines if (m := re.search(r"Schema:\s+(\w+)\(\)", line))]
    if len(schema_funcs) != 1:
        raise SystemExit(f"{resource_func}: cannot find its Schema: function")
    schema_path, body, body_start = _function_body(ref, schema_funcs[0])
    sdk_inputs = _sdk_inputs(cls_name)
    replace_on: list[dict[str, str]] = []
    current: tuple[str, int] | None = None
    for offset, line in enumerate(body):
        top = re.match(r'^\t\t"(\w+)":\s*\{', line)
        if top:
            current = (top.group(1), body_start + offset)
            continue
        if re.match(r"^\t+ForceNew:\s+true", line):
            depth = len(line) - len(line.lstrip("\t"))
            if depth != 3 or current is None:
                raise SystemExit(f"{schema_path}:{body_start + offset}: nested ForceNew, map it by hand")
            field, field_line = current
            if field not in sdk_inputs:
                raise SystemExit(f"{token}: TF field {field!r} is not an input of pulumi_rancher2.{cls_name}")
            replace_on.append({"path": camel(field), "source": f"{schema_path}:{field_line}"})
    conditional: list[dict[str, Any]] = []
    for offset, line in enumerate(res_lines):
        m = re.search(r'customdiff\.ForceNewIf\("(\w+)"', line)
        if m:
            conditional.append(
                {
                    "path": camel(m.group(1)),
                    "when": "the provider's condition holds (see source)",
                    "source": f"{res_path}:{res_start + offset}",
                }
            )
    entry: dict[str, Any] = {
        "tfResource": tf_name,
        "schema": f"{schema_path} ({schema_funcs[0]}), registered at rancher2/provider.go:{provider_line}",
        "replaceOn": sorted(replace_on, key=lambda e: e["path"]),
    }
    if conditional:
        entry["replaceOnIf"] = conditional
    return entry


def rancher2_table(ref: str) -> dict[str, Any]:
    renames = _bridge_renames()
    provider_lines = show(RANCHER2_GIT, ref, "rancher2/provider.go")
    out: dict[str, Any] = {}
    for cls_name in RANCHER2_TYPES:
        token = f"rancher2:index/{cls_name[:1].lower()}{cls_name[1:]}:{cls_name}"
        tf_name = renames.get(token) or "rancher2_" + snake(cls_name[:1].lower() + cls_name[1:])
        if token not in renames:
            # Auth configs newer than the mirrored bridge metadata: TF runs the words together.
            provider_names = {
                m.group(1) for line in provider_lines if (m := re.match(r'^\s*"(rancher2_\w+)":', line))
            }
            if tf_name not in provider_names:
                squashed = {n.replace("_", ""): n for n in provider_names}
                tf_name = squashed.get(tf_name.replace("_", ""), tf_name)
        out[token] = rancher2_entry(ref, token, tf_name, provider_lines)
    return out


# ---------------------------------------------------------------------------------------- kubernetes


def _line_of(lines: list[str], pattern: str, after: int = 0) -> int:
    rx = re.compile(pattern)
    for i in range(after, len(lines)):
        if rx.search(lines[i]):
            return i + 1
    raise SystemExit(f"pattern {pattern!r} not found in pulumi-kubernetes source")


def _go_properties(lines: list[str], start: int) -> list[str]:
    """The string literals of a `properties{...}` / `append(properties{...}, helper(...)...)` at `start`."""
    out: list[str] = []
    depth = 0
    opened = False
    for i in range(start - 1, len(lines)):
        line = lines[i]
        out += re.findall(r'"(\.[^"]+)"', line)
        for helper, prefix in re.findall(
            r"(labelSelectorForceNewProperties|containerForceNewProperties)\(([^)]*)\)", line
        ):
            for p in re.findall(r'"([^"]+)"', prefix):
                out += [p + s for s in _HELPERS[helper]]
        depth += line.count("{") + line.count("(") - line.count("}") - line.count(")")
        opened = opened or depth > 0
        if opened and depth <= 0:
            break
    return sorted(dict.fromkeys(out))


_HELPERS: dict[str, list[str]] = {}


def _helper_suffixes(lines: list[str], func: str) -> list[str]:
    start = _line_of(lines, rf"^func {func}\(")
    body: list[str] = []
    for i in range(start, len(lines)):
        if lines[i] == "}":
            break
        body += re.findall(r'prefix \+ "([^"]+)"', lines[i])
    return body


def to_path(go_path: str) -> str:
    return go_path.lstrip(".").replace("[*]", ".*")


def kubernetes_table(ref: str) -> dict[str, Any]:
    diff = show(KUBERNETES_GIT, ref, "provider/pkg/provider/diff.go")
    prov = show(KUBERNETES_GIT, ref, "provider/pkg/provider/provider.go")
    helm = show(KUBERNETES_GIT, ref, "provider/pkg/provider/helm_release.go")
    for helper in ("labelSelectorForceNewProperties", "containerForceNewProperties"):
        _HELPERS[helper] = _helper_suffixes(diff, helper)
    meta_line = _line_of(diff, r"^func metadataForceNewProperties\(")
    diff_func = _line_of(prov, r"^func \(k \*kubeProvider\) Diff\(")
    patch_line = _line_of(prov, r"kinds\.IsPatchResource\(", diff_func)
    helm_line = _line_of(helm, r'forceNewFields := \[\]string\{"\.name", "\.namespace"\}')
    secret_line = _line_of(diff, r"clients\.IsSecret\(obj\)")
    configmap_line = _line_of(diff, r"clients\.IsConfigMap\(obj\)")
    table_line = _line_of(diff, r"^var forceNew = _groups\{")
    core_line = _line_of(diff, r"^var core = _versions\{")
    kind_vars = {
        "Deployment": _line_of(diff, r"^var deployment = append\("),
        "DaemonSet": _line_of(diff, r"^var daemonset = append\("),
        "StatefulSet": _line_of(diff, r"^var statefulSet = append\("),
        "Job": _line_of(diff, r"^var job = append\("),
    }
    metadata = [
        {"path": "metadata.name", "source": f"provider/pkg/provider/diff.go:{meta_line}"},
        {"path": "metadata.namespace", "source": f"provider/pkg/provider/diff.go:{meta_line}"},
    ]
    out: dict[str, Any] = {}
    for token in KUBERNETES_TYPES:
        _, gv, kind = token.split(":")
        group, version = gv.rsplit("/", 1)
        entry: dict[str, Any]
        if token == "kubernetes:helm.sh/v3:Release":
            entry = {
                "replaceOn": [
                    {"path": p, "source": f"provider/pkg/provider/helm_release.go:{helm_line}"}
                    for p in ("name", "namespace")
                ]
            }
        elif kind.endswith("Patch"):
            entry = {
                "replaceOn": [
                    {**m, "source": f"provider/pkg/provider/provider.go:{patch_line}"} for m in metadata
                ],
                "note": "patch resources replace only when their identity changes",
            }
        else:
            fields: list[dict[str, str]] = list(metadata)
            conditional: list[dict[str, Any]] = []
            if group == "core" and kind == "Secret":
                conditional.append(
                    {
                        "paths": ["type", "stringData", "data"],
                        "unlessProvider": "enableSecretMutable",
                        "orImmutable": True,
                        "source": f"provider/pkg/provider/diff.go:{secret_line}",
                    }
                )
                fields.append({"path": "type", "source": f"provider/pkg/provider/diff.go:{secret_line}"})
            elif group == "core" and kind == "ConfigMap":
                conditional.append(
                    {
                        "paths": ["binaryData", "data"],
                        "unlessProvider": "enableConfigMapMutable",
                        "orImmutable": True,
                        "source": f"provider/pkg/provider/diff.go:{configmap_line}",
                    }
                )
            else:
                fields += _kind_fields(diff, group, version, kind, table_line, core_line, kind_vars)
            entry = {"replaceOn": sorted({f["path"]: f for f in fields}.values(), key=lambda f: f["path"])}
            if conditional:
                entry["replaceOnIf"] = conditional
        out[token] = entry
    return out


def _kind_fields(
    diff: list[str],
    group: str,
    version: str,
    kind: str,
    table_line: int,
    core_line: int,
    kind_vars: dict[str, int],
) -> list[dict[str, str]]:
    """Fields of the `forceNew` table for one group/version/kind (none for groups it does not list)."""
    listed = {
        ("apps", "v1"): ("DaemonSet", "Deployment", "StatefulSet"),
        ("batch", "v1"): ("Job",),
        ("rbac.authorization.k8s.io", "v1"): ("ClusterRoleBinding", "RoleBinding"),
        ("storage.k8s.io", "v1"): ("StorageClass",),
        ("core", "v1"): (
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "ResourceQuota",
            "Secret",
            "Service",
        ),
    }
    if kind not in listed.get((group, version), ()):
        return []
    if kind in kind_vars:
        start = kind_vars[kind]
    elif group == "core":
        start = _line_of(diff, rf'^\t\t"{kind}": ', core_line)
    else:
        start = _line_of(diff, rf'"{kind}"', table_line)
    props = _go_properties(diff, start)
    return [{"path": to_path(p), "source": f"provider/pkg/provider/diff.go:{start}"} for p in props]


# ---------------------------------------------------------------------------------------------- main


def build() -> dict[str, Any]:
    k8s_commit = git(KUBERNETES_GIT, "rev-parse", KUBERNETES_REF).strip()
    k8s_describe = git(KUBERNETES_GIT, "describe", "--tags", KUBERNETES_REF).strip()
    r2_commit = git(RANCHER2_GIT, "rev-parse", f"{RANCHER2_REF}^{{commit}}").strip()
    prov = show(KUBERNETES_GIT, KUBERNETES_REF, "provider/pkg/provider/provider.go")
    diffconfig = _line_of(prov, r"^func \(k \*kubeProvider\) DiffConfig\(")
    cluster_id_rule = _line_of(prov, r"if diff\.Same\(clusterIdentifierKey\)", diffconfig)
    computed_rule = _line_of(
        prov, r"for _, key := range \[\]resource\.PropertyKey\{\"kubeconfig\"", diffconfig
    )
    return {
        "about": (
            "Which input changes make the provider plan a replacement, per resource type the project "
            "registers. Generated by scripts/gen_replace_table.py from the provider sources named here; "
            "`source` is file:line in that upstream repository at that ref."
        ),
        "providerVersions": {
            "rancher2": {
                "sdk": f"pulumi_rancher2 {importlib.metadata.version('pulumi_rancher2')}",
                "readFrom": f"rancher/terraform-provider-rancher2 {RANCHER2_REF} ({r2_commit})",
                "why": (
                    "pulumi_rancher2 13.x bridges the provider's v15 line: its SDK has "
                    "GlobalRoleBinding.userPrincipalId and no NodePool, as v15 does (v14.1.1 has neither "
                    "change); the exact v15 commit it pins is not available offline, the newest mirrored "
                    "v15 tag is read"
                ),
            },
            "kubernetes": {
                "sdk": f"pulumi_kubernetes {importlib.metadata.version('pulumi_kubernetes')}",
                "readFrom": f"pulumi/pulumi-kubernetes {k8s_describe} ({k8s_commit})",
                "why": "newest mirrored source (the installed SDK is newer; no newer source offline)",
            },
        },
        "providers": {
            "pulumi:providers:kubernetes": {
                "replaceOn": [
                    "kubeconfig",
                    "context",
                    "cluster",
                    "renderYamlToDirectory",
                    "clusterIdentifier",
                ],
                "rule": (
                    "DiffConfig replaces the provider when kubeconfig/context/cluster is unknown or the "
                    "active cluster changes, or when clusterIdentifier changes; when clusterIdentifier is "
                    "set and unchanged it never replaces"
                ),
                "source": (
                    f"provider/pkg/provider/provider.go:{diffconfig} (DiffConfig), :{cluster_id_rule} "
                    f"(clusterIdentifier unchanged: no replace), :{computed_rule} "
                    "(unknown kubeconfig: replace)"
                ),
            },
            "pulumi:providers:rancher2": {
                "replaceOn": [],
                "rule": (
                    "TF-bridged DiffConfig replaces only for config fields marked ForcesProviderReplace; "
                    "pulumi-rancher2 marks none"
                ),
                "source": (
                    "pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go:843 (forcesProviderReplace) at "
                    "59de6c661df1; pulumi/pulumi-rancher2 provider/resources.go:64 (Config: no "
                    "ForcesProviderReplace) at 90a1e93d93e4"
                ),
            },
        },
        "engine": {
            "providerReplaced": (
                "pulumi/pulumi pkg/resource/deploy/step_generator.go:2925 at 1b5949891b3c: a resource whose "
                "provider reference changed is replaced (ReplaceKeys: provider)"
            ),
        },
        "resources": {**rancher2_table(RANCHER2_REF), **kubernetes_table(KUBERNETES_REF)},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail when the committed table is out of date")
    args = ap.parse_args()
    text = json.dumps(build(), indent=1, sort_keys=True) + "\n"
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(
                f"{OUT.relative_to(REPO)} is out of date: run scripts/gen_replace_table.py", file=sys.stderr
            )
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
