"""Long scripts as packaged template files (`components/templates/*.sh`), rendered with explicit variables.

A script kept as a file reads (and lints: shellcheck) as the script it is, instead of as a Python
f-string with doubled braces. Placeholders are `@{NAME}` (`ScriptTemplate`), so the shell's own `$VAR`,
`${VAR:-x}` and `$(cmd)` need no escaping. Every value is escaped for where it lands: names and paths
with `shell_word`, here-document text with `heredoc_body`, word lists with `shlex.quote` per word.
"""

from __future__ import annotations

import shlex
import string
from importlib import resources


class ScriptTemplate(string.Template):
    """`@{NAME}` placeholders; `@@` is a literal `@`."""

    delimiter = "@"


def render_template(name: str, **variables: str) -> str:
    """Render a template of this package. `substitute`, never `safe_substitute`: a placeholder without
    a variable is an error, not a script that runs with `@{NAME}` in it."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return ScriptTemplate(text).substitute(variables)


def shell_word(value: str) -> str:
    """A name or path as a shell word (`shlex.quote`). Templates also show names inside "..." and in
    comments, where quotes would be taken literally, so only words that need no quoting are accepted."""
    quoted = shlex.quote(value)
    if quoted != value:
        raise ValueError(f"{value!r} is not a plain shell word (fix: use letters, digits and ._/:,=+@%-)")
    return quoted


def heredoc_body(text: str, *, terminator: str) -> str:
    """Text for a quoted here-document (`<<'END'`, no expansion): it must not contain the end line."""
    if terminator in text.splitlines():
        raise ValueError(f"here-document text contains its terminator line {terminator!r}")
    return text
