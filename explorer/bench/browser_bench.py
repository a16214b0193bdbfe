"""Browser benchmark: the real app in Chromium, slider change -> new image shown, vs a trivial page.

For each page: open it, focus a slider, press ArrowRight `changes` times (after `warmup` presses),
and time from just before each key press until the watched image shows a new, loaded picture.
In the explorer that is done twice: with the slider of direction 0, the strip's own direction
(the strip stays), and with direction 1's (the -3..+3 strip is redrawn too).

The floor is a trivial Streamlit page (one slider, one image; numpy + Pillow, nothing else), on the
same server settings, in the same run. It is measured twice: as written, and with its heap frozen
like the app's (`gc.freeze()`, see explorer/ui/heap.py), which takes Streamlit's per-rerun full
garbage collection off the latency: the second is the floor the app could at best reach.
Then server memory: RSS with one session open and with five (the model is shared, so the
growth per extra session must be far below the model's size).

    figures = browser_bench(model="fashion-mnist", changes=40)
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from explorer.bench.browser import IMG, chromium, rss_mb, streamlit_server, timed_change, wait_idle

TRIVIAL = Path(__file__).resolve().parents[1] / "ui" / "bench_trivial_page.py"
FROZEN = "import gc\ngc.collect()\ngc.freeze()\n"      # what explorer/ui/heap.py does for the app


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"n": len(ms), "p50_ms": round(float(np.percentile(a, 50)), 1),
            "p95_ms": round(float(np.percentile(a, 95)), 1), "mean_ms": round(float(a.mean()), 1)}


def _slider_latency(url: str, browser, slider_key: str, changes: int, warmup: int, image_index: int = 0) -> list[float]:
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(url)
    page.wait_for_selector(IMG, timeout=120_000)
    wait_idle(page)
    slider = page.locator(f".st-key-{slider_key} input[type=range]").first
    slider.focus()
    out = []
    for i in range(warmup + changes):
        ms = timed_change(page, lambda: page.keyboard.press("ArrowRight"), index=image_index)
        if i >= warmup:
            out.append(ms)
        wait_idle(page, timeout=30)           # the next change starts from a settled page
    page.close()
    return out


def browser_bench(model: str = "fashion-mnist", changes: int = 40, warmup: int = 5, sessions: int = 5,
                  progress: Callable[[str], None] | None = None) -> dict:
    say = progress or (lambda m: None)
    from explorer.gan.device import load_generator
    _, meta = load_generator(model, "cpu")
    weights = Path(meta["path"]).with_suffix(".safetensors")
    model_mb = weights.stat().st_size / 1e6 if weights.exists() else None
    out: dict = {"model": meta["name"], "changes": changes, "warmup": warmup}
    env = {"LATENT_EXPLORER_THREADS": os.environ.get("LATENT_EXPLORER_THREADS", "1")}
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        floors = {}
        for name, text in (("plain", TRIVIAL.read_text()), ("frozen_heap", FROZEN + TRIVIAL.read_text())):
            trivial = Path(tmp) / f"trivial_{name}.py"
            trivial.write_text(text)
            say(f"trivial page (floor, {name.replace('_', ' ')})")
            with streamlit_server(trivial, env=env) as (url, _):
                floors[name] = _slider_latency(url, browser, "v", changes, warmup)
        say(f"explorer ({meta['name']}): direction slider")
        with streamlit_server("streamlit_app.py", env=env) as (url, proc):
            app = _slider_latency(f"{url}/?m={meta['name']}", browser, "amt0", changes, warmup)
            say(f"explorer ({meta['name']}): another direction's slider (the strip is redrawn too)")
            other = _slider_latency(f"{url}/?m={meta['name']}", browser, "amt1", changes, warmup)
            say("server memory with 1 and with several sessions")
            pages = []
            for n in range(sessions):
                p = browser.new_page(viewport={"width": 1500, "height": 1100})
                p.goto(f"{url}/?m={meta['name']}&s={n}")
                p.wait_for_selector(IMG, timeout=120_000)
                wait_idle(p)
                pages.append(p)
                if n == 0:
                    time.sleep(1.0)
                    rss_one = rss_mb(proc.pid)
            time.sleep(1.0)
            rss_many = rss_mb(proc.pid)
            for p in pages:
                p.close()
    floor, frozen = floors["plain"], floors["frozen_heap"]
    out["floor_trivial_page"] = _stats(floor)
    out["floor_trivial_page_frozen_heap"] = _stats(frozen)
    out["explorer_direction_slider"] = _stats(app)
    out["explorer_other_slider"] = _stats(other)
    med = statistics.median
    out["p50_ratio_to_floor"] = round(med(app) / med(floor), 2)
    out["other_p50_ratio_to_floor"] = round(med(other) / med(floor), 2)
    out["p50_ratio_to_frozen_floor"] = round(med(app) / med(frozen), 2)
    out["other_p50_ratio_to_frozen_floor"] = round(med(other) / med(frozen), 2)
    out["targets"] = {"p50_ratio_max": 1.3, "p95_ms_max": 300}
    out["server_rss_mb"] = {"sessions_1": round(rss_one, 1), f"sessions_{sessions}": round(rss_many, 1),
                            "growth_per_extra_session": round((rss_many - rss_one) / max(sessions - 1, 1), 1),
                            "model_weights_mb": None if model_mb is None else round(model_mb, 1)}
    return out
