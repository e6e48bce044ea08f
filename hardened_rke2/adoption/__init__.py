"""Adopting an existing Rancher-provisioned RKE2 cluster: its Cluster object -> a stack config, an import file
and a hardening plan (`hardened-rke2 adopt`, hardened_rke2/adopt.py)."""
