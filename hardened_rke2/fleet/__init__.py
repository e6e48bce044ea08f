"""Fleets: many stacks (management, clusters, teams) previewed or updated together in dependency order.

`model` reads the fleet file; `orchestrate` runs a fleet level by level through a workspace (`offline`:
the mock engine in this process; `automation`: Pulumi's Automation API); `matrix` prints it as a CI job
matrix; `command` is the `hardened-rke2 fleet` CLI.
"""
