"""The latent map in Chromium: hovering a point shows its picture, clicking it previews that sample, and
"Open" opens it in the explorer with the sidebar's model kept."""

from __future__ import annotations

import re

import pytest

from explorer.bench.browser import chromium_available, wait_idle
from tests.factories import export_generator, served_app, server_env

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))
PLOT = "[class*='st-key-lm_plot'] .vega-embed"          # lm_plot, then lm_plot-N once a Sample was typed
TOOLTIP = "#vg-tooltip-element.visible"


@pytest.fixture
def served(tmp_path):
    export_generator(tmp_path / "pre" / "a-plain")                         # "tiny" is not the default model
    export_generator(tmp_path / "pre" / "tiny", ["cat", "dog", "owl"])
    with served_app(server_env(tmp_path)) as (url, page):
        yield url, page


def _hover_a_point(page) -> tuple[float, float]:
    """Move the mouse over the map (centre outwards, where PCA puts most points) until a point's hover box
    shows; its position."""
    box = page.locator(f"{PLOT} canvas, {PLOT} svg.marks").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for r in range(0, int(box["width"] / 2), 6):
        for dx, dy in ((r, 0), (0, r), (-r, 0), (0, -r), (r, r), (-r, -r), (r, -r), (-r, r)):
            page.mouse.move(cx + dx, cy + dy)
            page.wait_for_timeout(15)
            if page.locator(TOOLTIP).count():
                return cx + dx, cy + dy
    raise AssertionError("no point of the map shows a hover box")


def test_hover_shows_a_point_click_previews_it_and_opens_it(served):
    url, page = served
    page.goto(url + "/?m=tiny")
    page.get_by_role("link", name="Latent map").click(timeout=90_000)
    page.wait_for_selector(f"{PLOT} canvas, {PLOT} svg.marks", timeout=90_000)
    wait_idle(page)
    seed = None
    for attempt in range(4):                   # a busy machine may still be laying the chart out: try again
        try:
            x, y = _hover_a_point(page)
            tip = page.locator(TOOLTIP)
            title = tip.locator("h2").text_content() or ""
            seed = int(re.search(r"seed (\d+)", title).group(1))
            assert f"seed {seed} · {['cat', 'dog', 'owl'][seed % 3]}" in title        # sample i: seed i, class i mod 3
            src = tip.locator("img").get_attribute("src") or ""
            assert src.startswith("data:image/png;base64,")                          # the sample's picture on hover
            page.mouse.click(x, y)
            want = f"sample {seed}: seed {seed} · {['cat', 'dog', 'owl'][seed % 3]}"    # still the tiny model
            page.wait_for_function(f"() => document.body.innerText.includes('{want}')", timeout=20_000)
            break
        except Exception:
            if attempt == 3:
                raise
            page.mouse.move(0, 0)
            wait_idle(page)
    wait_idle(page)
    other = (seed + 1) % 300
    box = page.locator(".st-key-lm_pick input")                          # another sample typed in, then a click
    box.fill(str(other))                                                # on the point picked before: it is a new
    box.press("Enter")                                                  # pick again (the same chart sent no event)
    page.wait_for_function(f"() => document.body.innerText.includes('sample {other}: seed {other}')", timeout=20_000)
    wait_idle(page)
    page.wait_for_selector(f"{PLOT} canvas, {PLOT} svg.marks", timeout=60_000)
    x, y = _hover_a_point(page)
    assert f"seed {seed} " in (page.locator(TOOLTIP).locator("h2").text_content() or "") + " "
    page.mouse.click(x, y)
    page.wait_for_function(f"() => document.body.innerText.includes('sample {seed}: seed {seed}')", timeout=20_000)
    wait_idle(page)
    page.locator(".st-key-lm_open").get_by_role("button", name="Open").first.click()   # a button with help
    page.wait_for_selector(".st-key-seed input", timeout=60_000)
    wait_idle(page)
    assert page.locator(".st-key-seed input").input_value() == str(seed)
    for part in ("m=tiny", f"s={seed}", f"c={seed % 3}"):             # sample i is seed i, class i mod 3
        assert re.search(rf"[?&]{part}(&|$)", page.url), page.url
