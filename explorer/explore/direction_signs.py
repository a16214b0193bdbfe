"""Sign rules for edit directions, so "+" means the same thing whatever the sampling seed.

A PCA direction (explorer/explore/ganspace.py, GANSpace, Härkönen et al. 2020) points to the long
tail of the distribution along it: positive skewness of w projected on it, measured on a fixed
reference sample of w (for DCGAN models, of its first-block feature PC), so "+" means "toward rarer
images"; a PCA from another seed or sample count is then aligned with the default computation's
(`align_signs`). A SeFa direction (explorer/explore/sefa.py, Shen & Zhou 2021), whose vectors do not
depend on sampling at all, does the same where its skewness is clear (|z| > SKEW_Z) and otherwise
makes its largest-magnitude entry positive (`fix_signs`).

    signs, z = skew_signs(reference_sample(G) @ vectors.T)     # (K,) +-1, (K,) skewness z-scores
"""

from __future__ import annotations

import math

import torch

from explorer.explore.directions import sample_w
from explorer.gan.protocol import Generator

SIGN_SEED = 0x5EED                      # the fixed reference sample of w the sign rule measures skewness on
SIGN_SAMPLES = 20000
SKEW_Z = 3.0                            # |skewness / its standard error| that counts as a clear skew


def fix_signs(v: torch.Tensor) -> torch.Tensor:
    """v (K, D) with each row's largest-magnitude entry made positive, so results do not flip between runs."""
    idx = v.abs().argmax(dim=1)
    s = torch.sign(v[torch.arange(v.shape[0]), idx])
    return v * torch.where(s == 0, torch.ones_like(s), s)[:, None]


def skew_signs(proj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """proj (n, K) projections -> (signs (K,) +-1 that make each column's skewness positive,
    z-scores (K,) = skewness / sqrt(6 / n), its standard error for a normal sample)."""
    p = proj.double() - proj.double().mean(0)
    skew = (p ** 3).mean(0) / p.pow(2).mean(0).clamp_min(1e-24) ** 1.5
    s = torch.sign(skew)
    return torch.where(s == 0, torch.ones_like(s), s), skew / math.sqrt(6.0 / max(p.shape[0], 1))


def reference_sample(G: Generator, class_index: int | None = None) -> torch.Tensor:
    """The fixed sample of w (SIGN_SAMPLES, dims) sign rules measure on, float64 on the CPU."""
    return sample_w(G, SIGN_SAMPLES, torch.Generator().manual_seed(SIGN_SEED), class_index)


def align_signs(vectors: torch.Tensor, reference: torch.Tensor, min_cos: float = 0.5) -> torch.Tensor:
    """Flip each row of vectors (K, D) whose best-matching reference row (M, D) has cosine < -min_cos."""
    cos = vectors.double() @ reference.double().T                                  # (K, M), unit rows
    best = cos.gather(1, cos.abs().argmax(1, keepdim=True))[:, 0]
    return vectors * torch.where(best < -min_cos, -1.0, 1.0).to(vectors)[:, None]
