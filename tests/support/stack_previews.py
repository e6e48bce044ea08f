"""Helpers: offline previews (`--json` documents, no policy pack) of the example stacks, as they are or with
a config change, for the `--against` plan tests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from hardened_rke2.preview import PreviewResult, preview_project
from hardened_rke2.project import load_stack_reference_outputs
from hardened_rke2.reports import to_json

REPO = Path(__file__).resolve().parents[2]
TEAM = REPO / "stacks" / "teams" / "payments"
Mutation = Callable[[dict[str, Any]], None]


def throwaway_project(stack: str, tmp: Path, mutate: Mutation | None = None) -> Path:
    """A project under `tmp` whose `main` is this repository's program and whose only stack file is
    `stack`'s after `mutate(config)` (the stack file's `config:` mapping), so URNs (project and stack
    names) are the example stack's own. Returns the project directory."""
    config = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    if mutate is not None:
        config = copy.deepcopy(config)
        mutate(config["config"])
    (tmp / "stacks").mkdir(parents=True, exist_ok=True)
    project = {
        "name": "hardened-rke2",
        "runtime": "python",
        "main": str(REPO / "blueprint"),
        "stackConfigDir": "stacks",
    }
    (tmp / "Pulumi.yaml").write_text(yaml.safe_dump(project), encoding="utf-8")
    (tmp / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp


def preview_doc(stack: str, tmp: Path, mutate: Mutation | None = None) -> dict[str, Any]:
    """The `--json` document of `stack` after `mutate(config)`, previewed in a `throwaway_project`."""
    return to_json(preview_changed(stack, tmp, mutate))


def preview_changed(
    stack: str, tmp: Path, mutate: Mutation | None = None, *, policy_packs: Sequence[Path] = ()
) -> PreviewResult:
    """The preview of `stack` after `mutate(config)`, in a `throwaway_project`."""
    result = preview_project(throwaway_project(stack, tmp, mutate), stack, policy_packs=list(policy_packs))
    assert result.status == "ok", result.error or result.problems
    return result


PLATFORM_STACKS = tuple(
    sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*.yaml")
    )
)
"""The platform project's example stacks (cluster and management), from `stacks/Pulumi.<stack>.yaml`."""


def example_docs() -> dict[str, dict[str, Any]]:
    """Every example stack as it is (the team project with its platform outputs)."""
    docs = {}
    for stack in PLATFORM_STACKS:
        result = preview_project(REPO, stack)
        assert result.status == "ok", result.error
        docs[stack] = to_json(result)
    refs = load_stack_reference_outputs(str(TEAM / "platform-outputs.json"))
    for stack in ("dev", "broken"):
        result = preview_project(TEAM, stack, stack_reference_outputs=refs)
        assert result.status == "ok", result.error
        docs[f"team-{stack}"] = to_json(result)
    return docs


PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
EXAMPLES = (*PLATFORM_STACKS, "team-dev", "team-broken")


def example_with_pack(name: str) -> tuple[PreviewResult, list[Path]]:
    """An example stack (`dev`, `prod`, `management`, `team-dev`, `team-broken`) previewed with the NSA/CISA
    pack and the config CI gives it (the team's `policy-pack-config.json`), and that config's paths."""
    if name.startswith("team-"):
        configs = [TEAM / "policy-pack-config.json"]
        refs = load_stack_reference_outputs(str(TEAM / "platform-outputs.json"))
        stack = name.removeprefix("team-")
        result = preview_project(
            TEAM, stack, policy_packs=[PACK], policy_pack_configs=configs, stack_reference_outputs=refs
        )
    else:
        configs = []
        result = preview_project(REPO, name, policy_packs=[PACK])
    assert result.status == "ok", result.error or result.problems
    return result, configs
