"""Every add-on `ClusterAddons` can install, in registration order.

The order is behaviour: it is the order resources register in (the golden snapshot pins it), and an
add-on may use the ones before it (compliance's scan alerts wait for monitoring's CRDs). Add new add-ons
at the end unless they must come earlier. See components/README.md, "Add an add-on".
"""

from __future__ import annotations

from components.addons.audit_logging import AuditLogShipping
from components.addons.compliance import ComplianceScanning
from components.addons.contract import Addon
from components.addons.istio import Istio
from components.addons.monitoring import ClusterMonitoring
from components.addons.neuvector import NeuVector

ADDONS: tuple[type[Addon], ...] = (
    ClusterMonitoring,
    NeuVector,
    ComplianceScanning,
    AuditLogShipping,
    Istio,
)
