"""A team Fleet repo as tests of tenancy and of the cluster stack's tenants write it."""

from __future__ import annotations

from typing import Any

FLEET: dict[str, Any] = {
    "repo": {
        "name": "payments",
        "workspace": "fleet-payments",
        "repo": "https://git.example.com/payments/deploy.git",
        "branch": "main",
        "serviceAccount": "payments-deployer",
        "targetNamespace": "payments-api",
        "targets": [{"clusterSelector": {"env": "prod"}}],
    },
    "allowedRepoPatterns": ["^https://git\\.example\\.com/payments/"],
}
GITREPO = "kubernetes:fleet.cattle.io/v1alpha1:GitRepo"
