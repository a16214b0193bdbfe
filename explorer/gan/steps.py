"""The named steps of one GAN training iteration, in the order `train_loop` calls them.

    data = Batches(dataset, t.batch_size, z_dim, gen, device, conditional)
    real, c = data.real()                                  # (B, C, H, W) in [-1, 1], (B,) labels or None
    fake = generate(nets, data.noise(len(real)), c, amp, grad=True)      # (B, C, H, W), G's graph kept
    d = d_step(nets, t, real, fake.detach(), c, p, gen, amp, world)      # one D update -> DStats
    g = g_step(nets, t, fake, c, p, gen, amp, world, extra, step)        # one G update on the same fakes -> GStats
    ema_step(nets, t, images_seen, world)                  # G_ema (Karras et al. 2018; StyleGAN2-ADA ramp-up)
    p = ada.update(p, step, world)                         # adaptive augmentation (Karras et al. 2020), every
                                                           # `ada_every` steps

As in the textbook DCGAN loop (pytorch/examples `dcgan/main.py`), G draws one batch of fakes per
iteration: D learns on them detached, then G learns through the updated D on the same fakes (its
graph was kept), so no G forward pass is spent twice. Conditional fakes take the real batch's labels,
so classes come in the data's proportions (uniform classes over-train G on rare classes D rarely
sees faked). With d_steps > 1 the earlier D steps draw their own fakes without a graph. D's
parameters stop requiring gradients during G's step, so G's backward pass computes none for D.
All randomness comes from the one `torch.Generator` passed in (the seeds: `noise_seed`).
`extra`, when the caller gives one, adds further named terms to G's loss computed on the fakes (e.g. a
frozen glyph reader's cross-entropy, explorer.evaluation.glyph_reading_loss, and the glyphs' style
spread, explorer.evaluation.style_consistency_loss), each weighted by its caller.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as tdist

from explorer.config import TrainConfig
from explorer.gan.augment import adapt_p, diff_augment
from explorer.gan.distributed import allreduce_grads
from explorer.gan.losses import d_loss, g_loss, gradient_penalty, r1_penalty
from explorer.gan.nets import Nets, update_ema

Amp = Callable[[], AbstractContextManager[Any]]   # autocast (bf16 on CUDA) or a null context

# Seeds of the run's random streams (noise, data order, augmentation): independent per rank, and a
# fresh stream after a rollback (so the bad path is not replayed) or a data-parallel resume (whose
# per-rank RNG states are not saved). Primes, so the streams do not collide for small step counts.
RANK_STRIDE = 1000
RESUME_STRIDE = 7919
ROLLBACK_STRIDE = 104729


def noise_seed(seed: int, rank: int, resumed_at: int = 0, rollbacks: int = 0) -> int:
    """The seed of one rank's stream: at the start, after a data-parallel resume at a step, or after rollbacks."""
    return seed * RANK_STRIDE + rank + RESUME_STRIDE * resumed_at + ROLLBACK_STRIDE * rollbacks


@dataclass(frozen=True)
class DStats:
    """One discriminator update: its loss, mean logits on real and fake images, E[sign D(real)] (ADA's r_t)."""

    loss: float
    real: float
    fake: float
    sign_real: float


@dataclass(frozen=True)
class GStats:
    """One generator update: its loss (the adversarial term plus `extra`) and each extra term alone."""

    loss: float
    extra: dict[str, float] = field(default_factory=dict)


ExtraLoss = Callable[[torch.Tensor, int], dict[str, torch.Tensor]]
"""(fakes (B, C, H, W) in [-1, 1], step) -> named weighted scalar terms of G's loss, e.g. {"read": ..}."""


class Batches:
    """Real batches and noise for one run, drawn with `gen` (the run's stream) on `device`.

    Images are kept as uint8 (N, C, H, W) on the device and scaled per batch; `dataset.weights`
    (N,), when present, makes sampling weighted (e.g. by font family), else uniform."""

    def __init__(self, dataset: Any, batch_size: int, z_dim: int, gen: torch.Generator,
                 device: torch.device, conditional: bool) -> None:
        self.n, self.batch_size, self.z_dim, self.gen, self.device = len(dataset), batch_size, z_dim, gen, device
        self.images = dataset.images.to(device)
        self.labels = dataset.labels.to(device) if (conditional and dataset.labels is not None) else None
        w = getattr(dataset, "weights", None)
        self.weights = w.double() if w is not None else None

    def real(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, C, H, W) images in [-1, 1] and their (B,) labels (None for an unconditional model)."""
        if self.weights is not None:
            idx = torch.multinomial(self.weights, self.batch_size, replacement=True, generator=self.gen)
        else:
            idx = torch.randint(self.n, (self.batch_size,), generator=self.gen)
        idx = idx.to(self.device)
        x = self.images[idx].float() / 127.5 - 1.0
        x = x.contiguous(memory_format=torch.channels_last)        # as G and D (nets.build_nets)
        return x, (self.labels[idx] if self.labels is not None else None)

    def noise(self, b: int) -> torch.Tensor:
        """z (b, z_dim) ~ N(0, I)."""
        return torch.randn(b, self.z_dim, generator=self.gen).to(self.device)


def generate(nets: Nets, z: torch.Tensor, c: torch.Tensor | None, amp: Amp, grad: bool) -> torch.Tensor:
    """G(z, c) (B, C, H, W) in float32; with `grad`, G's graph is kept for `g_step`."""
    with torch.set_grad_enabled(grad), amp():
        return nets.G(z, c).float()


