"""Letters with a stroke through them, composed from a face's own letters: Ł ł Đ đ Ħ ħ Ŧ ŧ Ø ø Ŀ ŀ.

These have no canonical decomposition (Unicode draws the stroke into the letter), but a type designer
builds them the same way as the accented letters (explorer/explore/accents.py): the face's own letter
and a stroke at its weight, in the stack's geometry (baseline at row 46, cap height 32 px of 64):
- Ł ł: a short rising slash through the stem (L's left one, l's only one), at SLASH_AT of the cap
  height (Ł) or of the x-height (ł) above the baseline, SLASH_LENGTH cap heights long;
- Đ Ŧ: a bar across the stem at half the cap height (Đ from the left of D's stem into the bowl; Ŧ centred
  on T's, BAR_SPAN cap heights wide); Ħ: a bar across both of H's stems above its crossbar;
- đ ħ: a bar across the ascender between the x-height and the letter's top; ŧ: across t's stem below its
  crossbar, at half the x-height;
- Ø ø: a diagonal through the letter's middle along its ink box's diagonal, SOLIDUS_REACH of it long;
- Ŀ ŀ: the face's own dot (its tittle) right of the stem, at half the cap height (Ŀ) or of the x-height.
The stroke is STROKE_SHARE of the face's stem thick (accents.stem_width), never under a pixel. A letter
whose stem cannot be found (blank, or no vertical run where one should be) is left out.

    cells = stroked_cells(stack, CHARS, "Łø")      # {"Ł": (R, R) uint8, "ø": ...}
"""

from __future__ import annotations

import math

import numpy as np

from explorer.data.fontrender import BASELINE, CAP_PX
from explorer.explore.accents import canvas, downsample, stem_width, wedge
from explorer.explore.glyph_ink import CELL_REF, CORE, significant_ink
from explorer.explore.punctuation import X_HEIGHT, face_dot, paste, x_top

STROKED = {"\u0141": ("L", "slash"), "\u0142": ("l", "slash"), "\u0110": ("D", "bar"), "\u0111": ("d", "bar"),
           "\u0126": ("H", "bar"), "\u0127": ("h", "bar"), "\u0166": ("T", "bar"), "\u0167": ("t", "bar"),
           "\u00d8": ("O", "solidus"), "\u00f8": ("o", "solidus"), "\u013f": ("L", "dot"), "\u0140": ("l", "dot")}
SLASH_AT = 0.45          # the slash's middle above the baseline, of the cap height (Ł) or the x-height (ł)
SLASH_LENGTH = 0.45      # its length, cap heights, rising at SLASH_ANGLE degrees
SLASH_ANGLE = 35.0
BAR_SPAN = 0.5           # Ŧ's bar and the others' reach beyond their stem, cap heights (see the docstring)
BAR_LEFT = 0.08          # Đ đ ħ's bar reaches this far left of the stem, cap heights (it overhangs the letter)
STROKE_SHARE = 0.75      # a stroke's thickness, of the face's stem
SOLIDUS_REACH = 0.85     # Ø's diagonal: this share of its ink box's diagonal, centred (past a round bowl by
#                          about a tenth of the cap height at each end; a tester found the corners lopsided)


def stroked_cells(stack: np.ndarray, glyphs: str, wanted: str = "".join(STROKED)) -> dict[str, np.ndarray]:
    """The letters of `wanted` that are STROKED, composed in the face `stack` (G, R, R) uint8 whose channel i
    draws glyphs[i]: {letter: (R, R) uint8}; those whose base the face lacks or leaves blank, or whose stem
    cannot be found, are left out."""
    a = np.asarray(stack)
    r = a.shape[-1]
    f = r / CELL_REF
    base, cap = BASELINE * f, CAP_PX * f
    xh = base - x_top(a, glyphs, base - X_HEIGHT * cap)          # the x-height, px
    t = max(1.0, STROKE_SHARE * stem_width(a, glyphs, base, cap))
    out = {}
    for c in dict.fromkeys(wanted):
        if c not in STROKED or STROKED[c][0] not in glyphs:
            continue
        letter, kind = STROKED[c]
        raw = a[glyphs.index(letter)]
        g = np.where(significant_ink(raw[None])[0], raw, 0).astype(np.uint8)
        on = g >= CORE
        if not on.any():
            continue
        mark = _stroke(on, c, kind, r, base, cap, xh, t, a, glyphs)
        if mark is not None:
            out[c] = np.maximum(g, mark)
    return out


