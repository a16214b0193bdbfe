"""Atomic file writes and content hashes.

Every file the project writes that another process may read (checkpoints, model cards,
job state, metric logs) goes through here: write to a temporary file in the same folder,
flush and fsync, then `os.replace` it over the target, so a reader sees the old file or
the new one, never half of one. A full disk raises `OSError` and leaves the old file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

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


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json_object(path: str | os.PathLike, what: str, error: type[Exception] = ValueError) -> dict:
    """Parse a JSON file that must hold an object; raise `error` with a sentence a person can act on."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise error(f"{path.name} is not valid JSON ({e}); the file is corrupt or not {what}") from None
    if not isinstance(obj, dict):
        raise error(f"{path.name} is not {what} (expected a JSON object)")
    return obj

