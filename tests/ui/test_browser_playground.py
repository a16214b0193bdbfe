"""The GAN playground in Chromium: open it from the sidebar, press Play, watch the step count and the plot move."""

from __future__ import annotations

import re

import pytest

from explorer.bench.browser import chromium_available, wait_idle
from tests.factories import served_app, server_env

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))

PLANE = ".st-key-pg_plane_stack .js-plotly-plot"        # two stacked charts: see buffered_chart
STEP_JS = "() => { const m = document.body.innerText.match(/(playing|paused) · step (\\d+)/); return m ? +m[2] : -1; }"
SVG_JS = f"() => {{ const el = document.querySelector('{PLANE} .scatterlayer'); return el ? el.innerHTML : ''; }}"
KEEP_SVG_JS = f"() => {{ window.__svg0 = ({SVG_JS})(); return window.__svg0.length; }}"
SVG_CHANGED_JS = f"() => {{ const now = ({SVG_JS})(); return now !== '' && now !== window.__svg0; }}"


@pytest.fixture
def served(tmp_path):
    with served_app(server_env(tmp_path)) as (url, page):      # no models needed: the playground trains its own
        yield url, page


def test_play_trains_and_redraws(served):
    url, page = served
    page.goto(url)
    page.get_by_role("link", name="GAN playground").click(timeout=90_000)
    page.wait_for_selector(".st-key-pg_play button", timeout=90_000)
    page.wait_for_selector(f"{PLANE} .scatterlayer", timeout=90_000)
    wait_idle(page)
    assert re.search(r"/playground", page.url)
    assert page.evaluate(STEP_JS) == 0 and page.evaluate(KEEP_SVG_JS) > 0       # paused at step 0, points drawn
    page.locator(".st-key-pg_play button").click()
    page.wait_for_function(f"() => ({STEP_JS})() >= 20", timeout=60_000)       # the live view counts on
    page.wait_for_function(SVG_CHANGED_JS, timeout=30_000)                    # and the plot redraws
    assert "playing" in page.inner_text("body")
    page.locator(".st-key-pg_pause button").click()
    page.wait_for_function("() => document.body.innerText.includes('paused · step')", timeout=30_000)
