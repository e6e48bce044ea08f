"""Each args model's field documentation: the string literal written right after a field's annotation.

The config reference (hardened_rke2.config_reference) and the component provider's schema
(hardened_rke2_provider.model_schema) both describe every setting with it, so the docstrings in the models
are the one source of that text.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import inspect
import textwrap
from collections.abc import Iterator
from functools import cache

from pydantic import BaseModel


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    # CPython 3.11 checks its recursion depth around building an AST (ast.parse, and inspect.getsource,
    # which parses the module to find a class); a garbage collection inside that runs a finalizer (e.g. an
    # asyncio Future logging "exception was never retrieved" after a Pulumi mock run) moves the depth and
    # the parse fails with SystemError. So no collection while parsing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_source(source: str, filename: str = "<unknown>") -> ast.Module:
    with no_gc():
        return ast.parse(source, filename)


@cache
def attribute_docs(model: type) -> dict[str, str]:
    """`field -> docstring` for a pydantic model and its bases, whitespace collapsed."""
    out: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if klass is object or not issubclass(klass, BaseModel) or klass is BaseModel:
            continue
        try:
            with no_gc():
                tree = parse_source(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, nxt in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                out[stmt.target.id] = " ".join(nxt.value.value.split())
    return out
