"""One ingestion core for every way images arrive: browser uploads, `train --data folder|zip`, job workers.

Sources only list entries (`file_entries` for uploaded (name, bytes) pairs, `folder_entries` for a
folder on disk, `zip_entries` for a .zip given as the dataset); `ingest` applies the same rules and
gives the same "category: detail" reasons (`REASONS`) whichever way a file came in:

* names are untrusted labels, never paths: NFC-normalised (a macOS "café" is the same class as
  any other), unsafe ones (`../x.png`, `/abs.png`, `..\\x.png`, `C:\\x.png`, NUL) rejected as
  "unsafe name", hidden and system files "ignored";
* a .zip (or a file with no image suffix that starts like one) is read in memory and never
  extracted, under caps (entries, expanded size, compression ratio); archives inside archives
  are not opened ("nested archive");
* every image goes through `explorer.imaging.decode` (EXIF orientation, modes, bombs);
* budget: at most `Limits.max_files` distinct files and `max_total_bytes` bytes are read; exact
  and pixel duplicates do not use the file budget; every file past the budget is named with
  its reason ("not read: ..."), and `Ingested.stopped` says why reading stopped.

    from explorer.data.ingest import file_entries, ingest
    out = ingest(file_entries([("cats/a.png", data)]), resolution=64, channels=3, labels=True)
    out.images, out.names, out.classes, out.rejected, out.notes, out.stopped
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from explorer.data.archives import Entry, UploadLimits, archive_entries, display_name, hidden, name_parts, unsafe_name
from explorer.imaging.decode import (
    IMAGE_SUFFIXES,
    ZIP_MAGIC,
    Limits,
    check_shape_args,
    decode_with_notes,
    preprocess,
    sniff,
)

REASONS = ("empty file", "unsupported format", "corrupt", "too large", "zip bomb", "unsafe name",
           "corrupt archive", "empty archive", "nested archive", "encrypted", "unreadable", "no class",
           "duplicate", "ignored", "not read")


@dataclass
class Ingested:
    images: np.ndarray                       # (N, C, H, W) uint8, re-encoded from decoded pixels
    names: list[str]                         # display name of each accepted image
    classes: list[str]                       # (N,) class folder of each image ("" outside any folder)
    rejected: list[tuple[str, str]]          # (display name, "category: detail"), one per file left out
    notes: list[tuple[str, str]]             # (display name, what was converted) for accepted files
    stopped: str | None                      # why reading stopped early (and how many were not read), or None


def as_limits(limits: Limits | None) -> UploadLimits:
    """Any Limits (or None) as the UploadLimits the core applies."""
    if isinstance(limits, UploadLimits):
        return limits
    return UploadLimits(**vars(limits)) if limits is not None else UploadLimits()


def _is_archive(name: str, head: Callable[[], bytes]) -> bool:
    """A .zip by name, or a file without an image suffix whose first bytes are a zip's."""
    low = name.lower()
    if low.endswith(".zip"):
        return True
    if low.endswith(IMAGE_SUFFIXES):
        return False
    return head()[:4] in ZIP_MAGIC


# ----------------------------------------------------------------------------- sources

def file_entries(files: Iterable[tuple[str, bytes]], limits: Limits | None = None) -> list[Entry]:
    """Uploaded (client name, bytes) pairs, top-level archives expanded; names may hold folders."""
    lim, out = as_limits(limits), []
    for raw_name, raw in files:
        name, data = str(raw_name), bytes(raw)
        shown, parts = display_name(name), name_parts(name)
        why = unsafe_name(name) or ("ignored: hidden or system file" if hidden(parts) else None)
        if why is not None:
            out.append(Entry(shown, parts, len(data), None, why))
        elif data and _is_archive(name, _bytes_reader(data[:4])):
            out.extend(archive_entries(shown, (*parts[:-1], _stem(parts)), io.BytesIO(data), len(data), lim))
        else:
            out.append(Entry(shown, parts, len(data), _bytes_reader(data)))
    return out


