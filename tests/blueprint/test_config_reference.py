"""docs/config-reference.md is generated from the models; it must list every setting and stay in sync."""

from __future__ import annotations

from pathlib import Path

from blueprint.config_reference import render_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "config-reference.md"


def test_reference_is_up_to_date() -> None:
    # Regenerate with: python -m blueprint.config_reference > docs/config-reference.md
    assert DOC.read_text() == render_reference(), (
        "docs/config-reference.md is stale: python -m blueprint.config_reference > docs/config-reference.md"
    )


def test_reference_lists_hardening_settings() -> None:
    text = render_reference()
    for key in (
        "`cluster.rke2.weakenings.apiserverAnonymousAuth`",
        "`cluster.audit.maxAgeDays`",
        "`cluster.network.projectNetworkIsolation`",
        "`cluster.etcd.s3.skipSslVerify`",
        "`cluster.authorizedEndpoint.enabled`",
        "`cluster.protect`",
        "`rancher.line`",
    ):
        assert key in text
