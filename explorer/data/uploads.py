"""Browser uploads -> a checked, re-encoded training set, with a reason for every file left out.

Input is what `st.file_uploader(accept_multiple_files=True | "directory")` gives: a list of
(client-provided name, bytes), where a name may hold folders ("photos/cats/a.jpg") and any
file may be a .zip. Nothing from the client is ever used as a path: zips are read in memory,
never extracted, names are only sanitised display strings (and class labels), and every
accepted image is decoded and re-encoded by the app. Rejections never raise: each file gets a
"category: detail" reason (`REASONS` lists the categories). Conversions are kept and noted:
CMYK, 16-bit, palette and alpha images become RGB/L (alpha composited onto white), animated
GIF/WEBP give their first frame, EXIF orientation is applied; exact duplicates are dropped.

    from explorer.data.uploads import ingest_uploads
    from explorer.data.store import save_upload_set, load_upload_set
    files = [(f.name, f.getvalue()) for f in st.file_uploader("Images", accept_multiple_files=True)]
    report = ingest_uploads(files, resolution=64, channels=3, labels=True)
    st.image(report.preview_png()); st.write(report.summary(), report.counts)
    folder = save_upload_set(report)                 # data/uploads/<random id>/{images.safetensors, dataset.json}
    ds = load_upload_set(folder)                     # an ImageDataset the trainer reads
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterator  # noqa: F401 (Callable: string annotation)

import numpy as np
import torch
from PIL import Image

from explorer.data.datasets import ImageDataset, _describe
from explorer.imaging.decode import IMAGE_FORMATS, Limits, _check_shape_args, decode_image, preprocess
from explorer.imaging.render import make_grid, png_bytes

REASONS = ("empty file", "unsupported format", "corrupt", "too large", "zip bomb", "unsafe name",
           "corrupt archive", "nested archive", "encrypted", "unreadable", "no class", "duplicate",
           "ignored", "stopped")
_ORIENT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
_DECODE_LOCK = threading.Lock()   # decode_image's warnings filter is process-global; Streamlit sessions are threads


@dataclass(frozen=True)
class UploadLimits(Limits):
    """`images.Limits` plus caps that only archives from strangers need."""
    max_members: int = 100_000       # zip entries, counted from the end record before the directory is parsed
    ratio_min_bytes: int = 1 << 20   # members smaller than this are never called bombs for their ratio alone


@dataclass
class UploadReport:
    images: np.ndarray                          # (N, C, H, W) uint8, re-encoded from decoded pixels
    names: list[str]                            # sanitised display name of each accepted image
    labels: np.ndarray | None                   # (N,) int64 class indices, or None without labels
    class_names: list[str]
    rejected: list[tuple[str, str]]             # (display name, "category: detail")
    notes: list[tuple[str, str]]                # (display name, what was converted) for accepted files
    resolution: int
    channels: int
    fit: str
    stopped: str | None = None                  # set when a cap stopped reading early

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def counts(self) -> dict[str, int]:
        """Rejections per category ('duplicate', 'too large', ...)."""
        return dict(sorted(Counter(r.split(":", 1)[0] for _, r in self.rejected).items()))

    @property
    def note_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(n.split(":", 1)[0] for _, n in self.notes).items()))

    def summary(self) -> str:
        parts = [f"{len(self)} image(s) accepted"]
        if self.rejected:
            kinds = ", ".join(f"{k}: {v}" for k, v in self.counts.items())
            parts.append(f"{len(self.rejected)} left out ({kinds})")
        if self.notes:
            parts.append(f"{len(self.notes)} conversion note(s)")
        if self.class_names:
            parts.append(f"{len(self.class_names)} classes: {', '.join(self.class_names)}")
        return "; ".join(parts)

    def preview(self, n: int = 64, nrow: int | None = None) -> np.ndarray:
        """A grid of the first n accepted images as (H, W, C) uint8 (one pixel of padding if empty)."""
        imgs = self.images[:n].transpose(0, 2, 3, 1)
        if len(imgs) == 0:
            return np.zeros((1, 1, self.channels), dtype=np.uint8)
        return make_grid(imgs, nrow=nrow)

    def preview_png(self, n: int = 64, scale: int = 2) -> bytes:
        return png_bytes(self.preview(n), scale=scale)

    def to_dataset(self, source: str = "upload") -> ImageDataset:
        labels = torch.from_numpy(self.labels) if self.labels is not None else None
        class_counts = dict(sorted(Counter(self.class_names[i] for i in self.labels.tolist()).items())) \
            if self.labels is not None else {}
        desc = _describe(source, len(self), self.resolution, self.channels, self.fit, self.rejected,
                         class_counts, self.stopped)
        return ImageDataset(torch.from_numpy(np.ascontiguousarray(self.images)), labels, list(self.class_names),
                            desc, list(self.rejected))


# ----------------------------------------------------------------------------- names

def display_name(name: str, limit: int = 200) -> str:
    """A client-provided name made safe to show: printable characters only, '\\' as '/', bounded length."""
    s = "".join(c if c.isprintable() else "?" for c in str(name).replace("\\", "/")) or "(no name)"
    return s if len(s) <= limit else "…" + s[-(limit - 1):]


def unsafe_name(name: str) -> str | None:
    """Why a name would escape a folder if it were ever used as a path (zip slip), or None."""
    s = name.replace("\\", "/")
    if "\0" in s:
        return "unsafe name: NUL byte in name"
    if s.startswith("/") or (len(s) > 1 and s[1] == ":" and s[0].isalpha()):
        return "unsafe name: absolute path"
    if ".." in s.split("/"):
        return "unsafe name: '..' in path"
    return None


def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p in ("__MACOSX", "Thumbs.db", "desktop.ini") for p in parts)


# ----------------------------------------------------------------------------- expanding archives

# One candidate: (display name, label parts, declared size, reader returning bytes | reason string)
_Cand = tuple[str, tuple[str, ...], int, "Callable[[], bytes] | str"]


def _is_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def zip_entry_count(data: bytes) -> int | None:
    """Entries a zip declares in its end record (zip64 too), read before Python parses the directory."""
    i = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if i < 0 or i + 22 > len(data):
        return None
    n = struct.unpack_from("<H", data, i + 10)[0]
    if n == 0xFFFF and i >= 20 and data[i - 20:i - 16] == b"PK\x06\x07":
        off = struct.unpack_from("<Q", data, i - 12)[0]
        if data[off:off + 4] == b"PK\x06\x06" and off + 40 <= len(data):
            n = struct.unpack_from("<Q", data, off + 32)[0]
    return n


def _zip_candidates(name: str, data: bytes, limits: UploadLimits) -> Iterator[_Cand]:
    """Members of one uploaded zip as candidates; a bad archive is one candidate with its reason."""
    shown = display_name(name)
    n = zip_entry_count(data)
    if n is None:
        yield shown, (), len(data), "corrupt archive: not a readable zip file (no end-of-archive record)"
        return
    if n > limits.max_members:
        yield shown, (), len(data), f"zip bomb: {n:,} entries (limit {limits.max_members:,})"
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as e:  # BadZipFile, struct errors, NotImplementedError, ...
        yield shown, (), len(data), f"corrupt archive: {e}"
        return
    stem = _parts(name)[-1].rsplit(".", 1)[0] if _parts(name) else "archive"
    files = [i for i in sorted(infos, key=lambda i: i.filename) if not i.is_dir() and _parts(i.filename)]
    if not files:
        yield shown, (), len(data), "empty archive: no files inside"
        return
    for info in files:
        parts = _parts(info.filename)
        label_parts = (*_parts(name)[:-1], stem, *parts)
        member = f"{shown}/{display_name(info.filename)}"
        why = unsafe_name(info.filename)
        if why is None and _hidden(parts):
            why = "ignored: hidden or system file"
        if why is None and info.flag_bits & 0x1:
            why = "encrypted: password-protected zip member"
        if why is None and info.file_size > limits.max_file_bytes:
            why = f"too large: expands to {info.file_size:,} bytes (limit {limits.max_file_bytes:,})"
        ratio = info.file_size / max(info.compress_size, 1)
        if why is None and info.file_size >= limits.ratio_min_bytes and ratio > limits.max_ratio:
            why = f"zip bomb: compression ratio {ratio:.0f}:1 (limit {limits.max_ratio:.0f}:1)"
        if why is None and parts[-1].lower().endswith(".zip"):
            why = "nested archive: archives inside archives are not opened"
        yield member, label_parts, info.file_size, why or (lambda info=info: zf.read(info))


def _candidates(files: list[tuple[str, bytes]], limits: UploadLimits) -> list[_Cand]:
    out: list[_Cand] = []
    for name, data in files:
        name, data = str(name), bytes(data)
        parts = _parts(name)
        if unsafe_name(name):
            out.append((display_name(name), parts, len(data), unsafe_name(name)))
        elif _hidden(parts):
            out.append((display_name(name), parts, len(data), "ignored: hidden or system file"))
        elif data and _is_zip(name, data):
            out.extend(_zip_candidates(name, data, limits))
        else:
            out.append((display_name(name), parts, len(data), lambda data=data: data))
    out.sort(key=lambda c: (c[1], c[0]))
    # A folder or zip that wraps everything is no class: drop common leading parts.
    while out and len({c[1][0] for c in out if c[1]}) == 1 and all(len(c[1]) > 1 for c in out if c[1]):
        out = [(n, p[1:], s, r) for n, p, s, r in out]
    return out


# ----------------------------------------------------------------------------- one image

def _inspect(data: bytes) -> tuple[list[str], int]:
    """Notes on what decoding converted, and the EXIF orientation; header only, never raises."""
    notes, orient = [], 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as im:
                mode, fmt = im.mode, im.format
                if getattr(im, "is_animated", False):
                    notes.append(f"animated {fmt}: first frame used")
                if mode == "CMYK":
                    notes.append("CMYK: converted to RGB")
                if mode.startswith("I;16") or (fmt == "PNG" and len(data) > 24 and data[24] == 16):
                    notes.append("16-bit: scaled to 8-bit")
                elif mode in ("I", "F"):
                    notes.append(f"{mode} (32-bit): scaled to 8-bit")
                if mode in ("P", "PA"):
                    notes.append("palette: converted to full colour")
                if "A" in mode or "a" in mode or "transparency" in im.info:
                    notes.append("alpha: transparency composited onto white")
                if fmt in ("JPEG", "WEBP"):
                    orient = int(im.getexif().get(0x0112, 1) or 1)
                    if orient in _ORIENT:
                        notes.append(f"EXIF orientation {orient}: rotated upright")
    except Exception:
        pass
    return notes, orient


def sniff(data: bytes) -> str | None:
    """The image format the first bytes claim, whatever the file is called."""
    for magic, fmt in ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP")):
        if data.startswith(magic):
            return fmt
    return "WEBP" if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else None


def _decode(data: bytes, name: str, limits: Limits) -> tuple[Image.Image | None, str | None, list[str]]:
    with _DECODE_LOCK:
        img, why = decode_image(data, name, limits.max_pixels, limits.max_side)
        if img is None:
            if why.startswith("unsupported format") and sniff(data):
                why = f"corrupt: starts like a {sniff(data)} file but its header is damaged or truncated"
            return None, why, []
        notes, orient = _inspect(data)
    if orient in _ORIENT:
        img = img.transpose(_ORIENT[orient])
    return img, None, notes


# ----------------------------------------------------------------------------- ingest

def ingest_uploads(files: list[tuple[str, bytes]], *, resolution: int = 64, channels: int = 3,
                   fit: str = "crop", labels: bool = False, limits: Limits | None = None) -> UploadReport:
    """Decode, check, convert, fit and de-duplicate uploaded files (and zip members). Never raises on
    file contents; raises ValueError only for bad arguments. `labels`: top-level folder names become
    classes (files outside any folder are then rejected as 'no class')."""
    _check_shape_args(resolution, channels, fit)
    lim = limits if isinstance(limits, UploadLimits) else UploadLimits(**vars(limits)) if limits else UploadLimits()
    arrays: list[np.ndarray] = []
    names: list[str] = []
    classes: list[str] = []
    rejected: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    by_file: dict[str, str] = {}
    by_pixels: dict[str, str] = {}
    total, read_count, stopped = 0, 0, None
    cands = _candidates(files, lim)
    for i, (name, parts, size, reader) in enumerate(cands):
        why = reader if isinstance(reader, str) else None
        if why is None and size > lim.max_file_bytes:
            why = f"too large: {size:,} bytes (limit {lim.max_file_bytes:,})"
        if why is None and labels and len(parts) < 2:
            why = "no class: not inside a folder (turn labels off, or put each class in its own folder)"
        if why is None:
            if read_count >= lim.max_files:
                stopped = f"stopped: more than {lim.max_files:,} files; {len(cands) - i} were not read"
            elif total + size > lim.max_total_bytes:
                stopped = (f"stopped: more than {lim.max_total_bytes:,} bytes in all; "
                           f"{len(cands) - i} file(s) were not read")
            if stopped:
                rejected.append(("(rest)", stopped))
                break
            read_count += 1
            try:
                data = reader()
                total += len(data)
            except Exception as e:   # bad CRC, unsupported compression, truncated archive, ...
                why = f"unreadable: {e}"
        if why is None:
            digest = hashlib.sha256(data).hexdigest()
            if digest in by_file:
                why = f"duplicate: same file as {by_file[digest]}"
        if why is None:
            img, why, file_notes = _decode(data, name, lim)
        if why is None:
            a = preprocess(img, resolution, channels, fit)                              # (C, H, W) uint8
            pix = hashlib.sha256(a.tobytes()).hexdigest()
            if pix in by_pixels:
                why = f"duplicate: same pixels as {by_pixels[pix]} after resizing"
            else:
                by_pixels[pix] = by_file[digest] = name
                arrays.append(a)
                names.append(name)
                classes.append(parts[0] if parts else "")
                notes.extend((name, n) for n in file_notes)
        if why is not None:
            rejected.append((name, why))
    images = np.stack(arrays) if arrays else np.zeros((0, channels, resolution, resolution), np.uint8)
    class_names = sorted(set(classes)) if labels else []
    y = np.array([class_names.index(c) for c in classes], dtype=np.int64) if labels else None
    return UploadReport(images, names, y, class_names, rejected, notes, resolution, channels, fit, stopped)
