"""Specimens: text set from a glyph stack with advances from the ink plus sidebearings, on the dataset's
baseline; unknown characters as dotted boxes; empty text is blank, never an error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.explore.built_glyphs import available
from explorer.explore.specimen import (
    CHARS,
    PANGRAM,
    SIDEBEARING,
    clusters,
    glyph_metrics,
    missing_note,
    specimen_sheet,
    typeset,
    unknown_chars,
)
from explorer.imaging.render import glyph_sheet, stack_from_sheet
from tests.glyph_stacks import render_stacks

R = 64
BASE = 46                       # explorer.data.fontrender.BASELINE at 64 px
CAP = 32


def _blocks() -> np.ndarray:
    """A face of solid bars: every glyph a 10 px wide bar from the cap height down to the baseline,
    except "A", a triangle (a point at the top, diagonal sides), and "n", 16 px wide."""
    stack = np.zeros((62, R, R), np.uint8)
    stack[:, BASE - CAP:BASE, 27:37] = 255
    n = CHARS.index("n")
    stack[n] = 0
    stack[n, BASE - 22:BASE, 24:40] = 255
    a = CHARS.index("A")
    stack[a] = 0
    for k, row in enumerate(range(BASE - CAP, BASE)):
        half = 1 + k * 15 // CAP
        stack[a, row, 32 - half:32 + half] = 255
    return stack


def test_advances_are_ink_width_plus_sidebearings_and_pens_follow_them():
    stack = _blocks()
    m = glyph_metrics(stack)
    h = CHARS.index("H")
    sb = SIDEBEARING * CAP
    assert (m.ink_left[h], m.ink_right[h]) == (27, 37)
    assert m.lsb[h] == pytest.approx(sb) and m.rsb[h] == pytest.approx(sb)       # straight sides: full bearing
    assert m.advance[h] == pytest.approx(10 + 2 * sb)
    a = CHARS.index("A")
    assert m.lsb[a] < sb - 1 and m.rsb[a] < sb - 1                              # diagonal sides: tighter
    assert m.space == pytest.approx(m.advance[CHARS.index("n")] / 2)
    s = typeset(stack, "HHA H")
    xs = [p.x for p in s.placed]
    assert [p.char for p in s.placed] == ["H", "H", "A", "H"]
    assert xs[1] - xs[0] == pytest.approx(m.advance[h])
    assert xs[2] - xs[1] == pytest.approx(m.advance[h])
    assert xs[3] - xs[2] == pytest.approx(m.advance[a] + m.space)
    ink = s.image < 128
    cols = np.flatnonzero(ink.any(0))
    first = s.placed[0]
    assert cols[0] == round(first.x + m.lsb[h])                                 # ink starts one bearing after the pen
    runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
    assert len(runs) == 4 and all(len(r) >= 10 for r in runs)                   # four separate glyphs, none clipped


def test_glyphs_sit_on_the_baseline_and_lines_are_one_cell_apart():
    stack = _blocks()
    s = typeset(stack, "HH\nH")
    assert len(s.baselines) == 2 and s.baselines[1] - s.baselines[0] == R
    for p in s.placed:
        assert p.baseline == s.baselines[p.line]
        col = s.image[:, int(round(p.x + 3))] < 128                              # a column through the bar
        top = p.baseline - BASE                                                  # the line's cell top
        line_rows = np.flatnonzero(col[top:top + R]) + top
        assert line_rows.max() == p.baseline - 1                                 # ink ends on the baseline
        assert line_rows.min() == p.baseline - CAP                               # and reaches the cap height
    assert [p.line for p in s.placed] == [0, 0, 1]
    assert s.placed[2].x == s.placed[0].x                                         # a new line starts at the margin


def test_geometry_scales_with_the_stack_resolution():
    small = _blocks()[:, ::2, ::2]                                                # 32 px cells: baseline row 23
    s = typeset(small, "H")
    assert s.baselines[0] - (s.image.shape[0] - 32) // 2 == 23
    assert glyph_metrics(small).cap == pytest.approx(16)


def test_unknown_characters_are_dotted_boxes_not_errors():
    stack = _blocks()
    s = typeset(stack, "H€H ß&\x00\u200b😀")
    boxes = [p for p in s.placed if p.glyph < 0]
    assert [p.char for p in boxes] == ["€", "ß", "&", "😀"]                   # control and zero-width dropped
    assert s.unknown == "".join(sorted("€ß&😀"))
    box = boxes[0]
    region = s.image[box.baseline - CAP:box.baseline, box.cell_x:box.cell_x + 12]
    assert (region < 128).any() and (region >= 128).mean() > 0.5                # a visible, dotted outline
    assert s.placed[2].x > box.x + box.advance - 1e-3                           # the text goes on after it


def test_a_character_as_a_reader_sees_it_is_one_box_and_decomposed_accents_compose():
    """A tester's: 👍🏽 (a thumb and a skin tone) drew two boxes and listed the tone on its own; "e" + U+0301
    (as some keyboards type é) is é."""
    stack = _blocks()
    s = typeset(stack, "H👍🏽H e\u0301 🇫🇷")
    boxes = [p for p in s.placed if p.glyph < 0]
    assert [p.char for p in boxes] == ["👍🏽", "🇫🇷"]
    assert s.unknown == unknown_chars("H👍🏽H e\u0301 🇫🇷", available(CHARS)) == "🇫🇷👍🏽"
    assert next(p for p in s.placed if p.char == "é").glyph >= 62                  # composed from the face's e
    assert missing_note(s.unknown) == "Not in this typeface, shown as dotted boxes: 🇫🇷 👍🏽."
    assert clusters("a👨\u200d👩\u200d👧b") == ["a", "👨\u200d👩\u200d👧", "b"]


def test_a_dash_never_begins_a_wrapped_line():
    stack = _blocks()
    one = typeset(stack, "HHH").image.shape[1]
    s = typeset(stack, "HHH HHH \u2014 HHH", wrap=one * 2.0)                   # two words a line, not with the dash
    first_on = {p.line: p.char for p in reversed(s.placed)}                      # each line's first character
    assert "\u2014" not in first_on.values() and any(p.char == "\u2014" for p in s.placed)


def test_empty_and_blank_text_give_a_blank_image():
    stack = _blocks()
    for text in ("", "   ", "\n\n", "\t"):
        s = typeset(stack, text)
        assert s.empty and s.placed == [] and s.image.dtype == np.uint8
        assert s.image.size > 0 and (s.image == 255).all()
    assert not typeset(stack, "x").empty


def test_long_text_is_cut_and_wrapping_keeps_lines_inside_the_width():
    stack = _blocks()
    assert typeset(stack, "H" * 5000).truncated
    s = typeset(stack, "HH HH HH HH HH HH", wrap=100)
    assert len(s.baselines) > 1
    assert all(p.x + p.advance <= 100 + 8 + 1e-3 for p in s.placed)            # 8 px margin


def test_real_looking_faces_set_left_to_right_and_the_sheet_sits_below():
    stack = render_stacks(n=1, res=64)[0].numpy()                                # Pillow's built-in font
    s = typeset(stack, PANGRAM)
    xs = [p.x for p in s.placed]
    assert len(s.placed) == len(PANGRAM.replace(" ", "")) and xs == sorted(xs)
    assert (s.image < 128).any()
    img = specimen_sheet(stack, PANGRAM)
    assert img.ndim == 3 and img.shape[-1] == 1 and img.shape[1] >= 13 * 64
    assert img.shape[0] > 5 * 64                                                 # specimen + 5 sheet rows
    floaty = torch.from_numpy(stack).float() / 127.5 - 1                         # generator output in [-1, 1]
    assert np.array_equal(typeset(floaty, "Hi").image, typeset(stack, "Hi").image)
    with pytest.raises(ValueError, match="glyph stack"):
        typeset(np.zeros((62, 64, 32), np.uint8), "x")


def test_blank_glyphs_still_advance():
    stack = np.zeros((62, R, R), np.uint8)                                        # an untrained model's face
    s = typeset(stack, "abc")
    assert len(s.placed) == 3 and all(p.advance > 0 for p in s.placed)
    assert (s.image == 255).all()


def test_a_glyph_sheet_gives_back_its_stack():
    stack = render_stacks(n=1, res=32)[0].numpy()
    assert np.array_equal(stack_from_sheet(glyph_sheet(stack)), stack)
    assert np.array_equal(stack_from_sheet(glyph_sheet(stack)[..., 0]), stack)
    with pytest.raises(ValueError, match="not a glyph sheet"):
        stack_from_sheet(np.zeros((64, 64, 1), np.uint8))


def test_a_word_wider_than_the_line_is_broken_so_no_line_runs_off():
    """A pasted URL or a row of one letter used to stay on one line thousands of px wide, which the app then
    shrank to an unreadable hairline; now it breaks between characters and every line keeps inside the width."""
    stack = _blocks()
    s = typeset(stack, "Wide " + "W" * 300, wrap=300)
    assert len(s.baselines) > 5
    assert all(p.x + p.advance <= 300 + 8 + 1e-3 for p in s.placed)            # 8 px margin
    assert "".join(p.char for p in s.placed) == "Wide" + "W" * 300           # nothing dropped, order kept
    assert s.image.shape[1] <= 300 + 2 * 8 + R


def test_haze_and_specks_around_a_glyph_do_not_widen_it():
    """A young generator leaves faint pixels (below the tracer's half-ink threshold) and 1-2 px specks
    near the cell edges: they must not stretch the ink box, or every advance becomes the cell width."""
    clean = _blocks()
    noisy = clean.copy()
    noisy[:, 10:50, 0:3] = 90                                   # faint haze along the left edge
    noisy[:, 5, 60] = 255                                       # a one-pixel speck near the right edge
    noisy[:, 20:22, 62] = 200                                   # a two-pixel speck
    a, b = glyph_metrics(clean), glyph_metrics(noisy)
    assert np.allclose(a.ink_left, b.ink_left) and np.allclose(a.ink_right, b.ink_right)
    assert np.allclose(a.advance, b.advance)
    i = CHARS.index("i")                                        # a real dot (well above the speck size) is kept
    dotted = clean.copy()
    dotted[i, 8:12, 40:44] = 255
    assert glyph_metrics(dotted).ink_right[i] == 44


def test_a_stray_stroke_far_from_the_glyph_does_not_widen_it():
    """A generated "k" had a 5 px stroke at the cell's left edge (above the speck size, full ink): it set
    "black" as "blac k". Small strokes far from the glyph's largest stroke are strays; large ones stay."""
    clean = _blocks()
    k = CHARS.index("k")
    stray = clean.copy()
    stray[k, 30:32, 1:4] = 255                                   # 6 px, 23 px left of the bar
    assert glyph_metrics(stray).ink_left[k] == glyph_metrics(clean).ink_left[k] == 27
    near = clean.copy()
    near[k, 30:32, 21:24] = 255                                  # the same stroke 3 px from the bar: part of it
    assert glyph_metrics(near).ink_left[k] == 21
    big = clean.copy()
    big[k, BASE - CAP:BASE, 2:6] = 255                           # a second stem, 40 % of the first, far away
    assert glyph_metrics(big).ink_left[k] == 2
