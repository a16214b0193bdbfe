"""`latent-explorer bench`: speed and quality figures (explorer/bench). The only command module that
imports explorer.bench (an import-linter contract keeps it so).

    latent-explorer bench --parts render,directions --json
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from explorer.commands.common import DEVICE_HELP


def cmd_bench(a: argparse.Namespace) -> int:
    """`bench`: the chosen parts' speed and quality figures as JSON; exit code."""
    from explorer.bench.speed import run_bench

    figures = run_bench(model=a.model, train_seconds=a.train_seconds, device=a.device,
                        progress=None if a.json else lambda m: print(m, flush=True),
                        parts=tuple(p.strip() for p in a.parts.split(",") if p.strip()),
                        browser_changes=a.browser_changes, watch_phase_s=a.watch_seconds,
                        watch_phases=a.watch_phases, finetune_source=a.finetune_source,
                        finetune_minutes=a.finetune_minutes, loop_seconds=a.loop_seconds, loop_runs=a.loop_runs,
                        inversion_images={m: int(n) for m, _, n in
                                          (x.partition(":") for x in a.inversion_images.split(","))},
                        inversion_batch=a.inversion_batch, inversion_optimizer=a.inversion_optimizer,
                        inversion_ways=tuple(w.strip() for w in a.inversion_ways.split(",") if w.strip()) or None)
    print(json.dumps(figures, indent=None if a.json else 2))
    return 0


def add_parsers(sub: Any) -> None:
    """`latent-explorer bench`'s options."""
    b = sub.add_parser("bench", help="speed figures")
    b.add_argument("--model", default="fashion-mnist")
    b.add_argument("--train-seconds", type=float, default=60.0)
    b.add_argument("--parts", default="render,directions,train,browser,fonts",
                   help="comma list of render, directions, train, browser, fonts (the font model's face render, "
                        "specimen and OpenType export); also train-page (img/s of a job with "
                        "its progress page open vs closed), finetune (fine-tuning vs scratch, SWD over time) and "
                        "inversion (projection of real images: quality and time, and docs/inversion.png), "
                        "font-views (the font model's latent map first view and word-morph GIF/MP4 export)")
    b.add_argument("--loop-seconds", type=float, default=20.0,
                   help="train: seconds of each run of the loop comparison (the project's loop vs a textbook DCGAN "
                        "loop, classic-dcgan on Fashion-MNIST, 1 thread)")
    b.add_argument("--loop-runs", type=int, default=3, help="train: alternations of that comparison (0 = skip it)")
    b.add_argument("--browser-changes", type=int, default=40, help="slider changes timed per page (>= 30)")
    b.add_argument("--watch-seconds", type=float, default=60.0, help="train-page: seconds per open/closed phase")
    b.add_argument("--watch-phases", type=int, default=6, help="train-page: phases, alternating closed/open")
    b.add_argument("--finetune-source", default="emoji", help="finetune: the shipped 64x64 RGB model to start from")
    b.add_argument("--finetune-minutes", type=float, default=10.0, help="finetune: training minutes of each run")
    b.add_argument("--inversion-images", default="fashion-mnist:200,fonts:100,emoji:100",
                   help="inversion: images projected per shipped model (fonts: skipped when pretrained/fonts "
                        "or the fonts dataset is missing)")
    b.add_argument("--inversion-batch", type=int, default=25,
                   help="inversion: images projected together (independent latents, one optimiser); CPU s per "
                        "image = a batch's CPU time / its size")
    b.add_argument("--inversion-optimizer", default="lbfgs", choices=("lbfgs", "adam"),
                   help="inversion: the projection's optimiser (ProjectConfig.optimizer)")
    b.add_argument("--inversion-ways", default="",
                   help="inversion: comma list of the ways to run, e.g. 'optimisation 500,encoder+optimisation 200' "
                        "(default: all)")
    b.add_argument("--device", default="auto", help=DEVICE_HELP)
    b.add_argument("--json", action="store_true")
    b.set_defaults(fn=cmd_bench)
