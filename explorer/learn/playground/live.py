"""2D GAN playground, live: plotly figures of a View, a background Runner, and its benchmark.

`Runner` trains a Playground in a daemon thread for the UI; `benchmark_playground` measures steps/s
while a view renders.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from explorer.learn.playground.game import Playground, Settings, View


def _arrow_segments(start: np.ndarray, arrows: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray]:
    """NaN-separated segments start -> start + length * tanh(|a|) * a/|a|, and arrowhead sizes: a vanishing
    gradient draws neither shaft nor head, a huge one is capped."""
    n = np.linalg.norm(arrows, axis=1, keepdims=True)
    tip = start + length * np.tanh(n) * arrows / np.maximum(n, 1e-12)
    heads = 7 * np.minimum(1, 3 * np.tanh(n[:, 0]))
    sizes = np.stack([np.zeros_like(heads), heads, np.zeros_like(heads)], 1).ravel()
    return np.stack([start, tip, np.full_like(start, np.nan)], 1).reshape(-1, 2), sizes


def _fig(traces: list[dict], **layout):
    """A plotly Figure built without plotly's per-property validation (~10 ms per figure, too slow for a
    live view); tests/test_playground.py validates these figures once instead."""
    import plotly.graph_objects as go
    base = {"margin": {"l": 50, "r": 10, "t": 40, "b": 40}, "height": 300}
    return go.Figure({"data": traces, "layout": {**base, **layout}}, _validate=False)


def critic_range(v: View, q: float = 0.95) -> float:
    """The colour scale's half-width for a critic's (unbounded) score: the q-quantile of |score| at the grid
    cells under the real and fake points, so the colours show the critic where the data is (scores beyond
    it, far from every point, saturate). At least 1e-3."""
    pts = np.concatenate([v.real, v.fake])
    if not len(pts) or not len(v.xs):
        return 1.0
    ix = np.clip(np.searchsorted(v.xs, pts[:, 0]), 0, len(v.xs) - 1)
    iy = np.clip(np.searchsorted(v.xs, pts[:, 1]), 0, len(v.xs) - 1)
    return max(float(np.quantile(np.abs(v.heat[iy, ix]), q)), 1e-3)


def figures(v: View) -> list:
    """Plotly figures for a View: [plane (D heatmap, points, manifold, arrows), losses, modes covered]."""
    red_white_blue = [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]]      # low: "fake", high: "real"
    if v.heat_label == "P(real)":
        scale = {"zmin": 0.0, "zmax": 1.0}
    else:                        # a critic score is unbounded: far-off extrapolation would wash out the data's part
        r = critic_range(v)
        scale = {"zmin": -r, "zmax": r}
    heat: dict[str, Any] = {
            "type": "heatmap", "x": v.xs, "y": v.xs, "z": v.heat, "colorscale": red_white_blue, "opacity": 0.75,
            "name": "D", "colorbar": {"title": {"text": v.heat_label}}, **scale}
    seg, sizes = _arrow_segments(v.arrow_from, v.arrows, 0.12 * v.bound)
    head = {"symbol": "arrow", "angleref": "previous", "color": "#2ca02c", "size": sizes}
    styles: list[tuple[str, np.ndarray, str, dict[str, Any]]] = [
              ("G(latent grid)", v.manifold, "lines", {"line": {"color": "rgba(90,90,90,0.55)", "width": 1}}),
              ("real", v.real, "markers", {"marker": {"color": "black", "size": 4}}),
              ("fake", v.fake, "markers", {"marker": {"color": "#ff7f0e", "size": 4}}),
              ("G's push", seg, "lines+markers", {"line": {"color": "#2ca02c", "width": 1.5}, "marker": head})]
    traces = [{"type": "scatter", "name": n, "x": a[:, 0], "y": a[:, 1], "mode": m, **kw} for n, a, m, kw in styles]
    axis = {"range": [-v.bound, v.bound]}
    plane = _fig([heat, *traces], height=560, title={"text": f"step {v.step}"}, legend={"orientation": "h"},
                 xaxis=axis, yaxis={**axis, "scaleanchor": "x"})
    k = max(1, len(v.d_loss) // 500)                                   # block means: at most ~500 points a curve
    x = np.arange(len(v.d_loss) // k) * k + k
    curves = [{"type": "scatter", "mode": "lines", "name": n, "x": x, "y": a[: len(x) * k].reshape(-1, k).mean(1)}
              for n, a in (("D loss", v.d_loss), ("G loss", v.g_loss))]
    losses = _fig(curves, title={"text": "losses"}, xaxis={"title": {"text": "step"}})
    title = f"modes covered (of {v.n_modes})" if v.n_modes else "modes covered: n/a for uploaded points"
    cover = _fig([{"type": "scatter", "mode": "lines+markers", "name": "covered", "x": v.covered_steps,
                   "y": v.covered}], title={"text": title}, xaxis={"title": {"text": "step"}},
                 yaxis={"range": [-0.2, max(v.n_modes, 1) + 0.2]})
    return [plane, losses, cover]


@dataclass
class _Flags:
    guard: threading.Lock = field(default_factory=threading.Lock)
    playing: bool = False
    active: bool = False         # a training thread is running (or about to)


def _train_loop(ref: weakref.ref, flags: _Flags) -> None:
    """Step the runner's Playground while it is playing, exists, and is being watched."""
    while True:
        with flags.guard:
            runner = ref()
            if runner is None or not flags.playing or time.monotonic() - runner.last_seen > runner.idle_timeout:
                flags.playing = flags.active = False
                return
        try:
            with runner.lock:
                runner.pg.step(runner.chunk)
        except Exception as e:                          # show it in the page instead of dying silently
            runner.error = f"training stopped: {type(e).__name__}: {e}"
            with flags.guard:
                flags.playing = False
        del runner                                      # hold no reference between chunks
        time.sleep(0.0005)                              # let a waiting view take the lock


