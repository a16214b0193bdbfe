"""Decoding one untrusted image safely, and fitting it to a square training resolution.

The one decode path of every entry point (the app's uploads, `train --data folder|zip`, the job
worker): `decode_image` never raises on hostile input (truncated files, non-images with image
extensions, decompression bombs, odd modes): it returns (image, None) or (None, reason). The
header's size is checked before any pixel is decoded, Pillow's DecompressionBombWarning is
turned into an error as a second line of defence, and EXIF orientation is applied, so a phone
photo stored sideways trains upright whichever way it came in. `decode_with_notes` also says
what was converted (CMYK, 16-bit, palette, alpha, animation, orientation).

    img, why = decode_image(data, "a.jpg")                     # 'L' or 'RGB' image, upright
    img, why, notes = decode_with_notes(data, "a.jpg")         # notes: ["EXIF orientation 6: rotated upright"]
    a = preprocess(img, 64, 3, "crop")                         # (3, 64, 64) uint8
"""

from __future__ import annotations

import io
import struct
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".gif")
FITS = ("crop", "pad")
Background = int | tuple[int, int, int]
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
ORIENTATION_TAG = 0x0112
_ORIENT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
_LOCK = threading.Lock()   # warnings.catch_warnings is process-global; Streamlit sessions are threads


@dataclass(frozen=True)
class Limits:
    max_files: int = 20_000                 # distinct files read per ingestion; the rest are named, not read
    max_file_bytes: int = 20 * 1024**2      # largest single file (zip: declared uncompressed size)
    max_total_bytes: int = 500 * 1024**2    # bytes read in all; reading stops (and says so) past it
    max_ratio: float = 100.0                # zip member uncompressed/compressed ratio above which it is a bomb
    max_pixels: int = 50_000_000            # width * height of one image, checked from the header before decoding
                                            # (a 48-megapixel phone photo, 8000 x 6000, is accepted)
    max_side: int = 12_000                  # longest side of one image, ditto


def sniff(data: bytes) -> str | None:
    """The image format (or "ZIP") the first bytes claim, whatever the file is called."""
    for magic, fmt in ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP")):
        if data.startswith(magic):
            return fmt
    if data[:4] in ZIP_MAGIC:
        return "ZIP"
    return "WEBP" if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else None


def decode_image(data: bytes, name: str = "", max_pixels: int = Limits.max_pixels, max_side: int = Limits.max_side,
                 background: Background = (255, 255, 255)) -> tuple[Image.Image | None, str | None]:
    """Decode untrusted bytes into an upright 'L' or 'RGB' image; (image, None) or (None, reason). Never raises.

    Dimensions are checked from the header before any pixel is decoded; GIFs give their first
    frame; alpha and palette transparency are composited onto `background`; EXIF orientation
    (JPEG, WEBP) is applied.
    """
    img, why, _ = decode_with_notes(data, name, max_pixels, max_side, background)
    return img, why


def decode_with_notes(data: bytes, name: str = "", max_pixels: int = Limits.max_pixels,
                      max_side: int = Limits.max_side, background: Background = (255, 255, 255)
                      ) -> tuple[Image.Image | None, str | None, list[str]]:
    """`decode_image` plus notes on what was converted ("CMYK: converted to RGB", ...). Never raises.
    `name` is only for messages; the bytes decide the format."""
    with _LOCK:
        img, why, notes = _decode(data, max_pixels, max_side, background)
    if why is not None and why.startswith("unsupported format"):
        fmt = sniff(data)
        if fmt == "ZIP":
            why = "unsupported format: a zip archive named like an image (name it .zip to have it opened)"
        elif fmt:
            why = f"corrupt: starts like a {fmt} file but its header is damaged or truncated"
    return img, why, notes


def too_large(size: tuple[int, int] | None, max_pixels: int = Limits.max_pixels,
              max_side: int = Limits.max_side) -> str:
    """The one message for an image over the limits: its (width, height) when known (Pillow refuses the
    largest before telling), and our limits, never Pillow's own number or wording."""
    what = f"{size[0]}x{size[1]} pixels" if size else "far more pixels than allowed"
    return f"too large: {what} (limit {max_pixels:,} pixels, {max_side} per side)"


def _decode(data: bytes, max_pixels: int, max_side: int, background: Background
            ) -> tuple[Image.Image | None, str | None, list[str]]:
    if not data:
        return None, "empty file", []
    try:
        # The header check below is the real guard; this filter only hardens Pillow's own.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                img = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            except (Image.DecompressionBombWarning, Image.DecompressionBombError):
                size = struct.unpack(">II", data[16:24]) if data[:8] == b"\x89PNG\r\n\x1a\n" else None
                return None, too_large(size, max_pixels, max_side), []
            except Exception:
                return None, "unsupported format: not a PNG, JPEG, WEBP, BMP or GIF image", []
            w, h = img.size
            if w < 1 or h < 1:
                return None, f"corrupt: image has size {w}x{h}", []
            if w * h > max_pixels or max(w, h) > max_side:
                return None, too_large((w, h), max_pixels, max_side), []
            try:
                img.load()  # truncated or corrupt data raises here; LOAD_TRUNCATED_IMAGES stays off
            except Exception as e:
                return None, f"corrupt: {e}", []
            notes = _notes(img, data, background)
            orient = _orientation(img)
            out = _to_l_or_rgb(img, background)
            if orient in _ORIENT:
                out = out.transpose(_ORIENT[orient])
                notes.append(f"EXIF orientation {orient}: rotated upright")
            return out, None, notes
    except Exception as e:  # conversion of an exotic mode, MemoryError, ...: still never raise
        return None, f"corrupt: {type(e).__name__}: {e}", []


