"""`latent-explorer sample`: a grid PNG of samples from a model, its sizes checked before loading it.

    latent-explorer sample fashion-mnist --n 64 --psi 0.7 --class Bag --out grid.png
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from explorer.commands.common import DEVICE_HELP, check_seed, class_index

MAX_SAMPLE_N = 1024                  # `sample --n` at most: a 32x32 grid
MAX_GRID_PIXELS = 40_000_000         # `sample`'s PNG at most (width * height, after --scale), like an upload


def cmd_sample(a: argparse.Namespace) -> int:
    """`sample`: a grid PNG of samples (sizes and seed checked before loading the model); exit code."""
    import torch

    from explorer.gan.device import load_generator
    from explorer.imaging.render import sample_grid, save_png

    if not (math.isfinite(a.psi) and 0.0 <= a.psi <= 2.0):
        raise ValueError(f"--psi must be between 0 and 2 (1 = no truncation), not {a.psi}")
    check_sample_args(a.n, a.scale, a.seed)
    G, meta = load_generator(a.model, a.device)
    check_grid_pixels(a.n, a.scale, G.cfg.resolution)
    classes = None
    if a.cls is not None:
        if not G.cfg.num_classes:
            raise ValueError("--class given but this model is unconditional")
        classes = torch.full((a.n,), class_index(meta, G.cfg.num_classes, a.cls), dtype=torch.long)
    grid = sample_grid(G, a.n, seed=a.seed, psi=a.psi, classes=classes, device=next(G.parameters()).device)
    save_png(grid, a.out, scale=a.scale)
    print(f"wrote {a.out} ({a.n} samples from {meta['name']}, seed {a.seed}, psi {a.psi})")
    return 0


def check_sample_args(n: int, scale: int, seed: int) -> None:
    """`sample`'s --n (1..MAX_SAMPLE_N), --scale (>= 1) and --seed, checked before loading a model;
    raises ValueError with a one-line message."""
    if not 1 <= n <= MAX_SAMPLE_N:
        raise ValueError(f"--n must be between 1 and {MAX_SAMPLE_N}, not {n}")
    if scale < 1:
        raise ValueError(f"--scale must be at least 1, not {scale}")
    check_seed(seed)


def check_grid_pixels(n: int, scale: int, resolution: int, pad: int = 2) -> None:
    """Raise ValueError when a grid of `n` `resolution`-pixel samples upscaled `scale` times would
    exceed MAX_GRID_PIXELS (width * height of the PNG)."""
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    pixels = (rows * (resolution + pad) + pad) * (cols * (resolution + pad) + pad) * scale * scale
    if pixels > MAX_GRID_PIXELS:
        raise ValueError(f"--n {n} at --scale {scale} would make a {pixels:,}-pixel image; the limit is "
                         f"{MAX_GRID_PIXELS:,} pixels (lower --n or --scale)")


def add_parsers(sub: Any) -> None:
    """`latent-explorer sample`'s options."""
    s = sub.add_parser("sample", help="write a grid PNG of samples")
    s.add_argument("model", help="a shipped model name, a run folder, or a .json/.safetensors path")
    s.add_argument("--out", default="samples.png", help="output PNG file (default samples.png)")
    s.add_argument("--n", type=int, default=64, help=f"number of samples, 1..{MAX_SAMPLE_N} (default 64)")
    s.add_argument("--seed", type=int, default=0, help="seed of the first latent, 0..2147483647 (default 0)")
    s.add_argument("--psi", type=float, default=1.0, help="truncation (1 = none)")
    s.add_argument("--class", dest="cls", help="class index or name (conditional models)")
    s.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscaling factor")
    s.add_argument("--device", default="auto", help=DEVICE_HELP)
    s.set_defaults(fn=cmd_sample)
