"""The training loop. Knows nothing about any UI: it is driven by callbacks and reports typed events.

    result = train_loop(config, dataset, should_stop=..., on_progress=..., on_checkpoint=...,
                        run_dir="data/runs/x", resume=True, init_from=None)

* each iteration is the named steps of explorer/gan/steps.py: d_step (x d_steps), g_step on the same
  fakes, the guards' check (and `rollback`), ema_step, the ADA update, then bookkeeping: a Progress
  event every `log_every` steps, a sample grid every `sample_every`, a checkpoint every
  `checkpoint_every` (explorer/gan/events.py lists the events);
* deterministic for a given seed on CPU (all randomness from one torch.Generator);
* checkpoints (G, G_ema, D, optimisers, RNG, step, ADA and guard state) let `resume=True` continue
  exactly where the last one stopped; options changed on resume apply for real: the optimisers take
  the config's learning rates and betas, changed augmentation settings restart p at `augment_p`;
  resuming on data with another class list raises ClassMismatch (explorer/gan/classes.py);
* an extra generator loss, when the caller gives one (`extra_loss`), joins the adversarial one in g_step:
  the CLI gives font models a frozen glyph reader's cross-entropy (`TrainConfig.reader_weight`);
* quality curve: `quality(G_ema, step)` (e.g. explorer.evaluation.quality.QualityProbe), when given,
  runs before the first step of a fresh run and at every checkpoint, as Quality events and rows;
* guards (explorer/gan/guards.py): a NaN/inf or exploding loss, or a discriminator that wins outright,
  restores the last healthy state, halves the learning rates, reseeds the noise and reports a Rollback;
  more than `max_rollbacks` raise TrainingDiverged;
* data-parallel when torch.distributed is initialised (explorer/gan/distributed.py): gradients are
  averaged across ranks; only rank 0 writes files and reports events;
* CUDA when given a CUDA device (bf16 autocast), CPU otherwise; channels-last convolutions on both; one code
  path.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as tdist

from explorer.config import ModelConfig, TrainConfig, to_dict
from explorer.gan import checkpoint as ckpt
from explorer.gan.classes import ClassMismatch, check_resume_classes, show
from explorer.gan.distributed import max_over_ranks, mean_over_ranks
from explorer.gan.events import Checkpoint, Done, Info, Progress, Quality, Rollback, Sample, TrainEvent
from explorer.gan.export import export_model
from explorer.gan.guards import Guard
from explorer.gan.nets import (
    Nets,
    apply_hyperparameters,
    build_nets,
    compute_w_avg,
    freeze_lower_d,
    init_from_checkpoint,
    init_source,
    restore,
)
from explorer.gan.protocol import Generator
from explorer.gan.runfiles import RunFiles
from explorer.gan.runstate import (
    Bookkeeping,
    ProgressWindow,
    RunState,
    Snapshot,
    TrainingDiverged,
    rollback,
    take_snapshot,
)
from explorer.gan.steps import (
    AdaptiveAugment,
    Amp,
    Batches,
    ExtraLoss,
    d_step,
    ema_step,
    g_step,
    generate,
    noise_seed,
    sync_ema,
)
from explorer.imaging.render import sample_grid, save_png

__all__ = ["TrainResult", "TrainingDiverged", "train_loop"]

ProgressFn = Callable[[TrainEvent], None]
QualityFn = Callable[[Generator, int], dict[str, Any] | None]
SAMPLE_SEED = 1234               # sample grids use the same noise every time, so they compare over a run
SAMPLE_GRID = 64                 # images in a grid (conditional: SAMPLES_PER_CLASS per class; glyph stacks:
SAMPLES_PER_CLASS = 10           # SAMPLE_GLYPH_SHEETS sheets, each already a grid of glyphs)
SAMPLE_GLYPH_SHEETS = 16
AUGMENT_FIELDS = ("augment", "augment_p", "ada_target")   # changed on resume: p restarts at augment_p
OPTIMISER_FIELDS = ("lr_g", "lr_d", "mapping_lr_mult", "beta1", "beta2")  # on resume: from the config


@dataclass
class TrainResult:
    run_dir: str | None
    step: int
    images_seen: int
    seconds: float
    reason: str                       # "done", "stopped", "time limit"
    rollbacks: int
    timing: dict = field(default_factory=dict)
    last: Progress | None = None      # the last progress report
    nets: Nets | None = field(default=None, repr=False)   # the trained networks (for callers that keep going)

    def summary(self) -> dict[str, Any]:
        """JSON-able: every field but the networks."""
        return {"run_dir": self.run_dir, "step": self.step, "images_seen": self.images_seen, "seconds": self.seconds,
                "reason": self.reason, "rollbacks": self.rollbacks, "timing": self.timing,
                "last": asdict(self.last) if self.last else {}}


def check_data(config: ModelConfig, dataset: Any) -> None:
    """Raises ValueError when `dataset` cannot train `config` (empty, wrong shape, unlabelled)."""
    gc = config.generator
    if len(dataset) < 1:
        raise ValueError("the dataset is empty")
    if tuple(dataset.images.shape[1:]) != (gc.channels, gc.resolution, gc.resolution):
        raise ValueError(f"dataset images are {tuple(dataset.images.shape[1:])} (C, H, W) but the model expects "
                         f"{(gc.channels, gc.resolution, gc.resolution)}")
    if gc.num_classes > 0 and dataset.labels is None:
        raise ValueError("a conditional model needs a labelled dataset")
    if gc.num_classes > 0 and len(dataset.class_names) not in (0, gc.num_classes):
        raise ValueError(f"the model is conditional on {gc.num_classes} classes but the data has "
                         f"{len(dataset.class_names)}: {show(list(dataset.class_names))}")


def start_run(config: ModelConfig, dataset: Any, device: torch.device, run: Path | None, resume: bool,
              init_from: str | Path | None, rank: int, world: int) -> tuple[Nets, torch.Generator, RunState, list[str]]:
    """Checked data, the networks and the random stream, fresh, resumed or fine-tuned; the state to start
    from and notes for Info events. Raises ValueError (ClassMismatch: resuming on other classes), CheckpointError."""
    t = config.train
    latest = ckpt.latest_training(run) if (resume and run is not None) else None
    if latest is not None:                         # first: a changed class list is named as such
        check_resume_classes(ckpt.read_meta(latest).get("class_names"), dataset.class_names,
                             config.generator.num_classes > 0)
    check_data(config, dataset)
    nets = build_nets(config, device, t.seed)
    if world > 1:                                  # identical start on every rank
        for m in (nets.G, nets.G_ema, nets.D):
            for v in list(m.parameters()) + list(m.buffers()):
                tdist.broadcast(v.data, 0)
    gen = torch.Generator().manual_seed(noise_seed(t.seed, rank))
    state, notes = RunState(augment_p=t.augment_p if t.augment_list else 0.0), list[str]()
    if latest is not None and run is not None:
        state, notes = resume_run(run, nets, gen, config, world, rank)
    elif init_from:
        notes = [fine_tune_from(nets, init_from, config, dataset)]
    if t.freeze_d:
        freeze_lower_d(nets, t.freeze_d)
    return nets, gen, state, notes


def resume_run(run: Path, nets: Nets, gen: torch.Generator, config: ModelConfig, world: int,
               rank: int) -> tuple[RunState, list[str]]:
    """Load the run's latest checkpoint into `nets` (and `gen` on one rank); the state to continue from and
    notes on what the config changed (applied: optimiser settings, augmentation p)."""
    t = config.train
    tensors, meta = ckpt.load_training(run)
    restore(nets, tensors, meta, gen if world == 1 else None)
    state = RunState.from_meta(meta)
    notes = [f"resumed from step {state.step}"]
    saved = (meta.get("config") or {}).get("train") or {}
    apply_hyperparameters(nets, t, state.lr_scale)      # restoring the optimisers restored their old rates
    changed = [k for k in OPTIMISER_FIELDS if k in saved and saved[k] != getattr(t, k)]
    if changed:
        notes.append("optimiser settings from the config: " + ", ".join(f"{k} {getattr(t, k):g}" for k in changed))
    if any(k in saved and saved[k] != getattr(t, k) for k in AUGMENT_FIELDS):
        state.augment_p = t.augment_p if t.augment_list else 0.0
        notes.append(f"augmentation settings changed: p restarts at {state.augment_p:g}")
    if world > 1:
        gen.manual_seed(noise_seed(t.seed, rank, resumed_at=state.step))
    return state, notes


def fine_tune_from(nets: Nets, init_from: str | Path, config: ModelConfig, dataset: Any) -> str:
    """Copy the source's weights into `nets`; raises ClassMismatch when a conditional source's classes are not
    the data's (explorer.gan.finetune.prepare_init adapts a source to other classes first)."""
    src = list(ckpt.read_meta(init_source(init_from)).get("class_names") or [])
    data = list(dataset.class_names)
    if config.generator.num_classes and src and src != data:
        raise ClassMismatch(f"the model was trained on classes {show(src)} but the data has {show(data)}: "
                            f"adapt it first (explorer.gan.finetune.prepare_init with a class map)")
    return "fine-tuning from " + init_from_checkpoint(nets, init_from)


