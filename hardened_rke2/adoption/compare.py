"""Compare a Rancher `Cluster` object with the ClusterV2 inputs a stack renders, field by field.

Both sides are brought to one shape: the rancher2 provider's ClusterV2 inputs as the program registers them
(what `preview --json` shows) versus the Cluster's spec mapped the way the provider's expand code maps those
inputs to the object (terraform-provider-rancher2 v13.5.0 rancher2/structure_cluster_v2*.go). The RKE2 config
is compared by its effect: the global config overlaid by the all-nodes selector configs, `*-arg` lists as
flag maps, and a flag that is absent counts as RKE2's default (`rke2.RKE2_DEFAULTS`, `KUBERNETES_DEFAULTS`).

`changes(cluster, inputs)` lists every managed field whose value the stack would change: `(path, cluster's
value, stack's value)`. Paths use the vocabulary of `Adoption.covered`, so each change can be traced to the
finding that names it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Mapping
from typing import Any

import yaml

from hardened_rke2.adoption.mapping import RANCHER_OWNED_PREFIXES
from hardened_rke2.adoption.rke2 import (
    ARG_KEYS,
    KUBERNETES_DEFAULTS,
    RKE2_DEFAULTS,
    effective_config,
    parse_args,
)

Change = tuple[str, Any, Any]


def normalized_rke2(config: Mapping[str, Any]) -> dict[str, Any]:
    """One RKE2 config's effect: `*-arg` lists as flag maps with absent flags at their defaults."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in ARG_KEYS:
            continue
        if key == "audit-policy-file" and isinstance(value, str) and "\n" in value:
            value = yaml.safe_load(value)
        out[key] = value
    cni = out.get("cni", "canal")
    out["cni"] = cni if isinstance(cni, list) else [s.strip() for s in str(cni).split(",") if s.strip()]
    for key, default in (
        ("etcd-expose-metrics", False),
        ("selinux", False),
        ("write-kubeconfig-mode", "0600"),
        ("protect-kernel-defaults", False),
    ):
        value = out.get(key, default)
        out[key] = value.lower() == "true" if isinstance(value, str) and isinstance(default, bool) else value
    for key in ARG_KEYS:
        flags = parse_args(config.get(key))
        for (arg, flag), default in {**RKE2_DEFAULTS, **KUBERNETES_DEFAULTS}.items():
            if arg == key:
                flags.setdefault(flag, default)
        if flags:
            out[key] = flags
    return out


def _inputs_rke2(rke: Mapping[str, Any]) -> dict[str, Any]:
    """The rendered side: provider inputs carry YAML strings and `machineSelectorConfigs` (plural)."""
    return effective_config(
        {
            "machineGlobalConfig": rke.get("machineGlobalConfig"),
            "machineSelectorConfig": [
                {"machineLabelSelector": e.get("machineLabelSelector"), "config": e.get("config")}
                for e in (rke.get("machineSelectorConfigs") or [])
            ],
        }
    )[0]


