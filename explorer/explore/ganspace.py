"""GANSpace edit directions (Härkönen et al. 2020, "GANSpace: Discovering Interpretable GAN Controls"):
principal axes of w over random z, or, for a generator without an intermediate latent (DCGAN), PCA on
the first block's activations regressed back to z (the paper's BigGAN/PGGAN recipe).

Signs follow explorer/explore/direction_signs.py (toward each direction's long tail), so another
sampling seed never flips a slider. Callers usually go through the cache,
`direction_cache.get_directions(G, meta, "pca")`; this computes afresh:

    d = pca_directions(G, n_samples=20000, k=16)     # d.vectors (16, w_dim), d.sigma (16,)
"""

from __future__ import annotations

import math
import time
from typing import cast

import torch

from explorer.explore.direction_signs import align_signs, reference_sample, skew_signs
from explorer.explore.directions import DEFAULTS, Directions, default_names, edit_dims, pad, sample_w, sample_zw
from explorer.gan.generators import DCGANGenerator
from explorer.gan.protocol import Generator


@torch.no_grad()
def pca_directions(G: Generator, n_samples: int = 20000, k: int = 32, seed: int = 0, batch: int = 2000,
                   class_index: int | None = None) -> Directions:
    """GANSpace: principal axes of w over `n_samples` random z, fitted in batches with IncrementalPCA;
    k is capped at the dims directions act on. Returns vectors (k, w width), sigma (k,) and the
    explained-variance ratios (k,).

    Signs: toward each direction's long tail (`skew_signs`); with other than the default seed and
    sample count, each direction is then aligned with the matching direction (|cos| > 0.5) of the
    default computation, so another sample never flips a slider."""
    t0 = time.perf_counter()
    d = (_pca_via_features(G, n_samples, k, seed, class_index) if G.cfg.arch == "dcgan"
         else _pca_w(G, n_samples, k, seed, batch, class_index))
    if (seed, n_samples) != (DEFAULTS["pca"]["seed"], DEFAULTS["pca"]["n_samples"]):
        ref = pca_directions(G, k=k, class_index=class_index).vectors
        d.vectors = align_signs(d.vectors, ref)
        d.seconds = time.perf_counter() - t0
    return d


@torch.no_grad()
def _pca_w(G: Generator, n_samples: int, k: int, seed: int, batch: int, class_index: int | None) -> Directions:
    from sklearn.decomposition import IncrementalPCA  # imported here: ~1 s, only when needed
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    t0 = time.perf_counter()
    dims = edit_dims(G)[0]
    k = max(1, min(k, dims))
    n_samples = max(n_samples, 2 * k)
    nb = max(1, min(math.ceil(n_samples / max(batch, 1)), n_samples // k))   # every batch needs >= k rows
    sizes = [n_samples // nb + (i < n_samples % nb) for i in range(nb)]
    gen = torch.Generator().manual_seed(seed)
    ipca = IncrementalPCA(n_components=k)
    with threadpool_limits(limits=1, user_api="blas"):   # small SVDs: threaded BLAS only adds contention
        for n in sizes:                                  # (100x slower when training processes load the cores)
            ipca.partial_fit(sample_w(G, n, gen, class_index).numpy())
    vectors = torch.from_numpy(ipca.components_).double()
    vectors = vectors * skew_signs(reference_sample(G, class_index) @ vectors.T)[0][:, None]
    sigma = torch.from_numpy(ipca.explained_variance_).clamp_min(0).sqrt()
    explained = torch.from_numpy(ipca.explained_variance_ratio_)
    settings = {"n_samples": n_samples, "seed": seed, "batch": batch, "class_index": class_index}
    return Directions("pca", pad(G, vectors).float(), sigma.float(), explained.float(), default_names("pca", k),
                      time.perf_counter() - t0, settings)


@torch.no_grad()
def _pca_via_features(G: Generator, n_samples: int, k: int, seed: int, class_index: int | None) -> Directions:
    """GANSpace for a generator without an intermediate latent (DCGAN: w is z, and z is isotropic, so
    PCA on it finds nothing): PCA on the first block's activations, then each component is carried
    back to z by linear regression (Härkönen et al. 2020, their BigGAN/PGGAN recipe), and the
    z directions are orthonormalised in order (QR), so direction 0 is exactly the regressed PC 0."""
    t0 = time.perf_counter()
    dims = edit_dims(G)[0]
    k = max(1, min(k, dims))
    n = max(min(n_samples, 5_000), 4 * k)      # 5000 x (c x 4 x 4) activations: stable, and ~1 s
    z, w = sample_zw(G, n, torch.Generator().manual_seed(seed), class_index)
    net = cast(DCGANGenerator, G).net                                            # only called for arch "dcgan"
    feats = torch.cat([net[:3](w[i:i + 2000, :, None, None]).flatten(1).float().cpu() for i in range(0, n, 2000)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, s, v = torch.pca_lowrank(feats, q=min(k + 10, *feats.shape), center=True, niter=4)
    x = (feats - feats.mean(0)) @ v[:, :k]                                      # (n, k) PC coordinates
    b = torch.linalg.lstsq(x.double(), z.double()).solution                     # (k, z_dim): PC -> z
    q, _ = torch.linalg.qr(b.T)                                                 # orthonormal, in order
    q = q * torch.where((q * b.T).sum(0) < 0, -1.0, 1.0).to(q)[None]            # same sense as each regression
    vectors = q.T * skew_signs(x)[0][:, None]                                   # toward each PC's long tail
    sigma = (z.double() @ vectors.T).std(0)
    total = feats.var(0).sum().double()
    explained = (s[:k].double() ** 2 / (n - 1)) / total
    settings = {"n_samples": n, "seed": seed, "class_index": class_index, "space": "first-block activations"}
    return Directions("pca", pad(G, vectors).float(), sigma.float(), explained.float(), default_names("pca", k),
                      time.perf_counter() - t0, settings)
