"""? ¿ ¡ built from a face's own glyphs: the hook is its 2's, the dot its full stop's, the stem follows its
lean, ¿ and ¡ are ? and ! turned with their tops at the x-height, and text with them sets without boxes."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from explorer.explore.built_glyphs import available, complete, sources
from explorer.explore.punctuation import punctuation_cells
from explorer.explore.question import QUESTION, question_cells
from explorer.explore.specimen import CHARS, typeset
from tests.glyph_stacks import render_stacks

BASE, CAP = 46, 32                                   # the dataset's baseline row and cap height at 64 px


def _face() -> np.ndarray:
    return render_stacks(n=2, res=64).numpy()[1]


def _rows(m: np.ndarray) -> np.ndarray:
    return np.flatnonzero(m.any(1))


def _cols(m: np.ndarray) -> np.ndarray:
    return np.flatnonzero(m.any(0))


def _cells(stack: np.ndarray) -> dict[str, np.ndarray]:
    return question_cells(stack, CHARS, punctuation_cells(stack, CHARS))


def _sheared(stack: np.ndarray, lean: float) -> np.ndarray:
    """Every glyph leaned right by `lean` px per px up from the baseline (an oblique of the face)."""
    out = np.empty_like(stack)
    for i, g in enumerate(stack):
        # output (y, x) reads input (y, x - lean * (BASE - y)) = (y, x + lean * y - lean * BASE)
        out[i] = ndimage.affine_transform(g.astype(float), [[1, 0], [lean, 1]], offset=[0, -lean * BASE],
                                          order=1).round().astype(np.uint8)
    return out


def test_the_question_mark_is_the_2s_hook_a_stem_and_the_full_stop():
    stack = _face()
    q = _cells(stack)["?"] >= 128
    two = stack[CHARS.index("2")] >= 128
    stop = punctuation_cells(stack, CHARS)["."] >= 128
    top = _rows(two)[0]
    assert _rows(q)[0] == top                                                        # the 2's bowl, as wide
    assert np.abs(_cols(q[top:top + 6])[[0, -1]] - _cols(two[top:top + 6])[[0, -1]]).max() <= 1
    assert _rows(q)[-1] == _rows(stop)[-1]                                           # the dot on the baseline
    labels, n = ndimage.label(q)
    assert n == 2                                                                    # hook + stem, and the dot
    low = _rows(stop)[-1]
    dot = labels == labels[low, np.flatnonzero(q[low])[0]]
    assert dot.sum() == stop.sum()                                                  # the face's full stop
    stem = q & ~dot
    end = np.flatnonzero(stem[_rows(stem)[-1]])
    assert abs(end.mean() - _cols(dot).mean()) <= 1.0                                # the dot under the stroke's end
    assert _rows(dot)[0] - _rows(stem)[-1] >= 2                                      # white between them
    assert not q[top + 2 * (BASE - top) // 3:, :_cols(two)[0] + 3].any()             # no 2's foot, no base bar


def test_it_looks_like_the_faces_own_question_mark():
    """The Pillow face's real ? drawn as tests/glyph_stacks.py draws its 62 (face 1), against ours."""
    k, res = 1, 64
    font = ImageFont.load_default(size=int(res * (0.5 + 0.25 * (k % 3) / 2)))
    im = Image.new("L", (res, res))
    ImageDraw.Draw(im).text((res / 2, int(res * 0.75) + (k % 4) - 2), "?", fill=255, font=font, anchor="ms",
                            stroke_width=1, stroke_fill=255)
    real, ours = np.asarray(im) >= 128, _cells(_face())["?"] >= 128
    dy = round(_rows(real).mean() - _rows(ours).mean())
    dx = round(_cols(real)[[0, -1]].mean() - _cols(ours)[[0, -1]].mean())
    moved = np.roll(ours, (dy, dx), (0, 1))
    assert (moved & real).sum() / (moved | real).sum() > 0.6                          # 0.70 when written
    assert abs(len(_cols(ours)) - len(_cols(real))) <= 3                            # as wide


def test_a_leaning_face_leans_its_stem():
    """The ? of an oblique face is the upright face's ? obliqued: its dot where the shear puts it."""
    lean, stack = 0.4, _face()
    upright, leaning = _cells(stack)["?"] >= 128, _cells(_sheared(stack, lean))["?"] >= 128

    def dot(q: np.ndarray) -> tuple[float, float]:     # the centre (row, column) of the lowest piece
        labels, _ = ndimage.label(q)
        low = _rows(q)[-1]
        ys, xs = np.nonzero(labels == labels[low, np.flatnonzero(q[low])[0]])
        return float(ys.mean()), float(xs.mean())
    (y0, x0), (y1, x1) = dot(upright), dot(leaning)
    assert y1 == y0 and abs((x1 - x0) - lean * (BASE - y0)) <= 1.0           # 1.2 px; 6 px if it did not lean
    assert _cols(leaning[:_rows(leaning)[0] + 4]).mean() - _cols(upright[:_rows(upright)[0] + 4]).mean() > 5


def test_an_old_style_2_is_raised_to_the_cap_height():
    stack = _face()
    low = stack.copy()
    low[CHARS.index("2")] = np.roll(stack[CHARS.index("2")], 8, 0)                   # a 2 down to the x-height
    normal, raised = _cells(stack)["?"] >= 128, _cells(low)["?"] >= 128
    assert _rows(raised)[0] == _rows(normal)[0] and _rows(raised)[-1] == _rows(normal)[-1]


def test_inverted_marks_are_turned_with_their_tops_at_the_x_height():
    stack = _face()
    cells = _cells(stack)
    x_top = _rows(stack[CHARS.index("x")] >= 128)[0]
    for inverted, upright in (("\u00bf", cells["?"]), ("\u00a1", punctuation_cells(stack, CHARS)["!"])):
        turned, mark = cells[inverted], upright
        assert _rows(turned >= 128)[0] == x_top and _rows(turned >= 128)[-1] > BASE    # down past the baseline
        r, c = _rows(mark > 0), _cols(mark > 0)
        x_top -= _rows(turned >= 128)[0] - _rows(turned > 0)[0]                       # its rim
        assert np.array_equal(turned[x_top:x_top + r[-1] - r[0] + 1, c[0]:c[-1] + 1],
                              mark[r[0]:r[-1] + 1, c[0]:c[-1] + 1][::-1, ::-1])


def test_a_face_without_a_2_gets_no_question_mark_and_text_sets_with_them():
    stack = _face()
    blank = stack.copy()
    blank[CHARS.index("2")] = 0
    assert set(_cells(blank)) == {"\u00a1"} and set(_cells(stack)) == set(QUESTION)
    no_two = CHARS.replace("2", "")
    assert "?" not in available(no_two) and "\u00bf" not in available(no_two) and "\u00a1" in available(no_two)
    assert set(QUESTION) <= set(available(CHARS)) and "2" in sources("Why?")
    spec = typeset(stack, "\u00bfQu\u00e9? \u00a1Hola! Why?")
    assert spec.unknown == "" and all(p.glyph >= 0 for p in spec.placed)
    full, glyphs = complete(stack, CHARS, "?")
    assert glyphs == CHARS + "?" and full.shape == (63, 64, 64)
