"""The add-on registry and contract: every registered add-on is wired consistently, and the recipe in
components/README.md ("Add an add-on") is enough: a new add-on module, one config field, one registry line
and its pins make ClusterAddons install it, with nothing else edited."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
import pytest
from pydantic import Field

from components.addons import AddonsArgs, ClusterAddons, preflight_problems, registry
from components.addons.catalog import install_chart
from components.addons.contract import Addon, InstallContext, PreflightContext
from components.handles import ClusterHandle
from components.model import HardenedModel
from components.problems import Problem, ProblemList
from components.versions import RANCHER_LINES, LinePins, pins_for
from tests.support.addons import APP, SYSLOG_OUTPUT, apps, assert_app_contract, mocks, program

# Registration order is behaviour (the golden snapshot pins it); changing it must be a deliberate edit here.
REGISTRATION_ORDER = ["monitoring", "neuvector", "compliance", "audit_logging", "istio"]


def test_registration_order() -> None:
    assert [addon.config_key for addon in registry.ADDONS] == REGISTRATION_ORDER


@pytest.mark.parametrize("addon", registry.ADDONS, ids=lambda a: a.config_key)
def test_every_addon_has_its_config_field(addon: type[Addon]) -> None:
    field = AddonsArgs.model_fields[addon.config_key]
    assert field.annotation is addon.args_model
    assert addon.args_model.model_fields["enabled"].annotation is bool
    assert issubclass(addon, pulumi.ComponentResource)


def test_every_config_field_is_a_registered_addon() -> None:
    # `cluster` holds the facts about the target cluster (components/addons/platform.py), not an add-on.
    assert set(AddonsArgs.model_fields) - {"cluster"} == {addon.config_key for addon in registry.ADDONS}


@pytest.mark.parametrize("line", RANCHER_LINES)
@pytest.mark.parametrize("addon", registry.ADDONS, ids=lambda a: a.config_key)
def test_every_addon_has_a_pin_per_line(addon: type[Addon], line: str) -> None:
    version = addon.pinned_version(pins_for(line))
    assert isinstance(version, str) and version and "-rc" not in version


# ------------------------------------------------------------------------- the recipe, with a dummy
DUMMY_CHART_UPSTREAM = "1.4.2"


class DummyArgs(HardenedModel):
    """Step 1 (its own module): the args model, with `enabled`."""

    enabled: bool = False
    chart_version: str | None = None
    replicas: int = 1


class DummyAddon(pulumi.ComponentResource):
    """Step 1 (its own module): the one class with config key, args model, pin, preflight and install."""

    config_key: ClassVar[str] = "dummy"
    args_model: ClassVar[type[HardenedModel]] = DummyArgs

    @staticmethod
    def pinned_version(pins: LinePins) -> str:
        # Step 4 (its pins): a real add-on adds a `LinePins` field per line; the dummy derives one.
        return f"{pins.chart_line}.0.0+up{DUMMY_CHART_UPSTREAM}"

    @classmethod
    def namespaces(cls, args: DummyArgs, rancher_line: str) -> tuple[str, ...]:
        return ("dummy-system",)

    @classmethod
    def preflight(cls, args: DummyArgs, cluster: PreflightContext) -> list[Problem]:
        problems = ProblemList()
        if args.replicas > 1 and not cluster.has_kubernetes_provider:
            problems.add(["addons", "dummy", "replicas"], "scaling needs the provider", "set replicas: 1")
        return problems.items

    @classmethod
    def install(cls, name: str, args: DummyArgs, context: InstallContext) -> DummyAddon:
        return cls(name, args, context.handle, context.opts)

    def __init__(
        self, name: str, args: DummyArgs, handle: ClusterHandle, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        version = args.chart_version or self.pinned_version(pins_for(handle.rancher_line))
        super().__init__("test:addons:Dummy", name, None, opts)
        self.app = install_chart(
            name,
            handle=handle,
            chart="dummy",
            version=version,
            namespace="dummy-system",
            values={"replicas": args.replicas},
            parent=self,
        )
        self.register_outputs({"version": version})


class AddonsArgsWithDummy(AddonsArgs):
    """Step 2 (one config field): in the project this is a field of `AddonsArgs` itself."""

    dummy: DummyArgs = Field(default_factory=DummyArgs)


@pytest.fixture
def dummy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Step 3 (one registry line): appended to `components.addons.registry.ADDONS`."""
    monkeypatch.setattr(registry, "ADDONS", (*registry.ADDONS, DummyAddon))


def _config(**dummy: Any) -> AddonsArgsWithDummy:
    return AddonsArgsWithDummy.model_validate({"auditLogging": {"output": SYSLOG_OUTPUT}, "dummy": dummy})


def test_dummy_follows_the_contract() -> None:
    dummy: type[Addon] = DummyAddon  # the type of a registry entry (mypy checks the real ones)
    assert AddonsArgsWithDummy.model_fields[dummy.config_key].annotation is dummy.args_model


@pytest.mark.usefixtures("dummy_registered")
@pytest.mark.parametrize("line", RANCHER_LINES)
def test_a_registered_addon_is_installed_by_cluster_addons(mock_run, line: str) -> None:
    args = _config(enabled=True, replicas=2)
    assert args.enabled_addons == ["neuvector", "compliance", "audit_logging", "dummy"]
    built: list[ClusterAddons] = []
    build = program(lambda h: built.append(ClusterAddons("addons", args, h)), line=line)
    run = mock_run(build, mocks=mocks())

    component = run.one("hardened-rke2:addons:ClusterAddons")
    dummy = run.one("test:addons:Dummy", "addons-dummy")
    assert dummy.parent == component.urn
    app = apps(run)["dummy"]
    assert app.parent == dummy.urn
    assert app.inputs["chartVersion"] == f"{pins_for(line).chart_line}.0.0+up{DUMMY_CHART_UPSTREAM}"
    assert_app_contract(run, app)
    # Registered last, so it is installed after every built-in add-on (and may use them).
    assert list(built[0].installed) == ["neuvector", "compliance", "audit_logging", "dummy"]
    assert isinstance(built[0].installed["dummy"], DummyAddon)
    assert getattr(built[0], "dummy") is built[0].installed["dummy"]  # noqa: B009 (set by the registry loop)


@pytest.mark.usefixtures("dummy_registered")
def test_a_disabled_registered_addon_is_not_installed(mock_run) -> None:
    args = _config()
    assert "dummy" not in args.enabled_addons
    run = mock_run(program(lambda h: ClusterAddons("addons", args, h)), mocks=mocks())
    assert "dummy" not in apps(run)
    assert len(run.of_type(APP)) == 6  # the three default add-ons, CRD chart + chart each


@pytest.mark.usefixtures("dummy_registered")
def test_a_registered_addons_preflight_runs_before_any_resource(mock_run) -> None:
    args = _config(enabled=True, replicas=3)
    problems = preflight_problems(
        args,
        rancher_line="2.13",
        kubernetes_version=pins_for("2.13").default_kubernetes_version,
        rancher_url="https://rancher.example.com",
        has_kubernetes_provider=False,
    )
    assert [p.path for p in problems][-1] == ("addons", "dummy", "replicas")

    errors: list[Exception] = []

    def build(h: ClusterHandle) -> None:
        try:
            ClusterAddons("addons", args, h)
        except ValueError as exc:
            errors.append(exc)

    run = mock_run(program(build, with_provider=False), mocks=mocks())
    assert "addons.dummy.replicas" in str(errors[0])
    assert not [r for r in run.resources if r.type.startswith(("hardened-rke2:", "test:")) or r.type == APP]