def _run(on: np.ndarray, y0: float, y1: float, side: str) -> tuple[float, float] | None:
    """The median (left, right) px of the leftmost (side "left") or rightmost run of ink over rows y0..y1."""
    spans = []
    for row in on[max(0, int(round(y0))):max(0, int(round(y1)))]:
        cols = np.flatnonzero(row)
        if not len(cols):
            continue
        breaks = np.flatnonzero(np.diff(cols) > 1)
        starts, stops = np.r_[cols[0], cols[breaks + 1]], np.r_[cols[breaks], cols[-1]] + 1
        k = 0 if side == "left" else -1
        spans.append((starts[k], stops[k]))
    if len(spans) < 2:
        return None
    s = np.asarray(spans, dtype=np.float64)
    return float(np.median(s[:, 0])), float(np.median(s[:, 1]))


def _stroke(on: np.ndarray, c: str, kind: str, r: int, base: float, cap: float, xh: float, t: float,
            a: np.ndarray, glyphs: str) -> np.ndarray | None:
    rows = np.flatnonzero(on.any(1))
    cols = np.flatnonzero(on.any(0))
    top = float(rows[0])
    im, draw = canvas(r)
    upper = c.isupper()
    if kind == "solidus":                                    # through the middle, along the box's diagonal
        cx, cy = (cols[0] + cols[-1] + 1) / 2, (rows[0] + rows[-1] + 1) / 2
        w, h = cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0]
        k = SOLIDUS_REACH / 2                                # half-length over the half-diagonal
        wedge(draw, (cx - k * w, cy + k * h), (cx + k * w, cy - k * h), 0.8 * t, 0.8 * t)
        return downsample(im, r)
    if c in "\u0111\u0127":                                   # đ ħ: the ascender, above the x-height
        stem = _run(on, top, base - xh, "right" if c == "\u0111" else "left")
        at = (top + base - xh) / 2
    elif c == "\u0167":                                       # ŧ: below t's crossbar
        stem = _run(on, base - 0.45 * xh, base - 0.15 * xh, "left")
        at = base - 0.5 * xh
    else:
        stem = _run(on, base - 0.7 * cap if upper else base - 0.7 * xh, base - 0.3 * cap if upper else base - 0.2 * xh,
                    "left")
        at = base - (SLASH_AT * (cap if upper else xh) if kind in ("slash", "dot") else 0.5 * cap)
    if stem is None:
        return None
    x0, x1 = stem
    mid = (x0 + x1) / 2
    if kind == "slash":
        half = SLASH_LENGTH * cap / 2
        dx, dy = half * math.cos(math.radians(SLASH_ANGLE)), half * math.sin(math.radians(SLASH_ANGLE))
        wedge(draw, (mid - dx, at + dy), (mid + dx, at - dy), t, t)
    elif kind == "dot":
        out = np.zeros((r, r), np.uint8)
        dot = face_dot(a, glyphs)
        dh, dw = dot.shape
        paste(out, dot, int(round(at - dh / 2)), int(round(x1 + 0.6 * (dw - 2))))
        return out
    elif c == "\u0126":                                       # Ħ: across both stems, above the crossbar
        right = _run(on, base - 0.7 * cap, base - 0.3 * cap, "right")
        x_end = right[1] if right is not None else float(cols[-1] + 1)
        band = on[int(round(base - 0.7 * cap)):int(round(base - 0.3 * cap))].sum(1)
        bar_top = base - 0.7 * cap + float(np.argmax(band >= 0.8 * band.max())) if band.max() else base - cap / 2
        y = (bar_top + top) / 2                              # halfway between the crossbar's top and the H's
        wedge(draw, (x0 - 0.08 * cap, y), (x_end + 0.08 * cap, y), t, t)
    elif c == "\u0166" or c == "\u0167":                      # Ŧ ŧ: centred on the stem
        w = BAR_SPAN * cap / 2 if c == "\u0166" else 0.35 * xh
        wedge(draw, (mid - w, at), (mid + w, at), t, t)
    else:                                                     # Đ đ ħ: from left of the stem, into the letter
        wedge(draw, (x0 - BAR_LEFT * cap, at), (x1 + 0.3 * BAR_SPAN * cap, at), t, t)
    return downsample(im, r)
