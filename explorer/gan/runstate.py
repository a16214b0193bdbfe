"""The state of a training run between steps: counters, snapshots to roll back to, the progress window.

    state = RunState.from_meta(checkpoint_meta)             # or RunState(augment_p=...) for a fresh run
    snap = take_snapshot(nets, gen, state, ada, guard)      # what a checkpoint saves; what a rollback restores
    state = rollback(nets, snap, state, gen, t, rank)       # the guards' cure (TrainingDiverged past the limit)
    window.add(loss_g, loss_d, d_stats); event = window.report(...)   # means since the last report
    with book.timed("checkpoint"): ...                      # bookkeeping time, reported as a share of wall time
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from explorer.config import TrainConfig
from explorer.gan.events import Progress
from explorer.gan.guards import Guard
from explorer.gan.nets import Nets, restore, scale_learning_rates, state_tensors
from explorer.gan.steps import AdaptiveAugment, DStats, noise_seed

ROLLBACK_LR_FACTOR = 0.5            # each rollback multiplies the learning rates by this


class TrainingDiverged(RuntimeError):
    """Raised when rollbacks do not cure divergence (more than `max_rollbacks` of them)."""


@dataclass
class RunState:
    """Counters a checkpoint saves beside the weights (its JSON sidecar's top-level keys)."""

    step: int = 0
    images_seen: int = 0
    augment_p: float = 0.0
    elapsed_s: float = 0.0          # training wall time of the run, resumes included
    rollbacks: int = 0
    lr_scale: float = 1.0           # halved by each rollback
    ada_total: float = 0.0          # ADA's r_t sum and count since its last update
    ada_count: int = 0
    guard: dict[str, Any] = field(default_factory=dict)   # Guard.state()

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> RunState:
        """From a checkpoint sidecar (checkpoints older than a field get its fresh-run value)."""
        return cls(step=meta["step"], images_seen=meta["images_seen"], augment_p=meta["augment_p"],
                   elapsed_s=meta.get("elapsed_s", 0.0), rollbacks=meta.get("rollbacks", 0),
                   lr_scale=meta.get("lr_scale", 1.0), ada_total=meta.get("ada_total", 0.0),
                   ada_count=meta.get("ada_count", 0), guard=meta.get("guard") or {})

    def meta(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def advance(self, images: int) -> None:
        """One step done, on `images` images (all ranks together)."""
        self.step += 1
        self.images_seen += images


@dataclass
class Snapshot:
    """Every tensor of the run on the CPU, and the sidecar entries (optimisers' rest and RunState)."""

    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]

    @property
    def state(self) -> RunState:
        return RunState.from_meta(self.meta)


def take_snapshot(nets: Nets, gen: torch.Generator, state: RunState, ada: AdaptiveAugment, guard: Guard) -> Snapshot:
    """A copy of the run as it is now (G_ema must be current: see steps.sync_ema)."""
    tensors, opt_meta = state_tensors(nets, gen)
    st = dataclasses.replace(state, ada_total=ada.total, ada_count=ada.count, guard=guard.state())
    return Snapshot({k: v.detach().clone().cpu() for k, v in tensors.items()}, {"optimizers": opt_meta, **st.meta()})


def rollback(nets: Nets, good: Snapshot, state: RunState, gen: torch.Generator, t: TrainConfig, rank: int,
             why: str) -> RunState:
    """Restore `good`, halve the learning rates and reseed the noise (a fresh stream, so the bad path is not
    replayed). Returns the state to continue from. Raises TrainingDiverged after `t.max_rollbacks` rollbacks."""
    rollbacks = state.rollbacks + 1
    if rollbacks > t.max_rollbacks:
        raise TrainingDiverged(f"training diverged {rollbacks} times (last: {why}); "
                               f"try a lower learning rate, augmentation or another loss")
    restore(nets, good.tensors, good.meta, None)
    back = good.state
    lr_scale = state.lr_scale * ROLLBACK_LR_FACTOR
    scale_learning_rates(nets, lr_scale)
    gen.manual_seed(noise_seed(t.seed, rank, rollbacks=rollbacks))
    return dataclasses.replace(state, step=back.step, images_seen=back.images_seen, augment_p=back.augment_p,
                               rollbacks=rollbacks, lr_scale=lr_scale)


class ProgressWindow:
    """Sums of the per-step figures since the last report; `report` turns them into a Progress event."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new window now."""
        self.start = time.perf_counter()
        self.steps, self.g, self.d, self.real, self.fake = 0, 0.0, 0.0, 0.0, 0.0
        self.extra: dict[str, float] = {}

    def add(self, loss_g: float, loss_d: float, d: DStats, extra: dict[str, float] | None = None) -> None:
        self.steps += 1
        for k, v in (extra or {}).items():
            self.extra[k] = self.extra.get(k, 0.0) + v
        self.g += loss_g
        self.d += loss_d
        self.real += d.real
        self.fake += d.fake

    def report(self, state: RunState, t: TrainConfig, world: int, elapsed_s: float, rt: float) -> Progress:
        """The means since the last report, throughput and ETA; starts a new window."""
        now = time.perf_counter()
        n = max(self.steps, 1)
        ips = self.steps * t.batch_size * world / max(now - self.start, 1e-9)
        remain = (t.steps - state.step) * t.batch_size * world / max(ips, 1e-9)
        if t.max_minutes:
            remain = min(remain, max(t.max_minutes * 60 - elapsed_s, 0.0))
        event = Progress(step=state.step, steps=t.steps, images_seen=state.images_seen, img_per_s=round(ips, 1),
                         elapsed_s=round(elapsed_s, 1), eta_s=round(remain, 1), loss_g=round(self.g / n, 5),
                         loss_d=round(self.d / n, 5), d_real=round(self.real / n, 4), d_fake=round(self.fake / n, 4),
                         augment_p=round(state.augment_p, 4), rt=round(rt, 4), rollbacks=state.rollbacks,
                         loss_read=round(self.extra.get("read", 0.0) / n, 5),
                         loss_style=round(self.extra.get("style", 0.0) / n, 5))
        self.reset()
        return event


class Bookkeeping:
    """Wall time of the run and of its bookkeeping (logs, samples, checkpoints, quality points)."""

    KINDS = ("log", "samples", "checkpoint", "quality")

    def __init__(self, elapsed_before: float = 0.0) -> None:
        self.t0 = time.perf_counter()
        self.before = elapsed_before
        self.seconds = dict.fromkeys(self.KINDS, 0.0)

    def elapsed(self) -> float:
        """Training wall time of the whole run (earlier sessions included), seconds."""
        return self.before + time.perf_counter() - self.t0

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[kind] += time.perf_counter() - t

    def timing(self) -> dict[str, Any]:
        """{"wall_s", "bookkeeping_s": {kind: s}, "bookkeeping_share"} of this session."""
        wall = time.perf_counter() - self.t0
        b = sum(self.seconds.values())
        return {"wall_s": round(wall, 3), "bookkeeping_s": {k: round(v, 3) for k, v in self.seconds.items()},
                "bookkeeping_share": round(b / wall, 4) if wall > 0 else 0.0}
