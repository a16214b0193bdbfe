"""Projection (GAN inversion): find the w, or w+, whose image is closest to a target image.

After the StyleGAN2 projector (Karras et al. 2020, `projector.py`: Adam on w, learning-rate ramps,
statistics of w from samples; here L-BFGS by default, `ProjectConfig.optimizer`) with a loss that
needs no download: pixel L2 and L1, MS-SSIM
(explorer/explore/ssim.py), LPIPS-style distances of the model's own discriminator's features
(Zhang et al. 2018's channel-normalised feature differences) and, for Fashion-MNIST models, the
project's classifier's embedding, plus a prior that keeps w near the model's distribution.

The optimisation runs in whitened coordinates u of the model's w distribution (`LatentPrior`: the
principal axes of sampled w, each scaled by its std), so one learning rate suits every axis, the
prior is simply mean(u^2), and a DCGAN's one-hot class inputs (no variance within a class) stay
fixed. w+ gives each of the `G.num_ws` layers its own u (Abdal et al. 2019, Image2StyleGAN).
Conditional models try every class (with an encoder: its likeliest one, `encoder_class_trials`) for a few steps as one
batch and keep the best, unless a class is given; `restarts` adds jittered starting points to that
trial (multi-start against local minima). An encoder (explorer/explore/encoder.py) gives the first
guess when the model has one, else the search starts from the (class) mean w; the learning-rate
schedule is chosen by the start (`ProjectConfig.schedule`). The default optimiser runs that class
trial with Adam, then L-BFGS per image (Liu & Nocedal 1989; explorer/explore/lockstep_lbfgs.py:
its own curvature history and line search for each image, all images rendered together each
round): in the same 200 renders from the encoder's guess it gets closer than Adam (docs/inversion.md,
"L-BFGS"). `project_batch` projects N images at once as N independent rows of one optimisation
(the loss is the sum of per-row losses; Adam is elementwise and L-BFGS per row, so each row follows
its single run's path up to the last bits of batched renders); the benchmark uses it.

    proj = Projector.for_model(G, meta)                       # critic, classifier, encoder when present
    target, why, notes = fit_image(png_bytes, "me.png", G.cfg.resolution, G.cfg.channels)   # projection_io.py
    res = proj.project(target, ProjectConfig(space="w+", steps=200), on_progress=print_step)
    res.figures.psnr, res.figures.w_percentile; state = projected_state(base_state, res)
    results = proj.project_batch(targets, ProjectConfig(steps=200))   # targets (N, H, W, C) uint8 -> N results
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.explore.latent_prior import LatentPrior, latent_prior
from explorer.explore.lockstep_lbfgs import lbfgs_rows
from explorer.explore.projection_config import LossWeights, ProjectConfig
from explorer.explore.projection_loss import TargetLoss
from explorer.explore.projection_metrics import FeatureNets, Figures, measure
from explorer.explore.projection_tensors import as_targets, colour_rows, to_hwc
from explorer.gan.protocol import Generator

if TYPE_CHECKING:
    from explorer.explore.encoder import Encoder

__all__ = ["LossWeights", "ProjectConfig", "Projection", "Projector", "w_only"]   # settings: projection_config


@dataclass
class Projection:
    ws: torch.Tensor              # (1, num_ws, width) float32 CPU, already rounded to float16 (what a recipe keeps)
    space: str                    # "w" (all rows equal) | "w+"
    class_index: int | None
    image: np.ndarray             # (H, W, C) uint8: the reconstruction
    target: np.ndarray            # (H, W, C) uint8: what was asked for
    figures: Figures
    steps: int                    # evaluations run (render + gradient): Adam steps, or class trial + L-BFGS
    seconds: float                # wall time of the whole projection
    stopped: bool = False         # True when should_stop() ended it early
    history: list[float] = field(default_factory=list)   # loss after each step
    start: str = "mean"           # what the first guess was: "encoder" | "mean"
    optimizer: str = "lbfgs"      # ProjectConfig.optimizer of the run


ProgressFn = Callable[[int, float, np.ndarray], None]


def _lr_at(t: float, peak: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    """StyleGAN2 projector schedule: linear ramp-up over the first `rampup` share of the steps (none when 0),
    cosine ramp-down over the last `rampdown` share; t in [0, 1]."""
    ramp = min(1.0, (1.0 - t) / rampdown) * (min(1.0, t / rampup) if rampup > 0 else 1.0)
    return peak * (0.5 - 0.5 * math.cos(ramp * math.pi))


class _Search:
    """A batch projection's state: N images, m rows each (an image's candidate classes x starts; row r
    belongs to image r // m), and each image's best point so far."""

    def __init__(self, cands: list[int | None], priors: list[LatentPrior], m: int, loss: TargetLoss,
                 u: torch.Tensor) -> None:
        self.cands, self.priors, self.m, self.loss = cands, priors, m, loss   # per row (N * m)
        self.n, self._dev = len(cands) // m, u.device
        dev = u.device
        self.best_u = u[self.first].detach().clone()                         # (N, L, r)
        self.best_loss = torch.full((self.n,), math.inf, device=dev)        # (N,)
        self.best_j = torch.zeros(self.n, dtype=torch.long, device=dev)     # (N,) the best row's index in its m
        self.history: list[list[float]] = [[] for _ in range(self.n)]      # each image's leading loss per step

    @property
    def first(self) -> torch.Tensor:
        """(N,) each image's first row."""
        return torch.arange(self.n, device=self._dev) * self.m

    def record(self, per: torch.Tensor, u: torch.Tensor, trial_step: bool) -> torch.Tensor:
        """One step's per-row losses (N * m,) at rows u (N * m, L, r): each image's leading row becomes its
        best when lower (always, during a class trial: the trial compares classes at its end, not along
        the way). Returns the leading rows (N,)."""
        val, j = per.view(self.n, self.m).min(1)
        rows = self.first + j
        better = (val < self.best_loss) | trial_step
        self.best_loss = torch.where(better, val, self.best_loss)
        self.best_u[better] = u[rows[better]]
        self.best_j = torch.where(better, j, self.best_j)
        for i, v in enumerate(val.tolist()):
            self.history[i].append(v)
        return rows

    def kept(self) -> list[int]:
        """Each image's best row."""
        return (self.first + self.best_j).tolist()

    def keep_best_class(self) -> None:
        """End the class trial: each image keeps its best row only (m becomes 1)."""
        kept = self.kept()
        self.cands = [self.cands[k] for k in kept]
        self.priors = [self.priors[k] for k in kept]
        self.loss = self.loss.select(torch.tensor(kept, device=self._dev))
        self.m = 1
        self.best_j = torch.zeros_like(self.best_j)


