"""The real fleet workspace: `pulumi preview` / `pulumi up` of each stack with the policy packs through
Pulumi's Automation API (`pulumi.automation`), which drives the `pulumi` CLI on PATH.

- one `PulumiCommand` for the fleet (it runs `pulumi version` once); per stack a `LocalWorkspace` on the
  stack's project folder and `Stack.select` (`pulumi stack select --stack <org/project/stack>`);
- preview: `Stack.preview(policy_packs=…, policy_pack_configs=…, on_event=…)`, which passes
  `--policy-pack`/`--policy-pack-config` and an `--event-log`; policy violations are counted from its
  `PolicyEvent`s (enforcement level `mandatory` or `advisory`/`warning`);
- up: the same flags as `Stack.up` (`up --yes --skip-preview … --event-log FILE --stack …`) through the
  workspace's `PulumiCommand`, reading the event log file afterwards. Not `Stack.up` itself: it reads the
  stack's outputs with `--show-secrets` after every update (pulumi/automation/_stack.py `up` ->
  `self.outputs()` -> _local_workspace.py `stack_outputs`), and this tool never decrypts secrets;
- outputs after an update: `pulumi stack output --json` (secrets stay masked as `[secret]`).
Dependencies' outputs are not handed to the engine here: a real StackReference reads the backend.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hardened_rke2.exit_codes import EXIT_MANDATORY, EXIT_PROGRAM
from hardened_rke2.fleet.model import FleetStack
from hardened_rke2.fleet.orchestrate import ReferenceOutputs, StackOutcome

OPERATIONS = ("preview", "up")


class AutomationWorkspace:
    def __init__(
        self,
        operation: str,
        policy_packs: Sequence[Path],
        *,
        max_parallel: int = 4,
        pulumi_command: Any = None,
    ) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}")
        from pulumi import automation as auto

        self.operation = operation
        self.policy_packs = [str(p) for p in policy_packs]
        self.max_parallel = max_parallel
        self._auto = auto
        # Constructing it runs `pulumi version` (and checks the CLI is new enough for the SDK).
        self.command = pulumi_command or auto.PulumiCommand()

    def run(self, stack: FleetStack, upstream: Mapping[str, ReferenceOutputs]) -> StackOutcome:
        auto = self._auto
        t0 = time.perf_counter()
        workspace = auto.LocalWorkspace(work_dir=str(stack.project_dir), pulumi_command=self.command)
        policies: list[Any] = []
        changes: dict[str, int] = {}
        failure = ""
        try:
            selected = auto.Stack.select(stack.fqn, workspace)
            configs = [str(p) for p in stack.policy_pack_configs]
            if self.operation == "preview":
                result = selected.preview(
                    policy_packs=self.policy_packs,
                    policy_pack_configs=configs or None,
                    on_event=lambda e: policies.append(e.policy_event) if e.policy_event else None,
                )
                changes = dict(result.change_summary or {})
            else:
                changes = self._up(workspace, stack, configs, policies)
        except auto.CommandError as e:
            failure = _failure(e)
        mandatory = sum(1 for p in policies if p.enforcement_level in ("mandatory", "remediate"))
        advisory = len(policies) - mandatory
        outputs: dict[str, Any] | None = None
        if mandatory:
            status, code = "violations", EXIT_MANDATORY
        elif failure:
            status, code = "error", EXIT_PROGRAM
        else:
            status, code = "ok", 0
            outputs = self._outputs(workspace, stack) if self.operation == "up" else {"outputs": {}}
        return StackOutcome(
            stack.name,
            status,
            exit_code=code,
            resources=sum(changes.values()),
            mandatory=mandatory,
            advisory=advisory,
            seconds=time.perf_counter() - t0,
            outputs=outputs,
            detail=failure,
            changes=changes,
        )

    def _up(
        self, workspace: Any, stack: FleetStack, configs: list[str], policies: list[Any]
    ) -> dict[str, int]:
        with tempfile.TemporaryDirectory(prefix="hardened-rke2-fleet-") as tmp:
            log = Path(tmp) / "events.jsonl"
            args = ["up", "--yes", "--skip-preview"]
            for p in self.policy_packs:
                args += ["--policy-pack", p]
            for c in configs:
                args += ["--policy-pack-config", c]
            args += ["--exec-kind", "auto.local", "--event-log", str(log), "--stack", stack.fqn]
            try:
                self.command.run(args, workspace.work_dir, dict(workspace.env_vars))
            finally:
                events = _read_events(self._auto, log)
                policies += [e.policy_event for e in events if e.policy_event]
        summaries = [e.summary_event for e in events if e.summary_event]
        return dict(summaries[-1].resource_changes or {}) if summaries else {}

    def _outputs(self, workspace: Any, stack: FleetStack) -> dict[str, Any]:
        """The stack's outputs as `pulumi stack output --json` prints them: secrets masked, never shown."""
        result = self.command.run(
            ["stack", "output", "--json", "--stack", stack.fqn], workspace.work_dir, dict(workspace.env_vars)
        )
        outputs = json.loads(result.stdout or "{}")
        return {
            "outputs": outputs,
            "secretOutputNames": sorted(k for k, v in outputs.items() if v == "[secret]"),
        }


def _read_events(auto: Any, log: Path) -> list[Any]:
    if not log.is_file():
        return []
    events = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.strip():
            events.append(auto.EngineEvent.from_json(json.loads(line)))
    return events


def _failure(error: Exception, n: int = 6) -> str:
    """`pulumi exited N: <the last lines of its stderr>` from a CommandError (its text is the CommandResult:
    code, stdout, stderr; pulumi/automation/_cmd.py `CommandResult.__str__`)."""
    text = str(error)
    code = re.search(r"code: (-?\d+)", text)
    _, _, stderr = text.partition(" stderr: ")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f"pulumi exited {code.group(1) if code else '?'}" + (
        ": " + " / ".join(lines[-n:]) if lines else ""
    )
