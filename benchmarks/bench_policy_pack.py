#!/usr/bin/env python
"""Policy-pack throughput: a 1,000-resource mixed stack through the analyzer protocol, and checkov for scale.

    python benchmarks/bench_policy_pack.py [--pack DIR] [--resources 1000] [--no-checkov]

Every resource goes through the engine's sequence (Remediate, then Analyze) against the in-process SDK
servicer of the pack, then one AnalyzeStack. Printed: per-resource Analyze latency (median, p99) and
resources/second. When checkov is available (`pip install '.[bench]'`, or a `checkov` on PATH, or
`--checkov BIN`), the same Kubernetes manifests are written to a temporary directory and scanned by checkov
in the same run; the ratio of wall times is printed. The two tools check different rule sets, so the ratio
is a scale comparison, not a like-for-like rule count. Nothing is deployed or contacted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from hardened_rke2.analysis.inputs import AnalyzerInput, input_from_dict
from hardened_rke2.analysis.session import PolicyPackSession

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PACK = REPO / "policy-packs" / "nsa-cisa-hardening"

WORKLOADS = {
    "Deployment": ("apps/v1", 200),
    "StatefulSet": ("apps/v1", 60),
    "DaemonSet": ("apps/v1", 30),
    "ReplicaSet": ("apps/v1", 10),
    "Job": ("batch/v1", 40),
    "CronJob": ("batch/v1", 40),
    "Pod": ("v1", 60),
}


def _k8s_type(api_version: str, kind: str) -> str:
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def _container(i: int, weak: bool) -> dict[str, Any]:
    sc: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if weak:  # every fifth workload is weakened so violation paths are exercised too
        sc.update(privileged=True, allowPrivilegeEscalation=True, capabilities={"add": ["NET_ADMIN"]})
    return {
        "name": f"app-{i}",
        "image": f"registry.example.com/team/app:1.{i % 20}.0"
        if not weak
        else "docker.io/library/nginx:latest",
        "ports": [{"containerPort": 8080}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "securityContext": sc,
        "env": [{"name": "MODE", "value": "prod"}],
    }


def _pod_spec(i: int, weak: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [_container(i + 1000, False)],
        "containers": [_container(i, weak)],
    }
    if weak:
        spec.update(hostNetwork=True, volumes=[{"name": "host", "hostPath": {"path": "/var/run"}}])
    return spec


def _workload(kind: str, api_version: str, i: int, ns: str) -> dict[str, Any]:
    weak = i % 5 == 0
    meta = {"name": f"{kind.lower()}-{i}", "namespace": ns, "labels": {"app": f"app-{i}"}}
    pod = _pod_spec(i, weak)
    template = {"metadata": {"labels": {"app": f"app-{i}"}}, "spec": pod}
    body: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if kind == "Pod":
        body["spec"] = pod
    elif kind == "Job":
        body["spec"] = {"template": {**template, "spec": {**pod, "restartPolicy": "Never"}}}
    elif kind == "CronJob":
        job = {"template": {**template, "spec": {**pod, "restartPolicy": "Never"}}}
        body["spec"] = {"schedule": "*/15 * * * *", "jobTemplate": {"spec": job}}
    else:
        body["spec"] = {"replicas": 3, "selector": {"matchLabels": {"app": f"app-{i}"}}, "template": template}
        if kind == "StatefulSet":
            body["spec"]["serviceName"] = meta["name"]
    return body


def build_stack(total: int = 1000) -> list[dict[str, Any]]:
    """A mixed stack: namespaces with their guard rails, every pod-bearing kind, services, ingresses, RBAC,
    config, and rancher2 clusters/apps/projects; `total` resources (default 1,000)."""
    out: list[dict[str, Any]] = []

    def add(api_version: str, kind: str, body: dict[str, Any]) -> None:
        name = f"{kind.lower()}-{len(out)}"
        out.append({"type": _k8s_type(api_version, kind), "name": name, "props": body, "manifest": True})

    namespaces = [f"team-{n}" for n in range(40)]
    for ns in namespaces:
        pss = {f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "audit", "warn")}
        add(
            "v1",
            "Namespace",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": pss}},
        )
        add(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", "namespace": ns},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            },
        )
        add(
            "v1",
            "LimitRange",
            {
                "apiVersion": "v1",
                "kind": "LimitRange",
                "metadata": {"name": "limits", "namespace": ns},
                "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}}]},
            },
        )
        add(
            "v1",
            "ResourceQuota",
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "quota", "namespace": ns},
                "spec": {"hard": {"requests.cpu": "10", "requests.memory": "20Gi", "pods": "50"}},
            },
        )
    i = 0
    for kind, (api_version, count) in WORKLOADS.items():
        for _ in range(count):
            add(api_version, kind, _workload(kind, api_version, i, namespaces[i % len(namespaces)]))
            i += 1
    for s in range(150):
        ns = namespaces[s % len(namespaces)]
        svc_type = "NodePort" if s % 10 == 0 else "ClusterIP"
        add(
            "v1",
            "Service",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"svc-{s}", "namespace": ns},
                "spec": {
                    "type": svc_type,
                    "selector": {"app": f"app-{s}"},
                    "ports": [{"port": 80, "targetPort": 8080}],
                },
            },
        )
    for g in range(40):
        ingress: dict[str, Any] = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": f"ing-{g}", "namespace": namespaces[g % len(namespaces)]},
            "spec": {
                "rules": [
                    {
                        "host": f"app{g}.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": f"svc-{g}", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        }
        if g % 4:
            ingress["spec"]["tls"] = [{"hosts": [f"app{g}.example.com"], "secretName": f"tls-{g}"}]
        add("networking.k8s.io/v1", "Ingress", ingress)
    for r in range(40):
        ns = namespaces[r % len(namespaces)]
        verbs = ["*"] if r % 8 == 0 else ["get", "list", "watch"]
        add(
            "rbac.authorization.k8s.io/v1",
            "Role",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": f"reader-{r}", "namespace": ns},
                "rules": [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": verbs}],
            },
        )
        add(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": f"reader-{r}", "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"reader-{r}"},
                "subjects": [{"kind": "Group", "name": f"team-{r}", "apiGroup": "rbac.authorization.k8s.io"}],
            },
        )
    for c in range(10):
        add(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": f"viewer-{c}"},
                "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}],
            },
        )
        role = "cluster-admin" if c == 0 else f"viewer-{c}"
        add(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": f"viewer-{c}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "Group", "name": f"ops-{c}", "apiGroup": "rbac.authorization.k8s.io"}],
            },
        )
    for m in range(50):
        data = {"LOG_LEVEL": "info"} if m % 10 else {"DB_PASSWORD": "hunter2"}
        add(
            "v1",
            "ConfigMap",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{m}", "namespace": namespaces[m % len(namespaces)]},
                "data": data,
            },
        )
    for s in range(30):
        add(
            "v1",
            "Secret",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"secret-{s}", "namespace": namespaces[s % len(namespaces)]},
                "type": "Opaque",
                "stringData": {"token": f"value-{s}"},
            },
        )
    for c in range(5):
        out.append(
            {
                "type": "rancher2:index/clusterV2:ClusterV2",
                "name": f"cluster-{c}",
                "options": {"protect": c != 0},
                "props": {
                    "name": f"cluster-{c}",
                    "kubernetesVersion": "v1.33.5+rke2r1",
                    "defaultPodSecurityAdmissionConfigurationTemplateName": "rancher-restricted",
                    "enableNetworkPolicy": True,
                    "rkeConfig": {
                        "machineGlobalConfig": yaml.safe_dump(
                            {
                                "profile": "cis",
                                "cni": "canal",
                                "kube-apiserver-arg": ["anonymous-auth=false", "audit-log-maxage=30"],
                                "kubelet-arg": ["read-only-port=0"],
                            },
                            sort_keys=True,
                        ),
                        "etcd": {"snapshotScheduleCron": "0 */6 * * *", "snapshotRetention": 28},
                    },
                },
            }
        )
    for a in range(15):
        out.append(
            {
                "type": "rancher2:index/appV2:AppV2",
                "name": f"app-{a}",
                "props": {
                    "clusterId": f"c-m-{a % 5}",
                    "name": ["neuvector", "rancher-cis-benchmark", "rancher-logging"][a % 3],
                    "namespace": "cattle-system",
                    "repoName": "rancher-charts",
                    "chartName": ["neuvector", "rancher-cis-benchmark", "rancher-logging"][a % 3],
                    "chartVersion": "105.0.0",
                    "values": yaml.safe_dump({"global": {"cattle": {"psp": {"enabled": False}}}}),
                },
            }
        )
    for p in range(10):
        out.append(
            {
                "type": "rancher2:index/project:Project",
                "name": f"project-{p}",
                "props": {"name": f"project-{p}", "clusterId": f"c-m-{p % 5}"},
            }
        )
    return out[:total]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(pct / 100.0 * len(ordered)) - 1))
    return ordered[k]


def run_pack(pack: Path, specs: list[dict[str, Any]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    session = PolicyPackSession(pack)
    load_s = time.perf_counter() - t0
    by_name = {s["name"]: f"urn:pulumi:bench::bench::{s['type']}::{s['name']}" for s in specs}
    inputs: list[AnalyzerInput] = [
        input_from_dict(s, project="bench", stack="bench", by_name=by_name) for s in specs
    ]
    # warm-up: imports and first-call caches inside policies are not what a per-resource figure should show
    for r in inputs[:10]:
        session.analyze_one(r, r.props)
    # The pack's own share: the servicer's Analyze alone, without the engine side of the call (encoding the
    # request's Struct, decoding the answer), which the per-resource figures include.
    servicer_times: list[tuple[str, float]] = []
    inner_call = session._transport.call

    def timed_call(method: str, request: Any) -> Any:
        if method != "Analyze":
            return inner_call(method, request)
        t = time.perf_counter()
        try:
            return inner_call(method, request)
        finally:
            servicer_times.append((request.type.rsplit(":", 1)[-1], time.perf_counter() - t))

    session._transport.call = timed_call  # type: ignore[method-assign]
    analyze: list[float] = []
    by_kind: dict[str, list[float]] = {}
    analyze_cpu: list[float] = []
    per_resource: list[float] = []
    remediate: list[float] = []
    violations: Counter[str] = Counter()
    final: list[tuple[AnalyzerInput, Any]] = []
    t_all = time.perf_counter()
    for r in inputs:
        t1 = time.perf_counter()
        new_props, diags, _, _ = session.remediate(r, r.props)
        t2 = time.perf_counter()
        c2 = time.thread_time()
        props = new_props if new_props is not None else r.props
        found, _ = session.analyze_one(r, props)
        c3 = time.thread_time()
        t3 = time.perf_counter()
        remediate.append(t2 - t1)
        analyze.append(t3 - t2)
        by_kind.setdefault(r.type.rsplit(":", 1)[-1], []).append(t3 - t2)
        analyze_cpu.append(c3 - c2)
        per_resource.append(t3 - t1)
        violations.update(v.enforcement_level for v in found + diags)
        final.append((r, props))
    t4 = time.perf_counter()
    session._transport.call = inner_call  # type: ignore[method-assign]
    stack_found, _ = session.analyze_stack_step(final, {r.urn: r for r in inputs})
    stack_s = time.perf_counter() - t4
    total_s = time.perf_counter() - t_all
    violations.update(v.enforcement_level for v in stack_found)
    share = _time_share(session, inputs[:: max(1, len(inputs) // 100)], pack)
    session.close()
    return {
        "pack": f"{session.name}@{session.version}",
        "policies": len(session.policies),
        "resources": len(inputs),
        "load_s": load_s,
        "analyze_median_ms": statistics.median(analyze) * 1000,
        "analyze_p99_ms": _percentile(analyze, 99) * 1000,
        "analyze_median_ms_by_kind": {k: statistics.median(v) * 1000 for k, v in sorted(by_kind.items())},
        "servicer_analyze_median_ms": statistics.median(t for _, t in servicer_times) * 1000,
        "servicer_analyze_median_ms_by_kind": {
            k: statistics.median(t for kk, t in servicer_times if kk == k) * 1000
            for k in sorted({k for k, _ in servicer_times})
        },
        "analyze_cpu_median_ms": statistics.median(analyze_cpu) * 1000,
        "analyze_cpu_p99_ms": _percentile(analyze_cpu, 99) * 1000,
        "remediate_median_ms": statistics.median(remediate) * 1000,
        "analyze_stack_ms": stack_s * 1000,
        "total_s": total_s,
        "resources_per_s": len(inputs) / total_s,
        "manifest_resources_s": sum(t for t, s in zip(per_resource, specs, strict=True) if s.get("manifest")),
        "violations": dict(violations),
        "time_share": share,
    }


def _time_share(session: PolicyPackSession, sample: list[AnalyzerInput], pack: Path) -> dict[str, float]:
    """Where Analyze time goes, from a profile of a sample: the SDK (per-policy request deserialization
    and proxies, protobuf) versus the pack's own policy code."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for r in sample:
        session.analyze_one(r, r.props)
    profiler.disable()
    stats = pstats.Stats(profiler)
    buckets: Counter[str] = Counter()
    pack_prefix = str(pack.resolve())
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(pack_prefix):
            buckets["pack policy code"] += tottime
        elif "pulumi_policy" in filename or "protobuf" in filename:
            buckets["pulumi_policy SDK + protobuf"] += tottime
        else:
            buckets["other"] += tottime
    total = sum(buckets.values()) or 1.0
    return {k: round(100 * v / total, 1) for k, v in sorted(buckets.items())}


