"""Font export: the OpenType file of a glyph stack opens in fontTools, renders in Pillow like the bitmaps it
came from (IoU), and carries a correct cmap, advances, vertical metrics, a unique family and the recipe."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTFont

from explorer.explore import fontexport as FE
from explorer.explore.accents import ACCENTED, CARON_BESIDE, base_of
from explorer.explore.built_glyphs import BUILT, complete
from explorer.explore.specimen import CHARS, glyph_metrics
from tests.glyph_stacks import render_stacks

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")       # fonts-dejavu-core (run.sh installs it)
RECIPE = json.dumps({"format": "latent-explorer-recipe", "model": "fonts", "seed": 7, "psi": 0.7})


def _stacks() -> dict[str, np.ndarray]:
    pil = render_stacks(n=2, res=64).numpy()                                    # needs no font file
    out = {"pillow-thin": pil[0], "pillow-bold": pil[1]}
    if DEJAVU.exists():
        from explorer.data.fontrender import render_face
        out["dejavu-sans"] = render_face(DEJAVU).glyphs
    return out


@pytest.mark.parametrize("name", sorted(_stacks()))
def test_exported_font_renders_like_the_bitmaps(name):
    stack = _stacks()[name]
    otf = FE.build_font(stack, RECIPE, model="fonts")
    font = FE.read_font(otf)                                                     # fontTools opens it
    assert font.sfntVersion == "OTTO" and "CFF " in font
    full, glyphs = complete(stack, CHARS)                                 # its punctuation, accented letters too
    drawn = FE.drawn_cells(otf, full, glyphs) >= 128
    real = full >= 128
    iou = (drawn & real).sum((1, 2)) / np.maximum((drawn | real).sum((1, 2)), 1)
    assert iou.mean() >= 0.9, f"mean IoU {iou.mean():.3f}"
    assert iou.min() >= 0.7, f"worst glyph {glyphs[int(iou.argmin())]}: IoU {iou.min():.3f}"


def _contours(font: TTFont, ch: str) -> int:
    from fontTools.pens.recordingPen import RecordingPen
    pen = RecordingPen()
    font.getGlyphSet()[font.getBestCmap()[ord(ch)]].draw(pen)
    return sum(op == "closePath" for op, _ in pen.value)


def test_the_marks_of_built_glyphs_survive_the_export():
    """A tester's: the downloaded font's Å had a solid dot, its ring's hole filled as a pinhole (and a
    diaeresis' dots were small enough to go as specks): built glyphs are not cleaned again."""
    font = FE.read_font(FE.build_font(render_stacks(n=2, res=64)[1].numpy(), RECIPE))
    assert _contours(font, "Å") == _contours(font, "A") + 2                      # a ring: outside and hole
    assert _contours(font, "å") == _contours(font, "a") + 2
    assert _contours(font, "ü") == _contours(font, "u") + 2 and _contours(font, "é") == _contours(font, "e") + 1
    assert _contours(font, ":") == 2 and _contours(font, '"') == 2


