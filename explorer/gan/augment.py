"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) with an adaptive probability.

Each policy (color, translation, cutout) is applied to each image with probability p, to
real and fake images alike, so the discriminator never sees an un-augmented distribution
it could overfit. With `ada_target` set, p follows StyleGAN2-ADA's heuristic: raise p when
E[sign(D(real))] is above the target (D is overfitting), lower it otherwise.
All randomness comes from the `torch.Generator` passed in, so runs are reproducible.
Glyph stacks (font models, one channel per glyph): translation moves every glyph of a face by the
same offset, so the face stays consistent; colour jitter changes ink coverage, which has no meaning
for type, and cutout erases the same region of every glyph: the `fonts` preset uses translation only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _rand(n: int, gen: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, generator=gen, device="cpu").to(x.device, x.dtype)


def color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    x = x + (_rand(b, gen, x) - 0.5).view(b, 1, 1, 1)                        # brightness
    if x.shape[1] == 3:
        m = x.mean(dim=1, keepdim=True)
        x = (x - m) * (_rand(b, gen, x) * 2).view(b, 1, 1, 1) + m            # saturation
    else:
        _rand(b, gen, x)                                                    # keep the stream aligned
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - m) * (_rand(b, gen, x) + 0.5).view(b, 1, 1, 1) + m           # contrast


def translation(x: torch.Tensor, gen: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = torch.randint(-sh, sh + 1, (b, 1, 1), generator=gen).to(x.device)
    ty = torch.randint(-sw, sw + 1, (b, 1, 1), generator=gen).to(x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    return padded.permute(0, 2, 3, 1)[gb, gx, gy].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, gen: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ox = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=gen).to(x.device)
    oy = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=gen).to(x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gx = torch.clamp(gx + ox - ch // 2, 0, h - 1)
    gy = torch.clamp(gy + oy - cw // 2, 0, w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policies: list[str], p: float, gen: torch.Generator) -> torch.Tensor:
    """Apply each policy to each image of x (B, C, H, W) with probability p."""
    if p <= 0 or not policies:
        return x
    for name in policies:
        keep = (_rand(x.shape[0], gen, x) < p).view(-1, 1, 1, 1)
        x = torch.where(keep, POLICIES[name](x, gen), x)
    return x


def adapt_p(p: float, rt: float, target: float, images: int, speed_k: float) -> float:
    """One ADA update: move p by images/(speed_k*1000) toward keeping rt = E[sign(D(real))] at target."""
    step = images / (speed_k * 1000.0)
    p += step if rt > target else -step
    return float(min(max(p, 0.0), 1.0))
