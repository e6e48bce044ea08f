"""Expired Rancher tokens are renewed only by an operation that refreshes first (issue 10, defect 3).

terraform-provider-rancher2 notices an expired token only in Read: `rancher2/resource_rancher2_token.go:82-85`
(Read sets `renew` false, and `renew` is ForceNew, `schema_token.go:47-52`) and
`rancher2/resource_rancher2_bootstrap.go:118-124` (Read sets `token_update`). Pulumi calls Read only on
refresh, so both projects must carry `options: refresh: always` (pulumi/pulumi
`sdk/go/common/workspace/project.json:136`, read in `pkg/cmd/pulumi/operations/io.go:134`), and no document
may say that a plain `pulumi up` renews a token.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROJECTS = [REPO / "Pulumi.yaml", REPO / "stacks" / "teams" / "payments" / "Pulumi.yaml"]


@pytest.mark.parametrize("path", PROJECTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_project_refreshes_before_each_operation(path: Path) -> None:
    project = yaml.safe_load(path.read_text(encoding="utf-8"))
    # The schema allows exactly this value (`"const": "always"`); anything else is ignored by the CLI.
    assert project.get("options") == {"refresh": "always"}


# Claims that a token is renewed by an update (or "every run") without a refresh: each was in the tree.
FALSE_CLAIMS = [
    r"renewed on the next `pulumi up`",
    r"renewed on every `pulumi up`",
    r"renewed by\s+each `pulumi up`",
    r"renewed on the next run",
    r"the next `pulumi up` renews it",
    r"re-creates\s+an expired automation token on the next `pulumi up`",
    r"renewed by the provider when it expires",
]


def _documents() -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for package in ("components", "blueprint", "stacks"):
        files += sorted((REPO / package).rglob("*.py"))
        files += sorted((REPO / package).rglob("*.yaml"))
    files += sorted((REPO / "policy-packs" / "nsa-cisa-hardening").glob("*.md"))
    return [f for f in files if "venv" not in f.parts]


def test_no_document_claims_a_plain_update_renews_a_token() -> None:
    found = []
    for path in _documents():
        text = " ".join(path.read_text(encoding="utf-8").split())
        for claim in FALSE_CLAIMS:
            if re.search(claim, text):
                found.append(f"{path.relative_to(REPO)}: {claim}")
    assert not found, "\n".join(found)


def test_the_documented_ci_commands_refresh_with_the_program() -> None:
    # A refresh from state would read Kubernetes objects through the provider holding the expired token
    # (pulumi-kubernetes provider/pkg/provider/provider.go:1920-1941); `--run-program` uses the new one.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pulumi up --refresh --run-program" in readme
    assert "pulumi preview --refresh --run-program" in readme
    tokens = (REPO / "docs" / "tokens.md").read_text(encoding="utf-8")
    assert "refresh: always" in tokens and "--run-program" in tokens
