"""What Pulumi runs (`main: blueprint/`): read `hardened-rke2:*` config, validate it, build the stack.

Pulumi's language host runs this file with only `blueprint/` on sys.path, so everything is imported as
the installed `blueprint` / `components` packages (blueprint/requirements.txt installs the project).
Invalid config raises `pulumi.RunError`: the engine prints the problem list without a traceback and
nothing is registered.
"""

from __future__ import annotations

import pulumi

from blueprint.config import (
    load_stack_config,
    plaintext_secret_warnings,
    read_pulumi_config,
    secret_config_keys,
)
from blueprint.program import build
from components.problems import ConfigProblems


def main() -> None:
    try:
        # build() may also raise ConfigProblems for checks that need resolved values (e.g. Rancher's
        # URL from provider config); those run before its first resource.
        values = read_pulumi_config()
        config = load_stack_config(values, secret_config_keys(values))
        for warning in plaintext_secret_warnings(config):
            pulumi.log.warn(warning)
        build(config)
    except ConfigProblems as exc:
        # A missing secret config value (deploy only; a preview treats it as unknown) is a config error
        # too: the engine shows the message and its fix, not a Python traceback.
        raise pulumi.RunError(str(exc)) from None


main()
