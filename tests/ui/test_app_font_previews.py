"""Small views of a font model are readable: the Explore direction strip, Interpolate's keyframe thumbnails,
strip preview and GIF/MP4 export show a word set in each face (explorer/explore/preview.py), not a whole
62-glyph sheet shrunk down; notes about missing characters keep their case, on Explore and on Interpolate."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.explore.engine import load_engine
from explorer.explore.preview import export_size, preview
from explorer.imaging.media import frame_count_and_size
from explorer.ui.explore_view import THUMB_PX
from explorer.ui.interpolate_page import export_bytes
from tests.factories import export_generator, page_text, run_app, use_dirs
from tests.ui.test_app_fonts import APP, export_font_model

SHEET_ASPECT = 13 / 5        # a 62-glyph sheet: 13 columns, 5 rows of square cells
WORD_ASPECT_MAX = 2.3        # "Ag" in the tiny model's (noisy, wide) face; a real face's is about 1
MIN_PX = 24                  # the least height, CSS px, at which a tile's letters are readable
MID_COLUMN_PX = 400          # about the width of Explore's middle column (the strip's)
STRIP_COLUMN_PX = 460        # about the width of Interpolate's strip-preview column


@pytest.fixture
def fonts_app(tmp_path, monkeypatch):
    export_generator(tmp_path / "pre" / "emoji")
    G, side = export_font_model(tmp_path / "pre" / "fonts")
    use_dirs(monkeypatch, tmp_path)
    return {"G": G, "side": side}


def _images(at: AppTest) -> list[tuple[str, tuple[int, int]]]:
    """(caption, (width, height)) of every inline PNG shown."""
    out = []
    for el in at.get("image"):
        for im in el.proto.imgs:
            if im.url.startswith("data:image/png;base64,"):
                png = base64.b64decode(im.url.split(",", 1)[1])
                out.append((im.caption, Image.open(io.BytesIO(png)).size))
    return out


def test_the_direction_strip_shows_a_word_per_tile_not_a_glyph_sheet(fonts_app):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    tiles = at.session_state["_strip"][1]                          # (7, H, W, C) tiles of the strip
    n, h, w = tiles.shape[:3]
    assert n == 7 and h >= MIN_PX and w / h < WORD_ASPECT_MAX < SHEET_ASPECT
    width = next(size[0] for _, size in _images(at) if size[0] == n * (w + 2) + 2)   # the strip's PNG
    assert h * min(1.0, MID_COLUMN_PX / width) >= MIN_PX          # readable at the column's width


def _interpolate(at: AppTest, word: str = "Typo", frames: int = 6) -> AppTest:
    at.switch_page("explorer/ui/interpolate_page.py")
    run_app(at)
    at.text_input(key="ip_word").set_value(word)
    at.number_input(key="ip_frames").set_value(frames)
    return run_app(at)


def test_interpolate_keyframes_and_strip_preview_are_readable_words(fonts_app):
    at = _interpolate(run_app(AppTest.from_file(APP, default_timeout=120)))
    images = _images(at)
    thumbs = [size for cap, size in images if cap.startswith(("1: ", "2: "))]
    assert len(thumbs) == 2
    for w, h in thumbs:                                           # shown THUMB_PX wide
        assert w / h < WORD_ASPECT_MAX and THUMB_PX * h / w >= 30
    (w, h), = [size for cap, size in images if cap == "strip preview"]
    rows = h / 6 if h > w else h                                  # 6 frames: stacked, or side by side
    assert rows * min(1.0, STRIP_COLUMN_PX / w) >= MIN_PX
    assert at.selectbox(key="ip_size").label == "Height (px)"


def test_gif_and_mp4_of_a_word_morph_are_the_chosen_size_high(fonts_app):
    eng = load_engine(fonts_app["side"])
    G = fonts_app["G"]
    with torch.no_grad():
        ws = G.mapping(torch.randn(3, G.cfg.z_dim, generator=torch.Generator().manual_seed(0)), None)
    frames = preview(eng.render_ws(ws), eng, "Typo")               # what the page exports for a font model
    assert frames.shape[0] == 3 and frames.shape[2] > 2 * frames.shape[1]   # a word: wide
    for fmt in ("gif", "mp4"):
        n, (w, h) = frame_count_and_size(export_bytes(frames, 128, True, fmt, 12), fmt)
        assert n == 3 and h == 128 and abs(w - frames.shape[2] * 128 / frames.shape[1]) <= 2
    assert export_size(np.zeros((1, 20, 40, 3), np.uint8), 64, False) == (64, 32)   # images: the longer side


def test_missing_characters_keep_their_case_on_explore(fonts_app):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.text_area(key="font_text").set_value("Hi ÉÄ €")
    run_app(at)
    assert "Not in this typeface, shown as dotted boxes: Ä É €." in page_text(at)


def test_interpolate_says_which_characters_of_the_word_are_missing(fonts_app):
    """Ï is composed from I (explorer/explore/accents.py); ß and € cannot be built."""
    at = _interpolate(run_app(AppTest.from_file(APP, default_timeout=120)), word="NaÏveß€")
    assert "Not in this typeface, shown as dotted boxes: ß €." in page_text(at)
    at.text_input(key="ip_word").set_value("Naive")
    run_app(at)
    assert "dotted boxes" not in page_text(at)
