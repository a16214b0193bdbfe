"""The latent map in Chromium: clicking a point previews that sample, and opens it in the explorer with the
sidebar's model kept."""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch

from explorer.gan import checkpoint as ckpt
from explorer.bench.browser import ROOT, chromium, chromium_available, streamlit_server, wait_idle
from explorer.config import preset
from explorer.gan.generators import build_generator
from explorer.gan.nets import compute_w_avg

APP = "streamlit_app.py"
PAGE_FILE = "explorer/ui/latent_map_page.py"
REGISTERED = PAGE_FILE in (ROOT / "explorer" / "ui" / "pages.py").read_text()
pytestmark = [pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available())),
              pytest.mark.skipif(not REGISTERED, reason=f"{PAGE_FILE} is not registered in pages.py")]
POINTS = ".st-key-lm_plot .js-plotly-plot .scatterlayer .trace"


@pytest.fixture
def served(tmp_path):
    for name, classes in (("a-plain", 0), ("tiny", 3)):         # "tiny" is not the default model
        torch.manual_seed(0)
        G = build_generator(dataclasses.replace(preset("tiny", 32, 1, classes).generator, arch="film")).eval()
        compute_w_avg(G)
        ckpt.save_generator(tmp_path / "pre" / name, G, {"class_names": ["cat", "dog", "owl"][:classes]})
    env = {"LATENT_EXPLORER_PRETRAINED": str(tmp_path / "pre"), "LATENT_EXPLORER_DATA": str(tmp_path / "data"),
           "LATENT_EXPLORER_THREADS": "1"}
    with streamlit_server(APP, env=env) as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
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
