"""Run one example stack through the REAL Pulumi CLI (built by scripts/real-engine.sh) and print JSON.

    .venv/bin/python tests/support/real_preview.py --stack dev \
        [--project stacks/teams/payments] [--policy-pack DIR [--policy-pack-config FILE]]... \
        [--platform-outputs FILE] [--keep]

What is real here: the `pulumi` CLI and its engine (local file backend, passphrase secrets manager,
`pulumi stack init`, `pulumi config set --secret`, plan/step generation, provider plugin loading, the
analyzer host that starts the policy pack). What is not upstream's binary: the Python language host
`pulumi-language-python`, whose Go module the proxy refuses; the stack program therefore runs as an
Automation API *inline program* — the pulumi SDK's own language server, which the CLI reaches with
`--client` — in this interpreter (the project's .venv). See docs/real-engine.md.

Everything runs in a throwaway copy of the project's Pulumi.yaml + stack file, with a file:// backend,
PULUMI_HOME in the tools cache, no update check and no automatic plugin downloads.
Prints one JSON document: commands run, resources seen (type, name, op), policy events, diagnostics.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PULUMI_VERSION = "v3.276.0"  # keep in step with scripts/real-engine.sh
PASSPHRASE = "hardened-rke2-real-engine-tests"  # a test-only passphrase for a throwaway local backend
# Dummy provider credentials: set with the real CLI (the token as a secret) so the engine encrypts and
# decrypts them; no Rancher server is contacted by anything that runs here.
RANCHER_API_URL = "https://rancher.invalid"
RANCHER_TOKEN = "token-realengine:not-a-real-secret"


_REGISTERING = re.compile(
    r"registering resource: ty=(?P<type>[^,]+), name=(?P<name>[^,]+), custom=(?P<custom>\w+)"
)


def tools_dir() -> Path:
    root = os.environ.get("HARDENED_RKE2_TOOLS") or str(Path.home() / ".cache/hardened-rke2/tools")
    return Path(root) / PULUMI_VERSION


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def urn_type(urn: str) -> str:
    return urn.split("::")[-2].rsplit("$", 1)[-1]


class Runner:
    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env
        self.commands: list[dict[str, Any]] = []

    def pulumi(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(tools_dir() / "bin/pulumi"), *args]
        proc = subprocess.run(
            cmd, cwd=cwd or self.work, env=self.env, capture_output=True, text=True, timeout=600, check=False
        )
        self.commands.append({"argv": ["pulumi", *args], "exitCode": proc.returncode})
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"pulumi {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc


def recording_command(runner: Runner) -> Any:
    """The Automation API's PulumiCommand for our CLI, recording every command line it runs."""
    from pulumi import automation as auto

    class Recording(auto.PulumiCommand):
        def run(self, args, cwd, additional_env, on_output=None, on_error=None):  # type: ignore[no-untyped-def]
            entry: dict[str, Any] = {"argv": [], "exitCode": None, "via": "automation-api"}
            runner.commands.append(entry)
            try:
                res = super().run(args, cwd, additional_env, on_output, on_error)
                entry["exitCode"] = res.code
                return res
            except auto.errors.CommandError as exc:
                m = re.search(r"code: (-?\d+)", str(exc))
                entry["exitCode"] = int(m.group(1)) if m else None
                raise
            finally:
                entry["argv"] = ["pulumi", *args]  # the API inserts --non-interactive into args

    return Recording(root=str(tools_dir()), skip_version_check=True)


