"""Version pins per Rancher line, in one place.

Rancher 2.11 / 2.12 / 2.13 ship rancher-charts lines 106 / 107 / 108 and Fleet 0.12 / 0.13 / 0.14.
Every chart a component installs takes its version from here, so an upgrade is one reviewed diff.
Each pin can still be overridden per component (an explicit `chartVersion` setting).

Add-on pins were checked (Nov 2026) against the released chart archives in rancher/charts
(`assets/<chart>/<chart>-<version>.tgz`, GA builds only, never `-rc`) and the charts' own
`catalog.cattle.io/rancher-version` / `kube-version` annotations. The `*-crd` companion charts are
released with the same version as their main chart. What was NOT verified here: `rancher_chart`,
`cert_manager_chart` (management helper) and `fleet` (informational: Fleet ships inside Rancher, the
pin only records which GitRepo API the line carries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

RancherLine = Literal["2.11", "2.12", "2.13"]
RANCHER_LINES: tuple[str, ...] = get_args(RancherLine)
DEFAULT_RANCHER_LINE: RancherLine = "2.13"


@dataclass(frozen=True)
class LinePins:
    """Chart versions and supported Kubernetes minors for one Rancher line."""

    rancher_chart: str
    cert_manager_chart: str
    chart_line: int
    fleet: str
    compliance_chart: str
    """`rancher-cis-benchmark` up to 2.11, `rancher-compliance` from 2.12."""
    compliance_version: str
    neuvector: str
    logging: str
    monitoring: str
    istio: str
    """Upstream Istio chart version (base, istiod, cni, gateway)."""
    kubernetes_minors: tuple[str, ...]
    """RKE2 minors this Rancher line supports, oldest first. The newest matches the Rancher chart's own
    `kubeVersion` ceiling (rancher/rancher `chart/Chart.yaml` at v2.11.3 `< 1.33.0-0`, v2.12.3 `< 1.34.0-0`,
    v2.13.0 `< 1.35.0-0`) and, for 2.13, the per-minor table of
    `pkg/controllers/capr/autoscaler/fleet.go:27-31` (v2.13.0: 1.32, 1.33, 1.34).
    Patch releases are offered by KDM (`release-v2.<n>` data.json, which
    `package/Dockerfile` downloads); KDM is not mirrored here, so a patch is only checked for its minor."""
    default_kubernetes_version: str


PINS: dict[str, LinePins] = {
    "2.11": LinePins(
        rancher_chart="2.11.3",
        cert_manager_chart="v1.17.2",
        chart_line=106,
        fleet="0.12.3",
        compliance_chart="rancher-cis-benchmark",
        compliance_version="106.8.0+up8.10.0",
        neuvector="106.1.1+up2.11.2",
        logging="106.0.8+up4.10.0-rancher.24",
        monitoring="106.1.4+up69.8.2-rancher.23",
        istio="1.26.2",
        kubernetes_minors=("1.30", "1.31", "1.32"),
        default_kubernetes_version="v1.32.5+rke2r1",
    ),
    "2.12": LinePins(
        rancher_chart="2.12.3",
        cert_manager_chart="v1.18.2",
        chart_line=107,
        fleet="0.13.2",
        compliance_chart="rancher-compliance",
        compliance_version="107.12.0+up1.2.12",
        neuvector="107.1.1+up2.11.2",
        logging="107.0.6+up4.10.0-rancher.24",
        monitoring="107.1.0+up69.8.2-rancher.15",
        istio="1.27.1",
        kubernetes_minors=("1.31", "1.32", "1.33"),
        default_kubernetes_version="v1.33.5+rke2r1",
    ),
    "2.13": LinePins(
        rancher_chart="2.13.0",
        cert_manager_chart="v1.19.1",
        chart_line=108,
        fleet="0.14.0",
        compliance_chart="rancher-compliance",
        compliance_version="108.10.0+up1.3.12",
        neuvector="108.0.9+up2.11.2",
        logging="108.0.5+up4.10.0-rancher.24",
        monitoring="108.0.2+up77.9.1-rancher.11",
        istio="1.28.0",
        kubernetes_minors=("1.32", "1.33", "1.34"),
        default_kubernetes_version="v1.34.1+rke2r1",
    ),
}


def pins_for(line: str) -> LinePins:
    """The pins of a Rancher line; a clear error names the supported lines."""
    try:
        return PINS[line]
    except KeyError:
        raise ValueError(
            f"unsupported Rancher line {line!r}: use one of {', '.join(RANCHER_LINES)}"
        ) from None


# --- add-on chart compatibility -------------------------------------------------------------------------

ISTIO_KUBERNETES_MINORS: dict[str, tuple[str, str]] = {
    "1.26": ("1.29", "1.33"),
    "1.27": ("1.29", "1.33"),
    "1.28": ("1.30", "1.34"),
}
"""Upstream Istio minor -> (oldest, newest) supported Kubernetes minor, from Istio's support table
(istio/istio.io `data/compatibility/supportStatus.yml`, `k8sVersions`). istioctl itself only encodes the
floor (istio/istio 1.28.0 `istioctl/pkg/install/k8sversion/version.go:31`, MinK8SVersion = 29)."""


@dataclass(frozen=True)
class ChartCompatibility:
    """Which Kubernetes minors a chart version supports, and where that comes from."""

    oldest: str | None
    newest: str
    source: str

    def supports(self, minor: str) -> bool:
        key = _minor_key(minor)
        return key <= _minor_key(self.newest) and (self.oldest is None or key >= _minor_key(self.oldest))


def _minor_key(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return int(major), int(rest.split(".", 1)[0])


def line_of_chart(version: str) -> str | None:
    """The Rancher line a rancher-charts version belongs to (`108.0.2+up…` -> `2.13`), if a known one."""
    head = version.split(".", 1)[0]
    if not head.isdigit():
        return None
    return next((line for line, pins in PINS.items() if pins.chart_line == int(head)), None)


def chart_compatibility(version: str, *, upstream_istio: bool = False) -> ChartCompatibility | None:
    """The Kubernetes range of an add-on chart version; None when this module has no data for it.

    rancher-charts: a chart's major names its Rancher line (106/107/108 = 2.11/2.12/2.13) and its
    `catalog.cattle.io/kube-version` annotation ends where that line's Kubernetes support ends (checked on
    the lines mirrored here: rancher/charts release-v2.10 index.yaml, e.g. rancher-monitoring
    104.1.0+up57.0.3 and neuvector 104.0.0+up2.7.7 `< 1.31.0-0` for Rancher 2.9, whose newest minor is
    1.30). Only the ceiling is encoded: the floors differ per chart, and an upgrade only moves up."""
    if upstream_istio:
        parts = version.lstrip("v").split(".")
        minors = ISTIO_KUBERNETES_MINORS.get(".".join(parts[:2])) if len(parts) >= 2 else None
        if minors is None:
            return None
        return ChartCompatibility(minors[0], minors[1], "istio.io supportStatus.yml")
    line = line_of_chart(version)
    if line is None:
        return None
    return ChartCompatibility(
        None, PINS[line].kubernetes_minors[-1], f"rancher-charts {PINS[line].chart_line}.x = Rancher {line}"
    )
