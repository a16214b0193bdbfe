"""Accented letters for a generated typeface, composed from its own letters and drawn marks: é ü ñ ç å ...

The fonts model draws A-Z a-z 0-9, so "Café", "Größe" or "señor" had dotted boxes in every specimen and
the downloaded font could not set them. A type designer composes accented letters from the base letter
and a mark (the OpenType mark-to-base idea; Unicode's canonical decomposition names the two: "é" is "e" +
U+0301), and so does this module, in the stack's own geometry (baseline at row 46, cap height 32 px of a
64 px cell, explorer/data/fontrender.py):
- the base is the face's own letter as generated; "i" and "j" lose their tittle first (a dotless ı, drawn
  as its own character too) when the mark goes above;
- the marks are drawn (like the punctuation, explorer/explore/punctuation.py), sized by the face's own dot
  (its tittle, `punctuation.face_dot`), so a bold face gets heavy accents and a light one thin accents:
  acute, grave, circumflex, caron, tilde, macron, breve, ring, dot above, diaeresis, double acute above;
  cedilla and ogonek below;
- a mark above sits MARK_GAP dots above the base's own ink, centred over the letter's ink above the
  baseline and moved right as far as the face leans (`slant`, measured on its l) up to the mark; where
  the cell has too little room above (a capital) the gap closes to a pixel first and then the mark is
  flattened, and a letter is left out (a dotted box still) when its mark would have to shrink below
  MIN_SQUASH;
- ď ľ Ľ ť take the caron as type does, the face's apostrophe beside the stem's top (CARON_BESIDE), and
  are set wider by as much as it reaches past the letter (specimen.accented_like_base);
- a mark below hangs from the base's lowest ink, its baseline (cedilla: under its middle; ogonek: from
  its right end).
Each drawn mark is anti-aliased (SUPERSAMPLE, as the punctuation) and every face's marks are the same
shapes at its own weight: drawn, not generated.

    cells = accented_cells(stack, CHARS, "éñ")      # {"é": (R, R) uint8, "ñ": ...}
    ACCENTED                                       # the 161 letters composed (Latin-1 and Latin Extended-A)
"""

from __future__ import annotations

import math
import string
import unicodedata

import numpy as np
from PIL import Image, ImageDraw

from explorer.data.fontrender import BASELINE, CAP_PX
from explorer.explore.glyph_ink import CELL_REF, CORE, significant_ink
from explorer.explore.punctuation import SUPERSAMPLE, face_dot, paste, punctuation_cells, tittle

GRAVE, ACUTE, CIRCUMFLEX, TILDE, MACRON, BREVE, DOT, DIAERESIS, RING, DOUBLE_ACUTE, CARON, CEDILLA, OGONEK = (
    "\u0300", "\u0301", "\u0302", "\u0303", "\u0304", "\u0306", "\u0307", "\u0308", "\u030a", "\u030b",
    "\u030c", "\u0327", "\u0328")
BELOW = (CEDILLA, OGONEK)
DOTLESS_I = "\u0131"
# d l L t take their caron as an apostrophe beside the stem's top (ď ľ Ľ ť), and widen by it
CARON_BESIDE = "\u010f\u013e\u013d\u0165"
# g with a cedilla takes it above, as a turned comma (ģ): left out rather than drawn wrong
_OTHER_SHAPES = {"\u0123"}


def _composed() -> dict[str, tuple[str, str]]:
    """Each letter of Latin-1 Supplement and Latin Extended-A whose canonical decomposition is an ASCII
    letter and one mark drawn here: {letter: (base, mark)}."""
    marks = {GRAVE, ACUTE, CIRCUMFLEX, TILDE, MACRON, BREVE, DOT, DIAERESIS, RING, DOUBLE_ACUTE, CARON,
             CEDILLA, OGONEK}
    out = {}
    for cp in range(0xC0, 0x180):
        c = chr(cp)
        d = unicodedata.normalize("NFD", c)
        if len(d) == 2 and d[0] in string.ascii_letters and d[1] in marks and c not in _OTHER_SHAPES:
            out[c] = (d[0], d[1])
    return out


