"""A private CA that signed Rancher's certificate, as configured (PEM) and as a kubeconfig carries it.

Rancher behind a private CA: every kubeconfig built here for Rancher's proxy (`components/cluster.py`,
`components/gitops.py`, `components/tenancy/access.py`) carries the CA as base64
`certificate-authority-data`; without it the Kubernetes provider cannot verify Rancher and every
Kubernetes resource of the stack fails. TLS verification is never switched off instead.
"""

from __future__ import annotations

import base64
import binascii
import re

from components.problems import ConfigProblems

_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s*(?P<body>[A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----")
PEM_FIX = "paste the CA's PEM certificate(s), '-----BEGIN CERTIFICATE-----' … '-----END CERTIFICATE-----'"


def pem_certificates(value: str, what: str = "the value") -> str:
    """`value` if it is one or more PEM certificates and nothing else (normalised: stripped, one trailing
    newline); otherwise a `ConfigProblems` saying what is wrong with it."""
    text = value.strip()
    if "PRIVATE KEY" in text:
        raise ConfigProblems.one(
            f"{what} contains a private key; only the CA's certificate belongs here", PEM_FIX
        )
    blocks = list(_BLOCK.finditer(text))
    if not blocks:
        raise ConfigProblems.one(f"{what} is not a PEM certificate", PEM_FIX)
    leftover = _BLOCK.sub("", text).strip()
    if leftover:
        raise ConfigProblems.one(
            f"{what} has text outside its PEM certificates ({leftover[:20]!r}…)", PEM_FIX
        )
    for i, block in enumerate(blocks):
        try:
            der = base64.b64decode("".join(block["body"].split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if not der.startswith(b"\x30"):  # a DER certificate is an ASN.1 SEQUENCE
            raise ConfigProblems.one(f"{what}: certificate {i + 1} is not valid base64 DER", PEM_FIX)
    return text + "\n"


def certificate_authority_data(pem: str) -> str:
    """The kubeconfig form of a CA bundle: `clusters[].cluster.certificate-authority-data`."""
    return base64.b64encode(pem.encode()).decode()
