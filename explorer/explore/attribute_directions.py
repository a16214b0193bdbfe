"""Attribute directions by measurement: named edit directions with no labels to collect.

InterFaceGAN (Shen et al. 2020) finds the boundary of a labelled attribute in w with a linear
model and edits along its unit normal. Here the labels are measured, not collected: sample n
latents, render them, measure every attribute the model supports (`attributes.measurer_for`), and
fit one linear model per attribute from w to its value (ridge regression with the penalty chosen
by generalised cross-validation for continuous attributes, logistic regression for binary ones).
The unit normal is a direction named after its attribute, and its sign always increases it.
Fit quality is measured on held-out samples (R², or accuracy for binary attributes).

For conditional models w and the attributes are centred within each class first, so a direction
changes its attribute within a class (an edit never changes the class), and sigma is the
within-class std of w along it. DCGAN models are fitted on z only (w = [z, one-hot class]).

    d = attribute_directions(G, meta)          # a directions.Directions with method "attr"
    d.names, d.explained                       # attribute names, held-out R² per direction
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from explorer.explore.attributes import Measurer, measurer_for
from explorer.explore.entanglement import Render, render_with
from explorer.gan.protocol import Generator

TEST_SHARE = 0.2
ALPHAS = np.logspace(-3, 3, 13)          # ridge penalties tried by RidgeCV (efficient leave-one-out)


@torch.no_grad()
def sample(G: Generator, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(w (n, w width) float32 on the CPU at psi 1, classes (n,) or None) for n seeds drawn from `seed`."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.cfg.z_dim, generator=gen)
    c = torch.randint(G.cfg.num_classes, (n,), generator=gen) if G.cfg.num_classes else None
    dev = G.w_avg.device
    w = G.mapping(z.to(dev), None if c is None else c.to(dev))
    return w.float().cpu(), c


def centre_within(x: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """x (n, ...) minus its mean over all rows, or over the rows of each class when classes (n,) is given."""
    x = np.array(x, dtype=np.float64, copy=True)
    if classes is None:
        return x - np.nanmean(x, axis=0, keepdims=True)
    for k in np.unique(classes):
        rows = classes == k
        x[rows] -= np.nanmean(x[rows], axis=0, keepdims=True)
    return x


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(test rows, train rows): a seeded permutation, TEST_SHARE of the rows held out."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(2, int(n * TEST_SHARE))
    return order[:n_test], order[n_test:]


def _unit(coef: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(coef, axis=-1, keepdims=True)
    return np.where(norm > 0, coef / np.where(norm > 0, norm, 1.0), 0.0)


def fit_ridge(X: np.ndarray, Y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Continuous attributes: X (n, D) centred w, Y (n, A) centred values -> (unit normals (A, D), held-out R² (A,)).

    One multi-target RidgeCV (penalty per attribute by generalised cross-validation, Golub et al.
    1979) on a seeded 80 % split; R² on the other 20 %. NaN values are imputed with 0 (the mean) for
    fitting and left out of the score; constant attributes get a zero vector and a NaN score."""
    from sklearn.linear_model import RidgeCV
    from threadpoolctl import threadpool_limits
    test, train = _split(len(X), seed)
    Yf = np.nan_to_num(Y)
    with threadpool_limits(limits=1):                # small SVDs: threads only add contention on a busy CPU
        model = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X[train], Yf[train])
    pred = model.predict(X[test]).reshape(len(test), -1)
    r2 = np.full(Y.shape[1], np.nan)
    for j in range(Y.shape[1]):
        y = Y[test, j]
        ok = np.isfinite(y)
        ss = float(((y[ok] - y[ok].mean()) ** 2).sum()) if ok.sum() > 1 else 0.0
        if ss > 1e-12 and np.nanstd(Y[:, j]) > 1e-12:
            r2[j] = 1.0 - float(((y[ok] - pred[ok, j]) ** 2).sum()) / ss
    coef = np.atleast_2d(model.coef_)
    coef[~np.isfinite(r2)] = 0.0
    return _unit(coef), r2


