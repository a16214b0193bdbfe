"""Tensor plumbing of a projection (explorer/explore/inversion.py): targets in, whitened latents to ws,
renders out.

    t = as_targets(images, G)                  # (N, H, W, C) uint8 -> (N, C, H, W) float in [-1, 1], checked
    ws = colour_rows(priors, u, G.num_ws)      # (B, L, r) whitened -> (B, num_ws, width)
    img = to_hwc(G.synthesis(ws))              # -> (B, H, W, C) uint8
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from explorer.explore.latent_prior import LatentPrior
    from explorer.gan.protocol import Generator


def colour_rows(priors: list[LatentPrior], u: torch.Tensor, num_ws: int) -> torch.Tensor:
    """(B, L, r) whitened -> (B, num_ws, width) ws, candidate b through priors[b]; L = 1 is broadcast.
    Rows sharing a prior (one class) are coloured together, one matrix product per class."""
    groups: dict[int, list[int]] = {}
    for b, p in enumerate(priors):
        groups.setdefault(id(p), []).append(b)
    if len(groups) == 1:
        ws = priors[0].colour(u)                                          # (B, L, width)
    else:
        order = [b for rows in groups.values() for b in rows]
        ws = torch.cat([priors[rows[0]].colour(u[rows]) for rows in groups.values()])
        ws = ws[torch.argsort(torch.tensor(order, device=ws.device))]
    return ws.expand(-1, num_ws, -1) if ws.shape[1] == 1 else ws


def as_targets(targets: np.ndarray | torch.Tensor | Sequence[np.ndarray | torch.Tensor],
                G: Generator) -> torch.Tensor:
    """(N, H, W, C) uint8 / (N, C, H, W) float in [-1, 1] / a sequence of single images (as _as_target)
    -> (N, C, H, W) float32, checked."""
    if isinstance(targets, (np.ndarray, torch.Tensor)):
        targets = list(targets) if targets.ndim == 4 else [targets]
    if not len(targets):
        raise ValueError("no target images")
    return torch.cat([as_target(x, G) for x in targets])


def as_target(target: np.ndarray | torch.Tensor, G: Generator) -> torch.Tensor:
    """(H, W, C) uint8 or (C, H, W) / (1, C, H, W) float in [-1, 1] -> (1, C, H, W) float32, checked."""
    cfg = G.cfg
    if isinstance(target, np.ndarray):
        if target.dtype != np.uint8 or target.ndim != 3:
            raise ValueError(f"a target image is (H, W, C) uint8, not {target.shape} {target.dtype}")
        t = torch.from_numpy(np.array(target, copy=True)).permute(2, 0, 1).float() / 127.5 - 1.0
    else:
        t = target.detach().float()
    t = t[None] if t.dim() == 3 else t
    want = (1, cfg.channels, cfg.resolution, cfg.resolution)
    if tuple(t.shape) != want:
        raise ValueError(f"the model makes {cfg.channels}x{cfg.resolution}x{cfg.resolution} images; the target is "
                         f"{'x'.join(map(str, t.shape[1:]))}: fit it first (projection_io.fit_image)")
    return t.clamp(-1, 1)


def to_hwc(x: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] -> (B, H, W, C) uint8 (the raw channels, not a glyph sheet)."""
    return ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
