"""FIPS 140 mode of a cluster: one switch (`compliance.fips`) that turns every FIPS-relevant choice into a
checked rule, and marks the Rancher cluster so the policy pack holds it to the same rules.

Each fact has its source in docs/fips.md. In short: RKE2 is built with the BoringCrypto module (all
components, linux/amd64); of its CNIs only Canal is rebuilt for FIPS; secrets encryption is FIPS-compliant
only with the `aescbc` provider; Go offers non-approved TLS suites unless the cipher list leaves them out;
the node OS must run in FIPS mode. A non-FIPS choice on a FIPS cluster is a config error naming the field
and the fix, unless the named `compliance.weakenings` switch for it is set (the pack reports those).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.model import HardenedModel
from components.problems import Problem
from components.tls import FIPS_CIPHER_SUITES, cipher_list, non_fips_cipher_suites

FIPS_LABEL = "hardened-rke2.io/fips"
"""Label on the `rancher2.ClusterV2` of a FIPS cluster (value "true"): what the pack's `rke2-fips-choices`
policy keys on, and a selector for Fleet `clusterSelector`s that must target FIPS clusters only."""

FIPS_CNI = "canal"
"""The only bundled CNI rebuilt for FIPS (rancher/rke2-docs docs/security/fips_support.md:48)."""

FIPS_SECRETS_PROVIDER = "aescbc"
"""The only FIPS-compliant secrets-encryption provider (rancher/rke2-docs
docs/security/secrets_encryption.md:19-20)."""


_CNI_WEAKENING = "compliance.weakenings.nonFipsCni: true (reported by the pack)"


class FipsWeakenings(HardenedModel):
    """Each switch allows ONE non-FIPS choice on a FIPS cluster. The policy pack reports the choice."""

    non_fips_cni: bool = False
    """Allows `network.cni` other than canal, or `network.multus` (not rebuilt for FIPS)."""
    non_fips_cipher_suites: bool = False
    """Allows `rke2.tlsCipherSuites` with suites outside the FIPS-approved list (ChaCha20-Poly1305)."""

    def enabled(self) -> list[str]:
        fields = type(self).model_fields
        return sorted((fields[n].alias or n) for n in fields if getattr(self, n) is True)


class ComplianceArgs(HardenedModel):
    """Compliance regimes the cluster is held to, beyond the NSA/CISA hardening every cluster gets."""

    fips: bool = False
    """FIPS 140 mode: Canal, `aescbc`, FIPS-approved TLS cipher suites on every component that takes a list
    (etcd included), the cluster labelled `hardened-rke2.io/fips: "true"`, and a host-prep script that refuses
    a node whose kernel is not in FIPS mode or that is not linux/amd64. See docs/fips.md."""
    weakenings: FipsWeakenings = FipsWeakenings()
    """Named exceptions, each allowing one non-FIPS choice on a FIPS cluster (reported by the pack)."""


def fips_problems(
    compliance: ComplianceArgs,
    *,
    cni: str,
    multus: bool,
    secrets_encryption_provider: str,
    cipher_suites: Sequence[str],
    extra_args: Mapping[Any, Mapping[str, Any]],
    labels: Mapping[str, str],
) -> list[Problem]:
    """Every non-FIPS choice of a cluster marked FIPS (paths relative to the cluster args)."""
    out: list[Problem] = []
    if FIPS_LABEL in labels:
        out.append(
            Problem(
                ("labels", FIPS_LABEL),
                "is set by the component from compliance.fips",
                "remove the label; set compliance.fips: true to mark a FIPS cluster",
            )
        )
    if not compliance.fips:
        if compliance.weakenings.enabled():
            out.append(
                Problem(
                    ("compliance", "weakenings"),
                    "FIPS exceptions without compliance.fips",
                    "remove them, or set compliance.fips: true",
                )
            )
        return out
    allow = compliance.weakenings
    if not allow.non_fips_cni:
        if cni != FIPS_CNI:
            out.append(
                Problem(
                    ("network", "cni"),
                    f"'{cni}' is not rebuilt for FIPS (only canal is)",
                    f"use cni: {FIPS_CNI}, or set {_CNI_WEAKENING}",
                )
            )
        if multus:
            out.append(
                Problem(
                    ("network", "multus"),
                    "Multus is not rebuilt for FIPS (only canal is)",
                    f"set multus: false, or set {_CNI_WEAKENING}",
                )
            )
    if secrets_encryption_provider != FIPS_SECRETS_PROVIDER:
        out.append(
            Problem(
                ("rke2", "secretsEncryptionProvider"),
                f"'{secrets_encryption_provider}' is not FIPS-compliant (only aescbc is)",
                "use aescbc (RKE2's default)",
            )
        )
    if not allow.non_fips_cipher_suites:
        weak = non_fips_cipher_suites(list(cipher_suites))
        if weak:
            out.append(
                Problem(
                    ("rke2", "tlsCipherSuites"),
                    f"not FIPS-approved: {', '.join(weak)}",
                    f"use only {', '.join(FIPS_CIPHER_SUITES)} (the default on a FIPS cluster), or set "
                    "compliance.weakenings.nonFipsCipherSuites: true (reported by the pack)",
                )
            )
        etcd = extra_args.get("etcd-arg") or {}
        if "cipher-suites" in etcd:
            weak = non_fips_cipher_suites(cipher_list(str(etcd["cipher-suites"])))
            if weak:
                out.append(
                    Problem(
                        ("rke2", "extraArgs", "etcd-arg", "cipher-suites"),
                        f"not FIPS-approved: {', '.join(weak)}",
                        "remove it: a FIPS cluster gives etcd the FIPS list of rke2.tlsCipherSuites",
                    )
                )
    return out
