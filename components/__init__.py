"""Reusable Pulumi components for Rancher-managed RKE2 clusters hardened per the NSA/CISA guide v1.2.

Every component has a typed args model (pydantic) whose defaults are the hardened settings; weakening
anything needs an explicit, named setting.
"""
