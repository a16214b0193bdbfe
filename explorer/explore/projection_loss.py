"""The projection loss against fixed targets, with everything about the targets computed once.

A projection compares every step's renders x with the same targets t, so the target halves of the
loss terms never change: the discriminator's block features of t (explorer/explore/projection_metrics.py),
the classifier embedding of t, and t's side of MS-SSIM (t at each scale, its local means and local
second moments). `TargetLoss` computes them once and each step filters only x, x^2 and x*t. The
Gaussian filter is two banded matrix products (H' x H) @ x @ (W x W')^T, the same 'valid' filter as
explorer/explore/ssim.py's grouped convolution (Wang et al. 2004's 7- or 11-tap window), which on a
CPU is 1-3x faster for these sizes (62-channel font stacks: 12 -> 11.6 ms; 25 Fashion-MNIST images:
1.9 -> 0.7 ms, forward and backward, one thread). The figures match ssim.ms_ssim (a test checks).

Rows are independent: row b's loss depends only on x[b], t[b], u[b] (no batch statistics anywhere),
which is what lets a batch of projections share one optimiser (inversion.Projector.project_batch).

    loss = TargetLoss(nets, t, c, weights)      # t (B, C, H, W) in [-1, 1]; c (B,) classes or None
    per = loss(x, u)                            # (B,) for renders x (B, C, H, W), whitened latents u (B, L, r)
    loss = loss.select(torch.tensor([0, 2]))    # the rows kept (e.g. the best class per image)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from explorer.explore import ssim as S
from explorer.explore.projection_config import LossWeights
from explorer.explore.projection_metrics import FeatureNets, critic_features, normalised_features


def banded(n: int, g: torch.Tensor) -> torch.Tensor:
    """(n - k + 1, n) matrix whose rows are the 1-D window g (k,) slid along: a 'valid' 1-D filter."""
    k = g.numel()
    m = torch.zeros(n - k + 1, n, dtype=g.dtype)
    for i in range(n - k + 1):
        m[i, i:i + k] = g
    return m


class _Scale:
    """One MS-SSIM scale of fixed targets y (B, C, h, w): the window's matrices, y, mu_y, E[y^2] filtered."""

    def __init__(self, y: torch.Tensor, g: torch.Tensor) -> None:
        self.mh, self.mw = banded(y.shape[-2], g).to(y), banded(y.shape[-1], g).t().contiguous().to(y)
        self.y = y
        self.my, self.eyy = self.filter(y), self.filter(y * y)

    def filter(self, x: torch.Tensor) -> torch.Tensor:
        return self.mh @ x @ self.mw

    def take(self, idx: torch.Tensor) -> _Scale:
        s = _Scale.__new__(_Scale)
        s.mh, s.mw, s.y, s.my, s.eyy = self.mh, self.mw, self.y[idx], self.my[idx], self.eyy[idx]
        return s


class MsSsimTo:
    """MS-SSIM (Wang, Simoncelli & Bovik 2003, as ssim.ms_ssim: as many scales as the size holds, the first
    weights renormalised, 2x2 average pooling between scales) of renders against fixed targets y (B, C, H, W)."""

    def __init__(self, y: torch.Tensor, data_range: float = 2.0, win_size: int = 7, sigma: float = 1.5) -> None:
        side = min(y.shape[-2:])
        win = max(1, min(win_size, side) if min(win_size, side) % 2 else min(win_size, side) - 1)
        n = S.ms_scales(side, win)
        w = torch.tensor(S.MS_WEIGHTS[:n], dtype=torch.float32)
        self.weights = (w / w.sum()).tolist()
        self.c1, self.c2 = (S.K1 * data_range) ** 2, (S.K2 * data_range) ** 2
        g = S.gaussian_window(win, sigma)
        y = y.float()
        self.scales: list[_Scale] = []
        for i in range(n):
            self.scales.append(_Scale(y, g))
            if i < n - 1:
                y = F.avg_pool2d(y, 2)

    def take(self, idx: torch.Tensor) -> MsSsimTo:
        m = MsSsimTo.__new__(MsSsimTo)
        m.weights, m.c1, m.c2 = self.weights, self.c1, self.c2
        m.scales = [s.take(idx) for s in self.scales]
        return m

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> MS-SSIM (B,) against the targets, differentiable in x."""
        x = x.float()
        out = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
        n = len(self.scales)
        for i, s in enumerate(self.scales):
            c = x.shape[1]
            mx, exx, exy = s.filter(torch.cat([x, x * x, x * s.y], dim=1)).split(c, dim=1)
            sxx, syy, sxy = exx - mx * mx, s.eyy - s.my * s.my, exy - mx * s.my
            cs = (2 * sxy + self.c2) / (sxx + syy + self.c2)
            if i == n - 1:
                lum = (2 * mx * s.my + self.c1) / (mx * mx + s.my * s.my + self.c1)
                term = (lum * cs).flatten(1).mean(1)
            else:
                term = cs.flatten(1).mean(1)
            out = out * term.clamp_min(1e-6) ** self.weights[i]
            if i < n - 1:
                x = F.avg_pool2d(x, 2)
        return out


class TargetLoss:
    """The projection loss (inversion.LossWeights' terms) of renders against fixed targets t (B, C, H, W),
    classes c (B,) or None; target features are computed once, here."""

    def __init__(self, nets: FeatureNets, t: torch.Tensor, c: torch.Tensor | None, weights: LossWeights) -> None:
        self.nets, self.t, self.c, self.w = nets, t, c, weights
        self.ms = MsSsimTo(t) if weights.ms_ssim else None
        self.crit_t: list[torch.Tensor] | None = None
        self.clf_t: torch.Tensor | None = None
        with torch.no_grad():
            if nets.critic is not None and weights.critic:
                self.crit_t = [normalised_features(f) for f in critic_features(nets.critic.D, t, c)]
            if nets.classifier is not None and weights.classifier:
                self.clf_t = nets.classifier.features(t)

    def select(self, idx: torch.Tensor) -> TargetLoss:
        """The loss of rows `idx` (long (B',)) only."""
        out = TargetLoss.__new__(TargetLoss)
        out.nets, out.t, out.w = self.nets, self.t[idx], self.w
        out.c = None if self.c is None else self.c[idx]
        out.ms = None if self.ms is None else self.ms.take(idx)
        out.crit_t = None if self.crit_t is None else [f[idx] for f in self.crit_t]
        out.clf_t = None if self.clf_t is None else self.clf_t[idx]
        return out

    def __call__(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Per-row loss (B,) of renders x (B, C, H, W) with whitened latents u (B, L, r)."""
        w = self.w
        d = x - self.t
        total = w.l2 * d.square().flatten(1).mean(1) + w.l1 * d.abs().flatten(1).mean(1)
        if self.ms is not None:
            total = total + w.ms_ssim * (1 - self.ms(x))
        if self.crit_t is not None:
            fx = critic_features(self.nets.critic.D, x, self.c)
            per = [(normalised_features(a) - b).square().sum(1).flatten(1).mean(1) for a, b in zip(fx, self.crit_t)]
            total = total + w.critic * torch.stack(per).mean(0)
        if self.clf_t is not None and self.nets.classifier is not None:
            fx_c = self.nets.classifier.features(x)
            total = total + w.classifier * (1 - F.cosine_similarity(fx_c, self.clf_t, dim=1))
        return total + w.prior * u.square().mean(dim=(1, 2))