def _orientation(img: Image.Image) -> int:
    """The EXIF Orientation tag (1..8) of a JPEG or WEBP, 1 when absent or unreadable."""
    if img.format not in ("JPEG", "WEBP"):
        return 1
    try:
        return int(img.getexif().get(ORIENTATION_TAG, 1) or 1)
    except Exception:
        return 1


def colour_name(c: Background) -> str:
    """'white', 'black', 'grey 128' or 'RGB (12, 34, 56)': a background colour in words."""
    r, g, b = (c,) * 3 if isinstance(c, int) else tuple(c)
    if r == g == b:
        return {255: "white", 0: "black"}.get(r, f"grey {r}")
    return f"RGB ({r}, {g}, {b})"


def _notes(img: Image.Image, data: bytes, background: Background = (255, 255, 255)) -> list[str]:
    """What converting this opened image to L/RGB changes, in words."""
    notes, mode, fmt = [], img.mode, img.format
    if getattr(img, "is_animated", False):
        notes.append(f"animated {fmt}: first frame used")
    if mode == "CMYK":
        notes.append("CMYK: converted to RGB")
    if mode.startswith("I;16") or (fmt == "PNG" and len(data) > 24 and data[24] == 16):
        notes.append("16-bit: scaled to 8-bit")
    elif mode in ("I", "F"):
        notes.append(f"{mode} (32-bit): scaled to 8-bit")
    if mode in ("P", "PA"):
        notes.append("palette: converted to full colour")
    if "A" in mode or "a" in mode or "transparency" in img.info:
        notes.append(f"alpha: transparency composited onto {colour_name(background)}")
    return notes


def _to_l_or_rgb(img: Image.Image, background: Background) -> Image.Image:
    """Any Pillow mode -> 'L' or 'RGB' (alpha composited onto `background`, 16-bit scaled to 8)."""
    mode = img.mode
    if mode in ("L", "RGB") and "transparency" not in img.info:
        return img
    if mode == "1":
        return img.convert("L")
    if mode.startswith("I") or mode == "F":
        a = np.asarray(img, dtype=np.float64)
        if mode == "F" and a.size and np.nanmax(a) <= 1.0:
            a = a * 255.0                            # float image in [0, 1]
        elif mode.startswith("I;16") or (mode != "F" and a.size and a.max() > 255):
            a = a * (255.0 / 65535.0)                # 16-bit range
        return Image.fromarray(np.nan_to_num(a).round().clip(0, 255).astype(np.uint8), "L")
    if "A" in mode or "a" in mode or "transparency" in img.info:
        rgba = img.convert("RGBA")
        bg = (background,) * 3 if isinstance(background, int) else tuple(background)
        base = Image.new("RGBA", rgba.size, (*bg, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return img.convert("RGB")                        # P, CMYK, YCbCr, LAB, HSV


def preprocess(img: Image.Image, resolution: int, channels: int, fit: str = "crop",
               background: Background | None = None) -> np.ndarray:
    """Square (centre crop, or pad with `background`; None = median border colour), resize with
    LANCZOS, convert to L or RGB. Returns (C, H, W) uint8."""
    check_shape_args(resolution, channels, fit)
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    if fit == "crop":
        s = min(w, h)
        box = ((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2)
        img = img.resize((resolution, resolution), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    else:
        if background is None:
            a = np.asarray(img).reshape(h, w, -1)
            border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])                  # (2W + 2H, C)
            fill = tuple(int(v) for v in np.median(border, axis=0))
        else:
            fill = (background,) * 3 if isinstance(background, int) else tuple(background)
        s = max(w, h)
        square = Image.new(img.mode, (s, s), fill[0] if channels == 1 else fill)
        square.paste(img, ((s - w) // 2, (s - h) // 2))
        img = square.resize((resolution, resolution), Image.Resampling.LANCZOS, reducing_gap=3.0)
    a = np.asarray(img, dtype=np.uint8).reshape(resolution, resolution, channels)     # (H, W, C)
    return np.ascontiguousarray(a.transpose(2, 0, 1))                                  # (C, H, W)


def check_shape_args(resolution: int, channels: int, fit: str) -> None:
    """Raise ValueError unless resolution is 1..1024, channels 1 or 3 and fit one of FITS."""
    if not 1 <= resolution <= 1024:
        raise ValueError(f"resolution must be in 1..1024, not {resolution}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, not {fit!r}")
