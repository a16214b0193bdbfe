"""`latent-explorer bench --parts font-views`: how long a font model's slow views take (printed, never asserted).

Measured with one torch thread (as the app serves), on the model `fonts_bench.font_model_path` finds
(pretrained/fonts first), through the functions the pages call:

* the latent map's first view (explorer/ui/latent_map_page.py) at its default size for the model
  (`learn.latent_map.default_n`): sampling w, the PCA projection, the "Ag" thumbnails and "Handgloves"
  hover specimens, the chart's spec as the JSON Streamlit sends, and the specimen of the picked point;
  each step's seconds and the total, cold (the first view of a fresh server: every import and cache miss
  included) and warm (a new seed range);
* a word morph's export (explorer/ui/interpolate_page.py): a 48-frame closed path between two seeds
  (slerp in z), "Hamburgefonstiv" set in every frame's face, and its GIF and MP4 at 256 px high.

    from explorer.bench.font_views_bench import font_views_bench
    font_views_bench(print)       # {"latent_map": {"cold": {...}, "warm": {...}}, "word_morph": {...}}
"""

from __future__ import annotations

import functools
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch

if TYPE_CHECKING:
    from explorer.explore.engine import Engine

T = TypeVar("T")

MORPH_WORD = "Hamburgefonstiv"      # explorer.ui.explore_font_panel.MORPH_WORD (the ui layer is above bench)
MORPH_FRAMES = 48                    # the Interpolate page's default path length
EXPORT_PX = 256                      # ... and its default export height


def _cpu() -> float:
    """CPU seconds of this process and its finished children (ffmpeg runs as one)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _timed(steps: dict[str, float], name: str, fn: Callable[[], T]) -> T:
    """fn(), with its wall seconds as steps[name] and its CPU seconds as steps["cpu_" + name]: on a machine
    other jobs share, the CPU time is what the work costs (with one thread, an idle machine's wall time)."""
    t, c = time.perf_counter(), _cpu()
    out = fn()
    steps[name] = round(time.perf_counter() - t, 3)
    steps["cpu_" + name] = round(_cpu() - c, 3)
    return out


def _totals(steps: dict[str, float]) -> dict[str, float]:
    wall = sum(v for k, v in steps.items() if not k.startswith("cpu_"))
    cpu = sum(v for k, v in steps.items() if k.startswith("cpu_"))
    return {**steps, "total_s": round(wall, 3), "cpu_total_s": round(cpu, 3)}


def latent_map_first_view(eng: Engine, n: int, first_seed: int = 0) -> dict[str, float]:
    """Wall and CPU seconds of each step of the latent map's first view of `n` samples from `first_seed`
    (PCA, thumbnails on, sample 0 picked), and their totals."""
    from explorer.explore.specimen import specimen_sheet
    from explorer.imaging.render import png_bytes, stack_from_sheet
    from explorer.learn import latent_map as LM
    steps: dict[str, float] = {}
    ws, seeds, _ = _timed(steps, "sample_s", lambda: LM.sample_ws(eng.G, n, first_seed))
    xy = _timed(steps, "project_s", lambda: LM.project(ws, "pca"))
    pics = _timed(steps, "images_s", lambda: LM.map_images(eng, ws))
    _timed(steps, "chart_s", lambda: json.dumps(LM.map_spec(xy, seeds, None, [], pics.hovers, pics.thumbs)))

    def picked() -> bytes:
        sheet = eng.render_ws(torch.as_tensor(ws[:1]))[0]
        img = specimen_sheet(stack_from_sheet(sheet, eng.G.cfg.channels), "Sphinx of black quartz judge my vow",
                             eng.G.cfg.glyphs)
        return png_bytes(img, scale=max(1, 192 // img.shape[0]))
    _timed(steps, "picked_point_s", picked)
    return _totals(steps)


def word_morph_export(eng: Engine, frames: int = MORPH_FRAMES, size: int = EXPORT_PX) -> dict[str, float]:
    """Wall and CPU seconds to render a closed `frames`-frame path between seeds 0 and 1, set MORPH_WORD in each frame,
    and encode it as GIF and as MP4 `size` px high (what the Interpolate page's download does)."""
    from explorer.explore.latents import LatentState
    from explorer.explore.paths import interpolate_path, keyframes_from_states
    from explorer.explore.preview import export_size, preview
    from explorer.imaging.media import animation_bytes, resize_frames
    steps: dict[str, float] = {}
    states = [LatentState(eng.name, "", seed=s) for s in (0, 1)]

    def path() -> np.ndarray:
        ws = interpolate_path(eng.G, keyframes_from_states(eng.G, states), frames=frames, space="z",
                              method="slerp", easing="ease_in_out", loop=True)
        return eng.render_ws(ws)
    sheets = _timed(steps, "path_render_s", path)
    shown = _timed(steps, "word_frames_s", lambda: preview(sheets, eng, MORPH_WORD))
    box = export_size(shown, size, True)
    for fmt in ("gif", "mp4"):
        _timed(steps, f"{fmt}_s", functools.partial(lambda f: animation_bytes(resize_frames(shown, box), 12.0, f), fmt))
    steps["mp4_total_s"] = round(steps["path_render_s"] + steps["word_frames_s"] + steps["mp4_s"], 3)
    steps["cpu_mp4_total_s"] = round(steps["cpu_path_render_s"] + steps["cpu_word_frames_s"] + steps["cpu_mp4_s"], 3)
    return steps


def font_views_bench(say: Callable[[str], None] | None = None) -> dict:
    """The figures above, as a dict, measured with one torch thread."""
    from explorer.bench.fonts_bench import font_model_path
    from explorer.explore.engine import load_engine
    from explorer.learn.latent_map import default_n
    say = say or (lambda m: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path, what = font_model_path(Path(tmp))
            eng = load_engine(path)
        n = default_n(eng.G)
        say(f"font views: the latent map's first view ({n} faces of {what})")
        out: dict = {"model": what, "threads": 1, "latent_map": {"n": n, "cold": latent_map_first_view(eng, n),
                                                                 "warm": latent_map_first_view(eng, n, n)}}
        say(f"font views: word morph export ({MORPH_FRAMES} frames, {EXPORT_PX} px high)")
        out["word_morph"] = {"frames": MORPH_FRAMES, "height_px": EXPORT_PX, **word_morph_export(eng)}
        return out
    finally:
        torch.set_num_threads(threads)
