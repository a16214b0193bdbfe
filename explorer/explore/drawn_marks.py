"""( ) / + = for a generated typeface: drawn strokes sized and weighted by the face's own measurements.

None of these has a part among the 62 glyphs the model draws, so, like the accents' marks
(explorer/explore/accents.py), they are drawn: at the face's stem width (`accents.stem_width`, its l's),
leaning with its measured slant (`accents.slant`), their bars as thick as its hyphen
(explorer/explore/punctuation.py). Their extents are the medians of 284 training faces' own (every 10th
face of the train split, FreeType at the dataset's scale; cap heights above the baseline):
- ( ): from 1.03 down to -0.22, 0.38 wide with the stroke: an arc through the middle of the height;
- /: from 1.02 down to -0.11, 0.56 wide; its stroke PERPENDICULAR of the stem (the real ones' horizontal
  run is 0.86 of the stem);
- +: 0.69 wide and 0.66 high, centred 0.45 above the baseline; =: 0.69 wide, its bars' outer edges 0.62
  and 0.25 above the baseline (further apart on a heavy face, so the white between them is at least a
  bar's thickness).

    cells = drawn_cells(stack, CHARS, punctuation_cells(stack, CHARS))   # {"(": (R, R) uint8, ...}

Measured against real fonts' own by scripts/marks-vs-real.py (docs/fonts-design.md).
"""

from __future__ import annotations

import numpy as np

from explorer.data.fontrender import BASELINE, CAP_PX
from explorer.explore import accents
from explorer.explore.glyph_ink import CELL_REF, CORE

DRAWN = "()/+="
PAREN = (1.03, -0.22, 0.38)          # top, bottom (cap heights above the baseline), width with the stroke
SLASH = (1.02, -0.11, 0.56)
PLUS = (0.69, 0.66, 0.45)            # width, height, centre above the baseline
EQUALS = (0.69, 0.62, 0.25)          # width, top of the upper bar, bottom of the lower bar
PERPENDICULAR = 0.75                 # the slash's stroke across it, of the stem
BAR = 0.7                            # + and =: bars this many times the hyphen's thickness
EQUALS_WHITE = 1.0                   # =: white between the bars at least this many bars
POINTS = 32                          # points along a parenthesis' arc


def drawn_cells(stack: np.ndarray, glyphs: str, punctuation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The marks of DRAWN for a face (G, R, R) uint8 whose channel i draws glyphs[i], as {char: (R, R)
    uint8}, drawn at its stem width (a tenth of the cap height when it has no l or I) and slant, with bars
    as thick as `punctuation`'s hyphen (`punctuation_cells` of the same face); see the module docstring."""
    a = np.asarray(stack)
    r = a.shape[1]
    f = r / CELL_REF
    base, cap = BASELINE * f, CAP_PX * f
    stem = accents.stem_width(a, glyphs, base, cap) or 0.1 * cap
    lean = accents.slant(a, glyphs, base, cap)
    hyphen = punctuation.get("-")
    bar = float(np.count_nonzero((hyphen >= CORE).any(1))) if hyphen is not None else 0.0
    bar = max(1.0, BAR * (bar or 0.6 * stem))
    mid = r / 2

    def y(h: float) -> float:                        # cap heights above the baseline -> row
        return base - h * cap

    def lean_pts(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x + lean * (base - yy), yy) for x, yy in pts]

    def drawn(*strokes: tuple[list[tuple[float, float]], float]) -> np.ndarray:
        """Strokes (centre line points, thickness px): a curve with round ends, a segment with square ones."""
        im, draw = accents.canvas(r)
        for pts, t in strokes:
            if len(pts) == 2:
                p0, p1 = lean_pts(pts)
                accents.wedge(draw, p0, p1, t, t)
            else:
                accents.polyline(draw, lean_pts(pts), t)
        return accents.downsample(im, r)

    top, bottom, width = PAREN
    inner = max(1.0, width * cap - stem)              # the stroke's centre line spans this much across
    s = np.linspace(0.0, 1.0, POINTS)
    ys = y(top) + (y(bottom) - y(top)) * s + stem / 2 * (1 - 2 * s)     # ends inside the extents
    bulge = inner * (1 - (2 * s - 1) ** 2)           # a parabola: 0 at the ends, `inner` in the middle
    left_x = mid + inner / 2 - bulge
    paren = drawn((list(zip(left_x.tolist(), ys.tolist())), stem))
    closing = drawn((list(zip((2 * mid - left_x).tolist(), ys.tolist())), stem))
    top, bottom, width = SLASH
    t = PERPENDICULAR * stem
    slash = drawn(([(mid - width * cap / 2 + t / 2, y(bottom)), (mid + width * cap / 2 - t / 2, y(top))], t))
    width, height, centre = PLUS
    cy = y(centre)
    plus = drawn(([(mid - width * cap / 2, cy), (mid + width * cap / 2, cy)], bar),
                 ([(mid, cy - height * cap / 2), (mid, cy + height * cap / 2)], bar))
    width, upper, lower = EQUALS
    x0, x1 = mid - width * cap / 2, mid + width * cap / 2
    centre, half = y((upper + lower) / 2), max((upper - lower) * cap / 2, (1 + EQUALS_WHITE / 2) * bar)
    equals = drawn(([(x0, centre - half + bar / 2), (x1, centre - half + bar / 2)], bar),
                   ([(x0, centre + half - bar / 2), (x1, centre + half - bar / 2)], bar))
    return {"(": paren, ")": closing, "/": slash, "+": plus, "=": equals}
