"""A cheap quality curve while a job trains: SWD of the EMA generator against the training images.

`QualityProbe` fixes everything that could make two points of a curve differ for reasons other
than the generator: the same reference images (a seeded subset of the dataset), the same noise
and class labels, the same SWD patch positions and directions. It is called by `train_loop`
at every checkpoint (and once before the first step of a fresh run), so a point costs one
forward pass of `samples` images plus a small SWD (about 1-2 s at 128 images of 64x64 on one
CPU core) and nothing between checkpoints. Lower is better; the figure is ProGAN's multi-scale
sliced Wasserstein distance x1e3 (`explorer.evaluation.swd.sliced_wasserstein`) with fewer patches and
directions than the paper's, so compare points of one curve, or curves made with equal settings.

    probe = QualityProbe(dataset, samples=128)
    train_loop(cfg, dataset, run_dir=run, quality=probe)     # {"kind": "quality", ...} in metrics.jsonl
    probe(G_ema, step)                                        # {"swd": 21.4, "swd_levels": [...], ...}
"""

from __future__ import annotations

import time
from typing import Any

import torch

from explorer.evaluation.swd import sliced_wasserstein
from explorer.gan.protocol import Generator

SWD_SETTINGS = {"nhoods_per_image": 64, "dir_repeats": 2, "dirs_per_repeat": 64}


class QualityProbe:
    """Callable (G, step) -> {"swd", "swd_levels", "n", "seconds"} on fixed reference images and noise."""

    def __init__(self, dataset: Any, samples: int = 128, seed: int = 0, swd: dict | None = None,
                 batch: int = 64):
        n = min(int(samples), len(dataset))
        if n < 2:
            raise ValueError("a quality curve needs at least 2 training images")
        gen = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(dataset), generator=gen)[:n]
        self.reference = dataset.images[idx].contiguous()                     # (n, C, H, W) uint8
        self.labels = dataset.labels[idx].clone() if dataset.labels is not None else None
        self.seed, self.batch = seed, batch
        self.swd = {**SWD_SETTINGS, **(swd or {})}
        self._z: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.reference.shape[0])

    @torch.no_grad()
    def samples(self, G: Generator) -> torch.Tensor:
        """(n, C, H, W) uint8 samples of G from the probe's fixed noise (and the references' classes)."""
        dev = next(G.parameters()).device
        if self._z is None or self._z.shape[1] != G.cfg.z_dim:
            self._z = torch.randn(len(self), G.cfg.z_dim, generator=torch.Generator().manual_seed(self.seed + 1))
        nc = G.cfg.num_classes
        c = None
        if nc:
            c = self.labels if self.labels is not None else torch.arange(len(self)) % nc
            c = c.clamp(0, nc - 1)
        was = G.training
        G.eval()
        out = []
        for i in range(0, len(self), self.batch):
            x = G(self._z[i:i + self.batch].to(dev), None if c is None else c[i:i + self.batch].to(dev))
            out.append(((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu())
        G.train(was)
        return torch.cat(out)

    def __call__(self, G: Generator, step: int) -> dict:
        t = time.perf_counter()
        fake = self.samples(G)
        r = sliced_wasserstein(self.reference, fake, seed=self.seed, **self.swd)
        return {"swd": round(r["avg"], 4), "swd_levels": [round(v, 4) for v in r["per_level"]], "n": len(self),
                "seconds": round(time.perf_counter() - t, 3)}