class Runner:
    """Plays a Playground in a daemon thread; every access goes through `lock`.

    The thread holds only a weak reference, so dropping the Runner (the Streamlit session ends) ends
    it; it also pauses itself when no view was taken for `idle_timeout` seconds (the page is gone).
    """

    def __init__(self, pg: Playground, chunk: int = 5, idle_timeout: float = 10.0):
        self.pg, self.lock, self.chunk, self.idle_timeout = pg, threading.Lock(), chunk, idle_timeout
        self.flags = _Flags()
        self.error: str | None = None
        self.thread: threading.Thread | None = None
        self.last_seen = time.monotonic()

    @property
    def playing(self) -> bool:
        return self.flags.playing

    def play(self) -> None:
        self.last_seen, self.error = time.monotonic(), None
        with self.flags.guard:
            self.flags.playing = True
            if not self.flags.active:
                self.flags.active = True
                self.thread = threading.Thread(target=_train_loop, args=(weakref.ref(self), self.flags),
                                               daemon=True, name="gan-playground")
                self.thread.start()

    def pause(self) -> None:
        with self.flags.guard:
            self.flags.playing = False

    def stop(self, timeout: float = 5.0) -> None:
        """Pause and wait for the thread to finish."""
        self.pause()
        if self.thread is not None:
            self.thread.join(timeout)

    def step(self, n: int = 1) -> None:
        with self.lock:
            self.pg.step(n)

    def reset(self, settings: Settings | None = None, points: np.ndarray | None = None) -> None:
        with self.lock:
            self.pg.reset(settings, points)

    def view(self) -> View:
        self.last_seen = time.monotonic()
        with self.lock:
            return self.pg.view()


def benchmark_playground(seconds: float = 5.0, fps: float = 6.0, settings: Settings | None = None) -> dict:
    """Training steps/s in the Runner's thread while this thread renders views at `fps`, each frame built
    and serialised as st.plotly_chart does it (figure -> dict -> JSON). Also: steps/s in the same thread
    with no view (first second), the process's CPU share (to tell a busy machine from a slow program)
    and the load average. Never asserted anywhere: speed depends on the machine."""
    import plotly.io as pio
    import plotly.tools
    s = settings or Settings()
    runner = Runner(Playground(s), idle_timeout=seconds + 60)
    runner.step(20)                                                  # warm-up
    runner.play()
    s0, t0 = runner.pg.steps, time.perf_counter()
    time.sleep(min(1.0, seconds / 2))                                # no view
    s1, t1, c1 = runner.pg.steps, time.perf_counter(), time.process_time()
    frame_s: list[float] = []
    next_t = t1
    while (now := time.perf_counter()) < t1 + seconds:
        if now < next_t:
            time.sleep(min(next_t - now, t1 + seconds - now))
            continue
        for f in figures(runner.view()):
            pio.to_json(plotly.tools.return_figure_from_figure_or_data(f, validate_figure=True), validate=False)
        frame_s.append(time.perf_counter() - now)
        next_t += 1 / fps
    steps, elapsed, cpu = runner.pg.steps - s1, time.perf_counter() - t1, time.process_time() - c1
    runner.stop()
    ms = np.asarray(frame_s) * 1e3
    return {"steps_per_s": round(steps / elapsed, 1), "view_fps": round(len(ms) / elapsed, 2),
            "frame_ms_p50": round(float(np.median(ms)), 1), "frame_ms_max": round(float(ms.max()), 1),
            "steps_per_s_without_view": round((s1 - s0) / (t1 - t0), 1), "seconds": round(elapsed, 2),
            "process_cpu_share": round(cpu / elapsed, 2), "steps_per_process_cpu_s": round(steps / max(cpu, 1e-9), 1),
            "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "settings": dataclasses.asdict(s)}
