"""The hardened-rke2 tooling around the Pulumi program: the offline preview engine, its CLI and reports.

`capture` runs a program under Pulumi's mock engine; `project` and `language_host` read and run a project
the way the Pulumi CLI and language host do; `providers` adds the default providers; `analysis` drives
policy packs through the analyzer protocol; `preview` puts the steps together; `reports` and `cli` present
the result; `config_reference` generates docs/config-reference.md from the stack-config models.

Nothing here contacts a provider, Rancher, a cluster or the Pulumi service. This package may import
`blueprint` and `components`; they never import it (see docs/architecture.md).
"""
