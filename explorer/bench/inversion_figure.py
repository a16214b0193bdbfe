"""docs/inversion.png: real images, their projections (encoder + 200 steps in w), and one edit of each.

One block per model, one column per image; rows: the original, the reconstruction (with its PSNR),
and the reconstruction moved +2 std along the model's first PCA direction (GANSpace), the edit the
Explore page applies to any latent. Greyscale 32 px images are upscaled to the 64 px RGB grid; a typeface
is shown as "Ag" set in it.

    inversion_figure(Path("docs/inversion.png"), ["fashion-mnist", "emoji", "fonts"], per_model=4)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from explorer.explore.direction_cache import get_directions
from explorer.explore.inversion import ProjectConfig, Projector
from explorer.explore.latents import Edit, LatentState, checkpoint_id, state_to_ws, with_edit
from explorer.explore.preview import TILE_WORD, word_frames
from explorer.explore.projection_io import projected_state
from explorer.gan.device import load_generator
from explorer.imaging.render import save_png

CELL = 64
PAD = 4
LABEL_W = 120
EDIT_AMOUNT = 1.5


def face_cell(img: np.ndarray) -> np.ndarray:
    """(h, w, 1|3) uint8 -> (CELL, CELL, 3), nearest-upscaled; a glyph stack (h, w, 62) -> "Ag" set in the
    face (as the app's tiles show a typeface), fitted into the cell on white."""
    if img.shape[-1] > 3:
        word = word_frames(img.transpose(2, 0, 1)[None], TILE_WORD)[0, ..., 0]
        im = Image.fromarray(word).convert("RGB")
        im.thumbnail((CELL, CELL), Image.Resampling.LANCZOS)
        out = Image.new("RGB", (CELL, CELL), "white")
        out.paste(im, ((CELL - im.width) // 2, (CELL - im.height) // 2))
        return np.asarray(out)
    im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).convert("RGB")
    return np.asarray(im.resize((CELL, CELL), Image.Resampling.NEAREST))


def model_block(model: str, per_model: int = 4, steps: int = 200) -> tuple[np.ndarray, list[str]]:
    """(rows (3, per_model, CELL, CELL, 3) uint8, PSNR captions) for one shipped model."""
    from explorer.bench.inversion_bench import bench_targets
    G, meta = load_generator(model, "cpu")
    proj = Projector.for_model(G, meta)
    imgs, _, _ = bench_targets(model, per_model * 7 + 1, meta)
    imgs = imgs[3::7][:per_model]                                     # not the bench's first images
    d = get_directions(G, meta, "pca")
    base = LatentState(str(meta.get("name", model)), checkpoint_id(meta), 0)
    rows: list[list[np.ndarray]] = [[], [], []]
    captions = []
    for img in imgs:
        r = proj.project(img, ProjectConfig(steps=steps))
        state = with_edit(projected_state(base, r), Edit(0, EDIT_AMOUNT))
        with torch.no_grad():
            edited = G.synthesis(state_to_ws(G, state, d))
        e = ((edited[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        for row, im in zip(rows, (img, r.image, e)):
            row.append(face_cell(im))
        captions.append(f"{r.figures.psnr:.1f} dB")
    return np.stack([np.stack(r) for r in rows]), captions


def inversion_figure(out: Path, models: list[str], per_model: int = 4) -> Path:
    """Draw the figure for `models` (shipped names) and write it as PNG; returns its path."""
    blocks = [(m, *model_block(m, per_model)) for m in models]
    cols = sum(b[1].shape[1] for b in blocks) + len(blocks) - 1
    w = LABEL_W + cols * (CELL + PAD) + PAD
    h = 24 + 3 * (CELL + PAD) + 16
    canvas = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=12)
    for i, name in enumerate(("original", "projection (w)", f"+{EDIT_AMOUNT:g} std PCA 0")):
        draw.text((4, 24 + i * (CELL + PAD) + CELL // 2 - 6), name, fill="black", font=font)
    x = LABEL_W
    for model, rows, caps in blocks:
        draw.text((x, 4), model, fill="black", font=font)
        for j in range(rows.shape[1]):
            for i in range(3):
                canvas.paste(Image.fromarray(rows[i, j]), (x, 24 + i * (CELL + PAD)))
            draw.text((x + 2, 24 + 3 * (CELL + PAD)), caps[j], fill="black", font=font)
            x += CELL + PAD
        x += CELL + PAD
    save_png(np.asarray(canvas), out)
    return out
