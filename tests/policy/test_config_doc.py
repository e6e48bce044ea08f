"""The pack README's configuration reference is generated from the policies' config schemas and fresh."""

from __future__ import annotations

from nsa_cisa import ALL_POLICIES
from nsa_cisa.config_doc import BEGIN, END, README, render, splice


def test_readme_section_is_fresh() -> None:
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    section = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert section == render(ALL_POLICIES), (
        "policy-packs/nsa-cisa-hardening/README.md is stale: run "
        "(cd policy-packs/nsa-cisa-hardening && ../../.venv/bin/python -m nsa_cisa.config_doc)"
    )


def test_every_configurable_policy_and_knob_is_listed() -> None:
    section = render(ALL_POLICIES)
    for policy in ALL_POLICIES:
        assert f"`{policy.name}`" in section, policy.name
        for knob in (policy.config_schema.properties or {}) if policy.config_schema else {}:
            assert f"`{knob}`" in section, (policy.name, knob)


def test_a_new_knob_changes_the_section() -> None:
    # The freshness test can fail: a knob added to one policy shows up in the rendered section.
    policy = next(p for p in ALL_POLICIES if p.name == "rke2-audit-logging")
    before = render(ALL_POLICIES)
    schema = policy.config_schema
    assert schema is not None
    original = dict(schema.properties)
    try:
        schema.properties = {**original, "minSomethingNew": {"type": "integer", "default": 7}}
        after = render(ALL_POLICIES)
    finally:
        schema.properties = original
    assert "`minSomethingNew` | integer | `7`" in after
    assert before != after


def test_splice_replaces_only_the_marked_section() -> None:
    doc = f"intro\n\n{BEGIN}\nold\n{END}\ntail\n"
    assert splice(doc, f"{BEGIN}\nnew\n{END}\n") == f"intro\n\n{BEGIN}\nnew\n{END}\ntail\n"
    assert splice("intro\n", f"{BEGIN}\nx\n{END}\n") == f"intro\n\n{BEGIN}\nx\n{END}\n"
