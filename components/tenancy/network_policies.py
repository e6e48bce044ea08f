"""A tenant namespace's NetworkPolicies: default deny, then explicit allowances (NSA-2.4..2.6)."""

from __future__ import annotations

from typing import Any

from components.tenancy.args import TeamTenancyArgs
from components.tenancy.namespaces import TeamNamespaceArgs


def network_policies(args: TeamTenancyArgs, ns: TeamNamespaceArgs) -> dict[str, dict[str, Any]]:
    """The namespace's NetworkPolicy specs by name: default deny, then explicit allowances (NSA-2.4..2.6)."""
    both = ["Ingress", "Egress"]
    policies: dict[str, dict[str, Any]] = {
        "default-deny-all": {"podSelector": {}, "policyTypes": both},
        "allow-dns-egress": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [args.dns.peer()],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                }
            ],
        },
    }
    if ns.allow_same_namespace:
        same: dict[str, Any] = {"podSelector": {}}
        policies["allow-same-namespace"] = {
            "podSelector": {},
            "policyTypes": both,
            "ingress": [{"from": [same]}],
            "egress": [{"to": [same]}],
        }
    if ns.allow_from_ingress_controller:
        policies["allow-from-ingress-controller"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [args.ingress_controller.peer()]}],
        }
    for rule in ns.egress:
        block: dict[str, Any] = {"cidr": rule.cidr}
        if rule.excluded():
            block["except"] = rule.excluded()
        policies[f"allow-egress-{rule.name}"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": block}],
                    "ports": [{"port": p.port, "protocol": p.protocol} for p in rule.ports],
                }
            ],
        }
    return policies
