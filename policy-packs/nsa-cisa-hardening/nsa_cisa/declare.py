"""The one way to declare a policy: a decorator on its check, inside a per-module `PolicyGroup`.

    GROUP = PolicyGroup(__name__, section="network", resource_types=SERVICE_TYPES)

    @GROUP.policy(name="service-no-external-ips", description="Services do not set externalIPs.",
                  severity="high", nsa=("NSA-2.1",), remediation_steps="Remove spec.externalIPs.")
    def _external_ips(args, report): ...

Like Pulumi's compliance policies (`registerPolicy({...})`), the declaration holds the check and all its
metadata; field names follow the SDK (`remediation_steps`, `severity`, `enforcement_level`, `tags`, `url`,
`config_schema`); `nsa` are the guide's checklist ids (they become tags) and `section` its chapter (the
framework reference). The decorator returns the function unchanged, so tests can still call it directly.

Order matters (the engine shows policies in pack order): every group keeps its policies in declaration
order and the pack concatenates the groups in `nsa_cisa.MODULE_ORDER` (see `Registry.policies`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pulumi_policy import Policy, PolicyConfigSchema

from nsa_cisa.framework import GUIDE_URL, Remediate, build_resource_policy, build_stack_policy

F = TypeVar("F", bound=Callable[..., Any])
Adapt = Callable[[Any], Any]
"""Turns a module's kind of check into the SDK's `validate(args, report)` (e.g. `check_validator`)."""


class _Default(enum.Enum):
    GROUP = "the group's value"


FROM_GROUP = _Default.GROUP
"""A declaration argument left at this takes the group's value (None is a real value: "all types" etc.)."""


class Registry:
    """Every `PolicyGroup` created against it, so the pack's list needs no hand-maintained `+=` lines."""

    def __init__(self) -> None:
        self.groups: list[PolicyGroup] = []

    def policies(self, module_order: Sequence[str]) -> list[Policy]:
        """All policies: groups in `module_order` (module names), each in declaration order.

        A group whose module is not listed is an error, not a silently missing policy.
        """
        unlisted = sorted({g.module for g in self.groups} - set(module_order))
        if unlisted:
            raise ValueError(f"policy modules missing from the pack's module order: {unlisted}")
        return [p for module in module_order for g in self.groups if g.module == module for p in g.policies]


PACK = Registry()
"""The pack's registry (`nsa_cisa.ALL_POLICIES` is built from it)."""


class PolicyGroup:
    """A module's policies plus the defaults its declarations share (each may override them)."""

    def __init__(
        self,
        module: str,
        *,
        section: str | None = None,
        resource_types: Iterable[str] | None = None,
        url: str = GUIDE_URL,
        enforcement_level: str = "mandatory",
        honor_exempt_namespaces: bool = True,
        adapt: Adapt | None = None,
        registry: Registry = PACK,
    ) -> None:
        self.module = module
        self.section = section
        self.resource_types = resource_types
        self.url = url
        self.enforcement_level = enforcement_level
        self.honor_exempt_namespaces = honor_exempt_namespaces
        self.adapt = adapt
        self.policies: list[Policy] = []
        registry.groups.append(self)

    def named(self, name: str) -> Policy:
        return next(p for p in self.policies if p.name == name)

    def policy(
        self,
        *,
        name: str,
        description: str,
        severity: str,
        nsa: Sequence[str],
        remediation_steps: str,
        config_schema: Mapping[str, Any] | PolicyConfigSchema | None = None,
        shared_knobs: Iterable[str] = (),
        section: str | None = None,
        resource_types: Iterable[str] | _Default | None = FROM_GROUP,
        url: str | None = None,
        enforcement_level: str | None = None,
        specification: str | None = None,
        tags: Sequence[str] = (),
        remediate: Remediate | None = None,
        stack: bool = False,
        adapt: Adapt | _Default | None = FROM_GROUP,
        honor_exempt_namespaces: bool | None = None,
        exemptible: bool = True,
        display_name: str | None = None,
    ) -> Callable[[F], F]:
        """Declare the decorated function as a policy (a stack policy if `stack`).

        `resource_types` / `adapt` default to the group's; pass None for "all types" / "the function
        already is `validate(args, report)`". `tags` are added after the `nsa` ids and the section tag.
        """

        def declare(fn: F) -> F:
            if (section or self.section) is None:
                raise ValueError(f"policy {name}: no guide section (give one here or on the group)")
            adapt_ = self.adapt if isinstance(adapt, _Default) else adapt
            validate = fn if adapt_ is None else adapt_(fn)
            common: dict[str, Any] = dict(
                section=section or self.section,
                nsa=list(nsa),
                severity=severity,
                validate=validate,
                enforcement_level=enforcement_level or self.enforcement_level,
                remediation_steps=remediation_steps,
                config_schema=config_schema,
                honor_exempt_namespaces=(
                    self.honor_exempt_namespaces
                    if honor_exempt_namespaces is None
                    else honor_exempt_namespaces
                ),
                shared_knobs=shared_knobs,
                specification=specification,
                url=url or self.url,
                display_name=display_name,
            )
            built: Policy
            if stack:
                if remediate is not None or tags or not exemptible:
                    raise ValueError(f"policy {name}: stack policies take no remediate/tags/exemptible")
                built = build_stack_policy(name, description, **common)
            else:
                types = self.resource_types if isinstance(resource_types, _Default) else resource_types
                built = build_resource_policy(
                    name,
                    description,
                    **common,
                    remediate=remediate,
                    resource_types=None if types is None else list(types),
                    exemptible=exemptible,
                    tags=tags,
                )
            self.policies.append(built)
            return fn

        return declare
