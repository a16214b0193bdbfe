"""2D GAN playground: a tiny MLP GAN learning a point cloud in the plane, and everything to watch it.

    >>> pg = Playground(PRESETS["Stable"].settings)
    >>> pg.step(PRESETS["Stable"].steps)
    >>> v = pg.view()          # real / fake points, D heatmap, latent-grid image, gradient arrows, histories
    >>> pg.coverage(), v.n_modes
    (8, 8)

Targets: ring of 8 Gaussians, 5x5 grid, spiral, two moons, or CSV points (`parse_points_csv`).
Every target is "support points + Gaussian noise" and lists its modes. **Coverage rule**: with 2000
generated points, a mode counts as covered when at least max(1% of them, 5 points) lie within the
target's radius of its centre (3 noise std for ring and grid; for spiral and moons the modes are
evenly spaced points along the curve and the radius is 0.3, under half their spacing). Uploaded
points have no modes, so their coverage is not computed.
One `step` = `d_steps` discriminator updates + one generator update, all randomness from one
seeded torch.Generator, so a seed fixes the run (same thread count). Losses come from
explorer.losses (WGAN-GP adds a 2D gradient penalty here). `Runner` trains in a background
daemon thread for the UI; `benchmark_playground` measures steps/s while a view renders.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import threading
import time
import weakref
from array import array
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from explorer.losses import d_loss, g_loss

LOSSES = ("minimax", "nonsaturating", "hinge", "wgan-gp")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
TARGETS = ("ring", "grid", "spiral", "moons", "csv")
MAX_CSV_ROWS, MAX_CSV_BYTES, MIN_CSV_ROWS = 20_000, 2_000_000, 10
EVAL_POINTS, VIEW_POINTS, ARROWS, HEAT_RES, EVAL_EVERY = 2000, 512, 128, 60, 25


@dataclass(frozen=True)
class Target:
    name: str
    support: np.ndarray          # (M, 2): samples are a uniform pick of these plus N(0, noise^2)
    noise: float
    modes: np.ndarray            # (K, 2) centres; K == 0 means no coverage
    radius: float                # coverage radius around each mode

    @property
    def bound(self) -> float:
        """Half-width of the square view."""
        return float(np.abs(self.support).max() + 3 * self.noise + 0.5)


def _along(curve: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Points at the given fractions (0..1) of a polyline's arc length."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    return np.stack([np.interp(fractions * s[-1], s, curve[:, i]) for i in (0, 1)], axis=1)


def _curve_target(name: str, curves: list[np.ndarray], modes_per_curve: int) -> Target:
    """Uniform along the curves' arc length; modes at the middles of equal-length segments."""
    even, mids = np.linspace(0, 1, 1000), (np.arange(modes_per_curve) + 0.5) / modes_per_curve
    return Target(name, np.concatenate([_along(c, even) for c in curves]), 0.04,
                  np.concatenate([_along(c, mids) for c in curves]), 0.3)


