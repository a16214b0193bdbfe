"""Frames and animations: ws -> uint8 frames -> resized -> GIF / MP4 / PNG bytes. Pure, no UI.

    frames = render_frames(G, ws)                         # (N, H, W, C) uint8
    frames = resize_frames(frames, 256, smooth=False)     # crisp pixels
    gif = gif_bytes(frames, fps=12); mp4 = mp4_bytes(frames, fps=24)

GIF: one palette for the whole animation (no colour flicker), every frame kept (Pillow merges
identical consecutive frames; we keep the count by aliasing one palette entry). MP4: H.264
yuv420p, which needs even sides: odd sides are padded by one repeated row/column.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from explorer.imaging.render import png_bytes, to_uint8

if TYPE_CHECKING:                   # a type only: imaging never imports gan at run time
    from explorer.gan.protocol import Generator

__all__ = ["render_frames", "resize_frames", "gif_bytes", "mp4_bytes", "even_size", "animation_bytes",
           "frame_count_and_size", "png_bytes", "data_url"]               # png_bytes: render's, re-exported

GIF_MIN_MS = 20       # browsers slow down GIF frames shorter than 20 ms to 100 ms


@torch.inference_mode()
def render_frames(G: Generator, ws: torch.Tensor, batch: int = 32) -> np.ndarray:
    """ws (N, num_ws, w_dim) or (N, w_dim) -> uint8 frames (N, H, W, C), rendered `batch` at a time."""
    dev = G.w_avg.device
    out = [to_uint8(G.synthesis(ws[i:i + batch].to(dev))) for i in range(0, ws.shape[0], batch)]
    return np.concatenate(out) if out else np.zeros((0, G.cfg.resolution, G.cfg.resolution, G.cfg.channels), np.uint8)


def data_url(data: bytes, mime: str = "image/png") -> str:
    """`data:<mime>;base64,...` (RFC 2397): an image carried inside the page instead of a URL to fetch.

    The app shows images that change on every slider move this way: Streamlit's media store deletes
    a replaced image when the next run ends, so a browser still fetching it got a 404."""
    import base64
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _pil(frame: np.ndarray) -> Image.Image:
    return Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)


def resize_frames(frames: np.ndarray, size: int | tuple[int, int], smooth: bool = False) -> np.ndarray:
    """(N, H, W, C) -> (N, height, width, C); size is a side or (width, height); nearest or Lanczos."""
    w, h = (size, size) if isinstance(size, int) else size
    if frames.shape[1:3] == (h, w):
        return frames
    res = Image.Resampling.LANCZOS if smooth else Image.Resampling.NEAREST
    out = np.stack([np.asarray(_pil(f).resize((w, h), res)) for f in frames])
    return out.reshape(len(frames), h, w, frames.shape[-1])


def _rgb(frames: np.ndarray) -> np.ndarray:
    return np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames


def _palettize(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, C) uint8 -> palette indices (N, H, W) in 0..254 and one (256, 3) palette for all frames."""
    if frames.shape[-1] == 1:                            # grayscale: 255 evenly spaced levels, error <= 1/2
        levels = np.round(np.arange(255) * 255 / 254).astype(np.uint8)
        lut = np.round(np.arange(256) * 254 / 255).astype(np.uint8)
        return lut[frames[..., 0]], np.repeat(np.append(levels, levels[-1]), 3).reshape(256, 3)
    step = max(1, len(frames) // 32)                     # median cut over up to 32 frames
    sample = Image.fromarray(np.concatenate(list(frames[::step][:32]), axis=0))
    pal_img = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    full = pal_img.getpalette()
    assert full is not None                              # a quantized image always has a palette
    pal = full[:3 * 255]
    used = len(pal) // 3
    pal += pal[-3:] * (256 - used)                       # padding repeats the last colour
    pal_img.putpalette(pal)
    idx = np.stack([np.asarray(Image.fromarray(f).quantize(palette=pal_img, dither=Image.Dither.NONE))
                    for f in frames])
    return np.minimum(idx, used - 1), np.array(pal, dtype=np.uint8).reshape(256, 3)


def gif_bytes(frames: np.ndarray, fps: float, loop: bool = True) -> bytes:
    """Animated GIF of (N, H, W, C) uint8 frames at `fps` (capped at 50), looping forever or playing once."""
    if len(frames) == 0:
        raise ValueError("no frames to encode")
    indices, base_pal = _palettize(frames)               # entry 255 is kept free for the alias below
    images: list[Image.Image] = []
    prev = None                                          # (indices, palette, base index of pixel (0, 0), shown colours)
    packed = base_pal.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], np.uint32)   # one int per colour: fast compare
    for idx in indices:
        base00 = int(idx[0, 0])
        p = base_pal.copy()
        p[255] = p[base00]                               # entry 255: an alias of pixel (0, 0)'s colour
        pk = packed.copy()
        pk[255] = pk[base00]
        shown = pk[idx]                                  # (H, W) packed RGB of what this frame shows
        if prev is not None and np.array_equal(shown, prev[3]):
            # Pillow would merge this frame into the previous one: repeat the previous frame with
            # pixel (0, 0) switched between its colour and that colour's alias (it looks the same).
            idx, p, base00 = prev[0].copy(), prev[1], prev[2]
            idx[0, 0] = 255 if idx[0, 0] != 255 else base00
        im = Image.frombytes("P", (idx.shape[1], idx.shape[0]), np.ascontiguousarray(idx).tobytes())
        im.putpalette(p.reshape(-1).tolist())
        images.append(im)
        prev = (idx, p, base00, shown)
    ms = max(GIF_MIN_MS, int(round(1000 / fps / 10)) * 10)   # GIF stores hundredths of a second
    extra = {"loop": 0} if loop else {}                  # loop=0: forever; no loop key: play once
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=ms,
                   optimize=False, disposal=1, **extra)
    return buf.getvalue()