def train_loop(config: ModelConfig, dataset: Any, should_stop: Callable[[], bool] | None = None,
               on_progress: ProgressFn | None = None, on_checkpoint: Callable[[Checkpoint], None] | None = None,
               *, run_dir: str | Path | None = None, resume: bool = False,
               init_from: str | Path | None = None, device: str | torch.device = "cpu",
               quality: QualityFn | None = None, extra_loss: ExtraLoss | None = None) -> TrainResult:
    """Train a GAN on `dataset` (an explorer.data.datasets.ImageDataset). See the module docstring.
    `extra_loss(fakes, step) -> {name: scalar}` terms join G's loss ("read", "style": logged as loss_<name>).
    Raises ValueError (bad data, ClassMismatch), CheckpointError, TrainingDiverged."""
    t, gc = config.train, config.generator
    device = torch.device(device)
    rank, world = (tdist.get_rank(), tdist.get_world_size()) if tdist.is_initialized() else (0, 1)
    lead = rank == 0
    report: ProgressFn = on_progress if (on_progress and lead) else (lambda e: None)
    run = Path(run_dir) if run_dir else None
    nets, gen, state, notes = start_run(config, dataset, device, run, resume, init_from, rank, world)
    resumed_at = state.step if (resume and state.step) else None
    for note in notes:
        report(Info(state.step, note))

    data = Batches(dataset, t.batch_size, gc.z_dim, gen, device, gc.num_classes > 0)
    amp: Amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else nullcontext
    files = RunFiles(run, lead)
    book = Bookkeeping(state.elapsed_s)
    guard, ada, window = Guard(t), AdaptiveAugment(t, state.ada_total, state.ada_count), ProgressWindow()
    guard.load(state.guard)
    good: Snapshot = take_snapshot(nets, gen, state, ada, guard)
    reason, last, q_step = "done", None, -1

    def progress() -> None:
        nonlocal last
        with book.timed("log"):
            last = window.report(state, t, world, book.elapsed(), ada.rt)
            files.log(last)
            report(last)

    def checkpoint() -> Path | None:
        nonlocal good
        with book.timed("checkpoint"):
            sync_ema(nets, t)
            compute_w_avg(nets.G_ema)              # every rank, so all stay identical
            state.elapsed_s = book.elapsed()
            snap = take_snapshot(nets, gen, state, ada, guard)
            if guard.healthy():                    # a state on its way to a collapse is no state to return to
                good = snap
            path = files.save_checkpoint(state.step, snap.tensors, {
                **snap.meta, "config": to_dict(config), "class_names": list(dataset.class_names),
                "dataset": dataset.description, "timing": book.timing()})
        if path is not None and on_checkpoint:
            on_checkpoint(Checkpoint(state.step, path))
        return path

    def measure_quality() -> None:
        nonlocal q_step
        if quality is None or not lead or state.step == q_step:
            return
        with book.timed("quality"):
            sync_ema(nets, t)
            figures, q_step = quality(nets.G_ema, state.step), state.step
            if figures:
                event = Quality(state.step, round(book.elapsed(), 1), dict(figures))
                files.log(event)
                report(event)

    def sample(path: Path) -> None:
        with book.timed("samples"):
            sync_ema(nets, t)
            n = SAMPLE_GLYPH_SHEETS if gc.glyphs else SAMPLES_PER_CLASS * gc.num_classes or SAMPLE_GRID
            save_png(sample_grid(nets.G_ema, n, seed=SAMPLE_SEED, device=device), path)
            report(Sample(state.step, str(path)))

    files.start(config, resumed_at)
    try:
        if state.step == 0:
            measure_quality()
        while state.step < t.steps:
            stop = stop_reason(should_stop, t, book.elapsed(), world)
            if stop:
                reason = stop
                break
            for i in range(t.d_steps):             # the last D step's fakes keep G's graph for the G step
                real, c = data.real()
                fake = generate(nets, data.noise(len(real)), c, amp, grad=i == t.d_steps - 1)
                d = d_step(nets, t, real, fake.detach(), c, state.augment_p, gen, amp, world)
                ada.add(d.sign_real)
            g = g_step(nets, t, fake, c, state.augment_p, gen, amp, world, extra_loss, state.step)
            state.advance(t.batch_size * world)
            loss_g, loss_d = mean_over_ranks((g.loss, d.loss), world)   # every rank's guard decides alike
            why = guard.check(state.step, loss_g, loss_d)
            if why is not None:
                bad = state.step
                state = rollback(nets, good, state, gen, t, rank, why)
                guard.reset()
                files.drop_checkpoints_after(state.step)
                files.rewind(state.step)
                report(Rollback(state.step, bad, (loss_g, loss_d),
                                f"{why}: rolled back to step {state.step} and halved the learning rates"))
                continue
            ema_step(nets, t, state.images_seen, world)
            state.augment_p = ada.update(state.augment_p, state.step, world)
            window.add(loss_g, loss_d, d, g.extra)
            if lead and (state.step % t.log_every == 0 or state.step == t.steps):
                progress()
            if t.sample_every and state.step % t.sample_every == 0 and (path := files.sample_path(state.step)):
                sample(path)
            if t.checkpoint_every and state.step % t.checkpoint_every == 0:
                checkpoint()
                measure_quality()
        if lead and window.steps:                  # a stop between reports: the last line names the kept step
            progress()
        final = checkpoint()
        measure_quality()
        if final is not None and run is not None:
            export_model(final, run / "model")
    finally:
        files.close()
    res = TrainResult(str(run) if run else None, state.step, state.images_seen, state.elapsed_s, reason,
                      state.rollbacks, book.timing(), last, nets)
    report(Done(state.step, reason, round(state.elapsed_s, 1), res.timing))
    return res


STOPS = (None, "stopped", "time limit")          # stop_reason's answers, in order of precedence


def stop_reason(should_stop: Callable[[], bool] | None, t: TrainConfig, elapsed_s: float, world: int) -> str | None:
    """"stopped" (asked to), "time limit" or None; agreed across ranks (any rank's stop stops all)."""
    why = "stopped" if (should_stop and should_stop()) else None
    if t.max_minutes and elapsed_s >= t.max_minutes * 60:
        why = "time limit"
    return STOPS[int(max_over_ranks(STOPS.index(why), world))]
