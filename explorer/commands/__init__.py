"""The `latent-explorer` commands, one module per family; explorer/cli.py assembles the parser.

Each module has `add_parsers(sub)`, which adds its sub-commands to the CLI's sub-parsers and binds each to
its `cmd_*(args) -> exit code` function (ValueError, OSError: one-line errors that explorer.cli.main
prints, exit 2). Nothing here runs at import time; the heavy imports happen inside the commands.
"""
