"""The layering in docs/architecture.md, enforced: which of the project's packages may import which.

Imports are read with `ast` from every module (top-level and late imports alike), so a violation fails
with the offending file:line before it can become a hidden dependency or an import cycle.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.field_docs import parse_source

REPO = Path(__file__).resolve().parent.parent
PACK_DIR = REPO / "policy-packs" / "nsa-cisa-hardening"

PROJECT_PACKAGES = frozenset(
    {"components", "blueprint", "hardened_rke2", "nsa_cisa", "tests", "benchmarks", "scripts", "stacks"}
    | {"hardened_rke2_provider"}
)
"""Top-level names that belong to this repository; anything else is the standard library or a dependency."""

ALLOWED: dict[str, frozenset[str]] = {
    # reusable building blocks: nothing of the program or the tooling
    "components": frozenset({"components"}),
    # the Pulumi program composes components, and knows nothing of the offline engine
    "blueprint": frozenset({"blueprint", "components"}),
    # the offline engine, CLI and docs generator sit on top of the program
    "hardened_rke2": frozenset({"hardened_rke2", "blueprint", "components"}),
    # the component provider serves the components to other languages: no program, no offline engine
    "hardened_rke2_provider": frozenset({"hardened_rke2_provider", "components"}),
    # the pack runs in its own process under `pulumi preview`: only pulumi_policy and its own modules
    "nsa_cisa": frozenset({"nsa_cisa"}),
}


def parse(path: Path) -> ast.Module:
    # with the collector paused, as CPython 3.11's AST recursion-depth check needs (components.field_docs)
    return parse_source(path.read_text(encoding="utf-8"), str(path))


def _modules(package: str) -> Iterator[Path]:
    if package == "nsa_cisa":
        yield PACK_DIR / "__main__.py"
        root = PACK_DIR / "nsa_cisa"
    else:
        root = REPO / package
    yield from sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported top-level name) for every absolute import in the file."""
    tree = parse(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    allowed = ALLOWED[package]
    offending = [
        f"{path.relative_to(REPO)}:{line}: imports {name}; {package} may import only {sorted(allowed)}"
        for path in _modules(package)
        for line, name in _imports(path)
        if name.split(".")[0] in PROJECT_PACKAGES and name.split(".")[0] not in allowed
    ]
    assert not offending, "\n".join(offending)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph(packages: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """module -> {imported module of the same packages: line}; `from pkg import mod` counts as `pkg.mod`."""
    paths = {_module_name(p): p for pkg in packages for p in _modules(pkg)}
    graph: dict[str, dict[str, int]] = {}
    for name, path in paths.items():
        edges: dict[str, int] = {}
        tree = parse(path)
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for target in targets:
                if target in paths and target != name:
                    edges.setdefault(target, node.lineno)
                    break
        graph[name] = edges
    return graph


def test_no_import_cycles_in_the_program_or_the_engine() -> None:
    graph = _import_graph(("blueprint", "hardened_rke2", "hardened_rke2_provider"))
    cycles: set[str] = set()
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        for nxt in graph[node]:
            if nxt in trail:
                loop = [*trail[trail.index(nxt) :], nxt]
                where = [f"{a.replace('.', '/')}.py:{graph[a][b]}" for a, b in itertools.pairwise(loop)]
                cycles.add(" -> ".join(loop) + f"  ({', '.join(where)})")
            elif nxt not in done:
                visit(nxt, [*trail, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    # A late import inside a function counts too: it only hides the cycle.
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))


# ---------------------------------------------------------------------------------------------- test layout

TESTS = REPO / "tests"


def _test_modules() -> Iterator[Path]:
    # fixture projects and packs under tests/**/fixtures are programs under test, not tests
    for path in sorted(TESTS.rglob("*.py")):
        if "__pycache__" not in path.parts and "fixtures" not in path.parts:
            yield path


def _is_sys_path(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys"


def test_no_test_edits_sys_path() -> None:
    # pytest's `pythonpath` (pyproject.toml) is the one place that decides what tests can import
    offending = []
    for path in _test_modules():
        for node in ast.walk(parse(path)):
            mutated = None  # sys.path.insert(...) / sys.path[0] = ...
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                mutated = node.func.value
            elif isinstance(node, ast.Assign):
                mutated = next((t.value for t in node.targets if isinstance(t, ast.Subscript)), None)
            if _is_sys_path(mutated):
                offending.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offending, f"tests must not edit sys.path: {offending}"


def test_shared_test_helpers_come_from_tests_support_never_a_conftest() -> None:
    offending = [
        f"{path.relative_to(REPO)}:{line}: imports {name}"
        for path in _test_modules()
        for line, name in _imports(path)
        if name.split(".")[-1] == "conftest"
        or (name.startswith("tests.") and not name.startswith("tests.support"))
    ]
    assert not offending, offending


def _is_pytest_raises(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "raises"
        and getattr(node.func.value, "id", "") == "pytest"
    )


def test_every_pytest_raises_says_which_error_it_expects() -> None:
    # A bare `pytest.raises(ValidationError)` passes when ANY rule fires, not the one under test: give
    # `match=`, or bind the error (`as err`) and look at it, or use tests.support.validation.rejected_at.
    offending = []
    for path in _test_modules():
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            loaded = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            for node in ast.walk(fn):
                for item in node.items if isinstance(node, ast.With) else []:
                    call = item.context_expr
                    if not _is_pytest_raises(call) or any(k.arg == "match" for k in call.keywords):
                        continue
                    bound = item.optional_vars.id if isinstance(item.optional_vars, ast.Name) else None
                    if bound not in loaded:
                        offending.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offending, f"pytest.raises without match= or a look at the error: {offending}"