def prepare_project(project: Path, stack: str, work: Path, *, host: bool) -> Path:
    """Copy Pulumi.yaml and Pulumi.<stack>.yaml (at stackConfigDir) into `work`; return the program file.

    host=True (the language host runs the program): link the program into `work` and point the runtime's
    `virtualenv` option at this interpreter's environment (the project's .venv), so nothing is installed.
    host=False (inline program): only create `main`, which the CLI checks exists.
    """
    import yaml

    settings = yaml.safe_load((project / "Pulumi.yaml").read_text())
    config_dir = settings.get("stackConfigDir", ".")
    (work / config_dir).mkdir(parents=True, exist_ok=True)
    shutil.copy(project / config_dir / f"Pulumi.{stack}.yaml", work / config_dir / f"Pulumi.{stack}.yaml")
    main_rel = settings.get("main", ".")
    main = project / main_rel
    if host:
        settings.setdefault("runtime", {"name": "python"})
        if isinstance(settings["runtime"], str):
            settings["runtime"] = {"name": settings["runtime"]}
        settings["runtime"].setdefault("options", {})["virtualenv"] = sys.prefix
        if main_rel in (".", "./", ""):
            for entry in project.iterdir():
                if not entry.name.startswith("Pulumi.") and not (work / entry.name).exists():
                    (work / entry.name).symlink_to(entry)
        else:
            (work / main_rel.rstrip("/")).symlink_to(main)
        (work / "Pulumi.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    else:
        shutil.copy(project / "Pulumi.yaml", work / "Pulumi.yaml")
        if main.is_dir():
            (work / main_rel).mkdir(parents=True, exist_ok=True)
    return main / "__main__.py" if main.is_dir() else main


def event_log_records(path: Path) -> list[dict[str, Any]]:
    """The CLI's --event-log file (one JSON engine event per line) as the driver's records."""
    out = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        ev = json.loads(line)
        if "resourcePreEvent" in ev:
            md = ev["resourcePreEvent"]["metadata"]
            out.append({"kind": "resource", "type": md["type"], "urn": md["urn"], "op": md["op"]})
        elif "policyEvent" in ev:
            pe = ev["policyEvent"]
            out.append(
                {
                    "kind": "policy",
                    "policyName": pe["policyName"],
                    "packName": pe["policyPackName"],
                    "enforcementLevel": pe["enforcementLevel"],
                    "message": pe["message"],
                    "urn": pe.get("resourceUrn") or "",
                }
            )
        elif "diagnosticEvent" in ev:
            de = ev["diagnosticEvent"]
            out.append(
                {
                    "kind": "diagnostic",
                    "severity": de["severity"],
                    "message": de["message"],
                    "urn": de.get("urn"),
                }
            )
    return out


def pack_executable(pack: Path, tmp: Path) -> Path:
    """An executable that starts the pack the way the Python language host's policy proxy does.

    The CLI (pkg/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer) runs a pack DIRECTORY through its
    runtime's language plugin (`RunPlugin` of pulumi-language-python, which the proxy refuses); a pack
    given as an EXECUTABLE is launched directly as a binary analyzer plugin with the engine address as its
    argument, next to an optional PulumiPolicy.yaml. This script is that executable: it runs
    `python -u -m pulumi.policy <engine-address> .` in the pack directory with the project's interpreter
    (pulumi_policy and the pack's requirements are in .venv), which prints its port and serves the
    Analyzer service. The engine then calls Handshake (unimplemented by pulumi_policy: allowed),
    ConfigureStack, GetAnalyzerInfo, Configure, Analyze for every resource and AnalyzeStack.
    """
    pack = pack.resolve()
    d = tmp / "packs" / pack.name
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(pack / "PulumiPolicy.yaml", d / "PulumiPolicy.yaml")
    exe = d / f"pulumi-analyzer-{pack.name}"
    python = shlex.quote(sys.executable)
    exe.write_text(f'#!/bin/sh\ncd {shlex.quote(str(pack))} && exec {python} -u -m pulumi.policy "$1" .\n')
    exe.chmod(0o755)
    return exe


def make_env(backend: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    bin_dir = tools_dir() / "bin"
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PULUMI_HOME=str(tools_dir() / "home"),
        PULUMI_BACKEND_URL=backend.as_uri(),
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="1",
        # The v3.68 language host reads runtime options (virtualenv) only from its command line, which
        # this CLI no longer passes (it sends them in RPCs): it honours PULUMI_PYTHON_CMD instead.
        PULUMI_PYTHON_CMD=sys.executable,
        PULUMI_DEBUG_COMMANDS="true",  # enables `preview --event-log` (the Automation API sets it too)
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="true",
        PULUMI_SKIP_CHECKPOINTS="false",
    )
    return env


def publish_platform_outputs(runner: Runner, outputs_file: Path, backend_stack: str) -> None:
    """Create a real platform stack state whose outputs are those of the team example's outputs file.

    `backend_stack` is organization/<project>/<stack>; a `pulumi up` of an inline program that only exports
    the outputs (no resource but the Stack) writes a genuine checkpoint the team's StackReference reads.
    """
    from pulumi import automation as auto

    _, project, stack = backend_stack.split("/")
    data = json.loads(outputs_file.read_text())
    # The example file keys stacks by the service org (acme/...); a file backend has one org, "organization".
    outputs = next(v for k, v in data.items() if k.endswith(f"/{project}/{stack}"))

    def program() -> None:
        import pulumi

        for key, value in outputs.items():
            pulumi.export(key, value)

    pdir = Path(tempfile.mkdtemp(prefix="platform-", dir=runner.work.parent))
    (pdir / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n")
    runner.pulumi("stack", "init", f"organization/{project}/{stack}", cwd=pdir)
    ws = auto.LocalWorkspace(
        work_dir=str(pdir),
        program=program,
        env_vars=runner.env,
        pulumi_command=recording_command(runner),
    )
    st = auto.Stack.select(stack, ws)
    st.up(on_output=lambda _line: None)


# The engine's checkpoint encoding of an unknown (computed) value: pkg/resource/stack/deployment.go
# (computedValuePlaceholder) deserializes it back to a computed value, so policies see "unknown".
COMPUTED = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
REDACTED = "[secret]"  # how the offline JSON report redacts secret inputs
UNKNOWN_MARKER = "[unknown]"  # how the offline JSON report shows a value unknown during preview


def state_from_offline(offline: dict[str, Any]) -> dict[str, Any]:
    """A `pulumi stack export`-format checkpoint holding the resources the offline engine captured.

    Inputs become both inputs and outputs (preview outputs are the inputs; computed ones are the unknown
    placeholder, shown as `[unknown]` in the offline JSON). Secret inputs are redacted in the offline JSON,
    so they become unknown here.
    Custom resources get the offline engine's mock ids (`<name>-id`), which its provider references use.
    """

    def fix(value: Any) -> Any:
        if value in (REDACTED, UNKNOWN_MARKER):
            return COMPUTED
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    resources = []
    for r in offline["resources"]:
        entry: dict[str, Any] = {"urn": r["urn"], "custom": r["custom"], "type": r["type"]}
        entry["inputs"] = entry["outputs"] = fix(r["inputs"])
        if r["custom"]:
            entry["id"] = f"{r['name']}-id"
        for key in ("parent", "provider", "dependencies", "protect"):
            if r.get(key):
                entry[key] = r[key]
        resources.append(entry)
    manifest = {"time": "2026-01-01T00:00:00Z", "magic": "", "version": PULUMI_VERSION}
    return {"version": 3, "deployment": {"manifest": manifest, "resources": resources}}


def analyze_offline_state(offline_json: Path, packs: list[Path], configs: list[Path]) -> dict[str, Any]:
    """`pulumi policy analyze --file` over the offline capture: the real CLI's analyzer host drives the
    pack (Remediate + Analyze per resource, AnalyzeStack once, config merged by the engine) without
    running a program or any provider."""
    tmp = Path(tempfile.mkdtemp(prefix="hardened-rke2-real-analyze-"))
    try:
        state = tmp / "state.json"
        state.write_text(json.dumps(state_from_offline(json.loads(offline_json.read_text()))))
        return analyze_state_file(state, packs, configs, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def analyze_state_file(state: Path, packs: list[Path], configs: list[Path], tmp: Path) -> dict[str, Any]:
    """`pulumi policy analyze --file STATE --json` with the real CLI (packs started as executables, see
    `pack_executable`); its policy events, remediation events and exit code. `tmp` holds the backend."""
    backend = tmp / "backend"
    backend.mkdir(exist_ok=True)
    runner = Runner(tmp, make_env(backend))
    argv = ["policy", "analyze", "--file", str(state), "--json"]
    for p in packs:
        argv += ["--policy-pack", str(pack_executable(p, tmp))]
    for c in configs:
        argv += ["--policy-pack-config", str(c.resolve())]
    proc = runner.pulumi(*argv, check=False)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    violations = []
    for ev in events:
        pe = ev.get("policyEvent")
        if pe:
            urn = pe.get("resourceUrn") or ""
            violations.append(
                {
                    "policyName": pe["policyName"],
                    "packName": pe["policyPackName"],
                    "enforcementLevel": pe["enforcementLevel"],
                    "message": pe["message"],
                    "urn": urn,
                    "resourceType": urn_type(urn) if urn else None,
                    "resourceName": urn_name(urn) if urn else None,
                }
            )
    return {
        "exitCode": proc.returncode,
        "stderr": proc.stderr[-3000:],
        "violations": violations,
        "remediations": [
            {"policyName": e["policyName"], "urn": e.get("resourceUrn") or ""}
            for e in (ev.get("policyRemediationEvent") for ev in events)
            if e
        ],
        "eventKinds": sorted({k for ev in events for k in ev if k not in ("sequence", "timestamp")}),
        "policyPacks": next(
            (ev["summaryEvent"].get("PolicyPacks") for ev in events if "summaryEvent" in ev), None
        ),
        "commands": runner.commands,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", type=Path, default=REPO)
    ap.add_argument("--stack")
    ap.add_argument(
        "--analyze-offline-json",
        type=Path,
        metavar="FILE",
        help="instead of a preview: `pulumi policy analyze --file` over a checkpoint built from this "
        "offline `hardened-rke2 preview --json` document",
    )
    ap.add_argument("--policy-pack", action="append", default=[], type=Path)
    ap.add_argument("--policy-pack-config", action="append", default=[], type=Path)
    ap.add_argument(
        "--platform-outputs",
        type=Path,
        help="team projects: publish these platform outputs "
        "as a real stack state and point the team's StackReference config at it",
    )
    ap.add_argument(
        "--runtime",
        choices=["host", "inline"],
        help="host: the pulumi-language-python binary runs the program (default when it is built); "
        "inline: an Automation API inline program in this interpreter",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (printed as 'workDir')")
    args = ap.parse_args(argv)

    if not (tools_dir() / "bin/pulumi").exists():
        print(
            json.dumps(
                {"error": f"no Pulumi CLI at {tools_dir() / 'bin/pulumi'}: run scripts/real-engine.sh"}
            )
        )
        return 4
    if args.analyze_offline_json:
        out = analyze_offline_state(args.analyze_offline_json, args.policy_pack, args.policy_pack_config)
        print(json.dumps(out, indent=2))
        return 0
    if not args.stack:
        ap.error("--stack is required")

    from pulumi import automation as auto

    tmp = Path(tempfile.mkdtemp(prefix="hardened-rke2-real-"))
    backend = tmp / "backend"
    backend.mkdir()
    work = tmp / "project"
    work.mkdir()
    result: dict[str, Any] = {"stack": args.stack, "project": str(args.project), "workDir": str(tmp)}
    runner = Runner(work, make_env(backend))
    try:
        runtime = args.runtime or (
            "host" if (tools_dir() / "bin/pulumi-language-python").exists() else "inline"
        )
        result["runtime"] = runtime
        program_file = prepare_project(args.project.resolve(), args.stack, work, host=runtime == "host")
        project_name = _project_name(work)
        # The backend is PULUMI_BACKEND_URL=file://…/backend (no `pulumi login`, which would write the shared
        # PULUMI_HOME's credentials.json from concurrent runs).
        runner.pulumi("stack", "init", args.stack)
        runner.pulumi("config", "set", "rancher2:apiUrl", RANCHER_API_URL)
        runner.pulumi("config", "set", "--secret", "rancher2:tokenKey", RANCHER_TOKEN)
        stack_file = next(work.rglob(f"Pulumi.{args.stack}.yaml"))
        text = stack_file.read_text()
        result["secretEncrypted"] = "secure: v1:" in text and RANCHER_TOKEN not in text
        result["encryptionSalt"] = "encryptionsalt: v1:" in text
        got = runner.pulumi("config", "get", "rancher2:tokenKey").stdout.strip()
        result["secretRoundTrip"] = got == RANCHER_TOKEN
        if args.platform_outputs:
            cfg = json.loads(runner.pulumi("config", "--json").stdout)
            for key in ("platformStack", "managementStack"):
                full = f"{project_name}:{key}"
                if full in cfg:
                    ref = "organization/" + cfg[full]["value"].split("/", 1)[1]
                    publish_platform_outputs(runner, args.platform_outputs, ref)
                    runner.pulumi("config", "set", full, ref)

        resources: list[dict[str, Any]] = []
        policy: list[dict[str, Any]] = []
        diagnostics: list[dict[str, Any]] = []
        registrations: list[dict[str, Any]] = []

        def record(rec: dict[str, Any]) -> None:
            kind = rec.pop("kind")
            if kind == "resource":
                rec["name"] = urn_name(rec["urn"])
                resources.append(rec)
            elif kind == "policy":
                urn = rec["urn"]
                rec.update(
                    resourceType=urn_type(urn) if urn else None, resourceName=urn_name(urn) if urn else None
                )
                policy.append(rec)
            else:
                m = _REGISTERING.search(rec["message"])
                if rec["severity"] == "debug" and m:
                    # The SDK logs every RegisterResource it sends to the engine's Log service: the
                    # program's own registrations, including those the engine never reached.
                    registrations.append(
                        {"type": m["type"], "name": m["name"], "custom": m["custom"] == "True"}
                    )
                elif rec["severity"] != "debug":
                    diagnostics.append(
                        {"severity": rec["severity"], "message": rec["message"].strip(), "urn": rec["urn"]}
                    )

        def on_event(ev: Any) -> None:
            if ev.resource_pre_event is not None:
                md = ev.resource_pre_event.metadata
                record(
                    {
                        "kind": "resource",
                        "type": md.type,
                        "urn": md.urn,
                        "op": str(getattr(md.op, "value", md.op)),
                    }
                )
            if ev.policy_event is not None:
                pe = ev.policy_event
                record(
                    {
                        "kind": "policy",
                        "policyName": pe.policy_name,
                        "packName": pe.policy_pack_name,
                        "enforcementLevel": pe.enforcement_level,
                        "message": pe.message,
                        "urn": pe.resource_urn or "",
                    }
                )
            if ev.diagnostic_event is not None:
                de = ev.diagnostic_event
                record({"kind": "diagnostic", "severity": de.severity, "message": de.message, "urn": de.urn})

        packs = [str(pack_executable(p, tmp)) for p in args.policy_pack]
        if runtime == "host":
            events = tmp / "events.jsonl"
            argv = ["preview", "--non-interactive", "--stack", args.stack, "--event-log", str(events)]
            for p in packs:
                argv += ["--policy-pack", p]
            for c in args.policy_pack_config:
                argv += ["--policy-pack-config", str(c.resolve())]
            # `-d` makes the engine forward the program's debug logs (the SDK's "registering resource").
            proc = runner.pulumi(*argv, "--debug", check=False)
            for rec in event_log_records(events) if events.exists() else []:
                record(rec)
            result.update(
                previewExitCode=proc.returncode,
                **_policy_summary(proc.stdout + proc.stderr),
                registrations=registrations,
                resources=resources,
                policyEvents=policy,
                diagnostics=diagnostics,
                previewOutput=(proc.stdout + proc.stderr)[-6000:],
            )
            raise _Done

        def program() -> None:
            # As the Python language host runs `main`: its folder first on sys.path while it runs (runpy
            # does that, and undoes it, for a folder holding __main__.py).
            if program_file.name != "__main__.py":
                raise SystemExit(f"{program_file}: the inline driver runs a folder's __main__.py only")
            runpy.run_path(str(program_file.parent), run_name="__main__")

        ws = auto.LocalWorkspace(
            work_dir=str(work),
            program=program,
            env_vars=runner.env,
            pulumi_command=recording_command(runner),
        )
        st = auto.Stack.select(args.stack, ws)
        out: list[str] = []
        try:
            st.preview(
                program=program,
                on_event=on_event,
                on_output=out.append,
                policy_packs=packs or None,
                policy_pack_configs=[str(c.resolve()) for c in args.policy_pack_config] or None,
            )
            code = 0
        except auto.errors.CommandError as exc:
            m = re.search(r"code: (-?\d+)", str(exc))
            code = int(m.group(1)) if m else 1
            result["previewStderr"] = str(exc)[-4000:]
        result.update(
            previewExitCode=code,
            **_policy_summary("\n".join(out)),
            registrations=registrations,
            resources=resources,
            policyEvents=policy,
            diagnostics=diagnostics,
            previewOutput="\n".join(out)[-6000:],
        )
    except _Done:
        pass
    except Exception as exc:  # report, never hide: the test prints this
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["commands"] = runner.commands
    print(json.dumps(result, indent=2, default=str))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _policy_summary(output: str) -> dict[str, Any]:
    """What the CLI printed about policy packs (the output is long with --debug, so extract it)."""
    lines = output.splitlines()
    packs = []
    if "Policies:" in lines:
        for line in lines[lines.index("Policies:") + 1 :]:
            if not line.strip():
                break
            packs.append(line.strip())
    return {
        "policyPacksLoaded": "Loading policy packs...: done" in output,
        "policyPacksFailed": [line for line in lines if "failed to start" in line],
        "policiesSection": packs,
    }


class _Done(Exception):
    """The language-host preview is complete (leaves the inline path)."""


def _project_name(work: Path) -> str:
    import yaml

    return str(yaml.safe_load((work / "Pulumi.yaml").read_text())["name"])


if __name__ == "__main__":
    raise SystemExit(main())
