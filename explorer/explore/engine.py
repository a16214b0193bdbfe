"""The render engine: a loaded generator that turns `LatentState`s into images, shared by sessions.

Pure (no Streamlit): the app wraps `load_engine` in `st.cache_resource` (explorer/ui/engine.py), so
five tabs on one model share one `Engine`. An engine keeps an fp32 CPU copy of the generator for
the latent maths (mapping, directions, paths: small MLPs) and the synthesis network on the render
device: the GPU in half precision when there is one, else the same CPU model. Renders run in
inference mode under a lock, so concurrent sessions never interleave on one GPU (or fight over the
CPU's threads). After the renderer of NVlabs/stylegan3 `viz/renderer.py`: arguments in, pixels out.

    eng = load_engine("pretrained/fashion.json")
    img, ms = eng.render_state(state, eng.directions(state.method))   # (H, W, C) uint8, milliseconds
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.explore import directions as dirs
from explorer.explore.direction_cache import get_directions
from explorer.explore.latents import LatentState, Limits, state_to_ws
from explorer.gan.device import load_generator, pick_device
from explorer.gan.protocol import Generator
from explorer.imaging.render import render_batch, to_uint8

MAX_DIRECTIONS = 32      # computed once per method; the page shows the first k
FOLLOWED_KEPT = 32       # latents of states with followed edits kept per model (each is a path of model passes)


@dataclass
class Engine:
    """One loaded model. `G` (fp32, CPU) for mapping, directions and paths; `synth` renders."""
    G: Generator                     # fp32, CPU: mapping, directions, paths
    synth: Generator                 # synthesis on the render device (fp16 on CUDA)
    meta: dict
    device: torch.device
    dtype: torch.dtype
    lock: threading.Lock = field(default_factory=threading.Lock)
    _directions: dict[str, dirs.Directions] = field(default_factory=dict, repr=False)
    _followed: dict[Any, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "model"))

    @property
    def key(self) -> str:
        """'name:sha256': names this model version in caches and widget keys."""
        return f"{self.name}:{self.meta.get('sha256', '')}"

    @property
    def class_names(self) -> list[str]:
        names = list(self.meta.get("class_names") or [])
        nc = self.G.cfg.num_classes
        return names if len(names) == nc else [f"class {i}" for i in range(nc)]

    def limits(self, d: dirs.Directions | None = None) -> Limits:
        """What this model allows (num_ws, z_dim, classes; directions: MAX_DIRECTIONS unless `d` given)."""
        lim = Limits.of(self.G, d)
        return lim if d is not None else dataclasses.replace(lim, num_directions=MAX_DIRECTIONS)

    def render_ws(self, ws: torch.Tensor, batch: int | None = None) -> np.ndarray:
        """ws (N, num_ws, w_dim) or (N, w_dim) -> (N, H, W, C) uint8, in batches (default
        `render_batch`, at most 64)."""
        batch = batch or render_batch(self.G.cfg.channels, self.G.cfg.resolution, cap=64)
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
        """The state's per-layer latents ws (1, num_ws, w_dim), fp32 on the CPU. States with followed edits
        (a path of model passes each, explorer/explore/local_edits.py) are kept for the next rerun."""
        basis = self.basis_for(state, d)
        follows = any(e.follow for e in state.edits)
        key = (state, id(d), d.vectors.data_ptr() if d is not None else 0)
        if follows and key in self._followed:
            return self._followed[key].clone()
        with torch.inference_mode():
            ws = state_to_ws(self.G, state, d, basis)
        if follows:
            self._followed[key] = ws.clone()
            while len(self._followed) > FOLLOWED_KEPT:
                self._followed.pop(next(iter(self._followed)))
        return ws

    def basis_for(self, state: LatentState, d: dirs.Directions | None) -> dirs.Directions | None:
        """The attribute directions a state's conditional edits (Edit.ortho) of PCA/SeFa need; else None."""
        if d is None or d.method == "attr" or not any(e.ortho for e in state.edits):
            return None
        return self.directions("attr")

    def render_state(self, state: LatentState, d: dirs.Directions | None) -> tuple[np.ndarray, float]:
        """One image of a state (H, W, C) uint8 and the milliseconds it took (latents + synthesis)."""
        img, ms, _ = self.render_state_ws(state, d)
        return img, ms

    def render_state_ws(self, state: LatentState, d: dirs.Directions | None) -> tuple[np.ndarray, float, torch.Tensor]:
        """render_state, plus the state's ws (1, num_ws, w_dim) for renders derived from it."""
        t0 = time.perf_counter()
        ws = self.state_ws(state, d)
        img = self.render_ws(ws)[0]
        return img, (time.perf_counter() - t0) * 1000.0, ws

    def render_states(self, states: list[LatentState]) -> np.ndarray:
        """Several states (each with its own method's directions) in one batch: (N, H, W, C) uint8."""
        if not states:
            cfg = self.G.cfg
            return np.zeros((0, cfg.resolution, cfg.resolution, cfg.channels), np.uint8)
        return self.render_ws(torch.cat([self.state_ws(s, self.directions(s.method) if s.edits else None)
                                         for s in states]))

    def refresh_directions(self, method: str) -> None:
        """Forget the directions of `method` kept in memory (e.g. after a direction was taught): the next
        `directions(method)` reads them again (from the disk cache)."""
        with self.lock:
            self._directions.pop(method, None)

    def directions(self, method: str) -> dirs.Directions:
        """PCA, SeFa or attribute directions (up to MAX_DIRECTIONS), from memory, the disk cache, or computed now.

        Raises ValueError for an unknown method; whatever direction_cache.get_directions raises otherwise."""
        if method not in dirs.METHODS:
            raise ValueError(f"unknown direction method {method!r}; choose one of {', '.join(dirs.METHODS)}")
        with self.lock:
            if method not in self._directions:
                self._directions[method] = get_directions(self.G, self.meta, method, k=MAX_DIRECTIONS)
            return self._directions[method]


def load_engine(path: str | Path) -> Engine:
    """Load a checkpoint (its .json sidecar or .safetensors) as an Engine on the best device.

    Raises checkpoint.CheckpointError, OSError or ValueError when the model cannot be loaded."""
    G, meta = load_generator(path, "cpu")
    dev = pick_device("auto")
    if dev.type == "cuda":
        synth, dtype = copy.deepcopy(G).to(dev).half().eval(), torch.float16
    else:
        synth, dtype = G, torch.float32
    for p in synth.parameters():
        p.requires_grad_(False)
    return Engine(G, synth, meta, dev, dtype)
