"""The training loop. Knows nothing about any UI: it is driven by callbacks.

    result = train_loop(config, dataset, should_stop=..., on_progress=..., on_checkpoint=...,
                        run_dir="data/runs/x", resume=True, init_from=None)

* deterministic for a given seed on CPU (all randomness from one torch.Generator);
* checkpoints (G, G_ema, D, optimizers, RNG, step, ADA p) every `checkpoint_every` steps,
  so `resume=True` continues exactly where the last checkpoint stopped;
* quality curve: `quality(G_ema, step)` (e.g. `explorer.evaluation.quality.QualityProbe`), when given, runs
  before the first step of a fresh run and at every checkpoint; its dict is written to
  metrics.jsonl as a {"kind": "quality", "step", "elapsed_s", ...} record and reported as an event;
* guards (explorer/guards.py): a NaN/inf or exploding loss, or a discriminator that wins outright
  (collapse), restores the last good state, halves the learning rates, reseeds the noise and
  reports a "rollback" event;
* data-parallel when torch.distributed is initialised (see explorer/distributed.py):
  gradients are averaged across ranks; only rank 0 writes files and reports progress;
* CUDA when given a CUDA device (bf16 autocast, channels_last), CPU otherwise; one code path.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as tdist
from torch import nn

from explorer.gan import checkpoint as ckpt
from explorer import fileio
from explorer.gan.augment import adapt_p, diff_augment
from explorer.config import ModelConfig, to_dict
from explorer.gan.losses import d_loss, g_loss, gradient_penalty, r1_penalty
from explorer.gan.distributed import allreduce_grads
from explorer.gan.export import export_model
from explorer.gan.guards import Guard
from explorer.gan.nets import (Nets, build_nets, compute_w_avg, freeze_lower_d, init_from_checkpoint, restore,
                           state_tensors, update_ema)
from explorer.imaging.render import sample_grid, save_png

ProgressFn = Callable[[dict], None]


class TrainingDiverged(RuntimeError):
    """Raised when rollbacks do not cure divergence."""


@dataclass
class TrainResult:
    run_dir: str | None
    step: int
    images_seen: int
    seconds: float
    reason: str                       # "done", "stopped", "time limit"
    rollbacks: int
    timing: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)
    nets: Nets | None = field(default=None, repr=False)   # the trained networks (for callers that keep going)


def train_loop(config: ModelConfig, dataset: Any, should_stop: Callable[[], bool] | None = None,
               on_progress: ProgressFn | None = None, on_checkpoint: Callable[[Path, int], None] | None = None,
               *, run_dir: str | Path | None = None, resume: bool = False,
               init_from: str | Path | None = None, device: str | torch.device = "cpu",
               quality: Callable[[nn.Module, int], dict | None] | None = None) -> TrainResult:
    """Train a GAN on `dataset` (an explorer.data.datasets.ImageDataset). See the module docstring."""
    t, gc = config.train, config.generator
    device = torch.device(device)
    rank, world = (tdist.get_rank(), tdist.get_world_size()) if tdist.is_initialized() else (0, 1)
    lead = rank == 0
    run = Path(run_dir) if run_dir else None
    report = on_progress if (on_progress and lead) else (lambda e: None)
    if len(dataset) < 1:
        raise ValueError("the dataset is empty")
    if tuple(dataset.images.shape[1:]) != (gc.channels, gc.resolution, gc.resolution):
        raise ValueError(f"dataset images are {tuple(dataset.images.shape[1:])} (C, H, W) but the model expects "
                         f"{(gc.channels, gc.resolution, gc.resolution)}")
    conditional = gc.num_classes > 0
    if conditional and dataset.labels is None:
        raise ValueError("a conditional model needs a labelled dataset")

    nets = build_nets(config, device, t.seed)
    if world > 1:                                  # identical start on every rank
        for m in (nets.G, nets.G_ema, nets.D):
            for v in list(m.parameters()) + list(m.buffers()):
                tdist.broadcast(v.data, 0)
    gen = torch.Generator().manual_seed(t.seed * 1000 + rank)
    step, seen, p_aug, elapsed, rollbacks, lr_scale = 0, 0, (t.augment_p if t.augment_list else 0.0), 0.0, 0, 1.0
    note = ""
    if resume and run is not None and ckpt.latest_training(run) is not None:
        tensors, meta = ckpt.load_training(run)
        restore(nets, tensors, meta, gen if world == 1 else None)
        step, seen, p_aug = meta["step"], meta["images_seen"], meta["augment_p"]
        elapsed, rollbacks, lr_scale = meta.get("elapsed_s", 0.0), meta.get("rollbacks", 0), meta.get("lr_scale", 1.0)
        if world > 1:
            gen.manual_seed(t.seed * 1000 + rank + 7919 * step)
        note = f"resumed from step {step}"
    elif init_from:
        note = "fine-tuning from " + init_from_checkpoint(nets, init_from)
    if t.freeze_d:
        freeze_lower_d(nets, t.freeze_d)
    if note:
        report({"kind": "info", "message": note, "step": step})

    images = dataset.images.to(device)
    labels = dataset.labels.to(device) if dataset.labels is not None else None
    policies = t.augment_list
    cuda = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else nullcontext
    fixed_z = torch.randn(64, gc.z_dim, generator=torch.Generator().manual_seed(1234))

    def batch() -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = torch.randint(len(dataset), (t.batch_size,), generator=gen).to(device)
        x = images[idx].float() / 127.5 - 1.0      # (B, C, H, W) in [-1, 1]
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, (labels[idx] if conditional else None)

    def noise(b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(b, gc.z_dim, generator=gen).to(device)
        # classes in the data's proportions (as for D's fakes, which take the real batch's labels): uniform
        # classes over-train G on rare groups that D rarely sees faked, and it learns to fool D there
        c = labels[torch.randint(len(dataset), (b,), generator=gen).to(device)] if conditional else None
        return z, c

    def snapshot() -> tuple[dict, dict]:
        tensors, opt_meta = state_tensors(nets, gen)
        return ({k: v.detach().clone().cpu() for k, v in tensors.items()},
                {"optimizers": opt_meta, "step": step, "images_seen": seen, "augment_p": p_aug,
                 "elapsed_s": elapsed, "rollbacks": rollbacks, "lr_scale": lr_scale})

    def save_checkpoint() -> Path | None:
        nonlocal good
        compute_w_avg(nets.G_ema)                  # every rank, so all stay identical
        snap = snapshot()
        if guard.healthy():                        # a state on its way to collapse is no state to return to
            good = snap
        if run is None or not lead:
            return None
        meta = {**snap[1], "config": to_dict(config), "class_names": list(dataset.class_names),
                "dataset": dataset.description, "timing": timing()}
        path = ckpt.save_training(run, step, snap[0], meta)
        if on_checkpoint:
            on_checkpoint(path, step)
        return path

    book = {"log": 0.0, "samples": 0.0, "checkpoint": 0.0, "quality": 0.0}
    t_start = time.perf_counter()
    elapsed0 = elapsed

    def timing() -> dict:
        wall = time.perf_counter() - t_start
        b = sum(book.values())
        return {"wall_s": round(wall, 3), "bookkeeping_s": {k: round(v, 3) for k, v in book.items()},
                "bookkeeping_share": round(b / wall, 4) if wall > 0 else 0.0}

    guard = Guard(t)
    good = snapshot()
    window = {"t": time.perf_counter(), "steps": 0, "g": 0.0, "d": 0.0, "real": 0.0, "fake": 0.0, "rt": 0.0}
    ada_acc, ada_n = 0.0, 0
    reason = "done"
    last: dict = {}
    metrics_f = None
    if run and lead:
        run.mkdir(parents=True, exist_ok=True)
        fileio.atomic_write_json(run / "config.json", to_dict(config))
        metrics_f = open(run / "metrics.jsonl", "a", encoding="utf-8")
    q_step = -1

    def measure_quality() -> None:
        nonlocal q_step
        if quality is None or not lead or step == q_step:
            return
        tb = time.perf_counter()
        figures = quality(nets.G_ema, step)
        q_step = step
        if figures:
            rec = {"kind": "quality", "step": step, "elapsed_s": round(elapsed0 + time.perf_counter() - t_start, 1),
                   **figures}
            if metrics_f:
                metrics_f.write(json.dumps(rec) + "\n")
                metrics_f.flush()
            report(rec)
        book["quality"] += time.perf_counter() - tb
    try:
        if step == 0:
            measure_quality()
        while step < t.steps:
            stop = bool(should_stop and should_stop())
            if t.max_minutes and elapsed0 + time.perf_counter() - t_start >= t.max_minutes * 60:
                stop, reason = True, "time limit"
            if world > 1:
                flag = torch.tensor([1.0 if stop else 0.0])
                tdist.all_reduce(flag, op=tdist.ReduceOp.MAX)
                stop = bool(flag.item())
            if stop:
                reason = "stopped" if reason == "done" else reason
                break

            # ---- discriminator
            nets.G.requires_grad_(False)
            for p in nets.d_trainable:
                p.requires_grad_(True)
            for _ in range(t.d_steps):
                real, c_real = batch()
                z, _ = noise(real.shape[0])
                with torch.no_grad(), autocast():
                    fake = nets.G(z, c_real)
                real_a = diff_augment(real, policies, p_aug, gen)
                fake_a = diff_augment(fake.float(), policies, p_aug, gen)
                if t.r1_gamma > 0:
                    real_a = real_a.detach().requires_grad_(True)
                with autocast():
                    lr_ = nets.D(real_a, c_real).float()
                    lf_ = nets.D(fake_a, c_real).float()
                    loss_d = d_loss(t.loss, lr_, lf_)
                if t.loss == "wgan-gp":
                    loss_d = loss_d + t.gp_weight * gradient_penalty(lambda x: nets.D(x, c_real).float(),
                                                                     real_a.detach(), fake_a.detach(), gen)
                if t.r1_gamma > 0:
                    loss_d = loss_d + 0.5 * t.r1_gamma * r1_penalty(lr_, real_a)
                nets.opt_D.zero_grad(set_to_none=True)
                loss_d.backward()
                allreduce_grads(nets.d_trainable, world)
                nets.opt_D.step()
                ada_acc += float(torch.sign(lr_.detach()).mean())
                ada_n += 1

            # ---- generator
            for p in nets.d_trainable:
                p.requires_grad_(False)
            nets.G.requires_grad_(True)
            z, c = noise(t.batch_size)
            with autocast():
                fake = nets.G(z, c)
                fake_a = diff_augment(fake.float(), policies, p_aug, gen)
                lf_g = nets.D(fake_a, c).float()
                loss_g = g_loss(t.loss, lf_g)
            nets.opt_G.zero_grad(set_to_none=True)
            loss_g.backward()
            allreduce_grads(list(nets.G.parameters()), world)
            nets.opt_G.step()

            step += 1
            seen += t.batch_size * world
            gval, dval = float(loss_g.detach()), float(loss_d.detach())

            # ---- guards: divergence, collapse (on the mean over ranks, so every rank decides alike)
            if world > 1:
                both = torch.tensor([gval, dval], dtype=torch.float64)
                tdist.all_reduce(both)
                gval, dval = (both / world).tolist()
            why = guard.check(step, gval, dval)
            if why is not None:
                rollbacks += 1
                if rollbacks > 5:
                    raise TrainingDiverged(f"training diverged {rollbacks} times (last: {why}); "
                                           f"try a lower learning rate, augmentation or another loss")
                bad_step = step
                restore(nets, good[0], good[1], None)
                step, seen, p_aug = good[1]["step"], good[1]["images_seen"], good[1]["augment_p"]
                lr_scale *= 0.5
                for opt in (nets.opt_G, nets.opt_D):
                    for g in opt.param_groups:
                        g["lr"] = g["base_lr"] * lr_scale
                gen.manual_seed(t.seed * 1000 + rank + 104729 * rollbacks)
                guard.reset()
                if run is not None and lead:             # later checkpoints are on the bad path: never resume them
                    ckpt.drop_training_after(run, step)
                report({"kind": "rollback", "step": step, "bad_step": bad_step, "losses": [gval, dval],
                        "message": f"{why}: rolled back to step {step} and halved the learning rates"})
                continue
            # ---- EMA
            if t.ema_half_life_k > 0:
                ema_nimg = t.ema_half_life_k * 1000
                if t.ema_rampup > 0:
                    ema_nimg = min(ema_nimg, seen * t.ema_rampup)
                update_ema(nets.G, nets.G_ema, 0.5 ** (t.batch_size * world / max(ema_nimg, 1e-8)))
            else:
                update_ema(nets.G, nets.G_ema, 0.0)
            # ---- ADA
            if t.ada_target > 0 and policies and step % 4 == 0:
                rt = torch.tensor([ada_acc / max(ada_n, 1)])
                if world > 1:
                    tdist.all_reduce(rt)
                    rt /= world
                p_aug = adapt_p(p_aug, float(rt), t.ada_target, 4 * t.batch_size * world, t.ada_speed_k)
                window["rt"] = float(rt)
                ada_acc, ada_n = 0.0, 0

            window["steps"] += 1
            window["g"] += gval
            window["d"] += dval
            window["real"] += float(lr_.detach().mean())
            window["fake"] += float(lf_.detach().mean())

            # ---- bookkeeping (timed, so its share of wall time can be reported)
            if lead and (step % t.log_every == 0 or step == t.steps):
                tb = time.perf_counter()
                now = time.perf_counter()
                n = max(window["steps"], 1)
                ips = window["steps"] * t.batch_size * world / max(now - window["t"], 1e-9)
                total_el = elapsed0 + now - t_start
                remain = (t.steps - step) * t.batch_size * world / max(ips, 1e-9)
                if t.max_minutes:
                    remain = min(remain, max(t.max_minutes * 60 - total_el, 0.0))
                last = {"kind": "progress", "step": step, "steps": t.steps, "images_seen": seen,
                        "img_per_s": round(ips, 1), "elapsed_s": round(total_el, 1), "eta_s": round(remain, 1),
                        "loss_g": round(window["g"] / n, 5), "loss_d": round(window["d"] / n, 5),
                        "d_real": round(window["real"] / n, 4), "d_fake": round(window["fake"] / n, 4),
                        "augment_p": round(p_aug, 4), "rt": round(window["rt"], 4), "rollbacks": rollbacks}
                if metrics_f:
                    metrics_f.write(json.dumps(last) + "\n")
                    metrics_f.flush()
                report(last)
                window.update(t=time.perf_counter(), steps=0, g=0.0, d=0.0, real=0.0, fake=0.0)
                book["log"] += time.perf_counter() - tb
            if lead and run and t.sample_every and step % t.sample_every == 0:
                tb = time.perf_counter()
                path = run / "samples" / f"step-{step:08d}.png"
                save_png(sample_grid(nets.G_ema, 64 if not conditional else 10 * gc.num_classes, seed=1234,
                                     device=device), path)
                report({"kind": "sample", "step": step, "path": str(path)})
                book["samples"] += time.perf_counter() - tb
            if t.checkpoint_every and step % t.checkpoint_every == 0:
                tb = time.perf_counter()
                elapsed = elapsed0 + time.perf_counter() - t_start
                save_checkpoint()
                book["checkpoint"] += time.perf_counter() - tb
                measure_quality()
        elapsed = elapsed0 + time.perf_counter() - t_start
        tb = time.perf_counter()
        final = save_checkpoint()
        book["checkpoint"] += time.perf_counter() - tb
        measure_quality()
        if final is not None:
            export_model(final, run / "model")
    finally:
        if metrics_f:
            metrics_f.close()
    del fixed_z
    res = TrainResult(str(run) if run else None, step, seen, elapsed, reason, rollbacks, timing(), last, nets)
    report({"kind": "done", "step": step, "reason": reason, "elapsed_s": round(elapsed, 1), "timing": res.timing})
    return res
