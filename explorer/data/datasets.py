"""Safe ingestion of image datasets for GAN training.

Every source becomes an `ImageDataset`: uint8 images (N, C, H, W), optional labels and a
JSON-able `description` for the model card. Sources: Fashion-MNIST from Debian's IDX files,
a folder (recursive, sorted, symlinks never leave it) or a .zip (read in memory, never
extracted; member names are labels, never paths). Uploads are untrusted: `decode_image`
never raises, and a file that is not a PNG/JPEG/WEBP/BMP/GIF, is truncated, breaks a
`Limits` cap (files, bytes, zip ratio, pixels) or duplicates another is skipped with a reason.

    from explorer.data.datasets import load_dataset
    ds = load_dataset("fashion-mnist:test")            # ds.images: (10000, 1, 32, 32) uint8
    ds = load_dataset("uploads/faces.zip", resolution=64, channels=3)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator  # noqa: F401 (Callable: string annotation)

import numpy as np
import torch

from explorer.imaging.decode import (FITS, IMAGE_FORMATS, Limits, _check_shape_args,  # noqa: F401 (re-exported)
                             decode_image, preprocess)

FMNIST_ROOT = "/usr/share/datasets/fashion-mnist"
FMNIST_ENV = "LATENT_EXPLORER_FMNIST"
FMNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class ImageDataset:
    images: torch.Tensor                    # (N, C, H, W) uint8, C in {1, 3}
    labels: torch.Tensor | None             # (N,) int64 class indices, or None if unlabelled
    class_names: list[str]                  # class index -> name; empty if unlabelled
    description: dict                       # JSON-able summary for the model card
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (display name, reason)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def to_float(self, idx: torch.Tensor) -> torch.Tensor:
        """images[idx] as float32 in [-1, 1]."""
        return self.images[idx].to(torch.float32) / 127.5 - 1.0


# ----------------------------------------------------------------------------- Fashion-MNIST

def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzipped), validating magic, dtype, dims and size."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_DTYPES or head[3] == 0:
                raise ValueError(f"{path}: not an IDX file (bad magic {head.hex() or 'empty'})")
            dtype, ndim = np.dtype(_IDX_DTYPES[head[2]]), head[3]
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header")
            dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
            expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
            body = f.read(expected + 1)  # one extra byte detects trailing garbage without reading a bomb
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"{path}: corrupt or truncated IDX file ({e})") from e
    if len(body) != expected:
        what = "truncated" if len(body) < expected else "has trailing bytes"
        raise ValueError(f"{path}: IDX file {what}: header {dims} needs {expected} data bytes")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _resize_batch(x: np.ndarray, resolution: int) -> np.ndarray:
    """(N, H, W) uint8 -> (N, resolution, resolution) uint8, bicubic with antialias, in chunks."""
    out = np.empty((x.shape[0], resolution, resolution), dtype=np.uint8)
    for i in range(0, x.shape[0], 2048):
        t = torch.from_numpy(x[i:i + 2048]).unsqueeze(1).float()                      # (B, 1, H, W)
        t = torch.nn.functional.interpolate(t, size=(resolution, resolution), mode="bicubic",
                                            align_corners=False, antialias=True)
        out[i:i + 2048] = t.squeeze(1).round_().clamp_(0, 255).to(torch.uint8).numpy()
    return out


def load_fashion_mnist(split: str = "train", resolution: int = 32, channels: int = 1,
                       root: str | os.PathLike | None = None) -> ImageDataset:
    """Fashion-MNIST, 28x28 zero-padded to 32x32 (then resized for 64/128)."""
    if split not in ("train", "test"):
        raise ValueError(f"Fashion-MNIST split must be 'train' or 'test', not {split!r}")
    _check_shape_args(resolution, channels, "pad")
    root = Path(root or os.environ.get(FMNIST_ENV) or FMNIST_ROOT)
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind in ("images-idx3", "labels-idx1"):
        name = f"{prefix}-{kind}-ubyte"
        path = next((p for p in (root / f"{name}.gz", root / name) if p.is_file()), None)
        if path is None:
            raise FileNotFoundError(
                f"Fashion-MNIST file {name}.gz not found in {root}. Install it with "
                f"`sudo apt-get install dataset-fashion-mnist`, or set {FMNIST_ENV} to a folder holding the IDX files.")
        arrays.append(read_idx(path))
    images, labels = arrays                                                              # (N, 28, 28), (N,)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"Fashion-MNIST images must be (N, 28, 28) uint8, got {images.shape} {images.dtype}")
    if labels.shape != images.shape[:1] or labels.dtype != np.uint8 or (labels.size and labels.max() > 9):
        raise ValueError(f"Fashion-MNIST labels must be (N,) uint8 in 0..9, got {labels.shape} {labels.dtype}")
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))                                  # (N, 32, 32), black border
    if resolution != 32:
        images = _resize_batch(images, resolution)
    x = torch.from_numpy(images).unsqueeze(1)                                            # (N, 1, H, W)
    if channels == 3:
        x = x.expand(-1, 3, -1, -1)
    y = torch.from_numpy(labels.astype(np.int64))
    counts = Counter(labels.tolist())
    desc = _describe(f"fashion-mnist:{split}", len(x), resolution, channels, "pad", [],
                     {FMNIST_CLASSES[k]: counts.get(k, 0) for k in range(10)})
    return ImageDataset(x.contiguous(), y, list(FMNIST_CLASSES), desc)


# ----------------------------------------------------------------------------- folders and zips

# A source yields (display name, path parts, size in bytes, compression ratio, reader), where
# reader is a zero-argument function returning the bytes, or a string: the reason to skip.
_Entry = tuple[str, tuple[str, ...], int, float, "Callable[[], bytes] | str"]


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _folder_entries(root: Path, cap: int) -> Iterator[_Entry]:
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):   # symlinked folders not entered
        dirnames[:] = sorted(d for d in dirnames if not _hidden((d,)))
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            parts = path.relative_to(root).parts
            if _hidden(parts):
                continue
            try:
                real = path.resolve()
                size = real.stat().st_size if real.is_relative_to(real_root) and real.is_file() else -1
            except (OSError, RuntimeError) as e:   # vanished, permission, symlink loop
                yield "/".join(parts), parts, 0, 1.0, f"unreadable: {e}"
                continue
            if size < 0:
                yield "/".join(parts), parts, 0, 1.0, "not a regular file inside the folder"
                continue

            def read(real: Path = real) -> bytes:
                with open(real, "rb") as f:
                    return f.read(cap + 1)
            yield "/".join(parts), parts, size, 1.0, read


def _zip_entries(zf: zipfile.ZipFile) -> Iterator[_Entry]:
    members = []
    for info in zf.infolist():
        # Member names are labels, never paths: '', '.' and '..' parts are dropped ('../../a.png' -> 'a.png').
        parts = tuple(p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".", ".."))
        if not info.is_dir() and parts and not _hidden(parts):
            members.append((parts, info))
    if len({p[0] for p, _ in members}) == 1 and all(len(p) > 1 for p, _ in members):
        members = [(p[1:], info) for p, info in members]      # a zipped folder: its name is no class
    for parts, info in sorted(members, key=lambda m: m[0]):
        ratio = info.file_size / max(info.compress_size, 1)
        if info.flag_bits & 0x1:
            yield "/".join(parts), parts, info.file_size, ratio, "encrypted zip member"
        else:   # ZipExtFile stops at the declared size and checks the CRC at the end
            yield "/".join(parts), parts, info.file_size, ratio, lambda info=info: zf.read(info)


def _build(entries: Iterator[_Entry], source: str, resolution: int, channels: int, fit: str,
           labels_from_subfolders: bool, limits: Limits) -> ImageDataset:
    """Apply the caps, then decode, preprocess, label and de-duplicate what a source yields."""
    _check_shape_args(resolution, channels, fit)
    arrays: list[np.ndarray] = []
    classes: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[str, str] = {}                                 # pixel sha256 -> first name
    stopped, total = None, 0
    for i, (name, parts, size, ratio, read) in enumerate(entries):
        name = "".join(c if c.isprintable() else "?" for c in name)
        reason = read if isinstance(read, str) else None
        if reason is None and size > limits.max_file_bytes:
            reason = f"too large: {size:,} bytes (limit {limits.max_file_bytes:,})"
        if reason is None and ratio > limits.max_ratio:
            reason = f"zip bomb: compression ratio {ratio:.0f}:1 (limit {limits.max_ratio:.0f}:1)"
        if reason is None and labels_from_subfolders and len(parts) < 2:
            reason = "no class: not inside a subfolder"
        if i >= limits.max_files:
            stopped = f"stopped: more than {limits.max_files} files; the rest were not read"
        elif reason is None and total + size > limits.max_total_bytes:
            stopped = f"stopped: more than {limits.max_total_bytes:,} bytes in all; the rest were not read"
        if stopped:
            skipped.append(("(rest)", stopped))
            break
        if reason is None:
            try:
                data = read()
                total += len(data)
                if len(data) > limits.max_file_bytes:                     # grew since it was listed
                    reason = f"too large: over {limits.max_file_bytes:,} bytes"
            except Exception as e:   # OSError, BadZipFile (bad CRC), NotImplementedError (compression), ...
                reason = f"unreadable: {e}"
        if reason is None:
            img, reason = decode_image(data, name, limits.max_pixels, limits.max_side)
        if reason is None:
            a = preprocess(img, resolution, channels, fit)                         # (C, H, W) uint8
            digest = hashlib.sha256(a.tobytes()).hexdigest()
            if digest in seen:
                reason = f"duplicate of {seen[digest]}"
            else:
                seen[digest] = name
                arrays.append(a)
                classes.append(parts[0])
        if reason is not None:
            skipped.append((name, reason))
    images = torch.from_numpy(np.stack(arrays)) if arrays else torch.zeros(
        (0, channels, resolution, resolution), dtype=torch.uint8)
    labels, class_names, class_counts = None, [], {}
    if labels_from_subfolders:
        class_names = sorted(set(classes))
        labels = torch.tensor([class_names.index(c) for c in classes], dtype=torch.int64)
        class_counts = dict(sorted(Counter(classes).items()))
    desc = _describe(source, len(images), resolution, channels, fit, skipped, class_counts, stopped)
    return ImageDataset(images, labels, class_names, desc, skipped)


def load_image_folder(path: str | os.PathLike, resolution: int = 32, channels: int = 1, fit: str = "crop",
                      labels_from_subfolders: bool = False, limits: Limits | None = None) -> ImageDataset:
    """Every decodable image under `path` (recursive, sorted); others are skipped with reasons."""
    root, limits = Path(path), limits or Limits()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    return _build(_folder_entries(root, limits.max_file_bytes), f"folder:{root.name}", resolution, channels,
                  fit, labels_from_subfolders, limits)


def load_zip(path: str | os.PathLike, resolution: int = 32, channels: int = 1, fit: str = "crop",
             labels_from_subfolders: bool = False, limits: Limits | None = None) -> ImageDataset:
    """Every decodable image in a .zip, read in memory (never extracted), under zip-bomb caps."""
    path, limits = Path(path), limits or Limits()
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path}: not a readable zip archive ({e})") from e
    with zf:
        return _build(_zip_entries(zf), f"zip:{path.name}", resolution, channels, fit,
                      labels_from_subfolders, limits)


def load_emoji_dataset(resolution: int = 64, channels: int = 3) -> ImageDataset:
    """The Noto Color Emoji dataset (built on first use), labelled by Unicode emoji group."""
    from explorer.data.emoji import load_emoji
    imgs, labels, meta = load_emoji(64)
    x = imgs.numpy()
    if resolution != x.shape[-1]:
        n = x.shape[0]
        x = _resize_batch(x.reshape(n * 3, *x.shape[2:]), resolution).reshape(n, 3, resolution, resolution)
    if channels == 1:
        x = np.round(x.astype(np.float32).transpose(0, 2, 3, 1) @ np.array([0.299, 0.587, 0.114], np.float32))
        x = x.clip(0, 255).astype(np.uint8)[:, None]
    names = meta.get("class_names") or []
    desc = _describe("emoji (Noto Color Emoji)", len(x), resolution, channels, "pad", [],
                     meta.get("class_counts", {}))
    desc["dropped"] = meta.get("dropped", {})
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(x)), labels if names else None, names, desc)


def load_dataset(spec: str, resolution: int = 32, channels: int = 1, fit: str = "crop",
                 labels_from_subfolders: bool = False) -> ImageDataset:
    """'fashion-mnist[:train|:test]', 'emoji', a folder, or a .zip -> a non-empty ImageDataset."""
    name, _, split = spec.partition(":")
    if name.lower() == "fashion-mnist":
        return load_fashion_mnist(split or "train", resolution, channels)
    if name.lower() == "emoji" and not Path(spec).exists():
        return load_emoji_dataset(resolution, channels)
    path = Path(spec).expanduser()
    if path.is_dir():
        ds = load_image_folder(path, resolution, channels, fit, labels_from_subfolders)
    elif path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)):
        ds = load_zip(path, resolution, channels, fit, labels_from_subfolders)
    elif not path.exists():
        raise FileNotFoundError(f"dataset {spec!r}: no such folder or file "
                                "(expected 'fashion-mnist', 'fashion-mnist:test', a folder or a .zip)")
    else:
        raise ValueError(f"dataset {spec!r} is neither a folder nor a .zip archive")
    if len(ds) == 0:
        first = "; ".join(f"{n}: {r}" for n, r in ds.skipped[:5]) or "no files found"
        raise ValueError(f"dataset {spec!r} has no usable images ({len(ds.skipped)} skipped: {first})")
    return ds


# ----------------------------------------------------------------------------- helpers

def _describe(source: str, count: int, resolution: int, channels: int, fit: str,
              skipped: list[tuple[str, str]], class_counts: dict[str, int], stopped: str | None = None) -> dict:
    kinds = Counter("duplicate" if r.startswith("duplicate of") else r.split(":", 1)[0] for _, r in skipped)
    return {"source": source, "count": count, "resolution": resolution, "channels": channels, "fit": fit,
            "skipped": len(skipped), "skip_reasons": dict(sorted(kinds.items())), "class_counts": class_counts, "stopped": stopped}
