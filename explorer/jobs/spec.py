"""Training-job specs: what to train, checked before it is queued (`explorer.jobs.registry` queues them).

    spec = make_spec("data/uploads/abc", preset="quick", resolution=64, channels=3, name="cats")
    spec = validate_spec(spec)          # normalised (absolute paths, a known model), or JobError
"""

from __future__ import annotations

import dataclasses
import os
import unicodedata
from pathlib import Path
from typing import Any

from explorer.config import ModelConfig, from_dict, to_dict
from explorer.config import preset as build_preset


class JobError(ValueError):
    """A job request that cannot be honoured; the message says why."""


def make_spec(dataset: str | Path, *, preset: str = "quick", resolution: int = 32, channels: int = 1,
              num_classes: int = 0, name: str = "", device: str = "auto", fit: str = "crop",
              labels: bool = False, init_from: str | os.PathLike | None = None, config: ModelConfig | None = None,
              **train: Any) -> dict:
    """A job spec from a preset (or a whole `config`, e.g. `finetune.finetune_config`) plus TrainConfig
    overrides (steps=..., max_minutes=..., checkpoint_every=...)."""
    cfg = config or build_preset(preset, resolution, channels, num_classes)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train))
    return {"dataset": str(dataset), "config": to_dict(cfg), "name": name or cfg.train.preset, "device": device,
            "fit": fit, "labels": bool(labels or cfg.generator.num_classes),
            "init_from": str(init_from) if init_from else None}


def validate_spec(spec: dict) -> dict:
    """Check a spec before it is queued; returns the normalised spec or raises JobError."""
    if not isinstance(spec, dict):
        raise JobError("a job spec must be a dict")
    if spec.get("kind") == "encoder":                  # an encoder for a model: explorer/jobs/encoder_job.py
        from explorer.jobs.encoder_job import validate_encoder_spec
        return validate_encoder_spec(spec)
    unknown = set(spec) - {"dataset", "config", "name", "device", "fit", "labels", "init_from"}
    if unknown:
        raise JobError(f"unknown job spec field(s) {sorted(unknown)}")
    try:
        cfg = from_dict(ModelConfig, spec.get("config"))
    except (TypeError, ValueError) as e:
        raise JobError(f"invalid model config: {e}") from None
    ds = str(spec.get("dataset") or "")
    if ds and Path(ds).exists():
        ds = str(Path(ds).resolve())                   # the worker may run in another folder
    elif not ds or ds.split(":")[0].lower() not in ("fashion-mnist", "emoji"):
        raise JobError(f"dataset {ds!r} does not exist")
    init = spec.get("init_from")
    if init:
        init = str(Path(init).resolve()) if Path(init).exists() else _resolve_model(str(init))
    name = " ".join(unicodedata.normalize("NFC", str(spec.get("name") or cfg.train.preset)).split())[:80]
    return {"dataset": ds, "config": to_dict(cfg), "name": name, "device": str(spec.get("device") or "auto"),
            "fit": spec.get("fit") or "crop", "labels": bool(spec.get("labels")), "init_from": init}


def _resolve_model(name: str) -> str:
    """A model name (as `latent-explorer list` shows it) -> its JSON sidecar, or JobError."""
    from explorer.gan.checkpoint import CheckpointError, resolve
    from explorer.gan.device import model_search_path
    try:
        return str(resolve(name, model_search_path()).resolve())
    except CheckpointError as e:
        raise JobError(f"the model to fine-tune from does not exist: {e}") from None
