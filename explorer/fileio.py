"""Atomic file writes, locked read-modify-write updates, and content hashes.

Every file the project writes that another process may read (checkpoints, model cards,
job state, metric logs) goes through here: write to a temporary file in the same folder,
flush and fsync, then `os.replace` it over the target, so a reader sees the old file or
the new one, never half of one. A full disk raises `OSError` and leaves the old file intact.

A shared file that is read, changed and written back (direction names, the speed cache) must
use `locked_update`: an exclusive `fcntl.flock` on a sidecar `.<name>.lock` file serialises
the whole read-modify-write across threads (each call opens its own descriptor) and processes,
so two sessions saving at the same moment both keep their change.

    fileio.atomic_write_json(path, obj)
    names = fileio.locked_update(path, lambda d: {**d, "3": "smile"}, default={})

JSON from outside the program (uploaded recipes, links, job specs, metric files) is parsed with
`loads_json`, which turns every way such text can fail (bad syntax, bad UTF-8, nesting deep enough
to raise RecursionError) into one ValueError:

    obj = fileio.loads_json(upload_bytes, "the recipe")

File sizes in messages are `megabytes(n)` (MB of 1024 x 1024 bytes, as the upload boxes state them).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import save as st_save


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)                      # mkstemp makes 0600; these files are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as pretty JSON atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor],
                        metadata: dict[str, str] | None = None) -> str:
    """Save tensors as safetensors atomically; return the file's sha256 hex digest."""
    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    data = st_save(flat, metadata=metadata)
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


T = TypeVar("T")


def lock_path(path: str | os.PathLike) -> Path:
    """The sidecar lock file of `path` (hidden, in the same folder, never replaced)."""
    p = Path(path)
    return p.with_name(f".{p.name}.lock")


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on `path`'s sidecar lock file (blocks until it is free). Works across
    threads and processes on one machine (flock; each call opens its own file description)."""
    lp = lock_path(path)
    lp.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                              # closing the descriptor releases the lock


def locked_update(path: str | os.PathLike, fn: Callable[[Any], T], default: Any = None) -> T:
    """Read JSON at `path` (`default` if missing or unreadable), write `fn(value)` back atomically, and
    return it, all under `file_lock(path)`: concurrent updates from threads or processes never lose one.
    `fn` may change the value in place and return it; it should not block (other writers wait)."""
    with file_lock(path):
        try:
            value = loads_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            value = copy.deepcopy(default)
        new = fn(value)
        atomic_write_json(path, new)
        return new


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def loads_json(data: str | bytes | bytearray, what: str = "the file", error: type[Exception] = ValueError) -> Any:
    """Parse untrusted JSON text; raise `error` ("<what> is not valid JSON (...)") for anything that is
    not usable JSON: syntax errors, undecodable bytes, wrong types, and nesting so deep that
    Python's parser raises RecursionError (e.g. `"[" * 100000 + "]" * 100000`), and integers longer than
    Python converts (4,300 digits)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise error(f"{what} is not usable JSON (it is nested too deeply)") from None
    except ValueError as e:
        if "int_max_str_digits" in str(e) or "integer string conversion" in str(e):
            raise error(f"{what} is not usable JSON (it holds a number with thousands of digits)") from None
        raise error(f"{what} is not valid JSON ({e})") from None
    except TypeError as e:
        raise error(f"{what} is not valid JSON ({e})") from None


def read_json_object(path: str | os.PathLike, what: str, error: type[Exception] = ValueError) -> dict:
    """Parse a JSON file that must hold an object; raise `error` with a sentence a person can act on."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{path.name} is not valid JSON ({e}); the file is corrupt or not {what}") from None
    obj = loads_json(text, path.name, error)
    if not isinstance(obj, dict):
        raise error(f"{path.name} is not {what} (expected a JSON object)")
    return obj


def human_size(n: int) -> str:
    """A file's size for a label, in the unit that reads best (1024-based, as `megabytes`): '812 bytes',
    '14 KB', '3.2 MB', '1.1 GB'."""
    if n < 1024:
        return f"{n} byte{'s' if n != 1 else ''}"
    for unit, k in (("KB", 1), ("MB", 2), ("GB", 3)):
        v = n / 1024 ** k
        if v < 1024 or unit == "GB":
            return f"{v:.0f} {unit}" if v >= 10 else f"{v:.1f} {unit}"
    raise AssertionError("unreachable")


def megabytes(n: int) -> str:
    """A byte count as the upload boxes state their limits: MB of 1024 x 1024 bytes, e.g. '20 MB', '16.9 MB'."""
    mb = n / 1024 ** 2
    return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
