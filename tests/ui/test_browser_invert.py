"""The real app in Chromium: upload an image on Explore, project it, move a direction, download the PNG,
and check the PNG is the edited projection the link describes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.bench.browser import IMG, chromium_available, wait_idle
from explorer.explore.direction_cache import get_directions
from explorer.explore.latents import state_to_ws
from explorer.explore.recipes import from_query_params
from explorer.imaging.render import to_uint8
from tests.factories import export_generator, served_app, server_env

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))


def test_upload_project_edit_and_download_png(tmp_path, monkeypatch):
    G, side = export_generator(tmp_path / "pre" / "tiny")                      # unconditional film, 32 px grey
    env = server_env(tmp_path)
    picture = tmp_path / "me.png"
    im = Image.new("RGB", (48, 40), (30, 30, 30))
    im.paste((220, 220, 220), (12, 8, 36, 32))
    im.save(picture)
    with served_app(env, accept_downloads=True) as (url, page):
        page.goto(url)
        page.wait_for_selector(IMG, timeout=90_000)
        wait_idle(page)
        page.locator(".st-key-panel").get_by_text("Your image").click()
        page.locator(".st-key-inv_upload input[type=file]").set_input_files(str(picture))
        page.wait_for_selector(".st-key-inv_start button", timeout=60_000)
        page.locator(".st-key-inv_start button").click()
        page.wait_for_function("() => location.search.includes('w=')", timeout=120_000)
        wait_idle(page)
        page.locator(".st-key-panel").get_by_text("Edit directions").click()
        page.wait_for_selector(".st-key-amt0 input[type=range]", timeout=60_000)
        page.locator(".st-key-amt0 input[type=range]").first.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => location.search.includes('e=0')", timeout=30_000)
        wait_idle(page)
        query = dict(parse_qsl(urlparse(page.url).query))
        page.get_by_role("link", name="Export").click()
        page.wait_for_selector(".st-key-png_download button", timeout=90_000)
        wait_idle(page)
        with page.expect_download(timeout=90_000) as info:
            page.locator(".st-key-png_download button").click()
        png = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert png.format == "PNG" and png.size == (256, 256)
    state, warns = from_query_params(query)
    assert state is not None and state.projected and state.edits and not warns
    for k, v in env.items():                                                   # the server's direction cache
        monkeypatch.setenv(k, v)
    d = get_directions(G, json.loads(side.read_text()), state.method)
    with torch.no_grad():
        want = to_uint8(G.synthesis(state_to_ws(G, state, d)))[0]             # (32, 32, 1)
    got = np.asarray(png.convert("L").resize((32, 32), Image.Resampling.NEAREST))
    assert np.abs(got.astype(int) - want[..., 0].astype(int)).max() <= 2       # the edited projection, as linked
