"""The real app in Chromium on a font model: type a word, see the specimen change, download the font and
the SVG of the word, and open both."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from explorer.bench.browser import IMG, chromium_available, wait_idle
from explorer.explore.fontexport import RECIPE_NAME_ID, read_font
from tests.factories import served_app, server_env
from tests.ui.test_app_fonts import export_font_model

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))


def _has_outline(font, ch: str) -> bool:
    from fontTools.pens.boundsPen import BoundsPen
    pen = BoundsPen(font.getGlyphSet())
    font.getGlyphSet()[font.getBestCmap()[ord(ch)]].draw(pen)
    return pen.bounds is not None


def _first_image(page) -> str:
    return page.locator(IMG).first.get_attribute("src") or ""


def test_type_a_word_and_download_the_font(tmp_path):
    export_font_model(tmp_path / "pre" / "fonts")
    with served_app(server_env(tmp_path), accept_downloads=True) as (url, page):
        page.goto(url)
        page.wait_for_selector(".st-key-font_text textarea", timeout=90_000)
        page.wait_for_selector(IMG, timeout=90_000)
        wait_idle(page)
        before = _first_image(page)                                   # the specimen of the pangram
        box = page.locator(".st-key-font_text textarea")
        box.fill("Hello")
        box.press("Control+Enter")                                    # a text area submits on Ctrl+Enter
        page.wait_for_function("(b) => { const i = document.querySelector('[data-testid=\"stImage\"] img, "
                               "[data-testid=\"stImageContainer\"] img'); return i && i.src !== b; }",
                               arg=before, timeout=60_000)
        wait_idle(page)
        page.get_by_text("Font", exact=True).click()                  # the Font panel
        page.wait_for_selector(".st-key-font_otf button", timeout=60_000)
        wait_idle(page)
        with page.expect_download(timeout=90_000) as info:
            page.locator(".st-key-font_otf").get_by_role("button", name="Font .otf").first.click()
        otf = info.value.path().read_bytes()
        assert info.value.suggested_filename.startswith("Latent-") and info.value.suggested_filename.endswith(".otf")
        with page.expect_download(timeout=90_000) as info_svg:
            page.locator(".st-key-font_svg").get_by_role("button", name="SVG").first.click()
        svg = info_svg.value.path().read_text()

    font = read_font(otf)
    assert font["name"].getDebugName(1).startswith("Latent ")
    recipe = json.loads(font["name"].getDebugName(RECIPE_NAME_ID))
    assert recipe["model"] == "fonts"
    assert {chr(c) for c in font.getBestCmap()} >= set("Hello")
    im = Image.new("L", (400, 120), 0)
    ImageDraw.Draw(im).text((10, 90), "Hello", font=ImageFont.truetype(io.BytesIO(otf), size=64), fill=255,
                            anchor="ls")
    assert (np.asarray(im) > 0).any()                                # the downloaded font sets the typed word
    root = ET.fromstring(svg)
    paths = root.findall(".//{http://www.w3.org/2000/svg}path")
    inked = [c for c in "Hello" if _has_outline(font, c)]
    assert len(paths) == len(inked) == 5                              # the typed word, not the default pangram