class Projector:
    """Everything a projection needs for one model; thread-safe to share (each call has its own state)."""

    def __init__(self, G: Generator, nets: FeatureNets | None = None, encoder: Encoder | None = None,
                 prior_samples: int = 4096) -> None:
        self.G, self.nets, self.encoder = G, nets or FeatureNets(), encoder
        self.prior_samples = prior_samples
        self._priors: dict[int | None, LatentPrior] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_model(cls, G: Generator, meta: dict, encoder: bool = True) -> Projector:
        """The projector of a loaded model (`meta` from load_generator, with its "path"): its critic, the
        Fashion-MNIST classifier where it applies, and its encoder when one was trained (see encoder.py)."""
        from explorer.explore.encoder import load_encoder_or_none
        enc = load_encoder_or_none(meta) if encoder else None
        return cls(G, FeatureNets.for_model(G, meta), enc)

    @property
    def conditional(self) -> bool:
        return bool(self.G.cfg.num_classes)

    def prior(self, class_index: int | None) -> LatentPrior:
        """The w statistics of one class (None: unconditional or all classes), computed once."""
        with self._lock:
            if class_index not in self._priors:
                self._priors[class_index] = latent_prior(self.G, class_index, self.prior_samples)
            return self._priors[class_index]

    # ------------------------------------------------------------ loss

    def loss(self, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor, c: torch.Tensor | None,
             w: LossWeights) -> torch.Tensor:
        """Per-candidate loss (B,): x (B, C, H, W) renders, t (1 or B, C, H, W) targets, u (B, L, r) whitened
        latents (projection_loss.TargetLoss; a loop over fixed targets should build that once instead)."""
        return TargetLoss(self.nets, t.expand_as(x), c, w)(x, u)

    # ------------------------------------------------------------ first guess

    def _guess(self, t: torch.Tensor, cfg: ProjectConfig) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The encoder's w+ (N, num_ws, width) and class logits (N, K) or None, or (None, None); t (N, C, H, W)."""
        if cfg.start != "encoder" or self.encoder is None:
            return None, None
        with torch.no_grad():
            ws, logits = self.encoder.predict(t.to(next(self.encoder.parameters()).device))
        return ws.to(t.device), None if logits is None else logits.to(t.device)

    def _candidates(self, cfg: ProjectConfig, logits: torch.Tensor | None) -> list[int | None]:
        if not self.conditional:
            return [None]
        nc = self.G.cfg.num_classes
        if cfg.class_index is not None:
            if not 0 <= cfg.class_index < nc:
                raise ValueError(f"class {cfg.class_index} is outside 0..{nc - 1}")
            return [cfg.class_index]
        if logits is None:
            return list[int | None](range(nc))[:max(1, cfg.max_class_trials)]
        return logits[0].argsort(descending=True).tolist()[:max(1, cfg.encoder_class_trials)]

    def _init_u(self, prior: LatentPrior, guess: torch.Tensor | None, space: str) -> torch.Tensor:
        """(L, r) whitened start: the encoder's guess seen through this class's prior, or the mean (zeros)."""
        n = self.G.num_ws if space == "w+" else 1
        if guess is None:
            return torch.zeros(n, prior.rank)
        u = prior.whiten(guess[0].cpu())                                     # (num_ws, r)
        return u.mean(0, keepdim=True) if space == "w" else u

    # ------------------------------------------------------------ the loop

    def project(self, target: np.ndarray | torch.Tensor, cfg: ProjectConfig | None = None,
                should_stop: Callable[[], bool] | None = None,
                on_progress: ProgressFn | None = None) -> Projection:
        """Project one target image into the model's w (or w+).

        `target`: (H, W, C) uint8 as rendered/uploaded, or (C, H, W) float in [-1, 1]; its size and
        channels must be the model's (fit uploads first: projection_io.fit_image). `should_stop()` is
        polled every step (True: return the best so far, `stopped=True`); `on_progress(step, loss,
        image)` gets the loss and (H, W, C) uint8 render of the leading candidate after every step
        (the returned latent is the lowest-loss one seen). Raises ValueError for a
        target of the wrong shape or a class outside the model's."""
        return self.project_batch([target], cfg, should_stop, on_progress)[0]

    def project_batch(self, targets: np.ndarray | torch.Tensor | Sequence[np.ndarray | torch.Tensor],
                      cfg: ProjectConfig | None = None, should_stop: Callable[[], bool] | None = None,
                      on_progress: ProgressFn | None = None) -> list[Projection]:
        """Project N target images at once: N independent projections, one result each, in order.

        `targets`: (N, H, W, C) uint8, (N, C, H, W) float in [-1, 1], or a sequence of what `project`
        takes. All N latents (and, for conditional models, each image's candidate classes and restarts)
        are rows of one tensor, rendered together: no loss term mixes rows (projection_loss.TargetLoss),
        so each row's gradient is its own loss's; Adam's update is elementwise and L-BFGS keeps each
        row's own history and line search (lockstep_lbfgs), so each row follows its single projection's
        path (with Adam exactly; with L-BFGS up to the last bits of batched renders, which it amplifies:
        the same quality, not the same numbers; tests check both). Each image keeps its own best step
        and best class. `on_progress` reports image 0's leading candidate (L-BFGS: its best so far);
        `seconds` of every result is the whole batch's wall time."""
        cfg = cfg or ProjectConfig()
        t0 = time.perf_counter()
        dev = self.G.w_avg.device
        t = as_targets(targets, self.G).to(dev)                             # (N, C, H, W)
        guess, logits = self._guess(t, cfg)
        cands, m, u = self._start_rows(t.shape[0], cfg, guess, logits)
        classes = None if cands[0] is None else torch.tensor(cands, device=dev)
        search = _Search(cands, [self.prior(c) for c in cands], m,
                         TargetLoss(self.nets, t.repeat_interleave(m, 0), classes, cfg.weights), u.to(dev))
        trial = (cfg.class_trial_steps if cfg.optimizer == "adam" else max(1, cfg.class_trial_steps)) if m > 1 else 0
        adam_steps = cfg.steps if cfg.optimizer == "adam" else min(trial, cfg.steps)   # L-BFGS: the class trial only
        step, stopped = self._adam(search, u.to(dev), cfg, guess is not None, adam_steps, trial,
                                   should_stop, on_progress)
        steps = [step] * search.n
        if cfg.optimizer == "lbfgs" and not stopped and step < cfg.steps:   # one row per image by now
            evals, stopped = self._lbfgs(search, cfg.steps - step, should_stop, on_progress, cfg.lbfgs_history)
            steps = [step + e for e in evals]
        return self._results(search, t, cfg, steps, stopped, "encoder" if guess is not None else "mean", t0)

    def _adam(self, s: _Search, u: torch.Tensor, cfg: ProjectConfig, from_encoder: bool, steps: int, trial: int,
              should_stop: Callable[[], bool] | None, on_progress: ProgressFn | None) -> tuple[int, bool]:
        """Adam on all rows from u (N * m, L, r) for `steps` steps, at the schedule's learning rate of step
        s / cfg.steps; after `trial` steps (conditional models, m > 1) each image keeps its best class only
        (`_Search.keep_best_class`) and Adam restarts from there. Updates `s`; returns (steps run, stopped)."""
        G = self.G
        peak, rampup, rampdown = cfg.schedule(from_encoder)
        u = u.requires_grad_(True)
        opt = torch.optim.Adam([u], lr=peak, betas=(0.9, 0.999))
        step = 0
        with torch.enable_grad():
            while step < steps:
                if should_stop is not None and should_stop():
                    return step, True
                for g in opt.param_groups:
                    g["lr"] = _lr_at((step + 1) / cfg.steps, peak, rampdown, rampup)
                x = G.synthesis(colour_rows(s.priors, u, G.num_ws))                # (N * m, C, H, W)
                per = s.loss(x, u)                                                 # (N * m,)
                rows = s.record(per.detach(), u.detach(), trial_step=s.m > 1 and step < trial)
                opt.zero_grad(set_to_none=True)
                per.sum().backward()
                opt.step()
                step += 1
                if on_progress is not None:
                    on_progress(step, s.history[0][-1], to_hwc(x.detach()[int(rows[0]):int(rows[0]) + 1])[0])
                if s.m > 1 and step == min(trial, cfg.steps):
                    s.keep_best_class()
                    u = s.best_u.clone().requires_grad_(True)
                    opt = torch.optim.Adam([u], lr=peak, betas=(0.9, 0.999))
        return step, False

    def _lbfgs(self, s: _Search, budget: int, should_stop: Callable[[], bool] | None,
               on_progress: ProgressFn | None, memory: int) -> tuple[list[int], bool]:
        """The L-BFGS phase (`ProjectConfig.optimizer`), one row per image (s.m == 1): image i's own L-BFGS
        from s.best_u[i] (N, L, r), all N evaluated together (lockstep_lbfgs), at most `budget` evaluations
        each. Updates s.best_u and s.best_loss in place with every lower loss seen and appends each
        evaluation's loss to s.history. Returns (evaluations per image, stopped)."""
        G, dev, n = self.G, s.best_u.device, s.n
        best_u, best_loss = s.best_u, s.best_loss
        stopped = [False]
        shown: list[np.ndarray | None] = [None]

        def halt() -> bool:
            stopped[0] = stopped[0] or bool(should_stop is not None and should_stop())
            return stopped[0]

        def evaluate(rows: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            with torch.enable_grad():
                uu = points.to(dev).requires_grad_(True)
                x = G.synthesis(colour_rows([s.priors[k] for k in rows.tolist()], uu, G.num_ws))
                per = (s.loss if len(rows) == n else s.loss.select(rows.to(dev)))(x, uu)
                (grad,) = torch.autograd.grad(per.sum(), uu)
            val, r = per.detach(), rows.to(dev)
            better = val < best_loss[r]
            best_loss[r[better]] = val[better]
            best_u[r[better]] = uu.detach()[better]
            for i, v in zip(rows.tolist(), val.tolist(), strict=True):
                s.history[i].append(v)
            if on_progress is not None and int(rows[0]) == 0:     # image 0's best so far: a rejected
                img = shown[0]                                     # line-search trial is never shown
                if bool(better[0]) or img is None:
                    img = shown[0] = to_hwc(x.detach()[:1])[0]
                on_progress(len(s.history[0]), float(best_loss[0]), img)
            return val, grad

        evals = lbfgs_rows(best_u.detach().clone(), evaluate, budget, memory, halt)
        return evals, stopped[0]

    def _results(self, s: _Search, t: torch.Tensor, cfg: ProjectConfig, steps: list[int], stopped: bool,
                 start: str, t0: float) -> list[Projection]:
        """Each image's best point rendered, measured against its target t (N, C, H, W), as a Projection."""
        keep = s.kept()
        with torch.no_grad():
            ws = colour_rows([s.priors[k] for k in keep], s.best_u, self.G.num_ws).half().float()  # a recipe's
            img = self.G.synthesis(ws)
        seconds = time.perf_counter() - t0
        out = []
        for i, k in enumerate(keep):
            figures = measure(self, img[i:i + 1], t[i:i + 1], ws[i:i + 1], s.cands[k])
            out.append(Projection(ws[i:i + 1].cpu(), cfg.space, s.cands[k], to_hwc(img[i:i + 1])[0],
                                  to_hwc(t[i:i + 1])[0], figures, steps[i], seconds, stopped, s.history[i],
                                  start, cfg.optimizer))
        return out

    def _start_rows(self, n: int, cfg: ProjectConfig, guess: torch.Tensor | None, logits: torch.Tensor | None
                    ) -> tuple[list[int | None], int, torch.Tensor]:
        """The optimisation's rows for n images: (candidate class of each row, rows per image m, starting
        u (n * m, L, rank) on the CPU); row r belongs to image r // m. Each image tries its candidate
        classes, each with 1 + cfg.restarts starts; every class's first start is exact, the others get the
        same seeded jitter a single run gets."""
        per_image = [[c for c in self._candidates(cfg, None if logits is None else logits[i:i + 1])
                      for _ in range(1 + cfg.restarts)] for i in range(n)]
        m = len(per_image[0])                                                # rows per image (same for all)
        cands = [c for cs in per_image for c in cs]
        u = torch.stack([self._init_u(self.prior(c), None if guess is None else guess[r // m:r // m + 1], cfg.space)
                         for r, c in enumerate(cands)])                      # (N * m, L, rank)
        if cfg.restarts:
            jitter = torch.randn((m, *u.shape[1:]), generator=torch.Generator().manual_seed(0)) * cfg.restart_noise
            jitter = jitter * (torch.arange(m) % (1 + cfg.restarts) != 0)[:, None, None]
            u = u + jitter.repeat(n, 1, 1)
        return cands, m, u

    def with_encoder(self, encoder: Encoder | None) -> Projector:
        """A projector sharing this one's networks and priors but with another (or no) encoder."""
        p = Projector(self.G, self.nets, encoder, self.prior_samples)
        p._priors = self._priors
        return p


def w_only(ws: torch.Tensor) -> bool:
    """True when every layer of ws (1, num_ws, width) holds the same w."""
    return bool((ws == ws[:, :1]).all())