def _bytes_reader(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def folder_entries(root: str | os.PathLike, limits: Limits | None = None,
                   stack: contextlib.ExitStack | None = None) -> list[Entry]:
    """Every file under `root` (recursive; links are not followed out of it), archives expanded.
    Archives found in it stay open in `stack` until it closes (pass one that outlives `ingest`)."""
    lim, root = as_limits(limits), Path(root)
    stack = stack if stack is not None else contextlib.ExitStack()
    real_root = root.resolve()
    out: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root).parts
        for d in sorted(dirnames):
            parts = name_parts("/".join((*rel, d)))
            if hidden(parts[-1:]) or (Path(dirpath) / d).is_symlink():
                why = ("ignored: hidden or system folder" if hidden(parts[-1:])
                       else "ignored: a link to a folder (links are not followed)")
                out.append(Entry(display_name("/".join(parts)) + "/", parts, 0, None, why))
        dirnames[:] = sorted(d for d in dirnames if not hidden((d,)) and not (Path(dirpath) / d).is_symlink())
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            parts = name_parts("/".join((*rel, fname)))
            shown = display_name("/".join(parts))
            if hidden(parts):
                out.append(Entry(shown, parts, 0, None, "ignored: hidden or system file"))
                continue
            try:
                real = path.resolve()
                inside = real.is_relative_to(real_root)
                size = real.stat().st_size if inside and real.is_file() else -1
            except (OSError, RuntimeError) as e:   # vanished, permission, symlink loop
                out.append(Entry(shown, parts, 0, None, f"unreadable: {e}"))
                continue
            if size < 0:
                why = ("unsafe name: a link that leads outside the folder" if not inside
                       else "unreadable: not a regular file")
                out.append(Entry(shown, parts, 0, None, why))
                continue

            def head(real: Path = real) -> bytes:
                with open(real, "rb") as f:
                    return f.read(4)
            try:
                archive = _is_archive(fname, head)
                if archive:
                    f: BinaryIO = stack.enter_context(open(real, "rb"))  # noqa: SIM115 (closed by the stack)
            except OSError as e:
                out.append(Entry(shown, parts, size, None, f"unreadable: {e}"))
                continue
            if archive:
                out.extend(archive_entries(shown, (*parts[:-1], _stem(parts)), f, size, lim))
            else:
                out.append(Entry(shown, parts, size, _file_reader(real, lim.max_file_bytes)))
    return out


def zip_entries(path: str | os.PathLike, limits: Limits | None = None,
                stack: contextlib.ExitStack | None = None) -> list[Entry]:
    """The members of one .zip given as the dataset itself (the archive is the root, not a class); the file
    stays open in `stack` until it closes."""
    lim, path = as_limits(limits), Path(path)
    stack = stack if stack is not None else contextlib.ExitStack()
    f = stack.enter_context(open(path, "rb"))  # noqa: SIM115 (closed by the stack)
    return list(archive_entries("", (), f, path.stat().st_size, lim))


def _stem(parts: tuple[str, ...]) -> str:
    return parts[-1].rsplit(".", 1)[0] if parts else "archive"


def _file_reader(real: Path, cap: int) -> Callable[[], bytes]:
    def read() -> bytes:
        with open(real, "rb") as f:
            return f.read(cap + 1)                 # one byte more tells a file that grew past the cap
    return read


def strip_wrappers(entries: list[Entry]) -> list[Entry]:
    """Drop leading folder levels every usable entry shares (a folder or zip that wraps everything is no class)."""
    usable = [e.parts for e in entries if e.reason is None and e.parts]
    n = 0
    while usable and all(len(p) > n + 1 for p in usable) and len({p[n] for p in usable}) == 1:
        n += 1
    if n == 0:
        return entries
    prefix = usable[0][:n]
    return [Entry(e.name, e.parts[n:], e.size, e.read, e.reason, e.in_archive) if e.parts[:n] == prefix else e
            for e in entries]


