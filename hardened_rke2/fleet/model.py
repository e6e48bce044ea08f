"""The fleet file (`fleet.yaml`): which stacks make up a fleet and what each needs before it.

    organization: acme                 # stack references are <organization>/<project>/<stack>
    policyPacks: [policy-packs/nsa-cisa-hardening]
    stacks:
      management: {kind: management}
      prod: {kind: cluster, dependsOn: [management]}
      payments-dev:
        kind: team
        project: stacks/teams/payments # the folder holding the team project's Pulumi.yaml
        stack: dev
        dependsOn: [prod]
        policyPackConfigs: [stacks/teams/payments/policy-pack-config.json]

Paths are relative to the fleet file. Kinds order the fleet: a stack may depend only on stacks of its own
kind or an earlier one (management, then clusters, then teams); unknown names and cycles are errors that
name the stack and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from components.model import HardenedModel
from components.problems import Problem
from components.validation_errors import validation_problems
from hardened_rke2.project import DEFAULT_PACK, PreviewUsageError, read_project
from hardened_rke2.safe_yaml import InputFileError, load_file

Kind = Literal["management", "cluster", "team"]
KIND_RANK: dict[str, int] = {"management": 0, "cluster": 1, "team": 2}

# Pulumi stack and organization names: letters, digits, `-`, `_`, `.` (the CLI's own rule).
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class FleetError(ValueError):
    """The fleet file is missing, unreadable or invalid; every problem at once, each naming its field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid fleet file:\n" + "\n".join(f"  - {p}" for p in problems))


class StackEntry(HardenedModel):
    kind: Kind
    """`management` (Rancher itself), `cluster` (a downstream cluster) or `team` (a team's own project)."""
    project: str = "."
    """Folder of the stack's Pulumi project (its `Pulumi.yaml`), relative to the fleet file."""
    stack: str | None = Field(default=None, pattern=_NAME)
    """Stack name (`Pulumi.<stack>.yaml` in the project's stackConfigDir); default: the entry's key."""
    depends_on: tuple[str, ...] = ()
    """Entries (keys of `stacks`) that must be previewed/updated first; their outputs feed this stack's
    StackReferences."""
    policy_pack_configs: tuple[str, ...] = ()
    """Config files for the fleet's policy packs, by position (as `--policy-pack-config`)."""
    stack_reference_outputs: str | None = None
    """Outputs of referenced stacks outside the fleet (the `--stack-reference-outputs` file format)."""


class FleetFile(HardenedModel):
    organization: str = Field(default="organization", pattern=_NAME)
    """Pulumi organization of every stack: references are `<organization>/<project name>/<stack>`."""
    policy_packs: tuple[str, ...] = (DEFAULT_PACK.as_posix(),)
    """Policy pack folders, relative to the fleet file, applied to every stack."""
    stacks: dict[str, StackEntry] = Field(min_length=1)


@dataclass(frozen=True)
class FleetStack:
    """One stack of a fleet, resolved: absolute paths and its fully-qualified name."""

    name: str
    """The entry's key in `stacks` (unique in the fleet)."""
    kind: str
    project_dir: Path
    project_name: str
    stack: str
    depends_on: tuple[str, ...]
    policy_pack_configs: tuple[Path, ...]
    stack_reference_outputs: Path | None
    organization: str

    @property
    def fqn(self) -> str:
        """`org/project/stack`: how other stacks' StackReferences name it."""
        return f"{self.organization}/{self.project_name}/{self.stack}"


@dataclass(frozen=True)
class Fleet:
    source: Path
    organization: str
    policy_packs: tuple[Path, ...]
    stacks: Mapping[str, FleetStack]
    levels: tuple[tuple[str, ...], ...]
    """Dependency levels: every stack's dependencies sit in earlier levels (names sorted in a level)."""

    def ordered(self) -> list[FleetStack]:
        return [self.stacks[n] for level in self.levels for n in level]


def load_fleet(path: str | Path) -> Fleet:
    """Read, validate and resolve a fleet file; raises `FleetError` with every problem found."""
    source = Path(path)
    try:
        data = load_file(source, "fleet file")
    except InputFileError as e:
        raise FleetError(str(source), [str(e)]) from None
    return parse_fleet(data, source)


