"""The add-on pins per Rancher line are internally consistent (chart line prefix, chart family, minors)."""

from __future__ import annotations

import re

import pytest

from components.versions import PINS, RANCHER_LINES, pins_for

CHART_VERSION = re.compile(r"^(?P<line>\d{3})\.\d+\.\d+\+up[0-9A-Za-z.\-]+$")


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_rancher_chart_pins_belong_to_the_line(line: str) -> None:
    pins = pins_for(line)
    for field in ("compliance_version", "neuvector", "logging", "monitoring"):
        version = getattr(pins, field)
        m = CHART_VERSION.match(version)
        assert m, f"{line}.{field}={version!r} is not a rancher-charts version"
        assert int(m.group("line")) == pins.chart_line
        assert "-rc" not in version, "pins must be GA builds"


def test_chart_lines_and_compliance_family() -> None:
    assert [PINS[x].chart_line for x in ("2.11", "2.12", "2.13")] == [106, 107, 108]
    assert pins_for("2.11").compliance_chart == "rancher-cis-benchmark"
    assert pins_for("2.12").compliance_chart == pins_for("2.13").compliance_chart == "rancher-compliance"


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_istio_and_kubernetes_minors(line: str) -> None:
    pins = pins_for(line)
    assert re.fullmatch(r"1\.\d+\.\d+", pins.istio)
    minor = ".".join(pins.default_kubernetes_version.lstrip("v").split(".")[:2])
    assert minor in pins.kubernetes_minors


def test_unsupported_line() -> None:
    with pytest.raises(ValueError, match=r"2\.11, 2\.12, 2\.13"):
        pins_for("2.10")


def test_rancher_chart_compatibility_ends_with_its_rancher_line() -> None:
    from components.versions import chart_compatibility, line_of_chart

    assert line_of_chart("107.1.0+up69.8.2-rancher.15") == "2.12"
    assert line_of_chart("105.0.0+up1.0.0") is None  # a line this module has no pins for
    compat = chart_compatibility("107.1.0+up69.8.2-rancher.15")
    assert compat is not None and compat.newest == "1.33" and compat.oldest is None
    assert compat.supports("1.33") and not compat.supports("1.34")


def test_istio_compatibility_is_a_range_and_unknown_minors_have_none() -> None:
    from components.versions import chart_compatibility

    compat = chart_compatibility("1.28.0", upstream_istio=True)
    assert compat is not None and (compat.oldest, compat.newest) == ("1.30", "1.34")
    assert not compat.supports("1.29") and compat.supports("1.30") and not compat.supports("1.35")
    assert chart_compatibility("1.99.0", upstream_istio=True) is None


@pytest.mark.parametrize("line", RANCHER_LINES)
def test_every_pin_supports_every_minor_of_its_line(line: str) -> None:
    from components.versions import chart_compatibility

    pins = pins_for(line)
    for version, istio in [
        (pins.compliance_version, False), (pins.neuvector, False), (pins.logging, False),
        (pins.monitoring, False), (pins.istio, True),
    ]:  # fmt: skip
        compat = chart_compatibility(version, upstream_istio=istio)
        assert compat is not None, version
        assert [m for m in pins.kubernetes_minors if not compat.supports(m)] == [], (line, version)