def _diff(prefix: str, a: Any, b: Any, out: list[Change]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            _diff(f"{prefix}.{key}", a.get(key), b.get(key), out)
    elif a != b:
        out.append((prefix, a, b))


def _diff_rke2(a: Mapping[str, Any], b: Mapping[str, Any], out: list[Change]) -> None:
    """Paths `rke2:<key>`, and `rke2:<arg key>/<flag>` inside the `*-arg` flag maps."""
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if key in ARG_KEYS and (isinstance(va, Mapping) or isinstance(vb, Mapping)):
            fa, fb = va or {}, vb or {}
            for flag in sorted(set(fa) | set(fb)):
                if fa.get(flag) != fb.get(flag):
                    out.append((f"rke2:{key}/{flag}", fa.get(flag), fb.get(flag)))
        elif va != vb:
            out.append((f"rke2:{key}", va, vb))


def changes(cluster: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[Change]:
    spec = cluster.get("spec") or {}
    meta = cluster.get("metadata") or {}
    rke = spec.get("rkeConfig") or {}
    irke = inputs.get("rkeConfig") or {}
    out: list[Change] = []

    def same(path: str, a: Any, b: Any) -> None:
        _diff(path, a, b, out)

    same("spec.name", meta.get("name"), inputs.get("name"))
    same("spec.fleetNamespace", meta.get("namespace", "fleet-default"), inputs.get("fleetNamespace"))
    same("spec.kubernetesVersion", spec.get("kubernetesVersion"), inputs.get("kubernetesVersion"))
    same(
        "spec.enableNetworkPolicy",
        bool(spec.get("enableNetworkPolicy")),
        bool(inputs.get("enableNetworkPolicy")),
    )
    same(
        "spec.defaultPodSecurityAdmissionConfigurationTemplateName",
        spec.get("defaultPodSecurityAdmissionConfigurationTemplateName") or None,
        inputs.get("defaultPodSecurityAdmissionConfigurationTemplateName"),
    )
    ace = spec.get("localClusterAuthEndpoint") or {}
    iace = inputs.get("localAuthEndpoint") or {}
    same(
        "spec.localClusterAuthEndpoint",
        {
            "enabled": bool(ace.get("enabled")),
            "fqdn": ace.get("fqdn") or None,
            "caCerts": ace.get("caCerts") or None,
        },
        {"enabled": bool(iace.get("enabled")), "fqdn": iace.get("fqdn"), "caCerts": iace.get("caCerts")},
    )
    for field in ("labels", "annotations"):
        own = {
            k: v for k, v in (meta.get(field) or {}).items() if not str(k).startswith(RANCHER_OWNED_PREFIXES)
        }
        same(f"spec.{field}", own, dict(inputs.get(field) or {}))

    actual_rke2, _ = effective_config(rke)
    _diff_rke2(normalized_rke2(actual_rke2), normalized_rke2(_inputs_rke2(irke)), out)

    etcd, ietcd = rke.get("etcd") or {}, irke.get("etcd") or {}
    same("etcd.disableSnapshots", bool(etcd.get("disableSnapshots")), bool(ietcd.get("disableSnapshots")))
    same(
        "etcd.snapshotScheduleCron",
        etcd.get("snapshotScheduleCron") or None,
        ietcd.get("snapshotScheduleCron"),
    )
    same(
        "etcd.snapshotRetention", etcd.get("snapshotRetention") or None, _int(ietcd.get("snapshotRetention"))
    )
    s3, is3 = etcd.get("s3") or {}, ietcd.get("s3Config") or {}
    same(
        "etcd.s3",
        {
            "bucket": s3.get("bucket") or None,
            "endpoint": (s3.get("endpoint") or "").removeprefix("https://") or None,
            "folder": s3.get("folder") or None,
            "region": s3.get("region") or None,
            "cloudCredentialName": s3.get("cloudCredentialName") or None,
            "endpointCa": s3.get("endpointCA") or None,
            "skipSslVerify": bool(s3.get("skipSSLVerify")),
        }
        if s3
        else None,
        {
            "bucket": is3.get("bucket"),
            "endpoint": is3.get("endpoint"),
            "folder": is3.get("folder"),
            "region": is3.get("region"),
            "cloudCredentialName": is3.get("cloudCredentialName"),
            "endpointCa": is3.get("endpointCa"),
            "skipSslVerify": bool(is3.get("skipSslVerify")),
        }
        if is3
        else None,
    )

    reg, ireg = rke.get("registries") or {}, irke.get("registries") or {}
    for host, cfg in (reg.get("configs") or {}).items():
        match = next((c for c in ireg.get("configs") or [] if c.get("hostname") == host), None)
        same(
            f"registries.configs.{host}",
            {
                "authConfigSecretName": cfg.get("authConfigSecretName") or None,
                "tlsSecretName": cfg.get("tlsSecretName") or None,
                "insecure": bool(cfg.get("insecureSkipVerify")),
                "caBundle": _pem(cfg.get("caBundle")),
            },
            match
            and {
                "authConfigSecretName": match.get("authConfigSecretName"),
                "tlsSecretName": match.get("tlsSecretName"),
                "insecure": bool(match.get("insecure")),
                "caBundle": _pem(match.get("caBundle")),
            },
        )
    for host, m in (reg.get("mirrors") or {}).items():
        match = next((x for x in ireg.get("mirrors") or [] if x.get("hostname") == host), None)
        same(
            f"registries.mirrors.{host}",
            {"endpoints": list(m.get("endpoint") or []), "rewrites": dict(m.get("rewrite") or {})},
            match
            and {
                "endpoints": list(match.get("endpoints") or []),
                "rewrites": dict(match.get("rewrites") or {}),
            },
        )

    up, iup = rke.get("upgradeStrategy") or {}, irke.get("upgradeStrategy") or {}
    same(
        "upgradeStrategy.controlPlaneConcurrency",
        up.get("controlPlaneConcurrency") or "1",
        iup.get("controlPlaneConcurrency"),
    )
    same(
        "upgradeStrategy.workerConcurrency", up.get("workerConcurrency") or "1", iup.get("workerConcurrency")
    )
    for side in ("controlPlaneDrainOptions", "workerDrainOptions"):
        d, idr = up.get(side) or {}, iup.get(side) or {}
        same("upgradeStrategy.drain", bool(d.get("enabled")), bool(idr.get("enabled")))

    ipools = {p.get("name"): p for p in irke.get("machinePools") or []}
    for pool in rke.get("machinePools") or []:
        name = pool.get("name")
        ip = ipools.get(name)
        if ip is None:
            out.append((f"pool:{name}", "present", None))
            continue
        same(
            f"pool:{name}:roles",
            [bool(pool.get(k)) for k in ("etcdRole", "controlPlaneRole", "workerRole")],
            [bool(ip.get(k)) for k in ("etcdRole", "controlPlaneRole", "workerRole")],
        )
        same(f"pool:{name}:quantity", pool.get("quantity"), _int(ip.get("quantity")))
        same(f"pool:{name}:labels", dict(pool.get("labels") or {}), dict(ip.get("machineLabels") or {}))
        same(
            f"pool:{name}:taints",
            [(t.get("key"), t.get("value") or "", t.get("effect")) for t in pool.get("taints") or []],
            [(t.get("key"), t.get("value") or "", t.get("effect")) for t in ip.get("taints") or []],
        )
        same(
            f"pool:{name}:drainBeforeDelete",
            bool(pool.get("drainBeforeDelete")),
            bool(ip.get("drainBeforeDelete")),
        )
        same(f"pool:{name}:maxUnhealthy", pool.get("maxUnhealthy") or None, ip.get("maxUnhealthy"))
        same(
            f"pool:{name}:cloudCredentialSecretName",
            pool.get("cloudCredentialSecretName") or spec.get("cloudCredentialSecretName"),
            ip.get("cloudCredentialSecretName"),
        )
        same(
            f"pool:{name}:machineConfig.kind",
            (pool.get("machineConfigRef") or {}).get("kind"),
            (ip.get("machineConfig") or {}).get("kind"),
        )
    for name in ipools:
        if name not in {p.get("name") for p in rke.get("machinePools") or []}:
            out.append((f"pool:{name}", None, "present"))
    return out


def _pem(value: Any) -> str | None:
    """Rancher's `caBundle` is `[]byte`: base64 in the object, the PEM text in the provider's input. Compared
    without surrounding whitespace (the blueprint's models strip it)."""
    if not value:
        return None
    text = str(value)
    if "-----BEGIN" not in text:
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            text = base64.b64decode(text, validate=True).decode("utf-8")
    return text.strip()


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def explained(path: str, covered: set[str]) -> bool:
    """Whether a change is named by a finding (its path, or a parent of it, is covered)."""
    return any(path == c or path.startswith((c + ".", c + "/", c + ":")) for c in covered)


def rewritten(cluster: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    """Whether the RKE2 config the nodes get changes in form (keys or flags written explicitly) even where
    its effect does not: Rancher re-plans a node whenever its config file's content changes."""
    actual, _ = effective_config((cluster.get("spec") or {}).get("rkeConfig") or {})
    rendered = _inputs_rke2(inputs.get("rkeConfig") or {})
    return _literal(actual) != _literal(rendered)


def _literal(config: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in config.items():
        if key in ARG_KEYS:
            out[key] = parse_args(value)
        elif key == "audit-policy-file" and isinstance(value, str) and "\n" in value:
            out[key] = yaml.safe_load(value)
        else:
            out[key] = value
    return out
