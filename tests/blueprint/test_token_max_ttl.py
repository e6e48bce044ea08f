"""Every token TTL fits Rancher's maximum, or the config is refused before anything registers (issue 10,
defect 4).

Rancher lowers a requested TTL above `auth-token-max-ttl-minutes` to the maximum without an error
(rancher/rancher pkg/auth/tokens/manager.go:104-108 -> pkg/ext/stores/tokens/tokens.go:1779-1797 IngestTTL,
:1831-1842 ClampToMaxTTL). terraform-provider-rancher2 stores the TTL Rancher answers
(rancher2/structure_token.go:46-50) and `ttl` is ForceNew (rancher2/schema_token.go:66-71): the token, and
everything on a provider built from it, would be replaced on every update.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from blueprint.config import StackConfigError, load_stack_config
from components.management import ManagementPlaneArgs
from components.management.security_settings import SecuritySettingsArgs
from components.tenancy import TeamAccessArgs, team_problems
from components.tenancy.access import DEFAULT_TOKEN_MAX_TTL_MINUTES
from tests.support.stack_configs import stack_values


def test_cluster_and_team_stacks_assume_the_management_stacks_default_maximum() -> None:
    assert SecuritySettingsArgs().token_max_ttl_minutes == DEFAULT_TOKEN_MAX_TTL_MINUTES == 1440
    assert load_stack_config(stack_values("prod")).rancher.token_max_ttl_minutes == 1440
    assert TeamAccessArgs().token_max_ttl_minutes == 1440


def test_a_cluster_token_ttl_above_the_maximum_is_refused_with_path_and_fix() -> None:
    values = stack_values("prod")
    values["cluster"]["kubeconfigTokenTtlHours"] = 48
    values["gitops"]["localTokenTtlHours"] = 25
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    problems = info.value.problems
    assert any(
        p.startswith(
            "cluster.kubeconfigTokenTtlHours: 48 h (2880 min) exceeds rancher.tokenMaxTtlMinutes (1440"
        )
        and "(fix: set it to at most 24 " in p
        for p in problems
    ), problems
    assert any(p.startswith("gitops.localTokenTtlHours: 25 h (1500 min) exceeds") for p in problems), problems


def test_the_named_maximum_lifts_the_limit_and_a_lower_one_tightens_it() -> None:
    values = stack_values("prod")
    values["cluster"]["kubeconfigTokenTtlHours"] = 48
    values["gitops"]["localTokenTtlHours"] = 48
    values["rancher"]["tokenMaxTtlMinutes"] = 2880
    assert load_stack_config(values).cluster.kubeconfig_token_ttl_hours == 48
    values = stack_values("prod")
    values["rancher"]["tokenMaxTtlMinutes"] = 480  # the defaults (24 h) no longer fit
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    paths = [p.split(": ", 1)[0] for p in info.value.problems]
    assert paths == ["cluster.kubeconfigTokenTtlHours", "gitops.localTokenTtlHours"]


def test_gitops_ttl_is_not_checked_when_no_fleet_token_is_minted() -> None:
    values = stack_values("dev")
    values.pop("gitops", None)
    values.setdefault("rancher", {})["tokenMaxTtlMinutes"] = 1440
    values["cluster"]["kubeconfigTokenTtlHours"] = 24
    load_stack_config(values)


def test_a_team_token_ttl_above_the_maximum_is_refused() -> None:
    TeamAccessArgs.model_validate({"tokenTtlSeconds": 86_400})  # 24 h fits the default 1440 min
    with pytest.raises(ValidationError) as info:
        TeamAccessArgs.model_validate({"tokenTtlSeconds": 28_800, "tokenMaxTtlMinutes": 240})
    (problem,) = team_problems(info.value, prefix=("access",))
    text = problem.render()
    assert text.startswith("access.tokenTtlSeconds: 28800 s exceeds tokenMaxTtlMinutes (240 min")
    assert text.endswith(
        "(fix: set it to at most 14400 (or set tokenMaxTtlMinutes to the management stack's "
        "security.tokenMaxTtlMinutes))"
    )


def test_the_management_stack_checks_its_own_tokens_against_its_maximum() -> None:
    # Already enforced (components/management/plane.py); pinned here with the other stacks.
    from tests.support.management import merged

    with pytest.raises(ValidationError, match=r"bootstrap\.automationTokenTtlSeconds"):
        ManagementPlaneArgs.model_validate(
            merged(
                bootstrap={"automationTokenTtlSeconds": 28_800},
                security={"tokenMaxTtlMinutes": 240, "kubeconfigTokenTtlMinutes": 240},
            )
        )
