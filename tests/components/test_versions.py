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
