"""Offline image-quality metrics: nothing here ever downloads anything.

Feature metrics work on embeddings from the shipped Fashion-MNIST classifier
(`explorer.evaluation.classifier`), given as (N, D) torch tensors or numpy arrays:
  frechet_distance  FID-style Fréchet distance between Gaussian fits (lower is better)
  kid               kernel inception-style distance, unbiased MMD² with a cubic kernel
  precision_recall  k-NN manifold precision (fidelity) and recall (coverage)
Pixel metrics work on images, (N, C, H, W) uint8 in [0, 255] or float in [-1, 1]:
  memorisation        nearest-train-neighbour distances of samples vs. held-out test images
  (ProGAN's sliced Wasserstein distance: explorer/evaluation/swd.py)
`classifier_metrics` runs the classifier and bundles the feature metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from explorer.evaluation.classifier import FashionClassifier

Array = np.ndarray | torch.Tensor      # (N, D) features


def _np64(x: Any) -> np.ndarray:
    """(N, D) tensor or array -> float64 numpy."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    return x


def as_images(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) uint8 [0, 255] or float [-1, 1] -> float32 [-1, 1] on CPU."""
    x = torch.as_tensor(x).detach().cpu()
    if x.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(x.shape)}")
    return x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped)."""
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(feats_a: Array, feats_b: Array) -> float:
    """||mu_a - mu_b||² + tr(S_a + S_b - 2 (S_a S_b)^½) between Gaussian fits of two (N, D) sets.

    tr((S_a S_b)^½) = sum of sqrt(eigenvalues of S_a^½ S_b S_a^½), a symmetric PSD matrix, so
    no complex sqrtm is needed; float64 throughout.
    """
    a, b = _np64(feats_a), _np64(feats_b)
    if a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need >= 2 samples of equal dimension, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)             # (D, D)
    r = _sqrt_psd(s_a)
    m = r @ s_b @ r
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    fd = float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * tr_sqrt)
    return max(fd, 0.0)


