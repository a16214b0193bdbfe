"""Which pixels of a glyph stack are strokes that matter: the ink a specimen, a font export and a
glyph's spacing are measured from, without the faint haze, specks and stray strokes a young generator
leaves around its glyphs.

A glyph stack is (G, R, R) uint8 ink (0 = background, 255 = ink) on the fonts dataset's geometry
(explorer/data/fontrender.py; sizes below are at CELL_REF px cells and scale with R).

    on = significant_ink(stack)          # (G, R, R) bool
"""

from __future__ import annotations

import numpy as np

CELL_REF = 64            # the dataset's cell side, px; the geometry below is at this size
INK = 64                 # a pixel at or above this is ink when finding ink boxes and profiles
CORE = 128               # ... when its connected stroke has a pixel at or above this (the tracer's threshold)
SPECK_PX = 4             # ... and covers at least this many px at 64 px cells (smaller blobs are noise)
STRAY_SHARE = 0.25       # ... and, when smaller than this share of the glyph's largest stroke,
NEAR_PX = 6              # ... lies within this many px (at 64 px cells) of that stroke's box


def significant_ink(stack: np.ndarray) -> np.ndarray:
    """(G, R, R) uint8 -> (G, R, R) bool: pixels >= INK in strokes that matter. A stroke (8-connected
    component of such pixels) counts when it reaches CORE somewhere and covers at least SPECK_PX px (at
    64 px cells; scaled by (R / 64)^2): the faint haze and specks a young generator leaves around its
    glyphs would otherwise stretch every ink box to the cell edges (and every advance with it). Real
    glyphs' antialiased edges touch their strokes' cores, so real faces measure as before. A small
    stroke (under STRAY_SHARE of the glyph's largest) more than NEAR_PX from the largest stroke's box
    is a stray speck too: one at the cell's edge made a generated "k" 42 px wide instead of ~22 and
    set "black" as "blac k"; an i's dot or a broken stem's pieces lie near the main stroke and stay."""
    from scipy import ndimage
    a = np.asarray(stack)
    min_px = max(1, int(round(SPECK_PX * (a.shape[-1] / CELL_REF) ** 2)))
    eight = np.zeros((3, 3, 3), dtype=bool)
    eight[1] = True                                                # 8-connected within a glyph, never across
    lab, n = ndimage.label(a >= INK, structure=eight)             # all glyphs in one pass
    if n == 0:
        return np.zeros(a.shape, dtype=bool)
    size = np.bincount(lab.ravel(), minlength=n + 1)
    peak = np.zeros(n + 1, dtype=a.dtype)
    np.maximum.at(peak, lab.ravel(), a.ravel())
    keep = (size >= min_px) & (peak >= CORE)
    keep[0] = False
    _drop_strays(keep, size, ndimage.find_objects(lab), max(1, round(NEAR_PX * a.shape[-1] / CELL_REF)))
    return keep[lab]


def _drop_strays(keep: np.ndarray, size: np.ndarray, boxes: list, near: int) -> None:
    """Unkeep (in place) strokes smaller than STRAY_SHARE of their glyph's largest kept stroke that lie
    more than `near` px from its box. `boxes[label - 1]` = (glyph, rows, cols) slices."""
    main: dict[int, int] = {}
    for lbl in np.flatnonzero(keep):
        g = boxes[lbl - 1][0].start
        if g not in main or size[lbl] > size[main[g]]:
            main[g] = int(lbl)
    for lbl in np.flatnonzero(keep):
        m = main[boxes[lbl - 1][0].start]
        if lbl == m or size[lbl] >= STRAY_SHARE * size[m]:
            continue
        (_, ys, xs), (_, my, mx) = boxes[lbl - 1], boxes[m - 1]
        if (ys.start >= my.stop + near or my.start >= ys.stop + near
                or xs.start >= mx.stop + near or mx.start >= xs.stop + near):
            keep[lbl] = False