def parse_fleet(data: Any, source: Path) -> Fleet:
    if not isinstance(data, Mapping):
        raise FleetError(str(source), ["the fleet file must be a mapping with `stacks:`"])
    try:
        model = FleetFile.model_validate(dict(data))
    except ValidationError as exc:
        raise FleetError(str(source), [p.render() for p in validation_problems(exc, FleetFile)]) from None
    base = source.resolve().parent
    problems = _graph_problems(model)
    packs = tuple((base / p).resolve() for p in model.policy_packs)
    problems += [
        Problem(("policyPacks", i), f"{p} is not a folder", "give the policy pack's folder").render()
        for i, p in enumerate(packs)
        if not p.is_dir()
    ]
    stacks: dict[str, FleetStack] = {}
    for name, entry in model.stacks.items():
        resolved = _resolve(name, entry, model, base, problems)
        if resolved is not None:
            stacks[name] = resolved
    problems += _duplicate_fqns(stacks)
    if problems:
        raise FleetError(str(source), problems)
    return Fleet(
        source=source,
        organization=model.organization,
        policy_packs=packs,
        stacks=stacks,
        levels=dependency_levels({n: s.depends_on for n, s in stacks.items()}),
    )


def _resolve(
    name: str, entry: StackEntry, model: FleetFile, base: Path, problems: list[str]
) -> FleetStack | None:
    where = ("stacks", name)
    if not re.match(_NAME, name):
        problems.append(Problem(where, "not a valid name", "use letters, digits, '-', '_' or '.'").render())
        return None
    try:
        project = read_project(base / entry.project)
    except PreviewUsageError as e:
        problems.append(
            Problem((*where, "project"), str(e), "name the folder holding the stack's Pulumi.yaml").render()
        )
        return None
    stack = entry.stack or name
    if not project.stack_file(stack).is_file():
        problems.append(
            Problem(
                (*where, "stack" if entry.stack else "project"),
                f"no stack file {project.stack_file(stack)}",
                "set `stack:` to an existing stack of the project",
            ).render()
        )
    configs = tuple((base / c).resolve() for c in entry.policy_pack_configs)
    if len(configs) > len(model.policy_packs):
        problems.append(
            Problem(
                (*where, "policyPackConfigs"),
                "more configs than the fleet's policyPacks",
                "give one per pack, by position",
            ).render()
        )
    for i, c in enumerate(configs):
        if not c.is_file():
            problems.append(
                Problem(
                    (*where, "policyPackConfigs", i), f"{c} does not exist", "give an existing JSON file"
                ).render()
            )
    refs = (base / entry.stack_reference_outputs).resolve() if entry.stack_reference_outputs else None
    if refs is not None and not refs.is_file():
        problems.append(
            Problem(
                (*where, "stackReferenceOutputs"), f"{refs} does not exist", "give an existing file"
            ).render()
        )
    return FleetStack(
        name=name,
        kind=entry.kind,
        project_dir=project.dir,
        project_name=project.name,
        stack=stack,
        depends_on=entry.depends_on,
        policy_pack_configs=configs,
        stack_reference_outputs=refs,
        organization=model.organization,
    )


def _graph_problems(model: FleetFile) -> list[str]:
    problems: list[str] = []
    names = set(model.stacks)
    for name, entry in model.stacks.items():
        for i, dep in enumerate(entry.depends_on):
            path = ("stacks", name, "dependsOn", i)
            if dep == name:
                problems.append(Problem(path, "a stack cannot depend on itself", "remove it").render())
            elif dep not in names:
                known = ", ".join(sorted(names))
                problems.append(Problem(path, f"unknown stack {dep!r}", f"use one of {known}").render())
            elif KIND_RANK[model.stacks[dep].kind] > KIND_RANK[entry.kind]:
                problems.append(
                    Problem(
                        path,
                        f"a {entry.kind} stack cannot depend on the {model.stacks[dep].kind} stack {dep!r}",
                        "the order is management, then clusters, then teams",
                    ).render()
                )
    if not problems:
        cycle = find_cycle({n: e.depends_on for n, e in model.stacks.items()})
        if cycle:
            problems.append(
                Problem(
                    ("stacks", cycle[0], "dependsOn"),
                    "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
                    "remove one of these dependencies",
                ).render()
            )
    return problems


def _duplicate_fqns(stacks: Mapping[str, FleetStack]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for name, s in stacks.items():
        if s.fqn in seen:
            problems.append(
                Problem(
                    ("stacks", name), f"the same stack ({s.fqn}) as {seen[s.fqn]!r}", "list each stack once"
                ).render()
            )
        seen.setdefault(s.fqn, name)
    return problems


def find_cycle(graph: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    """One dependency cycle (in dependency order), or None. Depth-first with colours; names sorted."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                return path[path.index(d) :]
            if d not in state and d in graph:
                found = visit(d)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def dependency_levels(graph: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """Level of a stack = 1 + the highest level of its dependencies (0 without any). The graph is acyclic."""
    level: dict[str, int] = {}

    def of(n: str) -> int:
        if n not in level:
            level[n] = 1 + max((of(d) for d in graph[n]), default=-1)
        return level[n]

    for n in graph:
        of(n)
    depth = max(level.values(), default=-1) + 1
    return tuple(tuple(sorted(n for n in graph if level[n] == i)) for i in range(depth))