COMPOSED = _composed()
ACCENTED = "".join(COMPOSED) + DOTLESS_I
MARK_GAP = 0.7           # white between a base's ink and the mark above it, fraction of the dot's height
MARK_SIZE = 1.0          # a mark's height above the base, in dot heights (a capital's may be flattened);
# both fitted to real fonts' own accented letters (scripts/accents-vs-real.py, 80 training faces; the
# held-out figures are in docs/fonts-design.md)
RING_SIZE = 1.6          # a ring's height: drawn at MARK_SIZE its hole filled in and it read as a dot
RING_HOLE = 3.5          # px: its hole at least this wide (a smaller one is filled by the tracer, a tester's Å)
CURVE_SIZE = 1.15        # a tilde's and a breve's height (1.6 was 4 px taller than real ones; with strokes at most
#                          1 / CURVE_STROKES of it they no longer flatten into a macron, as a tester saw)
CURVE_STROKES = 2.5      # ... their stroke at most 1 / this of their height (bold faces' strokes would fill them)
STEM_SHARE = 0.6         # a mark's stroke is at least this share of the face's stem: a tester found a bold
#                          face's tilde, breve and acute too light beside its stems
MIN_MARK = 0.14          # ... at least this fraction of the cap height, for faces with a tiny dot
MIN_SQUASH = 0.45        # a mark flattened below this share of its height is not drawn: the letter is left out


def base_of(c: str) -> str:
    """The base letter an accented letter is composed on ("é" -> "e", "ı" -> "i"); c itself otherwise."""
    return "i" if c == DOTLESS_I else COMPOSED.get(c, (c, ""))[0]


def accented_cells(stack: np.ndarray, glyphs: str, wanted: str = ACCENTED) -> dict[str, np.ndarray]:
    """The accented letters of `wanted` (those in ACCENTED) composed in the face `stack` (G, R, R) uint8 whose
    channel i draws glyphs[i]: {letter: (R, R) uint8}. A letter whose base the face lacks or leaves blank,
    or whose mark does not fit the cell, is left out."""
    a = np.asarray(stack)
    r = a.shape[-1]
    f = r / CELL_REF
    base, cap = BASELINE * f, CAP_PX * f
    dot = face_dot(a, glyphs)
    lean = slant(a, glyphs, base, cap)
    solid = dot >= CORE
    rows, cols = np.flatnonzero(solid.any(1)), np.flatnonzero(solid.any(0))
    dh = float(rows[-1] - rows[0] + 1) if len(rows) else 1.0
    dw = float(cols[-1] - cols[0] + 1) if len(cols) else 1.0
    unit = max(dh, MIN_MARK * cap / MARK_SIZE)            # the marks' size unit: the dot's height, px
    thick = max(1.0, 0.8 * min(dh, dw), STEM_SHARE * stem_width(a, glyphs, base, cap))   # a mark's stroke
    out = {}
    for c in dict.fromkeys(wanted):
        if c not in ACCENTED or base_of(c) not in glyphs:
            continue
        letter, mark = (("i", "") if c == DOTLESS_I else COMPOSED[c])
        g = np.where(significant_ink(a[glyphs.index(letter)][None])[0], a[glyphs.index(letter)], 0).astype(np.uint8)
        if letter in "ij" and mark not in BELOW:
            found = tittle(g)
            if found is not None:
                g[found[0]] = 0
        if not (g >= CORE).any():
            continue
        drawn: np.ndarray | None = np.zeros_like(g)                   # ı: the i without its dot
        if c in CARON_BESIDE:
            drawn = _beside(g, punctuation_cells(a, glyphs)["\u2019"], dw)
        elif mark:
            drawn = _mark(g, mark, r, base, unit, thick, dot, lean)
        if drawn is None:
            continue
        out[c] = np.maximum(g, drawn)
    return out


def stem_width(a: np.ndarray, glyphs: str, base: float, cap: float) -> float:
    """A stem's thickness, px, of a face (G, R, R) uint8 whose channel i draws glyphs[i] (`base`: the baseline
    row, `cap`: the cap height, px): the median run of ink across the "l" (else "I") over the middle half of
    the cap height; 0 when the face has neither or they are blank."""
    for ch in "lI":
        if ch not in glyphs:
            continue
        on = a[glyphs.index(ch)] >= CORE
        rows = on[int(round(base - 0.75 * cap)):int(round(base - 0.25 * cap))]
        widths = rows.sum(1)
        if (widths > 0).sum() >= 3:
            return float(np.median(widths[widths > 0]))
    return 0.0


