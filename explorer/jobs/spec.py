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
              class_map: str | None = None, directions: bool = True, direction_seeds: int = 200,
              **train: Any) -> dict:
    """A job spec from a preset (or a whole `config`, e.g. `finetune.finetune_config`) plus TrainConfig
    overrides (steps=..., max_minutes=..., checkpoint_every=...). `class_map`: how the classes of the model
    to fine-tune from continue as the data's when their lists differ ("new", or "old=new,...";
    explorer.gan.classes); without it such a job is refused. `directions`: compute the model's edit
    directions (PCA, SeFa, attributes) into the cache when the job ends, so its first view needs no wait,
    and their quality over `direction_seeds` seeds into its model card (explore/direction_quality.py)."""
    cfg = config or build_preset(preset, resolution, channels, num_classes)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train))
    return {"dataset": str(dataset), "config": to_dict(cfg), "name": name or cfg.train.preset, "device": device,
            "fit": fit, "labels": bool(labels or cfg.generator.num_classes),
            "init_from": str(init_from) if init_from else None, "directions": bool(directions),
            "direction_seeds": max(1, int(direction_seeds))} \
        | ({"class_map": class_map} if class_map else {})


def validate_spec(spec: dict) -> dict:
    """Check a spec before it is queued; returns the normalised spec or raises JobError."""
    if not isinstance(spec, dict):
        raise JobError("a job spec must be a dict")
    if spec.get("kind") == "encoder":                  # an encoder for a model: explorer/jobs/encoder_job.py
        from explorer.jobs.encoder_job import validate_encoder_spec
        return validate_encoder_spec(spec)
    unknown = set(spec) - {"dataset", "config", "name", "device", "fit", "labels", "init_from", "class_map",
                           "directions", "direction_seeds"}
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
    class_map = _check_classes(spec.get("class_map"), init, ds, cfg)
    name = " ".join(unicodedata.normalize("NFC", str(spec.get("name") or cfg.train.preset)).split())[:80]
    return {"dataset": ds, "config": to_dict(cfg), "name": name, "device": str(spec.get("device") or "auto"),
            "fit": spec.get("fit") or "crop", "labels": bool(spec.get("labels")),
            "init_from": init, "directions": spec.get("directions", True) is not False,
            "direction_seeds": _seeds(spec.get("direction_seeds", 200))} \
        | ({"class_map": class_map} if class_map else {})


def _seeds(value: Any) -> int:
    """The spec's direction_seeds: a whole number of seeds from 1 to 2,000 (JobError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2000:
        raise JobError(f"direction_seeds must be a whole number from 1 to 2000, not {value!r}")
    return value


def _check_classes(class_map: Any, init: str | None, dataset: str, cfg: ModelConfig) -> str | None:
    """The spec's class map, checked against the source model's classes and a saved upload set's (the
    worker checks again with the data it loads: explorer.gan.finetune.prepare_init). Raises JobError."""
    from explorer.gan.classes import class_plan, parse_class_map
    if class_map is None or class_map == "":
        class_map = None
    elif not isinstance(class_map, str):
        raise JobError("class_map must be text: 'new' or 'old=new,...'")
    elif class_map != "new":
        try:
            parse_class_map(class_map)
        except ValueError as e:
            raise JobError(str(e)) from None
    if not init:
        if class_map:
            raise JobError("class_map says how a fine-tuned model's classes continue: it needs init_from")
        return None
    from explorer import fileio
    from explorer.data.store import is_dataset_dir
    from explorer.gan import checkpoint as ckpt
    if not is_dataset_dir(dataset):
        return class_map                               # classes known once the worker loads the data
    try:
        names = fileio.read_json_object(Path(dataset) / "dataset.json", "a dataset").get("class_names") or []
        j = ckpt.latest_training(init) if Path(init).is_dir() else Path(init)
        meta = ckpt.read_meta(j) if j is not None else {}
    except (OSError, ValueError):
        return class_map                               # unreadable here: the worker says why
    src = meta.get("config", {}).get("generator") or meta.get("generator") or {}
    try:
        class_plan(meta.get("class_names"), list(names), class_map, src.get("num_classes", 0),
                   cfg.generator.num_classes)
    except ValueError as e:
        raise JobError(f"cannot fine-tune on these classes: {e}") from None
    return class_map


def _resolve_model(name: str) -> str:
    """A model name (as `latent-explorer list` shows it) -> its JSON sidecar, or JobError."""
    from explorer.gan.checkpoint import CheckpointError, resolve
    from explorer.gan.device import model_search_path
    try:
        return str(resolve(name, model_search_path()).resolve())
    except CheckpointError as e:
        raise JobError(f"the model to fine-tune from does not exist: {e}") from None
