"""The training process of one browser job: `python -m explorer.jobs.worker --db PATH -- JOB_ID`.

Started by `jobs.Scheduler` (never run by hand in normal use). It loads the job, builds its
dataset (a saved upload set, or any `load_dataset` spec), and runs `train_loop` in the job's
run folder, resuming from the newest checkpoint when there is one. Progress goes to the job
database (at most once a second, plus every checkpoint, rollback and message); pause and
cancel are read from it between steps. A quality curve (SWD of the EMA generator against the
training images, `explorer.evaluation.quality.QualityProbe`) is measured at every checkpoint into
metrics.jsonl. A fine-tuning job starts from `spec["init_from"]`, adapted to the job's classes
by `explorer.gan.finetune.prepare_init`. Endings:

* done: the run has model.json (exported by train_loop, re-exported here with a model card
  titled after the job, also written to model_card.md), so it appears in the model picker;
* paused / cancelled: the final checkpoint is kept, the partial export is removed;
* SIGTERM / SIGINT: checkpoint, then `interrupted` (the scheduler resumes it);
* failed: full disk (ENOSPC), GPU or CPU out of memory, divergence, bad data: a sentence in
  the job, the traceback in <run>/worker.log, earlier checkpoints untouched.

Test-only fault injection (inert unless set): LATENT_EXPLORER_FAULT_DISK_FULL="<job id>:<step>"
makes every atomic file write of that job raise OSError(ENOSPC) from that training step on.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from explorer.gan.events import Checkpoint, Info, Progress, Quality, Rollback, Sample, TrainEvent
from explorer.jobs.registry import Job, JobRegistry
from explorer.jobs.scheduler import proc_start_token
from explorer.settings import use_threads

PROGRESS_EVERY_S = 1.0       # throttle for progress writes to the database
STOP_CHECK_EVERY_S = 0.2     # throttle for reading pause/cancel flags
FAULT_ENV = "LATENT_EXPLORER_FAULT_DISK_FULL"
QUALITY_SAMPLES = 128        # images (and samples) per quality-curve point
PROGRESS_FIELDS = ("step", "steps", "images_seen", "img_per_s", "eta_s", "elapsed_s", "loss_g", "loss_d", "d_real",
                   "d_fake", "augment_p", "rollbacks")         # of a Progress event, shown on the Train page


class JobReporter:
    """train_loop callbacks -> the job row (throttled), and should_stop <- the job row and signals."""

    def __init__(self, reg: JobRegistry, job_id: str):
        self.reg, self.job_id = reg, job_id
        self.snap: dict[str, Any] = {}
        self.step = 0
        self.last_write = self.last_check = 0.0
        self.stop_reason: str | None = None       # "pause" | "cancel" | "lost" | "signal"

    def event(self, e: TrainEvent) -> None:
        if isinstance(e, Progress):
            self.progress({k: getattr(e, k) for k in PROGRESS_FIELDS})
        elif isinstance(e, Sample):
            self.snap["sample"] = e.path
        elif isinstance(e, Quality):
            self.snap.update(swd=e.figures.get("swd"), quality_step=e.step)
            self.flush()
        elif isinstance(e, (Info, Rollback)):
            self.reg.add_message(self.job_id, e.kind, e.message)
            if isinstance(e, Rollback):
                self.snap["rollbacks"] = self.snap.get("rollbacks", 0) + 1
                self.flush()

    def progress(self, fields: dict[str, Any]) -> None:
        """Progress figures of any job ("step" among them), written at most once every PROGRESS_EVERY_S."""
        self.step = int(fields.get("step", self.step))
        self.snap.update(fields)
        if time.monotonic() - self.last_write >= PROGRESS_EVERY_S:
            self.flush()

    def checkpoint(self, e: Checkpoint) -> None:
        self.snap["checkpoint_step"] = e.step
        self.flush()

    def flush(self) -> None:
        self.last_write = time.monotonic()
        self.reg.update_progress(self.job_id, dict(self.snap, t=time.time()))

    def should_stop(self) -> bool:
        if self.stop_reason:
            return True
        if time.monotonic() - self.last_check >= STOP_CHECK_EVERY_S:
            self.last_check = time.monotonic()
            self.stop_reason = self.reg.requested(self.job_id)
        return self.stop_reason is not None

    def on_signal(self, signum: int, frame: Any) -> None:
        self.stop_reason = "signal"


def describe_failure(e: BaseException, checkpoint_step: int | None) -> str:
    """One sentence a person can act on, for an exception that ended training."""
    import torch

    from explorer.gan.checkpoint import CheckpointError
    from explorer.gan.train import TrainingDiverged

    kept = (f"the checkpoint at step {checkpoint_step} is intact" if checkpoint_step
            else "no checkpoint had been written yet")
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return (f"The disk is full ({e.strerror or 'no space left'}): training stopped and {kept}. "
                f"Free some space, then resume the job.")
    text = str(e).lower()
    oom = getattr(torch, "OutOfMemoryError", MemoryError)
    if isinstance(e, (MemoryError, oom)) or (isinstance(e, RuntimeError) and "out of memory" in text):
        what = "GPU" if ("cuda" in text or "gpu" in text) else "machine"
        return f"The {what} ran out of memory: try a smaller batch size or resolution; {kept}."
    if isinstance(e, TrainingDiverged):
        return f"Training diverged: {e}; {kept}."
    if isinstance(e, (CheckpointError, ValueError, FileNotFoundError)):
        return f"Training could not run: {e}"
    return f"Training stopped on an unexpected error ({type(e).__name__}: {e}); details are in worker.log; {kept}."


def load_job_dataset(spec: dict, resolution: int, channels: int) -> Any:
    """A saved upload set (folder with dataset.json) or anything `data.load_dataset` reads."""
    from explorer.data.datasets import load_dataset
    from explorer.data.store import is_dataset_dir, load_upload_set

    if is_dataset_dir(spec["dataset"]):
        return load_upload_set(spec["dataset"])
    ds = load_dataset(spec["dataset"], resolution=resolution, channels=channels, fit=spec.get("fit", "crop"),
                      labels_from_subfolders=bool(spec.get("labels")))
    ds.description = {**ds.description, "spec": spec["dataset"]}
    return ds


def _install_fault(job_id: str, rep: JobReporter) -> None:
    """Test-only: simulate a disk that fills up at a given step (see the module docstring)."""
    want = os.environ.get(FAULT_ENV, "")
    if not want.startswith(job_id + ":"):
        return
    from explorer import fileio

    at, real = int(want.rsplit(":", 1)[1]), fileio.atomic_write_bytes

    def full_disk(path: str | os.PathLike, data: bytes) -> None:
        if rep.step >= at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)
    fileio.atomic_write_bytes = full_disk


def _remove_export(run: Path) -> None:
    for f in (run / "model.json", run / "model.safetensors"):
        f.unlink(missing_ok=True)


def _upload_meta(spec: dict) -> dict | None:
    from explorer import fileio
    try:
        return fileio.read_json_object(Path(spec["dataset"]) / "dataset.json", "a dataset")
    except Exception:
        return None


def export_job_model(job: Job, run: Path, checkpoint_json: Path | None = None) -> list[dict]:
    """(Re-)export the run's model with a card titled after the job; returns its quality points.
    `checkpoint_json`: export that training checkpoint first (a cancelled or paused run kept as a model)."""
    from explorer import fileio
    from explorer.gan import checkpoint
    from explorer.gan.export import export_model
    from explorer.jobs.runlog import job_card, read_metrics

    if checkpoint_json is not None:
        export_model(checkpoint_json, run / "model")
    meta = checkpoint.read_meta(run / "model.json")
    _, quality = read_metrics(run / "metrics.jsonl")
    quality = [q for q in quality if q.get("step", 0) <= meta.get("training", {}).get("steps", float("inf"))]
    card = job_card(job.name, meta, job.spec, quality, _upload_meta(job.spec))
    curve = [{k: q.get(k) for k in ("step", "elapsed_s", "swd")} for q in quality]
    extra = {"model_card": card, "job_name": job.name, "quality_curve": curve,
             "finetuned_from": job.spec.get("init_from")}
    if quality:
        extra["metrics"] = {"swd_probe": quality[-1]["swd"], "swd_probe_samples": quality[-1].get("n")}
    export_model(run / "model.json", run / "model", extra)
    fileio.atomic_write_bytes(run / "model_card.md", card.encode("utf-8"))
    return quality


def _finalise(job: Job, run: Path, result: Any, device: str) -> dict:
    """Re-export with a card titled after the job; the final figures for the job row."""
    from explorer.config import ModelConfig, from_dict
    from explorer.jobs import speed

    quality = export_job_model(job, run)
    last = result.last
    if last is not None and last.img_per_s:
        cfg = from_dict(ModelConfig, job.spec["config"])
        speed.remember(cfg, device, cfg.train.batch_size / last.img_per_s)
    return {"step": result.step, "steps": last.steps if last else None, "images_seen": result.images_seen,
            "train_seconds": round(result.seconds, 1), "reason": result.reason, "rollbacks": result.rollbacks,
            "img_per_s": last.img_per_s if last else None, "loss_g": last.loss_g if last else None,
            "loss_d": last.loss_d if last else None,
            "model": str(run / "model.json"), "bookkeeping_share": result.timing.get("bookkeeping_share"),
            "swd": quality[-1]["swd"] if quality else None}


def _warm_directions(reg: JobRegistry, job: Job, run: Path) -> None:
    """The finished model's edit directions into the cache (spec "directions", default on), so the
    explorer shows them without a wait; a failure is a warning in the job's messages, never the job's."""
    if job.spec.get("directions", True) is False:
        return
    try:
        from explorer.explore.direction_cache import warm_directions
        from explorer.gan.checkpoint import load_generator
        G, meta = load_generator(run / "model.json")
        took = warm_directions(G, meta)
        reg.add_message(job.id, "info", "edit directions ready: "
                        + ", ".join(f"{m} {s:.1f} s" for m, s in took.items()))
    except Exception as e:  # noqa: BLE001 - the model is trained and saved; the explorer computes them later
        reg.add_message(job.id, "warning", f"edit directions were not precomputed ({type(e).__name__}: {e}); "
                                           "the explorer computes them when they are first shown")
        return
    _card_directions(reg, job, run)


def _card_directions(reg: JobRegistry, job: Job, run: Path) -> None:
    """The direction-quality figures (explore/direction_quality.py: each attribute direction's share of
    seeds moved the right way by +2 std and its leak, before and after orthogonalisation, and followed
    edits) into the finished model's card, as the shipped models' cards have them; spec
    "direction_seeds" seeds (default 200). A failure is a warning, never the job's."""
    try:
        from explorer import fileio
        from explorer.explore.direction_quality import add_to_card, model_direction_figures
        t0 = time.perf_counter()
        figures = model_direction_figures(str(run / "model.json"), n_seeds=int(job.spec.get("direction_seeds", 200)))
        add_to_card(run / "model.json", figures)
        card = fileio.read_json_object(run / "model.json", "a model sidecar").get("model_card")
        if card:
            fileio.atomic_write_bytes(run / "model_card.md", str(card).encode("utf-8"))
        reg.add_message(job.id, "info", f"direction quality in the model card ({figures['n_seeds']} seeds, "
                                        f"{time.perf_counter() - t0:.1f} s)")
    except Exception as e:  # noqa: BLE001 - the model is trained and saved; `evaluate --directions` can add them
        reg.add_message(job.id, "warning", f"direction quality was not added to the model card "
                                           f"({type(e).__name__}: {e})")


