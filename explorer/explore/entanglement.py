"""Entanglement: how much each measured attribute changes along each edit direction.

`effect_matrix` moves sampled latents by +-`step` std along each direction (central finite
differences over seeds), renders, measures (`attributes.Measurer`) and returns the mean change per
std of the direction, in units of each attribute's std: row k says what direction k does, so a
heat map shows "this one changes weight but also width". From it:

* `auto_label(row, names)`: "+ weight, − width" for unnamed (PCA/SeFa) directions;
* `orthogonalise(v, basis)`: InterFaceGAN's conditional manipulation (Shen et al. 2020, eq. 3):
  v minus its projection on the span of the attribute normals it must not move, renormalised.

    fx = effect_matrix(G, vectors, sigma, measurer)            # (K, A) std of attribute per std of w
    fx.labels(names)                                            # ["+ brightness, − edge density", ...]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explorer.explore.attributes import Measurer
from explorer.gan.protocol import Generator
from explorer.imaging.render import render_batch, to_uint8

REF_SEED = 0x5EED           # fixed seeds for effects: independent of any sampling seed
EFFECT_SEEDS = 12           # images a heat map averages over (fonts: its 10 PCA rows correlate 0.80 with 48 seeds')
LABEL_MIN = 0.1             # |effect| (attribute std per std of w) an auto-label needs
LABEL_SHARE = 0.5           # ... and this share of the row's largest |effect|
Render = Callable[[torch.Tensor], np.ndarray]


@dataclass
class Effects:
    matrix: np.ndarray          # (K, A) mean change per std of the direction, in attribute std units
    keys: list[str]             # attribute keys, columns
    names: list[str]            # attribute display names, columns
    scale: np.ndarray           # (A,) the attribute std used as unit
    n_seeds: int
    tstat: np.ndarray | None = None   # (K, A) mean change / its standard error over the seeds

    def labels(self, prefix: Sequence[str] | None = None, top: int = 2) -> list[str]:
        """One auto-label per row ("+ weight, − width"), optionally "PC 3: ..." with `prefix`."""
        out = [auto_label(row, self.names, top) for row in self.matrix]
        return out if prefix is None else [f"{p}: {lab}" if lab else p for p, lab in zip(prefix, out)]


def auto_label(row: np.ndarray, names: Sequence[str], top: int = 2) -> str:
    """The attributes a direction changes clearly (|effect| >= LABEL_MIN and >= LABEL_SHARE of its
    largest), strongest first, with their sign: "+ weight, − width"; "" when none does."""
    order = np.argsort(-np.abs(np.nan_to_num(row)))
    peak = float(abs(np.nan_to_num(row[order[0]]))) if len(order) else 0.0
    parts = []
    for j in order[:top]:
        v = float(np.nan_to_num(row[j]))
        if abs(v) >= LABEL_MIN and abs(v) >= LABEL_SHARE * peak:
            parts.append(f"{'+' if v > 0 else '−'} {names[j]}")
    return ", ".join(parts)


def render_with(G: Generator, batch: int | None = None) -> Render:
    """A render function for G: ws or w (N, ...) -> (N, H, W, C) uint8, on G's device, in batches
    (default `imaging.render.render_batch`: 256 small images, 4 glyph stacks)."""
    batch = batch or render_batch(G.cfg.channels, G.cfg.resolution)

    def render(w: torch.Tensor) -> np.ndarray:
        dev = G.w_avg.device
        with torch.inference_mode():
            return np.concatenate([to_uint8(G.synthesis(w[i:i + batch].to(dev)))
                                   for i in range(0, max(w.shape[0], 1), batch)]) if w.shape[0] else \
                np.zeros((0, G.cfg.resolution, G.cfg.resolution, G.cfg.channels), np.uint8)
    return render


@torch.no_grad()
def reference_w(G: Generator, n: int, seed: int = REF_SEED) -> torch.Tensor:
    """(n, w width) w at psi 1 for fixed seeds (classes cycle for conditional models), on the CPU."""
    z = torch.randn(n, G.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
    c = (torch.arange(n) % G.cfg.num_classes) if G.cfg.num_classes else None
    dev = G.w_avg.device
    return G.mapping(z.to(dev), None if c is None else c.to(dev)).float().cpu()


def effect_matrix(G: Generator, vectors: torch.Tensor, sigma: torch.Tensor, measurer: Measurer,
                  n_seeds: int = EFFECT_SEEDS, step: float = 1.0, scale: np.ndarray | None = None,
                  render: Render | None = None, w0: torch.Tensor | None = None) -> Effects:
    """Mean attribute change per std along each of K directions (central differences at +-step std).

    vectors (K, w width) unit rows, sigma (K,) std of w along each; w0 (n_seeds, width) overrides
    the fixed reference seeds. `scale` (A,) is the attribute unit (default: the attributes' std
    over all images rendered here). Renders 2 * K * n_seeds images in one pass.
    """
    render = render or render_with(G)
    w0 = reference_w(G, n_seeds) if w0 is None else w0.float().cpu()
    n, k = w0.shape[0], vectors.shape[0]
    delta = (step * sigma.float()[:, None] * vectors.float())                # (K, width)
    ws = torch.cat([w0[None] + delta[:, None], w0[None] - delta[:, None]])  # (2K, n, width)
    vals = measurer.measure(render(ws.reshape(2 * k * n, -1))).reshape(2, k, n, -1)
    if scale is None:
        scale = np.nanstd(vals.reshape(2 * k * n, -1), axis=0)
    scale = np.where(np.asarray(scale) > 1e-12, scale, 1.0)
    diff = (vals[0] - vals[1]) / (2.0 * step)                                 # (K, n, A) per std of w
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(diff, axis=1)
        se = np.nanstd(diff, axis=1) / np.sqrt(max(n - 1, 1))
        t = np.where(se > 0, mean / np.where(se > 0, se, 1.0), 0.0)
    return Effects(np.nan_to_num(mean / scale), measurer.keys, measurer.names, np.asarray(scale, dtype=np.float64),
                   n, np.nan_to_num(t))


def orthogonalise(v: torch.Tensor, basis: torch.Tensor, min_norm: float = 1e-3) -> torch.Tensor:
    """v (D,) minus its projection on span(basis rows) (M, D), renormalised to unit length.

    InterFaceGAN conditional manipulation generalised to several conditions at once: the projection
    onto the orthogonal complement of the span (least squares, so the basis need not be orthogonal).
    Raises ValueError when v lies (almost) inside the span: nothing would be left to edit."""
    v64 = v.double()
    B = basis.double().reshape(-1, v64.shape[0])
    if B.shape[0] == 0:
        return v.clone()
    q, _ = torch.linalg.qr(B.T)                                            # (D, M) orthonormal span
    r = v64 - q @ (q.T @ v64)
    n = float(r.norm())
    if n < min_norm * max(float(v64.norm()), 1e-12):
        raise ValueError("this direction lies inside the span of the directions it should be orthogonal "
                         "to: nothing is left to edit")
    return (r / n).to(v.dtype)


LITTLE_LEFT = 0.25       # a conditional (orthogonalised) edit keeping less than this share of its effect is flagged


def little_left(matrix: np.ndarray, keys: list[str], names: list[str], own: list[str]
                ) -> tuple[str, float, float] | None:
    """(what, before, after) when the "after" row of a conditional edit's heat map (2, A) keeps less than
    LITTLE_LEFT of the "before" row's effect: on its own attribute when it has one among `keys` (`own`:
    [its key] for an attribute direction), else on the whole row (its length); None otherwise."""
    if own and own[0] in keys:
        j = keys.index(own[0])
        what, b, a = names[j], abs(float(matrix[0, j])), abs(float(matrix[1, j]))
    else:
        what, b, a = "the attributes", float(np.linalg.norm(matrix[0])), float(np.linalg.norm(matrix[1]))
    return (what, b, a) if b > 1e-9 and a < LITTLE_LEFT * b else None
