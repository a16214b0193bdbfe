"""Safe ingestion of image datasets for GAN training.

Every source becomes an `ImageDataset`: uint8 images (N, C, H, W), optional labels and a
JSON-able `description` for the model card. Sources: Fashion-MNIST from Debian's IDX files,
a folder (recursive, sorted, symlinks never leave it) or a .zip (read in memory, never
extracted; member names are labels, never paths). Folders and zips go through the one
ingestion core the app's uploads use (`explorer.data.ingest`): the same decode path (EXIF
orientation), the same name rules (NFC, unsafe names, nested archives), caps and reasons.

    from explorer.data.datasets import load_dataset
    ds = load_dataset("fashion-mnist:test")            # ds.images: (10000, 1, 32, 32) uint8
    ds = load_dataset("uploads/faces.zip", resolution=64, channels=3)
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer.data.archives import nfc
from explorer.data.ingest import Ingested, folder_entries, ingest, zip_entries
from explorer.imaging.decode import FITS, IMAGE_FORMATS, Limits, check_shape_args, decode_image, preprocess  # noqa: F401 (re-exported)

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
    weights: torch.Tensor | None = None     # (N,) float sampling weights for training (None = uniform)

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
    check_shape_args(resolution, channels, "pad")
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
    desc = describe_source(f"fashion-mnist:{split}", len(x), resolution, channels, "pad", [],
                     {FMNIST_CLASSES[k]: counts.get(k, 0) for k in range(10)})
    return ImageDataset(x.contiguous(), y, list(FMNIST_CLASSES), desc)


# ----------------------------------------------------------------------------- folders and zips

def _from_ingested(out: Ingested, source: str, resolution: int, channels: int, fit: str,
                   labels_from_subfolders: bool) -> ImageDataset:
    images = torch.from_numpy(np.ascontiguousarray(out.images))
    labels, class_names, class_counts = None, [], {}
    if labels_from_subfolders:
        class_names = sorted(set(out.classes))
        labels = torch.tensor([class_names.index(c) for c in out.classes], dtype=torch.int64)
        class_counts = dict(sorted(Counter(out.classes).items()))
    desc = describe_source(source, len(images), resolution, channels, fit, out.rejected, class_counts, out.stopped)
    return ImageDataset(images, labels, class_names, desc, list(out.rejected))


def load_image_folder(path: str | os.PathLike, resolution: int = 32, channels: int = 1, fit: str = "crop",
                      labels_from_subfolders: bool = False, limits: Limits | None = None) -> ImageDataset:
    """Every decodable image under `path` (recursive, sorted; .zip files in it are opened like uploaded
    ones), through the same ingestion core as the app's uploads; others are skipped with reasons."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    with contextlib.ExitStack() as stack:
        out = ingest(folder_entries(root, limits, stack), resolution=resolution, channels=channels, fit=fit,
                     labels=labels_from_subfolders, limits=limits)
    return _from_ingested(out, f"folder:{nfc(root.name)}", resolution, channels, fit, labels_from_subfolders)


def load_zip(path: str | os.PathLike, resolution: int = 32, channels: int = 1, fit: str = "crop",
             labels_from_subfolders: bool = False, limits: Limits | None = None) -> ImageDataset:
    """Every decodable image in a .zip, read in memory (never extracted), through the same ingestion core
    as the app's uploads (unsafe member names, nested archives and bombs are left out with reasons)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        zipfile.ZipFile(path).close()
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path}: not a readable zip archive ({e})") from e
    with contextlib.ExitStack() as stack:
        out = ingest(zip_entries(path, limits, stack), resolution=resolution, channels=channels, fit=fit,
                     labels=labels_from_subfolders, limits=limits)
    return _from_ingested(out, f"zip:{nfc(path.name)}", resolution, channels, fit, labels_from_subfolders)


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
    desc = describe_source("emoji (Noto Color Emoji)", len(x), resolution, channels, "pad", [],
                           meta.get("class_counts", {}))
    desc["dropped"] = meta.get("dropped", {})
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(x)), labels if names else None, names, desc)


def load_fonts_dataset(split: str = "train", resolution: int = 64) -> ImageDataset:
    """One split of the typefaces dataset (built by `latent-explorer datasets fonts`): images are glyph
    stacks (N, 62, R, R) uint8, ink = 255, channel i = glyph description["glyphs"][i]; unlabelled;
    `weights` = 1 / (faces of the face's family in the split), so training samples families equally.
    Other resolutions than the stored 64 are resized (bicubic, antialiased). Raises FileNotFoundError
    when the dataset was not built."""
    from explorer.data.fontstore import load_fonts
    fs = load_fonts(split)
    x = fs.glyphs                                                                       # (N, 62, 64, 64)
    n, g = x.shape[:2]
    if resolution != x.shape[-1]:
        x = torch.from_numpy(_resize_batch(x.reshape(n * g, *x.shape[2:]).numpy(), resolution)).reshape(
            n, g, resolution, resolution)
    chars = str(fs.meta.get("chars", ""))
    if len(chars) != g:
        raise ValueError(f"the fonts dataset names {len(chars)} glyphs but stores {g}; rebuild it")
    desc = describe_source(f"fonts:{split}", n, resolution, g, "glyphs", [], {})
    licences = Counter(str(f.get("licence") or "unknown") for f in fs.faces)
    desc.update(glyphs=chars, families=len(fs.families), split=split,
                packages=sorted({str(f.get("package", "?")) for f in fs.faces}), licences=dict(licences.most_common()))
    return ImageDataset(x.contiguous(), None, [], desc, weights=fs.family_weight.clone().float())


def load_dataset(spec: str, resolution: int = 32, channels: int = 1, fit: str = "crop",
                 labels_from_subfolders: bool = False) -> ImageDataset:
    """'fashion-mnist[:train|:test]', 'emoji', 'fonts[:train|:test]' (glyph stacks: `channels` is
    ignored), a folder, or a .zip -> a non-empty ImageDataset."""
    name, _, split = spec.partition(":")
    if name.lower() == "fonts" and not Path(spec).exists():
        return load_fonts_dataset(split or "train", resolution)
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

def describe_source(source: str, count: int, resolution: int, channels: int, fit: str,
                    skipped: list[tuple[str, str]], class_counts: dict[str, int], stopped: str | None = None) -> dict:
    """The JSON-able description of a dataset for its model card: counts, settings, reasons per category."""
    kinds = Counter(r.split(":", 1)[0] for _, r in skipped)
    return {"source": source, "count": count, "resolution": resolution, "channels": channels, "fit": fit,
            "skipped": len(skipped), "skip_reasons": dict(sorted(kinds.items())), "class_counts": class_counts,
            "stopped": stopped}
