"""Automatic kerning (explorer/explore/kerning.py): loose pairs such as To, AV, LT set closer, straight and
round pairs left alone, no pair set closer than the face's own HH / nn gap, the specimen kerned, the
exported font carrying the same kerns as a GPOS "kern" feature that HarfBuzz applies, and real fonts'
own kerning followed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from explorer.explore import fontexport as FE
from explorer.explore.kerning import REFERENCE, kern_feature, pair_kerns
from explorer.explore.specimen import CHARS, glyph_metrics, real_metrics, typeset
from tests.glyph_stacks import render_stacks

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")       # fonts-dejavu-core (run.sh installs it)
CLASSIC = ["AV", "AW", "AY", "AT", "Av", "Aw", "LT", "LV", "LW", "LY", "PA", "TA", "Ta", "Te", "To", "Tr", "Tu", "Ty",
           "VA", "Va", "Ve", "Vo", "WA", "Wa", "We", "Wo", "YA", "Ya", "Ye", "Yo", "FA", "Fa", "Fo"]
NEUTRAL = ["HH", "nn", "oo", "HO", "no", "On", "ll", "il", "mn", "ho", "bo", "HI", "NO", "EE", "ss", "tt"]


def _face() -> np.ndarray:
    return render_stacks(n=2, res=64).numpy()[1]


def _kerns(stack: np.ndarray, pairs: list[str]) -> dict[tuple[str, str], float]:
    return pair_kerns(stack, glyph_metrics(stack), CHARS, [(p[0], p[1]) for p in pairs])


def test_loose_pairs_close_and_straight_or_round_ones_stay():
    k = _kerns(_face(), CLASSIC + NEUTRAL)
    for p in ("To", "AV", "LT", "Ty", "Te", "Ya", "VA"):
        assert k.get((p[0], p[1]), 0.0) < -0.5, p
    assert not {(p[0], p[1]) for p in NEUTRAL} & set(k)
    assert all(v < 0 for v in k.values())                                     # kerning only closes gaps


def test_no_pair_is_set_closer_than_the_faces_own_hh_or_nn():
    stack = _face()

    def ink_gap(text: str, kern: bool) -> float:            # the least distance between the two glyphs' ink
        s = typeset(stack, text, kern=kern)
        masks = []
        for p in s.placed:
            m = np.zeros((s.image.shape[0] + 128, s.image.shape[1] + 128), bool)   # room around the cells
            top = p.baseline - glyph_metrics(stack).baseline + 64
            m[top:top + 64, p.cell_x + 64:p.cell_x + 128] = stack[p.glyph] >= 128
            masks.append(m)
        return float(ndimage.distance_transform_edt(~masks[0])[masks[1]].min())
    floor = min(ink_gap(c + c, True) for c in REFERENCE)
    for p in ("To", "AV", "LT", "Ty", "Yo"):
        assert ink_gap(p, True) < ink_gap(p, False)                          # closer than without kerning
        assert ink_gap(p, True) >= floor / 2                                 # never touching
    for p in ("To", "AV", "LT", "Yo"):                                       # side by side: not closer than HH / nn
        assert ink_gap(p, True) >= floor - 0.25, (p, ink_gap(p, True), floor)
    # (Ty: the y goes under the T's bar, as real fonts kern it; their gap is the bar's clearance above the
    # y, which is the face's own and which kerning cannot change: 3 px here, against 4 in HH)


def test_the_specimen_is_kerned_and_can_be_set_without():
    stack = _face()
    k = _kerns(stack, ["To"])[("T", "o")]
    kerned, plain = typeset(stack, "To"), typeset(stack, "To", kern=False)
    assert kerned.placed[1].x - kerned.placed[0].x == pytest.approx(plain.placed[1].x - plain.placed[0].x + k)
    assert typeset(stack, "T o").placed[1].x == typeset(stack, "T o", kern=False).placed[1].x   # not over a space


def test_a_face_without_its_reference_letters_gets_no_kerning():
    stack = _face().copy()
    for c in REFERENCE:
        stack[CHARS.index(c)] = 0
    assert _kerns(stack, CLASSIC) == {}
    assert kern_feature({}, {"T": "T"}, 20.0) == ""
    assert "pos T o -30;" in kern_feature({("T", "o"): -1.5}, {"T": "T", "o": "o"}, 20.0)


def test_the_exported_font_kerns_as_the_specimen_does():
    hb = pytest.importorskip("uharfbuzz")
    stack = _face()
    m = glyph_metrics(stack)
    font_data = FE.build_font(stack, '{"seed": 1}', extra="")
    font = hb.Font(hb.Face(hb.Blob(font_data)))
    units_per_px = FE.geometry(m).unit

    def kern(pair: str) -> int:                            # the advance HarfBuzz's "kern" adds to the pair's first
        advances = []
        for feats in ({"kern": True}, {"kern": False}):
            buf = hb.Buffer()
            buf.add_str(pair)
            buf.guess_segment_properties()
            hb.shape(font, buf, feats)
            advances.append(buf.glyph_positions[0].x_advance)
        return advances[0] - advances[1]
    ours = pair_kerns(FE.clean_glyphs(stack, CHARS), m, CHARS, [("T", "o"), ("A", "V"), ("H", "H")])
    assert kern("To") == round(ours[("T", "o")] * units_per_px) < 0
    assert kern("AV") == round(ours[("A", "V")] * units_per_px) < 0
    assert kern("HH") == 0
    svg = FE.text_svg(font_data, "To")                     # the SVG of the typed text is kerned the same
    x = [float(v) for v in re.findall(r'translate\(([-0-9.]+),', svg)]
    advance_t = FE.read_font(font_data)["hmtx"]["T"][0]
    assert x[1] - x[0] == pytest.approx(advance_t + round(ours[("T", "o")] * units_per_px), abs=0.11)


@pytest.mark.skipif(not DEJAVU.exists(), reason="needs fonts-dejavu-core (run.sh installs it)")
def test_it_follows_a_real_fonts_own_kerning():
    """DejaVu Sans's kerning (HarfBuzz, kern on minus off) against ours from its rendered glyphs and its own
    advance widths: 0.70 correlation when written, and closer to it than no kerning at all."""
    hb = pytest.importorskip("uharfbuzz")
    from explorer.data.fontrender import render_face
    face = render_face(DEJAVU)
    font_face = hb.Face(hb.Blob.from_file_path(str(DEJAVU)))
    font = hb.Font(font_face)
    real = []
    for pair in CLASSIC + NEUTRAL:
        advances = []
        for feats in ({"kern": True}, {"kern": False}):
            buf = hb.Buffer()
            buf.add_str(pair)
            buf.guess_segment_properties()
            hb.shape(font, buf, feats)
            advances.append(buf.glyph_positions[0].x_advance)
        real.append((advances[0] - advances[1]) * face.ppem / font_face.upem)
    mine = pair_kerns(face.glyphs, real_metrics(face.glyphs, face.advance, face.origin_x), CHARS,
                      [(p[0], p[1]) for p in CLASSIC + NEUTRAL])
    ours = [mine.get((p[0], p[1]), 0.0) for p in CLASSIC + NEUTRAL]
    assert np.corrcoef(real, ours)[0, 1] > 0.5
    assert np.abs(np.subtract(real, ours)).mean() < np.abs(real).mean()
