"""Frames, resizing, GIF and MP4 encoding: exact frame counts and sizes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from explorer.explore.latents import LatentState, state_to_ws
from explorer.explore.paths import interpolate_path, keyframes_from_states
from explorer.imaging.media import (
    even_size,
    frame_count_and_size,
    gif_bytes,
    mp4_bytes,
    png_bytes,
    render_frames,
    resize_frames,
)
from tests.factories import tiny_generator


@pytest.fixture(scope="module")
def frames():
    G = tiny_generator(3)
    kfs = keyframes_from_states(G, [LatentState("m", "", 1, 0), LatentState("m", "", 2, 1)])
    ws = interpolate_path(G, kfs, 12, space="z", method="slerp")
    f = render_frames(G, ws, batch=5)
    assert np.array_equal(f, render_frames(G, ws))                     # batching changes nothing
    assert np.array_equal(f[:1], render_frames(G, state_to_ws(G, LatentState("m", "", 1, 0))))
    return f


def gif_frames(data: bytes) -> list[np.ndarray]:
    with Image.open(io.BytesIO(data)) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def test_render_and_resize(frames):
    assert frames.shape == (12, 32, 32, 1) and frames.dtype == np.uint8 and frames.std() > 0
    big = resize_frames(frames, 64)
    assert np.array_equal(big, frames.repeat(2, axis=1).repeat(2, axis=2))   # nearest: crisp pixels
    smooth = resize_frames(frames, (100, 60), smooth=True)
    assert smooth.shape == (12, 60, 100, 1)
    rgb = resize_frames(np.repeat(frames, 3, axis=-1), 75, smooth=True)
    assert rgb.shape == (12, 75, 75, 3)
    assert resize_frames(frames, 32) is frames
    assert png_bytes(big[0]).startswith(b"\x89PNG")


def test_gif_frame_count_size_timing_and_loop(frames):
    f = resize_frames(frames, 100)
    data = gif_bytes(f, fps=10)
    assert frame_count_and_size(data, "gif") == (12, (100, 100))
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["loop"] == 0 and im.info["duration"] == 100
    decoded = gif_frames(data)
    assert max(int(np.abs(d.astype(int) - np.repeat(x, 3, -1)).max()) for d, x in zip(decoded, f)) <= 1
    with Image.open(io.BytesIO(gif_bytes(f, fps=25, loop=False))) as im:
        assert "loop" not in im.info and im.info["duration"] == 40


def test_gif_keeps_identical_frames():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 40, 30, 3), dtype=np.uint8)
    seq = np.stack([a, a, a, b, b, a])                                    # Pillow alone would save 3 frames
    data = gif_bytes(seq, fps=12)
    assert frame_count_and_size(data, "gif") == (6, (30, 40))
    decoded = gif_frames(data)
    for i in (1, 2):
        assert np.array_equal(decoded[i], decoded[0])                      # duplicates still look the same
    assert np.array_equal(decoded[4], decoded[3]) and not np.array_equal(decoded[3], decoded[0])
    flat = np.zeros((5, 10, 10, 1), np.uint8)
    assert frame_count_and_size(gif_bytes(flat, 10), "gif") == (5, (10, 10))


@pytest.mark.parametrize("side", [100, 75])
def test_mp4_frame_count_and_size(frames, side):
    f = resize_frames(frames, side, smooth=True)
    data = mp4_bytes(f, fps=12)
    assert data[4:8] == b"ftyp"
    assert frame_count_and_size(data, "mp4") == (12, even_size(side, side))
    assert even_size(100, 100) == (100, 100) and even_size(75, 75) == (76, 76)


def test_mp4_rgb_non_square():
    rng = np.random.default_rng(1)
    f = rng.integers(0, 256, (5, 48, 64, 3), dtype=np.uint8)
    assert frame_count_and_size(mp4_bytes(f, 8), "mp4") == (5, (64, 48))
    with pytest.raises(ValueError):
        mp4_bytes(f[:0], 8)
    with pytest.raises(ValueError):
        frame_count_and_size(b"", "webm")


def mp4_frames(data: bytes) -> np.ndarray:
    """The decoded frames (N, H, W, 3) uint8 of MP4 bytes."""
    import os
    import tempfile

    import imageio_ffmpeg
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "in.mp4")
        with open(path, "wb") as fh:
            fh.write(data)
        reader = imageio_ffmpeg.read_frames(path)
        meta = next(reader)
        w, h = meta["size"]
        return np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader])


@pytest.mark.parametrize("channels", [1, 3])
def test_mp4_decodes_to_the_frames_grey_or_colour(channels):
    """Grey frames go to ffmpeg one byte a pixel: they must come back as the same greys, with odd sides padded."""
    y, x = np.mgrid[0:33, 0:47]
    base = np.stack([(x * 3 + y * 2 + 20 * t) for t in range(4)]).astype(np.uint8)[..., None]
    f = base if channels == 1 else np.concatenate([base, 255 - base, base // 2], -1)
    got = mp4_frames(mp4_bytes(f, fps=8))
    assert got.shape == (4, 34, 48, 3)
    want = f if channels == 3 else np.repeat(f, 3, -1)
    err = np.abs(got[:, :33, :47].astype(int) - want.astype(int))
    assert err.mean() < 4 and np.abs(got[:, 33, :47].astype(int) - want[:, 32].astype(int)).mean() < 6   # padded row


def test_label_columns_puts_one_label_under_each_tile():
    from explorer.imaging.render import label_columns, make_grid
    tiles = np.zeros((3, 20, 20, 1), np.uint8)
    grid = make_grid(tiles, nrow=3, pad=2, fill=255)
    out = label_columns(grid, ["-1", "0", "+1"], pad=2, height=16)
    assert out.shape == (grid.shape[0] + 16, grid.shape[1], 1) and (out[:grid.shape[0]] == grid).all()
    band = out[grid.shape[0]:, :, 0] < 128                              # dark text pixels
    for i in range(3):                                                  # ink under every tile, centred
        x0 = 2 + i * 22
        cols = np.nonzero(band[:, x0:x0 + 20].any(axis=0))[0]
        assert len(cols) and abs((cols.min() + cols.max()) / 2 - 9.5) <= 3
