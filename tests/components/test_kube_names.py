"""components.kube_names: Kubernetes' own name rules, both edges of each."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from components.kube_names import DnsLabel, is_dns_label, is_dns_subdomain, is_label_key, is_label_value


@pytest.mark.parametrize("value", ["a", "0", "1st-pool", "prod-1", "a" * 63])
def test_dns_label_accepts_what_kubernetes_accepts(value: str) -> None:
    # IsDNS1123Label allows a leading digit ("1st-pool"); the old cluster-name rule did not.
    assert is_dns_label(value)


@pytest.mark.parametrize("value", ["", "A", "-a", "a-", "a_b", "a.b", "a" * 64])
def test_dns_label_rejects_what_kubernetes_rejects(value: str) -> None:
    assert not is_dns_label(value)


def test_dns_label_type_reports_a_problem_with_its_fix() -> None:
    class M(BaseModel):
        name: DnsLabel

    with pytest.raises(ValidationError, match=r"'Prod_1' is not a DNS-1123 label \(fix: use lowercase"):
        M(name="Prod_1")


def test_subdomain_and_label_rules() -> None:
    assert is_dns_subdomain("a.b-c.d") and not is_dns_subdomain("a..b") and not is_dns_subdomain("a" * 254)
    assert is_label_key("example.com/Role_1") and is_label_key("dedicated")
    assert not is_label_key("a..b/x") and not is_label_key("x" * 64) and not is_label_key("-x")
    assert is_label_value("") and is_label_value("A.b_c-1") and not is_label_value("x" * 64)
    assert not is_label_value("-x")