def test_cmap_metrics_names_and_recipe():
    stack = render_stacks(n=2, res=64)[1].numpy()
    otf = FE.build_font(stack, RECIPE, model="fonts")
    font = FE.read_font(otf)
    cmap = font.getBestCmap()
    assert {chr(c) for c in cmap} == set(CHARS) | set(BUILT) | {" "}         # punctuation, accents from its parts
    assert cmap[ord("A")] == "A" and cmap[ord("0")] == "zero" and cmap[32] == "space" and cmap[ord(".")] == "period"
    assert cmap[0xE9] == "eacute" and cmap[0x131] == "dotlessi" and cmap[0x2019] == "quoteright"
    m = glyph_metrics(stack)
    unit = FE.CAP_UNITS / m.cap
    hmtx = font["hmtx"]
    for i, ch in enumerate(CHARS):
        assert hmtx[cmap[ord(ch)]][0] == round(float(m.advance[i]) * unit)
    for ch in ACCENTED:                    # set exactly as its base letter; ď ť ... wider by the caron beside
        wide, plain = hmtx[cmap[ord(ch)]][0], hmtx[cmap[ord(base_of(ch))]][0]
        assert wide == plain or (ch in CARON_BESIDE and wide > plain)
    os2 = font["OS/2"]
    assert all(os2.ulUnicodeRange1 & 1 << bit for bit in (0, 1, 2))         # Basic Latin, Latin-1, Extended-A
    assert hmtx["space"][0] == round(m.space * unit)
    assert font["hhea"].ascent == round(46 * unit) and font["hhea"].descent == -round(18 * unit)
    assert font["OS/2"].sTypoAscender == font["hhea"].ascent and font["OS/2"].usWinDescent == -font["hhea"].descent
    assert font["OS/2"].sCapHeight == FE.CAP_UNITS
    post, os2 = font["post"], font["OS/2"]
    assert post.underlinePosition < 0 and FE.RULE_RANGE[0] <= post.underlineThickness <= FE.RULE_RANGE[1]
    assert os2.yStrikeoutSize == post.underlineThickness and 0 < os2.yStrikeoutPosition < FE.CAP_UNITS
    assert os2.ulCodePageRange1 & 1 and font["head"].lowestRecPPEM == FE.LOWEST_PPEM     # Latin 1
    private = font["CFF "].cff.topDictIndex[0].Private                                  # hints: zones, stems
    blues = list(private.BlueValues)
    assert blues[:2] == [-FE.OVERSHOOT, 0] and blues[-2:] == [FE.CAP_UNITS, FE.CAP_UNITS + FE.OVERSHOOT]
    assert blues == sorted(blues) and len(blues) % 2 == 0 and os2.sxHeight in blues
    assert private.StdVW == private.StdHW == post.underlineThickness
    assert FE.private_dict(0, 50)["BlueValues"] == [-FE.OVERSHOOT, 0, FE.CAP_UNITS, FE.CAP_UNITS + FE.OVERSHOOT]
    thin = FE.read_font(FE.build_font(render_stacks(n=2, res=64)[0].numpy(), RECIPE))
    assert thin["post"].underlineThickness < post.underlineThickness                     # as thick as a stem
    name = font["name"]
    family = name.getDebugName(1)
    assert family == FE.font_family(RECIPE) and family.startswith("Latent ")
    assert json.loads(name.getDebugName(FE.RECIPE_NAME_ID)) == json.loads(RECIPE)
    assert "fonts" in name.getDebugName(10)
    other = FE.read_font(FE.build_font(stack, RECIPE.replace('"seed": 7', '"seed": 8')))
    assert other["name"].getDebugName(1) != family                               # a new recipe, a new family


def test_text_svg_draws_known_glyphs_and_boxes_unknown_ones():
    stack = render_stacks(n=1, res=64)[0].numpy()
    otf = FE.build_font(stack, RECIPE)
    svg = FE.text_svg(otf, "Hi there\nok € 👍🏽")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}path")) == len("Hithereok")
    assert len(root.findall(f".//{ns}g/{ns}rect")) == 2                          # the € and the thumb: one box
    assert ET.fromstring(FE.text_svg(otf, "")).tag == f"{ns}svg"


