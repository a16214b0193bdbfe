"""A font as a projection target: installed and uploaded fonts become glyph stacks; broken files get reasons."""

from __future__ import annotations

import pytest

from explorer.explore.font_target import FONT_MAX_BYTES, WEB_MAX_RATIO, installed_fonts, uploaded_font_glyphs

FONTS = [p for p in installed_fonts() if p.suffix.lower() == ".ttf"]


@pytest.mark.skipif(not FONTS, reason="no TrueType font installed")
def test_an_uploaded_font_renders_like_the_dataset_and_broken_ones_are_refused() -> None:
    data = FONTS[0].read_bytes()
    stack, why = uploaded_font_glyphs(data, "../../etc/passwd.ttf")         # the name is never a path
    assert why is None and stack.shape == (64, 64, 62) and stack.dtype.name == "uint8"
    assert stack[..., 0].max() > 128                                        # 'A' has ink
    from explorer.data.fontrender import render_face
    assert (render_face(FONTS[0]).glyphs.transpose(1, 2, 0) == stack).all()   # exactly the dataset's render
    stack, why = uploaded_font_glyphs(data[: len(data) // 3], "cut.ttf")
    assert stack is None and why.startswith("a broken font file")
    assert "does not start like one" in uploaded_font_glyphs(b"<svg></svg>" * 10, "x.otf")[1]
    assert "too large" in uploaded_font_glyphs(b"OTTO" + b"\0" * FONT_MAX_BYTES, "big.otf")[1]
    assert uploaded_font_glyphs(b"", "e.ttf")[1] == "the file is empty"


@pytest.mark.skipif(not FONTS, reason="no TrueType font installed")
@pytest.mark.parametrize("flavor", ["woff", "woff2"])
def test_a_web_font_is_unpacked_and_renders_like_the_font_inside(flavor: str) -> None:
    import io

    from fontTools.ttLib import TTFont
    font = TTFont(str(FONTS[0]))
    font.flavor = flavor
    buf = io.BytesIO()
    font.save(buf)
    web = buf.getvalue()
    stack, why = uploaded_font_glyphs(web, f"site.{flavor}")
    plain, _ = uploaded_font_glyphs(FONTS[0].read_bytes(), "plain.ttf")
    assert why is None and (stack == plain).all()
    cut, why = uploaded_font_glyphs(web[: len(web) // 2], f"cut.{flavor}")
    assert cut is None and f"broken {flavor.upper()} web font" in why
    bomb = bytearray(web)
    bomb[16:20] = (WEB_MAX_RATIO * FONT_MAX_BYTES + 1).to_bytes(4, "big")    # declares a huge unpacked size
    assert "too large to open" in uploaded_font_glyphs(bytes(bomb), "bomb.woff")[1]


def test_a_truncated_font_is_said_to_be_cut_short() -> None:
    from explorer.explore.font_target import check_font_bytes
    assert check_font_bytes(b"\x00\x01\x00\x00" + b"\x00" * 8) is not None
    if FONTS:
        why = check_font_bytes(FONTS[0].read_bytes()[:2000])
        assert why is not None and why.startswith("a broken font file: it is cut short"), why
        assert "offset" not in why and "TTLibError" not in why, why                # no fontTools internals
