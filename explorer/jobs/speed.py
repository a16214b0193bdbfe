"""How long a training config takes here: a few steps measured once per config and device, cached.

The Train page shows "≈ 12 min for 2,000 steps" before a job starts. The figure is the median
wall time of a few training steps of that very config (random images of the right shape: speed
does not depend on content), measured in a separate process (`python -m explorer.jobs.speed`) with
the thread count workers use, so the web server never trains. Results live in
`<data>/speed-cache.json`, keyed by everything that changes the cost of a step (networks, batch,
loss, augmentation, device, threads); finished jobs add their own measured figure.

    est = estimate(cfg)                    # measures on first use (a few seconds), then cached
    est.minutes(steps=2000), est.s_per_step, est.source     # "measured" | "job"
    cached(cfg)                            # only what is cached, never measures (None if nothing)
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer import fileio
from explorer.config import ModelConfig, from_dict, to_dict
from explorer.settings import data_dir, thread_count, use_threads

OVERHEAD = 1.05                      # samples, checkpoints and quality points on top of pure steps
_LOCK = threading.Lock()


@dataclass
class Estimate:
    s_per_step: float
    device: str
    threads: int
    source: str                      # "measured" (a few steps) or "job" (a finished job's average)
    busy: bool = False               # the machine was busy (a job training, high load) while measured

    def minutes(self, steps: int) -> float:
        return steps * self.s_per_step * OVERHEAD / 60


def _threads() -> int:
    return thread_count("work")


def speed_key(cfg: ModelConfig, device: str) -> str:
    """Everything that changes the cost of one step."""
    t = cfg.train
    parts = {"g": to_dict(cfg.generator), "d": to_dict(cfg.discriminator), "batch": t.batch_size,
             "d_steps": t.d_steps, "loss": t.loss, "r1": t.r1_gamma > 0, "augment": sorted(t.augment_list),
             "ema": t.ema_half_life_k > 0, "device": device, "threads": _threads()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _cache_path() -> Path:
    return data_dir() / "speed-cache.json"


def _load() -> dict:
    try:
        d = json.loads(_cache_path().read_text())
        return d if isinstance(d, dict) else {}
    except (OSError, ValueError):
        return {}


def _store(key: str, est: Estimate) -> None:
    def put(d: Any) -> dict:           # under the file's lock: workers and the server write it too
        d = d if isinstance(d, dict) else {}
        d[key] = {**dataclasses.asdict(est), "t": time.time()}
        return d
    with _LOCK:
        try:
            fileio.locked_update(_cache_path(), put, default={})
        except OSError:
            pass                                          # a cache: never worth failing over


def cached(cfg: ModelConfig, device: str = "cpu") -> Estimate | None:
    e = _load().get(speed_key(cfg, device))
    if not isinstance(e, dict):
        return None
    try:
        return Estimate(float(e["s_per_step"]), str(e["device"]), int(e["threads"]), str(e["source"]),
                        bool(e.get("busy")))
    except (KeyError, TypeError, ValueError):
        return None


def remember(cfg: ModelConfig, device: str, s_per_step: float) -> None:
    """A finished job's own figure (better than a few steps: it includes everything)."""
    if s_per_step > 0:
        _store(speed_key(cfg, device), Estimate(round(s_per_step, 5), device, _threads(), "job"))


def measure_steps(cfg: ModelConfig, device: str = "cpu", steps: int = 3, warmup: int = 1) -> float:
    """Median seconds per training step of `cfg` over `steps` steps after `warmup` (in this process)."""
    import torch

    from explorer.data.datasets import ImageDataset
    from explorer.gan.events import Progress
    from explorer.gan.train import train_loop

    g = cfg.generator
    n = max(cfg.train.batch_size * 2, 16)
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(g.num_classes, (n,), generator=gen) if g.num_classes else None
    ds = ImageDataset(torch.randint(0, 256, (n, g.channels, g.resolution, g.resolution), dtype=torch.uint8,
                                    generator=gen), labels, [str(i) for i in range(g.num_classes)], {})
    t = dataclasses.replace(cfg.train, steps=warmup + steps, max_minutes=0.0, log_every=1, sample_every=0,
                            checkpoint_every=0)
    stamps: list[float] = []
    train_loop(dataclasses.replace(cfg, train=t), ds, device=device,
               on_progress=lambda e: stamps.append(time.perf_counter()) if isinstance(e, Progress) else None)
    gaps = [b - a for a, b in zip(stamps[warmup - 1:], stamps[warmup:])] if warmup else []
    return statistics.median(gaps) if gaps else float("nan")


def estimate(cfg: ModelConfig, device: str = "cpu", busy: bool = False, timeout: float = 180.0) -> Estimate:
    """The cached figure, else measure a few steps in a subprocess and cache them. Raises RuntimeError
    with a readable reason if the measurement fails."""
    hit = cached(cfg, device)
    if hit is not None:
        return hit
    argv = [sys.executable, "-m", "explorer.jobs.speed", "--device", device, "--steps", "2"]
    try:
        r = subprocess.run(argv, input=json.dumps(to_dict(cfg)), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"measuring a few training steps took over {timeout:.0f} s") from None
    if r.returncode != 0:
        raise RuntimeError("could not measure the training speed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    s = float(json.loads(r.stdout.strip().splitlines()[-1])["s_per_step"])
    est = Estimate(round(s, 5), device, _threads(), "measured", busy)
    _store(speed_key(cfg, device), est)
    return est


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.jobs.speed",
                                description="Seconds per training step of a config (JSON on stdin).")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=3)
    a = p.parse_args(argv)
    from explorer.gan.device import pick_device

    use_threads("work")
    cfg = from_dict(ModelConfig, json.loads(sys.stdin.read()))
    print(json.dumps({"s_per_step": measure_steps(cfg, str(pick_device(a.device)), a.steps)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
