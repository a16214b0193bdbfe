"""Readable previews of a font model's images: a short word set in each typeface instead of its glyph sheet.

A glyph-stack generator (explorer/imaging/render.py `is_glyph_stack`) renders each face as a 62-glyph
sheet, about 2.6 times as wide as tall, which is unreadable at thumbnail, strip or video size. Every
page that shows such a face small (Explore's direction strip, Interpolate's keyframes, strip preview,
preview GIF and GIF/MP4 export) calls `preview` here: for a font model each image becomes `word`
typeset in its face (explorer/explore/specimen.py `typeset`, by `word_frames`), on paper of one size;
images of other models come back unchanged. `export_size` says what an export's "Size" means: for
font models the output height (a word is wide), for others the longer side.

    tiles = preview(eng.render_ws(ws), eng, "Ag", height=48)     # (N, 48, W, 1) uint8, ink dark on white
    w, h = export_size(frames, 256, is_font(eng))               # fonts: h == 256
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from explorer.explore.built_glyphs import sources
from explorer.explore.engine import Engine
from explorer.explore.kerning import REFERENCE
from explorer.explore.specimen import CHARS, typeset
from explorer.imaging.render import is_glyph_stack, stack_from_sheet

TILE_WORD = "Ag"          # the word of a thumbnail or strip tile: a capital, and a lowercase descender


def is_font(eng: Engine) -> bool:
    """True for glyph-stack generators (one channel per glyph)."""
    return is_glyph_stack(eng.G.cfg.channels)


def font_glyphs(eng: Engine) -> str:
    """The characters of the model's channels, in order (A-Z a-z 0-9 for the fonts model)."""
    g = eng.G.cfg.glyphs
    return g if len(g) == eng.G.cfg.channels else CHARS[:eng.G.cfg.channels]


def word_frames(stacks: np.ndarray | torch.Tensor, text: str, glyphs: str = CHARS) -> np.ndarray:
    """`text` set in each of N faces (N, G, R, R) uint8 (e.g. the frames of a path between typefaces),
    left-aligned on paper of one size: (N, H, W, 1) uint8, ink dark on white, ready for a GIF/MP4.
    Only the glyphs the text uses (and "n", which sizes a space, and the kerning's H and n) are measured:
    each glyph's metrics depend on its own ink alone, so the result is the same as setting it from the
    whole stack, ~4x faster."""
    g = int(stacks.shape[1]) if len(stacks) else len(glyphs)
    chars = glyphs[:g]
    needs = "n" + REFERENCE + sources(text)      # a space, kerning's reference, what built glyphs are made from
    used = sorted({chars.index(c) for c in text + needs if c in chars})
    used = used or list(range(len(chars)))
    sub = "".join(chars[i] for i in used)
    imgs = [typeset(s[used], text, sub).image for s in stacks]
    if not imgs:
        return np.zeros((0, 1, 1, 1), np.uint8)
    h, w = max(i.shape[0] for i in imgs), max(i.shape[1] for i in imgs)
    w += w % 2                                                    # even sides: H.264 needs them
    h += h % 2
    out = np.full((len(imgs), h, w, 1), 255, np.uint8)
    for k, im in enumerate(imgs):
        out[k, :im.shape[0], :im.shape[1], 0] = im
    return out


def to_height(images: np.ndarray, height: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, height, W', C), keeping the aspect (Lanczos; nearest when growing by
    a whole factor, so pixels stay crisp). Raises ValueError when height < 1."""
    if height < 1:
        raise ValueError(f"height must be at least 1 px, got {height}")
    n, h, w, c = images.shape
    if h == height or n == 0:
        return images
    width = max(1, round(w * height / h))
    whole = height % h == 0 and width == w * (height // h)
    res = Image.Resampling.NEAREST if whole else Image.Resampling.LANCZOS
    out = [np.asarray(Image.fromarray(im[..., 0] if c == 1 else im).resize((width, height), res)) for im in images]
    return np.stack(out).reshape(n, height, width, c)


def preview(images: np.ndarray, eng: Engine, word: str = TILE_WORD, height: int | None = None) -> np.ndarray:
    """What a small view shows of rendered images: for a font model, `word` set in each face (N, H', W', 1)
    uint8, ink dark on white, all one size (even sides, for H.264), scaled to `height` px when given;
    `images` are glyph sheets (N, H, W, 1) as Engine.render_ws returns, or glyph stacks (N, G, R, R).
    Other models' images (N, H, W, C) come back as they are (scaled to `height` when given).
    An empty or all-space word gives the sheets/stacks unchanged. Raises ValueError on a malformed sheet."""
    a = np.asarray(images)
    if is_font(eng) and len(a) and word.strip():
        g = eng.G.cfg.channels
        stacks = a if a.ndim == 4 and a.shape[1] == g and a.shape[-1] != 1 else \
            np.stack([stack_from_sheet(im, g) for im in a])
        a = word_frames(stacks, word, font_glyphs(eng))
    return to_height(a, height) if height is not None else a


def export_size(frames: np.ndarray, size: int, font: bool) -> tuple[int, int]:
    """(width, height) of an export at "Size" `size` px of frames (N, H, W, C): for a font model the height
    is `size` (the word's width follows its aspect); otherwise the longer side is `size`."""
    h, w = frames.shape[1:3]
    f = size / max(1, h) if font else size / max(h, w, 1)
    return max(1, round(w * f)), max(1, round(h * f))