def even_size(width: int, height: int) -> tuple[int, int]:
    """The (width, height) an MP4 of frames this size has: odd sides grow by one."""
    return width + width % 2, height + height % 2


MP4_PRESET = "veryfast"   # x264's speed/size trade-off: 3-4x faster than its default "medium" on word morphs


def mp4_bytes(frames: np.ndarray, fps: float, quality: float = 8) -> bytes:
    """H.264 MP4 (yuv420p, plays in browsers) of (N, H, W, C) uint8 frames, exactly N frames.

    Sides are kept as given (ffmpeg's macro-block resize is off); odd sides are padded by
    repeating the last row / column, to `even_size(W, H)`. Grey frames (C = 1) go down the pipe to
    ffmpeg as one byte a pixel (not three), and x264 runs with its MP4_PRESET preset.
    """
    import imageio_ffmpeg

    if len(frames) == 0:
        raise ValueError("no frames to encode")
    n, h, w, c = frames.shape
    grey = c == 1
    padded = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    pixels = np.ascontiguousarray(padded[..., 0] if grey else _rgb(padded))
    with tempfile.TemporaryDirectory(prefix="latent-explorer-") as tmp:
        path = os.path.join(tmp, "out.mp4")
        writer = imageio_ffmpeg.write_frames(path, even_size(w, h), pix_fmt_in="gray" if grey else "rgb24",
                                             pix_fmt_out="yuv420p", fps=float(fps), quality=quality,
                                             macro_block_size=1,
                                             output_params=["-preset", MP4_PRESET, "-movflags", "+faststart"])
        writer.send(None)
        for f in pixels:
            writer.send(f)
        writer.close()
        return Path(path).read_bytes()


def animation_bytes(frames: np.ndarray, fps: float, fmt: str, loop: bool = True) -> bytes:
    """`fmt` "gif" or "mp4" (an MP4 always loops where the player loops it)."""
    if fmt == "gif":
        return gif_bytes(frames, fps, loop)
    if fmt == "mp4":
        return mp4_bytes(frames, fps)
    raise ValueError(f"unknown animation format {fmt!r}; use 'gif' or 'mp4'")


def frame_count_and_size(data: bytes, kind: str) -> tuple[int, tuple[int, int]]:
    """(frames, (width, height)) of GIF or MP4 bytes, read back with Pillow / ffmpeg."""
    if kind == "gif":
        with Image.open(io.BytesIO(data)) as im:
            return getattr(im, "n_frames", 1), im.size
    if kind != "mp4":
        raise ValueError(f"unknown kind {kind!r}; use 'gif' or 'mp4'")
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="latent-explorer-") as tmp:
        path = os.path.join(tmp, "in.mp4")
        Path(path).write_bytes(data)
        n, _ = imageio_ffmpeg.count_frames_and_secs(path)
        reader = imageio_ffmpeg.read_frames(path)
        meta = next(reader)
        reader.close()
        return n, tuple(meta["size"])
