"""`hardened-rke2 evidence --stack NAME --out DIR`: what to hand an auditor for one stack, in one folder.

One offline preview with the NSA/CISA pack, written as:
- `evidence.md`: every recommendation of the catalogue with the setting that implements it, the policies
  that check it (with their levels) and this stack's result, or why the preview cannot decide it;
- `results.sarif`: the SARIF 2.1.0 report for code scanning;
- `assessment-results.json`, `component-definition.json`, `catalog.json`: OSCAL, built from the same
  preview and the pack's catalogue (the assessment results refer to the other two by file name).
The exit code is the preview's (0 passed, 1 mandatory violations, 2 bad input, 3 internal error); the files
are written for every preview that ran, passed or not.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from hardened_rke2.analysis.errors import (
    PolicyConfigError,
    PolicyPackImportError,
    PolicyPackLoadError,
    PolicyPackRuntimeError,
)
from hardened_rke2.assessment import Assessment, ControlResult, assess
from hardened_rke2.exit_codes import EXIT_PROGRAM, EXIT_USAGE
from hardened_rke2.pack_catalogue import Catalogue, load_catalogue
from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import (
    DEFAULT_PACK,
    PreviewUsageError,
    find_project_dir,
    load_stack_reference_outputs,
    read_mapping_file,
)
from hardened_rke2.reports import OFFLINE_STATEMENT, repository_root, to_sarif, tool_version, write_json

# `hardened_rke2.oscal` is imported inside the functions that build OSCAL: it loads compliance-trestle's
# models (about a second), and every `hardened-rke2` run imports this module to build its argument parser.

NAME = "evidence"
HELP = "write the evidence for one stack (Markdown, SARIF and OSCAL) into a folder"
EVIDENCE_FILE = "evidence.md"
SARIF_FILE = "results.sarif"
_STATE_TEXT = {
    "satisfied": "satisfied",
    "not-satisfied": "**not satisfied**",
    "not-checkable": "not checkable at preview",
}


def is_catalogue_pack(pack_dir: str | Path) -> bool:
    return (Path(pack_dir) / "nsa_cisa" / "catalogue.py").is_file()


def catalogue_pack(pack_dirs: Sequence[str | Path]) -> Path | None:
    """The first pack directory with the NSA/CISA control catalogue."""
    return next((Path(p).resolve() for p in pack_dirs if is_catalogue_pack(p)), None)


def assessment_results_text(
    result: PreviewResult, pack_dirs: Sequence[str | Path], now: dt.datetime | None = None
) -> str:
    """The OSCAL assessment results of a preview (`preview --report-oscal`)."""
    from hardened_rke2 import oscal

    pack = catalogue_pack(pack_dirs)
    if pack is None:
        raise PreviewUsageError("--report-oscal needs the NSA/CISA policy pack among --policy-pack")
    assessment = assess(result, load_catalogue(pack), now=now)
    return oscal.dump(oscal.build_assessment_results(assessment, tool_version=tool_version()))


# -- Markdown -----------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _setting(c: ControlResult) -> str:
    if c.control.implemented_by:
        return "<br>".join(_cell(s) for s in c.control.implemented_by)
    return "none: the policies check each resource" if c.control.enforced_by else "none"


def _policies(c: ControlResult, levels: dict[str, str]) -> str:
    if not c.control.enforced_by:
        return "none"
    return "<br>".join(f"`{p}` ({levels.get(p, '?')})" for p in c.control.enforced_by)


def _result(c: ControlResult) -> str:
    return f"{_STATE_TEXT[c.state]}: {_cell(c.reason)}"


def to_evidence_markdown(a: Assessment) -> str:
    from hardened_rke2 import oscal as files

    r, cat = a.result, a.catalogue
    counts = a.counts()
    oscal_files = ", ".join(
        f"`{name}`"
        for name in (files.ASSESSMENT_RESULTS_FILE, files.COMPONENT_DEFINITION_FILE, files.CATALOG_FILE)
    )
    levels = {name: p.level for name, p in cat.policies.items()} | {o.name: o.level for o in a.policies}
    lines = [
        f"# Evidence: `{r.project}` / `{r.stack}`: {cat.framework} {cat.framework_version}",
        "",
        f"- Assessed: {a.assessed_at.strftime('%Y-%m-%d %H:%M:%S UTC')}, by an offline preview "
        f"(`hardened-rke2 evidence --stack {r.stack}`), policy pack {cat.pack_name} {cat.pack_version}",
        f"- Preview: {r.status}, exit code {r.exit_code}; {len(r.resources)} resources",
        f"- Recommendations: {len(a.controls)}: {counts['satisfied']} satisfied, "
        f"{counts['not-satisfied']} not satisfied, {counts['not-checkable']} not checkable at preview",
        f"- Exemptions in force: {len(a.exemptions)}",
        f"- Files: `{EVIDENCE_FILE}` (this), `{SARIF_FILE}` (SARIF 2.1.0), {oscal_files} (OSCAL)",
        "",
        f"> {OFFLINE_STATEMENT}",
        "",
        "Setting: the component setting(s) of the blueprint that implement the recommendation. Policies: "
        "the policies that check it at preview, with their enforcement level in this run. Result: this "
        "stack's preview, or why a preview cannot decide it.",
        "",
    ]
    for section, title in cat.sections.items():
        group = [c for c in a.controls if c.control.section == section]
        lines += [f"## {title} ({len(group)})", ""]
        lines += ["| ID | Recommendation | Setting | Policies (level) | Result |", "|---|---|---|---|---|"]
        for c in group:
            lines.append(
                f"| {c.control.id} | {_cell(c.control.title)} | {_setting(c)} | "
                f"{_policies(c, levels)} | {_result(c)} |"
            )
        lines.append("")
    if a.exemptions:
        lines += ["## Exemptions in force", ""]
        lines += [
            "| Policy | Resource | Reason | Expires | Approved by | Source |",
            "|---|---|---|---|---|---|",
        ]
        for e in a.exemptions:
            rec = e.record
            lines.append(
                f"| `{rec.policy}` | `{e.resource_type}` {_cell(e.resource_name)} | {_cell(rec.reason)} | "
                f"{rec.expires.isoformat()} | {_cell(rec.approved_by) or '-'} | {rec.source} |"
            )
        lines.append("")
    failing = [o for o in a.policies if o.outcome in ("fail", "not-checkable")]
    if failing:
        lines += ["## Policy results other than pass", ""]
        lines += ["| Policy | Level | Outcome | Resource | Message |", "|---|---|---|---|---|"]
        for o in failing:
            for v in o.violations:
                where = f"`{v.resource_type}` {v.resource_name}" if v.resource_type else "stack"
                outcome = "not checkable" if v.is_preview_unknown else "violation"
                lines.append(f"| `{o.name}` | {o.level} | {outcome} | {_cell(where)} | {_cell(v.message)} |")
        lines.append("")
    if r.problems or r.error:
        lines += ["## The preview did not complete", "", "```", r.error or "\n".join(r.problems), "```", ""]
    return "\n".join(lines)


# -- the command -------------------------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", "-s", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder for the files (created if missing)"
    )
    parser.add_argument(
        "--project", help="project directory (default: nearest directory upward with Pulumi.yaml)"
    )
    parser.add_argument(
        "--policy-pack",
        metavar="DIR",
        help=f"the NSA/CISA policy pack (default: {DEFAULT_PACK} in the project or the nearest folder above)",
    )
    parser.add_argument("--policy-pack-config", metavar="FILE", help="JSON config for the policy pack")
    parser.add_argument(
        "--stack-reference-outputs",
        metavar="FILE",
        help="YAML/JSON mapping of referenced stack name (org/project/stack) to its outputs",
    )
    parser.add_argument(
        "--secret-config",
        metavar="FILE",
        help="YAML/JSON map of config key -> plaintext for `secure:` values (keep it out of the repo)",
    )


def _secret_values(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    return read_mapping_file(path, "secret config")


def _out_dir(value: str) -> Path:
    out = Path(value)
    if out.exists() and not out.is_dir():
        raise PreviewUsageError(f"--out {value}: is a file; name a folder")
    if not out.exists() and not out.resolve().parent.is_dir():
        raise PreviewUsageError(f"--out {value}: directory {out.resolve().parent} does not exist")
    return out


def _pack_dir(args: argparse.Namespace, project_dir: Path) -> Path:
    """`--policy-pack`, else the pack in the project or the nearest folder above it (a team project inside
    this repository finds the repository's pack)."""
    if args.policy_pack:
        pack = Path(args.policy_pack).resolve()
    else:
        candidates = [d / DEFAULT_PACK for d in (project_dir, *project_dir.parents)]
        pack = next((c for c in candidates if c.is_dir()), project_dir / DEFAULT_PACK)
    if not pack.is_dir():
        raise PreviewUsageError(f"policy pack directory {pack} does not exist (use --policy-pack DIR)")
    if not is_catalogue_pack(pack):
        raise PreviewUsageError(
            f"{pack} has no nsa_cisa/catalogue.py: not the NSA/CISA pack (use --policy-pack)"
        )
    return pack


def write_evidence(result: PreviewResult, catalogue: Catalogue, out: Path, repo_root: Path) -> Assessment:
    from hardened_rke2 import oscal

    out.mkdir(parents=True, exist_ok=True)
    a = assess(result, catalogue)
    (out / EVIDENCE_FILE).write_text(to_evidence_markdown(a) + "\n", encoding="utf-8")
    write_json(out / SARIF_FILE, to_sarif(result, base_dir=repo_root))
    documents = {
        oscal.ASSESSMENT_RESULTS_FILE: oscal.build_assessment_results(a, tool_version=tool_version()),
        oscal.COMPONENT_DEFINITION_FILE: oscal.build_component_definition(catalogue, a.assessed_at),
        oscal.CATALOG_FILE: oscal.build_catalog(catalogue, a.assessed_at),
    }
    for name, document in documents.items():
        oscal.write(document, out / name)
    return a


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        out_dir = _out_dir(args.out)
        project_dir = Path(args.project).resolve() if args.project else find_project_dir()
        pack = _pack_dir(args, project_dir)
        refs = (
            load_stack_reference_outputs(args.stack_reference_outputs)
            if args.stack_reference_outputs
            else None
        )
        catalogue = load_catalogue(pack)
        result = preview_project(
            project_dir,
            args.stack,
            policy_packs=[pack],
            policy_pack_configs=[args.policy_pack_config] if args.policy_pack_config else [],
            stack_reference_outputs=refs,
            secret_values=_secret_values(args.secret_config),
        )
    except PolicyPackImportError as e:  # the pack's own code failed: internal, as for `preview`
        err.write(f"internal error: {e}\n")
        return EXIT_PROGRAM
    except (PreviewUsageError, PolicyConfigError, PolicyPackLoadError, PolicyPackRuntimeError) as e:
        err.write(f"error: {e}\n")
        return EXIT_USAGE
    a = write_evidence(result, catalogue, out_dir, repository_root(project_dir))
    counts = a.counts()
    out.write(
        f"Evidence for {result.project}/{result.stack} in {out_dir}: {len(a.controls)} recommendations, "
        f"{counts['satisfied']} satisfied, {counts['not-satisfied']} not satisfied, "
        f"{counts['not-checkable']} not checkable at preview; preview exit code {result.exit_code}\n"
    )
    out.write(OFFLINE_STATEMENT + "\n")
    return result.exit_code
