"""Automatic kerning of a glyph stack: pairs like AV, To, LT, Ya set closer, as a face's kerning table does.

A generated face has no kerning: its spacing comes from each glyph's sidebearings alone
(explorer/explore/specimen.py, `glyph_metrics`), so "To", "AV" and "LT" show gaps a type designer closes
with kerning pairs. Here a pair's gap is measured as the distance between the two glyphs' ink as set
(each row's first and last column of significant ink against the pen positions, within REACH rows up or
down, Euclidean), and a pair whose gap is wider than the face's own between straight or round letters
(the smaller of the gaps in "HH" and "nn") by more than DEAD_ZONE is moved together by STRENGTH of the
excess. Since STRENGTH < 1, kerning never sets two letters side by side closer than HH or nn are (a y
goes under a T's bar as far as the bar's own clearance above it). Only tightening kerns are kept, and
only those of at least MIN_KERN px at 64 px cells. Reading back: `kern_pairs` (fontTools) for the SVG.

REACH, STRENGTH and DEAD_ZONE were fitted on the real kerning of every 5th face of the train split that
kerns (394 faces; HarfBuzz shaping each pair with and without "kern"; 142 pairs: the classic kerning
pairs, neutral ones like HH no ll, and the commonest bigrams), the faces' own advance widths kept, so only
the kerning is compared (scripts/kerning-vs-real.py). On the 104 held-out faces that kern: mean absolute
error 0.50 px against 0.69 px with no kerning (cap height 32 px), correlation 0.63; it kerns 66 % of the
pairs those fonts kern by more than 0.5 px and 9 % of those they leave alone (docs/fonts-design.md).

    k = pair_kerns(stack, metrics, glyphs)                 # {("T", "o"): -1.6, ...}, px at the stack's R
    k = pair_kerns(stack, metrics, glyphs, [("T", "o")])   # only these pairs
    kern_feature(k, names, units_per_px)                   # the font's "kern" feature (fontexport.py)
    kern_pairs(TTFont(path))                               # and read back: {("T", "o"): -59, ...} font units
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from fontTools.ttLib import TTFont

from explorer.explore.glyph_ink import CELL_REF, significant_ink

if TYPE_CHECKING:
    from explorer.explore.specimen import Metrics

REACH = 2              # px at 64 px cells: ink edges this many rows apart still face each other
STRENGTH = 0.5         # share of a pair's extra gap (beyond the face's HH / nn gap) that kerning closes
DEAD_ZONE = 2.0        # px at 64 px cells: a gap this much wider than the reference still needs no kern
MIN_KERN = 0.25        # px at 64 px cells: smaller kerns are dropped (no table full of noise)
REFERENCE = "Hn"       # the face's gaps between straight and round letters: "HH" and "nn"
FAR = 1e4              # "no ink in this row"


def edges(stack: np.ndarray, origin_x: np.ndarray, advance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each glyph's white on either side, row by row, as set (px; ink: `significant_ink`, as the metrics
    measure it) from pen origins `origin_x` (G,) and `advance` (G,) px: (left, right), both (G, R) float:
    left[g, y] from the pen origin to glyph g's first ink in row y, right[g, y] from its last ink to the
    next pen position; FAR where the row has no ink."""
    on = significant_ink(np.asarray(stack))          # as the metrics measure ink: specks and haze do not count
    r = on.shape[-1]
    rows = on.any(2)
    first = np.where(rows, on.argmax(2), np.nan)
    last = np.where(rows, r - on[:, :, ::-1].argmax(2), np.nan)          # one past the last ink column
    origin = np.asarray(origin_x, np.float64)[:, None]
    left = np.nan_to_num(first - origin, nan=FAR)
    right = np.nan_to_num(origin + np.asarray(advance, np.float64)[:, None] - last, nan=FAR)
    return left, right


