"""( ) / + = drawn for a face (explorer/explore/drawn_marks.py): where real fonts put them, at the face's
weight and slant, and text with them sets without boxes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from explorer.explore.drawn_marks import DRAWN, PAREN, PLUS, SLASH, drawn_cells
from explorer.explore.punctuation import punctuation_cells
from explorer.explore.specimen import CHARS, typeset
from tests.glyph_stacks import render_stacks

BASE, CAP = 46, 32                                   # the dataset's baseline row and cap height at 64 px


def _face() -> np.ndarray:
    return render_stacks(n=2, res=64).numpy()[1]


def _cells(stack: np.ndarray) -> dict[str, np.ndarray]:
    return drawn_cells(stack, CHARS, punctuation_cells(stack, CHARS))


def _rows(m: np.ndarray) -> np.ndarray:
    return np.flatnonzero(m.any(1))


def _cols(m: np.ndarray) -> np.ndarray:
    return np.flatnonzero(m.any(0))


def test_marks_sit_where_real_fonts_put_them():
    cells = {c: m >= 128 for c, m in _cells(_face()).items()}
    assert set(cells) == set(DRAWN)
    for c, (top, bottom, width) in (("(", PAREN), (")", PAREN), ("/", SLASH)):
        r = _rows(cells[c])
        assert abs(r[0] - (BASE - top * CAP)) <= 1.5 and abs(r[-1] + 1 - (BASE - bottom * CAP)) <= 1.5, c
        assert abs(len(_cols(cells[c])) - width * CAP) <= 1.5, c
    paren = cells["("]
    middle = (_rows(paren)[0] + _rows(paren)[-1]) // 2
    assert np.flatnonzero(paren[middle])[0] < np.flatnonzero(paren[_rows(paren)[0]])[0] - 3    # bulges left
    assert np.array_equal(cells[")"], cells["("][:, ::-1]) or abs(int(cells[")"].sum()) - int(cells["("].sum())) < 8
    slash = cells["/"]
    assert _cols(slash[_rows(slash)[0]:_rows(slash)[0] + 2]).mean() > _cols(slash[_rows(slash)[-1] - 1:]).mean() + 10
    width, height, centre = PLUS
    plus = cells["+"]
    assert abs(_rows(plus).mean() - (BASE - centre * CAP)) <= 1.0
    assert abs(len(_cols(plus)) - width * CAP) <= 1.5 and abs(len(_rows(plus)) - height * CAP) <= 1.5
    labels, n = ndimage.label(cells["="])
    assert n == 2                                                                    # two bars, white between
    assert ndimage.label(cells["+"])[1] == 1


def test_marks_follow_the_faces_weight_and_slant():
    stack = _face()
    heavy = np.stack([ndimage.grey_dilation(g, size=(1, 3)) for g in stack])         # stems 2 px wider
    light, bold = _cells(stack), _cells(heavy)
    for c in "()/":
        assert (bold[c] >= 128).sum() > 1.2 * (light[c] >= 128).sum(), c

    lean = 0.3
    sheared = np.empty_like(stack)
    for i, g in enumerate(stack):
        sheared[i] = ndimage.affine_transform(g.astype(float), [[1, 0], [lean, 1]], offset=[0, -lean * BASE],
                                              order=1).round().astype(np.uint8)
    upright, leaning = _cells(stack)["("] >= 128, _cells(sheared)["("] >= 128

    def drift(m: np.ndarray) -> float:                # the top end's centre minus the bottom end's
        r = _rows(m)
        return float(_cols(m[r[0]:r[0] + 3]).mean() - _cols(m[r[-1] - 2:r[-1] + 1]).mean())
    assert abs(drift(upright)) <= 1.0 and drift(leaning) > 0.6 * lean * len(_rows(upright))


def test_text_with_them_sets_without_boxes():
    spec = typeset(_face(), "(a/b) 1+1=2")
    assert spec.unknown == "" and all(p.glyph >= 0 for p in spec.placed)
