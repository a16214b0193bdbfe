"""The Train page in Chromium: upload a folder of tiny images, check them, start a tiny run, watch it
train (progress bar, curves, sample grid from fixed noise), download the finished model, and find
the job again after a reload with no job in the URL."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from explorer.bench.browser import chromium_available, wait_idle
from explorer.jobs import speed
from explorer.jobs.plan import plan, with_overrides
from tests.factories import served_app, server_env

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))


@pytest.fixture
def served(tmp_path, monkeypatch):
    folder = tmp_path / "my pictures"
    for i in range(10):
        a = (np.random.default_rng(i).random((24, 24, 3)) * 255).astype(np.uint8)
        (folder / ("sub" if i % 2 else "")).mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(folder / ("sub" if i % 2 else "") / f"p{i}.png")
    (folder / "notes.txt").write_text("not an image")
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LATENT_EXPLORER_THREADS", "1")
    cfg = plan("quick", 32, 1, 0, n_images=10)           # the duration estimate is measured elsewhere
    for c in (cfg, with_overrides(cfg, batch_size=8)):     # (tests/test_train_support.py): cached here
        speed._store(speed.speed_key(c, "cpu"), speed.Estimate(0.05, "cpu", 1, "measured"))
    with served_app(server_env(tmp_path, pretrained=tmp_path / "no-models"), accept_downloads=True) as (url, page):
        yield url, page, folder


def _number(page, key_prefix: str, value: int) -> None:
    box = page.locator(f'[class*="st-key-{key_prefix}"] input').first
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def test_upload_folder_train_and_watch(served):
    url, page, folder = served
    page.goto(f"{url}/train")
    page.wait_for_selector(".st-key-up_mode", timeout=90_000)
    wait_idle(page)
    page.locator(".st-key-up_mode").get_by_text("a folder").click()
    folder_input = '.st-key-up_files input[type="file"][webkitdirectory]'
    page.wait_for_selector(folder_input, state="attached")
    wait_idle(page)
    page.locator(folder_input).set_input_files(folder)                                # a directory upload
    page.get_by_text("p9.png").wait_for(timeout=30_000)
    page.locator(".st-key-up_res").click()
    page.get_by_role("option", name="32").click()
    wait_idle(page)
    page.locator(".st-key-up_ch").get_by_text("greyscale").click()
    wait_idle(page)
    page.locator(".st-key-up_check button").click()
    page.get_by_text("10 image(s) accepted").wait_for(timeout=60_000)
    wait_idle(page)

    # a recipe switch sticks, also after a later rerun (the browser used to send the old recipe's values back)
    page.locator(".st-key-tr_preset").get_by_text("balanced").click()
    wait_idle(page)
    for name in ("other", "my-gan"):
        box = page.locator(".st-key-tr_name input")
        box.fill(name)
        box.press("Enter")
        wait_idle(page)
        page.get_by_text("for 5,000 steps on cpu").wait_for(timeout=30_000)
    page.locator(".st-key-tr_preset").get_by_text("quick look").click()
    wait_idle(page)

    page.get_by_text("Advanced settings").click()
    _number(page, "adv_steps", 6)
    _number(page, "adv_batch", 8)
    _number(page, "adv_samples_6", 2)
    _number(page, "adv_ckpt_6", 2)
    page.get_by_text("for 6 steps on cpu (0.05 s per step of 8 images").wait_for(timeout=30_000)
    page.locator(".st-key-tr_start button").click()

    page.get_by_text("my-gan — done").wait_for(timeout=180_000)                      # refreshed by the fragment
    page.get_by_text("samples at step 6").wait_for(timeout=30_000)
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()   # the picker has it,
    page.get_by_role("option", name=re.compile(r"^my-gan-.*\(trained\)$")).wait_for(timeout=30_000)   # no reload
    page.keyboard.press("Escape")
    wait_idle(page)
    assert page.locator('[data-testid="stProgress"]').first.inner_text().startswith("step 6 / 6")
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)   # curves drawn
    grid = page.locator('[data-testid="stImage"] img, [data-testid="stImageContainer"] img').last
    assert grid.evaluate("el => el.complete && el.naturalWidth") > 0
    assert page.locator('[class*="st-key-hist-"]').count() == 1                     # the history slider
    assert "job=" in page.url

    with page.expect_download(timeout=60_000) as info:
        page.locator('[class*="st-key-dl-"] button').click()
    names = zipfile.ZipFile(io.BytesIO(info.value.path().read_bytes())).namelist()
    assert {n.split("/")[-1] for n in names} == {"model.json", "model.safetensors", "model_card.md"}

    page.goto(f"{url}/train")                                                        # a reload, the URL bare:
    page.get_by_text("my-gan — done").wait_for(timeout=60_000)                       # the browser's token lists it