def make_target(name: str, points: np.ndarray | None = None) -> Target:
    """A built-in target by name, or "csv" with already-normalised points (see parse_points_csv)."""
    if name == "ring":
        a = np.arange(8) * 2 * np.pi / 8
        c = 2.0 * np.stack([np.cos(a), np.sin(a)], 1)
        return Target("ring", c, 0.05, c, 0.15)
    if name == "grid":
        c = np.stack(np.meshgrid(np.arange(-2.0, 3), np.arange(-2.0, 3)), -1).reshape(-1, 2)
        return Target("grid", c, 0.05, c, 0.15)
    if name == "spiral":
        t = np.linspace(0, 1, 4000)
        th, r = 0.5 + 3 * np.pi * t, 0.3 + 1.7 * t
        return _curve_target("spiral", [np.stack([r * np.cos(th), r * np.sin(th)], 1)], 12)
    if name == "moons":
        t = np.linspace(0, np.pi, 2000)
        up, down = np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
        return _curve_target("moons", [(c - [0.5, 0.25]) * 1.4 for c in (up, down)], 5)
    if name == "csv":
        if points is None or len(points) == 0:
            raise ValueError("the CSV target needs uploaded points")
        return Target("csv", np.asarray(points, dtype=np.float64), 0.0, np.zeros((0, 2)), 0.0)
    raise ValueError(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")


def parse_points_csv(data: bytes | str, max_rows: int = MAX_CSV_ROWS) -> np.ndarray:
    """Two numeric columns (header optional; comma, semicolon, tab or spaces) -> (N, 2) points with mean 0
    and RMS radius 1.5. Raises ValueError with a message fit for the user on any problem."""
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise ValueError(f"file too large ({len(data):,} bytes; at most {MAX_CSV_BYTES:,})")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("not a text file (could not decode it as UTF-8)") from None
    lines = [(i, ln) for i, ln in enumerate(data.splitlines(), 1) if ln.strip()]
    if not lines:
        raise ValueError("the file is empty")
    first = lines[0][1]
    delim = next((d for d in (",", ";", "\t") if d in first), None)
    rows: list[tuple[float, float]] = []
    for k, (lineno, line) in enumerate(lines):
        cells = next(csv.reader([line], delimiter=delim)) if delim else line.split()
        cells = [c.strip() for c in cells]
        if len(cells) != 2:
            raise ValueError(f"line {lineno}: expected 2 columns, found {len(cells)}")
        try:
            x, y = float(cells[0]), float(cells[1])
        except ValueError:
            if k == 0:                                   # a header row
                continue
            raise ValueError(f"line {lineno}: {line.strip()[:40]!r} is not two numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"line {lineno}: NaN or infinite values are not allowed")
        rows.append((x, y))
        if len(rows) > max_rows:
            raise ValueError(f"too many rows: at most {max_rows:,} points")
    if len(rows) < MIN_CSV_ROWS:
        raise ValueError(f"need at least {MIN_CSV_ROWS} points, found {len(rows)}")
    p = np.asarray(rows, dtype=np.float64)
    p -= p.mean(0)
    rms = float(np.sqrt((p ** 2).sum(1).mean()))
    if not rms > 1e-12 * (1 + float(np.abs(p).max())):
        raise ValueError("all points are the same; nothing to learn")
    return p * (1.5 / rms)


def modes_covered(points: np.ndarray, modes: np.ndarray, radius: float, frac: float = 0.01,
                  min_points: int = 5) -> int:
    """How many modes have >= max(frac * len(points), min_points) points within `radius` of their centre."""
    if len(modes) == 0:
        return 0
    d = np.linalg.norm(points[:, None, :] - modes[None, :, :], axis=2)
    return int(((d <= radius).sum(0) >= max(frac * len(points), min_points)).sum())


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """WGAN-GP for points: E (||grad_x D(x_hat)|| - 1)^2 on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, generator=gen)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return (grad.norm(dim=1) - 1).square().mean()


@dataclass(frozen=True)
class Settings:
    target: str = "ring"
    loss: str = "nonsaturating"
    optimizer: str = "adam"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    d_steps: int = 1
    latent: int = 2
    width: int = 64
    depth: int = 2
    batch: int = 128
    gp_weight: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        if min(self.d_steps, self.latent, self.width, self.depth, self.batch) < 1 or min(self.lr_g, self.lr_d) <= 0:
            raise ValueError("d_steps, latent, width, depth and batch must be >= 1 and learning rates > 0")


def mlp(n_in: int, n_out: int, width: int, depth: int, act: type[nn.Module], gen: torch.Generator) -> nn.Sequential:
    """depth hidden layers of `width`; weights drawn from `gen` (PyTorch's default init scheme)."""
    sizes = [n_in] + [width] * depth + [n_out]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        lin = nn.Linear(a, b)
        nn.init.kaiming_uniform_(lin.weight, a=math.sqrt(5), generator=gen)
        nn.init.uniform_(lin.bias, -1 / math.sqrt(a), 1 / math.sqrt(a), generator=gen)
        layers += [lin] + ([act()] if i < depth else [])
    return nn.Sequential(*layers)


def _optimizer(kind: str, params, lr: float) -> torch.optim.Optimizer:
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.9), fused=True)   # fastest for tiny nets on CPU
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, foreach=True)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    raise ValueError(f"unknown optimizer {kind!r}; choose from {', '.join(OPTIMIZERS)}")


def latent_grid(latent: int, lines: int = 11, points: int = 41, span: float = 2.5) -> torch.Tensor:
    """Latent polylines, NaN rows between them: latent 1 -> one line; >= 2 -> a grid in the (z1, z2) plane
    (other coordinates 0, a 2D slice)."""
    t = torch.linspace(-span, span, points)
    if latent == 1:
        return t[:, None]
    segs = []
    for v in torch.linspace(-span, span, lines):
        for a, b in ((t, torch.full_like(t, v)), (torch.full_like(t, v), t)):
            z = torch.zeros(points + 1, latent)
            z[:-1, 0], z[:-1, 1], z[-1] = a, b, float("nan")
            segs.append(z)
    return torch.cat(segs)


