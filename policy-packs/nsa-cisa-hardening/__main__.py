"""Entry point the Pulumi engine runs (`python -m pulumi.policy <engine> .`); policies live in `nsa_cisa`."""

from nsa_cisa import ALL_POLICIES, PACK_NAME, initial_config
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
    initial_config=initial_config(),
)
