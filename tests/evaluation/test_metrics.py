"""Offline metrics on small synthetic sets with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.evaluation.classifier import ClassifierConfig, FashionClassifier
from explorer.evaluation.metrics import (
    classifier_metrics,
    embed,
    frechet_distance,
    kid,
    memorisation,
    precision_recall,
    precision_recall_balanced,
)
from explorer.evaluation.swd import sliced_wasserstein


def _gaussian_exact(n: int, mean: np.ndarray, cov: np.ndarray, seed: int) -> np.ndarray:
    """n points whose sample mean and (unbiased) covariance are exactly `mean` and `cov`."""
    x = np.random.default_rng(seed).standard_normal((n, len(mean)))
    x -= x.mean(0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T     # sample cov = I
    return x @ np.linalg.cholesky(cov).T + mean


# ---- Fréchet distance --------------------------------------------------------------------------

def test_fd_identical_is_zero():
    a = np.random.default_rng(0).standard_normal((500, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(torch.from_numpy(a).float(), torch.from_numpy(a).float()) < 1e-4


def test_fd_grows_with_mean_shift():
    a = np.random.default_rng(0).standard_normal((500, 8))
    fds = [frechet_distance(a, a + s) for s in (0.5, 1.0, 2.0)]
    assert fds == pytest.approx([8 * s * s for s in (0.5, 1.0, 2.0)], rel=1e-6)   # same cov: ||shift||²


def test_fd_matches_closed_form_for_two_gaussians():
    s1 = np.array([[2.0, 0.6], [0.6, 1.0]])
    s2 = np.array([[0.5, -0.3], [-0.3, 1.5]])                                # does not commute with s1
    m1, m2 = np.array([0.0, 1.0]), np.array([1.0, -1.0])
    a, b = _gaussian_exact(300, m1, s1, 0), _gaussian_exact(400, m2, s2, 1)
    # For 2x2: tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)).
    tr_sqrt = np.sqrt(np.trace(s1 @ s2) + 2 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected = ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_fd_rejects_bad_shapes():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))


# ---- KID ---------------------------------------------------------------------------------------

def test_kid_same_distribution_near_zero_and_shift_positive():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    same, same_std = kid(a, b, subsets=20, subset_size=200)
    shifted, _ = kid(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.01 and same_std < 0.01
    assert shifted > 0.5 and shifted > 50 * abs(same)
    assert kid(a, b, subsets=5, subset_size=100, seed=3) == kid(a, b, subsets=5, subset_size=100, seed=3)


# ---- Precision / recall ------------------------------------------------------------------------

def test_precision_recall():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 8))
    assert precision_recall(real, real) == (1.0, 1.0)
    far_p, far_r = precision_recall(real, real + 100.0)
    assert far_p == 0.0 and far_r == 0.0
    # Two real modes; fakes cover one of them: faithful (high precision) but half the coverage.
    two = np.concatenate([rng.standard_normal((200, 8)), rng.standard_normal((200, 8)) + 20.0])
    p, r = precision_recall(two, rng.standard_normal((200, 8)), k=3, chunk=64)
    assert p > 0.75 and 0.35 < r < 0.55


def test_precision_recall_balanced_uses_equal_sets():
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((100, 8)), rng.standard_normal((1000, 8)) + 0.5
    assert precision_recall_balanced(real, fake[:100]) == precision_recall(real, fake[:100])
    p, r = precision_recall_balanced(real, fake)
    assert (r, p) == precision_recall_balanced(fake, real)          # the same subsets, roles swapped
    assert (p, r) != precision_recall(real, fake)
    # fakes that copy the reals ten times over, slightly moved: every subset still covers them
    copies = np.repeat(real, 10, axis=0) + 1e-3 * rng.standard_normal((1000, 8))
    assert precision_recall_balanced(real, copies)[1] > 0.8


# ---- Sliced Wasserstein ------------------------------------------------------------------------

def _blocky(n: int, seed: int, channels: int = 1, side: int = 32) -> torch.Tensor:
    """Piecewise-constant images with sharp edges, in [-1, 1]: (n, C, side, side)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, side // 4, side // 4, generator=g) * 2 - 1
    return F.interpolate(coarse, size=(side, side), mode="nearest")


