"""Untrusted names and zip archives, for the ingestion core (`explorer.data.ingest`).

Names from a browser, a folder or a zip are labels and display strings, never paths: NFC-normalised
(macOS writes "café" decomposed; it is the same class), shown with printable characters only, and
rejected when they would escape a folder if ever used as one (zip slip). Zips are read in memory
(or from an open file), never extracted; their entry count is read from the end record before
Python parses the directory, and each member is checked (name, encryption, size, compression
ratio, nesting) before a byte of it is read.

    for e in archive_entries("photos.zip", ("photos",), io.BytesIO(data), len(data), UploadLimits()):
        e.name, e.parts, e.reason or e.read()
"""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from explorer.imaging.decode import Limits

HIDDEN_NAMES = ("__MACOSX", "Thumbs.db", "desktop.ini")
UTF8_FLAG = 0x800                       # zip general-purpose flag bit 11: the name is UTF-8


@dataclass(frozen=True)
class UploadLimits(Limits):
    """`decode.Limits` plus caps that only archives from strangers need."""
    max_members: int = 100_000       # zip entries, counted from the end record before the directory is parsed
    ratio_min_bytes: int = 1 << 20   # members smaller than this are never called bombs for their ratio alone


@dataclass
class Entry:
    """One file as a source lists it, before anything is read."""
    name: str                                  # display name (NFC, printable, '/' separators)
    parts: tuple[str, ...]                     # label parts: folders, then the file name (NFC)
    size: int                                  # bytes (zip members: the declared uncompressed size)
    read: Callable[[], bytes] | None           # returns the bytes; None when `reason` is set
    reason: str | None = None                  # "category: detail" when it is left out without reading
    in_archive: bool = False                   # a zip member (archives inside it are not opened)


# ----------------------------------------------------------------------------- names

def nfc(s: str) -> str:
    """Unicode NFC (composed) form: "cafe\\u0301" -> "caf\\u00e9"."""
    return unicodedata.normalize("NFC", s)


def display_name(name: str, limit: int = 200) -> str:
    """A client-provided name made safe to show: NFC, printable characters only, '\\' as '/', bounded length."""
    s = "".join(c if c.isprintable() else "?" for c in nfc(str(name)).replace("\\", "/")) or "(no name)"
    return s if len(s) <= limit else "…" + s[-(limit - 1):]


def unsafe_name(name: str) -> str | None:
    """Why a name would escape a folder if it were ever used as a path (zip slip), or None."""
    s = str(name).replace("\\", "/")
    if "\0" in s:
        return "unsafe name: NUL byte in name"
    if s.startswith("/") or (len(s) > 1 and s[1] == ":" and s[0].isalpha()):
        return "unsafe name: absolute path"
    if ".." in s.split("/"):
        return "unsafe name: '..' in path"
    return None


def name_parts(name: str) -> tuple[str, ...]:
    """The NFC folder and file parts of a name ('' and '.' dropped; '\\' separates too)."""
    return tuple(nfc(p) for p in str(name).replace("\\", "/").split("/") if p not in ("", "."))


def hidden(parts: tuple[str, ...]) -> bool:
    """Whether any part is a hidden or system file or folder (.DS_Store, __MACOSX, Thumbs.db, ...)."""
    return any(p.startswith(".") or p in HIDDEN_NAMES for p in parts)


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its writer meant it: zips without the UTF-8 flag whose cp437 reading is valid
    UTF-8 (many zip tools write UTF-8 and set no flag) are read as UTF-8."""
    name = info.filename
    if not info.flag_bits & UTF8_FLAG:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


# ----------------------------------------------------------------------------- zips

def zip_entry_count(data: bytes | BinaryIO) -> int | None:
    """Entries a zip declares in its end record (zip64 too), read before Python parses the directory."""
    f: BinaryIO = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    size = f.seek(0, 2)
    start = max(0, size - 65_557)
    f.seek(start)
    tail = f.read()
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or i + 22 > len(tail):
        return None
    n = struct.unpack_from("<H", tail, i + 10)[0]
    if n == 0xFFFF and i >= 20 and tail[i - 20:i - 16] == b"PK\x06\x07":
        off = struct.unpack_from("<Q", tail, i - 12)[0]
        f.seek(off)
        rec = f.read(40)
        if rec[:4] == b"PK\x06\x06" and len(rec) == 40:
            n = struct.unpack_from("<Q", rec, 32)[0]
    return n


def archive_entries(shown: str, prefix: tuple[str, ...], f: BinaryIO, size: int,
                    limits: UploadLimits) -> Iterator[Entry]:
    """The members of one zip as entries named "<shown>/<member>" with label parts prefix + member parts;
    a bad archive is one entry with its reason. `f` must stay open while the entries are read."""
    whole = shown or "(archive)"
    n = zip_entry_count(f)
    if n is None:
        yield Entry(whole, prefix, size, None, "corrupt archive: not a readable zip file (no end-of-archive record)")
        return
    if n > limits.max_members:
        yield Entry(whole, prefix, size, None, f"zip bomb: {n:,} entries (limit {limits.max_members:,})")
        return
    try:
        f.seek(0)
        zf = zipfile.ZipFile(f)
        infos = zf.infolist()
    except Exception as e:  # BadZipFile, struct errors, NotImplementedError, ...
        yield Entry(whole, prefix, size, None, f"corrupt archive: {e}")
        return
    files = [(member_name(i), i) for i in infos if not i.is_dir()]
    files = [(m, i) for m, i in files if name_parts(m)]
    if not files:
        yield Entry(whole, prefix, size, None, "empty archive: no files inside")
        return
    for member, info in sorted(files, key=lambda mi: mi[0]):
        parts = name_parts(member)
        name = f"{shown}/{display_name(member)}" if shown else display_name(member)
        why = _member_reason(member, parts, info, limits)
        read = None if why else (lambda info=info: zf.read(info))      # ZipExtFile checks size and CRC
        yield Entry(name, (*prefix, *parts), info.file_size, read, why, in_archive=True)


def _member_reason(member: str, parts: tuple[str, ...], info: zipfile.ZipInfo, limits: UploadLimits) -> str | None:
    """Why a member is left out before it is read, or None."""
    why = unsafe_name(member)
    if why is None and hidden(parts):
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
    return why
