"""The `latent-explorer` command (also `python -m explorer`).

    latent-explorer train --data fashion-mnist --preset balanced --out data/runs/fm --minutes 60
    latent-explorer train --out data/runs/fm --resume            # continue a run where it stopped
    latent-explorer sample fashion-mnist --out grid.png          # a grid of samples from a model
    latent-explorer evaluate fashion-mnist --json                # offline quality figures
    latent-explorer export data/runs/fm pretrained/fashion-mnist # generator-only export for shipping
    latent-explorer list                                         # shipped and trained models
    latent-explorer bench --json                                 # speed figures
    latent-explorer datasets fonts                               # build the typefaces dataset
    torchrun --nproc-per-node 2 -m explorer train ...            # data-parallel training

Errors a person can fix (missing files, bad checkpoints, bad options) print one line, exit 2.
The commands live in explorer/commands/ (one module per family); this module assembles the parser.
"""

from __future__ import annotations

import argparse
import sys

from explorer.commands import aux_models, bench, datasets, figures, models, sample, train
from explorer.settings import use_threads


def build_parser() -> argparse.ArgumentParser:
    """The command line: the sub-parsers of each command family (explorer/commands/), in help order."""
    p = argparse.ArgumentParser(prog="latent-explorer", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for family in (train, sample, models, bench, datasets, figures, aux_models):
        family.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command with `argv` (default: sys.argv[1:]); returns its exit code (2: a one-line error)."""
    a = build_parser().parse_args(argv)
    from explorer.gan.checkpoint import CheckpointError
    from explorer.gan.runstate import TrainingDiverged

    use_threads("work", getattr(a, "threads", None))  # --threads, else $LATENT_EXPLORER_THREADS, else all cores
    try:
        return a.fn(a)
    except (CheckpointError, OSError, ValueError, TrainingDiverged) as err:
        print(f"latent-explorer {a.cmd}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
