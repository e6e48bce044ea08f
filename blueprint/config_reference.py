"""Generate the stack-config field table (docs/config-reference.md) from the models themselves.

Descriptions are the attribute docstrings in the model source, so the reference cannot drift from the
code: a test compares the committed file with `render_reference()`.
Regenerate: `python -m blueprint.config_reference > docs/config-reference.md`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

SECTIONS = ("kind", "rancher", "cluster")

HEADER = """# Stack config reference (`kind: cluster`: `kind`, `rancher`, `cluster`)

Every key lives under the `hardened-rke2:` namespace in `stacks/Pulumi.<stack>.yaml`; YAML keys are
camelCase. Unknown keys are errors. Invalid config fails before any resource is registered, with every
problem listed as `<path>: <message> (fix: <hint>)`. Defaults ARE the hardened settings; a setting that
weakens one is named for what it turns off (e.g. `rke2.weakenings.*`, `network.projectNetworkIsolation:
false`, `protect: false`) and the policy pack reports it. Rancher credentials are not stack config: use
`rancher2:apiUrl` / `rancher2:tokenKey` (secret) or `RANCHER_URL` / `RANCHER_TOKEN_KEY`. Secrets in this
config (`cluster.etcd.s3.accessKey/secretKey`) must be set with `pulumi config set --secret --path`.

Notes on what Rancher passes to RKE2:
- RKE2 keys are checked against `components/data/rke2_keys.json` (RKE2 flags intersected with Rancher's
  KDM allow-list, with provenance). A key Rancher would drop is an error, never a silently weaker node.
- `write-kubeconfig-mode` is on Rancher's list only from RKE2 v1.31.13 / v1.32.9 / v1.33.5 / v1.35.5
  (not confirmed for 1.34); where it is not, the key is omitted and RKE2 writes its default 0600.
- `secrets-encryption-provider` is not on any KDM list found, so `secretbox` is rejected; Secrets are
  always encrypted at rest by RKE2 (`aescbc`, FIPS-compatible).
- The audit policy is delivered inline (`audit-policy-file` in the global config; Rancher writes the
  file) or, with `audit.delivery: secret`, as a `rancher2.SecretV2` in `fleet-default` on the local
  cluster (annotated `rke.cattle.io/object-authorized-for-clusters`) placed on control-plane nodes at
  `/etc/rancher/rke2/audit-policy.yaml` by `machine_selector_files`.
- A custom (bring-your-own) cluster is created empty: `pulumi up` waits on the `ClusterSync` gate (up to
  90 minutes) until nodes have joined. Stack outputs appear only when the update ends, so during the first
  `up` prepare each host with the host-prep script (`python -c "from components.host_prep import
  host_prep_script; print(host_prep_script())"`; later exported as `hostPrepScript`) and run the
  registration command Rancher shows for the cluster (exported as the secret `registrationCommand`).

| key | type | default | description |
|---|---|---|---|
"""


@cache
def _attribute_docs(model: type) -> dict[str, str]:
    """`field -> docstring` from string literals right after annotated assignments in the class body."""
    out: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if klass is object or not issubclass(klass, BaseModel) or klass is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, nxt in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                out[stmt.target.id] = " ".join(nxt.value.value.split())
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[1])}" if len(args) == 2 else "map"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return "object" if issubclass(annotation, BaseModel) else annotation.__name__
    return str(annotation)


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(see below)"
        return f"`{value!r}`" if value else "empty"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "—"
    if isinstance(value, tuple):
        return f"`{list(value)!r}`" if value else "empty"
    return f"`{value!r}`"


def _rows(model: type[BaseModel], prefix: str, seen: set[type], only: tuple[str, ...] = ()) -> list[str]:
    rows: list[str] = []
    docs = _attribute_docs(model)
    for name, field in model.model_fields.items():
        if only and name not in only:
            continue
        key = f"{prefix}{field.alias or name}"
        desc = docs.get(name, "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {desc} |")
        for sub in _models_in(field.annotation):
            if sub in seen:
                continue
            is_list = typing.get_origin(field.annotation) in (tuple, list) or "list of" in _type_name(
                field.annotation
            )
            sub_prefix = f"{key}[]." if is_list else f"{key}."
            if "type" in sub.model_fields and len(_models_in(field.annotation)) > 1:
                tag = typing.get_args(sub.model_fields["type"].annotation)
                sub_prefix = f"{key}.({'/'.join(map(str, tag))})."
            rows += _rows(sub, sub_prefix, seen | {sub})
    return rows


def render_reference() -> str:
    from blueprint.config import ClusterStackConfig

    # The cluster part; add-on and GitOps settings are documented by their own references.
    rows = _rows(ClusterStackConfig, "", {ClusterStackConfig}, only=SECTIONS)
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