def run_job(reg: JobRegistry, job: Job) -> int:
    """Train one claimed job to its end state; returns the process exit code."""
    rep = JobReporter(reg, job.id)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, rep.on_signal)
    _install_fault(job.id, rep)
    if job.spec.get("kind") == "encoder":              # not a training run: explorer/jobs/encoder_job.py
        from explorer.jobs.encoder_job import run_encoder_job
        return run_encoder_job(reg, job, rep)
    run = Path(job.run_dir)
    try:
        from explorer import fileio
        from explorer.config import ModelConfig, from_dict
        from explorer.evaluation.quality import QualityProbe
        from explorer.gan.checkpoint import latest_training, read_meta
        from explorer.gan.device import pick_device
        from explorer.gan.finetune import prepare_init
        from explorer.gan.train import train_loop

        cfg = from_dict(ModelConfig, job.spec["config"])
        ds = load_job_dataset(job.spec, cfg.generator.resolution, cfg.generator.channels)
        nc = cfg.generator.num_classes
        if nc and len(ds.class_names) != nc:
            raise ValueError(f"the model is conditional on {nc} classes but the dataset has "
                             f"{len(ds.class_names)} ({', '.join(ds.class_names[:10]) or 'no labels'})")
        latest = latest_training(run)
        resume = latest is not None
        if latest is not None:
            rep.snap["checkpoint_step"] = int(read_meta(latest)["step"])
        fileio.atomic_write_json(run / "job.json", {"name": job.name, "spec": job.spec})
        print(f"[worker {os.getpid()}] {'resuming' if resume else 'starting'} {job.name!r}: {len(ds)} images",
              flush=True)
        init = job.spec.get("init_from")
        if init and not resume:             # adapted to the job's classes, as its class_map says (else refused)
            init = prepare_init(init, cfg, run, list(ds.class_names), job.spec.get("class_map"))
        device = pick_device(job.spec.get("device") or "auto")
        probe = QualityProbe(ds, samples=QUALITY_SAMPLES) if len(ds) >= 2 else None
        result = train_loop(cfg, ds, should_stop=rep.should_stop, on_progress=rep.event,
                            on_checkpoint=rep.checkpoint, run_dir=run, resume=resume,
                            init_from=None if resume else init, device=device, quality=probe)
        rep.flush()
        why = rep.stop_reason if result.reason == "stopped" else None
        if why is None:
            row = _finalise(job, run, result, str(device))
            _warm_directions(reg, job, run)
            reg.finish(job.id, "done", result=row, pid=os.getpid())
            if result.reason == "time limit":
                reg.add_message(job.id, "info", f"stopped at the time limit after step {result.step}")
        elif why != "lost":
            _remove_export(run)
            end = {"pause": "paused", "cancel": "cancelled", "signal": "interrupted"}[why]
            reg.finish(job.id, end, pid=os.getpid())
        print(f"[worker {os.getpid()}] finished: {result.reason} at step {result.step} ({why or 'done'})", flush=True)
        return 0
    except BaseException as e:  # noqa: BLE001 - every ending must be recorded
        traceback.print_exc()
        msg = describe_failure(e, rep.snap.get("checkpoint_step"))
        try:
            reg.finish(job.id, "failed", error=msg, pid=os.getpid())
        except Exception:
            traceback.print_exc()     # e.g. the database is on the full disk too: the scheduler will notice
        return 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.jobs.worker", description="Run one training job.")
    p.add_argument("job_id")
    p.add_argument("--db", required=True, help="the job database (jobs.sqlite3)")
    a = p.parse_args(argv)
    use_threads("work")               # $LATENT_EXPLORER_THREADS, else all cores
    reg = JobRegistry(a.db)
    job = reg.get(a.job_id)
    if job is None:
        print("no such job", file=sys.stderr)
        return 2
    if not reg.attach(job.id, os.getpid(), proc_start_token(os.getpid())):
        print(f"job is {job.status}, not running: nothing to do", file=sys.stderr)
        return 0
    return run_job(reg, job)


if __name__ == "__main__":
    raise SystemExit(main())
