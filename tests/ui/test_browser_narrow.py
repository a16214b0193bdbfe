"""The app in Chromium at 900 px wide with the sidebar open (the testers' window) on a font model: the seed
buttons ◀ ▶ 🎲 share a row, the Font panel's toggle label is not cut, /latent_map (typed with an underscore)
opens the latent map at /latent-map, and the map's thumbnails lie inside the chart."""

from __future__ import annotations

import pytest

from explorer.bench.browser import chromium_available, wait_idle
from tests.factories import served_app, server_env
from tests.ui.test_app_fonts import export_font_model

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))
CUT = """(sel) => [...document.querySelectorAll(sel + ' *')]      // text cut to "…" (an ellipsis box) or clipped
    .filter(e => e.innerText && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 0.5).map(e => e.innerText)"""
PICTURES = """() => {       // the thumbnails (SVG images) that reach past the chart's edges
    const svg = document.querySelector("[class*='st-key-lm_plot'] svg.marks"), box = svg.getBoundingClientRect();
    const pics = [...svg.querySelectorAll('image')].map(i => i.getBoundingClientRect());
    return [pics.length, pics.filter(r => r.left < box.left - 0.5 || r.right > box.right + 0.5
                                        || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5).length]; }"""


def test_a_900_px_window_fits_the_seed_buttons_the_toggle_label_and_the_maps_thumbnails(tmp_path):
    export_font_model(tmp_path / "pre" / "fonts")
    with served_app(server_env(tmp_path)) as (url, page):
        page.set_viewport_size({"width": 900, "height": 1000})
        page.goto(url)
        page.wait_for_selector(".st-key-seed input", timeout=90_000)
        wait_idle(page)
        assert page.locator("[data-testid='stSidebar']").bounding_box()["width"] > 200      # the sidebar is open
        seed_buttons = [page.locator(f".st-key-{k} button").first for k in ("prev", "next", "random")]
        rows = {round(b.bounding_box()["y"]) for b in seed_buttons}
        assert len(rows) == 1, rows                                                     # 🎲 did not wrap
        page.get_by_text("Font", exact=True).click()
        page.wait_for_selector(".st-key-font_traced", timeout=60_000)
        wait_idle(page)
        assert page.evaluate(CUT, ".st-key-font_traced") == []                          # was "As downl…"
        page.goto(url + "/latent_map?m=fonts")
        page.wait_for_selector(".st-key-seed input, [class*='st-key-lm_plot'] svg.marks image", timeout=120_000)
        assert page.url.endswith("/latent-map?m=fonts")                                 # was Explore
        page.wait_for_selector("[class*='st-key-lm_plot'] svg.marks image", timeout=120_000)
        wait_idle(page, 120)
        shown, outside = page.evaluate(PICTURES)
        assert shown > 0 and outside == 0, (shown, outside)
