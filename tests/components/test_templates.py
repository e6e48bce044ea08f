"""Script templates: packaged, rendered with explicit variables, every value escaped for where it lands."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from components.host_prep import HOST_PREP_TEMPLATE, SYSCTL_HEREDOC
from components.templates import heredoc_body, render_template, shell_word

REPO = Path(__file__).resolve().parents[2]


def test_templates_are_package_data() -> None:
    # (tomllib is Python 3.11+, the project supports 3.10: the declaration is checked as text)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '\n"components.templates" = ["*.sh"]\n' in pyproject.split("[tool.setuptools.package-data]")[1]
    assert resources.files("components.templates").joinpath(HOST_PREP_TEMPLATE).is_file()


def test_a_missing_variable_is_an_error() -> None:
    with pytest.raises(KeyError, match="SYSCTL_DIR"):  # the first placeholder without a variable
        render_template(HOST_PREP_TEMPLATE, ETCD_USER="etcd")


def test_the_host_prep_template_has_every_placeholder_it_is_given() -> None:
    text = resources.files("components.templates").joinpath(HOST_PREP_TEMPLATE).read_text()
    for name in ("ETCD_USER", "ETCD_GROUP", "SYSCTL_DIR", "SYSCTL_FILE_NAME", "SYSCTL_CONF", "CIS_SETTINGS"):
        assert f"@{{{name}}}" in text
    assert f"<<'{SYSCTL_HEREDOC}'\n@{{SYSCTL_CONF}}\n{SYSCTL_HEREDOC}\n" in text


@pytest.mark.parametrize("value", ["etcd", "/etc/sysctl.d", "60-rke2-cis.conf"])
def test_plain_words_pass_unchanged(value: str) -> None:
    assert shell_word(value) == value


@pytest.mark.parametrize("value", ["etcd user", "a'b", "$(reboot)", 'x"y', "", "a\nb"])
def test_words_that_need_quoting_are_rejected(value: str) -> None:
    # The template also shows names inside "..." and comments, where shell quoting would not apply.
    with pytest.raises(ValueError, match="plain shell word"):
        shell_word(value)


def test_heredoc_text_cannot_end_the_document_early() -> None:
    assert heredoc_body("a = 1\nb = $HOME", terminator="END") == "a = 1\nb = $HOME"
    with pytest.raises(ValueError, match="terminator"):
        heredoc_body("a = 1\nEND\nrm -rf /", terminator="END")