@dataclass
class View:
    """Numpy snapshot of a Playground, for figures. heat[i, j] is D at (xs[j], xs[i])."""
    step: int
    real: np.ndarray
    fake: np.ndarray
    xs: np.ndarray
    heat: np.ndarray
    heat_label: str
    manifold: np.ndarray
    arrow_from: np.ndarray
    arrows: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    g_grad: np.ndarray
    covered_steps: np.ndarray
    covered: np.ndarray
    n_modes: int
    bound: float


class Playground:
    """A 2D GAN you can step, reset and look at. Pure (no Streamlit); not thread-safe (see Runner)."""

    def __init__(self, settings: Settings = Settings(), points: np.ndarray | None = None):
        self.reset(settings, points)

    def reset(self, settings: Settings | None = None, points: np.ndarray | None = None) -> None:
        s = self.settings = settings or self.settings
        self.points = points if points is not None else getattr(self, "points", None)
        self.target = make_target(s.target, self.points if s.target == "csv" else None)
        self.gen = torch.Generator().manual_seed(s.seed)
        self.G = mlp(s.latent, 2, s.width, s.depth, nn.ReLU, self.gen)
        self.D = mlp(2, 1, s.width, s.depth, lambda: nn.LeakyReLU(0.2), self.gen)
        self.opt_g = _optimizer(s.optimizer, self.G.parameters(), s.lr_g)
        self.opt_d = _optimizer(s.optimizer, self.D.parameters(), s.lr_d)
        self.support = torch.as_tensor(self.target.support, dtype=torch.float32)
        fixed = torch.Generator().manual_seed(10_000 + s.seed)       # view/eval samples never touch self.gen
        self.real_view = self._real(VIEW_POINTS, fixed).numpy()
        self.z_view = torch.randn(VIEW_POINTS, s.latent, generator=fixed)
        self.z_eval = torch.randn(EVAL_POINTS, s.latent, generator=fixed)
        self.z_grid = latent_grid(s.latent)
        self.steps = 0
        self.hist = {k: array("f") for k in ("d_loss", "g_loss", "g_grad")}    # 4 bytes a step
        self.covered: list[tuple[int, int]] = []
        self._record_coverage()

    def _real(self, n: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(self.support), (n,), generator=gen)
        return self.support[idx] + self.target.noise * torch.randn(n, 2, generator=gen)

    def _d_step(self) -> float:
        s, B = self.settings, self.settings.batch
        real = self._real(B, self.gen)
        with torch.no_grad():
            fake = self.G(torch.randn(B, s.latent, generator=self.gen))
        logits = self.D(torch.cat([real, fake])).squeeze(1)
        loss = d_loss(s.loss, logits[:B], logits[B:])
        if s.loss == "wgan-gp":
            loss = loss + s.gp_weight * gradient_penalty(self.D, real, fake, self.gen)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return loss.item()

    def _g_step(self) -> tuple[float, float]:
        s = self.settings
        loss = g_loss(s.loss, self.D(self.G(torch.randn(s.batch, s.latent, generator=self.gen))).squeeze(1))
        params = list(self.G.parameters())
        grads = torch.autograd.grad(loss, params)            # G's grads only: no work spent on D's weights
        for p, g in zip(params, grads):
            p.grad = g
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        self.opt_g.step()
        return loss.item(), norm.item()

    def step(self, n: int = 1) -> None:
        """n generator updates, each after `d_steps` discriminator updates."""
        for _ in range(n):
            dl = [self._d_step() for _ in range(self.settings.d_steps)][-1]
            gl, gn = self._g_step()
            self.steps += 1
            for k, v in (("d_loss", dl), ("g_loss", gl), ("g_grad", gn)):
                self.hist[k].append(v)
            if self.steps % EVAL_EVERY == 0:
                self._record_coverage()

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> np.ndarray:
        return self.G(z).numpy()

    def coverage(self) -> int:
        """Modes covered by the generator's image of the fixed evaluation latents (see module docstring)."""
        t = self.target
        return modes_covered(self.generate(self.z_eval), t.modes, t.radius)

    def _record_coverage(self) -> None:
        if len(self.target.modes):
            self.covered.append((self.steps, self.coverage()))

    def arrows(self, fake: np.ndarray) -> np.ndarray:
        """-d(per-point G loss)/d(x) at each point: the direction G's update pushes that fake point."""
        x = torch.as_tensor(fake, dtype=torch.float32).requires_grad_(True)
        (grad,) = torch.autograd.grad(g_loss(self.settings.loss, self.D(x).squeeze(1)), x)
        return (-grad * len(x)).numpy()

    def view(self, res: int = HEAT_RES) -> View:
        """The plane spans the target, grown in 0.5 steps (to 3x at most) to keep 98% of the fakes in sight."""
        fake = self.generate(self.z_view)
        far = float(np.nan_to_num(np.quantile(np.abs(fake).max(1), 0.98), nan=0.0))
        b = min(max(self.target.bound, math.ceil(2 * far + 0.6) / 2), 3 * self.target.bound)
        xs = np.linspace(-b, b, res, dtype=np.float32)
        gx, gy = np.meshgrid(xs, xs)
        with torch.no_grad():
            logits = self.D(torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))).view(res, res)
        prob = self.settings.loss in ("minimax", "nonsaturating")
        cov = np.asarray(self.covered, dtype=np.int64).reshape(-1, 2)
        h = {k: np.frombuffer(v, dtype=np.float32).copy() for k, v in self.hist.items()}
        return View(self.steps, self.real_view, fake, xs, (torch.sigmoid(logits) if prob else logits).numpy(),
                    "P(real)" if prob else "critic score", self.generate(self.z_grid), fake[:ARROWS],
                    self.arrows(fake[:ARROWS]), h["d_loss"], h["g_loss"], h["g_grad"], cov[:, 0], cov[:, 1],
                    len(self.target.modes), b)


