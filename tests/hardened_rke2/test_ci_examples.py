"""The CI pipelines to copy (`examples/ci/`): they parse, every `hardened-rke2` command in them is accepted by
the offline CLI's real argument parser, every `pulumi` command uses only flags the Pulumi CLI defines
(`tests/support/pulumi_cli.py`, with their sources), the paths they name exist, every example stack is
previewed, SARIF reaches code scanning, and `pulumi up` runs on main behind an approval gate."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardened_rke2 import cli
from tests.support.paths import REPO_ROOT
from tests.support.pulumi_cli import COMMANDS, GLOBAL_FLAGS, Flag

CI = REPO_ROOT / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (REPO_ROOT / "stacks").glob("Pulumi.*.yaml"))
SEPARATORS = {"&&", "||", ";", "|", "(", ")"}
GITHUB_EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
SHELL_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass(frozen=True)
class Script:
    """One `run:` / `script:` entry with the variables it sees."""

    where: str
    text: str
    variables: Mapping[str, str]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _github_scripts(doc: Mapping[str, Any]) -> Iterator[Script]:
    top = {str(k): str(v) for k, v in (doc.get("env") or {}).items()}
    for job_name, job in doc["jobs"].items():
        stacks = ((job.get("strategy") or {}).get("matrix") or {}).get("stack") or [None]
        job_env = {**top, **{str(k): str(v) for k, v in (job.get("env") or {}).items()}}
        for i, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            for stack in stacks:
                text = GITHUB_EXPR.sub(lambda m, s=stack: _github_expr(m.group(1), s), step["run"])
                yield Script(f"{GITHUB.name} jobs.{job_name}.steps[{i}]", text, job_env)


def _github_expr(expr: str, stack: str | None) -> str:
    if expr == "matrix.stack":
        assert stack is not None, "matrix.stack outside a matrix job"
        return stack
    if expr.startswith("secrets."):
        return "$" + expr.removeprefix("secrets.")
    raise AssertionError(f"unexpected expression in a run step: {expr}")


def _gitlab_job(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A job with its `extends` templates merged in, as GitLab does (mappings deep-merged, the job's own
    keys win, lists replaced)."""
    job = dict(doc[name])
    parents = job.pop("extends", [])
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = _deep_merge(merged, _gitlab_job(doc, parent))
    return _deep_merge(merged, job)


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, Mapping) and isinstance(out.get(key), Mapping)
        out[key] = _deep_merge(out[key], value) if both else value
    return out


def _gitlab_scripts(doc: Mapping[str, Any]) -> Iterator[Script]:
    top = {str(k): str(v) for k, v in (doc.get("variables") or {}).items()}
    for job_name in doc:
        # Hidden jobs (`.name`) are templates: they run only through the jobs that extend them.
        if not isinstance(doc[job_name], dict) or job_name.startswith(".") or job_name == "variables":
            continue
        job = _gitlab_job(doc, job_name)
        stacks = [None]
        for entry in (job.get("parallel") or {}).get("matrix") or []:
            stacks = entry.get("STACK") or stacks
        job_vars = {**top, **{str(k): str(v) for k, v in (job.get("variables") or {}).items()}}
        for key in ("before_script", "script", "after_script"):
            for i, line in enumerate(job.get(key) or []):
                for stack in stacks:
                    variables = {**job_vars, **({"STACK": stack} if stack else {})}
                    yield Script(f"{GITLAB.name} {job_name}.{key}[{i}]", line, variables)


def _commands(script: Script) -> Iterator[list[str]]:
    """Each simple command of a script, after line continuations are joined and `$VAR`s expanded from
    the variables the pipeline defines (others stay as they are)."""
    text = script.text.replace("\\\n", " ")
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in lexer:
            if token in SEPARATORS:
                if words:
                    yield words
                words = []
            else:
                words.append(SHELL_VAR.sub(lambda m: script.variables.get(m.group(1), m.group(0)), token))
        if words:
            yield words


def _all_scripts() -> list[Script]:
    return [*_github_scripts(_load(GITHUB)), *_gitlab_scripts(_load(GITLAB))]


def _strip_assignments(words: list[str]) -> list[str]:
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    return words


@dataclass
class PulumiCall:
    path: tuple[str, ...]
    options: dict[str, str | None]
    positional: list[str]


