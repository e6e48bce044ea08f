"""benchmarks/pss_conformance.py: judges PSA-style fixture trees against the pack (offline, no download).

The trees here are built from the repo's own PSS fixtures, laid out the way upstream lays out
`test/testdata/{level}/v1.N/{pass,fail}/`."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.support.paths import PACK_DIR, REPO_ROOT

OWN_FIXTURES = Path(__file__).parent / "fixtures" / "pss"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    path = REPO_ROOT / "benchmarks" / "pss_conformance.py"
    spec = importlib.util.spec_from_file_location("pss_conformance", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree(root: Path, version: str = "v1.40") -> Path:
    for kind in ("fail", "pass"):
        dest = root / "restricted" / version / kind
        dest.mkdir(parents=True)
        for path in (OWN_FIXTURES / kind).glob("*.yaml"):
            # upstream file names are lower-case check ids
            shutil.copy(path, dest / path.name.lower())
    return root


def _outcomes(result: dict) -> dict[str, str]:
    return {f"{r['level']}/{r['kind']}/{r['file']}": r["outcome"] for r in result["rows"]}


def test_own_fixtures_all_agree_and_the_newest_version_is_picked_numerically(script, tmp_path) -> None:
    root = _tree(tmp_path)
    # v1.7 sorts after v1.40 as text; it must not be chosen (its only fixture would disagree)
    old = root / "restricted" / "v1.7" / "fail"
    old.mkdir(parents=True)
    shutil.copy(OWN_FIXTURES / "pass" / "base0.yaml", old / "privileged0.yaml")
    result = script.run(root, PACK_DIR, None)
    assert result["versions"] == {"restricted": "v1.40"}
    outcomes = _outcomes(result)
    assert len(outcomes) == len(list(OWN_FIXTURES.glob("*/*.yaml")))
    assert set(outcomes.values()) == {"agree"}
    assert script.main(["--fixtures", str(root)]) == 0


def test_disagreements_are_reported(script, tmp_path) -> None:
    root = tmp_path
    fail = root / "restricted" / "v1.40" / "fail"
    passing = root / "restricted" / "v1.40" / "pass"
    fail.mkdir(parents=True)
    passing.mkdir(parents=True)
    # a compliant pod filed as a failure, and a violating one filed as a pass
    shutil.copy(OWN_FIXTURES / "pass" / "base0.yaml", fail / "runasnonroot7.yaml")
    shutil.copy(OWN_FIXTURES / "fail" / "privileged0.yaml", passing / "privileged0.yaml")
    shutil.copy(OWN_FIXTURES / "fail" / "sysctls0.yaml", fail / "nosuchcheck0.yaml")
    outcomes = _outcomes(script.run(root, PACK_DIR, None))
    assert outcomes == {
        "restricted/fail/runasnonroot7.yaml": "disagree",
        "restricted/fail/nosuchcheck0.yaml": "disagree",
        "restricted/pass/privileged0.yaml": "disagree",
    }
    assert script.main(["--fixtures", str(root)]) == 1


def test_legacy_and_split_names_map_to_the_packs_checks(script) -> None:
    ids = script.pack_check_ids(PACK_DIR)
    assert script.check_of("addcapabilities3", ids)[0] == "capabilities_baseline"
    assert script.check_of("procmount_baseline1", ids)[0] == "procMount"
    assert script.check_of("cgroupoptions_restricted0", ids)[0] == "cgroupOptions"
    assert script.check_of("seccompprofile_restricted4", ids)[0] == "seccompProfile_restricted"
    assert script.check_of("hostprobesandhostlifecycle3", ids)[0] == "hostProbesAndHostLifecycle"
    assert script.check_of("nosuchcheck0", ids)[0] is None


def test_baseline_pass_on_a_user_namespaced_unmasked_proc_is_stricter_not_a_disagreement(
    script, tmp_path
) -> None:
    pod = yaml.safe_load((OWN_FIXTURES / "pass" / "hostUsers0.yaml").read_text(encoding="utf-8"))
    for c in pod["spec"]["containers"]:
        c["securityContext"]["procMount"] = "Unmasked"
    dest = tmp_path / "baseline" / "v1.38" / "pass"
    dest.mkdir(parents=True)
    (dest / "procmount1.yaml").write_text(yaml.safe_dump(pod), encoding="utf-8")
    (dest / "hostports0.yaml").write_text(
        (OWN_FIXTURES / "pass" / "hostPorts0.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    outcomes = _outcomes(script.run(tmp_path, PACK_DIR, None))
    assert outcomes == {"baseline/pass/procmount1.yaml": "stricter", "baseline/pass/hostports0.yaml": "agree"}
    assert script.main(["--fixtures", str(tmp_path)]) == 0
