"""explorer/explore/preview.py and the missing-character note of explorer/explore/specimen.py."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.explore.built_glyphs import available
from explorer.explore.engine import load_engine
from explorer.explore.preview import export_size, preview, to_height
from explorer.explore.specimen import CHARS, missing_note, typeset, unknown_chars
from tests.factories import export_generator
from tests.glyph_stacks import render_stacks


def test_missing_note_keeps_the_characters_exactly_as_typed():
    spec = typeset(render_stacks(1)[0], "Hi ÉØ ß € Þ")          # É and Ø are composed from E and O, not the others
    assert spec.unknown == unknown_chars("Hi ÉØ ß € Þ", available(CHARS)) == "Þß€"
    assert unknown_chars("Hi ÉØ ß €") == "ÉØß€"                               # against the 62 alone
    assert missing_note(spec.unknown) == "Not in this typeface, shown as dotted boxes: Þ ß €."
    assert missing_note("", truncated=True) == "The text was cut to its first 2,000 characters."
    assert missing_note("") == ""
    assert missing_note("€.") == "Not in this typeface, shown as dotted boxes: € ."     # not ". ." read as ".."


def test_preview_leaves_image_models_alone_and_scales_to_a_height(tmp_path):
    _, side = export_generator(tmp_path / "img")
    eng = load_engine(side)
    imgs = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 1), dtype=np.uint8)
    assert preview(imgs, eng, "Ag") is imgs
    assert preview(imgs, eng, "Ag", height=64).shape == (2, 64, 64, 1)
    assert to_height(np.zeros((1, 10, 30, 3), np.uint8), 25).shape == (1, 25, 75, 3)
    assert export_size(imgs, 128, font=True) == export_size(imgs, 128, font=False) == (128, 128)
    with pytest.raises(ValueError):
        to_height(imgs, 0)
