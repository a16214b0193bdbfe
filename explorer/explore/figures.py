"""README figures: what the top edit directions do, and a walk between two seeds.

    latent-explorer figures emoji --out docs/emoji     # docs/emoji-pca.png, docs/emoji-interpolation.png

Direction figure: for each of the top-k directions, one row per seed, columns at -3..+3 standard
deviations. Interpolation figure: slerp in z between two seeds (same class), `frames` columns.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from explorer.explore.direction_cache import get_directions
from explorer.explore.latents import Edit, LatentState, checkpoint_id, state_to_ws
from explorer.explore.paths import interpolate_path, keyframes_from_states
from explorer.gan.protocol import Generator
from explorer.imaging.media import render_frames
from explorer.imaging.render import make_grid, save_png

AMOUNTS = (-3, -2, -1, 0, 1, 2, 3)


def _label(grid: np.ndarray, labels: list[str], row_h: int, width: int = 90) -> np.ndarray:
    """Prepend a white column with one text label per row."""
    im = Image.new("RGB", (width, grid.shape[0]), "white")
    d = ImageDraw.Draw(im)
    for i, text in enumerate(labels):
        d.text((4, i * row_h + row_h // 2 - 6), text, fill=(0, 0, 0))
    g = grid if grid.shape[-1] == 3 else np.repeat(grid, 3, axis=-1)
    return np.concatenate([np.asarray(im), g], axis=1)


@torch.no_grad()
def direction_strips(G: Generator, meta: dict, method: str = "pca", k: int = 5,
                     seeds: tuple[int, ...] = (0, 1, 2), class_index: int | None = None,
                     scale: int = 2) -> np.ndarray:
    """Rows: direction x seed; columns: amounts -3..+3. Returns an (H, W, 3) uint8 image."""
    d = get_directions(G, meta, method, k=32)
    base = LatentState(meta.get("name", ""), checkpoint_id(meta), 0,
                       class_index=class_index if G.cfg.num_classes else None)
    ws, labels = [], []
    for i in range(k):
        for s in seeds:
            for a in AMOUNTS:
                st = dataclasses.replace(base, seed=s, method=method, edits=(Edit(i, float(a)),))
                ws.append(state_to_ws(G, st, d))
            labels.append(f"{d.names[i]} s{s}")
    frames = render_frames(G, torch.cat(ws))
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    grid = make_grid(frames, nrow=len(AMOUNTS), pad=2, fill=255)
    return _label(grid, labels, frames.shape[1] + 2)


@torch.no_grad()
def interpolation_strip(G: Generator, meta: dict, seed_a: int = 0, seed_b: int = 1, frames: int = 10,
                        class_index: int | None = None, scale: int = 2) -> np.ndarray:
    nc = G.cfg.num_classes
    states = [LatentState(meta.get("name", ""), checkpoint_id(meta), s, class_index=class_index if nc else None)
              for s in (seed_a, seed_b)]
    ws = interpolate_path(G, keyframes_from_states(G, states), frames=frames, space="z", method="slerp")
    out = render_frames(G, ws)
    if scale > 1:
        out = out.repeat(scale, axis=1).repeat(scale, axis=2)
    grid = make_grid(out, nrow=frames, pad=2, fill=255)
    return grid if grid.shape[-1] == 3 else np.repeat(grid, 3, axis=-1)


def write_figures(G: Generator, meta: dict, out_stem: str | Path, k: int = 5,
                  seeds: tuple[int, ...] = (0, 1, 2), class_index: int | None = None) -> list[Path]:
    stem = Path(out_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for method in ("pca", "sefa"):
        p = stem.with_name(f"{stem.name}-{method}.png")
        save_png(direction_strips(G, meta, method, k, seeds, class_index), p)
        paths.append(p)
    p = stem.with_name(f"{stem.name}-interpolation.png")
    save_png(interpolation_strip(G, meta, seeds[0], seeds[1] if len(seeds) > 1 else seeds[0] + 1,
                                 class_index=class_index), p)
    paths.append(p)
    return paths
