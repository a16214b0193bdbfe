"""Accented letters composed from a face's own letters and drawn marks: the base is kept, the mark sits clear
above (or hangs below) it, i and j lose their tittle under a mark, marks follow the face's weight, a
mark that cannot fit leaves its letter out, and text with accents sets without dotted boxes."""

from __future__ import annotations

import string
import unicodedata

import numpy as np

from explorer.explore.accents import ACCENTED, COMPOSED, DOTLESS_I, accented_cells, base_of
from explorer.explore.punctuation import punctuation_cells
from explorer.explore.specimen import CHARS, typeset
from tests.glyph_stacks import render_stacks

BASE, CAP = 46, 32                                   # the dataset's baseline row and cap height at 64 px


def _rows(cell: np.ndarray) -> np.ndarray:
    return np.flatnonzero((cell >= 128).any(1))


def _faces() -> np.ndarray:
    return render_stacks(n=2, res=64).numpy()                        # a light face and a bold one


def test_the_composed_set_is_latin_1_and_extended_a_by_canonical_decomposition():
    assert len(ACCENTED) == 161 and ACCENTED.endswith(DOTLESS_I)
    for c, (base, mark) in COMPOSED.items():
        assert unicodedata.normalize("NFC", base + mark) == c and base in string.ascii_letters
        assert base_of(c) == base
    assert {"é", "Å", "ç", "ñ", "ő", "ž", "ą", "İ", "ď"} <= set(ACCENTED)
    assert not {"ģ", "ß", "Ł", "ø"} & set(ACCENTED)             # another shape in type, or not base + mark


def test_a_mark_above_sits_clear_of_its_base_which_is_kept():
    stack = _faces()[1]
    cells = accented_cells(stack, CHARS, "éÉüñ")
    for c in "éÉüñ":
        base = stack[CHARS.index(base_of(c))]
        top = _rows(base)[0]
        cell = cells[c]
        assert np.array_equal(cell[top:] >= 128, base[top:] >= 128)             # nothing drawn over the letter
        mark = _rows(cell[:top])
        assert len(mark) >= 2 and mark[-1] < top - 1 and mark[0] >= 0            # above it, with white between
        bc = np.flatnonzero((base[top:top + 4] >= 128).any(0))
        mc = np.flatnonzero((cell[:top] >= 128).any(0))
        assert abs((mc[0] + mc[-1]) / 2 - (bc[0] + bc[-1]) / 2) <= 2             # centred on the letter's top
    umlaut = np.flatnonzero((cells["ü"][:_rows(stack[CHARS.index("u")])[0]] >= 128).any(0))
    assert len(np.flatnonzero(np.diff(umlaut) > 1)) == 1                         # two dots


def test_i_and_j_lose_their_tittle_under_a_mark_but_not_over_an_ogonek():
    stack = _faces()[1]
    i = stack[CHARS.index("i")]
    cells = accented_cells(stack, CHARS, "ıíį")
    stem_top = _rows(cells[DOTLESS_I])[0]
    assert stem_top > _rows(i)[0] + 2                                            # ı: the i without its dot
    assert np.array_equal(cells[DOTLESS_I][stem_top:] >= 128, i[stem_top:] >= 128)
    acute = cells["í"]
    assert len(np.flatnonzero(np.diff(_rows(acute[:stem_top])) > 1)) == 0         # one mark above, not dot + mark
    assert np.array_equal(cells["į"][:BASE] >= 128, i[:BASE] >= 128)             # į keeps its dot
    assert _rows(cells["į"])[-1] > BASE                                           # and hangs a hook below


def test_marks_below_hang_from_the_baseline():
    stack = _faces()[1]
    cells = accented_cells(stack, CHARS, "çąŞ")
    for c in "çąŞ":
        base = stack[CHARS.index(base_of(c))]
        assert _rows(cells[c])[-1] > _rows(base)[-1] + 2                          # below its baseline
    below = np.flatnonzero((cells["ą"][_rows(stack[CHARS.index("a")])[-1] + 2:] >= 128).any(0))
    a = np.flatnonzero((stack[CHARS.index("a")] >= 128).any(0))
    assert (below[0] + below[-1]) / 2 > (a[0] + a[-1]) / 2                       # an ogonek at the right


