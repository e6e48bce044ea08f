"""`hardened-rke2 upgrade plan --stack S --to VERSION`: check an RKE2 upgrade before anyone edits config.

The move is refused (exit 2, each reason with its fix) unless every check passes:
1. the target is an RKE2 version and newer than the current one (RKE2 has no supported downgrade);
2. one Kubernetes minor at a time (Kubernetes' version-skew policy; RKE2 and Rancher upgrade in place one
   minor per step);
3. the stack's Rancher line offers the target's minor (`components.versions.PINS`);
4. every enabled add-on's chart (the line's pin or the stack's `chartVersion` override) supports the target
   minor (`components.versions.chart_compatibility`);
5. the stack config is valid with the target version, and the policy pack's version-support policy
   (`cluster-kubernetes-version-supported`) passes on the target preview.
Then it previews the stack twice offline (as it is, and with the target version, in memory; the stack
file is not touched) and plans the changes between the two with `plan.diff_previews`, exactly as
`preview --against` does. A plan that would replace or delete the cluster, a machine config or an add-on
says so first.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from blueprint.config import CONFIG_PREFIX
from components.addons import AddonsArgs, registry
from components.addons.istio import Istio
from components.problems import ConfigProblems
from components.rke2_config import Rke2Version
from components.versions import DEFAULT_RANCHER_LINE, PINS, chart_compatibility, pins_for
from hardened_rke2.analysis.errors import PolicyConfigError, PolicyPackLoadError, PolicyPackRuntimeError
from hardened_rke2.exit_codes import EXIT_MANDATORY, EXIT_OK, EXIT_PROGRAM, EXIT_USAGE
from hardened_rke2.plan import LOUD_TYPES, Plan, diff_previews, render_plan
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import (
    DEFAULT_PACK,
    PreviewUsageError,
    find_project_dir,
    load_stack_config,
    load_stack_reference_outputs,
    read_mapping_file,
    read_project,
)
from hardened_rke2.reports import OFFLINE_STATEMENT, to_json

NAME = "upgrade"
HELP = "check and plan an RKE2 upgrade of a cluster stack (`upgrade plan --stack S --to VERSION`)"
VERSION_POLICY = "cluster-kubernetes-version-supported"
CLUSTER_KEY = f"{CONFIG_PREFIX}cluster"
RANCHER_KEY = f"{CONFIG_PREFIX}rancher"
ADDONS_KEY = f"{CONFIG_PREFIX}addons"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="upgrade_command", required=True)
    p = sub.add_parser(
        "plan", help="check the move, then preview it and show the diff against today's config"
    )
    p.add_argument("--stack", "-s", required=True, help="cluster stack name (stacks/Pulumi.<stack>.yaml)")
    p.add_argument("--to", required=True, metavar="VERSION", help="target RKE2 release, e.g. v1.34.2+rke2r1")
    p.add_argument("--project", help="project directory (default: nearest directory upward with Pulumi.yaml)")
    p.add_argument(
        "--policy-pack",
        metavar="DIR",
        help=f"policy pack whose version-support policy must pass (default: <project>/{DEFAULT_PACK})",
    )
    p.add_argument("--policy-pack-config", metavar="FILE", help="JSON config for that policy pack")
    p.add_argument(
        "--secret-config",
        metavar="FILE",
        help="YAML/JSON map of config key -> plaintext for `secure:` values",
    )
    p.add_argument(
        "--stack-reference-outputs", metavar="FILE", help="outputs of the stacks this stack references"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "ok": self.ok, "detail": self.detail}
        if self.fix:
            out["fix"] = self.fix
        return out


@dataclass
class UpgradePlan:
    project: str
    stack: str
    current: str
    target: str
    rancher_line: str
    checks: list[Check] = field(default_factory=list)
    plan: Plan | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = EXIT_OK
    snapshot_generation: int = 0
    """The stack's current `cluster.operations.etcdSnapshotCreate.generation` (0 when unset)."""

    @property
    def refused(self) -> bool:
        return any(not c.ok for c in self.checks)

    @property
    def replacements(self) -> list[str]:
        """The plan's loud lines about the cluster, machine configs, add-ons and Kubernetes providers."""
        if self.plan is None:
            return []
        return [w for w in self.plan.warnings if "REPLACED" in w or "DELETED" in w]

    def status(self) -> str:
        if self.refused:
            return "refused"
        return "blocked" if self.exit_code == EXIT_MANDATORY else "planned"

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "from": self.current,
            "to": self.target,
            "rancherLine": self.rancher_line,
            "status": self.status(),
            "exitCode": self.exit_code,
            "replacements": self.replacements,
            "checks": [c.to_dict() for c in self.checks],
            "refusals": [c.to_dict() for c in self.checks if not c.ok],
            "diff": self.plan.to_dict() if self.plan is not None else None,
            "violations": self.violations,
            "next": self.next_steps() if not self.refused else [],
            "statement": OFFLINE_STATEMENT,
        }

    def next_steps(self) -> list[str]:
        """Snapshot etcd first (the way back is a restore of it, docs/day2.md), then the upgrade itself."""
        up = f"pulumi up --stack {self.stack} --refresh --run-program --policy-pack {DEFAULT_PACK}"
        return [
            f"pulumi config set --stack {self.stack} --path cluster.operations.etcdSnapshotCreate.generation "
            f"{self.snapshot_generation + 1}",
            up,
            f"pulumi config set --stack {self.stack} --path cluster.kubernetesVersion {self.target}",
            f"pulumi preview --stack {self.stack} --refresh --run-program --policy-pack {DEFAULT_PACK}",
            f"pulumi up --stack {self.stack} --refresh --run-program --policy-pack {DEFAULT_PACK}",
        ]


