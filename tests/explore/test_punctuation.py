"""Punctuation built from a face's own glyphs: where each mark sits, where its dot comes from, and that text
set in a generated face has no dotted boxes for . , : ; - ' ’ " ! any more."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.explore import built_glyphs
from explorer.explore.built_glyphs import complete
from explorer.explore.punctuation import PUNCTUATION, clean_dot, punctuation_cells
from explorer.explore.specimen import CHARS, typeset
from tests.glyph_stacks import render_stacks

BASE, CAP = 46, 32                                   # the dataset's baseline row and cap height at 64 px


def _rows(cell: np.ndarray) -> np.ndarray:
    return np.flatnonzero((cell >= 128).any(1))


def _face() -> np.ndarray:
    return render_stacks(n=2, res=64).numpy()[1]


def test_marks_sit_where_type_puts_them():
    stack = _face()
    cells = punctuation_cells(stack, CHARS)
    assert set(cells) == set(PUNCTUATION) and all(c.shape == (64, 64) and c.dtype == np.uint8 for c in cells.values())
    x_top = _rows(stack[CHARS.index("x")])[0]
    stop = _rows(cells["."])
    assert stop[-1] == BASE - 1                                                 # the full stop on the baseline
    colon = _rows(cells[":"])
    assert colon[-1] == BASE - 1 and abs(colon[0] - x_top) <= 1 and len(colon) < colon[-1] - colon[0] + 1   # 2 dots
    comma = _rows(cells[","])
    assert comma[0] == stop[0] and comma[-1] > BASE                             # a tail below the baseline
    assert _rows(cells[";"])[0] == colon[0] and _rows(cells[";"])[-1] == comma[-1]
    assert abs(_rows(cells["'"])[0] - (BASE - CAP)) <= 1                 # an apostrophe hangs from the cap height
    hyphen = _rows(cells["-"])
    assert x_top < hyphen[0] <= hyphen[-1] < BASE and (cells["-"] >= 128).any(0).sum() > 2 * len(hyphen)
    tick = cells["'"] >= 128                                                    # straight, tapering down
    rows = _rows(cells["'"])
    top_w, low_w = tick[rows[0]].sum(), tick[rows[-1]].sum()
    assert top_w > low_w and not np.array_equal(tick, cells["\u2019"] >= 128)      # ’ keeps the comma shape
    quote, apostrophe = (cells['"'] >= 128).any(0), (cells["'"] >= 128).any(0)
    assert np.array_equal(_rows(cells['"']), _rows(cells["'"]))                  # two apostrophes side by side
    assert quote.sum() == 2 * apostrophe.sum() and len(np.flatnonzero(np.diff(np.flatnonzero(quote)) > 1)) == 1
    bang = _rows(cells["!"])
    assert abs(bang[0] - (BASE - CAP)) <= 0.1 * CAP and bang[-1] == BASE - 1    # about the cap height to the baseline,
    assert len(np.flatnonzero(np.diff(bang) > 1)) == 1                          # a stem over a dot
    assert np.array_equal(cells["!"][bang[-1] - len(stop) + 1:] >= 128, cells["."][stop[0]:] >= 128) or \
        (cells["!"][stop[0]:] >= 128).sum() == (cells["."] >= 128).sum()        # the dot is the full stop's


def _box(mask: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_the_dot_is_the_faces_own_tittle_drawn_clean():
    stack = _face()
    i = stack[CHARS.index("i")]
    rows = _rows(i)
    gap = np.flatnonzero(np.diff(rows) > 1)[0]                                   # the rows above the stem: the dot
    tittle = i[:rows[gap] + 1] >= 128
    stop = punctuation_cells(stack, CHARS)["."] >= 128
    assert abs(_box(stop)[0] - _box(tittle)[0]) <= 1 and abs(_box(stop)[1] - _box(tittle)[1]) <= 1   # its size
    cols = np.flatnonzero(tittle.any(0))
    fat = stack.copy()
    fat[CHARS.index("i"), rows[0] - 3:rows[0], cols[0]:cols[-1] + 1] = 255        # a taller dot: a taller full stop
    assert _box(punctuation_cells(fat, CHARS)["."] >= 128)[0] >= _box(stop)[0] + 2
    ragged = stack.copy()
    ragged[CHARS.index("i"), rows[0] + 1, cols[0]] = 0                           # a bite out of the tittle
    assert np.array_equal(punctuation_cells(ragged, CHARS)["."] >= 128, stop)     # the same clean dot
    square, ellipse, diamond = clean_dot(6, 6, 1.0), clean_dot(6, 6, 0.78), clean_dot(6, 6, 0.5)
    assert square.shape == (8, 8) and (square >= 128).sum() > (ellipse >= 128).sum() > (diamond >= 128).sum()


def test_complete_appends_only_what_is_missing_and_keeps_a_face_without_sources():
    stack = _face()
    marks = built_glyphs.PUNCTUATION                                            # with ? ¿ ¡ (question.py)
    full, glyphs = complete(stack, CHARS, "Hi. " + marks + "&")                 # what it can build, once each
    assert glyphs == CHARS + marks and full.shape == (62 + len(marks), 64, 64)
    assert np.array_equal(full[:62], stack)
    again, same = complete(full, glyphs, marks)                                 # already there: unchanged
    assert same == glyphs and again.shape == full.shape
    everything, g = complete(stack, CHARS)                                      # by default all BUILT
    assert g.startswith(CHARS + marks) and "\u00e9" in g and len(g) == everything.shape[0] > 200
    blank, g = complete(np.zeros((62, 64, 64), np.uint8), CHARS)                # nothing to build a dot from
    assert g == CHARS and blank.shape == (62, 64, 64)
    caps, g = complete(stack[:26], CHARS[:26])                                  # no i or j
    assert g == CHARS[:26]
    with pytest.raises(ValueError, match="glyph stack"):
        complete(np.zeros((62, 64, 32), np.uint8), CHARS)


def test_text_with_punctuation_has_no_placeholder_boxes():
    stack = _face()
    spec = typeset(stack, "Hello, world! It's a \"test\": one-two; col·lecci. Don\u2019t \u2014 \u2018a\u2019 "
                          "\u201cb\u201d \u201ac\u2018 \u201ed\u201c e\u2013f \u2026 \u2022")   # ’ ‘ “ ”: autocorrect
    assert spec.unknown == "" and all(p.glyph >= 0 for p in spec.placed)
    assert {p.char for p in spec.placed if p.glyph >= 62} == set(PUNCTUATION)
    assert typeset(stack, "Hi&").unknown == "&"                                 # what it cannot build: a box still
    stop = next(p for p in typeset(stack, "a.b").placed if p.char == ".")
    assert 0.15 * CAP < stop.advance < 0.6 * CAP                                # spaced as a mark, not a letter


def test_typographic_quotes_dashes_ellipsis_and_bullet():
    stack = _face()
    c = punctuation_cells(stack, CHARS)
    right, left = c["\u2019"] >= 128, c["\u2018"] >= 128
    assert left.sum() == right.sum() and np.array_equal(_rows(c["\u2018"]), _rows(c["\u2019"]))   # ’ turned: ‘,
    assert not np.array_equal(left, right)                                      # in the same place
    assert (c["\u201c"] >= 128).sum() == 2 * left.sum() and (c["\u201e"] >= 128).sum() == 2 * (c[","] >= 128).sum()
    assert np.array_equal(_rows(c["\u201a"]), _rows(c[","]))                  # ‚ sits like a comma
    widths = {d: int((c[d] >= 128).any(0).sum()) for d in "-\u2013\u2014"}
    assert widths["-"] < widths["\u2013"] < widths["\u2014"] <= CAP + 2        # hyphen < en < em (a cap height)
    stops = np.flatnonzero((c["\u2026"] >= 128).any(0))
    assert len(np.flatnonzero(np.diff(stops) > 1)) == 2 and np.array_equal(_rows(c["\u2026"]), _rows(c["."]))
    assert (c["\u2022"] >= 128).sum() > (c["\u00b7"] >= 128).sum()             # a bullet is a bigger dot
    assert (c['"'] >= 128).any(0).sum() <= 0.5 * CAP                           # " no wider than half a cap
