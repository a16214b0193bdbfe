"""2D GAN playground: a tiny MLP GAN learning a point cloud in the plane (see explorer/playground/__init__.py).

One `step` = `d_steps` discriminator updates + one generator update, all randomness from one
seeded torch.Generator, so a seed fixes the run (same thread count). Losses come from
explorer.gan.losses (WGAN-GP adds a 2D gradient penalty here). Presets are the lessons, each checked
by tests/test_playground.py after its number of steps.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.config import LOSSES  # the playground trains with the same four losses as the image GANs
from explorer.gan.losses import d_loss, g_loss
from explorer.learn.playground.targets import make_target, modes_covered

OPTIMIZERS = ("adam", "sgd", "rmsprop")
EVAL_POINTS, VIEW_POINTS, ARROWS, HEAT_RES, EVAL_EVERY = 2000, 512, 128, 60, 25


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


def mlp(n_in: int, n_out: int, width: int, depth: int, act: Callable[[], nn.Module],
        gen: torch.Generator) -> nn.Sequential:
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

    settings: Settings

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
           "Hinge loss, equal learning rates, two D steps per G step: all 8 modes are reached within ~500 steps "
           "(seed 0 by ~350). After that the points keep shifting between neighbours: from step 600 on at least "
           "7 of 8 modes stay covered, and all 8 most of the time."),
    Preset("Minimax stalls", Settings(loss="minimax", d_steps=5, lr_g=2e-4, lr_d=1e-2), 200,
           "A strong discriminator (5 steps, lr 1e-2) rejects the first fakes with near-total confidence. The "
           "saturating loss log(1 - D) is then flat, the generator's gradient vanishes (~1e-10) and it never moves."),
    Preset("Non-saturating fix", Settings(loss="nonsaturating", d_steps=5, lr_g=2e-4, lr_d=1e-2), 200,
           "Same settings, but the generator maximises log D instead: its gradient is largest exactly when D "
           "wins, so the points travel to the data at once (with D this strong they still crowd onto 1-2 modes).")
)}
