"""The real app in Chromium: move a direction slider, see the image change, download a GIF."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from explorer.bench.browser import (
    IMG,
    chromium_available,
    image_src,
    timed_change,
    wait_idle,
)
from tests.factories import export_generator, served_app, server_env

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))


@pytest.fixture
def served(tmp_path):
    export_generator(tmp_path / "pre" / "tiny", model_card="tiny")            # unconditional
    with served_app(server_env(tmp_path), accept_downloads=True) as (url, page):
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
    data = info.value.path().read_bytes()
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 48 and gif.size == (256, 256)


# A direct load of a page's URL (/train) makes Streamlit's frontend probe where the server lives: it cannot
# tell a page path from a `server.baseUrlPath`, so it asks <page>/_stcore/health and /host-config first and
# falls back to the root (streamlit/frontend: getPossibleBaseUris). Those two 404s are Streamlit's design,
# not a broken request of this app; every other failed request or console error fails the walk.
PROBES = ("/train/_stcore/health", "/train/_stcore/host-config")


def test_a_short_walk_has_no_console_errors_no_failed_requests_and_no_server_warnings(served):
    url, page = served
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text} @ {m.location.get('url', '')}")
            if m.type in ("error", "warning") and not m.location.get("url", "").endswith(PROBES) else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith(PROBES) else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url)
    page.wait_for_selector(IMG, timeout=90_000)
    wait_idle(page)
    slider = page.locator(".st-key-amt0 input[type=range]").first
    for _ in range(25):                         # quick slider moves: each replaces the image while it loads
        slider.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(40)
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('e=0%3A2.5')", timeout=30_000)
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('e=0%3A2.6')", timeout=30_000)
    wait_idle(page)
    page.go_back()                              # Back: the previous image, not only the previous URL
    page.wait_for_function("() => location.search.includes('e=0%3A2.5')", timeout=30_000)
    wait_idle(page)
    page.wait_for_function("() => document.querySelector('.st-key-amt0 input[type=range]').value === '2.5'",
                           timeout=30_000)

    page.locator(".st-key-dir_name input").fill("wide")           # name a direction (a fragment callback)
    page.locator(".st-key-save_name button").first.click()
    page.wait_for_selector(".st-key-amt0 :text('wide')", timeout=30_000)
    wait_idle(page)
    page.get_by_role("link", name="Interpolate").click()
    page.wait_for_selector(".st-key-ip_scrub input[type=range]", timeout=90_000)
    wait_idle(page)
    page.locator(".st-key-ip_scrub input[type=range]").first.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(40)
    wait_idle(page)
    page.goto(url + "/train")
    page.wait_for_selector("h1", timeout=90_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    log = (Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{url.rsplit(':', 1)[1]}.log").read_text()
    problems += [line for line in log.splitlines() if any(w in line.lower() for w in ("warning", "error", "traceback"))]
    assert not problems, "\n".join(problems)
