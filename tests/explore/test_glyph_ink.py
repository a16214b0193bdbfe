"""Cleaning a glyph before it is traced into a font: specks and pinholes no typeface has go; the counters,
an i's dot, a glyph drawn in fragments and an outline face's hollow strokes stay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.explore.glyph_ink import clean_glyphs
from explorer.explore.specimen import CHARS

R = 64


def _ring(cy: int = 36, cx: int = 32, outer: int = 12, inner: int = 6) -> np.ndarray:
    y, x = np.mgrid[:R, :R]
    d = np.hypot(y - cy, x - cx)
    return np.where((d <= outer) & (d >= inner), 255, 0).astype(np.uint8)


def _one(ch: str, cell: np.ndarray) -> np.ndarray:
    """A stack whose glyph of `ch` is `cell`, every other glyph blank."""
    stack = np.zeros((len(CHARS), R, R), np.uint8)
    stack[CHARS.index(ch)] = cell
    return stack


def _clean(ch: str, cell: np.ndarray) -> np.ndarray:
    return clean_glyphs(_one(ch, cell), CHARS)[CHARS.index(ch)]


def test_a_speck_above_an_o_goes_and_its_counter_stays():
    o = _ring()
    dotted = o.copy()
    dotted[18:21, 31:34] = 255                               # 9 px above the ring: a speck, not an accent
    out = _clean("o", dotted)
    assert np.array_equal(out, o)                            # the counter (a hole) is the o's own


def test_an_i_keeps_its_dot_and_a_fragmented_glyph_keeps_its_fragments():
    i = np.zeros((R, R), np.uint8)
    i[28:50, 30:35] = 255
    i[20:24, 30:34] = 255                                    # the dot: 16 px, 4 px wide
    assert np.array_equal(_clean("i", i), i)
    assert np.array_equal(_clean("l", i), i)                 # on an l too: 15 % of the stem is no speck
    dotted = np.zeros((R, R), np.uint8)
    dotted[14:50, 30:35] = 255
    for y in (6, 9):                                         # two pieces above: specks
        dotted[y:y + 2, 31:33] = 255
    assert not _clean("l", dotted)[:12].any()
    frag = np.zeros((R, R), np.uint8)
    frag[30:50, 30:35] = 255
    for y in (14, 18, 22, 26):                               # a stem drawn in four short pieces
        frag[y:y + 2, 31:33] = 255
    assert np.array_equal(_clean("l", frag), frag)


def test_pinholes_are_filled_where_the_character_has_no_counter_but_design_holes_stay():
    s = np.zeros((R, R), np.uint8)
    s[14:50, 20:44] = 255
    pinhole = s.copy()
    pinhole[30:33, 30:33] = 0                                # 9 px in 864 px of ink
    assert np.array_equal(_clean("S", pinhole), s)
    assert np.array_equal(_clean("o", pinhole), pinhole)     # an o has one counter: this may be it
    b = s.copy()
    b[20:26, 26:38] = 0
    b[36:44, 26:38] = 0                                      # two counters: a B's
    assert np.array_equal(_clean("B", b), b)
    b[30:32, 22:24] = 0                                      # a third, small: a pinhole
    assert _clean("B", b)[30:32, 22:24].min() == 255
    hollow = s.copy()
    hollow[18:46, 24:40] = 0                                 # a large hole (an outline face's stroke)
    assert np.array_equal(_clean("S", hollow), hollow)


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@pytest.mark.skipif(not DEJAVU.exists(), reason="fonts-dejavu-core is not installed")
def test_a_real_face_is_left_as_it_is():
    from explorer.data.fontrender import render_face
    glyphs = render_face(DEJAVU).glyphs
    assert np.array_equal(clean_glyphs(glyphs, CHARS), glyphs)
