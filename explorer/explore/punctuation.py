"""Punctuation for a generated typeface, built from its own glyphs: . , : ; - ' ’ " ! · – — ‘ “ ” ‚ „ … •

The fonts model draws the 62 glyphs A-Z a-z 0-9, so text set in a generated face, and the font a
designer downloads, had a dotted box for every full stop and comma. A type designer builds the
punctuation of a face from its parts, and so does this module, in the stack's own geometry (the fonts
dataset's cells: baseline at row 46 and cap height 32 px of a 64 px cell, explorer/data/fontrender.py):
- the dot is the face's own tittle: the piece of "i" (else "j") above its stem, its size and its kind
  (square, round or diamond, by how much of its box it fills) drawn clean (`clean_dot`: a generated
  tittle's ragged edge read as a comma or a dash at text sizes); a face whose i has no separate dot gets
  a square STEM of the cap height wide;
- full stop: the dot on the baseline; colon: a second dot with its top at the x-height (the top of
  the "x"'s ink);
- comma: the full stop with a tail (a tapering stroke from the dot's lower right down to the left, as
  deep below the baseline as the dot is tall); semicolon: the colon with that tail;
- apostrophe ’ (U+2019, what autocorrect types): the comma raised so its top meets the cap height;
  the typewriter apostrophe ' a straight tick hung from the cap height, tapering down, the dot's width
  at its top (a tester read the comma-shaped " as two closing quotes on both sides of a word);
- hyphen: a bar 0.4 of the cap height wide, as thick as 0.6 of the dot, centred at half the x-height;
- double quote: two ticks side by side, QUOTE_GAP of the dot's width apart; middle dot · (Catalan l·l):
  the dot centred at half the x-height; ‘ the ’ turned half round, “ ” pairs of them, ‚ „ the comma and a
  pair of it (German quotes), … three full stops, • a bigger round dot, – — bars like the hyphen's
  (EN_DASH, EM_DASH cap heights long);
- exclamation mark: the face's "l" (else "I") from the cap height down to EXCLAMATION_GAP dots above the
  full stop, over it (`_exclamation`).
Curves are drawn at SUPERSAMPLE x and averaged down, so edges are anti-aliased like the model's.
These are drawn, not generated: every face's punctuation is its dot in the same few shapes.

    cells = punctuation_cells(stack, CHARS)       # {".": (R, R) uint8, ...}; built_glyphs.complete appends them
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from explorer.data.fontrender import BASELINE, CAP_PX
from explorer.explore.glyph_ink import CELL_REF, CORE, significant_ink

PUNCTUATION = ".,:;-'\u2019\"!\u00b7\u2013\u2014\u2018\u201c\u201d\u201a\u201e\u2026\u2022"   # ’ ‘ “ ”: what
# autocorrect types; · – — ‚ „ … •
SUPERSAMPLE = 4
X_HEIGHT = 0.7            # x-height, fraction of the cap height, for a face whose "x" is blank
STEM = 0.12               # a square dot's side, fraction of the cap height, for a face without a tittle
HYPHEN_WIDTH = 0.4        # the hyphen's length, fraction of the cap height
HYPHEN_THICKNESS = 0.6    # its thickness, fraction of the dot's height
QUOTE_GAP = 0.8          # the gap between the two marks of ", fraction of the dot's width
TICK_LENGTH = 0.3        # the straight ' and the marks of ": this long (fraction of the cap height, at least
TICK_TAPER = 0.45        # two dots' height), the dot's width at the top, this share of it at the bottom
TICK_WIDTH = 0.14        # ... but no wider than this, of the cap height
EN_DASH, EM_DASH = 0.6, 1.0   # the dashes' lengths, cap heights (at the hyphen's height and thickness)
BULLET = 1.7             # a bullet is the dot this many times larger, round, at half the x-height
EXCLAMATION_GAP = 0.7    # the gap between the stem of ! and its dot, fraction of the dot's height
EXCLAMATION_REACH = 0.1  # a letter whose top is this far below the cap height (of the cap height) is too short
SQUARE_FILL = 0.88        # a tittle filling this much of its box is square ...
ROUND_FILL = 0.62         # ... less than this, a diamond; in between, round (an ellipse fills pi/4 = 0.785)


def punctuation_cells(stack: np.ndarray, glyphs: str) -> dict[str, np.ndarray]:
    """Each character of PUNCTUATION as an (R, R) uint8 cell of the face `stack` (G, R, R) whose channel i
    draws glyphs[i] (see the module docstring)."""
    a = np.asarray(stack)
    r = a.shape[1]
    f = r / CELL_REF
    base, cap = BASELINE * f, CAP_PX * f
    x_row = x_top(a, glyphs, base - X_HEIGHT * cap)
    dot = face_dot(a, glyphs)
    h, w = dot.shape
    left = (r - w) // 2

    def cell(*dots_at: float, tail_at: float | None = None) -> np.ndarray:
        out = np.zeros((r, r), np.uint8)
        for top in dots_at:
            paste(out, dot, int(round(top)), left)
        if tail_at is not None:
            np.maximum(out, _tail(r, left, tail_at, w, h), out=out)
        return out
    solid = np.flatnonzero((dot >= CORE).any(1))           # the dot's rows of ink, inside its grey rim
    top_rim, bottom_rim = (int(solid[0]), h - 1 - int(solid[-1])) if len(solid) else (0, 0)
    full_stop = base - h + bottom_rim                        # its ink's last row the one above the baseline
    upper, quote = x_row - top_rim, base - cap - top_rim     # ink from the x-height / from the cap height
    solid_w = max(1.0, w - 2.0)                              # the dot's width inside its rim
    tick_w = min(solid_w, TICK_WIDTH * cap)                  # a heavy face's dot made " as wide as its H
    tick_len = max(2.0 * (h - 2), TICK_LENGTH * cap)
    tick = _drawn(r, [(r / 2 - tick_w / 2, base - cap), (r / 2 + tick_w / 2, base - cap),
                      (r / 2 + TICK_TAPER * tick_w / 2, base - cap + tick_len),
                      (r / 2 - TICK_TAPER * tick_w / 2, base - cap + tick_len)])
    right_quote, comma = cell(quote, tail_at=quote), cell(full_stop, tail_at=full_stop)
    left_quote = _turned(right_quote)
    dash_y, dash_t = (base + x_row) / 2, max(1.0, HYPHEN_THICKNESS * h)
    mid_dot = (base + x_row) / 2 - (top_rim + h - bottom_rim) / 2
    cells = {".": cell(full_stop), ":": cell(full_stop, upper), ",": comma,
             ";": cell(full_stop, upper, tail_at=full_stop), "'": tick, "\u2019": right_quote,
             '"': _pair(tick, tick_w), "-": _bar(r, HYPHEN_WIDTH * cap, dash_t, dash_y), "\u00b7": cell(mid_dot),
             "\u2013": _bar(r, EN_DASH * cap, dash_t, dash_y), "\u2014": _bar(r, EM_DASH * cap, dash_t, dash_y),
             "\u2018": left_quote, "\u201c": _pair(left_quote, solid_w), "\u201d": _pair(right_quote, solid_w),
             "\u201a": comma, "\u201e": _pair(comma, solid_w),
             "\u2026": np.maximum.reduce([np.roll(cell(full_stop), k * int(round(solid_w * (1 + QUOTE_GAP))), 1)
                                          for k in (-1, 0, 1)]),
             "\u2022": _centred(clean_dot(round(BULLET * (h - 2)), round(BULLET * solid_w), 0.7), r, dash_y)}
    bang = _exclamation(a, glyphs, dot, int(round(full_stop)), top_rim, base - cap)
    if bang is not None:
        cells["!"] = bang
    return cells


def _pair(mark: np.ndarray, width: float) -> np.ndarray:
    """Two of a mark's cell (R, R), side by side, QUOTE_GAP of `width` (px) apart: " “ ” „."""
    shift = int(round((width + max(1.0, QUOTE_GAP * width)) / 2))
    return np.maximum(np.roll(mark, -shift, 1), np.roll(mark, shift, 1))


