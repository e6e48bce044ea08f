"""Offline engine: a stack program under Pulumi's mock engine, policy packs through the analyzer protocol.

Nothing here contacts a provider, Rancher, a cluster or the Pulumi service.
"""