def fit_logistic(X: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, float]:
    """A binary attribute y (n,) in {0, 1} -> (unit normal (D,) toward 1, held-out accuracy);
    logistic regression (L2, C=1). One class only: zero vector, NaN."""
    from sklearn.linear_model import LogisticRegression
    test, train = _split(len(X), seed)
    if len(np.unique(y[train])) < 2:
        return np.zeros(X.shape[1]), float("nan")
    model = LogisticRegression(C=1.0, max_iter=2000).fit(X[train], y[train])
    return _unit(model.coef_[0]), float(model.score(X[test], y[test]))


def is_binary(col: np.ndarray) -> bool:
    """True when the finite values of col are all 0 or 1 (a yes/no attribute)."""
    v = np.unique(col[np.isfinite(col)])
    return len(v) > 0 and set(v.tolist()) <= {0.0, 1.0}


def fit_all(w: np.ndarray, values: np.ndarray, classes: np.ndarray | None = None,
            seed: int = 0) -> dict[str, np.ndarray]:
    """w (n, D) and attribute values (n, A) -> {"vectors" (A, D), "score" (A,), "metric" (A,) str,
    "sigma" (A,) within-class std of w along each, "scale" (A,) within-class std of each attribute}."""
    X = centre_within(w, classes)
    Y = centre_within(values, classes)
    A = values.shape[1]
    V, score = np.zeros((A, X.shape[1])), np.full(A, np.nan)
    metric = np.array(["r2"] * A, dtype=object)
    binary = [j for j in range(A) if is_binary(values[:, j])]
    cont = [j for j in range(A) if j not in binary]
    if cont:
        V[cont], score[cont] = fit_ridge(X, Y[:, cont], seed)
    for j in binary:
        ok = np.isfinite(values[:, j])
        V[j], score[j] = fit_logistic(X[ok], values[ok, j], seed)
        metric[j] = "accuracy"
    return {"vectors": V, "score": score, "metric": metric.astype(str),
            "sigma": (X @ V.T).std(axis=0), "scale": np.nanstd(Y, axis=0)}


def attribute_directions(G: Generator, meta: Mapping[str, Any] | None = None, k: int = 32, n_samples: int = 2000,
                         seed: int = 0, measurer: Measurer | None = None, render: Render | None = None) -> Any:
    """Directions (method "attr") for the first k attributes of `measurer` (default: measurer_for(G, meta)).

    Samples n_samples latents from `seed`, renders them (`render`, default G.synthesis on G's device),
    measures and fits (see the module docstring). `explained` holds each direction's held-out score;
    `settings` records the attribute keys, names, metrics and units (JSON-able), so cached entries
    are self-describing. Raises ValueError when n_samples < 20."""
    from explorer.explore.directions import Directions, edit_dims, pad
    if n_samples < 20:
        raise ValueError(f"attribute directions need at least 20 samples, not {n_samples}")
    t0 = time.perf_counter()
    measurer = measurer or measurer_for(G, meta)
    w, c = sample(G, n_samples, seed)
    values = measurer.measure((render or render_with(G))(w))[:, :k]
    dims = edit_dims(G)[0]
    fit = fit_all(w[:, :dims].double().numpy(), values, None if c is None else c.numpy(), seed)
    attrs = measurer.attributes[:values.shape[1]]
    vectors = pad(G, torch.from_numpy(fit["vectors"]))
    settings = {"n_samples": n_samples, "seed": seed, "attributes": [a.key for a in attrs],
                "names": [a.name for a in attrs], "help": [a.help for a in attrs],
                "metric": fit["metric"].tolist(), "scale": [float(x) for x in np.nan_to_num(fit["scale"])]}
    return Directions("attr", vectors.float(), torch.from_numpy(fit["sigma"]).float(),
                      torch.from_numpy(fit["score"]).float(), [a.name for a in attrs],
                      time.perf_counter() - t0, settings)
