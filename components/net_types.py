"""Network values, defined once: CIDRs, host names, hosts (name or IP), ports, e-mail addresses, URLs.

Built on the standard library's `ipaddress` and the DNS rules of RFC 1123 (the same as Kubernetes'
`IsDNS1123Subdomain`, but host names may use upper case, as DNS is case-insensitive). Each check raises
`ConfigProblems` so the message and its fix travel as one `Problem`; the `Annotated` types below are what
models use.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, Strict

from components.problems import ConfigProblems

HOSTNAME_MAX = 253
_LABEL = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
"""A TCP/UDP port, 1-65535 (an integer, not `true` or a string)."""


def is_hostname(value: str, *, wildcard: bool = False) -> bool:
    """RFC 1123 host name: labels of letters, digits and inner '-', at most 63 each, 253 in all.
    `wildcard` also accepts a leading `*.` (certificate SANs)."""
    if wildcard and value.startswith("*."):
        value = value[2:]
    if not value or len(value) > HOSTNAME_MAX:
        return False
    return all(_LABEL.match(label) for label in value.rstrip(".").split("."))


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def check_hostname(value: str) -> str:
    if is_hostname(value):
        return value
    raise ConfigProblems.one(
        f"{value!r} is not a host name",
        "use DNS labels (letters, digits and inner '-', at most 63 characters each) joined by '.'",
    )


def check_host(value: str) -> str:
    if is_hostname(value) or is_ip(value):
        return value
    raise ConfigProblems.one(
        f"{value!r} is neither a host name nor an IP address", "use e.g. logs.example.com or 10.0.0.5"
    )


def check_san(value: str) -> str:
    if is_hostname(value, wildcard=True) or is_ip(value):
        return value
    raise ConfigProblems.one(
        f"{value!r} is neither a host name nor an IP address",
        "use a DNS name (optionally *.domain) or an IP address",
    )


def check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ConfigProblems.one(
            f"{value!r} is not a network in CIDR form ({exc})", "use e.g. 10.42.0.0/16 or fd00:42::/56"
        ) from None
    return value


def networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of a (dual-stack, comma-separated) CIDR value that passed `check_cidrs`."""
    return [ipaddress.ip_network(part.strip(), strict=True) for part in value.split(",")]


def check_cidrs(value: str) -> str:
    """One CIDR, or dual-stack `v4,v6` (one of each family)."""
    parts = [p.strip() for p in value.split(",")]
    for part in parts:
        check_cidr(part)
    if len(parts) > 2 or (len(parts) == 2 and len({networks(p)[0].version for p in parts}) != 2):
        raise ConfigProblems.one(
            f"{value!r} is not one CIDR or an IPv4,IPv6 dual-stack pair", "use e.g. 10.42.0.0/16,fd00:42::/56"
        )
    return value


def overlapping(a: str, b: str) -> bool:
    """Whether two (dual-stack) CIDR values share any address."""
    return any(x.version == y.version and x.overlaps(y) for x in networks(a) for y in networks(b))


def check_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if at and 0 < len(local) <= 64 and _EMAIL_LOCAL.match(local) and is_hostname(domain) and "." in domain:
        return value
    raise ConfigProblems.one(f"{value!r} is not an e-mail address", "use e.g. security@example.com")


def check_https_url(value: str) -> str:
    """An https:// URL with a valid host (name or IP) and, if given, a port 1-65535."""
    problem = https_url_problem(value)
    if problem is None:
        return value
    raise ConfigProblems.one(
        problem, "use an https:// URL with a valid host, e.g. https://rancher.example.com"
    )


def https_url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() != "https":
        return "not an https:// URL (plain HTTP or another scheme is not accepted)"
    host = parts.hostname or ""
    if not (is_hostname(host) or is_ip(host)):
        return "the URL has no valid host name"
    if port is not None and not 1 <= port <= 65535:
        return f"the URL's port {port} is outside 1-65535"
    if parts.username or parts.password:
        return "the URL carries credentials; give them as a secret, not in the URL"
    return None


def chart_repository_problem(url: str) -> str | None:
    """Why a Helm chart repository URL is not fetched over TLS (https:// or oci://), or None."""
    if url.lower().startswith("oci://"):
        rest = url[len("oci://") :].split("/", 1)[0]
        host = rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
        ok = is_hostname(host) or is_ip(host.strip("[]"))
        return None if ok else "the oci:// URL has no valid registry host"
    if url.lower().startswith("http://"):
        return "plain HTTP: charts fetched without TLS can be replaced in transit"
    return https_url_problem(url)


Hostname = Annotated[str, AfterValidator(check_hostname)]
"""An RFC 1123 host name."""
Host = Annotated[str, AfterValidator(check_host)]
"""A host name or an IP address."""
SubjectAltName = Annotated[str, AfterValidator(check_san)]
"""A certificate SAN: a host name (optionally `*.domain`) or an IP address."""
Cidr = Annotated[str, AfterValidator(check_cidr)]
"""One IP network in CIDR form (host bits zero)."""
DualStackCidr = Annotated[str, AfterValidator(check_cidrs)]
"""One CIDR, or an IPv4,IPv6 pair."""
Email = Annotated[str, AfterValidator(check_email)]
HttpsUrl = Annotated[str, AfterValidator(check_https_url)]
"""An https:// URL (no plain HTTP) with a valid host and port."""
