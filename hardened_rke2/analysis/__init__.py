"""Policy packs through the analyzer protocol, as the Pulumi engine drives them.

One concept per module: `wire` (the engine's encoding), `inputs` (requests), `results`, `errors`, `packs`
(starting a pack in process or as a subprocess), `pack_config` (parse + reconcile), `session` (the protocol
run), `testing` (cached sessions and one-call helpers for tests).
"""
