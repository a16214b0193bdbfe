"""Saved training sets: an ImageDataset as images.safetensors + dataset.json, written atomically and
verified (hash, shapes, labels) when read back. Upload sets live under <data>/uploads/<random id>.

    folder = save_upload_set(report)       # report: explorer.data.uploads.ingest_uploads(...)
    ds = load_upload_set(folder)           # an ImageDataset the trainer reads
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load

from explorer import fileio
from explorer.config import data_dir
from explorer.data.datasets import ImageDataset

if TYPE_CHECKING:
    from explorer.data.uploads import UploadReport

DATASET_FORMAT = "latent-explorer-dataset"
DATASET_VERSION = 1


def new_upload_dir(root: Path | None = None) -> Path:
    """A fresh, unguessable folder name under <data>/uploads (not created)."""
    return (root or data_dir() / "uploads") / secrets.token_urlsafe(12)


def save_dataset(ds: ImageDataset, dest_dir: str | Path, extra: dict | None = None) -> Path:
    """Write an ImageDataset as images.safetensors + dataset.json (weights first, then the JSON naming
    their sha256, each atomic), so a crash leaves no half-written set the loader would accept."""
    dest = Path(dest_dir)
    tensors = {"images": ds.images.contiguous()}
    if ds.labels is not None:
        tensors["labels"] = ds.labels.to(torch.int64).contiguous()
    sha = fileio.atomic_save_tensors(dest / "images.safetensors", tensors)
    _, c, h, w = ds.images.shape
    fileio.atomic_write_json(dest / "dataset.json", {
        "format": DATASET_FORMAT, "format_version": DATASET_VERSION, "count": len(ds), "resolution": h,
        "channels": c, "class_names": list(ds.class_names), "description": ds.description,
        **(extra or {}), "weights": "images.safetensors", "sha256": sha,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return dest


def save_upload_set(report: UploadReport, dest_dir: str | Path | None = None) -> Path:
    """Save the accepted images of an upload (and its report) as a dataset folder; returns the folder.
    Default destination: a new random folder under <data>/uploads."""
    if len(report) == 0:
        raise ValueError("no usable images to save: " + (report.summary()))
    dest = Path(dest_dir) if dest_dir is not None else new_upload_dir()
    ds = report.to_dataset(source=f"upload:{dest.name}")
    return save_dataset(ds, dest, {"fit": report.fit, "names": report.names, "rejected": report.rejected,
                                   "notes": report.notes, "counts": report.counts, "stopped": report.stopped})


def is_dataset_dir(path: str | Path) -> bool:
    return (Path(path) / "dataset.json").is_file()


def load_upload_set(path: str | Path) -> ImageDataset:
    """Load a folder written by save_upload_set/save_dataset, verifying hash, shapes and labels."""
    folder = Path(path)
    meta_path = folder / "dataset.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} is not a saved upload set (no dataset.json in it)")
    meta = fileio.read_json_object(meta_path, "a Latent Explorer dataset")
    if meta.get("format") != DATASET_FORMAT or meta.get("format_version") != DATASET_VERSION:
        raise ValueError(f"{meta_path} is not a version-{DATASET_VERSION} Latent Explorer dataset")
    weights = folder / "images.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing (dataset.json is there but its images are not)")
    raw = weights.read_bytes()
    if hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
        raise ValueError(f"{weights} is corrupt: its contents do not match the hash in dataset.json")
    try:
        t = st_load(raw)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise ValueError(f"{weights} is not a readable safetensors file ({e})") from None
    x, y, names = t.get("images"), t.get("labels"), list(meta.get("class_names") or [])
    if x is None or x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[2] != x.shape[3]:
        raise ValueError(f"{weights}: images must be (N, 1|3, S, S) uint8")
    if y is not None and (y.shape != x.shape[:1] or (len(y) and (int(y.min()) < 0 or int(y.max()) >= len(names)))):
        raise ValueError(f"{weights}: labels do not match the images or the {len(names)} class names")
    desc = dict(meta.get("description") or {}, path=str(folder))
    return ImageDataset(x, y, names if y is not None else [], desc, [tuple(r) for r in meta.get("rejected", [])])