@contextmanager
def sdk_loop() -> Iterator[bool]:
    """Temporarily restore pulumi-policy's own analyzer loop (undo nsa_cisa/fastpath.py), to measure the
    before figures in the same run."""
    import pulumi_policy.policy as sdk

    cls = next(
        c for c in sdk.proto.AnalyzerServicer.__subclasses__() if c.__name__ == "_PolicyAnalyzerServicer"
    )
    originals = dict(cls.__dict__.get("_nsa_cisa_fastpath_originals") or {})
    patched = {name: cls.__dict__[name] for name in originals}
    for name, original in originals.items():
        setattr(cls, name, original)
    try:
        yield bool(originals)
    finally:
        for name, value in patched.items():
            setattr(cls, name, value)


def run_grpc(pack: Path, specs: list[dict[str, Any]], fast: bool, sample: int = 300) -> dict[str, float]:
    """Analyze over local gRPC (the pack as the CLI starts it) and an empty RPC on the same channel."""
    from google.protobuf import empty_pb2
    from pulumi.runtime import proto

    from hardened_rke2.analysis.packs import SubprocessTransport
    from hardened_rke2.analysis.wire import engine_wire, to_struct

    transport = SubprocessTransport(pack, {"NSA_CISA_FASTPATH": "1" if fast else "0"})
    try:
        reqs = []
        for s in specs[:: max(1, len(specs) // sample)]:
            urn = f"urn:pulumi:bench::bench::{s['type']}::{s['name']}"
            props = to_struct(engine_wire(s["props"], skip_internal_keys=True))
            reqs.append(proto.AnalyzeRequest(type=s["type"], urn=urn, name=s["name"], properties=props))
        for r in reqs[:20]:
            transport.call("Analyze", r)
            transport.call("GetPluginInfo", empty_pb2.Empty())
        analyze, empty = [], []
        for r in reqs:
            t0 = time.perf_counter()
            transport.call("GetPluginInfo", empty_pb2.Empty())
            t1 = time.perf_counter()
            transport.call("Analyze", r)
            t2 = time.perf_counter()
            empty.append(t1 - t0)
            analyze.append(t2 - t1)
    finally:
        transport.close()
    return {
        "analyze_median_ms": statistics.median(analyze) * 1000,
        "empty_rpc_median_ms": statistics.median(empty) * 1000,
        "requests": len(reqs),
    }


def find_checkov(explicit: str | None) -> list[str] | None:
    if explicit:
        return [explicit]
    found = shutil.which("checkov")
    if found:
        return [found]
    try:
        import checkov  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "checkov.main"]


def run_checkov(cmd: list[str], specs: list[dict[str, Any]]) -> dict[str, Any]:
    manifests = [s["props"] for s in specs if s.get("manifest")]
    with tempfile.TemporaryDirectory(prefix="bench-checkov-") as tmp:
        for n, m in enumerate(manifests):
            Path(tmp, f"{n:04d}-{m['kind'].lower()}.yaml").write_text(yaml.safe_dump(m, sort_keys=True))
        args = [*cmd, "-d", tmp, "--framework", "kubernetes", "-o", "json", "--quiet", "--skip-download"]
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
        t0 = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - t0
    failed = passed = 0
    try:
        doc = json.loads(proc.stdout)
        docs = doc if isinstance(doc, list) else [doc]
        for d in docs:
            summary = d.get("summary", {})
            failed += int(summary.get("failed", 0))
            passed += int(summary.get("passed", 0))
    except json.JSONDecodeError:
        return {"error": (proc.stderr or proc.stdout)[-2000:], "wall_s": wall, "manifests": len(manifests)}
    return {"wall_s": wall, "manifests": len(manifests), "failed_checks": failed, "passed_checks": passed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument("--checkov", help="checkov executable (default: PATH, then the current interpreter)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--no-sdk-comparison",
        action="store_true",
        help="skip the before pass with pulumi-policy's own analyzer loop",
    )
    parser.add_argument("--no-grpc", action="store_true", help="skip the local gRPC measurement")
    args = parser.parse_args(argv)

    for var in ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_CONFIG"):
        os.environ.pop(var, None)
    specs = build_stack(args.resources)
    kinds = Counter(s["type"].split(":")[-1] for s in specs)
    pack = run_pack(args.pack, specs)
    report: dict[str, Any] = {"stack": dict(sorted(kinds.items())), "pack": pack}
    import pulumi_policy

    report["machine"] = {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "pulumi_policy": pulumi_policy.version.VERSION if hasattr(pulumi_policy, "version") else "?",
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    if not args.no_sdk_comparison:
        with sdk_loop() as was_patched:
            if was_patched:
                sdk_pass = run_pack(args.pack, specs)
                report["sdk_loop"] = sdk_pass
                report["speedup_fastpath"] = sdk_pass["total_s"] / pack["total_s"]
    if not args.no_grpc:
        report["grpc"] = {
            "sdk_loop": run_grpc(args.pack, specs, fast=False),
            "fastpath": run_grpc(args.pack, specs, fast=True),
        }

    cmd = None if args.no_checkov else find_checkov(args.checkov)
    if cmd is not None:
        checkov = run_checkov(cmd, specs)
        # One manifest: checkov's fixed start-up cost, so the scan itself can be compared too.
        baseline = run_checkov(cmd, [next(s for s in specs if s.get("manifest"))])
        report["checkov"] = checkov
        if "error" not in checkov and "error" not in baseline:
            checkov["startup_s"] = baseline["wall_s"]
            report["ratio_checkov_scan_over_pack_analysis"] = max(
                checkov["wall_s"] - baseline["wall_s"], 0.0
            ) / (pack["manifest_resources_s"] + pack["analyze_stack_ms"] / 1000)
        if "error" not in checkov:
            # Like for like: the same manifests. Ours = one-time load + their Remediate/Analyze + the whole
            # stack's AnalyzeStack (conservative: it also covers the rancher2 resources).
            ours = pack["load_s"] + pack["manifest_resources_s"] + pack["analyze_stack_ms"] / 1000
            report["pack_manifests_s"] = ours
            report["ratio_checkov_over_pack"] = checkov["wall_s"] / ours
    else:
        report["checkov"] = "not installed (pip install '.[bench]') or --no-checkov"

    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    print(f"Stack: {len(specs)} resources: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(f"Pack {pack['pack']} ({pack['policies']} policies), in-process servicer, engine sequence:")
    print(f"  load + GetAnalyzerInfo + Configure: {pack['load_s'] * 1000:.0f} ms")
    print(
        f"  Analyze per resource (wall): median {pack['analyze_median_ms']:.2f} ms, "
        f"p99 {pack['analyze_p99_ms']:.2f} ms"
    )
    print(
        f"  Analyze per resource (CPU):  median {pack['analyze_cpu_median_ms']:.2f} ms, "
        f"p99 {pack['analyze_cpu_p99_ms']:.2f} ms"
    )
    print(
        f"  Remediate median {pack['remediate_median_ms']:.2f} ms; "
        f"AnalyzeStack (all resources) {pack['analyze_stack_ms']:.0f} ms"
    )
    print(
        f"  {pack['resources_per_s']:.1f} resources/second "
        f"(Remediate + Analyze + AnalyzeStack: {pack['total_s']:.2f} s)"
    )
    print(f"  diagnostics by level: {pack['violations']}")
    print(f"  Analyze time share (profiled sample): {pack['time_share']}")
    m = report["machine"]
    print(f"Machine: {m['cpus']} CPUs, Python {m['python']}, pulumi-policy {m['pulumi_policy']}, {m['date']}")
    if "sdk_loop" in report:
        before = report["sdk_loop"]
        print(
            "Before/after in this run (before = pulumi-policy's own analyzer loop, "
            "after = nsa_cisa.fastpath):"
        )
        rows = [
            ("Analyze median, benchmark mix (ms)", before["analyze_median_ms"], pack["analyze_median_ms"]),
            ("Analyze p99 (ms)", before["analyze_p99_ms"], pack["analyze_p99_ms"]),
        ]
        for kind in ("Deployment", "Namespace", "Service", "Role"):
            b = before["analyze_median_ms_by_kind"].get(kind)
            a = pack["analyze_median_ms_by_kind"].get(kind)
            if a is not None and b is not None:
                rows.append((f"Analyze median, {kind} (ms)", b, a))
        rows.append(
            (
                "servicer only: Analyze median, mix (ms)",
                before["servicer_analyze_median_ms"],
                pack["servicer_analyze_median_ms"],
            )
        )
        for kind in ("Deployment", "Namespace"):
            b = before["servicer_analyze_median_ms_by_kind"].get(kind)
            a = pack["servicer_analyze_median_ms_by_kind"].get(kind)
            if a is not None and b is not None:
                rows.append((f"servicer only: Analyze median, {kind} (ms)", b, a))
        rows += [
            ("Remediate median (ms)", before["remediate_median_ms"], pack["remediate_median_ms"]),
            (
                f"AnalyzeStack, {len(specs)} resources (ms)",
                before["analyze_stack_ms"],
                pack["analyze_stack_ms"],
            ),
            ("whole run (s)", before["total_s"], pack["total_s"]),
        ]
        for label, b, a in rows:
            print(f"  {label:<46} before {b:9.3f}   after {a:9.3f}   x{b / a if a else float('inf'):.1f}")
    if "grpc" in report:
        for label, g in (("before", report["grpc"]["sdk_loop"]), ("after", report["grpc"]["fastpath"])):
            print(
                f"  local gRPC ({label}): Analyze median {g['analyze_median_ms']:.3f} ms, empty RPC median "
                f"{g['empty_rpc_median_ms']:.3f} ms (difference "
                f"{g['analyze_median_ms'] - g['empty_rpc_median_ms']:.3f} ms, {g['requests']} requests)"
            )
    checkov = report["checkov"]
    if isinstance(checkov, dict):
        print(f"Same {checkov['manifests']} Kubernetes manifests:")
        if "error" in checkov:
            print(f"  checkov failed after {checkov['wall_s']:.1f} s: {checkov['error']}")
        else:
            print(f"  pack: {report['pack_manifests_s']:.2f} s including load and AnalyzeStack")
            print(
                f"  checkov: {checkov['wall_s']:.2f} s wall incl. start-up "
                f"({checkov['failed_checks']} failed / {checkov['passed_checks']} passed checks)"
            )
            print(f"  ratio checkov/pack wall time: {report['ratio_checkov_over_pack']:.2f}")
            if "startup_s" in checkov:
                print(
                    f"  without start-up (checkov {checkov['startup_s']:.1f} s for one manifest; pack load): "
                    f"ratio {report['ratio_checkov_scan_over_pack_analysis']:.2f}"
                )
    else:
        print(f"checkov: {checkov}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
