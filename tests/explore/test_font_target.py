"""A font as a projection target: installed and uploaded fonts become glyph stacks; broken files get reasons."""

from __future__ import annotations

import pytest

from explorer.explore.font_target import FONT_MAX_BYTES, installed_fonts, uploaded_font_glyphs

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