def parse_pulumi(argv: list[str]) -> list[PulumiCall]:
    """`pulumi …` words -> the calls it makes (a `pulumi env run ENV -- pulumi …` is two), checked against
    the flag table; raises AssertionError naming the first unknown command, flag or missing value."""
    assert argv[0] == "pulumi"
    words = argv[1:]
    path: tuple[str, ...] = ()
    while words and not words[0].startswith("-") and (*path, words[0]) in _command_prefixes():
        path = (*path, words.pop(0))
    assert path in COMMANDS, f"pulumi {' '.join(argv[1:3])}: not a command in the flag table"
    command = COMMANDS[path]
    known: dict[str, tuple[str, Flag]] = {}
    for name, flag in {**GLOBAL_FLAGS, **command.flags}.items():
        known[f"--{name}"] = (name, flag)
        if flag.short:
            known[f"-{flag.short}"] = (name, flag)
    call = PulumiCall(path, {}, [])
    calls = [call]
    while words:
        word = words.pop(0)
        if word == "--":
            if command.positional_then_command:
                assert len(call.positional) == 1, f"pulumi {' '.join(path)}: needs the environment before --"
                assert words and words[0] == "pulumi", f"pulumi {' '.join(path)} runs {words[:1]}"
                return [*calls, *parse_pulumi(words)]
            call.positional += words
            break
        if word.startswith("-"):
            name_part, eq, value = word.partition("=")
            assert name_part in known, f"pulumi {' '.join(path)}: unknown flag {name_part}"
            name, flag = known[name_part]
            if flag.kind == "bool":
                assert not eq or value in ("true", "false"), f"{name_part} takes no value"
                call.options[name] = value or None
            elif flag.kind == "optional":
                call.options[name] = value if eq else None
            else:
                if not eq:
                    assert words and not words[0].startswith("-"), f"{name_part} needs a value"
                    value = words.pop(0)
                call.options[name] = value
        else:
            call.positional.append(word)
            if command.positional_then_command and len(call.positional) > 1:
                raise AssertionError(f"pulumi {' '.join(path)}: put `--` before the command it runs")
    assert len(call.positional) <= command.max_positional, (
        f"pulumi {' '.join(path)}: unexpected arguments {call.positional}"
    )
    return calls


def _command_prefixes() -> set[tuple[str, ...]]:
    return {path[:i] for path in COMMANDS for i in range(1, len(path) + 1)}


def _all_calls() -> tuple[list[tuple[str, list[str]]], list[tuple[str, PulumiCall]]]:
    offline: list[tuple[str, list[str]]] = []
    pulumi: list[tuple[str, PulumiCall]] = []
    for script in _all_scripts():
        for words in _commands(script):
            words = _strip_assignments(words)
            if not words:
                continue
            if words[0].endswith("hardened-rke2"):
                offline.append((script.where, words[1:]))
            elif words[0] == "pulumi":
                pulumi += [(script.where, c) for c in parse_pulumi(words)]
    return offline, pulumi


def _assert_path(where: str, value: str) -> None:
    assert "$" not in value, f"{where}: {value} names a variable the pipeline does not define"
    assert (REPO_ROOT / value).exists(), f"{where}: {value} does not exist in the repository"


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=lambda p: p.name)
def test_example_is_yaml_with_commands(path: Path) -> None:
    assert _load(path)
    offline, pulumi = _all_calls()
    assert any(w.startswith(path.name) for w, _ in offline), "no hardened-rke2 command"
    assert any(w.startswith(path.name) for w, _ in pulumi), "no pulumi command"


def _values(args: Any, name: str) -> list[str]:
    """A parsed flag's values: `preview` repeats `--stack` and `--policy-pack`, `evidence` takes one."""
    value = getattr(args, name, None)
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _stacks(args: Any) -> list[str]:
    return _values(args, "stack")


def test_every_hardened_rke2_command_parses_with_the_real_cli_parser() -> None:
    offline, _ = _all_calls()
    parser = cli._parser()
    for where, argv in offline:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse's usage error
            raise AssertionError(f"{where}: hardened-rke2 {' '.join(argv)} is rejected by the CLI") from exc
        for stack in _stacks(args):
            assert stack in STACKS, f"{where}: no stacks/Pulumi.{stack}.yaml"
        for value in (*_values(args, "policy_pack"), *_values(args, "policy_pack_config")):
            _assert_path(where, value)
        if args.command == "preview":
            assert args.report_sarif, f"{where}: no --report-sarif for code scanning"
        elif args.command == "evidence":  # its SARIF and OSCAL go into the reports kept with the job
            assert Path(args.out).parts[0] == "reports", f"{where}: evidence outside reports/"


def test_every_pulumi_command_uses_flags_the_pulumi_cli_defines_and_existing_paths() -> None:
    _, pulumi = _all_calls()
    for where, call in pulumi:
        for flag in ("policy-pack", "policy-pack-config", "cwd"):
            if call.options.get(flag):
                _assert_path(where, str(call.options[flag]))
        if call.path in (("preview",), ("up",)):
            assert call.options.get("stack") in STACKS, f"{where}: --stack {call.options.get('stack')}"
            # The real path: refresh first (token renewal, docs/tokens.md), with the program, with the pack.
            assert "refresh" in call.options and "run-program" in call.options, where
            assert call.options.get("policy-pack") == "policy-packs/nsa-cisa-hardening", where
            assert "non-interactive" in call.options, where
        if call.path == ("up",):
            assert "yes" in call.options, f"{where}: pulumi up in CI needs --yes"


