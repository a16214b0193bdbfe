"""`latent-explorer bench` part "fonts": the font model's render, specimen and export speed (printed, never asserted).

* one face (62 glyphs) at batch 1: the generator alone (z -> stack) and the app's path (a state through
  the engine to the glyph sheet), p50 / p95 ms, target <= 20 ms;
* a specimen of 40 characters end to end, as the Explore page makes it: state -> sheet -> stack ->
  typeset -> PNG bytes, p50 / p95 ms;
* an OpenType export (potrace + FontBuilder), median s over a few runs, target <= 3 s: of a generated
  face, and of a real one (DejaVu Sans, or the fonts dataset's first face) whose outlines are typical.
The model is pretrained/fonts, else the newest checkpoint of data/runs/fonts, else the `fonts` preset
untrained (same architecture, so the same speed; its export is then of a noise face).
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

SPECIMEN_40 = "Sphinx of black quartz judge my vow 1234"          # 40 characters
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _pct(xs: list[tuple[float, float]]) -> dict:
    """p50/p95 of wall times, and p50 of this process's CPU time (what the work costs on a machine that
    other jobs share: with one thread it is the wall time an idle machine would show)."""
    a = np.asarray([w for w, _ in xs]) * 1e3
    c = np.asarray([c for _, c in xs]) * 1e3
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "cpu_p50_ms": round(float(np.percentile(c, 50)), 2), "n": len(xs)}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (potrace runs as one)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _timed(fn: Callable[[], object], reps: int, warmup: int = 3) -> list[tuple[float, float]]:
    """(wall s, CPU s) of each call after `warmup` calls."""
    out = []
    for i in range(reps + warmup):
        t, c = time.perf_counter(), _cpu()
        fn()
        if i >= warmup:
            out.append((time.perf_counter() - t, _cpu() - c))
    return out


def font_model_path(tmp: Path) -> tuple[Path, str]:
    """(a loadable model, what it is): pretrained/fonts, the newest data/runs/fonts checkpoint, or the
    untrained `fonts` preset exported into `tmp`."""
    from explorer.settings import data_dir, pretrained_dir
    shipped = pretrained_dir() / "fonts.json"
    if shipped.is_file():
        return shipped, "pretrained/fonts"
    ckpts = sorted((data_dir() / "runs" / "fonts" / "checkpoints").glob("step-*.json"))
    if ckpts:
        return ckpts[-1], f"data/runs/fonts/checkpoints/{ckpts[-1].name}"
    from explorer.config import preset
    from explorer.data.glyphmetrics import CHARS
    from explorer.gan import checkpoint as ckpt
    from explorer.gan.generators import build_generator
    from explorer.gan.nets import compute_w_avg
    torch.manual_seed(0)
    G = build_generator(preset("fonts", 64, 1, 0, glyphs=CHARS).generator).eval()
    compute_w_avg(G)
    return ckpt.save_generator(tmp / "fonts-untrained", G, {}), "fonts preset, untrained"


def _real_face() -> tuple[np.ndarray | None, str]:
    if DEJAVU.is_file():
        from explorer.data.fontrender import render_face
        return render_face(DEJAVU).glyphs, "DejaVu Sans"
    try:
        from explorer.data.fontstore import load_fonts
        fs = load_fonts("test")
        return fs.glyphs[0].numpy(), f"{fs.faces[0]['family']} (fonts dataset)"
    except (OSError, ValueError):
        return None, ""


def fonts_bench(say: Callable[[str], None] | None = None, reps: int = 100, export_reps: int = 3) -> dict:
    """The figures above, as a dict, measured with one torch thread."""
    say = say or (lambda m: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                   # as the app serves: one torch thread (settings "serve")
    try:
        return _bench(say, reps, export_reps)
    finally:
        torch.set_num_threads(threads)


def _bench(say: Callable[[str], None], reps: int, export_reps: int) -> dict:
    from explorer.explore import fontexport as FX
    from explorer.explore.engine import load_engine
    from explorer.explore.latents import LatentState
    from explorer.explore.specimen import typeset
    from explorer.imaging.render import png_bytes, stack_from_sheet
    with tempfile.TemporaryDirectory() as tmp:
        path, what = font_model_path(Path(tmp))
        eng = load_engine(path)
    G, glyphs, ch = eng.G, eng.G.cfg.glyphs, eng.G.cfg.channels
    out: dict = {"model": what, "device": str(eng.device), "threads": torch.get_num_threads(),
                 "resolution": G.cfg.resolution, "glyphs": ch}
    say(f"fonts: one face render at batch 1 ({what})")
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        out["face_render_batch1"] = {**_pct(_timed(lambda: G(torch.randn(1, G.cfg.z_dim, generator=gen)), reps)),
                                     "target_ms": 20.0}
    ck = str(eng.meta.get("sha256", ""))[:12]
    states = [LatentState(model=eng.name, checkpoint=ck, seed=s) for s in range(reps + 3)]
    it = iter(states)
    out["face_render_app_path"] = _pct(_timed(lambda: eng.render_state(next(it), None), reps))
    say("fonts: specimen of 40 characters end to end")
    it2 = iter(states)

    def specimen() -> bytes:
        img, _ = eng.render_state(next(it2), None)
        return png_bytes(typeset(stack_from_sheet(img, ch), SPECIMEN_40, glyphs).image[..., None])
    out["specimen_40_chars"] = _pct(_timed(specimen, reps))
    stack = stack_from_sheet(eng.render_state(states[0], None)[0], ch)
    out["specimen_40_chars"]["typeset_only"] = _pct(_timed(lambda: typeset(stack, SPECIMEN_40, glyphs), reps))
    say("fonts: OpenType export (potrace + fontTools)")
    exp: dict = {"target_s": 3.0}
    try:
        times = _timed(lambda: FX.build_font(stack, "{}", glyphs), export_reps, warmup=1)
        exp["generated_face_s"] = round(statistics.median(w for w, _ in times), 3)
        exp["generated_face_cpu_s"] = round(statistics.median(c for _, c in times), 3)
        real, name = _real_face()
        if real is not None:
            times = _timed(lambda: FX.build_font(real, "{}"), export_reps, warmup=1)
            exp["real_face_s"] = round(statistics.median(w for w, _ in times), 3)
            exp["real_face_cpu_s"] = round(statistics.median(c for _, c in times), 3)
            exp["real_face"] = name
            exp["real_face_otf_bytes"] = len(FX.build_font(real, "{}"))
    except FX.FontExportError as e:
        exp["skipped"] = str(e)
    out["font_export"] = exp
    return out
