"""Typed training events: what `train_loop` reports to its callbacks, and the rows of metrics.jsonl.

`on_progress` receives every event below except `Checkpoint`, which goes to `on_checkpoint`:

    def on_progress(e: TrainEvent) -> None:
        if isinstance(e, Progress):
            print(e.step, e.loss_g, e.img_per_s)
        elif isinstance(e, (Info, Rollback)):
            print(e.message)

`Progress` and `Quality` are also written to `<run>/metrics.jsonl`, one JSON object a line, by
`record()`: `{"kind": "progress", "step": ..., ...}` and `{"kind": "quality", "step", "elapsed_s",
<figures>}` (the file format is unchanged; `explorer.jobs.runlog` reads it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Info:
    """A note about the run (resumed from a step, fine-tuning from a model, options applied on resume)."""

    step: int
    message: str
    kind: ClassVar[str] = "info"


@dataclass(frozen=True)
class Progress:
    """Means over the steps since the last report. Losses as the loss functions return them; d_real,
    d_fake: mean discriminator logits; rt: E[sign D(real)] of the last ADA update (0 without ADA)."""

    step: int
    steps: int                  # the run's target step count
    images_seen: int
    img_per_s: float            # over the window, all ranks together
    elapsed_s: float            # training wall time of the whole run, resumes included
    eta_s: float                # to the target step count (or the time limit, if sooner)
    loss_g: float
    loss_d: float
    d_real: float
    d_fake: float
    augment_p: float
    rt: float
    rollbacks: int
    loss_read: float = 0.0      # the glyph reader's cross-entropy on G's glyphs (0 without a reader)
    loss_style: float = 0.0     # the glyphs' weighted style-spread excess (0 without the style loss)
    kind: ClassVar[str] = "progress"

    def record(self) -> dict[str, Any]:
        """The metrics.jsonl row."""
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Quality:
    """A point of the quality curve: `figures` as the quality probe returned them (e.g. {"swd": ..., "n": ...})."""

    step: int
    elapsed_s: float
    figures: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "quality"

    def record(self) -> dict[str, Any]:
        """The metrics.jsonl row: the figures flattened beside step and elapsed_s."""
        return {"kind": self.kind, "step": self.step, "elapsed_s": self.elapsed_s, **self.figures}


@dataclass(frozen=True)
class Rollback:
    """The guards rolled training back from `bad_step` to `step` (the last healthy checkpointed state)."""

    step: int
    bad_step: int
    losses: tuple[float, float]     # (G, D) at the bad step
    message: str
    kind: ClassVar[str] = "rollback"


@dataclass(frozen=True)
class Sample:
    """A sample grid of the EMA generator was written (fixed noise, so grids are comparable over time)."""

    step: int
    path: str
    kind: ClassVar[str] = "sample"


@dataclass(frozen=True)
class Checkpoint:
    """A training checkpoint was written (sent to `on_checkpoint`)."""

    step: int
    path: Path
    kind: ClassVar[str] = "checkpoint"


@dataclass(frozen=True)
class Done:
    """The loop ended: reason is "done", "stopped" or "time limit"; timing as `TrainResult.timing`."""

    step: int
    reason: str
    elapsed_s: float
    timing: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "done"


TrainEvent = Info | Progress | Quality | Rollback | Sample | Done
