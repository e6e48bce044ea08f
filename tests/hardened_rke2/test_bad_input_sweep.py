"""A few hundred generated bad inputs through the CLI's `main()` (issue 15): every one exits 2 with a clear
error, never a traceback, never 1 (mandatory violations) or 3 (internal error).

The corpus is deterministic (families of careless and hostile files, each parameterised), so a failure
names the exact input. Each input is fed as the stack file, `Pulumi.yaml` or one of the side files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardened_rke2 import safe_yaml
from hardened_rke2.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
PACK = FIXTURES / "mini_pack"
GOOD_STACK = (
    "config:\n  mini:namespace: team-a\n  mini:labels:\n    team: a\n  kubernetes:namespace: team-a\n"
)


def _bad_yaml_documents() -> Iterator[tuple[str, bytes]]:
    """(id, content): documents any YAML/JSON input of the preview must refuse."""
    good = GOOD_STACK.encode()
    for i, junk in enumerate([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\x80\x80"]):
        for pos in (0, 8, 17, 30, len(good) - 1):
            yield f"not-utf8-{i}-at-{pos}", good[:pos] + junk + good[pos:]
    for depth in (65, 66, 100, 500, 1000, 5000):
        yield f"flow-seq-depth-{depth}", ("config: " + "[" * depth + "]" * depth).encode()
        yield f"flow-map-depth-{depth}", ("config: " + "{a: " * depth + "1" + "}" * depth).encode()
        if depth <= 500:
            block = "".join(" " * (2 * i) + "a:\n" for i in range(depth)) + " " * (2 * depth) + "b: 1\n"
            yield (
                f"block-depth-{depth}",
                ("config:\n" + "".join("  " + line + "\n" for line in block.splitlines())).encode(),
            )
        yield f"json-depth-{depth}", ('{"config": ' + '{"a": ' * depth + "1" + "}" * (depth + 1)).encode()
    for width, levels in ((9, 9), (10, 6), (20, 5), (50, 4), (100, 3), (3, 12), (2, 20)):
        lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
        yield f"alias-bomb-{width}x{levels}", ("bomb:\n" + "".join(f"  {x}\n" for x in lines)).encode()
    yield "recursive-alias", b"config: &c\n  mini:namespace: *c\n"
    for key in ("config", "mini:namespace", "team", "a"):
        yield f"duplicate-top-{key}", f"config: {{}}\n{key}: 1\n{key}: 2\n".encode()
        yield f"duplicate-nested-{key}", f"config:\n  {key}: prod\n  x: 1\n  {key}: evil\n".encode()
        yield f"duplicate-flow-{key}", f'{{"{key}": 1, "{key}": 2}}'.encode()
    for n, text in enumerate(
        [
            "config: [unclosed",
            "config: {a: 1",
            'config: "unterminated',
            "config:\n\t- tab\n",
            "config:\n  a: 1\n b: 2\n",
            "a: b: c",
            "- a\nb: 1\n",
            "config: !!python/object:os.system ls",
            "config: !!binary ///",
            "%YAML 9.9\n---\na: 1",
            "a: 1\n---\nb: 2\n",
            "@reserved",
            "`reserved",
            "config: *undefined",
            "? [a\n",
            "config: {[1, 2]: 3}" * 2,
            '{"config": }',
            '{"a": 1,}',
            "config: .nan",
            "config:\n  x: -.inf",
            '{"config": {"x": NaN}}',
            '{"config": {"x": Infinity}}',
            "\x00",
            "config: \x07bell",
        ]
    ):
        yield f"syntax-{n}", text.encode()


DOCS = list(_bad_yaml_documents())
NOT_A_MAPPING = [
    ("list", b"- a\n- b\n"),
    ("scalar", b"42\n"),
    ("string", b"just text\n"),
    ("config-list", b"config:\n  - a\n"),
    ("config-scalar", b"config: 3\n"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("sweep") / "proj"
    shutil.copytree(FIXTURES / "mini_project", dst)
    return dst


def _assert_refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text, text
    assert code == 2, text
    assert "error" in text.lower() or "invalid" in text.lower()
    return text


@pytest.mark.parametrize(("case", "content"), DOCS + NOT_A_MAPPING, ids=[d[0] for d in DOCS + NOT_A_MAPPING])
def test_bad_stack_file(capsys: pytest.CaptureFixture[str], project: Path, case: str, content: bytes) -> None:
    (project / "stacks" / "Pulumi.sweep.yaml").write_bytes(content)
    _assert_refused(capsys, ["preview", "--project", str(project), "--stack", "sweep"])


JSON_ONLY = {"syntax-16", "syntax-17", "syntax-20", "syntax-21"}
SIDE_FLAGS = ("--secret-config", "--stack-reference-outputs", "--policy-pack-config")
SIDE_DOCS = [d for d in DOCS if not d[0].startswith("duplicate-top")][::2]


@pytest.mark.parametrize("flag", SIDE_FLAGS)
@pytest.mark.parametrize(("case", "content"), SIDE_DOCS, ids=[d[0] for d in SIDE_DOCS])
def test_bad_side_file(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, flag: str, case: str, content: bytes
) -> None:
    if flag != "--policy-pack-config" and case in JSON_ONLY:
        pytest.skip("valid YAML (NaN/Infinity are plain strings there); only JSON readers refuse it")
    side = tmp_path / "side.yaml"
    side.write_bytes(content)
    pack = ["--policy-pack", str(PACK)] if flag == "--policy-pack-config" else []
    _assert_refused(capsys, ["preview", "--project", str(project), "--stack", "dev", *pack, flag, str(side)])


PROJECT_FILES = [
    ("no-name", b"runtime: python\n"),
    ("config-list", b"name: mini\nmain: prog/\nstackConfigDir: stacks\nconfig:\n  - a\n"),
    ("config-int", b"name: mini\nmain: prog/\nstackConfigDir: stacks\nconfig: 7\n"),
    ("runtime-nodejs", b"name: mini\nruntime: nodejs\n"),
    ("main-missing", b"name: mini\nmain: nowhere/\n"),
    ("main-nul", b'name: mini\nmain: "a\\0b"\n'),
    (
        "typed-config-missing",
        b"name: mini\nmain: prog/\nstackConfigDir: stacks\nconfig:\n  must:\n    type: string\n",
    ),
    (
        "typed-items-not-a-map",
        b"name: mini\nmain: prog/\nstackConfigDir: stacks\n"
        b"config:\n  l:\n    type: array\n    items: [1]\n    default: 3\n",
    ),
    *[(f"doc-{c}", d) for c, d in DOCS[::4]],
]


@pytest.mark.parametrize(("case", "content"), PROJECT_FILES, ids=[p[0] for p in PROJECT_FILES])
def test_bad_pulumi_yaml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, content: bytes
) -> None:
    proj = tmp_path / "proj"
    shutil.copytree(FIXTURES / "mini_project", proj)
    (proj / "Pulumi.yaml").write_bytes(content)
    _assert_refused(capsys, ["preview", "--project", str(proj), "--stack", "dev"])


BAD_PACK_CONFIGS = [
    '{"no-privileged": "loud"}',
    '{"no-privileged": 3}',
    '{"no-privileged": {"enforcementLevel": "sometimes"}}',
    '{"all": ["mandatory"]}',
    "[1, 2]",
    '"mandatory"',
    '{"all": {"enforcementLevel": 7}}',
]


@pytest.mark.parametrize("content", BAD_PACK_CONFIGS)
def test_bad_pack_config_values(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, content: str
) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(content)
    argv = ["preview", "--project", str(project), "--stack", "dev", "--policy-pack", str(PACK)]
    _assert_refused(capsys, [*argv, "--policy-pack-config", str(cfg)])


@pytest.mark.parametrize(
    "report",
    ["missing/dir/r.json", ".", "/proc/version/r.json", "", "x\0y"],
)
@pytest.mark.parametrize("flag", ["--report-json", "--report-sarif", "--report-md"])
def test_bad_report_path(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, report: str, flag: str
) -> None:
    if not report:
        pytest.skip("an empty path means no report")
    path = report if report.startswith("/") or "\0" in report else str(tmp_path / report)
    _assert_refused(capsys, ["preview", "--project", str(project), "--stack", "dev", flag, path])


def test_missing_inputs(capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path) -> None:
    base = ["preview", "--project", str(project)]
    _assert_refused(capsys, [*base, "--stack", "nope"])
    _assert_refused(capsys, [*base, "--stack", "encrypted"])
    _assert_refused(capsys, [*base, "--stack", "dev", "--secret-config", str(tmp_path / "none.yaml")])
    _assert_refused(capsys, [*base, "--stack", "dev", "--secret-config", str(tmp_path)])
    _assert_refused(capsys, [*base, "--stack", "dev", "--policy-pack", str(tmp_path / "no-pack")])
    _assert_refused(capsys, ["preview", "--project", str(tmp_path), "--stack", "dev"])


def test_oversized_files(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safe_yaml, "MAX_FILE_BYTES", 64)
    (project / "stacks" / "Pulumi.big.yaml").write_text(GOOD_STACK + "#" * 100 + "\n")
    assert "MAX_FILE_BYTES" in _assert_refused(
        capsys, ["preview", "--project", str(project), "--stack", "big"]
    )
