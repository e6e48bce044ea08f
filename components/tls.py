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


# --- FIPS 140 --------------------------------------------------------------------------------------------
# The TLS 1.2 suites Go allows in FIPS-only mode: golang/go src/crypto/tls/defaults.go
# `defaultCipherSuitesFIPS` (Go 1.23+; NIST SP 800-52r2 via BoringSSL's fips_202205 policy). RKE2 builds
# every component with GOEXPERIMENT=boringcrypto (rancher/rke2 scripts/build-binary:54-56), which makes
# BoringCrypto do the cryptography but does not restrict the suites a component offers: the ChaCha20-Poly1305
# suites (not FIPS-approved) stay on unless the cipher list leaves them out. TLS 1.3 suites are not
# configurable in Go; its FIPS set (AES-GCM) is chosen by Go itself.
FIPS_CIPHER_SUITES: tuple[str, ...] = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
)


def non_fips_cipher_suites(suites: tuple[str, ...] | list[str]) -> list[str]:
    """The suites of `suites` that are not FIPS-approved (in order)."""
    return [s for s in suites if s not in FIPS_CIPHER_SUITES]


def cipher_list(value: str) -> list[str]:
    """A cipher-suite flag value as a list: `a,b` or etcd's YAML flow form `[a,b]`."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [s.strip().strip("'\"") for s in text.split(",") if s.strip()]
