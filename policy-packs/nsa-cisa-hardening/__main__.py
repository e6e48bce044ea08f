"""Entry point the Pulumi engine runs (`python -m pulumi.policy <engine> .`); policies live in `nsa_cisa`."""

import os

from nsa_cisa import ALL_POLICIES, PACK_NAME, fastpath, initial_config
from pulumi_policy import EnforcementLevel, PolicyPack

# Decode each request once and run only the policies that apply to its type (see nsa_cisa/fastpath.py);
# raises here, at start-up, on a pulumi-policy version the fast loop was not written for.
# NSA_CISA_FASTPATH=0 keeps the SDK's own loop (benchmarks measure both; answers are identical).
if os.environ.get("NSA_CISA_FASTPATH", "1") != "0":
    fastpath.install()

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
    initial_config=initial_config(),
)
