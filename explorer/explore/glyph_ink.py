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


# Typographic topology of the 62 glyphs A-Z a-z 0-9 in ordinary faces: pieces (8-connected ink components)
# and counters (holes) at most. i and j have a dot; B, 8 and a double-storey g two counters; a slashed
# or dotted zero two parts or counters. Used to clean a generated glyph before it is traced into a font.
PARTS = {"i": 2, "j": 2, "0": 2, ":": 2, ";": 2}
COUNTERS = {**dict.fromkeys("ADOPQRabdeopq469", 1), **dict.fromkeys("B8g0", 2)}
SPECK_SHARE = 0.1        # a piece under this share of the glyph's largest is a speck (a broken stroke's are larger)
SPECK_SIDE_PX = 6        # ... and fits in a square this size (at 64 px cells): a broken stroke's pieces are long
MAX_SPECKS = 2           # a glyph with more small pieces than this is drawn in fragments: none is dropped
HOLE_SHARE = 0.2         # an unexpected hole this large (share of the glyph's ink) is design (an outline face), kept


def clean_glyphs(stack: np.ndarray, chars: str) -> np.ndarray:
    """(G, R, R) uint8 -> (G, R, R) uint8: the glyphs a font is traced from, without what a generator leaves
    that no typeface has. Per glyph (character chars[g]), over its pieces (8-connected ink >= CORE, the
    tracer's threshold): beyond the character's PARTS (1 unless listed; the largest kept), a piece under
    SPECK_SHARE of the largest that fits in SPECK_SIDE_PX each way is a speck (a dot above an o, one
    beside a V) and is dropped with its antialiased rim, when at most MAX_SPECKS of them cover SPECK_PX or
    more (more: the glyph is drawn in fragments, a dotted stem, and they are part of it;
    `significant_ink`'s rules, made for measuring, would drop such a stem). Then holes in that ink beyond
    the character's COUNTERS (0 unless listed; the largest kept) and under HOLE_SHARE of its ink are
    filled (a pinhole in an S's stroke); larger ones are design (an outline face's hollow strokes) and
    stay, as do a stencil's broken stems (long pieces). A real face comes back as it was, but for
    one-pixel holes where antialiased strokes meet."""
    from scipy import ndimage
    a = np.array(stack, dtype=np.uint8, copy=True)
    eight, four = np.ones((3, 3), bool), ndimage.generate_binary_structure(2, 1)
    scale = a.shape[-1] / CELL_REF
    side = max(2, round(SPECK_SIDE_PX * scale))
    for g in range(a.shape[0]):
        ch = chars[g] if g < len(chars) else ""
        lab, n = ndimage.label(a[g] >= CORE, structure=eight)      # pieces as the tracer sees them
        if n > 1:
            size = np.bincount(lab.ravel(), minlength=n + 1)[1:]
            order = np.argsort(-size, kind="stable")
            boxes = ndimage.find_objects(lab)
            specks = [i for i in order[PARTS.get(ch, 1):] if size[i] < SPECK_SHARE * size[order[0]]
                      and max(sl.stop - sl.start for sl in boxes[i]) <= side]
            min_px = max(1, round(SPECK_PX * scale ** 2))            # smaller ones the tracer drops anyway
            if specks and sum(size[i] >= min_px for i in specks) <= MAX_SPECKS:   # with their antialiased rims
                speck = np.isin(lab, np.asarray(specks) + 1)
                a[g][speck | (ndimage.binary_dilation(speck, structure=eight) & (a[g] < CORE))] = 0
        core = a[g] >= CORE
        holes, m = ndimage.label(~core, structure=four)
        if m <= 1:
            continue
        edge = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
        inner = [h for h in range(1, m + 1) if h not in edge]
        if len(inner) <= COUNTERS.get(ch, 0):
            continue
        area = np.bincount(holes.ravel(), minlength=m + 1)
        inner.sort(key=lambda h: -area[h])
        fill = [h for h in inner[COUNTERS.get(ch, 0):] if area[h] < HOLE_SHARE * core.sum()]
        if fill:
            a[g][np.isin(holes, fill)] = 255
    return a
