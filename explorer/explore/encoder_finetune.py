"""Fine-tune an encoder on real images through the frozen generator: closes the sample-to-photo domain gap.

An encoder trained only on (w, G(w)) pairs (explorer/explore/encoder.py) guesses poorly on real images
(on the shipped models: 16.8 dB on Fashion-MNIST test images against 22.8 dB on the model's own
samples). As in pSp and e4e (Richardson et al. 2021, Tov et al. 2021), it is then trained on the
model's real training images with the projection's own loss (explorer/explore/inversion.py: pixel L2
+ L1 + MS-SSIM + the discriminator / classifier feature distances + the w prior, mean(u^2) in the
class's whitened coordinates) of G(encoder(x)) against x, the generator frozen; each step also keeps
the latent regression on a batch of the model's samples (so the w+ rows stay meaningful) and, for
labelled data, the class cross-entropy. The image is rendered from the mean of the predicted w+ rows,
seen through the class's prior, exactly where a projection in w starts.

Images with index % HOLDOUT_EVERY == 0 are never trained on (`encoder_holdout`): datasets without a
test split (emoji) are benchmarked on those (explorer/bench/inversion_bench.py).

    images, labels, why = real_images(meta, G)          # (N, C, H, W) uint8, (N,) | None; None + reason
    summary = finetune_encoder(G, enc, images, labels, FeatureNets.for_model(G, meta), max_seconds=120)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from explorer.explore.latent_prior import LatentPrior, latent_prior
from explorer.gan.protocol import Generator

if TYPE_CHECKING:
    from explorer.explore.encoder import Encoder
    from explorer.explore.inversion import LossWeights
    from explorer.explore.projection_metrics import FeatureNets

HOLDOUT_EVERY = 10


def cosine_lr_within_budget(opt: torch.optim.Optimizer, lr: float, step: int, steps: int, t0: float,
                            max_seconds: float | None, should_stop: Callable[[], bool] | None) -> float | None:
    """One step of an encoder's training budget: None when `max_seconds` (since perf_counter `t0`) is
    spent or `should_stop()` says so; else sets opt's lr on a cosine from `lr` down to 5 % of it over
    whichever of the step or time budget is further along, and returns that share done (0..1)."""
    elapsed = time.perf_counter() - t0
    if (max_seconds is not None and elapsed >= max_seconds) or (should_stop is not None and should_stop()):
        return None
    done = min(max(step / steps, elapsed / max_seconds if max_seconds else 0.0), 1.0)
    for g in opt.param_groups:
        g["lr"] = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done)))
    return done


def encoder_holdout(n: int) -> torch.Tensor:
    """(n,) bool: the images an encoder never trains on (every HOLDOUT_EVERY-th, from index 0)."""
    return torch.arange(n) % HOLDOUT_EVERY == 0


def real_images(meta: dict, G: Generator) -> tuple[torch.Tensor | None, torch.Tensor | None, str]:
    """The training images of a model (its card's dataset, at its resolution and channels), the held-out
    ones removed: ((N, C, H, W) uint8, (N,) labels or None, source) or (None, None, why not). Never raises."""
    ds_meta = meta.get("dataset") or {}
    spec = str(ds_meta.get("spec") or ds_meta.get("source") or "")
    if not spec:
        return None, None, "the model's card names no dataset"
    from explorer.data.datasets import load_dataset
    try:
        ds = load_dataset(spec, G.cfg.resolution, G.cfg.channels, str(ds_meta.get("fit") or "crop"),
                          bool(ds_meta.get("labels_from_subfolders")))
    except (OSError, ValueError) as e:
        return None, None, f"its dataset {spec!r} cannot be loaded: {e}"
    if ds.images.shape[1:] != (G.cfg.channels, G.cfg.resolution, G.cfg.resolution):
        return None, None, f"its dataset {spec!r} holds {tuple(ds.images.shape[1:])} images, not the model's"
    keep = ~encoder_holdout(len(ds))
    labels = ds.labels[keep] if ds.labels is not None and G.cfg.num_classes else None
    if labels is not None and int(labels.max()) >= G.cfg.num_classes:
        labels = None
    return ds.images[keep], labels, f"{spec} ({int(keep.sum())} images, every {HOLDOUT_EVERY}th held out)"


class _Priors:
    """The class priors a projection whitens through, stacked for a batch of class indices."""

    def __init__(self, G: Generator, samples: int = 2048) -> None:
        nc = G.cfg.num_classes
        self.list: list[LatentPrior] = [latent_prior(G, c, samples, held_out=16)
                                        for c in (range(nc) if nc else [None])]

    def project(self, w: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """w (B, width) -> (w seen through each row's class prior (B, width), prior term mean(u^2) (B,))."""
        idx = [0] * w.shape[0] if c is None else c.tolist()
        out, pen = [], []
        for i, k in enumerate(idx):
            p = self.list[k]
            u = p.whiten(w[i])
            out.append(p.colour(u))
            pen.append(u.square().mean())
        return torch.stack(out), torch.stack(pen)


def finetune_encoder(G: Generator, enc: Encoder, images: torch.Tensor, labels: torch.Tensor | None,
                     nets: FeatureNets | None = None, steps: int = 100_000, batch: int = 16, lr: float = 3e-4,
                     weights: LossWeights | None = None, latent_weight: float = 1.0, seed: int = 0,
                     max_seconds: float | None = None, should_stop: Callable[[], bool] | None = None,
                     on_progress: Callable[[dict], None] | None = None) -> dict:
    """Train `enc` in place on real `images` (N, C, H, W) uint8 (labels (N,) or None) through the frozen G
    until `steps`, `max_seconds` or `should_stop()`; leaves it in eval mode. Loss per step: the projection
    loss (`weights`, inversion.LossWeights, its prior included) of G(encoder's w) against the batch, plus
    `latent_weight` x the sample-pair latent loss, plus 0.1 x class cross-entropy when labelled. Adam,
    cosine-decayed lr. `on_progress` as in encoder.train_encoder. Returns a summary: steps, seconds, the
    reconstruction loss of the first and last 10% of steps. Raises ValueError for images of the wrong shape."""
    from explorer.explore.encoder import pair_loss, sample_pairs
    from explorer.explore.inversion import LossWeights, Projector
    if tuple(images.shape[1:]) != (G.cfg.channels, G.cfg.resolution, G.cfg.resolution) or not len(images):
        raise ValueError(f"images are {tuple(images.shape)}, not (N, {G.cfg.channels}, {G.cfg.resolution}, "
                         f"{G.cfg.resolution})")
    w8 = weights or LossWeights()
    no_prior = LossWeights(w8.l2, w8.l1, w8.ms_ssim, w8.critic, w8.classifier, 0.0)
    proj = Projector(G, nets)
    priors = _Priors(G)
    dev = G.w_avg.device
    G.requires_grad_(False)
    enc.train().requires_grad_(True)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(enc.parameters(), lr=lr, betas=(0.9, 0.99))
    t0 = last = time.perf_counter()
    step, recon = 0, []
    while step < steps:
        done = cosine_lr_within_budget(opt, lr, step, steps, t0, max_seconds, should_stop)
        if done is None:
            break
        idx = torch.randint(len(images), (batch,), generator=gen)
        x = (images[idx].float() / 127.5 - 1).to(dev)
        c = None if labels is None else labels[idx].to(dev)
        t, logits = enc(x)
        if c is None and logits is not None:
            c = logits.detach().argmax(1)
        w, prior_term = priors.project((enc.w_mean + t * enc.w_std).mean(1), c)
        render = G.synthesis(w[:, None].expand(-1, G.num_ws, -1))
        rec = proj.loss(render, x, w.new_zeros(batch, 1, 1), c, no_prior)
        loss = rec.mean() + w8.prior * prior_term.mean()
        if labels is not None and logits is not None and c is not None:
            loss = loss + 0.1 * F.cross_entropy(logits, c)
        if latent_weight:
            loss = loss + latent_weight * pair_loss(enc, *sample_pairs(G, batch, gen, 0.5, (0.6, 1.8)))[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        recon.append(float(rec.detach().mean()))
        if on_progress is not None and time.perf_counter() - last >= 1.0:
            last = time.perf_counter()
            el = last - t0
            eta = el / max(done, 1e-9) - el if done > 0 else None
            on_progress({"step": step, "steps": steps, "loss": recon[-1], "elapsed_s": el, "eta_s": eta})
    enc.eval().requires_grad_(False)
    k = max(1, len(recon) // 10)
    return {"real_steps": step, "real_batch": batch, "real_seconds": round(time.perf_counter() - t0, 1),
            "real_lr": lr, "real_loss_first": round(sum(recon[:k]) / k, 4) if recon else None,
            "real_loss_last": round(sum(recon[-k:]) / k, 4) if recon else None}
