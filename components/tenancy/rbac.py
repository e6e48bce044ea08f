"""Team RBAC: least-privilege custom project roles and SSO group bindings."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.kube_names import check_dns_label
from components.model import HardenedModel
from components.problems import ConfigProblems, ProblemList
from components.tenancy.constants import ESCALATION_VERBS, GROUP_PRINCIPAL_SCHEMES, PERSONA_ROLE_TEMPLATES

_PRINCIPAL_RE = re.compile(r"^(?P<scheme>[a-z]+_[a-z]+)://(?P<id>\S.*)$")


# --- RBAC ---------------------------------------------------------------------------------------------------


class RuleArgs(HardenedModel):
    """A Kubernetes policy rule of a custom project role. No wildcards (NSA-3.4), no escalation verbs."""

    api_groups: list[str] = Field(default_factory=lambda: [""])
    """API groups (`""` is the core group)."""
    resources: list[str] = Field(min_length=1)
    """Resources, e.g. `pods`, `pods/log`."""
    verbs: list[str] = Field(min_length=1)
    """Verbs granted, e.g. `get`, `list`, `watch`."""
    resource_names: list[str] = Field(default_factory=list)
    """Limits the rule to these object names."""

    @model_validator(mode="after")
    def _least_privilege(self) -> RuleArgs:
        problems = ProblemList()
        for field in ("api_groups", "resources", "verbs", "resource_names"):
            alias = to_camel(field)
            for i, item in enumerate(getattr(self, field)):
                if "*" in item:
                    problems.add(
                        [alias, i],
                        f"wildcard {item!r} grants everything, including what does not exist yet (NSA-3.4)",
                        f"list the exact {alias} the role needs",
                    )
        for i, verb in enumerate(self.verbs):
            if verb in ESCALATION_VERBS:
                problems.add(
                    ["verbs", i],
                    f"verb {verb!r} lets the holder grant itself more rights (NSA-3.6)",
                    f"remove {verb!r}; ask the platform team for a reviewed role instead",
                )
        problems.raise_if_any()
        return self

    def as_rancher(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "api_groups": list(self.api_groups),
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }
        if self.resource_names:
            rule["resource_names"] = list(self.resource_names)
        return rule


class CustomRoleArgs(HardenedModel):
    """A project-scoped Rancher role template defined by the team."""

    name: str
    """Role name (DNS label); must not collide with a persona."""
    description: str = ""
    """What the role may do, shown in Rancher."""
    rules: list[RuleArgs] = Field(min_length=1)
    """RBAC rules granted (at least one)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        check_dns_label(value, "custom role name")
        if value in PERSONA_ROLE_TEMPLATES.values():
            raise ConfigProblems.one(
                f"custom role {value!r} shadows Rancher's built-in role ",
                "use the persona instead, or pick another name",
            )
        return value


class GroupBindingArgs(HardenedModel):
    """An SSO group bound to the project: as a persona (Rancher's built-in project roles), with one of the
    team's custom roles, or with a role template the platform's management stack publishes
    (`roleTemplateIds` output, e.g. `team-developer`)."""

    group_principal_id: str
    """SSO group principal, e.g. `keycloakoidc_group://payments-developers`."""
    persona: Literal["owner", "member", "read-only"] | None = None
    """Rancher's built-in project role: `owner`, `member` or `read-only`."""
    custom_role: str | None = None
    """Name of one of the team's `customRoles`."""
    platform_role: str | None = None
    """Key of a role template the management stack publishes (e.g. `team-developer`); needs `managementStack`.
    Key of a role template the management stack publishes (e.g. `team-developer`); needs `managementStack`."""

    @field_validator("group_principal_id")
    @classmethod
    def _principal(cls, value: str) -> str:
        match = _PRINCIPAL_RE.match(value)
        if not match or match["scheme"] not in GROUP_PRINCIPAL_SCHEMES:
            kind = (
                "a user or local principal"
                if match and match["scheme"].endswith("_user")
                else "not a group principal"
            )
            raise ConfigProblems.one(
                f"{value!r} is {kind} ",
                "use an IdP group principal id '<scheme>://<group id>' with scheme one of "
                f"{', '.join(GROUP_PRINCIPAL_SCHEMES)}, e.g. 'keycloakoidc_group://payments-devs'",
            )
        return value

    @model_validator(mode="after")
    def _one_role(self) -> GroupBindingArgs:
        if sum(x is not None for x in (self.persona, self.custom_role, self.platform_role)) != 1:
            raise ConfigProblems.one(
                "a group binding needs exactly one of persona, customRole and platformRole ",
                "set persona: owner|member|read-only, customRole: <a customRoles entry>, or "
                "platformRole: <a role template of the management stack, e.g. team-developer>",
            )
        return self

    @property
    def role_key(self) -> tuple[str, str]:
        if self.persona is not None:
            return ("persona", self.persona)
        if self.custom_role is not None:
            return ("custom", self.custom_role)
        return ("platform", self.platform_role or "")
