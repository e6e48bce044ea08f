"""Kubernetes name rules, defined once: DNS labels, DNS subdomains, label keys and values.

The rules are Kubernetes' own (k8s.io/apimachinery/pkg/util/validation/validation.go):
- `IsDNS1123Label`: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters (a leading digit is allowed);
- `IsDNS1123Subdomain`: such labels joined by `.`, at most 253 characters;
- `IsQualifiedName` (label keys): an optional DNS-subdomain prefix and `/`, then a name of at most 63
  characters, `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`;
- `IsValidLabelValue`: empty, or at most 63 characters of that same name form.
A failing value raises `ConfigProblems`, so the message and its fix travel as one `Problem`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from components.problems import ConfigProblems

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
LABEL_NAME_MAX = 63

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(rf"^{_LABEL}$")
_DNS_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def is_dns_label(value: str, max_length: int = DNS_LABEL_MAX) -> bool:
    return len(value) <= max_length and _DNS_LABEL.match(value) is not None


def is_dns_subdomain(value: str) -> bool:
    return len(value) <= DNS_SUBDOMAIN_MAX and _DNS_SUBDOMAIN.match(value) is not None


def is_label_key(value: str) -> bool:
    prefix, slash, name = value.rpartition("/")
    if slash and not is_dns_subdomain(prefix):
        return False
    return len(name) <= LABEL_NAME_MAX and _QUALIFIED_NAME.match(name) is not None


def is_label_value(value: str) -> bool:
    return value == "" or (len(value) <= LABEL_NAME_MAX and _QUALIFIED_NAME.match(value) is not None)


def check_dns_label(value: str, what: str = "", max_length: int = DNS_LABEL_MAX) -> str:
    """`value`, or `ConfigProblems` naming it (`what`, e.g. "namespace name") with the rule as the fix."""
    if is_dns_label(value, max_length):
        return value
    subject = f"{what} {value!r}" if what else repr(value)
    raise ConfigProblems.one(
        f"{subject} is not a DNS-1123 label",
        f"use lowercase letters, digits and '-' (a DNS label), starting and ending with a letter or digit, "
        f"at most {max_length} characters",
    )


def check_dns_subdomain(value: str) -> str:
    if is_dns_subdomain(value):
        return value
    raise ConfigProblems.one(
        f"{value!r} is not a DNS-1123 subdomain",
        "use DNS labels (lowercase letters, digits and '-') joined by '.', at most 253 characters",
    )


def check_label_key(value: str) -> str:
    if is_label_key(value):
        return value
    raise ConfigProblems.one(
        f"{value!r} is not a Kubernetes label key",
        "use [prefix/]name: an optional DNS subdomain prefix, then at most 63 letters, digits, '-', '_' "
        "or '.', starting and ending with a letter or digit",
    )


def check_label_value(value: str) -> str:
    if is_label_value(value):
        return value
    raise ConfigProblems.one(
        f"{value!r} is not a Kubernetes label value",
        "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    )


DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
"""An RFC 1123 label (Kubernetes `IsDNS1123Label`): most object names, namespaces."""
DnsSubdomain = Annotated[str, AfterValidator(check_dns_subdomain)]
"""An RFC 1123 subdomain (Kubernetes `IsDNS1123Subdomain`)."""
LabelKey = Annotated[str, AfterValidator(check_label_key)]
LabelValue = Annotated[str, AfterValidator(check_label_value)]
