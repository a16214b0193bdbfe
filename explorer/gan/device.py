"""Device choice and generator loading for inference.

Nothing is probed at import time. `pick_device("auto")` prefers CUDA, then Apple MPS, then CPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from explorer.gan import checkpoint
from explorer.gan.protocol import Generator
from explorer.settings import data_dir, pretrained_dir


def pick_device(pref: str = "auto") -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' | 'mps' -> torch.device, with a clear error if unavailable."""
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(pref)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {pref!r} asked for, but this machine has no usable CUDA GPU")
    return dev


def model_search_path() -> list[Path]:
    """Where bare model names are looked up: pretrained/, then <data>/runs/."""
    return [pretrained_dir(), data_dir() / "runs"]


def load_generator(name_or_path: str | os.PathLike, device: str | torch.device = "auto") -> tuple[Generator, dict]:
    """Load a generator for inference (eval mode, no grads) on the chosen device."""
    dev = pick_device(device) if isinstance(device, str) else device
    return checkpoint.load_generator(name_or_path, dev, search=model_search_path())
