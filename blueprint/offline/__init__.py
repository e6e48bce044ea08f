"""Offline engine: runs a stack program under Pulumi's mock engine and a policy pack through its analyzer protocol.

Nothing here contacts a provider, Rancher, a cluster or the Pulumi service.
"""
