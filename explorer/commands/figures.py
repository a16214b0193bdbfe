"""`latent-explorer figures`: the README's direction strips (GANSpace PCA and SeFa directions, see
explorer/explore/figures.py) and an interpolation strip, for one model.

    latent-explorer figures emoji --out docs/emoji --k 5
"""

from __future__ import annotations

import argparse
from typing import Any

from explorer.commands.common import class_index


def cmd_figures(a: argparse.Namespace) -> int:
    """`figures`: write the README's direction and interpolation strips, one path a line; exit code."""
    from explorer.explore.figures import write_figures
    from explorer.gan.device import load_generator

    G, meta = load_generator(a.model, "cpu")
    cls = None
    if a.cls is not None and G.cfg.num_classes:
        cls = class_index(meta, G.cfg.num_classes, a.cls)
    for p in write_figures(G, meta, a.out, k=a.k, seeds=tuple(a.seeds), class_index=cls):
        print(p)
    return 0


def add_parsers(sub: Any) -> None:
    """`latent-explorer figures`' options."""
    f = sub.add_parser("figures", help="README figures: direction strips (PCA, SeFa) and an interpolation strip")
    f.add_argument("model")
    f.add_argument("--out", required=True, help="output stem, e.g. docs/emoji")
    f.add_argument("--k", type=int, default=5, help="directions shown")
    f.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    f.add_argument("--class", dest="cls", help="class index or name (conditional models)")
    f.set_defaults(fn=cmd_figures)