def test_swd_zero_on_identical_larger_for_blur_and_noise():
    a, b = _blocky(128, 0), _blocky(128, 1)                                # two draws of one distribution
    blurred = F.avg_pool2d(F.pad(b, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    noisy = (b + 0.5 * torch.randn(b.shape, generator=torch.Generator().manual_seed(2))).clamp(-1, 1)
    kw = dict(nhoods_per_image=32, dir_repeats=2, dirs_per_repeat=64)
    assert sliced_wasserstein(a, a, **kw)["avg"] == pytest.approx(0.0, abs=1e-6)
    same = sliced_wasserstein(a, b, **kw)
    assert len(same["per_level"]) == 2                                      # 32 and 16
    assert same["avg"] == pytest.approx(np.mean(same["per_level"]))
    for other in (blurred, noisy):                                          # both change fine detail most
        out = sliced_wasserstein(a, other, **kw)
        assert out["per_level"][0] > 1.8 * same["per_level"][0] and out["avg"] > 1.3 * same["avg"]


def test_swd_deterministic_for_a_seed():
    a, b = _blocky(16, 0), _blocky(16, 1)
    kw = dict(nhoods_per_image=8, dir_repeats=2, dirs_per_repeat=32)
    first = sliced_wasserstein(a, b, **kw)
    assert sliced_wasserstein(a, b, **kw) == first
    assert sliced_wasserstein(a, b, seed=1, **kw) != first


def test_swd_uint8_rgb_and_odd_sizes():
    rgb = ((_blocky(8, 0, channels=3, side=48) + 1) * 127.5).round().to(torch.uint8)
    out = sliced_wasserstein(rgb, rgb[:6], nhoods_per_image=8, dir_repeats=1, dirs_per_repeat=32)
    assert len(out["per_level"]) == 2 and np.isfinite(out["avg"])           # 48 and 24
    small = _blocky(4, 0, side=16)
    assert len(sliced_wasserstein(small, small, nhoods_per_image=4, dirs_per_repeat=16)["per_level"]) == 1
    with pytest.raises(ValueError):
        sliced_wasserstein(_blocky(4, 0, side=8), _blocky(4, 1, side=8))
    with pytest.raises(ValueError):
        sliced_wasserstein(rgb, _blocky(4, 0, side=48))


# ---- Memorisation ------------------------------------------------------------------------------

def _manifold(n: int, seed: int) -> torch.Tensor:
    """Images from a fixed smooth 6-d generator, (n, 1, 16, 16) in [-1, 1]; seed picks the latents."""
    w = torch.randn(6, 256, generator=torch.Generator().manual_seed(123)) / 2
    z = torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))
    return torch.tanh(z @ w).reshape(n, 1, 16, 16)


def test_memorisation_flags_copies_not_fresh_samples():
    train, test = _manifold(400, 0), _manifold(200, 1)
    noise = torch.Generator().manual_seed(3)
    copies = train[:200] + 0.01 * torch.randn(200, 1, 16, 16, generator=noise)
    fresh = _manifold(200, 2)
    fresh_noisy = fresh + 0.05 * torch.randn(200, 1, 16, 16, generator=noise)
    m = memorisation(copies, train, test, n=200)
    assert m["memorised"] and m["ratio"] < 0.2 and m["fraction_below_test_p1"] > 0.9
    for honest in (fresh, fresh_noisy):
        h = memorisation(honest, train, test, n=200, chunk=50)
        assert not h["memorised"] and 0.8 < h["ratio"] < 1.5, h
    # A generator that copies a third of the time is caught by the fraction, not the median.
    mixed = torch.cat([copies[:30], fresh[30:]])
    mm = memorisation(mixed, train, test)
    assert mm["ratio"] > 0.8 and mm["memorised"]
    u8 = ((train + 1) * 127.5).round().to(torch.uint8)
    assert memorisation(u8[:50], u8, u8[300:], n=50)["memorised"]
    with pytest.raises(ValueError):
        memorisation(copies, train, _manifold(10, 4).reshape(10, 1, 8, 32))


# ---- Classifier bundle -------------------------------------------------------------------------

def test_classifier_metrics_bundle():
    torch.manual_seed(0)
    model = FashionClassifier(ClassifierConfig(width=4, feature_dim=16)).eval()
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (60, 1, 32, 32), generator=g, dtype=torch.uint8)
    fake = torch.rand(40, 3, 32, 32, generator=g) * 2 - 1                      # RGB fakes are averaged to gray
    feats, pred = embed(model, real, batch_size=16)
    assert feats.shape == (60, 16) and pred.shape == (60,)
    out = classifier_metrics(model, fake, pred[:40], real, batch_size=16, kid_subsets=3, kid_subset_size=30)
    assert set(out) == {"fd", "kid", "kid_std", "cond_accuracy", "precision", "recall"}
    assert out["fd"] >= 0 and 0 <= out["precision"] <= 1 and 0 <= out["cond_accuracy"] <= 1
    again = classifier_metrics(model, real[:40], pred[:40], real_features=feats, kid_subsets=3, kid_subset_size=30)
    assert again["cond_accuracy"] == 1.0 and again["precision"] == 1.0
    assert classifier_metrics(model, fake, None, real_features=feats, kid_subsets=2)["cond_accuracy"] is None
    with pytest.raises(ValueError):
        classifier_metrics(model, fake, None)
