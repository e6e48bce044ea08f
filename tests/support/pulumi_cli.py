"""The Pulumi CLI flags the CI examples may use, as the CLI defines them.

Each flag is read from pulumi/pulumi at 1b5949891 (`pkg/cmd/pulumi/...`, the cobra flag definitions; file:line
below) or, for `pulumi env run` (it comes from the ESC CLI, not from pulumi/pulumi), from the Pulumi CLI
docs. A command missing here is not allowed in an example until its flags are added with their source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["bool", "value", "optional"]
"""bool: no value; value: takes the next word (or `=value`); optional: a value only as `--flag=value`
(cobra `NoOptDefVal`)."""

OPS = "pkg/cmd/pulumi/operations"
ENV_RUN_DOCS = "https://www.pulumi.com/docs/iac/cli/commands/pulumi_env_run/"


@dataclass(frozen=True)
class Flag:
    kind: Kind
    source: str
    short: str | None = None


@dataclass(frozen=True)
class Command:
    flags: dict[str, Flag]
    max_positional: int
    source: str
    positional_then_command: bool = False
    """`pulumi env run ENV -- COMMAND…`: one positional, then the command it runs."""
    notes: list[str] = field(default_factory=list)


# Persistent flags of the root command: every subcommand takes them.
GLOBAL_FLAGS: dict[str, Flag] = {
    "cwd": Flag("value", "pkg/cmd/pulumi/pulumi.go:451 (chdir before the command: :318)", "C"),
    "non-interactive": Flag("bool", "pkg/cmd/pulumi/pulumi.go:463"),
    "color": Flag("value", "pkg/cmd/pulumi/pulumi.go:477"),
}

COMMANDS: dict[tuple[str, ...], Command] = {
    ("preview",): Command(
        {
            "stack": Flag("value", f"{OPS}/preview.go:692", "s"),
            "policy-pack": Flag("value", f"{OPS}/preview.go:752"),
            "policy-pack-config": Flag("value", f"{OPS}/preview.go:755"),
            "diff": Flag("bool", f"{OPS}/preview.go:758"),
            "json": Flag("bool", f"{OPS}/preview.go:761", "j"),
            "refresh": Flag("optional", f"{OPS}/preview.go:774 (NoOptDefVal :776)", "r"),
            "run-program": Flag("bool", f"{OPS}/preview.go:778"),
            "suppress-progress": Flag("bool", f"{OPS}/preview.go:810"),
        },
        max_positional=1,
        source=f"{OPS}/preview.go:361, positional url :677-679",
    ),
    ("up",): Command(
        {
            "stack": Flag("value", f"{OPS}/up.go:766", "s"),
            "policy-pack": Flag("value", f"{OPS}/up.go:834"),
            "policy-pack-config": Flag("value", f"{OPS}/up.go:838"),
            "diff": Flag("bool", f"{OPS}/up.go:842"),
            "refresh": Flag("optional", f"{OPS}/up.go:858 (NoOptDefVal :861)", "r"),
            "run-program": Flag("bool", f"{OPS}/up.go:863"),
            "yes": Flag("bool", f"{OPS}/up.go:923", "y"),
        },
        max_positional=1,
        source=f"{OPS}/up.go:586, positional template-or-url :752-754",
    ),
    ("login",): Command(
        {
            "cloud-url": Flag("value", "pkg/cmd/pulumi/auth/login.go:280", "c"),
            "local": Flag("bool", "pkg/cmd/pulumi/auth/login.go:284", "l"),
        },
        max_positional=1,
        source="pkg/cmd/pulumi/auth/login.go:60, positional url :273-277",
    ),
    ("install",): Command(
        {
            "parallel": Flag("value", "pkg/cmd/pulumi/install/install.go:208"),
            "no-plugins": Flag("bool", "pkg/cmd/pulumi/install/install.go:213"),
        },
        max_positional=0,
        source="pkg/cmd/pulumi/install/install.go:55 (NoArgs :205); in a policy pack directory inside the "
        "project it installs the pack's dependencies (:65-82, :222-247)",
    ),
    ("env", "run"): Command(
        {
            "interactive": Flag("bool", ENV_RUN_DOCS, "i"),
            "lifetime": Flag("value", ENV_RUN_DOCS, "l"),
            "draft": Flag("value", ENV_RUN_DOCS),
        },
        max_positional=1,
        source=ENV_RUN_DOCS,
        positional_then_command=True,
    ),
}
