"""Shared fixtures, built from tests/factories.py: tiny deterministic datasets and models, CPU only, 1 thread."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("LATENT_EXPLORER_THREADS", "1")
torch.set_num_threads(1)

from explorer.data.datasets import ImageDataset  # noqa: E402
from tests.factories import make_dataset  # noqa: E402


@pytest.fixture
def tiny_ds() -> ImageDataset:
    """64 32x32 grayscale images in 3 classes (tests/factories.make_dataset)."""
    return make_dataset()