def test_fonts_fonttools_cannot_parse_are_a_clear_error():
    otf = FE.build_font(render_stacks(n=1, res=64)[0].numpy(), RECIPE)
    for bad in (b"", b"not a font at all", otf[: len(otf) // 3], b"OTTO" + b"\0" * 200):
        with pytest.raises(ValueError, match="not a font file fontTools can read"):
            FE.read_font(bad)


def test_missing_potrace_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(FE.shutil, "which", lambda _name: None)
    with pytest.raises(FE.FontExportError, match="apt-get install potrace"):
        FE.build_font(render_stacks(n=1, res=32)[0].numpy(), RECIPE)


def test_blank_glyphs_still_make_an_installable_font():
    otf = FE.build_font(np.zeros((62, 32, 32), np.uint8), RECIPE)               # an untrained model's face
    font = FE.read_font(otf)
    assert len(font.getBestCmap()) == 63 and all(font["hmtx"][g][0] > 0 for g in font.getGlyphOrder()[1:])


def test_specks_are_not_traced():
    stack = render_stacks(n=1, res=64).numpy()[0].copy()
    clean = FE.trace(stack)
    stack[:, 2, 2] = 255                                                        # a one-pixel speck in every cell
    stack[:, 60:62, 60] = 255                                                   # and a two-pixel one
    specky = FE.trace(stack)
    assert [len(p.value) for p in specky] == [len(p.value) for p in clean]      # no extra contours


@pytest.mark.skipif(not DEJAVU.exists(), reason="fonts-dejavu-core is not installed")
def test_the_exported_font_declares_the_weight_and_slant_it_has():
    """A face is not always "Regular 400": weight class and italic are measured from its glyphs, and the
    names follow style linking (RIBBI legacy names, the full style in the typographic names)."""
    from explorer.data.fontrender import render_face
    from explorer.explore.font_style import REGULAR, font_style, weight_class
    got = {}
    for name in ("DejaVuSans", "DejaVuSans-ExtraLight", "DejaVuSans-Oblique", "DejaVuSerif-BoldItalic"):
        font = TTFont(io.BytesIO(FE.build_font(render_face(DEJAVU.with_name(f"{name}.ttf")).glyphs, RECIPE)))
        n = font["name"]
        got[name] = (font["OS/2"].usWeightClass, font["OS/2"].fsSelection & 0b1100001, font["head"].macStyle,
                     font["post"].italicAngle < -4, n.getDebugName(2), n.getDebugName(17))
        p = font["OS/2"].panose                       # Latin Text, the weight digit of the weight class
        assert (p.bFamilyType, p.bWeight) == (2, font["OS/2"].usWeightClass // 100 + 1), name
        assert n.getDebugName(16) == FE.font_family(RECIPE) and n.getDebugName(4).endswith(n.getDebugName(17))
    assert got["DejaVuSans"] == (400, 64, 0, False, "Regular", "Regular")
    assert got["DejaVuSans-ExtraLight"][0] < 400 and got["DejaVuSans-ExtraLight"][4] == "Regular"
    assert got["DejaVuSans-Oblique"] == (400, 1, 2, True, "Italic", "Italic")
    assert got["DejaVuSerif-BoldItalic"] == (700, 33, 3, True, "Bold Italic", "Bold Italic")
    assert weight_class(float("nan")) == 400 and weight_class(0.01) == 100 and weight_class(0.5) == 900
    assert font_style(np.zeros((26, 64, 64), np.uint8), CHARS[:26]) == REGULAR      # other glyph sets: Regular


@pytest.mark.skipif(not DEJAVU.exists(), reason="fonts-dejavu-core is not installed")
def test_specks_do_not_change_the_declared_x_height_or_style():
    """The declared metrics describe the outlines, which leave out the specks a generator scatters: a speck
    above the x (it made a generated face's x-height taller than its capitals) changes neither sxHeight
    nor the weight class and italic flag."""
    from explorer.data.fontrender import render_face
    clean = render_face(DEJAVU).glyphs.copy()
    specky = clean.copy()
    specky[CHARS.index("x"), 3:5, 30:32] = 255                                 # a 2x2 speck high above the x
    specky[:, 1:3, 1:3] = 255                                                   # one in every cell's corner
    specky[:, 60:62, 40:42] = 200
    a, b = (TTFont(io.BytesIO(FE.build_font(s, RECIPE))) for s in (clean, specky))
    assert a["OS/2"].sxHeight == b["OS/2"].sxHeight < a["OS/2"].sCapHeight
    assert (a["OS/2"].usWeightClass, a["post"].italicAngle) == (b["OS/2"].usWeightClass, b["post"].italicAngle)


def test_exported_fonts_pass_the_opentype_sanitizer_browsers_use(tmp_path):
    """OTS (the OpenType Sanitizer that Chrome and Firefox run on every web font) accepts the exported
    fonts: generated-like faces, a real face and a blank one; it refuses a broken file (so it is checking)."""
    import os

    import ots
    stacks = {**{f"pillow{i}": s for i, s in enumerate(render_stacks(n=2, res=64).numpy())},
              "blank": np.zeros((62, 64, 64), np.uint8)}
    if DEJAVU.exists():
        from explorer.data.fontrender import render_face
        stacks["dejavu-sans"] = render_face(DEJAVU).glyphs
    for name, stack in stacks.items():
        path = tmp_path / f"{name}.otf"
        path.write_bytes(FE.build_font(stack, RECIPE))
        res = ots.sanitize(str(path), os.devnull, capture_output=True)
        assert res.returncode == 0, f"{name}: {res.stderr.decode(errors='replace')[:400]}"
    broken = tmp_path / "broken.otf"
    broken.write_bytes(FE.build_font(stacks["pillow0"], RECIPE)[:2000])
    assert ots.sanitize(str(broken), os.devnull, capture_output=True).returncode != 0
