"""The real app in Chromium: move a direction slider, see the image change, download a GIF."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch
from PIL import Image

from explorer.gan import checkpoint as ckpt
from explorer.bench.browser import IMG, chromium, chromium_available, image_src, streamlit_server, timed_change, wait_idle
from explorer.config import preset
from explorer.gan.generators import build_generator
from explorer.gan.nets import compute_w_avg

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))


@pytest.fixture
def served(tmp_path):
    torch.manual_seed(0)
    G = build_generator(dataclasses.replace(preset("tiny", 32, 1, 0).generator, arch="film")).eval()
    compute_w_avg(G)
    ckpt.save_generator(tmp_path / "pre" / "tiny", G, {"model_card": "tiny"})
    env = {"LATENT_EXPLORER_PRETRAINED": str(tmp_path / "pre"), "LATENT_EXPLORER_DATA": str(tmp_path / "data"),
           "LATENT_EXPLORER_THREADS": "1"}
    with streamlit_server("streamlit_app.py", env=env) as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        yield url, page


def test_slider_changes_image_and_gif_downloads(served):
    url, page = served
    page.goto(url)
    page.wait_for_selector(IMG, timeout=90_000)
    wait_idle(page)
    before = image_src(page)
    page.locator(".st-key-amt0 input[type=range]").first.focus()
    ms = timed_change(page, lambda: page.keyboard.press("ArrowRight"))
    assert ms > 0 and image_src(page) != before
    page.wait_for_function("() => location.search.includes('e=0')", timeout=30_000)   # the link follows

    page.get_by_role("link", name="Interpolate").click()
    page.wait_for_selector(".st-key-ip_download button", timeout=90_000)
    wait_idle(page)
    with page.expect_download(timeout=90_000) as info:
        page.locator(".st-key-ip_download button").click()
    data = open(info.value.path(), "rb").read()
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 48 and gif.size == (256, 256)
