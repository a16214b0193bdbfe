"""? ¿ ¡ for a generated typeface, built from its own glyphs as type designers often start them.

The question mark's hook is the top of the face's "2": its bowl, cut where the diagonal, sweeping down
to the left, reaches the middle of the figure's ink box (moved with the face's measured slant). From there
a straight stem, as thick as the face's stem (`accents.stem_width`), runs down to a dot's height above the
full stop, and the face's own full-stop dot sits under it (explorer/explore/punctuation.py). A "2" whose
top is below the cap height (the top of its H; old-style figures) is raised to it. A hook deeper than
HOOK_SHARE of the height from its top to the stem's end (a 2 whose diagonal reaches the middle low) is
squashed to that, so every ? has a stem.
The Spanish ¿ and ¡ are ? and ! turned half round (a turn keeps an italic's lean), the top of their ink at
the x-height: on 71 and 70 held-out real faces with both, that is where their ¿ and ¡ start (median 0 px
from the top of the "x", and exactly as tall as ? and !).

    cells = question_cells(stack, CHARS, punctuation_cells(stack, CHARS))   # {"?": (R, R) uint8, ...}

Measured against real fonts' own ? by scripts/marks-vs-real.py (docs/fonts-design.md).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from explorer.data.fontrender import BASELINE, CAP_PX
from explorer.explore import accents
from explorer.explore.glyph_ink import CELL_REF, CORE, significant_ink
from explorer.explore.punctuation import EXCLAMATION_GAP, X_HEIGHT, face_dot, paste, x_top

QUESTION = "?\u00bf\u00a1"            # ? ¿ ¡
HOOK = "2"                            # the figure whose top is the hook
SOURCES = HOOK + "H"                  # ... and the cap height (dot, stem, x-height: punctuation's sources)
CUT_FROM, CUT_TO = 0.35, 0.88         # the cut is looked for between these fractions of the 2's height
HOOK_SHARE = 0.85                     # the hook takes at most this share of the height from its top to the stem's end
RAISE_FROM = 0.1                      # a 2 whose top is this far (cap heights) below the cap height is raised


def question_cells(stack: np.ndarray, glyphs: str, punctuation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The marks of QUESTION that a face (G, R, R) uint8 whose channel i draws glyphs[i] can make, as
    {char: (R, R) uint8}: "?" from its "2" (module docstring), "¿" from that, "¡" from `punctuation`'s "!"
    (`punctuation_cells`' result for the same face). A face without a usable 2 (missing, blank, or a 2
    whose diagonal never reaches its middle) gets no ? and no ¿."""
    a = np.asarray(stack)
    r = a.shape[1]
    f = r / CELL_REF
    base, cap = BASELINE * f, CAP_PX * f
    x_row = x_top(a, glyphs, base - X_HEIGHT * cap)
    out: dict[str, np.ndarray] = {}
    mark = question_mark(a, glyphs) if HOOK in glyphs else None
    if mark is not None:
        out["?"] = mark
        out["\u00bf"] = turned_at(mark, x_row)
    if "!" in punctuation:
        out["\u00a1"] = turned_at(punctuation["!"], x_row)
    return out


def question_mark(a: np.ndarray, glyphs: str) -> np.ndarray | None:
    """The face's "?" (R, R) uint8 from its "2" (channel glyphs.index("2") of `a` (G, R, R) uint8), or None
    when its 2 is blank or its diagonal never reaches the middle of its ink box."""
    r = a.shape[1]
    f = r / CELL_REF
    base, cap = BASELINE * f, CAP_PX * f
    g = a[glyphs.index(HOOK)]
    g = np.where(significant_ink(g[None])[0], g, 0).astype(np.uint8)
    on = g >= CORE
    rows, cols = np.flatnonzero(on.any(1)), np.flatnonzero(on.any(0))
    if len(rows) < 4:
        return None
    top, bottom = int(rows[0]), int(rows[-1])
    middle = (cols[0] + cols[-1]) / 2
    lean = accents.slant(a, glyphs, base, cap)
    cut, x = None, 0.0
    for y in range(int(top + CUT_FROM * (bottom - top)), int(bottom - (1 - CUT_TO) * (bottom - top))):
        xs = np.flatnonzero(on[y])
        if len(xs) and xs.mean() <= middle + lean * ((top + bottom) / 2 - y):
            cut, x = y, float(xs.mean())
            break
    if cut is None:
        return None
    cap_top = _cap_top(a, glyphs, base - cap)
    lift = top - cap_top if top - cap_top > RAISE_FROM * cap else 0               # old-style figures
    hook_top = int(round(top - lift))
    dot = face_dot(a, glyphs)
    h, w = dot.shape
    solid = np.flatnonzero((dot >= CORE).any(1))
    top_rim, bottom_rim = (int(solid[0]), h - 1 - int(solid[-1])) if len(solid) else (0, 0)
    dot_at = int(round(base - h + bottom_rim))                  # the full stop's row (punctuation_cells)
    stop = dot_at + top_rim - max(1, int(round(EXCLAMATION_GAP * h)))   # the stem's end, as the !'s
    band = g[top:cut + 1]
    rows_kept = min(band.shape[0], max(2, int(round(HOOK_SHARE * (stop - hook_top)))))
    if rows_kept < band.shape[0]:                               # a hook too deep for a stem: squashed
        band = np.asarray(Image.fromarray(band).resize((band.shape[1], rows_kept), Image.Resampling.BILINEAR))
        xs = np.flatnonzero(band[-1] >= CORE)
        x = float(xs.mean()) if len(xs) else x
    hook = np.zeros_like(g)
    paste(hook, band, hook_top, 0)
    cut = hook_top + band.shape[0] - 1
    x_end = x - lean * (stop - cut)
    if stop > cut:
        stem = accents.stem_width(a, glyphs, base, cap) or float(np.count_nonzero(band[-1] >= CORE))
        im, draw = accents.canvas(r)
        accents.wedge(draw, (x, cut - 1.0), (x_end, float(stop)), stem, stem)
        hook = np.maximum(hook, accents.downsample(im, r))
    paste(hook, dot, dot_at, int(round(x_end - w / 2)))
    return hook


def _cap_top(a: np.ndarray, glyphs: str, default: float) -> float:
    """The top row of the "H"'s significant ink (the face's own cap height: a face shrunk to fit its cell
    has lower capitals than the dataset's CAP_PX), else `default`."""
    if "H" in glyphs:
        rows = np.flatnonzero(significant_ink(a[glyphs.index("H")][None])[0].any(1))
        if len(rows):
            return float(rows[0])
    return default


def turned_at(mark: np.ndarray, top: float) -> np.ndarray:
    """A mark's cell (R, R) uint8 with its ink turned half round in its own columns and moved so that the
    ink's top row is `top` (? -> ¿, ! -> ¡); ink that would leave the cell is cut."""
    rows, cols = np.flatnonzero((mark > 0).any(1)), np.flatnonzero((mark > 0).any(0))
    out = np.zeros_like(mark)
    if len(rows):
        piece = mark[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1][::-1, ::-1]
        paste(out, np.ascontiguousarray(piece), int(round(top)), int(cols[0]))
    return out
