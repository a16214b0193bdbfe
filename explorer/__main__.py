"""`python -m explorer ...` is the same as the `latent-explorer` command."""

from explorer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
