"""Letters with a stroke through them (Ł Đ Ħ Ŧ Ø Ŀ and their lowercase), composed from a face's own letters:
the letter is kept, the stroke crosses its stem where type puts it, and text with them sets without boxes."""

from __future__ import annotations

import numpy as np

from explorer.explore.specimen import CHARS, typeset
from explorer.explore.stroked import STROKED, stroked_cells
from tests.glyph_stacks import render_stacks


def _face() -> np.ndarray:
    return render_stacks(n=2, res=64).numpy()[1]


def _extra(cell: np.ndarray, base: np.ndarray) -> np.ndarray:
    return (cell >= 128) & ~(base >= 128)


def test_every_stroked_letter_keeps_its_letter_and_adds_a_stroke():
    stack = _face()
    cells = stroked_cells(stack, CHARS)
    assert set(cells) == set(STROKED)
    for c, (letter, _) in STROKED.items():
        base = stack[CHARS.index(letter)]
        assert ((cells[c] >= 128) >= (base >= 128)).all(), c                  # the letter is all there
        assert _extra(cells[c], base).sum() >= 6, c                             # and a stroke or a dot


def test_strokes_cross_the_stem_where_type_puts_them():
    stack = _face()
    cells = stroked_cells(stack, CHARS, "ŁĐØŦ")
    L = stack[CHARS.index("L")] >= 128
    stem = np.flatnonzero(L[25:35].any(0))                                      # L's stem, mid cap height
    slash = _extra(cells["Ł"], stack[CHARS.index("L")])
    cols = np.flatnonzero(slash.any(0))
    assert cols[0] < stem[0] and cols[-1] > stem[-1]                            # on both sides of the stem
    rows = np.flatnonzero(slash.any(1))
    left, right = slash[:, cols[0]].nonzero()[0].mean(), slash[:, cols[-1]].nonzero()[0].mean()
    assert right < left and rows[0] > 46 - 32 and rows[-1] < 46                 # rising, inside the cap height
    oh = stack[CHARS.index("O")] >= 128
    diag = _extra(cells["Ø"], stack[CHARS.index("O")])
    o_rows, o_cols = np.flatnonzero(oh.any(1)), np.flatnonzero(oh.any(0))
    d_rows, d_cols = np.flatnonzero(diag.any(1)), np.flatnonzero(diag.any(0))
    assert d_rows[-1] - d_rows[0] >= 0.7 * (o_rows[-1] - o_rows[0])                # across the bowl, both ways
    assert d_cols[-1] - d_cols[0] >= 0.7 * (o_cols[-1] - o_cols[0])
    middle = np.array([(o_rows[0] + o_rows[-1]) / 2, (o_cols[0] + o_cols[-1]) / 2])
    assert np.abs(np.argwhere(diag).mean(0) - middle).max() <= 2                 # centred: not lopsided (a tester's)
    bar = np.flatnonzero(_extra(cells["Đ"], stack[CHARS.index("D")]).any(1))
    assert abs((bar[0] + bar[-1]) / 2 - (46 - 16)) <= 3                          # Đ's bar at half the cap height


def test_text_with_stroked_letters_sets_without_boxes():
    stack = _face()
    spec = typeset(stack, "Łódź Øresund Đakovo col·lecció coŀlecció")
    assert spec.unknown == ""
    plain = next(p for p in typeset(stack, "l").placed if p.char == "l")
    dotted = next(p for p in spec.placed if p.char == "ŀ")
    assert dotted.advance > plain.advance                                        # ŀ is wider by its dot
    for c, base in (("Ø", "O"), ("Đ", "D"), ("Ł", "L")):                     # a stroke past the letter widens
        m = typeset(stack, c + base).metrics                                     # it, keeping its sidebearings
        assert m is not None
        k, b = len(m.advance) - 1, CHARS.index(base)
        past = max(0.0, float(m.ink_left[b] - m.ink_left[k])) + max(0.0, float(m.ink_right[k] - m.ink_right[b]))
        assert m.advance[k] == m.advance[b] + past and abs(float(m.lsb[k] - m.lsb[b])) < 1e-4
        assert past > 0 or c == "Ø"                                               # Đ's bar, Ł's slash reach left
