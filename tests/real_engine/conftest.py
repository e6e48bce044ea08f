"""Real-engine tests: the example stacks through the Pulumi CLI built by scripts/real-engine.sh.

They SKIP, loudly and with the reason, when the CLI is not in the tools cache (run
`bash scripts/real-engine.sh`; docs/real-engine.md says what it builds and what the module proxy refuses).
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.real_preview import PULUMI_VERSION, tools_dir

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy-packs" / "nsa-cisa-hardening"
TEAM = REPO / "stacks" / "teams" / "payments"
DRIVER = Path(__file__).resolve().parent.parent / "support" / "real_preview.py"
OFFLINE_CLI = Path(sys.executable).with_name("hardened-rke2")


def tools_status() -> str:
    status = tools_dir() / "status.tsv"
    if not status.exists():
        return "scripts/real-engine.sh has not run on this machine (no status.tsv)"
    rows = [line.split("\t") for line in status.read_text().splitlines() if line.strip()]
    return "; ".join(f"{r[0]}: {r[2]}" + (f" ({r[4][:160]})" if r[2] != "built" else "") for r in rows)


def missing_cli_reason() -> str | None:
    cli = tools_dir() / "bin" / "pulumi"
    if not cli.exists():
        hint = "Run `bash scripts/real-engine.sh`."
        return f"REAL ENGINE UNAVAILABLE: no Pulumi CLI at {cli}. {hint} {tools_status()}"
    version = subprocess.run(
        [str(cli), "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if version != PULUMI_VERSION:
        return f"REAL ENGINE UNAVAILABLE: {cli} reports {version!r}, expected {PULUMI_VERSION}"
    return None


def pytest_report_header(config: pytest.Config) -> str:
    reason = missing_cli_reason()
    return reason or f"real engine: pulumi {PULUMI_VERSION} at {tools_dir() / 'bin'}; {tools_status()}"


@pytest.fixture(scope="session")
def real_cli() -> Path:
    reason = missing_cli_reason()
    if reason:
        sys.stderr.write(f"\n{'!' * 100}\n!! {reason}\n{'!' * 100}\n")
        pytest.skip(reason)
    return tools_dir() / "bin" / "pulumi"


# One run per (project, stack, pack?) for the whole session: each real preview takes 5-15 s, so the
# previews the tests use are started together (3 at a time) on first use.
_real_cache: dict[tuple[str, ...], dict[str, Any]] = {}
_real_futures: dict[tuple[str, str, str], Future[dict[str, Any]]] = {}
_pool = ThreadPoolExecutor(max_workers=3)
PREFETCH = [
    *((name, pack, None) for name in ("dev", "prod", "management", "team") for pack in (True, False)),
    ("team-broken", False, None),
    ("dev", False, "inline"),
]
_offline_cache: dict[tuple[str, ...], dict[str, Any]] = {}


def _target(name: str) -> tuple[list[str], list[str]]:
    """(driver args, offline args) for an example: dev, prod, management, team, team-broken."""
    if name.startswith("team"):
        stack = "broken" if name == "team-broken" else "dev"
        common = ["--project", str(TEAM), "--stack", stack]
        return (
            [*common, "--platform-outputs", str(TEAM / "platform-outputs.json")],
            [*common, "--stack-reference-outputs", str(TEAM / "platform-outputs.json")],
        )
    return ["--stack", name], ["--stack", name]


def _pack_args(name: str, config: bool = True) -> list[str]:
    args = ["--policy-pack", str(PACK)]
    if name.startswith("team") and config:
        args += ["--policy-pack-config", str(TEAM / "policy-pack-config.json")]
    return args


def _real_preview(name: str, pack: bool, runtime: str | None) -> dict[str, Any]:
    driver_args, _ = _target(name)
    args = [sys.executable, str(DRIVER), *driver_args, *(_pack_args(name) if pack else [])]
    if runtime:
        args += ["--runtime", runtime]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False, cwd=REPO)
    assert proc.returncode == 0, f"driver failed: {proc.stderr[-3000:]}"
    data = json.loads(proc.stdout)
    assert "error" not in data, f"real run could not be set up: {data['error']}"
    return data


@pytest.fixture(scope="session")
def real_run(real_cli: Path):
    def submit(name: str, pack: bool, runtime: str | None) -> Future[dict[str, Any]]:
        key = (name, str(pack), str(runtime))
        if key not in _real_futures:
            _real_futures[key] = _pool.submit(_real_preview, name, pack, runtime)
        return _real_futures[key]

    for name, pack, runtime in PREFETCH:
        submit(name, pack, runtime)

    def run(name: str, *, pack: bool, runtime: str | None = None) -> dict[str, Any]:
        return submit(name, pack, runtime).result()

    return run


@pytest.fixture(scope="session")
def offline_run():
    """The offline engine's capture, through its stable CLI (`hardened-rke2 preview --json`)."""

    def run(name: str, *, config: bool = True) -> dict[str, Any]:
        key = (name, str(config))
        if key not in _offline_cache:
            _, offline_args = _target(name)
            args = [str(OFFLINE_CLI), "preview", *offline_args, *_pack_args(name, config), "--json"]
            proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False, cwd=REPO)
            assert proc.returncode in (0, 1), (
                f"offline preview failed ({proc.returncode}): {proc.stderr[-3000:]}"
            )
            _offline_cache[key] = json.loads(proc.stdout)
        return _offline_cache[key]

    return run


@pytest.fixture(scope="session")
def real_analyze(real_cli: Path, offline_run, tmp_path_factory: pytest.TempPathFactory):
    """`pulumi policy analyze --file` (real CLI + analyzer host + pack) over the offline capture."""

    def run(name: str, *, config: bool = True) -> dict[str, Any]:
        key = ("analyze", name, str(config))
        if key not in _real_cache:
            offline_json = tmp_path_factory.mktemp("offline") / f"{name}.json"
            offline_json.write_text(json.dumps(offline_run(name, config=config)))
            args = [sys.executable, str(DRIVER), "--analyze-offline-json", str(offline_json)]
            args += _pack_args(name, config)
            proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False, cwd=REPO)
            assert proc.returncode == 0, f"driver failed: {proc.stderr[-3000:]}"
            _real_cache[key] = json.loads(proc.stdout)
        return _real_cache[key]

    return run
