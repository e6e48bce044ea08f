"""docs/config-reference.md is generated from the models; it must list every setting and stay in sync."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from hardened_rke2.config_reference import (
    WEAKENING_POLICIES,
    child_prefix,
    discriminator,
    models_in,
    render_reference,
    stack_kind_models,
    team_models,
    variant_tag,
    weakening_rows,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "config-reference.md"
PACK = ROOT / "policy-packs" / "nsa-cisa-hardening"


def test_reference_is_up_to_date() -> None:
    # Regenerate with: python -m hardened_rke2.config_reference > docs/config-reference.md
    assert DOC.read_text(encoding="utf-8") == render_reference(), (
        "docs/config-reference.md is stale: "
        "python -m hardened_rke2.config_reference > docs/config-reference.md"
    )


def _sections(text: str) -> dict[str, set[str]]:
    """Heading -> the keys (first column) of the table under it, parsed from the markdown."""
    out: dict[str, set[str]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            out[heading] = set()
        elif m := re.match(r"^\| `([^`]+)` \|", line):
            out[heading].add(m[1])
    return out


def _expected(
    model: type[BaseModel], prefix: str, heading: str, seen: frozenset[type]
) -> list[tuple[str, str]]:
    """(heading, yaml path) for every field reachable from `model`; union variants under their own heading."""
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        out.append((heading, key))
        subs = [s for s in models_in(info.annotation) if s not in seen]
        tag = discriminator(info, subs) if len(subs) > 1 else None
        for sub in subs:
            where = f"`{key}` with `{tag}: {variant_tag(sub, tag)}`" if tag else heading
            out += _expected(sub, child_prefix(key, info.annotation), where, seen | {sub})
    return out


def test_every_field_of_every_stack_kind_is_documented() -> None:
    sections = _sections(DOC.read_text(encoding="utf-8"))
    kinds = stack_kind_models()
    assert {"cluster", "management"} <= set(kinds)
    missing = []
    for kind, model in kinds.items():
        for heading, key in _expected(model, "", f"`kind: {kind}`", frozenset({model})):
            if key not in sections.get(heading, set()):
                missing.append(f"{heading}: {key}")
    assert not missing, missing


def test_every_team_project_key_is_documented() -> None:
    sections = _sections(DOC.read_text(encoding="utf-8"))
    heading = "Team project (`payments-team`)"
    models = team_models()
    # The tenant space is the platform's (cluster stack `tenants`); a team stack configures no tenancy.
    assert set(models) == {"access", "workload"}
    expected = [(heading, "platformStack"), (heading, "team")]
    for section, model in models.items():
        expected += [(heading, section), *_expected(model, f"{section}.", heading, frozenset({model}))]
    missing = [f"{h}: {k}" for h, k in expected if k not in sections.get(h, set())]
    assert not missing, missing
    # The keys the program reads are exactly the documented top-level ones.
    source = (ROOT / "stacks" / "teams" / "payments" / "__main__.py").read_text(encoding="utf-8")
    read = set(re.findall(r'config\.get(?:_object)?\("(\w+)"\)', source)) | set(
        re.findall(r'\("(\w+)", \w+Args\)', source)
    )
    assert read == {"platformStack", "team", "access", "workload"}


def test_discriminated_unions_get_one_table_per_variant() -> None:
    headings = set(_sections(DOC.read_text(encoding="utf-8")))
    for variant in ("custom", "amazonec2", "harvester", "vsphere", "digitalocean"):
        assert f"`cluster.nodePools[].driver` with `type: {variant}`" in headings
    for provider in ("genericOidc", "keycloakOidc", "oktaSaml", "keycloakSaml", "azureAd", "openLdap"):
        assert f"`management.sso` with `provider: {provider}`" in headings


def _pack_policy_names() -> set[str]:
    # the pack directory is on pytest's `pythonpath` (pyproject.toml), so `nsa_cisa` imports directly
    import nsa_cisa

    return {p.name for p in nsa_cisa.ALL_POLICIES}


def test_weakenings_are_marked_with_real_policies() -> None:
    marked = weakening_rows()
    unmapped = [k for k in marked if k not in WEAKENING_POLICIES]
    assert not unmapped, f"weakening settings without a WEAKENING_POLICIES entry: {unmapped}"
    stale = [k for k in WEAKENING_POLICIES if k not in marked]
    assert not stale, f"WEAKENING_POLICIES names settings the reference does not mark: {stale}"
    known = _pack_policy_names()
    assert len(known) > 50
    unknown = {p for ps in WEAKENING_POLICIES.values() for p in ps} - known
    assert not unknown, unknown
    text = render_reference()
    for key in (
        "cluster.rke2.weakenings.apiserverAnonymousAuth",
        "cluster.nodePools[].driver.allowPublicIp",
        "management.security.allowLongLivedTokens",
        "workload.unsafe.privileged",
        "gitops.repos[].insecureSkipTlsVerify",
    ):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{key}` |"))
        assert "⚠ **weakens**" in row and "reported by policy `" in row, row


def test_reference_lists_hardening_settings_with_defaults() -> None:
    rows = {m[1]: m[0] for m in re.finditer(r"^\| `([^`]+)` \|.*$", render_reference(), flags=re.M)}
    assert "| `cluster.protect` | bool | `true` |" in rows["cluster.protect"]
    assert "`'STRICT'`" in rows["addons.istio.mtlsMode"]
    assert "`false`" in rows["management.security.allowLongSessions"]
    assert "**required**" in rows["tenants.teams[].team"]
    for key in ("cluster.audit.maxAgeDays", "cluster.etcd.s3.skipSslVerify", "rancher.line"):
        assert key in rows


def test_union_helpers_agree_with_models() -> None:
    from components.management import ManagementPlaneArgs

    info = ManagementPlaneArgs.model_fields["sso"]
    variants = models_in(info.annotation)
    assert discriminator(info, variants) == "provider"
    assert typing.get_origin(info.annotation) is not None


def test_every_row_has_a_description() -> None:
    empty = [m[1] for m in re.finditer(r"^\| `([^`]+)` \|.*\|\s*\|$", render_reference(), flags=re.M)]
    assert not empty, f"add a description (attribute docstring or Field(description=...)) for: {empty}"
