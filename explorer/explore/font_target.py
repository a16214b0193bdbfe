"""A font as a projection target for a glyph-stack model: an installed font, or an uploaded .ttf/.otf.

Its 62 glyphs are rendered exactly as the fonts dataset renders them (explorer/data/fontrender.py:
same scale, baseline and centring), giving the (64, 64, 62) uint8 ink stack a font model makes. An
upload is checked before FreeType sees it: a size limit, the file signature, and a full parse with
fontTools (every table decompiled); a broken or hostile file gets a sentence, never an exception.

    stack, why = uploaded_font_glyphs(data, "MyFont.otf")     # (64, 64, 62) uint8, or (None, reason)
    fonts = installed_fonts()                                  # [Path, ...] under the system font folders
    stack, why = font_file_glyphs(fonts[0])
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from explorer.fileio import megabytes

FONT_MAX_BYTES = 15 * 1024 ** 2          # the largest font file accepted (CJK fonts are bigger: not ours)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
UPLOAD_TYPES = ("ttf", "otf", "ttc", "otc", "woff", "woff2")   # what "start from a font" accepts
_SIGNATURES = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")
_WEB_SIGNATURES = (b"wOFF", b"wOF2")       # WOFF 1 (zlib) and WOFF 2 (Brotli) web fonts
WEB_MAX_RATIO = 4                          # a web font may unpack to at most this many times the size limit


def installed_fonts(dirs: tuple[str, ...] = FONT_DIRS, limit: int = 5000) -> list[Path]:
    """TrueType/OpenType files under the server's font folders, sorted by name (at most `limit`)."""
    found: list[Path] = []
    for d in dirs:
        root = Path(d)
        if root.is_dir():
            found += [p for p in root.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file()]
    return sorted(set(found), key=lambda p: (p.name.lower(), str(p)))[:limit]


def _stack(path: str | os.PathLike) -> tuple[np.ndarray | None, str | None]:
    from explorer.data.fontrender import FaceRejected, render_face
    try:
        r = render_face(Path(path))
    except FaceRejected as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - FreeType's own errors on a file fontTools accepted
        return None, f"FreeType could not render it ({type(e).__name__}: {str(e)[:120]})"
    return np.ascontiguousarray(r.glyphs.transpose(1, 2, 0)), None               # (64, 64, 62)


def font_file_glyphs(path: str | os.PathLike) -> tuple[np.ndarray | None, str | None]:
    """An installed font's glyph stack (64, 64, 62) uint8 ink, or (None, a reason)."""
    return _stack(path)


def check_font_bytes(data: bytes) -> str | None:
    """None when `data` parses as a TrueType/OpenType font (every table), else the reason it does not."""
    if not data:
        return "the file is empty"
    if len(data) > FONT_MAX_BYTES:
        return f"the file is too large: {megabytes(len(data))} (the limit is {megabytes(FONT_MAX_BYTES)})"
    if data[:4] not in _SIGNATURES:
        return ("not a TrueType, OpenType or WOFF font (.ttf, .otf, .ttc, .otc, .woff, .woff2): the file does not "
                "start like one")
    from fontTools.ttLib import TTFont
    try:
        font = TTFont(io.BytesIO(data), lazy=False, fontNumber=0)
        tags = font.keys()
        for tag in tags:                          # decompile every table: a truncated or corrupt one raises here
            font[tag]
        if "cmap" not in font or font["cmap"].getBestCmap() is None:
            return "the font has no character map (cmap): no letters can be looked up"
    except Exception as e:  # noqa: BLE001 - fontTools raises many types on broken files
        detail = str(e)[:120] or "unreadable"
        cut = re.search(r"unexpected end of '([^']{1,4})' table", detail)
        if cut:                                   # fontTools' offsets and byte counts mean nothing to a designer
            return f"a broken font file: it is cut short (its {cut.group(1).strip()!r} table ends early)"
        plain = "it is cut short" if "unexpected end" in detail or isinstance(e, EOFError) else "it is damaged"
        return f"a broken font file: {plain} (fontTools: {type(e).__name__}: {detail})"
    return None


def unpack_web_font(data: bytes) -> tuple[bytes | None, str | None]:
    """A WOFF or WOFF2 web font's bytes -> (the plain TrueType/OpenType font inside, None) or (None, why); any
    other bytes come back as they are. The size it declares unpacked is checked before it is unpacked
    (at most WEB_MAX_RATIO x FONT_MAX_BYTES: no zip bomb in a font). Never raises for bad input."""
    if data[:4] not in _WEB_SIGNATURES:
        return data, None
    if len(data) > FONT_MAX_BYTES:
        return None, f"the file is too large: {megabytes(len(data))} (the limit is {megabytes(FONT_MAX_BYTES)})"
    declared = int.from_bytes(data[16:20], "big") if len(data) >= 20 else 0     # totalSfntSize, both versions
    if declared > WEB_MAX_RATIO * FONT_MAX_BYTES:
        return None, f"the web font says it unpacks to {megabytes(declared)}: too large to open"
    from fontTools.ttLib import TTFont
    try:
        font = TTFont(io.BytesIO(data), lazy=False)
        font.flavor = None                        # write the tables out as a plain sfnt
        out = io.BytesIO()
        font.save(out)
    except Exception as e:  # noqa: BLE001 - fontTools (zlib, brotli) raise many types on broken files
        kind = "WOFF2" if data[:4] == b"wOF2" else "WOFF"
        return None, f"a broken {kind} web font ({type(e).__name__}: {str(e)[:120] or 'unreadable'})"
    return out.getvalue(), None


def uploaded_font_glyphs(data: bytes, name: str = "") -> tuple[np.ndarray | None, str | None]:
    """An uploaded font's glyph stack (64, 64, 62) uint8 ink, or (None, a reason). Never raises for bad input.
    `name` is the client's file name, used for nothing but its suffix (never as a path). A WOFF or WOFF2
    web font is unpacked first (`unpack_web_font`)."""
    unpacked, why = unpack_web_font(data)
    if unpacked is None:
        return None, why
    data = unpacked
    why = check_font_bytes(data)
    if why:
        return None, why
    suffix = ".otf" if data[:4] == b"OTTO" else ".ttf"
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="upload-font-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return _stack(tmp)
    finally:
        os.unlink(tmp)
