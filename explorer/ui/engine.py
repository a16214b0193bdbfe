"""The app's shared generator engine: one copy of each checkpoint for every session.

`get_engine(path, sha256)` is an `st.cache_resource`: five tabs on one model share one `Engine`.
An engine keeps an fp32 CPU copy for the latent maths (mapping, directions, paths: small MLPs)
and the synthesis network on the render device: the GPU in half precision when there is one,
else the same CPU model. Renders run in inference mode under a lock, so concurrent sessions
never interleave on one GPU (or fight over the CPU's threads).

    eng = get_engine(str(info.path), info.meta["sha256"])
    img, ms = eng.render_state(state, directions)       # (H, W, C) uint8, milliseconds
"""

from __future__ import annotations

import copy
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch
from torch import nn

from explorer.explore import directions as dirs
from explorer.gan.device import load_generator, pick_device
from explorer.explore.latents import LatentState, Limits, state_to_ws
from explorer.imaging.render import to_uint8
from explorer.ui.heap import freeze_heap

MAX_DIRECTIONS = 32      # computed once per method; the page shows the first k


@dataclass
class Engine:
    G: nn.Module                     # fp32, CPU: mapping, directions, paths
    synth: nn.Module                 # synthesis on the render device (fp16 on CUDA)
    meta: dict
    device: torch.device
    dtype: torch.dtype
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "model"))

    @property
    def class_names(self) -> list[str]:
        names = list(self.meta.get("class_names") or [])
        nc = self.G.cfg.num_classes
        return names if len(names) == nc else [f"class {i}" for i in range(nc)]

    def limits(self, d: dirs.Directions | None = None) -> Limits:
        return Limits.of(self.G, d)

    def render_ws(self, ws: torch.Tensor, batch: int = 64) -> np.ndarray:
        """ws (N, num_ws, w_dim) or (N, w_dim) -> (N, H, W, C) uint8."""
        out = []
        with self.lock, torch.inference_mode():
            for i in range(0, ws.shape[0], batch):
                x = self.synth.synthesis(ws[i:i + batch].to(self.device, self.dtype))
                out.append(to_uint8(x.float()))
        if not out:
            cfg = self.G.cfg
            return np.zeros((0, cfg.resolution, cfg.resolution, cfg.channels), np.uint8)
        return np.concatenate(out)

    def state_ws(self, state: LatentState, d: dirs.Directions | None) -> torch.Tensor:
        with torch.inference_mode():
            return state_to_ws(self.G, state, d)

    def render_state(self, state: LatentState, d: dirs.Directions | None) -> tuple[np.ndarray, float]:
        """One image of a state and the milliseconds it took (latents + synthesis)."""
        img, ms, _ = self.render_state_ws(state, d)
        return img, ms

    def render_state_ws(self, state: LatentState, d: dirs.Directions | None) -> tuple[np.ndarray, float, torch.Tensor]:
        """render_state, plus the state's ws (1, num_ws, w_dim) for renders derived from it."""
        t0 = time.perf_counter()
        ws = self.state_ws(state, d)
        img = self.render_ws(ws)[0]
        return img, (time.perf_counter() - t0) * 1000.0, ws

    def directions(self, method: str) -> dirs.Directions:
        """PCA or SeFa directions (MAX_DIRECTIONS of them), from the disk cache or computed now."""
        return _directions(self, method)


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def get_engine(path: str, sha256: str) -> Engine:
    """One Engine per checkpoint version (sha256 is part of the key), shared by every session."""
    # One intra-op thread: a batch-1 render takes a few ms, and two OpenMP threads on a busy
    # 2-core machine spin against each other (measured 4 ms -> 220 ms). Override with $LATENT_EXPLORER_THREADS.
    torch.set_num_threads(int(os.environ.get("LATENT_EXPLORER_THREADS") or 1))
    G, meta = load_generator(path, "cpu")
    dev = pick_device("auto")
    if dev.type == "cuda":
        synth, dtype = copy.deepcopy(G).to(dev).half().eval(), torch.float16
    else:
        synth, dtype = G, torch.float32
    for p in synth.parameters():
        p.requires_grad_(False)
    freeze_heap()                         # the model's objects too: Streamlit's per-rerun GC skips them
    return Engine(G, synth, meta, dev, dtype)


@st.cache_resource(show_spinner="Finding edit directions…", max_entries=32,
                   hash_funcs={Engine: lambda e: (e.meta.get("sha256", ""), e.name)})
def _directions(eng: Engine, method: str) -> dirs.Directions:
    with eng.lock:
        return dirs.get_directions(eng.G, eng.meta, method, k=MAX_DIRECTIONS)
