"""The latent map in Chromium: clicking a point previews that sample, and opens it in the explorer with the
sidebar's model kept."""

from __future__ import annotations

import re

import pytest

from explorer.bench.browser import chromium_available, wait_idle
from tests.factories import export_generator, served_app, server_env

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))
POINTS = ".st-key-lm_plot .js-plotly-plot .scatterlayer .trace"


@pytest.fixture
def served(tmp_path):
    export_generator(tmp_path / "pre" / "a-plain")                         # "tiny" is not the default model
    export_generator(tmp_path / "pre" / "tiny", ["cat", "dog", "owl"])
    with served_app(server_env(tmp_path)) as (url, page):
        yield url, page


def test_click_a_point_and_open_it(served):
    url, page = served
    page.goto(url + "/?m=tiny")
    page.get_by_role("link", name="Latent map").click(timeout=90_000)
    page.wait_for_selector(f"{POINTS} .point", timeout=90_000)
    wait_idle(page)
    seed = None
    for attempt in range(4):                   # a busy machine may still be laying the chart out: click again
        point = page.locator(f"{POINTS} .point").nth(3)
        box = point.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        # plotly picks the clicked point from its hover state, computed on a later animation frame; and the
        # chart may be re-laid out after a click. So: click the point the hover label names, check that one.
        try:
            page.wait_for_selector(".st-key-lm_plot .hoverlayer .hovertext", timeout=10_000)
            hover = page.locator(".st-key-lm_plot .hoverlayer .hovertext").first.text_content() or ""
            seed = int(re.search(r"seed (\d+)", hover).group(1))
            page.mouse.click(x, y)
            want = f"sample {seed}: seed {seed} · {['cat', 'dog', 'owl'][seed % 3]}"    # still the tiny model
            page.wait_for_function(f"() => document.body.innerText.includes('{want}')",
                                   timeout=20_000)
            break
        except Exception:
            if attempt == 3:
                raise
            page.mouse.move(0, 0)
            wait_idle(page)
    wait_idle(page)
    page.locator(".st-key-lm_open button").click()
    page.wait_for_selector(".st-key-seed input", timeout=60_000)
    wait_idle(page)
    assert page.locator(".st-key-seed input").input_value() == str(seed)
    for part in ("m=tiny", f"s={seed}", f"c={seed % 3}"):             # sample i is seed i, class i mod 3
        assert re.search(rf"[?&]{part}(&|$)", page.url), page.url