def slant(a: np.ndarray, glyphs: str, base: float, cap: float) -> float:
    """The face's lean, px right per px up (0 upright): how far the middle of the "l" (else "I") moves
    from its lowest quarter to its highest between the baseline and the cap height; within [-0.1, 0.6]."""
    for ch in "lI":
        if ch not in glyphs:
            continue
        on = significant_ink(a[glyphs.index(ch)][None])[0] & (a[glyphs.index(ch)] >= CORE)
        on[:max(0, int(round(base - cap)))] = False
        on[int(round(base)):] = False
        rows = np.flatnonzero(on.any(1))
        if len(rows) < 8:
            continue
        q = max(1, len(rows) // 4)
        top, low = _centroid_x(on[rows[:q]]), _centroid_x(on[rows[-q:]])
        rise = float(rows[-q:].mean() - rows[:q].mean())
        return float(np.clip((top - low) / rise, -0.1, 0.6)) if rise > 0 else 0.0
    return 0.0


def _centroid_x(band: np.ndarray) -> float:
    """The mean column of a band's ink (k, R) bool."""
    return float((band * np.arange(band.shape[1])).sum() / max(1, band.sum()))


def _beside(g: np.ndarray, apostrophe: np.ndarray, dot_w: float) -> np.ndarray:
    """ď ľ Ľ ť's caron: the face's apostrophe (its cell, (R, R) uint8) with its top at the base's top, a
    quarter of a dot's width right of the ink of the base's highest rows."""
    on = g >= CORE
    rows = np.flatnonzero(on.any(1))
    band = on[rows[0]:rows[0] + max(2, len(rows) // 6)]
    right = int(np.flatnonzero(band.any(0))[-1]) + 1
    ink = apostrophe >= CORE
    ar, ac = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    out = np.zeros_like(g)
    piece = apostrophe[ar[0]:, ac[0] - 1 if ac[0] else 0:]
    paste(out, piece, int(rows[0]), right + int(round(max(1.0, 0.25 * dot_w))) - (1 if ac[0] else 0))
    return out


def _mark(g: np.ndarray, mark: str, r: int, base: float, unit: float, thick: float, dot: np.ndarray,
          lean: float = 0.0) -> np.ndarray | None:
    """The mark's (R, R) uint8 cell for base glyph g (ink >= CORE), or None when it cannot fit; `lean` is the
    face's slant (`slant`), which moves a mark above to the right as far as the letter leans up to it."""
    on = g >= CORE
    rows = np.flatnonzero(on.any(1))
    top, bottom = int(rows[0]), int(rows[-1])
    if mark in BELOW:
        band = on[max(top, bottom - max(1, int(round(unit)))):bottom + 1]
        cols = np.flatnonzero(band.any(0))
        x = (cols[0] + cols[-1] + 1) / 2 if mark == CEDILLA else cols[-1] + 0.5 - 0.6 * thick
        return _below(r, mark, x, bottom + 1.0, unit, thick)
    body = on[top:max(top + 1, min(bottom + 1, int(round(base))))]     # above the baseline: no descender
    cols = np.flatnonzero(body.any(0))
    size = (RING_SIZE if mark == RING else CURVE_SIZE if mark in (TILDE, BREVE) else MARK_SIZE) * unit
    gap = MARK_GAP * unit
    if top - 0.5 - gap < size:                           # short of room (a capital): close the gap first, to a
        gap = max(min(1.0, gap), top - 0.5 - size)       # pixel, then flatten the mark
    low = top - gap                                      # the mark's lowest edge
    if low - 0.5 < MIN_SQUASH * size:                    # no room above even for a flattened mark
        return None
    height = size                                        # a ring, tilde and breve thin their strokes to fit
    squash = min(1.0, (low - 0.5) / height)              # (CURVE_STROKES), so a hole, a wave, a cup always show
    middle = (top + top + body.shape[0]) / 2             # the letter's middle row; the mark's, half its height up
    cx = (cols[0] + cols[-1] + 1) / 2 + lean * (middle - (low - height * squash / 2))
    return _above(r, mark, cx, low, unit, height * squash, thick, dot)


def _above(r: int, mark: str, cx: float, low: float, unit: float, h: float, t: float, dot: np.ndarray
           ) -> np.ndarray:
    """A mark above, between rows low - h and low, centred on cx; `unit` sizes its width, t its strokes."""
    top = low - h
    w = 1.1 * unit + t                                   # a single mark's width
    im, draw = canvas(r)
    if mark in (ACUTE, GRAVE, DOUBLE_ACUTE):
        offsets = (-0.45 * w, 0.45 * w) if mark == DOUBLE_ACUTE else (0.0,)
        lean = 1 if mark != GRAVE else -1
        for dx in offsets:
            x = cx + dx
            wedge(draw, (x - lean * 0.35 * w, low), (x + lean * 0.35 * w, top), 0.55 * t, 1.1 * t)
    elif mark in (CIRCUMFLEX, CARON):
        apex, feet = (top, low) if mark == CIRCUMFLEX else (low, top)
        for side in (-1, 1):
            wedge(draw, (cx, apex), (cx + side * 0.75 * w, feet), 0.95 * t, 0.8 * t)
    elif mark == MACRON:
        _polygon(draw, [(cx - 0.8 * w, low - t), (cx + 0.8 * w, low - t), (cx + 0.8 * w, low), (cx - 0.8 * w, low)])
    elif mark in (TILDE, BREVE):
        n, st = 24, min(0.8 * t, h / CURVE_STROKES)     # its stroke: thinner when flattened, so it still waves
        pts = []
        for k in range(n + 1):
            s = k / n
            x = cx + (s - 0.5) * 1.4 * w
            if mark == TILDE:
                y = (top + low) / 2 - 0.5 * (h - st) * math.sin(2 * math.pi * s)
            else:
                y = top + st / 2 + (h - st) * math.sin(math.pi * s)
            pts.append((x, y))
        polyline(draw, pts, st)
    elif mark == RING:
        _ring(draw, cx, low - h / 2, h, max(0.5, min(0.7 * t, h / CURVE_STROKES, (h - RING_HOLE) / 2)))
    else:                                                 # DOT, DIAERESIS: the face's own dot
        out = np.zeros((r, r), np.uint8)
        dh, dw = dot.shape
        scale = min(1.0, (h + 2) / dh)
        d = dot if scale >= 1 else np.asarray(Image.fromarray(dot).resize((dw, max(3, round(dh * scale))),
                                                                     Image.Resampling.BOX))
        dh = d.shape[0]
        y = int(round(low - dh + 1))
        gap = max(1.0, 0.9 * (dw - 2))
        centres = (cx - (dw - 2 + gap) / 2, cx + (dw - 2 + gap) / 2) if mark == DIAERESIS else (cx,)
        for x in centres:
            paste(out, d, y, int(round(x - dw / 2)))
        return out
    return downsample(im, r)


def _below(r: int, mark: str, x: float, base: float, unit: float, t: float) -> np.ndarray:
    """A cedilla under x (its middle) or an ogonek from x (the base's right end), from the base's baseline
    `base` (the row below its ink) down."""
    im, draw = canvas(r)
    d = 1.3 * unit                                        # how far it reaches below the baseline
    if mark == CEDILLA:
        pts = [(x, base - 0.5 * t), (x, base + 0.35 * d), (x + 0.5 * d, base + 0.5 * d),
               (x + 0.45 * d, base + 0.9 * d), (x - 0.45 * d, base + d)]
    else:
        pts = [(x, base - 0.5 * t), (x - 0.45 * d, base + 0.45 * d), (x - 0.3 * d, base + 0.9 * d),
               (x + 0.3 * d, base + d)]
    polyline(draw, pts, 0.85 * t)
    return downsample(im, r)


def canvas(r: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """An empty (R, R) cell to draw marks in, SUPERSAMPLE times finer (px coordinates times SUPERSAMPLE)."""
    im = Image.new("L", (r * SUPERSAMPLE, r * SUPERSAMPLE), 0)
    return im, ImageDraw.Draw(im)


def downsample(im: Image.Image, r: int) -> np.ndarray:
    """A `canvas` averaged down to its (R, R) uint8 cell: anti-aliased edges."""
    return np.asarray(im.resize((r, r), Image.Resampling.BOX))


def _polygon(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]]) -> None:
    draw.polygon([(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in pts], fill=255)


def wedge(draw: ImageDraw.ImageDraw, p0: tuple[float, float], p1: tuple[float, float], t0: float, t1: float) -> None:
    """A straight stroke from p0 (t0 px thick) to p1 (t1 px thick)."""
    (x0, y0), (x1, y1) = p0, p1
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length     # unit normal
    _polygon(draw, [(x0 + nx * t0 / 2, y0 + ny * t0 / 2), (x1 + nx * t1 / 2, y1 + ny * t1 / 2),
                    (x1 - nx * t1 / 2, y1 - ny * t1 / 2), (x0 - nx * t0 / 2, y0 - ny * t0 / 2)])


def polyline(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], t: float) -> None:
    """A polyline t px thick with round joins and ends."""
    s = SUPERSAMPLE
    width = max(1, int(round(t * s)))
    draw.line([(x * s, y * s) for x, y in pts], fill=255, width=width, joint="curve")
    for x, y in (pts[0], pts[-1]):
        draw.ellipse([x * s - width / 2, y * s - width / 2, x * s + width / 2, y * s + width / 2], fill=255)


def _ring(draw: ImageDraw.ImageDraw, cx: float, cy: float, d: float, t: float) -> None:
    s = SUPERSAMPLE
    draw.ellipse([(cx - d / 2) * s, (cy - d / 2) * s, (cx + d / 2) * s, (cy + d / 2) * s], outline=255,
                 width=max(1, int(round(t * s))))