def _turned(mark: np.ndarray) -> np.ndarray:
    """A mark's cell (R, R) with its ink turned half round in its own box (’ -> ‘): the box stays put."""
    rows, cols = np.flatnonzero((mark > 0).any(1)), np.flatnonzero((mark > 0).any(0))
    out = np.zeros_like(mark)
    if len(rows):
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        out[box] = mark[box][::-1, ::-1]
    return out


def _centred(piece: np.ndarray, r: int, y: float) -> np.ndarray:
    """An (R, R) cell with `piece` centred across it and on row y."""
    out = np.zeros((r, r), np.uint8)
    paste(out, piece, int(round(y - piece.shape[0] / 2)), (r - piece.shape[1]) // 2)
    return out


def _exclamation(a: np.ndarray, glyphs: str, dot: np.ndarray, dot_at: int, top_rim: int, cap_top: float
                 ) -> np.ndarray | None:
    """"!" from the face's "l", else its "I" (the first that reaches the cap height): its strokes from the
    cap height down to a dot's height above the full stop (which cuts off a foot serif and an ascender's
    flag above the cap height), over the dot centred under the stem's lowest rows (`dot_at`: the full
    stop's row, `top_rim`: the dot's grey rows above its ink); None when neither letter will do."""
    h, w = dot.shape
    tall = []                                             # an "l" lower than the capitals (small caps): the I
    for ch in "lI":
        if ch in glyphs:
            on = np.flatnonzero((significant_ink(a[glyphs.index(ch)][None])[0] & (a[glyphs.index(ch)] >= CORE)).any(1))
            if len(on) and on[0] <= cap_top + EXCLAMATION_REACH * (dot_at + h - cap_top):   # ~ the cap height
                tall.append(ch)
    for ch in tall:
        stem = np.where(significant_ink(a[glyphs.index(ch)][None])[0], a[glyphs.index(ch)], 0).astype(np.uint8)
        stop = dot_at + top_rim - max(1, int(round(EXCLAMATION_GAP * h)))
        stem[:max(0, int(round(cap_top)))] = 0
        stem[max(0, stop):] = 0
        rows = np.flatnonzero((stem >= CORE).any(1))
        if len(rows) < 2:
            continue
        low = stem[rows[-1] - min(2, len(rows) - 1):rows[-1] + 1] >= CORE
        cols = np.flatnonzero(low.any(0))
        out = stem.copy()
        paste(out, dot, dot_at, int(round((cols[0] + cols[-1] + 1) / 2 - w / 2)))
        return out
    return None


def x_top(a: np.ndarray, glyphs: str, default: float) -> float:
    """The top row of the "x"'s significant ink in a face (G, R, R) whose channel i draws glyphs[i] (the
    x-height's row), else `default`."""
    if "x" not in glyphs:
        return default
    rows = np.flatnonzero(significant_ink(a[glyphs.index("x")][None])[0].any(1))
    return float(rows[0]) if len(rows) else default


def tittle(g: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The tittle of an "i" or "j" cell (R, R) uint8: (a (R, R) bool mask of its pieces of ink wholly above
    the stem's top with their grey rim, the share of its box the largest piece fills), or None when no
    piece lies above the stem (a dotless or blank glyph)."""
    labels, n = ndimage.label(g >= CORE, structure=np.ones((3, 3)))
    if n < 2:
        return None
    boxes = ndimage.find_objects(labels)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, range(1, n + 1))
    stem = int(np.argmax(sizes))
    above = [k for k in range(n) if k != stem and boxes[k][0].stop <= boxes[stem][0].start]
    if not above:
        return None
    k = max(above, key=lambda j: sizes[j])
    ys, xs = boxes[k]
    fill = float(sizes[k]) / ((ys.stop - ys.start) * (xs.stop - xs.start))
    near_stem = ndimage.binary_dilation(labels == stem + 1, np.ones((3, 3)))
    mask = ndimage.binary_dilation(np.isin(labels, [j + 1 for j in above]), np.ones((3, 3))) & ~near_stem
    return mask, fill


def face_dot(a: np.ndarray, glyphs: str) -> np.ndarray:
    """The dot of a face (G, R, R) whose channel i draws glyphs[i]: its tittle (`tittle`: the piece of "i",
    else "j", wholly above the stem) drawn clean by `clean_dot`, (h + 2, w + 2) uint8; a square of STEM cap
    heights when neither has one."""
    r = a.shape[-1]
    for ch in "ij":
        if ch not in glyphs:
            continue
        found = tittle(a[glyphs.index(ch)])
        if found is None:
            continue
        labels, n = ndimage.label(found[0] & (a[glyphs.index(ch)] >= CORE), structure=np.ones((3, 3)))
        sizes = ndimage.sum_labels(np.ones_like(labels), labels, range(1, n + 1))
        ys, xs = ndimage.find_objects(labels)[int(np.argmax(sizes))]
        return clean_dot(ys.stop - ys.start, xs.stop - xs.start, found[1])
    side = max(1, round(STEM * CAP_PX * r / CELL_REF))
    return clean_dot(side, side, 1.0)


def clean_dot(h: int, w: int, fill: float) -> np.ndarray:
    """A dot of the tittle's size (h, w px of solid ink) and shape, drawn clean with an anti-aliased rim:
    (h + 2, w + 2) uint8. A generated tittle is ragged (specks, a bite out of one side), and the marks
    are set at text sizes where that reads as a comma or a dash, so its shape is kept by kind only, from
    how much of its box it fills: a square (>= SQUARE_FILL), a diamond (< ROUND_FILL), else an ellipse."""
    box: list[tuple[float, float]] = [(1, 1), (1 + w, 1), (1 + w, 1 + h), (1, 1 + h)]
    if fill >= SQUARE_FILL:
        return _drawn((h + 2, w + 2), box)
    if fill < ROUND_FILL:
        return _drawn((h + 2, w + 2), [(1 + w / 2, 1), (1 + w, 1 + h / 2), (1 + w / 2, 1 + h), (1, 1 + h / 2)])
    return _drawn((h + 2, w + 2), box, ellipse=True)


def paste(out: np.ndarray, src: np.ndarray, top: int, left: int) -> None:
    """Draw src (h, w) uint8 into out (R, R) uint8 at (top, left), keeping the darker ink (max); clipped."""
    h, w = src.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, out.shape[0]), min(left + w, out.shape[1])
    if y1 > y0 and x1 > x0:
        np.maximum(out[y0:y1, x0:x1], src[y0 - top:y1 - top, x0 - left:x1 - left], out=out[y0:y1, x0:x1])


def _drawn(shape: int | tuple[int, int], polygon: list[tuple[float, float]], ellipse: bool = False) -> np.ndarray:
    """A filled polygon (px), or the ellipse inscribed in the box of its first and third points,
    anti-aliased into an (h, w) uint8 array (`shape`: (h, w), or r for an (r, r) cell)."""
    h, w = (shape, shape) if isinstance(shape, int) else shape
    s = SUPERSAMPLE
    im = Image.new("L", (w * s, h * s), 0)
    pts = [(x * s, y * s) for x, y in polygon]
    draw = ImageDraw.Draw(im)
    if ellipse:
        draw.ellipse([pts[0], (pts[2][0] - 1, pts[2][1] - 1)], fill=255)
    else:
        draw.polygon(pts, fill=255)
    return np.asarray(im.resize((w, h), Image.Resampling.BOX))


def _tail(r: int, left: float, top: float, w: int, h: int) -> np.ndarray:
    """A comma's tail below a dot of (h, w) px at (top, left): from its lower right down to the left."""
    return _drawn(r, [(left + w, top + 0.45 * h), (left + 0.45 * w, top + h),
                      (left + 0.05 * w, top + 1.9 * h), (left + 0.4 * w, top + 1.9 * h)])


def _bar(r: int, width: float, thickness: float, centre_y: float) -> np.ndarray:
    x0 = (r - width) / 2
    y0 = centre_y - thickness / 2
    return _drawn(r, [(x0, y0), (x0 + width, y0), (x0 + width, y0 + thickness), (x0, y0 + thickness)])