def test_marks_follow_the_faces_weight():
    light, bold = _faces()
    def ink(stack: np.ndarray) -> int:
        e = stack[CHARS.index("e")]
        return int((accented_cells(stack, CHARS, "é")["é"][:_rows(e)[0]] >= 128).sum())
    assert ink(bold) > ink(light)


def test_a_mark_that_cannot_fit_leaves_its_letter_out():
    stack = _faces()[1].copy()
    stack[CHARS.index("l"), 1:BASE, 30:34] = 255                                 # an l reaching the cell's top
    cells = accented_cells(stack, CHARS, "ĺé")
    assert "ĺ" not in cells and "é" in cells
    assert "ĺ" in typeset(stack, "ĺé").unknown and "é" not in typeset(stack, "ĺé").unknown
    blank = stack.copy()
    blank[CHARS.index("e")] = 0
    assert "é" not in accented_cells(blank, CHARS, "é")                          # nothing to put the mark on


def test_text_with_accents_sets_without_boxes_and_spaces_like_its_base():
    stack = _faces()[1]
    spec = typeset(stack, "Café Größe señor ÅNGSTRÖM naïve")
    assert spec.unknown == "ß"
    e = next(p for p in typeset(stack, "e").placed if p.char == "e")
    acute = next(p for p in spec.placed if p.char == "é")
    assert acute.advance == e.advance and acute.glyph >= 62
    assert typeset(stack, "Cafe").image.shape == typeset(stack, "Café").image.shape


def test_d_l_t_take_their_caron_as_an_apostrophe_beside_the_stem_and_widen():
    stack = _faces()[1]
    apostrophe = punctuation_cells(stack, CHARS)["\u2019"] >= 128
    for c, base in (("ď", "d"), ("ť", "t"), ("Ľ", "L")):
        b = stack[CHARS.index(base)] >= 128
        cell = accented_cells(stack, CHARS, c)[c] >= 128
        extra = cell & ~b
        top = int(np.flatnonzero(b.any(1))[0])
        assert apostrophe.sum() > 20 and abs(int(extra.sum()) - int(apostrophe.sum())) <= 2            # that mark,
        assert np.flatnonzero(extra.any(0))[0] > np.flatnonzero(b[:top + 3].any(0))[-1]                # beside it
        assert abs(int(np.flatnonzero(extra.any(1))[0]) - top) <= 1                                    # at its top
        wide = next(p for p in typeset(stack, c).placed if p.char == c)
        plain = next(p for p in typeset(stack, base).placed if p.char == base)
        assert wide.advance > plain.advance or (c == "Ľ" and wide.advance == plain.advance)   # L's foot reaches past it


def _tops(cell: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The top row of a mark above `base`, in each of its columns."""
    mark = cell[:_rows(base)[0]] >= 128
    return np.array([np.flatnonzero(mark[:, j])[0] for j in np.flatnonzero(mark.any(0))])


def test_a_tilde_and_a_breve_stay_curves_and_a_ring_keeps_its_hole_at_any_weight():
    """A tester's: on a bold face the breve and the tilde flattened into a macron and the ring filled in."""
    from scipy import ndimage
    for stack in _faces():
        heavy = np.array(stack)
        heavy = np.maximum(heavy, ndimage.grey_dilation(heavy, size=(1, 1, 3)))      # the same face, bolder
        for face in (stack, heavy):
            cells = accented_cells(face, CHARS, "ăñå")

            cup, wave = _tops(cells["ă"], face[CHARS.index("a")]), _tops(cells["ñ"], face[CHARS.index("n")])
            assert cup[len(cup) // 2] >= min(cup[0], cup[-1]) + 2                    # a cup, not a bar
            q = len(wave) // 4
            assert abs(int(wave[q]) - int(wave[-1 - q])) >= 2                        # a wave, not a bar
            ring = cells["å"][:_rows(face[CHARS.index("a")])[0]] >= 128
            holes = ndimage.label(~ring)[1]
            assert holes >= 2                                                           # paper and its hole
