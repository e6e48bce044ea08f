"""The FIPS example stack config: valid as it is; each non-FIPS choice is refused by YAML path, with a fix."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from blueprint.config import StackConfigError, load_stack_config
from tests.support.paths import REPO_ROOT

PREFIX = "hardened-rke2:"


def _values() -> dict[str, Any]:
    doc = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.fips.yaml").read_text(encoding="utf-8"))
    return {k.removeprefix(PREFIX): v for k, v in doc["config"].items()}


def test_the_fips_stack_is_valid_and_fips() -> None:
    config = load_stack_config(_values())
    assert config.cluster.compliance.fips is True
    assert config.cluster.cluster_labels() == {"hardened-rke2.io/fips": "true"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"network": {"cni": "calico"}},
         "cluster.network.cni: 'calico' is not rebuilt for FIPS (only canal is) (fix: use cni: canal, or set "
         "compliance.weakenings.nonFipsCni: true (reported by the pack))"),
        ({"network": {"multus": True}}, "cluster.network.multus: Multus is not rebuilt for FIPS"),
        ({"rke2": {"secretsEncryptionProvider": "secretbox"}},
         "cluster.rke2.secretsEncryptionProvider: 'secretbox' is not FIPS-compliant (only aescbc is) "
         "(fix: use aescbc (RKE2's default))"),
    ],
)  # fmt: skip
def test_a_non_fips_choice_is_refused_by_path_with_the_fix(change: dict[str, Any], expected: str) -> None:
    values = copy.deepcopy(_values())
    values["cluster"].update(change)
    with pytest.raises(StackConfigError) as info:
        load_stack_config(values)
    assert expected in str(info.value)
