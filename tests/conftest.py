"""Shared fixtures: tiny deterministic datasets and configs, CPU only."""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

os.environ.setdefault("LATENT_EXPLORER_THREADS", "1")
torch.set_num_threads(1)

from explorer.config import preset  # noqa: E402
from explorer.data.datasets import ImageDataset  # noqa: E402


def make_dataset(n: int = 64, res: int = 32, ch: int = 1, classes: int = 3, seed: int = 0) -> ImageDataset:
    """Blobs whose brightness depends on the class, so there is something to learn."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(classes, (n,), generator=g) if classes else None
    base = torch.rand(n, ch, res, res, generator=g) * 60
    if labels is not None:
        base += labels.view(-1, 1, 1, 1) * 60
    imgs = base.clamp(0, 255).to(torch.uint8)
    names = [f"class{i}" for i in range(classes)]
    return ImageDataset(images=imgs, labels=labels, class_names=names if classes else [],
                        description={"source": "synthetic", "count": n})


def tiny_config(classes: int = 3, steps: int = 4, **train):
    m = preset("tiny", 32, 1, classes)
    return dataclasses.replace(m, train=dataclasses.replace(m.train, steps=steps, **train))


@pytest.fixture
def tiny_ds() -> ImageDataset:
    return make_dataset()
