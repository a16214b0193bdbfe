"""SSIM and MS-SSIM in torch, differentiable, for images as small as 32x32 (no download, no library).

SSIM follows Wang, Bovik, Sheikh & Simoncelli 2004 ("Image quality assessment: from error visibility
to structural similarity"): an 11-tap Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, statistics
over the valid part of the image (no padding), channels averaged. MS-SSIM follows Wang, Simoncelli &
Bovik 2003: contrast-structure terms at every scale but the coarsest, the full SSIM at the coarsest,
2x2 average pooling between scales, the paper's five exponents. A small image cannot hold five scales
of an 11-tap window, so `ms_ssim` uses as many scales as the size allows (at least one) and
renormalises the first exponents to sum to 1; the window shrinks (odd, >= 3) for images smaller
than it.

    s = ssim(x, y)                   # x, y (B, C, H, W) in [-1, 1] -> (B,) in [-1, 1]
    m = ms_ssim(x, y, win_size=7)    # (B,); 1 - m is a loss
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

K1, K2 = 0.01, 0.03
MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)     # Wang et al. 2003, finest scale first


def gaussian_window(size: int, sigma: float = 1.5, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A normalised 1-D Gaussian (size,)."""
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-x.square() / (2 * sigma * sigma))
    return g / g.sum()


def _fit_window(win_size: int, side: int) -> int:
    w = min(win_size, side)
    return max(1, w if w % 2 else w - 1)


def _filter(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """'Valid' Gaussian blur of (B, C, H, W), channel by channel (one 2-D grouped conv: on a CPU faster than
    two separable passes at these sizes)."""
    c = x.shape[1]
    k = g.to(x)
    return F.conv2d(x, (k[:, None] * k[None]).expand(c, 1, -1, -1).contiguous(), groups=c)


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image mean SSIM and mean contrast-structure term, each (B,)."""
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    c = x.shape[1]
    stats = _filter(torch.cat([x, y, x * x, y * y, x * y], dim=1), g)   # one grouped conv for all five maps
    mx, my, exx, eyy, exy = stats.split(c, dim=1)
    sxx, syy, sxy = exx - mx * mx, eyy - my * my, exy - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)                         # (B, C, H', W')
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (lum * cs).flatten(1).mean(1), cs.flatten(1).mean(1)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0, win_size: int = 11,
         sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity of two batches (B, C, H, W) -> (B,) (1 = identical).

    `data_range`: max - min of the pixel scale (2 for [-1, 1], 255 for uint8 values as floats).
    Raises ValueError when the shapes differ."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two (B, C, H, W) batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    win = _fit_window(win_size, min(x.shape[-2:]))
    return _ssim_cs(x.float(), y.float(), gaussian_window(win, sigma), data_range)[0]


def ms_scales(side: int, win_size: int = 11, max_scales: int = len(MS_WEIGHTS)) -> int:
    """How many MS-SSIM scales an image of this (smaller) side holds: the coarsest must hold the window."""
    n = 1
    while n < max_scales and side // 2 ** n >= win_size:
        n += 1
    return n


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0, win_size: int = 11,
            sigma: float = 1.5, scales: int | None = None) -> torch.Tensor:
    """Multi-scale SSIM of two batches (B, C, H, W) -> (B,) (1 = identical), differentiable.

    `scales`: None = as many as the size allows (`ms_scales`). Negative contrast-structure terms are
    clamped to a small positive value before the fractional powers (as pytorch-msssim does with ReLU)."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ms_ssim needs two (B, C, H, W) batches of one shape, "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    side = min(x.shape[-2:])
    win = _fit_window(win_size, side)
    n = scales or ms_scales(side, win)
    weights = torch.tensor(MS_WEIGHTS[:n], dtype=torch.float32)
    weights = weights / weights.sum()
    g = gaussian_window(win, sigma)
    x, y = x.float(), y.float()
    out = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    for i in range(n):
        s, cs = _ssim_cs(x, y, g, data_range)
        term = s if i == n - 1 else cs
        out = out * term.clamp_min(1e-6) ** weights[i]
        if i < n - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return out


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of two batches (B, ...) -> (B,); capped at 100 dB for identical images."""
    mse = (x.float() - y.float()).square().flatten(1).mean(1)
    return (10 * torch.log10(data_range ** 2 / mse.clamp_min(1e-10))).clamp_max(100.0)
