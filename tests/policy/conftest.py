"""Registers the policy-pack fixtures; they live in `tests/support/policy_fixtures.py`."""

from tests.support.policy_fixtures import fresh_pack

__all__ = ["fresh_pack"]