def _gaps(left: np.ndarray, right: np.ndarray, i: np.ndarray, j: np.ndarray, reach: int) -> np.ndarray:
    """(P,) the distance between glyph i[p]'s ink and glyph j[p]'s set after it (px; negative where they
    overlap), over rows at most `reach` apart; FAR where they share no rows."""
    r = left.shape[1]
    best = np.full(len(i), FAR)
    for dy in range(-reach, reach + 1):
        a = right[i][:, max(0, -dy):r - max(0, dy)]
        b = left[j][:, max(0, dy):r - max(0, -dy)]
        g = np.where((a < FAR) & (b < FAR), a + b, np.inf).min(1)
        d = np.where(g > 0, np.sqrt(np.maximum(g, 0) ** 2 + dy * dy), g)
        best = np.minimum(best, d)
    return best


def pair_kerns(stack: np.ndarray, m: Metrics, glyphs: str,
               pairs: Iterable[tuple[str, str]] | None = None) -> dict[tuple[str, str], float]:
    """Kerning of a face (G, R, R) uint8 whose channel i draws glyphs[i], set with metrics `m` (see the
    module docstring): {(left char, right char): kern px at the stack's R, < 0}, for `pairs` (all pairs of
    its glyphs by default); pairs needing no kern are left out. A face without H and n (or with them blank)
    gets no kerning."""
    a = np.asarray(stack)
    chars = glyphs[:a.shape[0]]
    index = {c: k for k, c in enumerate(chars)}
    f = a.shape[-1] / CELL_REF
    reach = max(0, int(round(REACH * f)))
    if pairs is None:
        i, j = np.meshgrid(np.arange(len(chars)), np.arange(len(chars)), indexing="ij")
        want = list(zip(i.ravel().tolist(), j.ravel().tolist()))
    else:
        want = sorted({(index[x], index[y]) for x, y in pairs if x in index and y in index})
    refs = [index[c] for c in REFERENCE if c in index]
    if not want or not refs:
        return {}
    used = sorted({k for pair in want for k in pair} | set(refs))     # only these glyphs are measured
    at = np.full(len(chars), -1)
    at[used] = np.arange(len(used))
    org = np.asarray(m.origin_x)
    left, right = edges(a[used], org[used], np.asarray(m.advance)[used])
    ref = float(_gaps(left, right, at[refs], at[refs], reach).min())
    if ref >= FAR:
        return {}
    ii, jj = np.array(want).T
    gap = _gaps(left, right, at[ii], at[jj], reach)
    kern = np.where(gap < FAR, STRENGTH * np.minimum(0.0, ref + DEAD_ZONE * f - gap), 0.0)
    keep = kern <= -MIN_KERN * f
    return {(chars[x], chars[y]): float(k) for x, y, k in zip(ii[keep], jj[keep], kern[keep])}


def kern_feature(kerns: dict[tuple[str, str], float], name_of: dict[str, str], units_per_px: float) -> str:
    """OpenType feature code (Adobe's feature-file syntax, for fontTools.feaLib) of a "kern" feature with
    one pair positioning rule per kern of `kerns` ({(left, right): px}) between the glyphs `name_of` names,
    in font units (`units_per_px` per px); "" when no kern rounds to a unit."""
    rules = [f"    pos {name_of[x]} {name_of[y]} {round(k * units_per_px)};"
             for (x, y), k in sorted(kerns.items()) if x in name_of and y in name_of and round(k * units_per_px)]
    if not rules:
        return ""
    return "\n".join(["languagesystem DFLT dflt;", "languagesystem latn dflt;", "feature kern {", *rules, "} kern;"])


def kern_pairs(font: TTFont) -> dict[tuple[str, str], int]:
    """The glyph-pair kerning of a font's GPOS (pair adjustment, format 1: what `build_font` writes), as
    {(left glyph name, right glyph name): x-advance adjustment in font units}; {} without GPOS. Class
    kerning (format 2) and other lookups are not read."""
    if "GPOS" not in font:
        return {}
    out: dict[tuple[str, str], int] = {}
    for lookup in font["GPOS"].table.LookupList.Lookup:
        for sub in lookup.SubTable:
            sub = getattr(sub, "ExtSubTable", sub)             # an extension lookup wraps its subtable
            if getattr(sub, "Format", None) != 1 or not hasattr(sub, "PairSet"):
                continue
            for first, pairs in zip(sub.Coverage.glyphs, sub.PairSet):
                for rec in pairs.PairValueRecord:
                    out[(first, rec.SecondGlyph)] = int(getattr(rec.Value1, "XAdvance", 0) or 0)
    return out
