"""Corpus-level filters of the fonts dataset: symbol fonts and near-duplicate faces.

Both work on `pool16` features: each glyph's 64x64 ink averaged over 4x4 blocks (16x16, in [0, 1]).

- Symbol fonts (fonts whose cmap maps letters to symbols, math, flags or pictures): a nearest-centroid
  glyph classifier built from the corpus itself, on `shape_features`: each glyph cropped to its ink
  box and resized to 16x16 (so width, weight and slant matter less), once as ink and once as its
  filled silhouette (holes filled, so outline, inline and shadow designs look like solid letters).
  Each view, minus its mean and scaled to unit length, is compared (cosine) with the per-character
  mean of all faces; a glyph counts as read when the right character (up to `lookalike_key`: case,
  0/O, 1/l/I/i) is among the TOP_K = 3 nearest of the 62 centroids. A face's `letter_accuracy` is
  the larger, over the two views, of the share of its glyphs read. By eye on the whole corpus: under
  0.15 nearly all are symbol/picture fonts (and letters boxed in frames), 0.15-0.3 half symbols, half
  extreme scripts and 3D designs, above 0.3 nearly all letters. A face is a "symbol font" when its
  accuracy is under SYMBOL_MIN_ACCURACY = 0.3, or when its capitals or its lowercase alone score
  under CASE_MIN_ACCURACY = 0.2 (TeX math fonts and picture fonts that keep one case as letters).
  Two rounds: the second rebuilds the centroids without the faces the first dropped.
- Near-duplicates: RMS distance of the 62 pooled glyphs (62 x 256 values) <= DUPLICATE_RMS (same
  font in two formats, near-identical weights, TeX optical sizes). Faces are visited in a
  preference order and each one is kept unless a face already kept is that close.

    from explorer.data.fontfilter import pool16, shape_features, letter_scores, is_symbol, near_duplicates
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from explorer.data.glyphmetrics import CHARS

SYMBOL_MIN_ACCURACY = 0.3
CASE_MIN_ACCURACY = 0.2
TOP_K = 3
DUPLICATE_RMS = 0.02
_PLANAR = np.zeros((3, 3, 3), dtype=bool)
_PLANAR[1] = ndimage.generate_binary_structure(2, 1)      # fill holes within each glyph, not across


def shape_features(glyphs: np.ndarray, size: int = 16) -> np.ndarray:
    """(62, 64, 64) uint8 -> (62, 2, size, size) float16: each glyph's ink box resized to size x size,
    as ink and as filled silhouette (see the module docstring); zeros for a blank glyph."""
    out = np.zeros((len(glyphs), 2, size, size), dtype=np.float16)
    mask = glyphs >= 128
    filled = (ndimage.binary_fill_holes(mask, structure=_PLANAR).astype(np.uint8) * 255)
    for g in range(len(glyphs)):
        r, c = np.flatnonzero(mask[g].any(1)), np.flatnonzero(mask[g].any(0))
        if len(r) == 0:
            continue
        box = (int(c[0]), int(r[0]), int(c[-1]) + 1, int(r[-1]) + 1)
        for v, img in enumerate((glyphs[g], filled[g])):
            small = Image.fromarray(np.ascontiguousarray(img)).resize((size, size), Image.Resampling.BILINEAR, box=box)
            out[g, v] = np.asarray(small, dtype=np.float32) / 255.0
    return out


def pool16(glyphs: np.ndarray) -> np.ndarray:
    """(N, 62, 64, 64) uint8 -> (N, 62, 16, 16) float32 ink in [0, 1], mean over 4x4 blocks."""
    n, g, h, w = glyphs.shape
    x = glyphs.reshape(n, g, h // 4, 4, w // 4, 4).astype(np.float32)
    return x.mean((3, 5)) / 255.0


def lookalike_key(c: str) -> str:
    """The class a character counts as when glyph shapes are compared: case is ignored, and
    0/O/o, and 1/l/I/i are one class each (shapes that many faces draw alike)."""
    k = c.lower()
    return {"0": "o", "1": "l", "i": "l"}.get(k, k)


_KEYS = np.array([lookalike_key(c) for c in CHARS])


def _unit(feats: np.ndarray) -> np.ndarray:
    f = feats.reshape(feats.shape[0], len(CHARS), -1).astype(np.float32)
    f = f - f.mean(-1, keepdims=True)
    return f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1e-6)


_SAME = _KEYS[None, :] == _KEYS[:, None]       # (glyph, centroid): same class


def _reads(u: np.ndarray, keep: np.ndarray, top_k: int, chunk: int = 512) -> np.ndarray:
    """(N, 62) bool: glyph read as its character (top_k nearest centroids of the `keep` faces)."""
    cent = u[keep].mean(0)
    cent /= np.maximum(np.linalg.norm(cent, axis=-1, keepdims=True), 1e-6)
    out = np.zeros(u.shape[:2], dtype=bool)
    for s in range(0, len(u), chunk):
        sim = (u[s:s + chunk].reshape(-1, u.shape[-1]) @ cent.T).reshape(-1, len(CHARS), len(CHARS))
        right = np.where(_SAME[None], sim, -2.0).max(-1)
        out[s:s + chunk] = (np.where(_SAME[None], -2.0, sim) > right[..., None]).sum(-1) < top_k
    return out


def letter_scores(shape: np.ndarray, rounds: int = 2, top_k: int = TOP_K) -> np.ndarray:
    """(N, 3) float32: share of each face's glyphs the corpus's nearest-centroid classifier reads as
    the right character, over all 62, over A-Z and over a-z (each the larger over the two views; see
    the module docstring). `shape`: (N, 62, 2, 16, 16) from shape_features."""
    views = [_unit(shape[:, :, v]) for v in range(shape.shape[2])]
    keep = np.ones(len(shape), dtype=bool)
    scores = np.zeros((len(shape), 3), dtype=np.float32)
    for _ in range(max(rounds, 1)):
        if not keep.any():
            break
        reads = [_reads(u, keep, top_k) for u in views]
        scores = np.stack([np.max([r[:, sl].mean(1) for r in reads], axis=0)
                           for sl in (slice(0, 62), slice(0, 26), slice(26, 52))], axis=1).astype(np.float32)
        keep = ~is_symbol(scores)
    return scores


def is_symbol(scores: np.ndarray) -> np.ndarray:
    """(N,) bool from letter_scores: too few glyphs read as letters overall or in one case."""
    return (scores[:, 0] < SYMBOL_MIN_ACCURACY) | (np.minimum(scores[:, 1], scores[:, 2]) < CASE_MIN_ACCURACY)


def near_duplicates(feats: np.ndarray, order: list[int] | np.ndarray, threshold: float = DUPLICATE_RMS,
                    block: int = 512) -> dict[int, int]:
    """{dropped face: the kept face it duplicates}. Faces are visited in `order` (most preferred
    first); one is kept unless a kept face lies within `threshold` RMS (over all pooled values)."""
    x = feats.reshape(len(feats), -1).astype(np.float32)
    d = x.shape[1]
    sq = (x * x).sum(1)
    limit = threshold * threshold * d
    close: list[list[int]] = [[] for _ in range(len(x))]
    for s in range(0, len(x), block):
        xb = x[s:s + block]
        d2 = sq[s:s + block, None] + sq[None, :] - 2.0 * (xb @ x.T)
        rows, cols = np.nonzero(d2 <= limit * 1.05)       # float32 slack; confirmed exactly below
        for r, c in zip(rows.tolist(), cols.tolist()):
            i = s + r
            if i != c and float(((x[i].astype(np.float64) - x[c]) ** 2).sum()) <= limit:
                close[i].append(c)
    kept: set[int] = set()
    dup: dict[int, int] = {}
    for i in (int(j) for j in order):
        hit = next((c for c in close[i] if c in kept), None)
        if hit is None:
            kept.add(i)
        else:
            dup[i] = hit
    return dup
