"""The distribution of a model's w, from samples: whitened coordinates and "how typical is this w".

`latent_prior(G, class_index)` samples w = G.mapping(z, c) at psi 1 and keeps their mean and
principal axes (eigenvectors of the covariance with a variance above 1e-8 of the largest), each
with its std. In whitened coordinates u = ((w - mean) @ axes^T) / std a typical w has mean(u^2) ~ 1,
so a distance is in std units (an RMS Mahalanobis distance), and the sorted distances of held-out
samples turn any distance into a percentile. Axes without variance (a DCGAN's one-hot class
inputs) are not part of u, so `colour(u)` keeps them at the class's value.

    p = latent_prior(G, class_index=3)
    u = p.whiten(w)          # (..., width) -> (..., rank)
    d = p.distance(w)        # (...,) RMS std units; p.percentile(float(d)) in [0, 100]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.explore.latents import w_width
from explorer.gan.protocol import Generator

__all__ = ["LatentPrior", "latent_prior", "sample_w", "w_width"]


@dataclass
class LatentPrior:
    mean: torch.Tensor        # (width,)
    axes: torch.Tensor        # (rank, width) orthonormal rows
    std: torch.Tensor         # (rank,) std of w along each axis
    typical: torch.Tensor     # (n,) sorted distances (RMS std units) of held-out samples
    class_index: int | None = None

    @property
    def rank(self) -> int:
        return int(self.axes.shape[0])

    def whiten(self, w: torch.Tensor) -> torch.Tensor:
        """w (..., width) -> u (..., rank)."""
        return ((w.float() - self.mean.to(w.device)) @ self.axes.t().to(w.device)) / self.std.to(w.device)

    def colour(self, u: torch.Tensor) -> torch.Tensor:
        """u (..., rank) -> w (..., width), differentiable."""
        return self.mean.to(u.device) + (u * self.std.to(u.device)) @ self.axes.to(u.device)

    def distance(self, w: torch.Tensor) -> torch.Tensor:
        """RMS distance from the mean in std units (~1 for a typical sample), (...,)."""
        return self.whiten(w).square().mean(-1).sqrt()

    def quantile(self, q: float) -> float:
        """The distance below which a share q (0..1) of held-out samples lie."""
        return float(torch.quantile(self.typical, q)) if self.typical.numel() else float("nan")

    def percentile(self, d: float) -> float:
        """Share (0..100) of held-out samples that lie closer to the mean than distance `d`."""
        n = int(self.typical.numel())
        return 100.0 * int(torch.searchsorted(self.typical, torch.tensor([float(d)])).item()) / max(n, 1)


@torch.no_grad()
def sample_w(G: Generator, n: int, class_index: int | None, seed: int) -> torch.Tensor:
    """n samples of w (n, width) at psi 1, float64 CPU; random classes when `class_index` is None."""
    gen = torch.Generator().manual_seed(seed)
    dev = G.w_avg.device
    z = torch.randn(n, G.cfg.z_dim, generator=gen)
    c = None
    if G.cfg.num_classes:
        c = (torch.full((n,), class_index, dtype=torch.long) if class_index is not None
             else torch.randint(G.cfg.num_classes, (n,), generator=gen))
        c = c.to(dev)
    return torch.cat([G.mapping(z[i:i + 2048].to(dev), None if c is None else c[i:i + 2048]).double().cpu()
                      for i in range(0, n, 2048)])


def latent_prior(G: Generator, class_index: int | None = None, n: int = 4096, held_out: int = 2048,
                 seed: int = 0) -> LatentPrior:
    """Mean, principal axes and stds of w (for one class, or all classes when None), from `n` samples;
    `held_out` more samples give the distances percentiles are read from. Deterministic for a seed.
    Raises ValueError for a class outside the model's."""
    nc = G.cfg.num_classes
    if class_index is not None and not 0 <= class_index < max(nc, 1):
        raise ValueError(f"class {class_index} is outside 0..{max(nc, 1) - 1}")
    w = sample_w(G, n, class_index, seed)                                  # (n, width)
    mean = w.mean(0)
    cov = (w - mean).t() @ (w - mean) / max(n - 1, 1)
    var, vec = torch.linalg.eigh(cov)                                      # ascending
    keep = var > var.max().clamp_min(1e-30) * 1e-8
    axes, std = vec[:, keep].t().flip(0), var[keep].sqrt().flip(0)        # largest first
    p = LatentPrior(mean.float(), axes.float().contiguous(), std.float(), torch.zeros(0), class_index)
    p.typical = p.distance(sample_w(G, held_out, class_index, seed + 1).float()).sort().values
    return p
