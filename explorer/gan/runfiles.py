"""The files of a training run folder, written by rank 0 only (a no-op without a folder or on other ranks).

    <run>/config.json          the ModelConfig the run trains with (rewritten at every start)
    <run>/metrics.jsonl        one JSON row per Progress / Quality event (explorer.gan.events)
    <run>/samples/step-XXXXXXXX.png   sample grids
    <run>/checkpoints/step-XXXXXXXX.{safetensors,json}   training checkpoints (explorer.gan.checkpoint)

The metrics log holds each step once: a run that starts over or resumes at step s (after a crash, a
kill or a rollback, all of which replay steps) first drops the rows after s, and any half-written
last line, by rewriting the file atomically (readers tailing it notice the new file and start over).

    files = RunFiles(run_dir, lead=True)
    files.start(config, resumed_at=step or None)
    files.log(event); files.save_checkpoint(step, tensors, meta); files.rewind(step); files.close()
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import torch

from explorer import fileio
from explorer.config import ModelConfig, to_dict
from explorer.gan import checkpoint as ckpt
from explorer.gan.events import Progress, Quality


def kept_rows(text: str, upto: int) -> list[str]:
    """The complete, parsable lines of a metrics log whose step is <= `upto`, in order."""
    out = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            continue                                   # a half-written last line
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= upto:
            out.append(line)
    return out


class RunFiles:
    """Writes a run folder's files; every method does nothing when `run` is None or `lead` is False."""

    def __init__(self, run: str | Path | None, lead: bool) -> None:
        self.run = Path(run) if (run is not None and lead) else None
        self.metrics: IO[str] | None = None

    @property
    def active(self) -> bool:
        return self.run is not None

    def start(self, config: ModelConfig, resumed_at: int | None) -> None:
        """Write config.json; keep the metrics rows up to `resumed_at` (none for a fresh start)."""
        if self.run is None:
            return
        self.run.mkdir(parents=True, exist_ok=True)
        fileio.atomic_write_json(self.run / "config.json", to_dict(config))
        self.rewind(-1 if resumed_at is None else resumed_at)

    def rewind(self, step: int) -> None:
        """Drop the metrics rows after `step` (steps about to be replayed), then append from there."""
        if self.run is None:
            return
        if self.metrics is not None:
            self.metrics.close()
        path = self.run / "metrics.jsonl"
        old = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        keep = kept_rows(old, step)
        if "".join(keep) != old:
            fileio.atomic_write_bytes(path, "".join(keep).encode("utf-8"))
        self.metrics = open(path, "a", encoding="utf-8")      # noqa: SIM115 - open for the whole run; close()

    def log(self, event: Progress | Quality) -> None:
        """Append the event's row to metrics.jsonl (flushed: pages read it while the run goes on)."""
        if self.metrics is not None:
            self.metrics.write(json.dumps(event.record()) + "\n")
            self.metrics.flush()

    def sample_path(self, step: int) -> Path | None:
        return self.run / "samples" / f"step-{step:08d}.png" if self.run is not None else None

    def save_checkpoint(self, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path | None:
        """checkpoints/step-XXXXXXXX.* (the newest two kept); its JSON path."""
        return ckpt.save_training(self.run, step, tensors, meta) if self.run is not None else None

    def drop_checkpoints_after(self, step: int) -> None:
        """After a rollback to `step`: later checkpoints are on the bad path, never to be resumed."""
        if self.run is not None:
            ckpt.drop_training_after(self.run, step)

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
