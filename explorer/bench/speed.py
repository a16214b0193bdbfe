"""`latent-explorer bench`: speed figures, printed, never asserted.

* generator latency at batch 1 and 64 (p50 / p95 ms) for a model;
* training throughput (img/s, median over log windows) for that model's own training config;
* bookkeeping share of training wall time (logging, sample grids, checkpoints), two ways:
  measured over the bench run itself, and projected for the config's real intervals from the
  measured cost of one of each event and the measured step time.
Figures are medians/percentiles measured in one run, so they can be compared with each other.
Part `fonts` (explorer/bench/fonts_bench.py): the font model's face render, 40-character specimen and
OpenType export times. Parts `train-page` and `finetune` (the Train page: watching costs nothing; fine-tuning pays) are
in explorer/bench_train.py; they are not in the default set (they take many minutes).
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from explorer.config import ModelConfig, from_dict, preset
from explorer.gan import checkpoint as ckpt
from explorer.gan.device import load_generator, pick_device
from explorer.gan.protocol import Generator


def _percentiles(xs: list[float]) -> dict:
    a = np.asarray(xs) * 1e3
    return {"p50_ms": round(float(np.percentile(a, 50)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "n": len(xs)}


@torch.inference_mode()
def generator_latency(G: Generator, batch: int, reps: int, device: torch.device) -> dict:
    """Wall time of one z -> image forward pass (mapping + synthesis) at a batch size."""
    gen = torch.Generator().manual_seed(0)
    times = []
    for i in range(reps + 5):
        z = torch.randn(batch, G.cfg.z_dim, generator=gen).to(device)
        c = torch.randint(G.cfg.num_classes, (batch,), generator=gen).to(device) if G.cfg.num_classes else None
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        G(z, c)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 5:                                   # warm-up excluded
            times.append(time.perf_counter() - t)
    return _percentiles(times)


def _model_config(meta: dict) -> ModelConfig:
    tr = meta.get("training", {})
    if "train_config" in tr and "discriminator" in tr:
        return from_dict(ModelConfig, {"generator": meta["generator"], "discriminator": tr["discriminator"],
                                       "train": tr["train_config"]})
    g = meta["generator"]
    return preset("balanced", g["resolution"], g["channels"], g["num_classes"])


def _bench_dataset(cfg: ModelConfig):
    from explorer.data.datasets import ImageDataset, load_fashion_mnist
    g = cfg.generator
    try:
        if g.channels == 1:
            return load_fashion_mnist("train", resolution=g.resolution)
    except FileNotFoundError:
        pass
    n = 2048                                       # stand-in data of the right shape: speed does not depend on content
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(max(g.num_classes, 1), (n,), generator=gen) if g.num_classes else None
    return ImageDataset(torch.randint(0, 256, (n, g.channels, g.resolution, g.resolution), dtype=torch.uint8,
                                      generator=gen), labels, [str(i) for i in range(g.num_classes)],
                        {"source": "random"})


def training_throughput(cfg: ModelConfig, seconds: float, device: torch.device) -> dict:
    """Train for `seconds` with the config's own bookkeeping; report img/s and bookkeeping shares."""
    from explorer.gan.events import Progress, Sample, TrainEvent
    from explorer.gan.train import train_loop
    ds = _bench_dataset(cfg)
    t = cfg.train
    bench_t = dataclasses.replace(t, steps=10**9, max_minutes=seconds / 60, log_every=10,
                                  sample_every=max(t.sample_every // 10, 1) if t.sample_every else 0,
                                  checkpoint_every=max(t.checkpoint_every // 10, 1) if t.checkpoint_every else 0)
    ips: list[float] = []
    events: list[TrainEvent] = []

    def on_progress(e: TrainEvent) -> None:
        events.append(e)
        if isinstance(e, Progress):
            ips.append(e.img_per_s)

    with tempfile.TemporaryDirectory() as tmp:
        r = train_loop(dataclasses.replace(cfg, train=bench_t), ds, on_progress=on_progress,
                       run_dir=Path(tmp) / "run", device=device)
        n_samples = sum(1 for e in events if isinstance(e, Sample))
        n_ckpt = max(r.step // bench_t.checkpoint_every, 0) + 1 if bench_t.checkpoint_every else 1
    book = r.timing["bookkeeping_s"]
    steady = ips[1:] or ips                          # first window includes warm-up
    img_s = statistics.median(steady) if steady else r.images_seen / max(r.seconds, 1e-9)  # too short for a window
    step_s = t.batch_size / img_s if img_s else float("nan")
    # projected share at the config's real intervals, from the measured cost of one event of each kind
    cost = {"log": book["log"] / max(r.step // 10, 1), "samples": book["samples"] / max(n_samples, 1),
            "checkpoint": book["checkpoint"] / max(n_ckpt, 1)}
    per_step = (cost["log"] / t.log_every + (cost["samples"] / t.sample_every if t.sample_every else 0)
                + (cost["checkpoint"] / t.checkpoint_every if t.checkpoint_every else 0))
    return {"img_per_s_median": round(img_s, 1), "steps": r.step, "batch_size": t.batch_size,
            "bench_bookkeeping_share": r.timing["bookkeeping_share"],
            "bench_intervals": {"log": 10, "samples": bench_t.sample_every, "checkpoint": bench_t.checkpoint_every},
            "event_cost_ms": {k: round(v * 1e3, 2) for k, v in cost.items()},
            "projected_bookkeeping_share": round(per_step / (step_s + per_step), 4),
            "config_intervals": {"log": t.log_every, "samples": t.sample_every, "checkpoint": t.checkpoint_every}}


PARTS = ("render", "directions", "train", "browser", "fonts")
# explorer/bench/train_bench.py and friends; asked for by name only
EXTRA_PARTS = ("train-page", "finetune", "playground", "inversion", "font-views")


def run_bench(model: str = "fashion-mnist", train_seconds: float = 60.0, device: str = "auto",
              progress: Callable[[str], None] | None = None, parts: tuple[str, ...] = PARTS,
              browser_changes: int = 40, watch_phase_s: float = 60.0, watch_phases: int = 6,
              finetune_source: str = "emoji", finetune_minutes: float = 10.0,
              inversion_images: dict[str, int] | None = None, loop_seconds: float = 20.0,
              loop_runs: int = 3, inversion_batch: int = 25, inversion_optimizer: str = "lbfgs",
              inversion_ways: tuple[str, ...] | None = None) -> dict:
    say = progress or (lambda m: None)
    dev = pick_device(device)
    torch.manual_seed(0)
    try:
        G, meta = load_generator(model, dev)
    except ckpt.CheckpointError as e:
        raise ValueError(f"bench needs a model: {e}") from None
    out: dict = {"model": meta["name"], "device": str(dev), "threads": torch.get_num_threads(),
                 "torch": torch.__version__}
    unknown = set(parts) - set(PARTS) - set(EXTRA_PARTS)
    if unknown:
        raise ValueError(f"unknown bench part(s) {sorted(unknown)}; choose from {PARTS + EXTRA_PARTS}")
    if "render" in parts:
        say(f"generator latency ({meta['name']} on {dev})")
        out["generator_latency"] = {"batch_1": generator_latency(G, 1, 300, dev),
                                    "batch_64": generator_latency(G, 64, 40, dev)}
    if "directions" in parts:
        from explorer.bench.directions_bench import directions_bench  # named directions, their quality
        from explorer.explore.direction_cache import benchmark_directions
        say("edit direction discovery (PCA on 20000 w samples, SeFa), computed afresh")
        Gc = G.to("cpu")
        runs = [benchmark_directions(Gc) for _ in range(3)]
        out["directions_s"] = {m: round(float(np.median([r[m] for r in runs])), 3) for m in ("pca", "sefa")}
        out["directions_s"]["target_s"] = 3.0
        out["named_directions"] = directions_bench(Gc, meta, say)
        say("direction quality (+2σ over 200 seeds; leak = mean change of the other attributes / its own):\n"
            + out["named_directions"]["quality_table"])
        G = G.to(dev)
    if "train" in parts:
        cfg = _model_config(meta)
        say(f"training throughput for {train_seconds:.0f} s ({cfg.train.preset} config)")
        out["training"] = training_throughput(cfg, train_seconds, dev)
        run_timing = meta.get("training", {}).get("timing")
        if run_timing:
            out["training"]["shipped_run_bookkeeping_share"] = run_timing.get("bookkeeping_share")
        if loop_runs > 0:                       # the project's loop vs a textbook DCGAN loop (loop_bench.py)
            from explorer.bench.loop_bench import compare_loops
            out["training"]["loop_vs_plain_dcgan"] = compare_loops(loop_seconds, loop_runs, say=say)
    if "browser" in parts:
        from explorer.bench.browser import chromium_available
        why = chromium_available()
        if why:
            out["browser"] = {"skipped": why}
        else:
            from explorer.bench.browser_bench import browser_bench
            out["browser"] = browser_bench(model, changes=browser_changes, progress=say)
    if "fonts" in parts:                  # the font model's face render, specimen and OpenType export
        from explorer.bench.fonts_bench import fonts_bench
        out["fonts"] = fonts_bench(say)
    if "train-page" in parts:
        from explorer.bench.browser import chromium_available
        from explorer.bench.train_bench import watch_bench
        why = chromium_available()
        out["train_page_watching"] = {"skipped": why} if why else watch_bench(watch_phase_s, watch_phases, say=say)
    if "playground" in parts:
        from explorer.learn.playground import benchmark_playground
        say("2D playground: training steps per second while the view is drawn at 6 fps")
        out["playground"] = benchmark_playground(10.0)
    if "finetune" in parts:
        from explorer.bench.train_bench import finetune_bench
        out["finetune_vs_scratch"] = finetune_bench(finetune_source, finetune_minutes, say=say)
    if "font-views" in parts:             # the font model's latent map first view and word-morph export
        from explorer.bench.font_views_bench import font_views_bench
        out["font_views"] = font_views_bench(say)
    if "inversion" in parts:
        from explorer.bench.inversion_bench import inversion_bench  # projection quality and time (explore/inversion)
        out["inversion"] = inversion_bench(inversion_images, say=say, batch=inversion_batch,
                                           optimizer=inversion_optimizer, only=inversion_ways)
    return out