# ------------------------------------------------------------------------------------------------ checks


def version_checks(current: str, target: str, line: str) -> list[Check]:
    """Checks 1-3 (format, direction, one minor, offered by the Rancher line); stops at the first that
    makes the rest meaningless."""
    try:
        to = Rke2Version.parse(target)
    except ValueError as e:
        return [Check("target-version", False, str(e), "give --to an RKE2 release such as v1.34.2+rke2r1")]
    try:
        now = Rke2Version.parse(current)
    except ValueError as e:
        return [
            Check("current-version", False, f"cluster.kubernetesVersion: {e}", "fix the stack config first")
        ]
    checks: list[Check] = []
    order = (to.major, to.minor, to.patch, to.revision)
    now_order = (now.major, now.minor, now.patch, now.revision)
    if order <= now_order:
        detail = (
            f"the cluster is already at {target}"
            if order == now_order
            else f"{target} is older than {current}"
        )
        fix = "RKE2 clusters are not downgraded: give a newer release (an etcd snapshot restore goes back)"
        return [Check("newer", False, detail, fix)]
    checks.append(Check("newer", True, f"{current} -> {target}"))
    step = (to.major - now.major) * 100 + (to.minor - now.minor)
    if step > 1:
        between = f"{now.major}.{now.minor + 1}"
        checks.append(
            Check(
                "one-minor",
                False,
                f"{now.minor_key} -> {to.minor_key} skips {step - 1} Kubernetes minor(s): Kubernetes and "
                "RKE2 upgrade one minor at a time (control-plane version skew)",
                f"upgrade to the newest {between} release first "
                f"(upgrade plan --to v{between}.<patch>+rke2r<n>), then to {to.minor_key}",
            )
        )
    else:
        checks.append(Check("one-minor", True, f"{now.minor_key} -> {to.minor_key}"))
    pins = pins_for(line)
    if to.minor_key in pins.kubernetes_minors:
        checks.append(
            Check(
                "rancher-line",
                True,
                f"Rancher {line} offers {to.minor_key} ({', '.join(pins.kubernetes_minors)})",
            )
        )
    else:
        lines = [name for name, p in PINS.items() if to.minor_key in p.kubernetes_minors]
        fix = (
            f"upgrade Rancher to {' or '.join(lines)} first (the management stack), then set rancher.line"
            if lines
            else f"no Rancher line known here ({', '.join(PINS)}) offers {to.minor_key}: pick a release of "
            f"{', '.join(pins.kubernetes_minors)}, or add the new line to components/versions.py once its "
            "support matrix is checked"
        )
        checks.append(
            Check(
                "rancher-line",
                False,
                f"RKE2 {to.minor_key} is not offered for Rancher {line} "
                f"(it offers {', '.join(pins.kubernetes_minors)})",
                fix,
            )
        )
    return checks


def addon_checks(addons: AddonsArgs | None, line: str, target: str) -> list[Check]:
    """Check 4: each enabled add-on's chart version supports the target minor."""
    if addons is None:
        return []
    minor = Rke2Version.parse(target).minor_key
    pins = pins_for(line)
    checks: list[Check] = []
    for addon in registry.ADDONS:
        settings = addons.settings_of(addon)
        if not settings.enabled:
            continue
        pinned = addon.pinned_version(pins)
        override = getattr(settings, "chart_version", None)
        version = override or pinned
        where = f"addons.{_camel(addon.config_key)}.chartVersion"
        compat = chart_compatibility(version, upstream_istio=addon is Istio)
        name = f"addon:{addon.config_key}"
        if compat is None:
            checks.append(
                Check(
                    name,
                    False,
                    f"{where} {version}: no compatibility data for this chart version, so Kubernetes {minor} "
                    "cannot be confirmed",
                    f"remove the override (the Rancher {line} pin is {pinned}) or use a version listed in "
                    "components/versions.py",
                )
            )
        elif compat.supports(minor):
            checks.append(Check(name, True, f"{version} supports Kubernetes {minor} ({compat.source})"))
        else:
            supported = f"{compat.oldest}-{compat.newest}" if compat.oldest else f"up to {compat.newest}"
            fix = (
                f"set {where} to a release for Kubernetes {minor} (the Rancher {line} pin is {pinned}), "
                "or remove the override"
                if override
                else f"update the {addon.config_key} pin for Rancher {line} in components/versions.py"
            )
            checks.append(
                Check(
                    name,
                    False,
                    f"{where if override else addon.config_key + ' pin'} {version} supports Kubernetes "
                    f"{supported}, not {minor} ({compat.source})",
                    fix,
                )
            )
    return checks


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