def d_step(nets: Nets, t: TrainConfig, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None,
           p_aug: float, gen: torch.Generator, amp: Amp, world: int) -> DStats:
    """One discriminator update on a real batch and detached fakes (both (B, C, H, W), labels c (B,) or
    None), both augmented alike (DiffAugment, Zhao et al. 2020). Loss `t.loss`, plus the WGAN-GP
    penalty (Gulrajani et al. 2017) or R1 (Mescheder et al. 2018) when configured. Gradients are
    averaged over `world` ranks before Adam steps."""
    for p in nets.d_trainable:
        p.requires_grad_(True)
    policies = t.augment_list
    real_a = diff_augment(real, policies, p_aug, gen)
    fake_a = diff_augment(fake, policies, p_aug, gen)
    if t.r1_gamma > 0:
        real_a = real_a.detach().requires_grad_(True)
    with amp():
        logits_real = nets.D(real_a, c).float()                       # (B,)
        logits_fake = nets.D(fake_a, c).float()
        loss = d_loss(t.loss, logits_real, logits_fake)
    if t.loss == "wgan-gp":
        loss = loss + t.gp_weight * gradient_penalty(lambda x: nets.D(x, c).float(), real_a.detach(),
                                                     fake_a.detach(), gen)
    if t.r1_gamma > 0:
        loss = loss + 0.5 * t.r1_gamma * r1_penalty(logits_real, real_a)
    nets.opt_D.zero_grad(set_to_none=True)
    loss.backward()
    allreduce_grads(nets.d_trainable, world)
    nets.opt_D.step()
    lr_, lf_ = logits_real.detach(), logits_fake.detach()
    figures = torch.stack([loss.detach(), lr_.mean(), lf_.mean(), torch.sign(lr_).mean()]).tolist()  # one sync
    return DStats(*figures)


def g_step(nets: Nets, t: TrainConfig, fake: torch.Tensor, c: torch.Tensor | None, p_aug: float,
           gen: torch.Generator, amp: Amp, world: int, extra: ExtraLoss | None = None, step: int = 0) -> GStats:
    """One generator update through D on `fake` (B, C, H, W), made by `generate(..., grad=True)`, plus
    `extra(fake, step)` (un-augmented fakes; `step` is the run's step before this update) when given."""
    for p in nets.d_trainable:
        p.requires_grad_(False)
    with amp():
        logits = nets.D(diff_augment(fake, t.augment_list, p_aug, gen), c).float()
        loss = g_loss(t.loss, logits)
    terms = {k: v.float() for k, v in extra(fake, step).items()} if extra is not None else {}
    total = loss + sum(terms.values(), torch.zeros((), device=loss.device))
    nets.opt_G.zero_grad(set_to_none=True)
    total.backward()
    allreduce_grads(list(nets.G.parameters()), world)
    nets.opt_G.step()
    return GStats(float(total.detach()), {k: float(v.detach()) for k, v in terms.items()})


def ema_step(nets: Nets, t: TrainConfig, images_seen: int, world: int) -> None:
    """G_ema follows G with a half-life of `ema_half_life_k` thousand images, ramped up over the first
    images (`ema_rampup` x images seen, StyleGAN2-ADA). Without EMA nothing happens here: `sync_ema`
    copies G when G_ema is about to be read."""
    if t.ema_half_life_k <= 0:
        return
    ema_nimg = t.ema_half_life_k * 1000
    if t.ema_rampup > 0:
        ema_nimg = min(ema_nimg, images_seen * t.ema_rampup)
    update_ema(nets.G, nets.G_ema, 0.5 ** (t.batch_size * world / max(ema_nimg, 1e-8)))


def sync_ema(nets: Nets, t: TrainConfig) -> None:
    """Without EMA, make G_ema an exact copy of G (call before G_ema is saved, sampled or measured)."""
    if t.ema_half_life_k <= 0:
        update_ema(nets.G, nets.G_ema, 0.0)


class AdaptiveAugment:
    """ADA's heuristic (Karras et al. 2020): every `ada_every` steps, move p by the images since the last
    update over `ada_speed_k` thousand, up when r_t = E[sign D(real)] is above `ada_target`, else down.
    `total`/`count` (the sum of r_t since the last update) are saved in checkpoints, so a resume is exact."""

    def __init__(self, t: TrainConfig, total: float = 0.0, count: int = 0) -> None:
        self.t, self.total, self.count = t, total, count
        self.on = t.ada_target > 0 and bool(t.augment_list)
        self.rt = 0.0                                      # the last update's r_t (reported)

    def add(self, sign_real: float) -> None:
        self.total += sign_real
        self.count += 1

    def update(self, p: float, step: int, world: int) -> float:
        """p after this step: changed on steps that are multiples of ada_every, else as it was."""
        t = self.t
        if not self.on or step % t.ada_every:
            return p
        rt = torch.tensor([self.total / max(self.count, 1)])
        if world > 1:
            tdist.all_reduce(rt)
            rt /= world
        self.rt = float(rt)
        self.total, self.count = 0.0, 0
        return adapt_p(p, self.rt, t.ada_target, t.ada_every * t.batch_size * world, t.ada_speed_k)
