"""Encoder training as a background job: the spec, and what the worker does with it.

A model trained in the app has no encoder (explorer/explore/encoder.py), so its projections start
from the mean w. The Explore panel "Your image" queues one with `make_encoder_spec`; the job
registry stores it and the scheduler runs it like a training job (`explorer.jobs.worker` hands
specs of kind "encoder" to `run_encoder_job`), so it survives page reloads and server restarts.
The encoder is written beside the model (<dir>/<name>-encoder.*). Pausing ends it early with the
encoder trained so far (resuming trains again from scratch); cancelling discards it.

    job_id = JobRegistry().submit(owner, make_encoder_spec("data/runs/cats/model.json", minutes=5))
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Any

from explorer.jobs.spec import JobError

KIND = "encoder"
MAX_MINUTES = 120.0
FIELDS = {"kind", "model", "dataset", "name", "device", "minutes"}


def make_encoder_spec(model: str | os.PathLike, minutes: float = 5.0, device: str = "auto", name: str = "") -> dict:
    """A job that trains the encoder of `model` (its JSON sidecar path, a run folder or a model name)."""
    return {"kind": KIND, "model": str(model), "dataset": str(model), "device": device, "minutes": float(minutes),
            "name": name or f"encoder for {Path(str(model)).parent.name or model}"}


def validate_encoder_spec(spec: dict) -> dict:
    """Check an encoder job spec; returns it normalised (the model's absolute JSON path) or raises JobError."""
    unknown = set(spec) - FIELDS
    if unknown:
        raise JobError(f"unknown encoder job field(s) {sorted(unknown)}")
    from explorer.gan.checkpoint import CheckpointError, resolve
    from explorer.gan.device import model_search_path
    try:
        model = str(resolve(str(spec.get("model") or ""), model_search_path()).resolve())
    except CheckpointError as e:
        raise JobError(f"the model to train an encoder for does not exist: {e}") from None
    try:
        minutes = float(spec.get("minutes", 5.0))
    except (TypeError, ValueError):
        raise JobError("minutes must be a number") from None
    if not 0 < minutes <= MAX_MINUTES:
        raise JobError(f"minutes must be in (0, {MAX_MINUTES:g}], not {minutes:g}")
    name = " ".join(unicodedata.normalize("NFC", str(spec.get("name") or "encoder")).split())[:80]
    return {"kind": KIND, "model": model, "dataset": model, "name": name,
            "device": str(spec.get("device") or "auto"), "minutes": minutes}


def run_encoder_job(reg: Any, job: Any, rep: Any) -> int:
    """The worker's side: train, save beside the model, record the ending. `rep` is the worker's reporter
    (progress(), flush(), should_stop(), stop_reason). Returns the process exit code."""
    from explorer.explore.encoder import encoder_stem, train_encoder_for_model
    from explorer.gan.device import pick_device
    try:
        device = pick_device(job.spec.get("device") or "auto")
        path, summary = train_encoder_for_model(
            job.spec["model"], max_seconds=float(job.spec["minutes"]) * 60, should_stop=rep.should_stop,
            on_progress=rep.progress, device=str(device))
        rep.flush()
        why = rep.stop_reason
        if why is None:
            reg.finish(job.id, "done", result={"encoder": str(path), **summary}, pid=os.getpid())
        elif why == "cancel":
            stem = encoder_stem(job.spec["model"])
            for suffix in (".json", ".safetensors"):
                stem.with_name(stem.name + suffix).unlink(missing_ok=True)
            reg.finish(job.id, "cancelled", pid=os.getpid())
        elif why != "lost":
            reg.finish(job.id, {"pause": "paused", "signal": "interrupted"}[why], pid=os.getpid())
        return 0
    except BaseException as e:  # noqa: BLE001 - every ending must be recorded
        import traceback
        traceback.print_exc()
        try:
            reg.finish(job.id, "failed", error=f"Training the encoder failed: {type(e).__name__}: {e}", pid=os.getpid())
        except Exception:
            traceback.print_exc()
        return 1
