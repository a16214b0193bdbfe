"""Punctuation for a generated typeface, built from its own glyphs: . , : ; - ' ’

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
- apostrophe: the comma raised so its top meets the cap height, for ' and for ’ (U+2019, which
  autocorrect types; one shape for both, as many text faces draw them);
- hyphen: a bar 0.4 of the cap height wide, as thick as 0.6 of the dot, centred at half the x-height.
Curves are drawn at SUPERSAMPLE x and averaged down, so edges are anti-aliased like the model's.
These are drawn, not generated: every face's punctuation is its dot in the same few shapes.

    stack2, glyphs2 = complete(stack, CHARS)      # (62 + 6, R, R) uint8 and CHARS + ".,:;-'"
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from explorer.data.fontrender import BASELINE, CAP_PX
from explorer.explore.glyph_ink import CELL_REF, CORE, significant_ink

PUNCTUATION = ".,:;-'\u2019"       # the last: ’, the typographic apostrophe (what autocorrect types)
SUPERSAMPLE = 4
X_HEIGHT = 0.7            # x-height, fraction of the cap height, for a face whose "x" is blank
STEM = 0.12               # a square dot's side, fraction of the cap height, for a face without a tittle
HYPHEN_WIDTH = 0.4        # the hyphen's length, fraction of the cap height
HYPHEN_THICKNESS = 0.6    # its thickness, fraction of the dot's height
SQUARE_FILL = 0.88        # a tittle filling this much of its box is square ...
ROUND_FILL = 0.62         # ... less than this, a diamond; in between, round (an ellipse fills pi/4 = 0.785)


def complete(stack: np.ndarray, glyphs: str) -> tuple[np.ndarray, str]:
    """A glyph stack (G, R, R) uint8 and the characters of its channels, with the PUNCTUATION it lacks
    appended (drawn from its "i" or "j"; none when it has neither, or both are blank): ((G + k, R, R) uint8, glyphs + k
    characters). A stack that already has them comes back as it is. Raises ValueError for a stack that
    is not (G, R, R)."""
    a = np.asarray(stack)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"a glyph stack is (G, R, R), got {a.shape}")
    chars = glyphs[:a.shape[0]]
    need = [c for c in PUNCTUATION if c not in chars]
    sources = [chars.index(c) for c in "ij" if c in chars]
    if not need or not sources or not significant_ink(a[sources]).any():      # no i or j to build from, or blank
        return a, chars
    cells = punctuation_cells(a, chars)
    return np.concatenate([a, np.stack([cells[c] for c in need])]).astype(np.uint8), chars + "".join(need)


def punctuation_cells(stack: np.ndarray, glyphs: str) -> dict[str, np.ndarray]:
    """Each character of PUNCTUATION as an (R, R) uint8 cell of the face `stack` (G, R, R) whose channel i
    draws glyphs[i] (see the module docstring)."""
    a = np.asarray(stack)
    r = a.shape[1]
    f = r / CELL_REF
    base, cap = BASELINE * f, CAP_PX * f
    x_top = _x_top(a, glyphs, base - X_HEIGHT * cap)
    dot = _dot(a, glyphs, max(1, round(STEM * cap)))
    h, w = dot.shape
    left = (r - w) // 2

    def cell(*dots_at: float, tail_at: float | None = None) -> np.ndarray:
        out = np.zeros((r, r), np.uint8)
        for top in dots_at:
            _paste(out, dot, int(round(top)), left)
        if tail_at is not None:
            np.maximum(out, _tail(r, left, tail_at, w, h), out=out)
        return out
    solid = np.flatnonzero((dot >= CORE).any(1))           # the dot's rows of ink, inside its grey rim
    top_rim, bottom_rim = (int(solid[0]), h - 1 - int(solid[-1])) if len(solid) else (0, 0)
    full_stop = base - h + bottom_rim                        # its ink's last row the one above the baseline
    upper, quote = x_top - top_rim, base - cap - top_rim     # ink from the x-height / from the cap height
    return {".": cell(full_stop), ":": cell(full_stop, upper), ",": cell(full_stop, tail_at=full_stop),
            ";": cell(full_stop, upper, tail_at=full_stop), "'": cell(quote, tail_at=quote),
            "\u2019": cell(quote, tail_at=quote),
            "-": _bar(r, HYPHEN_WIDTH * cap, max(1.0, HYPHEN_THICKNESS * h), (base + x_top) / 2)}


def _x_top(a: np.ndarray, glyphs: str, default: float) -> float:
    """The top row of the "x"'s significant ink (the x-height), else `default`."""
    if "x" not in glyphs:
        return default
    rows = np.flatnonzero(significant_ink(a[glyphs.index("x")][None])[0].any(1))
    return float(rows[0]) if len(rows) else default


def _dot(a: np.ndarray, glyphs: str, side: int) -> np.ndarray:
    """The face's tittle (h, w) uint8: the piece of "i" (else "j") whose ink lies wholly above the stem's
    top, with the grey edge around it; a `side` px square when neither has one."""
    for ch in "ij":
        if ch not in glyphs:
            continue
        g = a[glyphs.index(ch)]
        labels, n = ndimage.label(g >= CORE, structure=np.ones((3, 3)))
        if n < 2:
            continue
        boxes = ndimage.find_objects(labels)
        sizes = ndimage.sum_labels(np.ones_like(labels), labels, range(1, n + 1))
        stem = int(np.argmax(sizes))
        above = [k for k in range(n) if k != stem and boxes[k][0].stop <= boxes[stem][0].start]
        if not above:
            continue
        k = max(above, key=lambda j: sizes[j])
        ys, xs = boxes[k]
        fill = float(sizes[k]) / ((ys.stop - ys.start) * (xs.stop - xs.start))
        return clean_dot(ys.stop - ys.start, xs.stop - xs.start, fill)
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


def _paste(out: np.ndarray, src: np.ndarray, top: int, left: int) -> None:
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