def test_the_flag_checker_rejects_unknown_flags_commands_and_missing_values() -> None:
    for argv, message in (
        (["pulumi", "preview", "--policy-packs", "x"], "unknown flag --policy-packs"),
        (["pulumi", "preview", "--stack"], "--stack needs a value"),
        (["pulumi", "deploy"], "not a command in the flag table"),
        (["pulumi", "up", "--yes=maybe"], "--yes takes no value"),
        (["pulumi", "env", "run", "org/env", "pulumi", "up"], "put `--` before the command"),
        (
            ["pulumi", "env", "run", "org/env", "--", "pulumi", "up", "--frobnicate"],
            "unknown flag --frobnicate",
        ),
    ):
        with pytest.raises(AssertionError, match=re.escape(message)):
            parse_pulumi(argv)
    calls = parse_pulumi(
        ["pulumi", "env", "run", "o/e", "--", "pulumi", "up", "-s", "prod", "--refresh", "-y"]
    )
    assert [c.path for c in calls] == [("env", "run"), ("up",)]
    assert calls[1].options == {"stack": "prod", "refresh": None, "yes": None}


def test_every_example_stack_is_previewed_offline_and_for_real_in_both_pipelines() -> None:
    offline, pulumi = _all_calls()
    for name in (GITHUB.name, GITLAB.name):
        previewed = {
            s
            for w, argv in offline
            if w.startswith(name) and argv[0] == "preview"
            for s in _stacks(cli._parser().parse_args(argv))
        }
        assert previewed == set(STACKS), f"{name}: offline previews {sorted(previewed)}, stacks {STACKS}"
        real = {c.options["stack"] for w, c in pulumi if w.startswith(name) and c.path == ("preview",)}
        assert real == set(STACKS), f"{name}: pulumi preview of {sorted(real)}, stacks {STACKS}"
        deployed = {c.options["stack"] for w, c in pulumi if w.startswith(name) and c.path == ("up",)}
        assert deployed == set(STACKS), f"{name}: pulumi up of {sorted(deployed)}"


def test_github_uploads_the_sarif_the_preview_writes_even_when_it_fails() -> None:
    job = _load(GITHUB)["jobs"]["offline-preview"]
    steps = job["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    assert "cancelled()" in upload["if"]  # `!cancelled()`: also after a failed preview
    assert job["permissions"]["security-events"] == "write"
    run = next(s["run"] for s in steps if "hardened-rke2 preview" in str(s.get("run", "")))
    written = re.search(r'--report-sarif "([^"]+)"', run)
    assert written and written.group(1) == upload["with"]["sarif_file"]


def test_github_deploys_only_from_main_behind_an_environment() -> None:
    jobs = _load(GITHUB)["jobs"]
    deploy = jobs["deploy"]
    assert "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    assert deploy["environment"] == "${{ matrix.stack }}"  # environments carry the required reviewers
    assert deploy["strategy"]["max-parallel"] == 1
    assert deploy["strategy"]["matrix"]["stack"][0] == "management"
    assert jobs["preview"]["if"] == "github.event_name == 'pull_request'"


def test_gitlab_deploys_by_hand_from_the_default_branch_in_an_environment() -> None:
    doc = _load(GITLAB)
    template = doc[".deploy"]
    assert template["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "when": "manual"}]
    assert template["environment"]["name"] == "hardened-rke2/$STACK"
    deploys = {k: v for k, v in doc.items() if isinstance(v, dict) and v.get("extends") == ".deploy"}
    assert {v["variables"]["STACK"] for v in deploys.values()} == set(STACKS)
    assert doc["offline-preview"]["artifacts"]["when"] == "always"


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=lambda p: p.name)
def test_credentials_never_come_from_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = _load(path)
    defined = {**(doc.get("env") or {}), **(doc.get("variables") or {})}
    for job in doc.get("jobs", doc).values():
        if isinstance(job, dict):
            defined.update(job.get("env") or {})
            defined.update(job.get("variables") or {})
    for name in ("PULUMI_ACCESS_TOKEN", "RANCHER_TOKEN_KEY", "RANCHER_URL"):
        value = defined.get(name)
        assert value is None or str(value) == "${{ secrets." + name + " }}", f"{path.name}: {name}={value}"
    assert "--secret-config" not in text and "rancher2:tokenKey" not in text


def test_every_repository_path_any_script_names_exists() -> None:
    # Also the words of other commands (pip's requirements file, …): a word starting with a top-level
    # directory of the repository is a path into it.
    tops = {p.name for p in REPO_ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}
    named = 0
    for script in _all_scripts():
        for words in _commands(script):
            for word in words:
                value = word.partition("=")[2] if word.startswith("--") else word
                if value.split("/")[0] in tops and "/" in value:
                    _assert_path(script.where, value.rstrip("/"))
                    named += 1
    assert named > 0


def test_both_pipelines_write_evidence_for_every_stack() -> None:
    offline, _ = _all_calls()
    for name in (GITHUB.name, GITLAB.name):
        evidenced = {
            s
            for w, argv in offline
            if w.startswith(name) and argv[0] == "evidence"
            for s in _stacks(cli._parser().parse_args(argv))
        }
        assert evidenced == set(STACKS), f"{name}: evidence for {sorted(evidenced)}, stacks {STACKS}"
