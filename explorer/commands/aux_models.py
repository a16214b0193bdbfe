"""Commands that train the helper networks: `train-classifier` (the Fashion-MNIST or glyph classifier the
metrics use) and `train-encoder` (a model's image -> w+ encoder, the first guess of projection).

    latent-explorer train-classifier --fonts
    latent-explorer train-encoder fashion-mnist --minutes 5
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_train_classifier(a: argparse.Namespace) -> int:
    """`train-classifier`: train and ship the Fashion-MNIST or glyph classifier; exit code."""
    if a.fonts:                                    # the glyph classifier behind `evaluate` of font models
        from explorer.evaluation.typefaces import ship_glyph_classifier
        meta = ship_glyph_classifier(a.out, epochs=a.epochs or 5, seed=a.seed)
        print(json.dumps(meta["summary"]))
        return 0
    from explorer.evaluation.classifier import build_and_ship

    build_and_ship(a.out or "pretrained/fashion-mnist-classifier", epochs=a.epochs or 6)
    return 0


def cmd_train_encoder(a: argparse.Namespace) -> int:
    """`train-encoder`: train a model's image -> w+ encoder, saved beside it; exit code."""
    from explorer.explore.encoder import train_encoder_for_model

    def show(e: dict) -> None:
        print(f"step {e['step']:>6} | loss {e['loss']:.4f} | {e['elapsed_s']:.0f} s", flush=True)
    path, summary = train_encoder_for_model(a.model, max_seconds=a.minutes * 60, seed=a.seed,
                                            on_progress=None if a.json else show)
    print(json.dumps({"encoder": str(path), **summary}) if a.json else f"wrote {path}: {summary}")
    return 0


def add_parsers(sub: Any) -> None:
    """`latent-explorer train-classifier` and `train-encoder` with their options."""
    c = sub.add_parser("train-classifier", help="train the Fashion-MNIST (or, with --fonts, the glyph) "
                                                "classifier used by the metrics")
    c.add_argument("--fonts", action="store_true", help="the 62-way glyph classifier, on the fonts train split")
    c.add_argument("--out", help="output stem (default: pretrained/fashion-mnist-classifier, "
                                 "pretrained/fonts-glyph-classifier with --fonts)")
    c.add_argument("--epochs", type=int, help="default 6 (5 with --fonts)")
    c.add_argument("--seed", type=int, default=0,
                   help="--fonts: seeds the weights and the validation families (another seed: a glyph reader "
                        "for `train --reader`, independent of the classifier the figures use)")
    c.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    c.set_defaults(fn=cmd_train_classifier)
    n = sub.add_parser("train-encoder", help="train a model's encoder (image -> w+), the first guess of projection; "
                                             "saved beside the model as <name>-encoder.{safetensors,json}")
    n.add_argument("model", help="a shipped model name, a run folder, or a .json path")
    n.add_argument("--minutes", type=float, default=5.0, help="training time")
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    n.add_argument("--json", action="store_true")
    n.set_defaults(fn=cmd_train_encoder)
