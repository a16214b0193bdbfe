"""Commands about saved models: `evaluate` (offline quality figures), `export` (a run's generator, for
shipping) and `list` (shipped and trained models).

    latent-explorer evaluate fashion-mnist --json
    latent-explorer export data/runs/fm pretrained/fashion-mnist
    latent-explorer list
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from explorer.commands.common import DEVICE_HELP, check_seed
from explorer.settings import data_dir


def cmd_evaluate(a: argparse.Namespace) -> int:
    """`evaluate`: offline quality figures as JSON (with --directions, the direction-quality ones); exit code."""
    from explorer.evaluation.evaluate import evaluate_model

    if a.n < 2:
        raise ValueError(f"--n must be at least 2 (KID needs at least 2 samples), not {a.n}")
    check_seed(a.seed)
    figures = evaluate_model(a.model, n=a.n, data=a.data, device=a.device, seed=a.seed,
                             progress=None if a.json else lambda m: print(m, flush=True))
    if a.directions:                                   # the model card's "Edit directions" section
        from explorer.explore.direction_quality import model_direction_figures
        figures["directions"] = model_direction_figures(a.model)
    print(json.dumps(figures, indent=None if a.json else 2))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    """`export`: a run's generator as a shipped model (safetensors + JSON sidecar); exit code."""
    from explorer import fileio
    from explorer.gan.checkpoint import latest_training, resolve
    from explorer.gan.export import export_model

    extra = {}
    if a.card:
        extra["model_card"] = Path(a.card).read_text(encoding="utf-8")
    if a.metrics:
        extra["metrics"] = fileio.loads_json(Path(a.metrics).read_text(encoding="utf-8"), a.metrics)
    if a.baseline_metrics:
        extra["baseline_metrics"] = fileio.loads_json(Path(a.baseline_metrics).read_text(encoding="utf-8"),
                                                      a.baseline_metrics)
    if a.reproduce:
        extra["reproduce"] = a.reproduce
    if a.notes:
        extra["notes"] = Path(a.notes).read_text(encoding="utf-8")
    run = Path(a.run)
    source = (latest_training(run) if run.is_dir() else None) or resolve(run)
    path = export_model(source, a.out, extra, weights=a.weights)
    print(f"wrote {path} and {Path(path).with_suffix('.safetensors')}")
    return 0


def cmd_list(a: argparse.Namespace) -> int:
    """`list`: one line per shipped and trained model; exit code."""
    from explorer.gan.checkpoint import list_models
    from explorer.settings import pretrained_dir

    for m in list_models(pretrained_dir(), data_dir() / "runs"):
        g = m.meta["generator"]
        print(f"{m.name:24s} {m.source:10s} {g['resolution']}x{g['resolution']}x{g['channels']} "
              f"classes={g['num_classes']} {m.path}")
    return 0


def add_parsers(sub: Any) -> None:
    """`latent-explorer evaluate`, `export` and `list` with their options."""
    e = sub.add_parser("evaluate",
                       help="offline quality figures (FD, KID, accuracy, precision/recall, SWD, memorisation)")
    e.add_argument("model", help="a shipped model name, a run folder, or a .json/.safetensors path")
    e.add_argument("--data", help="reference set (default: the model's own test split)")
    e.add_argument("--n", type=int, default=10_000, help="generated samples, at least 2 (default 10000)")
    e.add_argument("--seed", type=int, default=0, help="seed of the generated samples, 0..2147483647 (default 0)")
    e.add_argument("--device", default="auto", help=DEVICE_HELP)
    e.add_argument("--json", action="store_true", help="print the figures as one JSON line, without progress")
    e.add_argument("--directions", action="store_true",
                   help="also score the attribute edit directions over 200 seeds (for the model card)")
    e.set_defaults(fn=cmd_evaluate)
    x = sub.add_parser("export", help="generator-only export of a run, for shipping")
    x.add_argument("run", help="run folder or training checkpoint .json")
    x.add_argument("out", help="output stem, e.g. pretrained/fashion-mnist")
    x.add_argument("--card", help="markdown file with the model card text (default: written automatically)")
    x.add_argument("--metrics", help="JSON file of figures (from evaluate --json) to embed")
    x.add_argument("--baseline-metrics", help="JSON figures of a baseline (e.g. classic-dcgan) for the card")
    x.add_argument("--reproduce", help="the command that reproduces this model")
    x.add_argument("--notes", help="markdown file of design notes for the model card (why this model)")
    x.add_argument("--weights", default="G_ema", choices=("G_ema", "G"), help="which generator to export")
    x.set_defaults(fn=cmd_export)
    sub.add_parser("list", help="list shipped and trained models").set_defaults(fn=cmd_list)