def kid(feats_a: Array, feats_b: Array, subsets: int = 50, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel distance (Binkowski et al. 2018): mean and std over random subsets of the
    unbiased MMD² with kernel k(x, y) = (x·y / D + 1)³. Subsets are min(subset_size, N_a, N_b)."""
    a, b = _np64(feats_a), _np64(feats_b)
    d, m = a.shape[1], min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = [(p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y))]  # (m, m)
        off = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))          # noqa: E731
        out.append(off(kxx) + off(kyy) - 2 * kxy.mean())
    return float(np.mean(out)), float(np.std(out))


def _knn_radius(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """(N, D) -> (N,) distance of each row to its k-th nearest other row."""
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)                                    # (c, N)
        out.append(d.kthvalue(k + 1, dim=1).values)                           # +1 skips the point itself
    return torch.cat(out)


def _inside(query: torch.Tensor, ref: torch.Tensor, radius: torch.Tensor, chunk: int) -> float:
    """Fraction of `query` rows inside at least one ball (ref_j, radius_j)."""
    hits = 0
    for i in range(0, len(query), chunk):
        d = torch.cdist(query[i:i + chunk], ref)                              # (c, N_ref)
        hits += int((d <= radius[None, :]).any(dim=1).sum())
    return hits / len(query)


def precision_recall(real_feats: Array, fake_feats: Array, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls reaching each point's k-th nearest neighbour.
    precision = share of fakes inside the real manifold; recall = share of reals inside the fake one.
    """
    real = torch.from_numpy(_np64(real_feats))
    fake = torch.from_numpy(_np64(fake_feats))
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")
    r_real, r_fake = _knn_radius(real, k, chunk), _knn_radius(fake, k, chunk)
    return _inside(fake, real, r_real, chunk), _inside(real, fake, r_fake, chunk)


def precision_recall_balanced(real_feats: Array, fake_feats: Array, k: int = 3, rounds: int = 5,
                              seed: int = 0) -> tuple[float, float]:
    """`precision_recall` on equal-sized sets, as Kynkäänniemi et al. measure it: the larger set is
    subsampled (seeded, without replacement) to the smaller one's size, `rounds` times, and the
    figures averaged. With unequal sets the larger one is denser, so its k-NN balls are smaller and
    the figures depend on the set sizes (1,000 generated fonts against 273 real faces: recall 0.000;
    three 273-face subsets of them: 0.011-0.095). With equal sets, swapping the roles swaps the
    figures. Sets of one size are used as they are. Raises ValueError like `precision_recall`."""
    real, fake = _np64(real_feats), _np64(fake_feats)
    m = min(len(real), len(fake))
    if len(real) == len(fake):
        return precision_recall(real, fake, k=k)
    rng = np.random.default_rng(seed)
    got = []
    for _ in range(rounds):
        r = real if len(real) == m else real[rng.choice(len(real), m, replace=False)]
        f = fake if len(fake) == m else fake[rng.choice(len(fake), m, replace=False)]
        got.append(precision_recall(r, f, k=k))
    return float(np.mean([g[0] for g in got])), float(np.mean([g[1] for g in got]))


def pixel_features(fit_on: torch.Tensor, *sets: torch.Tensor, size: int = 16, dims: int = 64) -> list[np.ndarray]:
    """A feature space without any pretrained network: images area-downsampled to size x size,
    flattened and projected on the top `dims` principal components of `fit_on` (the real images).
    Returns the features of `fit_on` followed by those of each of `sets`."""
    from sklearn.decomposition import PCA

    def flat(x: torch.Tensor) -> np.ndarray:
        x = torch.nn.functional.interpolate(x.float() / 127.5 - 1.0, size=(size, size), mode="area")
        return x.flatten(1).numpy().astype(np.float64)
    ref = flat(fit_on)
    pca = PCA(n_components=min(dims, *ref.shape), random_state=0).fit(ref)
    return [pca.transform(ref)] + [pca.transform(flat(s)) for s in sets]


# ---- Memorisation ------------------------------------------------------------------------------

def _nn_dist(query: torch.Tensor, ref: torch.Tensor, chunk: int) -> torch.Tensor:
    """(Q, D), (R, D) -> (Q,) L2 distance of each query row to its nearest ref row."""
    return torch.cat([torch.cdist(query[i:i + chunk], ref).min(dim=1).values
                      for i in range(0, len(query), chunk)])


def memorisation(samples: torch.Tensor, train: torch.Tensor, test: torch.Tensor, n: int = 1000,
                 max_train: int | None = None, chunk: int = 256, ratio_threshold: float = 0.8,
                 fraction_threshold: float = 0.05) -> dict:
    """Does the generator copy its training set? Pixel-space nearest-neighbour check.

    All inputs: (N, C, H, W) uint8 [0, 255] or float [-1, 1] of one shape; flattened in [-1, 1].
    Uses the first `n` samples and test images and the first `max_train` train images (all by
    default). A generator that generalises puts its samples about as far from the train set
    as held-out test images are: ratio = sample_median / test_median ~ 1 and about 1% of
    samples closer than the 1st percentile of test-to-train distances. `memorised` is True when
    ratio < ratio_threshold or that fraction > fraction_threshold.
    """
    s, tr, te = (as_images(x) for x in (samples[:n], train[:max_train], test[:n]))
    if not (s.shape[1:] == tr.shape[1:] == te.shape[1:]):
        raise ValueError(f"shapes differ: samples {tuple(s.shape[1:])}, train {tuple(tr.shape[1:])}, "
                         f"test {tuple(te.shape[1:])}")
    s, tr, te = s.flatten(1), tr.flatten(1), te.flatten(1)                    # (N, C*H*W)
    ds, dt = _nn_dist(s, tr, chunk), _nn_dist(te, tr, chunk)
    test_p1 = float(torch.quantile(dt, 0.01))
    ratio = float(ds.median() / dt.median().clamp_min(1e-12))
    frac = float((ds < test_p1).float().mean())
    return {"sample_median": float(ds.median()), "sample_p5": float(torch.quantile(ds, 0.05)),
            "test_median": float(dt.median()), "test_p5": float(torch.quantile(dt, 0.05)),
            "test_p1": test_p1, "ratio": ratio, "fraction_below_test_p1": frac,
            "memorised": bool(ratio < ratio_threshold or frac > fraction_threshold),
            "n_samples": len(s), "n_test": len(te), "n_train": len(tr)}


# ---- Classifier-based bundle -------------------------------------------------------------------

@torch.inference_mode()
def embed(classifier: FashionClassifier, images: torch.Tensor,
          batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, H, W) uint8 or [-1, 1] images -> ((N, feature_dim) features, (N,) predicted class), on CPU.

    `classifier` is an `explorer.evaluation.classifier.FashionClassifier` (anything with `.features` and `.head`).
    """
    classifier.eval()
    feats, preds = [], []
    for i in range(0, len(images), batch_size):
        f = classifier.features(images[i:i + batch_size])
        feats.append(f.float().cpu())
        preds.append(classifier.head(f).argmax(1).cpu())
    return torch.cat(feats), torch.cat(preds)


def classifier_metrics(classifier: FashionClassifier, fake_images: torch.Tensor,
                       fake_labels: torch.Tensor | None, real_images: torch.Tensor | None = None,
                       real_features: torch.Tensor | None = None, batch_size: int = 256,
                       kid_subsets: int = 50, kid_subset_size: int = 1000, k: int = 3,
                       seed: int = 0) -> dict:
    """FD, KID, precision/recall in the classifier's feature space, plus conditional accuracy.

    fake_images / real_images: (N, C, H, W) uint8 or float [-1, 1]. Pass `real_features`
    (from `embed`) instead of `real_images` to reuse them across evaluations. `cond_accuracy`
    is the share of fakes the classifier assigns to their conditioning label (None when
    `fake_labels` is None).
    """
    if real_features is None:
        if real_images is None:
            raise ValueError("pass real_images or real_features")
        real_features, _ = embed(classifier, real_images, batch_size)
    fake_features, pred = embed(classifier, fake_images, batch_size)
    kid_mean, kid_std = kid(real_features, fake_features, kid_subsets, kid_subset_size, seed)
    precision, recall = precision_recall(real_features, fake_features, k)
    cond = None
    if fake_labels is not None:
        cond = float((pred == torch.as_tensor(fake_labels).cpu().long()).double().mean())
    return {"fd": frechet_distance(real_features, fake_features), "kid": kid_mean, "kid_std": kid_std,
            "cond_accuracy": cond, "precision": precision, "recall": recall}