# ----------------------------------------------------------------------------- the core

def ingest(entries: Iterable[Entry], *, resolution: int, channels: int, fit: str = "crop", labels: bool = False,
           limits: Limits | None = None) -> Ingested:
    """Decode, check, convert, fit and de-duplicate entries. Never raises on file contents; ValueError only for
    bad arguments. `labels`: the first folder level is the class (files outside any folder: "no class")."""
    check_shape_args(resolution, channels, fit)
    lim = as_limits(limits)
    todo = strip_wrappers(sorted(entries, key=lambda e: (e.parts, e.name)))
    arrays: list[np.ndarray] = []
    names: list[str] = []
    classes: list[str] = []
    rejected: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    by_file: dict[str, str] = {}                  # sha256 of every file read -> its first name
    by_pixels: dict[str, str] = {}
    read_count, total, not_read, stop_why = 0, 0, 0, None
    for e in _checked(todo, lim, labels):
        why, data = e.reason, b""
        if why is None and stop_why is None:
            if read_count >= lim.max_files:
                stop_why = f"more than {lim.max_files:,} files"
            elif total + e.size > lim.max_total_bytes:
                stop_why = f"more than {lim.max_total_bytes:,} bytes in all"
        if why is None and stop_why is not None:
            why = f"not read: {stop_why}"
            not_read += 1
        if why is None:
            data, why = _read(e, lim)
            digest = hashlib.sha256(data).hexdigest()
            if why is None and digest in by_file:
                why = f"duplicate: same file as {by_file[digest]}"              # exact copies are free
            else:
                if why is None:
                    by_file[digest] = e.name
                read_count, total = read_count + 1, total + len(data)
        if why is None and e.in_archive and sniff(data) == "ZIP":
            why = "nested archive: archives inside archives are not opened"
        if why is None:
            img, why, file_notes = decode_with_notes(data, e.name, lim.max_pixels, lim.max_side)
        if why is None and img is not None:
            a = preprocess(img, resolution, channels, fit)                             # (C, H, W) uint8
            pix = hashlib.sha256(a.tobytes()).hexdigest()
            if pix in by_pixels:
                why = f"duplicate: same pixels as {by_pixels[pix]} after resizing"
                read_count -= 1                                                       # duplicates are free
            else:
                by_pixels[pix] = e.name
                arrays.append(a)
                names.append(e.name)
                classes.append(e.parts[0] if len(e.parts) > 1 else "")
                notes.extend((e.name, n) for n in file_notes)
        if why is not None:
            rejected.append((e.name, why))
    images = np.stack(arrays) if arrays else np.zeros((0, channels, resolution, resolution), np.uint8)
    stopped = f"stopped: {stop_why}; {not_read:,} file(s) were not read" if stop_why and not_read else None
    return Ingested(images, names, classes, rejected, notes, stopped)


def _read(e: Entry, lim: UploadLimits) -> tuple[bytes, str | None]:
    try:
        data = e.read() if e.read is not None else b""
    except Exception as ex:   # bad CRC, unsupported compression, a file that vanished, ...
        return b"", f"unreadable: {ex}"
    if len(data) > lim.max_file_bytes:                                            # grew since it was listed
        return b"", f"too large: over {lim.max_file_bytes:,} bytes"
    return data, None


def _checked(entries: list[Entry], lim: UploadLimits, labels: bool) -> Iterator[Entry]:
    """Entries with the reasons that need no reading filled in (size caps, no class)."""
    for e in entries:
        why = e.reason
        if why is None and e.size > lim.max_file_bytes:
            why = f"too large: {e.size:,} bytes (limit {lim.max_file_bytes:,})"
        if why is None and labels and len(e.parts) < 2:
            why = "no class: not inside a class folder (each class needs its own folder)"
        yield e if why == e.reason else Entry(e.name, e.parts, e.size, None, why, e.in_archive)
