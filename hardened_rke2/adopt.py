"""`hardened-rke2 adopt`: bring an existing Rancher-provisioned RKE2 cluster under the blueprint.

Reads a `provisioning.cattle.io/v1` `Cluster` (alone, or in a `List` with its machine configs) and writes:
- the stack config `stacks/Pulumi.<cluster>.yaml` reproducing the cluster, every weaker setting expressed
  through the blueprint's named weakening switches;
- the `pulumi import --file` document for the ClusterV2 (and the component that parents it);
- the hardening plan (Markdown, or JSON when the path ends in `.json`).
Then it previews the new stack offline (unless `--no-verify`): the import file's URNs must be the program's,
and every ClusterV2 input the stack would change must be named by a finding (listed in the plan). Nothing is
contacted or deployed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any, TextIO

import yaml

from hardened_rke2.adoption.compare import Change, changes, explained, rewritten
from hardened_rke2.adoption.findings import ROLLS
from hardened_rke2.adoption.importfile import import_file, import_urns
from hardened_rke2.adoption.mapping import Adoption, adopt
from hardened_rke2.adoption.plan import plan_document, plan_markdown
from hardened_rke2.adoption.source import AdoptionInputError, load_source
from hardened_rke2.exit_codes import EXIT_OK, EXIT_PROGRAM, EXIT_USAGE

NAME = "adopt"
HELP = "write a stack config, an import file and a hardening plan for an existing Rancher RKE2 cluster"
PROJECT = "hardened-rke2"
STATEMENT = (
    "Offline: nothing was contacted or deployed; the new stack was previewed with the offline engine "
    "(a real `pulumi preview --refresh` after the import remains the final word)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        required=True,
        metavar="FILE",
        help="the Cluster object (YAML/JSON from `kubectl get clusters.provisioning.cattle.io -n "
        "fleet-default NAME -o yaml`), or a List with it and its pools' machine configs",
    )
    parser.add_argument(
        "--out",
        metavar="STACK_FILE",
        help="stack config to write (default: stacks/Pulumi.<cluster>.yaml of the project)",
    )
    parser.add_argument(
        "--import-file", metavar="F", help="pulumi import file (default: <cluster>.import.json)"
    )
    parser.add_argument(
        "--plan",
        metavar="F",
        help="hardening plan: Markdown, or JSON if F ends in .json (default: <cluster>.plan.md)",
    )
    parser.add_argument(
        "--rancher-line",
        help="Rancher release line of the stack (default: the newest line that "
        "supports the cluster's Kubernetes version)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the offline preview of the new stack (import URNs, first-up changes)",
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON instead of a summary")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        source = load_source(args.cluster)
        adoption = adopt(source, rancher_line=args.rancher_line)
        paths = _paths(args, adoption)
    except AdoptionInputError as e:
        err.write(f"error: {e}\n")
        return EXIT_USAGE
    stack_file, import_path, plan_path = paths
    stack_text = stack_yaml(adoption, args.cluster)
    imports = import_file(adoption)
    first_up: list[Change] | None = None
    unexplained: list[Change] = []
    if not args.no_verify:
        try:
            first_up, unexplained = verify(adoption, source.cluster, stack_text, imports)
        except VerificationError as e:
            err.write(f"internal error: the adopted stack does not preview: {e}\n")
            return EXIT_PROGRAM
    doc = plan_document(
        adoption,
        stack_file=str(stack_file),
        import_path=str(import_path),
        first_up=first_up,
        unexplained=unexplained,
    )
    stack_file.parent.mkdir(parents=True, exist_ok=True)
    stack_file.write_text(stack_text, encoding="utf-8")
    import_path.write_text(json.dumps(imports, indent=4) + "\n", encoding="utf-8")
    if plan_path.suffix == ".json":
        plan_path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    else:
        plan_path.write_text(plan_markdown(doc, adoption.findings), encoding="utf-8")
    if args.json:
        out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    else:
        _summary(out, err, adoption, doc, stack_file, import_path, plan_path)
    if unexplained:
        err.write(
            f"internal error: {len(unexplained)} ClusterV2 change(s) no finding explains (see the plan)\n"
        )
        return EXIT_PROGRAM
    return EXIT_OK


def _paths(args: argparse.Namespace, adoption: Adoption) -> tuple[Path, Path, Path]:
    name = adoption.cluster_name
    stack_file = Path(args.out) if args.out else _project_stacks() / f"Pulumi.{name}.yaml"
    import_path = Path(args.import_file) if args.import_file else Path(f"{name}.import.json")
    plan_path = Path(args.plan) if args.plan else Path(f"{name}.plan.md")
    if not stack_file.name.startswith("Pulumi.") or stack_file.suffix not in (".yaml", ".yml"):
        raise AdoptionInputError(f"--out {stack_file}: a stack file is named Pulumi.<stack>.yaml")
    seen: set[Path] = set()
    for flag, p in (("--out", stack_file), ("--import-file", import_path), ("--plan", plan_path)):
        if p.resolve() in seen:
            raise AdoptionInputError(f"{flag} {p}: the same file as another output")
        seen.add(p.resolve())
        if p.is_dir():
            raise AdoptionInputError(f"{flag} {p}: is a directory; name a file")
        if p.exists() and not args.force:
            raise AdoptionInputError(f"{flag} {p}: exists (fix: choose another path or pass --force)")
        if not p.parent.exists() and p is not stack_file:
            raise AdoptionInputError(f"{flag} {p}: directory {p.parent} does not exist")
    return stack_file, import_path, plan_path


def _project_stacks() -> Path:
    from hardened_rke2.project import PreviewUsageError, find_project_dir, read_project

    try:
        project = read_project(find_project_dir())
    except PreviewUsageError:
        return Path("stacks")
    return project.stack_config_dir


def stack_yaml(adoption: Adoption, source_path: str) -> str:
    header = (
        f"# Adopted from Rancher cluster {adoption.rancher_id} ({Path(source_path).name}) by `hardened-rke2 "
        "adopt`.\n# It reproduces the cluster as it is: weaker settings use the named weakening switches; "
        "what the\n"
        "# blueprint cannot express is listed in the adoption plan (the first `pulumi up` changes it).\n"
    )
    config = {f"{PROJECT}:{k}": v for k, v in adoption.config.items()}
    return header + yaml.dump(
        {"config": config}, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=4096
    )


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (PEM bundles, cloud-init) as `|` blocks, so the stack file stays readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(c in value for c in "\t\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


class VerificationError(RuntimeError):
    pass


def engine_urns(resources: Any, *, stack: str, project: str) -> dict[str, Any]:
    """URN -> captured resource, with the URNs the real engine gives them: its parent's qualified type (the
    chain of ancestor types, the root stack left out) `$` its own type (pulumi/pulumi sdk/go/common/resource/
    urn/urn.go:80-93 `New`). The SDK's mock monitor builds URNs from the last parent type only and keeps the
    stack type (pulumi/runtime/mocks.py `make_urn`), so its URNs are not the ones `pulumi import` computes."""
    by_mock = {r.urn: r for r in resources}

    def qualified(r: Any) -> str:
        parent = by_mock.get(r.parent) if r.parent else None
        if parent is None or parent.type == "pulumi:pulumi:Stack":
            return str(r.type)
        return f"{qualified(parent)}${r.type}"

    return {f"urn:pulumi:{stack}::{project}::{qualified(r)}::{r.name}": r for r in resources}


def preview_adopted(stack_text: str, stack: str, policy_packs: tuple[str, ...] = ()) -> Any:
    """Offline preview of the adopted stack in a throwaway project whose program is this installation's
    blueprint (so the URNs are the real project's: project `hardened-rke2`)."""
    import blueprint
    from hardened_rke2.preview import preview_project

    with tempfile.TemporaryDirectory(prefix="hardened-rke2-adopt-") as tmp:
        root = Path(tmp)
        (root / "stacks").mkdir()
        project = {
            "name": PROJECT,
            "runtime": "python",
            "main": str(Path(blueprint.__file__).parent),
            "stackConfigDir": "stacks",
        }
        (root / "Pulumi.yaml").write_text(yaml.safe_dump(project), encoding="utf-8")
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(stack_text, encoding="utf-8")
        return preview_project(root, stack, policy_packs=policy_packs)


def verify(
    adoption: Adoption, cluster: dict[str, Any], stack_text: str, imports: dict[str, Any]
) -> tuple[list[Change], list[Change]]:
    stack = adoption.cluster_name
    result = preview_adopted(stack_text, stack)
    if result.status != "ok":
        raise VerificationError(result.error or "; ".join(result.problems))
    by_urn = engine_urns(result.resources, stack=stack, project=PROJECT)
    for name, urn in import_urns(imports, stack=stack, project=PROJECT).items():
        if urn not in by_urn:
            raise VerificationError(f"import entry {name}: the program registers no {urn}")
    urn = import_urns(imports, stack=stack, project=PROJECT)[adoption.cluster_name]
    inputs = by_urn[urn].inputs
    found = changes(cluster, inputs)
    if rewritten(cluster, inputs):
        adoption.notes.append(
            "the first `pulumi up` rewrites the RKE2 config Rancher puts on every node (the blueprint "
            "writes its "
            "hardened flags explicitly, also where RKE2's default already matches), so every node is "
            "re-planned "
            "once, node by node: " + ROLLS["rke2-config"]
        )
    return found, [c for c in found if not explained(c[0], adoption.covered)]


def _summary(
    out: TextIO,
    err: TextIO,
    adoption: Adoption,
    doc: dict[str, Any],
    stack_file: Path,
    import_path: Path,
    plan_path: Path,
) -> None:
    s = doc["summary"]
    out.write(f"Adopted {adoption.rancher_id} (Rancher line {adoption.rancher_line}):\n")
    out.write(f"  stack config  {stack_file}\n  import file   {import_path}\n  plan          {plan_path}\n")
    out.write(
        f"  {s['weakening']} weakenings kept through named switches, {s['difference']} other differences\n"
    )
    if doc["firstUpChanges"] is not None:
        out.write(
            f"  {len(doc['firstUpChanges'])} ClusterV2 inputs change on the first `pulumi up` (see the "
            f"plan)\n"
        )
    if s["unrepresentable"]:
        err.write(
            f"warning: {s['unrepresentable']} setting(s) cannot be represented by the blueprint; the first "
            f"`pulumi up` changes them (see {plan_path})\n"
        )
    for note in doc["notes"]:
        err.write(f"note: {note}\n")
    out.write(
        f"Next: pulumi stack init {adoption.cluster_name} && pulumi import --file {import_path} "
        "--generate-code=false --yes && pulumi preview --refresh --diff --policy-pack "
        "policy-packs/nsa-cisa-hardening\n"
    )
    out.write(STATEMENT + "\n")
