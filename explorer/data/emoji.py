"""The emoji dataset: every emoji the Noto Color Emoji font draws, as 64x64 RGB on white.

Built on demand (`latent-explorer datasets emoji`), never committed. Sequences come from
Unicode's emoji-test.txt (Debian's `unicode-data`), which also gives each emoji's group
(Smileys & Emotion, Animals & Nature, Food & Drink, ...): the model's classes. Without that
file the builder scans the emoji code point ranges and the dataset is unlabelled.

Each emoji is shaped by Pillow (libraqm: skin tones, ZWJ families, flags, keycaps), cropped to
its ink, centred on a square with a margin and resized with Lanczos. Dropped, with counts:
blanks, sequences the font does not draw as one glyph, and exact duplicates (first kept).

    from explorer.data.emoji import build_emoji
    info = build_emoji()        # -> {"count": 3600, "path": ".../datasets/emoji-64.safetensors", ...}
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from explorer import fileio
from explorer.settings import data_dir

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
FONT_SIZE = 109                 # the only size of the font's colour bitmaps
SKIP_GROUPS = {"Component"}     # bare skin-tone swatches and hair parts, not emoji on their own
FORMAT = "latent-explorer/emoji-dataset"
VERSION = 1
# Code point ranges scanned when emoji-test.txt is missing (unlabelled fallback).
_RANGES = [(0x2600, 0x27BF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6FF),
           (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF)]
_LINE = re.compile(r"^([0-9A-F ]+?)\s*;\s*fully-qualified\s*#\s*\S+\s+E[\d.]+\s+(.*)$")


def dataset_path(resolution: int = 64) -> Path:
    return data_dir() / "datasets" / f"emoji-{resolution}.safetensors"


def read_emoji_test(path: str | os.PathLike = EMOJI_TEST) -> list[tuple[str, str, str]]:
    """(sequence, name, group) for every fully-qualified emoji in Unicode's emoji-test.txt."""
    out, group = [], ""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
            continue
        m = _LINE.match(line)
        if m:
            seq = "".join(chr(int(cp, 16)) for cp in m.group(1).split())
            out.append((seq, m.group(2).strip(), group))
    return out


def _fallback_sequences() -> list[tuple[str, str, str]]:
    return [(chr(cp), f"U+{cp:04X}", "") for lo, hi in _RANGES for cp in range(lo, hi + 1)]


def render_emoji(font: ImageFont.FreeTypeFont, seq: str, resolution: int = 64, margin: float = 0.06,
                 background: tuple[int, int, int] = (255, 255, 255)) -> tuple[np.ndarray | None, str]:
    """(H, W, 3) uint8 or None, and why not: 'blank' or 'not one glyph'."""
    w, h = font.getbbox(seq)[2:]
    if w <= 0 or h <= 0:
        return None, "blank"
    canvas = Image.new("RGBA", (int(w) + 8, int(h) + 8), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((4, 4), seq, font=font, embedded_color=True)
    box = canvas.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if box is None:
        return None, "blank"
    if box[2] - box[0] > 1.25 * FONT_SIZE:      # shaped as several glyphs side by side
        return None, "not one glyph"
    glyph = canvas.crop(box)
    side = int(round(max(glyph.size) * (1 + 2 * margin)))
    square = Image.new("RGBA", (side, side), background + (255,))
    square.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    rgb = square.convert("RGB").resize((resolution, resolution), Image.Resampling.LANCZOS)
    arr = np.asarray(rgb, dtype=np.uint8)
    if int(arr.max()) - int(arr.min()) < 8:
        return None, "blank"
    return arr, ""


def build_emoji(resolution: int = 64, out: str | os.PathLike | None = None, font_path: str = FONT,
                emoji_test: str | os.PathLike | None = EMOJI_TEST, limit: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Render the dataset and write it atomically as safetensors (images, labels) + JSON metadata."""
    if not Path(font_path).is_file():
        raise FileNotFoundError(f"emoji font not found at {font_path}: install Debian's fonts-noto-color-emoji")
    t0 = time.perf_counter()
    font = ImageFont.truetype(font_path, FONT_SIZE, layout_engine=ImageFont.Layout.RAQM
                              if _has_raqm() else ImageFont.Layout.BASIC)
    labelled = emoji_test is not None and Path(emoji_test).is_file()
    seqs = read_emoji_test(emoji_test) if emoji_test is not None and labelled else _fallback_sequences()
    seqs = [s for s in seqs if s[2] not in SKIP_GROUPS][:limit]
    groups = sorted({g for _, _, g in seqs}, key=[g for _, _, g in seqs].index) if labelled else []
    images, labels, kept, seen = [], [], [], {}
    dropped = {"blank": 0, "not one glyph": 0, "duplicate": 0}
    for i, (seq, name, group) in enumerate(seqs):
        arr, why = render_emoji(font, seq, resolution)
        if progress and (i % 100 == 0 or i == len(seqs) - 1):
            progress(i + 1, len(seqs))
        if arr is None:
            dropped[why] += 1
            continue
        digest = hashlib.sha256(arr.tobytes()).hexdigest()
        if digest in seen:
            dropped["duplicate"] += 1
            continue
        seen[digest] = name
        images.append(arr)
        labels.append(groups.index(group) if labelled else 0)
        kept.append({"codepoints": " ".join(f"{ord(ch):04X}" for ch in seq), "name": name, "group": group})
    if not images:
        raise ValueError("no emoji could be rendered: is the font a colour emoji font?")
    path = Path(out) if out else dataset_path(resolution)
    meta = {"format": FORMAT, "version": VERSION, "resolution": resolution, "count": len(images),
            "candidates": len(seqs), "dropped": dropped, "class_names": groups,
            "class_counts": {g: labels.count(k) for k, g in enumerate(groups)},
            "font": Path(font_path).name, "font_sha256": fileio.sha256_file(font_path),
            "source": "emoji-test.txt" if labelled else "code point ranges (no group data)",
            "seconds": round(time.perf_counter() - t0, 1)}
    tensors = {"images": torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(),
               "labels": torch.tensor(labels, dtype=torch.int64)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fileio.atomic_save_tensors(path, tensors, metadata={"meta": json.dumps(meta)})
    fileio.atomic_write_json(path.with_suffix(".json"), {**meta, "emoji": kept})
    return {**meta, "path": str(path)}


def load_emoji(resolution: int = 64, build: bool = True) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(uint8 images (N, 3, H, W), labels (N,), metadata), building the dataset first if it is missing."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    path = dataset_path(resolution)
    if not path.exists():
        if not build:
            raise FileNotFoundError(f"{path} is missing: run `latent-explorer datasets emoji`")
        build_emoji(resolution)
    try:
        t = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {}).get("meta", "{}"))
    except Exception as e:  # noqa: BLE001 - any corruption becomes one clear message
        raise ValueError(f"{path} is not a readable emoji dataset ({e}); delete it to rebuild") from e
    imgs, labels = t.get("images"), t.get("labels")
    if (meta.get("format") != FORMAT or imgs is None or labels is None or imgs.dtype != torch.uint8
            or imgs.ndim != 4 or imgs.shape[1] != 3 or len(labels) != len(imgs)):
        raise ValueError(f"{path} is not a valid emoji dataset; delete it to rebuild")
    return imgs, labels, meta


def _has_raqm() -> bool:
    from PIL import features
    return bool(features.check("raqm"))
