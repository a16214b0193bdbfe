"""SeFa edit directions (Shen & Zhou 2021, "Closed-Form Factorization of Latent Semantics in GANs"):
the top eigenvectors of A^T A, A the row-normalised weights of the generator's style affines (for a
DCGAN, of its first transposed convolution's z rows). No sampling is needed for the vectors; a
sample of w only measures each direction's std, so edit amounts are in std units.

Signs follow explorer/explore/direction_signs.py. Callers usually go through the cache,
`direction_cache.get_directions(G, meta, "sefa")`; this computes afresh:

    d = sefa_directions(G, k=16, layers=[0, 1])     # d.vectors (16, w_dim), only the coarse layers
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import torch

from explorer.explore.direction_signs import SKEW_Z, fix_signs, reference_sample, skew_signs
from explorer.explore.directions import Directions, default_names, edit_dims, pad, sample_w
from explorer.gan.protocol import Generator


def _affine_matrix(G: Generator, layers: Sequence[int]) -> torch.Tensor:
    """Stacked style weights A (sum_out, dims), float64: rows are the style units of the chosen layers."""
    dims = edit_dims(G)[0]
    mods = G.style_affines()
    if G.cfg.arch != "dcgan":                                      # style/film: Linear(w_dim -> channels)
        return torch.cat([mods[i].weight.detach().double().cpu() for i in layers], dim=0)   # (sum_out, w_dim)
    w = mods[0].weight.detach().double().cpu()[:dims]            # ConvTranspose2d: (in, out, k, k), z rows only
    return w.permute(1, 2, 3, 0).reshape(-1, dims)               # (out*k*k, z_dim)


@torch.no_grad()
def sefa_directions(G: Generator, k: int = 32, layers: Iterable[int] | None = None, sigma_samples: int = 2000,
                    seed: int = 0) -> Directions:
    """SeFa: top eigenvectors of A^T A, A the (row-normalised) style weights of `layers` (default: all);
    k is capped at the dims directions act on. Returns vectors (k, w width), sigma (k,) measured on
    `sigma_samples` w, and eigenvalue / sum of eigenvalues (k,). Raises ValueError for layers
    outside the generator's style layers."""
    t0 = time.perf_counter()
    dims = edit_dims(G)[0]
    k = max(1, min(k, dims))
    n_layers = len(G.style_affines())
    layers = list(range(n_layers)) if layers is None else [int(i) for i in layers]
    bad = [i for i in layers if not 0 <= i < n_layers]
    if not layers or bad:
        raise ValueError(f"SeFa layers must be a non-empty subset of 0..{n_layers - 1}, not {layers}")
    A = _affine_matrix(G, layers)
    A = A / A.norm(dim=1, keepdim=True).clamp_min(1e-12)        # as the SeFa paper's code: every unit counts once
    evals, evecs = torch.linalg.eigh(A.T @ A)                   # ascending
    evals, evecs = evals.flip(0).clamp_min(0), evecs.flip(1)
    vectors = fix_signs(evecs[:, :k].T.contiguous())            # (k, dims)
    signs, z = skew_signs(reference_sample(G) @ vectors.T)
    vectors = vectors * torch.where(z.abs() > SKEW_Z, signs, torch.ones_like(signs))[:, None]
    explained = evals[:k] / evals.sum().clamp_min(1e-12)
    w = sample_w(G, max(sigma_samples, 2), torch.Generator().manual_seed(seed))
    sigma = (w @ vectors.T).std(dim=0)                          # (k,)
    settings = {"layers": layers if len(layers) != n_layers else None, "sigma_samples": sigma_samples, "seed": seed}
    return Directions("sefa", pad(G, vectors).float(), sigma.float(), explained.float(),
                      default_names("sefa", k), time.perf_counter() - t0, settings)
