"""A tiny "trained" run for critic and page tests: a training checkpoint with G, G_ema and D, in milliseconds.

    j, nets = make_run(tmp_path / "runs" / "r", d_arch="dcgan", classes=3)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from explorer.gan import checkpoint as ckpt
from explorer.config import preset, to_dict
from explorer.gan.nets import Nets, build_nets, compute_w_avg, state_tensors


def make_run(run: Path, d_arch: str = "resnet", classes: int = 3, dataset: dict | None = None,
             class_names: list[str] | None = None, step: int = 4) -> tuple[Path, Nets]:
    """checkpoints/step-XXXXXXXX.json of a tiny film generator and a `d_arch` discriminator. The D has been
    run in train mode a few times, so BatchNorm statistics and spectral-norm vectors are not at their defaults."""
    m = preset("tiny", 32, 1, classes)
    disc = dataclasses.replace(m.discriminator, arch=d_arch, spectral_norm=d_arch == "resnet")
    cfg = dataclasses.replace(m, generator=dataclasses.replace(m.generator, arch="film"), discriminator=disc)
    nets = build_nets(cfg, torch.device("cpu"), seed=0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(3):
            x = torch.rand(8, 1, 32, 32, generator=g) * 2 - 1
            nets.D(x, torch.randint(classes, (8,), generator=g) if classes else None)
    nets.D.eval()
    compute_w_avg(nets.G_ema)
    tensors, opt = state_tensors(nets, g)
    meta = {"optimizers": opt, "images_seen": 32, "elapsed_s": 1.0, "config": to_dict(cfg),
            "class_names": class_names or [f"class{i}" for i in range(classes)], "dataset": dataset or {}}
    return ckpt.save_training(run, step, tensors, meta), nets
