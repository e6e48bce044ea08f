"""Entry point the Pulumi engine runs (`python -m pulumi.policy <engine> .`); policies live in `nsa_cisa`."""

from nsa_cisa import ALL_POLICIES, PACK_NAME, initial_config, shared_props
from pulumi_policy import EnforcementLevel, PolicyPack

# Decode each resource once per request, not once per policy (see nsa_cisa/shared_props.py).
shared_props.install()

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
    initial_config=initial_config(),
)
