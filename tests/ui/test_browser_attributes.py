"""The real app in Chromium: teach a direction by marking seeds "more" and "less", then move its slider."""

from __future__ import annotations

import pytest

from explorer.bench.browser import IMG, chromium_available, image_src, wait_idle
from tests.factories import export_generator, served_app, server_env

pytestmark = pytest.mark.skipif(chromium_available() is not None, reason=str(chromium_available()))


@pytest.fixture
def served(tmp_path):
    export_generator(tmp_path / "pre" / "tiny", model_card="tiny")            # unconditional, greyscale
    with served_app(server_env(tmp_path)) as (url, page):
        yield url, page


def _choose(page, key: str, label: str) -> None:
    page.locator(f".st-key-{key}").get_by_text(label, exact=True).first.click()
    wait_idle(page)


def test_teach_a_direction_from_marked_seeds_and_move_its_slider(served):
    url, page = served
    page.goto(url)
    page.wait_for_selector(IMG, timeout=90_000)
    wait_idle(page)
    _choose(page, "panel", "Attributes")
    page.get_by_role("tab", name="Teach a direction").click()
    page.wait_for_selector(".st-key-attr_mark_0 button", timeout=90_000)
    for seed in range(12):                                            # taught.MIN_EACH = 6 of each
        page.locator(f".st-key-attr_mark_{seed} button", has_text="more" if seed < 6 else "less").first.click()
        wait_idle(page)
    page.wait_for_selector("text=Marked: 6 more, 6 less", timeout=30_000)
    page.locator(".st-key-attr_teach_name input").fill("rounder")
    page.locator(".st-key-attr_teach_name input").press("Enter")
    wait_idle(page)
    page.locator(".st-key-attr_teach button").first.click()
    page.wait_for_selector(".st-key-attr_edit_taught button, .st-key-attr_keep_weak button", timeout=60_000)
    wait_idle(page)
    if page.locator(".st-key-attr_keep_weak button").count():        # near chance: kept only when asked
        page.locator(".st-key-attr_keep_weak button").first.click()
    page.wait_for_selector(".st-key-attr_edit_taught button", timeout=60_000)
    wait_idle(page)
    page.locator(".st-key-attr_edit_taught button").first.click()
    page.wait_for_function("() => location.search.includes('d=attr')", timeout=60_000)
    wait_idle(page)
    _choose(page, "panel", "Edit directions")
    slider = page.locator("[class*='st-key-amt']", has_text="rounder").locator("input[type=range]").first
    slider.wait_for(timeout=30_000)
    key = page.locator("[class*='st-key-amt']", has_text="rounder").first.get_attribute("class") or ""
    index = next(c for c in key.split() if c.startswith("st-key-amt"))[len("st-key-amt"):]
    before = image_src(page)
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => location.search.includes('e={index}%3A0.1')", timeout=30_000)
    wait_idle(page)
    assert image_src(page) != before
