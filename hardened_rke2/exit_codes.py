"""The CLI's exit codes, shared by every command (`preview`, and the commands in their own modules)."""

EXIT_OK = 0  # passed: no mandatory violation
EXIT_MANDATORY = 1  # a policy pack reported mandatory violations
EXIT_USAGE = 2  # bad flags, files or stack config: nothing ran (argparse uses 2 as well)
EXIT_PROGRAM = 3  # the program, a pack or the engine failed (a bug), never "mandatory violations"
EXIT_BROKEN_PIPE = 141  # the reader of stdout left (`... | head`)