# ----------------------------------------------------------------------------------------------- planning


def plan_upgrade(
    project_dir: Path,
    stack: str,
    target: str,
    *,
    policy_pack: Path | None,
    policy_pack_config: str | None = None,
    secret_values: Mapping[str, Any] | None = None,
    stack_reference_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> UpgradePlan:
    """Run the checks and, when they pass, the two previews and their diff. Raises `PreviewUsageError`
    for a stack that is not a cluster stack or cannot be read."""
    project = read_project(project_dir)
    values = load_stack_config(project, stack, secret_values=secret_values).values
    kind = values.get(f"{CONFIG_PREFIX}kind", "cluster")
    cluster = values.get(CLUSTER_KEY)
    if kind != "cluster" or not isinstance(cluster, Mapping):
        raise PreviewUsageError(
            f"stack {stack!r} is not a cluster stack (kind {kind!r}, no `cluster` mapping): only cluster "
            "stacks have a Kubernetes version to upgrade"
        )
    rancher = values.get(RANCHER_KEY) or {}
    line = str(rancher.get("line", DEFAULT_RANCHER_LINE)) if isinstance(rancher, Mapping) else ""
    if line not in PINS:
        raise PreviewUsageError(
            f"rancher.line {line!r} is not one of {', '.join(PINS)}: fix the stack config"
        )
    current = str(cluster.get("kubernetesVersion") or pins_for(line).default_kubernetes_version)
    result = UpgradePlan(project.name, stack, current, target, line)
    result.snapshot_generation = _snapshot_generation(cluster)
    result.checks = version_checks(current, target, line)
    if result.refused:
        result.exit_code = EXIT_USAGE
        return result
    result.checks += addon_checks(_addons(values.get(ADDONS_KEY)), line, target)
    if result.refused:
        result.exit_code = EXIT_USAGE
        return result

    overrides = {CLUSTER_KEY: {**cluster, "kubernetesVersion": target}}
    packs = [policy_pack] if policy_pack is not None else []
    pack_configs = [policy_pack_config] if policy_pack is not None and policy_pack_config else []
    after = preview_project(
        project.dir,
        stack,
        policy_packs=packs,
        policy_pack_configs=pack_configs,
        stack_reference_outputs=stack_reference_outputs,
        secret_values=secret_values,
        config_overrides=overrides,
    )
    if not _target_config_ok(after, result):
        return result
    _policy_checks(after, policy_pack, result)
    if result.refused:
        result.exit_code = EXIT_USAGE
        return result
    before = preview_project(
        project.dir, stack, stack_reference_outputs=stack_reference_outputs, secret_values=secret_values
    )
    if before.status != "ok":
        raise PreviewUsageError(
            f"the current config of stack {stack!r} does not preview ({before.status}: "
            f"{before.error or '; '.join(before.problems)}): fix it before planning an upgrade"
        )
    result.plan = diff_previews(to_json(before), to_json(after), f"{stack} at {current}")
    result.exit_code = after.exit_code
    return result


def _snapshot_generation(cluster: Mapping[str, Any]) -> int:
    ops = cluster.get("operations")
    create = ops.get("etcdSnapshotCreate") if isinstance(ops, Mapping) else None
    value = create.get("generation") if isinstance(create, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _addons(raw: Any) -> AddonsArgs | None:
    """The add-on settings as the program reads them (None when the stack has no `addons`). Invalid
    add-on settings are reported by the target preview, with every other config problem."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return AddonsArgs.model_validate(dict(raw))
    except (ConfigProblems, ValueError):
        return None


def _target_config_ok(after: PreviewResult, result: UpgradePlan) -> bool:
    if after.status == "ok":
        result.checks.append(Check("config", True, "the stack config is valid with the target version"))
        return True
    if after.status == "invalid-config":
        for problem in after.problems:
            result.checks.append(
                Check(
                    "config",
                    False,
                    f"with {result.target}: {problem}",
                    "fix that setting along with the upgrade",
                )
            )
        result.exit_code = EXIT_USAGE
        return False
    raise PreviewUsageError(f"the target preview failed ({after.status}): {after.error}")


def _policy_checks(after: PreviewResult, pack: Path | None, result: UpgradePlan) -> None:
    """Check 5: the pack's version-support policy on the target preview; every violation is listed."""
    if pack is None:
        result.checks.append(
            Check("version-policy", True, "no policy pack given (--policy-pack): the policy was not run")
        )
        return
    version_violations = [v for v in after.violations if v.policy_name == VERSION_POLICY]
    for v in after.violations:
        result.violations.append(
            {
                "policy": v.policy_name,
                "level": v.enforcement_level,
                "resource": f"{v.resource_type} {v.resource_name}".strip(),
                "message": v.message,
            }
        )
    if version_violations:
        for v in version_violations:
            result.checks.append(
                Check(
                    "version-policy",
                    False,
                    f"{VERSION_POLICY}: {v.message}",
                    "pick a release at or above the pack's minKubernetesVersion floor "
                    "(or change the floor in the pack config)",
                )
            )
    else:
        names = {p.name for s in after.packs for p in s.policies}
        ran = VERSION_POLICY in names or not names
        detail = f"{VERSION_POLICY} passes on the target" if ran else f"{VERSION_POLICY} is not in the pack"
        result.checks.append(Check("version-policy", ran, detail, "" if ran else "use the NSA/CISA pack"))


# ---------------------------------------------------------------------------------------------------- CLI


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        project_dir = Path(args.project).resolve() if args.project else find_project_dir()
        pack = _pack_dir(args.policy_pack, project_dir)
        secrets = read_mapping_file(args.secret_config, "secret config") if args.secret_config else None
        refs = (
            load_stack_reference_outputs(args.stack_reference_outputs)
            if args.stack_reference_outputs
            else None
        )
        result = plan_upgrade(
            project_dir,
            args.stack,
            args.to,
            policy_pack=pack,
            policy_pack_config=args.policy_pack_config,
            secret_values=secrets,
            stack_reference_outputs=refs,
        )
    except (PreviewUsageError, PolicyConfigError, PolicyPackLoadError, PolicyPackRuntimeError) as e:
        if args.json:
            doc = {
                "status": "usage-error",
                "exitCode": EXIT_USAGE,
                "error": str(e),
                "statement": OFFLINE_STATEMENT,
            }
            out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        else:
            err.write(f"error: {e}\n")
        return EXIT_USAGE
    if args.json:
        out.write(json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    else:
        render(result, out)
    return result.exit_code if result.exit_code in (EXIT_OK, EXIT_MANDATORY, EXIT_USAGE) else EXIT_PROGRAM


def _pack_dir(flag: str | None, project_dir: Path) -> Path | None:
    if flag:
        pack = Path(flag).resolve()
        if not pack.is_dir():
            raise PreviewUsageError(f"--policy-pack {flag}: not a directory")
        return pack
    default = project_dir / DEFAULT_PACK
    return default if default.is_dir() else None


def render(result: UpgradePlan, out: TextIO) -> None:
    out.write(
        f"Upgrade plan for {result.project}/{result.stack}: RKE2 {result.current} -> {result.target} "
        f"(Rancher {result.rancher_line})\n"
    )
    for line in result.replacements:  # said first: the one thing nobody may miss
        out.write(f"WARNING: {line}\n")
    out.write("\nChecks:\n")
    for c in result.checks:
        out.write(f"  {'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}\n")
        if not c.ok and c.fix:
            out.write(f"        fix: {c.fix}\n")
    out.write("\n")
    if result.refused:
        n = sum(1 for c in result.checks if not c.ok)
        out.write(f"REFUSED: {n} check(s) failed. Nothing was changed; fix the above and plan again.\n")
        out.write(OFFLINE_STATEMENT + "\n")
        return
    if result.plan is not None:
        render_plan(result.plan, out)
        loud = [s for s in result.plan.steps if s.op in ("replace", "delete") and s.type in LOUD_TYPES]
        if not loud:
            out.write("No cluster, machine config or add-on is replaced or deleted.\n\n")
    if result.violations:
        out.write(f"Policy findings on the target ({len(result.violations)}):\n")
        for v in result.violations:
            out.write(f"  {v['level']}: {v['policy']}  {v['resource']}\n    {v['message']}\n")
        out.write("\n")
    verdict = "BLOCKED by mandatory policy violations" if result.exit_code == EXIT_MANDATORY else "OK"
    out.write(f"Upgrade {verdict}. To apply it (an etcd snapshot first, then the version):\n")
    for cmd in result.next_steps():
        out.write(f"  {cmd}\n")
    out.write(OFFLINE_STATEMENT + "\n")
