"""`latent-explorer evaluate fonts`: the quality bar of a glyph-stack (font) generator, offline.

Generated faces are compared with the held-out families of the fonts dataset (`fonts:test`), in the
feature space of the project's glyph classifier (`pretrained/fonts-glyph-classifier`, see
`explorer.evaluation.glyphs`): glyph accuracy (generated vs held-out real), Fréchet distance of
per-face features (with train-vs-test as the floor), k-NN precision/recall, style consistency (the
spread of stroke width, slant and contrast across the glyphs of one face, generated / real, from
`explorer.data.glyphmetrics.attribute_spread`) and the memorisation ratio.

    figures = evaluate_typefaces(G, meta, n=1000)          # called by evaluate.evaluate_model
    clf = ship_glyph_classifier()                           # trains it (a few CPU minutes)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from explorer.data.datasets import load_fonts_dataset
from explorer.data.glyphmetrics import attribute_spread
from explorer.evaluation.glyphs import (
    CLASSIFIER_NAME,
    glyph_figures,
    group_accuracy,
    load_glyph_classifier,
    predict,
    train_and_ship,
)
from explorer.gan.protocol import Generator
from explorer.settings import pretrained_dir

PSI_CHECKS = (0.7, 0.5)   # truncations whose glyph accuracy is reported beside psi 1's
PSI_FACES = 500
MAX_FACES = 1000          # generated faces evaluated: 1,000 stacks of 62x64x64 are 250 MB of uint8


@torch.inference_mode()
def generate_faces(G: Generator, n: int, seed: int = 0, psi: float = 1.0, batch: int = 50,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """n generated faces (N, G, H, W) uint8 on CPU, ink = 255, from seeded z (sample i never depends
    on `batch`)."""
    zs = torch.randn(n, G.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
    out = []
    for i in range(0, n, batch):
        x = G(zs[i:i + batch].to(device), None, psi=psi).float().clamp(-1, 1)
        out.append(((x + 1) * 127.5).round().to(torch.uint8).cpu())
    return torch.cat(out)


def evaluate_typefaces(G: Generator, meta: dict, n: int = MAX_FACES, seed: int = 0,
                       device: torch.device | str = "cpu", progress: Callable[[str], None] | None = None,
                       classifier: str | Path | None = None) -> dict:
    """All figures of the fonts quality bar for generator `G` (its export/checkpoint `meta`); at most
    MAX_FACES generated faces. Raises FileNotFoundError when the dataset or classifier is missing."""
    say = progress or (lambda m: None)
    t0 = time.perf_counter()
    stem = Path(classifier) if classifier else pretrained_dir() / CLASSIFIER_NAME
    if not stem.with_suffix(".json").is_file():
        raise FileNotFoundError(f"no glyph classifier at {stem}.json: train it with "
                                "`latent-explorer train-classifier --fonts`")
    clf, groups, clf_meta = load_glyph_classifier(stem)
    res = G.cfg.resolution
    train, test = load_fonts_dataset("train", res), load_fonts_dataset("test", res)
    n = min(n, MAX_FACES)
    say(f"generating {n} faces from {meta.get('name', '?')}")
    fake = generate_faces(G, n, seed=seed, device=device)
    say("glyph classifier: accuracy, FD, precision/recall; style consistency; memorisation")
    out: dict = {"model": meta.get("name"), "samples": n, "seed": seed, "reference": "fonts:test",
                 "reference_test_images": len(test), "classifier": {"name": CLASSIFIER_NAME,
                                                                     **clf_meta.get("summary", {})}}
    tr = meta.get("training") or {}
    steps, secs = meta.get("step", tr.get("steps")), meta.get("elapsed_s", tr.get("train_seconds"))
    if steps is not None:
        out["trained"] = {"steps": int(steps), "seconds": None if secs is None else round(float(secs), 1)}
    out.update(glyph_figures(fake, test.images, train.images, clf, groups, spread=attribute_spread))
    say("glyph accuracy under truncation")
    out["glyph_accuracy_at_psi"] = truncated_accuracy(G, clf, groups, PSI_CHECKS, min(n, PSI_FACES), seed, device)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def truncated_accuracy(G: Generator, clf: Any, groups: list[list[int]], psis: tuple[float, ...] = (0.7, 0.5),
                       n: int = 500, seed: int = 0, device: torch.device | str = "cpu") -> dict[str, float]:
    """Glyph accuracy of n faces generated at each truncation psi (Karras et al. 2019: w pulled toward
    the mean w), {"0.7": accuracy, ...}: what a designer sees at the explorer's lower psi settings.
    The quality bar itself is measured at psi 1 (`glyph_accuracy`)."""
    out = {}
    for psi in psis:
        pred, _ = predict(clf, generate_faces(G, n, seed=seed, psi=psi, device=device))
        out[f"{psi:g}"] = round(group_accuracy(pred, groups), 4)
    return out


def ship_glyph_classifier(out_stem: str | Path | None = None, epochs: int = 5, max_glyphs: int | None = 60_000,
                          on_progress: Callable[[dict], None] | None = print, seed: int = 0) -> dict:
    """Train the glyph classifier on the fonts train split (validation: 15 % of its families, chosen by
    `seed`, which also seeds the weights) and save it under pretrained/ (or `out_stem`); returns its meta
    (summary: accuracies, merge groups). Another seed gives the glyph reader of `--reader` training."""
    from explorer.data.fontstore import load_fonts
    fs = load_fonts("train")
    families = [fs.families[int(i)] for i in fs.family_index]
    _, meta = train_and_ship(fs.glyphs, out_stem or pretrained_dir() / CLASSIFIER_NAME, families=families,
                             epochs=epochs, max_glyphs=max_glyphs, on_progress=on_progress, seed=seed)
    return meta


def nearest_faces(fake: torch.Tensor, train: torch.Tensor, k: int = 1, chunk: int = 256) -> torch.Tensor:
    """(N, k) indices of the k training faces nearest to each generated face: L2 distance between
    stacks area-downsampled to 32x32 (the memorisation check's space). fake, train: (N, G, H, W) uint8."""
    import torch.nn.functional as F

    def small(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x.float() / 127.5 - 1.0, size=(32, 32), mode="area").flatten(1)
    ref = torch.cat([small(train[i:i + chunk]) for i in range(0, len(train), chunk)])
    q = small(fake)
    return torch.cdist(q, ref).topk(k, dim=1, largest=False).indices


def nearest_figure(model: str | Path, out: str | Path, n: int = 6, seed: int = 0) -> Path:
    """README figure: n generated faces (seeds seed..seed+n-1), each beside its nearest training face
    (glyph sheets, labelled with the face's family and style); written as PNG at `out`."""
    import numpy as np

    from explorer.data.fontstore import load_fonts
    from explorer.gan.device import load_generator
    from explorer.imaging.render import glyph_sheet, label_columns, make_grid, save_png

    G, _ = load_generator(str(model), "cpu")
    fs = load_fonts("train")
    real, res = fs.glyphs, G.cfg.resolution                     # (N, 62, 64, 64) uint8
    if real.shape[-1] != res:                                   # a model at another size: compare at its size
        real = torch.nn.functional.interpolate(real.float(), size=(res, res), mode="area").round().to(torch.uint8)
    rows = []
    for s in range(seed, seed + n):
        fake = generate_faces(G, 1, seed=s)
        j = int(nearest_faces(fake, real)[0, 0])
        face = fs.faces[j]
        pair = make_grid(np.stack([glyph_sheet(fake[0]), glyph_sheet(real[j])]), nrow=2, pad=8, fill=255)
        name = f"nearest training face: {face.get('family', '?')} {face.get('style', '')}".strip()
        rows.append(label_columns(pair, [f"generated (seed {s})", name], pad=8, height=28))
    path = Path(out)
    save_png(np.concatenate(rows, axis=0), path)
    return path
