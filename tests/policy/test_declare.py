"""The declaration API (`nsa_cisa/declare.py`), the pack's registry order, and the single pack version."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
import types
from collections.abc import Iterator

import pytest
import yaml
from nsa_cisa import ALL_POLICIES, MODULE_ORDER, PACK_VERSION
from nsa_cisa import framework as fw
from nsa_cisa.declare import PACK, PolicyGroup, Registry
from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity, StackValidationPolicy

from tests.support.paths import PACK_DIR, REPO_ROOT

# A throwaway policy module written the way the README's "Add a policy" recipe says.
DUMMY_MODULE = textwrap.dedent("""
    from nsa_cisa.declare import PolicyGroup
    from nsa_cisa.framework import check_validator

    GROUP = PolicyGroup(__name__, section="network", resource_types=["kubernetes:core/v1:Service"],
                        adapt=check_validator, registry=REGISTRY)

    @GROUP.policy(
        name="dummy-service-no-external-name",
        description="Services are not of type ExternalName.",
        severity="medium",
        nsa=("NSA-2.1",),
        enforcement_level="advisory",
        remediation_steps="Use a ClusterIP Service.",
        config_schema={"allowed": {"type": "boolean", "default": False}},
        tags=("dummy",),
    )
    def check_no_external_name(props, cfg):
        if props.get("spec", {}).get("type") == "ExternalName" and not cfg.get("allowed"):
            yield "spec.type is ExternalName"

    @GROUP.policy(
        name="dummy-stack-rule",
        description="A stack-wide rule.",
        severity="low",
        nsa=(),
        section="governance",
        stack=True,
        adapt=None,
        remediation_steps="Nothing.",
    )
    def validate_stack(args, report):
        pass
""")


@pytest.fixture
def dummy_module() -> Iterator[tuple[types.ModuleType, Registry]]:
    registry = Registry()  # its own registry: the pack's list is not touched
    names_before = list(fw.POLICY_NAMES)
    module = types.ModuleType("dummy_policies")
    module.REGISTRY = registry  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        exec(compile(DUMMY_MODULE, "dummy_policies.py", "exec"), module.__dict__)
        yield module, registry
    finally:
        del sys.modules[module.__name__]
        fw.POLICY_NAMES[:] = names_before  # exemption-name checks must not see the dummy


def test_a_declared_policy_is_registered_with_full_metadata(
    dummy_module: tuple[types.ModuleType, Registry],
) -> None:
    module, registry = dummy_module
    policies = registry.policies(["dummy_policies"])
    assert [p.name for p in policies] == ["dummy-service-no-external-name", "dummy-stack-rule"]
    policy = module.GROUP.named("dummy-service-no-external-name")
    assert policy.description == "Services are not of type ExternalName."
    assert policy.severity == Severity.MEDIUM
    assert policy.enforcement_level == EnforcementLevel.ADVISORY
    assert policy.remediation_steps == "Use a ClusterIP Service."
    assert policy.url == fw.GUIDE_URL
    assert policy.tags == ["NSA-2.1", "section:network", "dummy"]
    assert policy.framework is not None
    assert (policy.framework.name, policy.framework.version, policy.framework.reference) == (
        fw.FRAMEWORK_NAME,
        fw.FRAMEWORK_VERSION,
        fw.SECTIONS["network"],
    )
    assert policy.framework.specification == policy.description
    assert policy.config_schema is not None
    assert set(policy.config_schema.properties) == {"allowed", "exemptions", "exemptNamespaces"}
    # The decorator returns the check itself, so tests can call it directly ...
    assert list(module.check_no_external_name({"spec": {"type": "ExternalName"}}, {})) == [
        "spec.type is ExternalName"
    ]
    # ... and the policy runs it only on the group's resource types, with the schema defaults.
    reported: list[str] = []

    def run(resource_type: str) -> None:
        args = ResourceValidationArgs(
            resource_type, {"spec": {"type": "ExternalName"}}, "urn", "svc", None, None, {}, {}
        )
        policy.validate(args, lambda message, urn=None: reported.append(message))  # type: ignore[operator]

    run("kubernetes:core/v1:ConfigMap")
    assert reported == []
    run("kubernetes:core/v1:Service")
    assert reported == ["spec.type is ExternalName"]
    stack_policy = module.GROUP.named("dummy-stack-rule")
    assert isinstance(stack_policy, StackValidationPolicy)
    assert stack_policy.tags == ["section:governance"]


def test_a_module_missing_from_the_order_is_an_error(dummy_module: tuple[types.ModuleType, Registry]) -> None:
    _, registry = dummy_module
    with pytest.raises(ValueError, match="dummy_policies"):
        registry.policies([])


def test_a_declaration_without_a_section_is_an_error() -> None:
    group = PolicyGroup("no_section", registry=Registry())
    with pytest.raises(ValueError, match="no guide section"):
        declare = group.policy(name="x", description="x", severity="low", nsa=(), remediation_steps="x")
        declare(lambda a, r: None)


def test_stack_policies_reject_resource_only_fields() -> None:
    group = PolicyGroup("stack_only", section="network", registry=Registry())
    with pytest.raises(ValueError, match="stack policies"):
        group.policy(
            name="x", description="x", severity="low", nsa=(), remediation_steps="x", stack=True, tags=("t",)
        )(lambda a, r: None)


# ----------------------------------------------------------------------------- the pack's registry


def test_the_pack_list_is_the_registry_in_module_order() -> None:
    assert PACK.policies([f"nsa_cisa.{m}" for m in MODULE_ORDER]) == ALL_POLICIES
    assert len({p.name for p in ALL_POLICIES}) == len(ALL_POLICIES)
    by_module = [g.module for g in PACK.groups]
    assert sorted(by_module) == sorted(f"nsa_cisa.{m}" for m in MODULE_ORDER), "one group per module"
    for name in MODULE_ORDER:
        module = importlib.import_module(f"nsa_cisa.{name}")
        assert module.GROUP.policies, name
        # No hand-kept list: `POLICIES` (a compatibility alias, see nsa_cisa/__init__.py) is the group's.
        assert getattr(module, "POLICIES", module.GROUP.policies) is module.GROUP.policies, name


def test_exemption_checks_know_every_policy_name() -> None:
    assert {p.name for p in ALL_POLICIES} <= set(fw.POLICY_NAMES)


# ----------------------------------------------------------------------------- one version


def test_the_pack_version_has_one_source() -> None:
    """PulumiPolicy.yaml is the source (the CLI publishes that; the Python SDK always reports 0.0.1)."""
    meta = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert str(meta["version"]) == PACK_VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+", PACK_VERSION)
    # Docs that name a version of the pack name this one.
    for doc in (REPO_ROOT / "README.md", PACK_DIR / "README.md"):
        for found in re.findall(r"nsa-cisa-hardening (\d+\.\d+\.\d+)", doc.read_text(encoding="utf-8")):
            assert found == PACK_VERSION, f"{doc.relative_to(REPO_ROOT)} names pack version {found}"
    init = (PACK_DIR / "nsa_cisa" / "__init__.py").read_text(encoding="utf-8")
    assert PACK_VERSION not in init, "nsa_cisa/__init__.py must read the version, not repeat it"