@dataclass(frozen=True)
class Preset:
    title: str
    settings: Settings
    steps: int                   # steps after which the lesson shows (tests/test_playground.py checks it)
    note: str


PRESETS = {p.title: p for p in (
    Preset("Mode collapse", Settings(loss="nonsaturating", lr_g=1e-2, lr_d=1e-3), 600,
           "The generator learns 10x faster than the discriminator. It squeezes its points into one clump "
           "that chases whichever spot D currently likes best; D catches up and the clump hops on, from mode "
           "to mode. Coverage stays at 0-1 of 8."),
    Preset("Stable", Settings(loss="hinge", d_steps=2), 600,
           "Hinge loss, equal learning rates, two D steps per G step: all 8 modes are covered within ~600 steps "
           "(seeds 0-5; seed 0 by ~300) and stay covered."),
    Preset("Minimax stalls", Settings(loss="minimax", d_steps=5, lr_g=2e-4, lr_d=1e-2), 200,
           "A strong discriminator (5 steps, lr 1e-2) rejects the first fakes with near-total confidence. The "
           "saturating loss log(1 - D) is then flat, the generator's gradient vanishes (~1e-10) and it never moves."),
    Preset("Non-saturating fix", Settings(loss="nonsaturating", d_steps=5, lr_g=2e-4, lr_d=1e-2), 200,
           "Same settings, but the generator maximises log D instead: its gradient is largest exactly when D "
           "wins, so the points travel to the data at once (with D this strong they still crowd onto 1-2 modes).")
)}


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


def figures(v: View) -> list:
    """Plotly figures for a View: [plane (D heatmap, points, manifold, arrows), losses, modes covered]."""
    red_white_blue = [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]]      # low: "fake", high: "real"
    scale = {"zmin": 0, "zmax": 1} if v.heat_label == "P(real)" else {"zmid": 0}
    heat = {"type": "heatmap", "x": v.xs, "y": v.xs, "z": v.heat, "colorscale": red_white_blue, "opacity": 0.75,
            "name": "D", "colorbar": {"title": {"text": v.heat_label}}, **scale}
    seg, sizes = _arrow_segments(v.arrow_from, v.arrows, 0.12 * v.bound)
    head = {"symbol": "arrow", "angleref": "previous", "color": "#2ca02c", "size": sizes}
    styles = [("G(latent grid)", v.manifold, "lines", {"line": {"color": "rgba(90,90,90,0.55)", "width": 1}}),
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

    def __init__(self, pg: Playground, chunk: int = 5, idle_timeout: float = 30.0):
        self.pg, self.lock, self.chunk, self.idle_timeout = pg, threading.Lock(), chunk, idle_timeout
        self.flags, self.thread, self.error = _Flags(), None, None
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
