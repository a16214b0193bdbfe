"""Saved training sets: an ImageDataset as images.safetensors + dataset.json, written atomically and
verified (hash, shapes, labels) when read back.

Upload sets are content-addressed: they live under <data>/uploads/<hash of what training reads>
(images, labels, class names, fit), so pressing Start again, or another session uploading the same
files, reuses the stored set instead of writing another copy. The name is derived from the pixels,
so it cannot be guessed without them.

    folder = save_upload_set(report)       # report: explorer.data.uploads.ingest_uploads(...)
    ds = load_upload_set(folder)           # an ImageDataset the trainer reads
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load

from explorer import fileio
from explorer.data.datasets import ImageDataset
from explorer.settings import data_dir

if TYPE_CHECKING:
    from explorer.data.uploads import UploadReport

DATASET_FORMAT = "latent-explorer-dataset"
DATASET_VERSION = 1


def content_key(ds: ImageDataset, fit: str = "") -> str:
    """sha256 (hex, 32 characters) of what training reads from a set: images (shape and bytes), labels,
    class names and the fit; identical uploads give the same key, whatever their file names."""
    h = hashlib.sha256()
    h.update(repr((tuple(ds.images.shape), str(ds.images.dtype), list(ds.class_names), fit)).encode("utf-8"))
    h.update(ds.images.contiguous().numpy().tobytes())
    if ds.labels is not None:
        h.update(b"labels")
        h.update(ds.labels.to(torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def _stored(folder: Path) -> bool:
    """Whether `folder` holds a complete, verified set (a crash between its two writes leaves none)."""
    try:
        load_upload_set(folder)
        return True
    except (OSError, ValueError):
        return False


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
    Default destination: <data>/uploads/<content_key>, reused (not rewritten) when it already holds the
    same set, so identical uploads are stored once."""
    if len(report) == 0:
        raise ValueError("no usable images to save: " + (report.summary()))
    ds = report.to_dataset(source="upload")
    if dest_dir is None:
        dest = data_dir() / "uploads" / content_key(ds, report.fit)
        with fileio.file_lock(dest):           # two sessions starting the same set at once: one writes it
            if not _stored(dest):
                ds.description = {**ds.description, "source": f"upload:{dest.name}"}
                save_dataset(ds, dest, _report_extra(report))
        return dest
    dest = Path(dest_dir)
    ds.description = {**ds.description, "source": f"upload:{dest.name}"}
    return save_dataset(ds, dest, _report_extra(report))


def _report_extra(report: UploadReport) -> dict:
    return {"fit": report.fit, "names": report.names, "rejected": report.rejected, "notes": report.notes,
            "counts": report.counts, "stopped": report.stopped}


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
