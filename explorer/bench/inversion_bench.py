"""`latent-explorer bench --parts inversion`: how well, and how fast, images are projected into w.

For each model (Fashion-MNIST: its test split, never trained on; emoji: the images its encoder never
trained on (encoder_finetune.encoder_holdout), though the generator was trained on all), every
image is projected three ways: (a) optimisation alone from the mean w, (b) the encoder alone,
(c) encoder + optimisation, (a) and (c) at each step count, each a separate run (the learning-rate
schedule spans its own steps, and is chosen by the start: inversion.ProjectConfig.schedule).
Reported per way: mean and median PSNR, SSIM and feature distance, CPU seconds (process time) and
wall seconds per image, the class found (when labels exist), and the found w's percentile among the
model's samples. Figures are printed, never asserted; the issue's targets are checked and reported:
encoder + 200 steps better than optimisation alone at 500 (PSNR, SSIM and feature distance), and
an image reaching its result (encoder + 200 steps) in under 10 s.

`inversion_figure` draws docs/inversion.png: originals, reconstructions, and one edit each.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.explore.inversion import ProjectConfig, Projector
from explorer.gan.device import load_generator

TARGET_SECONDS = 10.0


def bench_targets(model: str, n: int, meta: dict) -> tuple[np.ndarray, list[int] | None, str]:
    """(images (n, H, W, C) uint8, labels or None, where they come from) for a shipped model."""
    if model == "fashion-mnist":
        from explorer.data.datasets import load_fashion_mnist
        ds = load_fashion_mnist("test", resolution=int(meta["generator"]["resolution"]))
        idx = np.linspace(0, len(ds) - 1, n).round().astype(int)
        imgs = ds.images[torch.from_numpy(idx)].permute(0, 2, 3, 1).numpy()
        labels = ds.labels
        assert labels is not None                                  # Fashion-MNIST is labelled
        return imgs, [int(labels[i]) for i in idx], f"Fashion-MNIST test split ({n} of {len(ds)}, evenly spaced)"
    if model == "emoji":
        from explorer.data.emoji import load_emoji
        from explorer.explore.encoder_finetune import encoder_holdout
        x, labels, _ = load_emoji(int(meta["generator"]["resolution"]))
        held = torch.nonzero(encoder_holdout(len(x)))[:, 0].numpy()
        idx = held[np.linspace(0, len(held) - 1, n).round().astype(int)]
        return (x[torch.from_numpy(idx)].permute(0, 2, 3, 1).numpy(), [int(labels[i]) for i in idx],
                f"emoji dataset ({n} of its {len(held)} images the encoder never trained on, evenly spaced; "
                f"the generator was trained on all {len(x)})")
    raise ValueError(f"no benchmark images for model {model!r} (fashion-mnist, emoji)")


def _summary(rows: list[dict]) -> dict:
    out: dict = {"n": len(rows)}
    for k in ("psnr", "ssim", "feature_distance", "cpu_s", "wall_s", "w_percentile"):
        vals = [r[k] for r in rows if r.get(k) is not None]
        if vals:
            out[k] = {"mean": round(float(np.mean(vals)), 4), "median": round(float(statistics.median(vals)), 4)}
    if any("class_ok" in r for r in rows):
        out["class_accuracy"] = round(float(np.mean([r["class_ok"] for r in rows if "class_ok" in r])), 3)
    return out


def _one(proj: Projector, target: np.ndarray, cfg: ProjectConfig, label: int | None) -> dict:
    c0, t0 = time.process_time(), time.perf_counter()
    r = proj.project(target, cfg)
    f = r.figures
    row = {"psnr": f.psnr, "ssim": f.ssim, "feature_distance": f.feature_distance,
           "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0, "w_percentile": f.w_percentile}
    if label is not None and r.class_index is not None:
        row["class_ok"] = float(r.class_index == label)
    return row


def bench_model(model: str, n: int, steps: tuple[int, ...] = (50, 200, 500), space: str = "w",
                say: Callable[[str], None] = print, only: tuple[str, ...] | None = None) -> dict:
    """Figures of the three ways at each step count for `n` images of one shipped model; `only` keeps just
    the named ways (e.g. ("optimisation 500", "encoder 0", "encoder+optimisation 200") on a busy CPU)."""
    G, meta = load_generator(model, "cpu")
    proj = Projector.for_model(G, meta)
    if proj.encoder is None:
        say(f"{model}: no encoder (pretrained/{model}-encoder.*): 'encoder' rows are skipped")
    imgs, labels, source = bench_targets(model, n, meta)
    ways: dict[str, ProjectConfig] = {}
    for s in steps:
        ways[f"optimisation {s}"] = ProjectConfig(space=space, steps=s, start="mean")
    if proj.encoder is not None:
        ways["encoder 0"] = ProjectConfig(space=space, steps=0, start="encoder")
        for s in steps:
            ways[f"encoder+optimisation {s}"] = ProjectConfig(space=space, steps=s, start="encoder")
    if only is not None:
        ways = {k: v for k, v in ways.items() if k in only}
    rows: dict[str, list[dict]] = {k: [] for k in ways}
    t0 = time.perf_counter()
    for i, img in enumerate(imgs):
        for k, cfg in ways.items():
            rows[k].append(_one(proj, img, cfg, None if labels is None else labels[i]))
        if (i + 1) % 5 == 0 or i + 1 == len(imgs):
            say(f"{model}: {i + 1}/{len(imgs)} images, {time.perf_counter() - t0:.0f} s")
    out: dict[str, Any] = {"images": source, "space": space, "threads": torch.get_num_threads(),
           "feature_space": _feature_space(proj),
           "ways": {k: _summary(v) for k, v in rows.items()}}
    out["targets"] = _targets(out["ways"], steps)
    return out


def _feature_space(proj: Projector) -> str:
    from explorer.explore.projection_metrics import CLASSIFIER_SPACE, CRITIC_SPACE
    return CLASSIFIER_SPACE if proj.nets.classifier is not None else CRITIC_SPACE if proj.nets.critic else ""


def _targets(ways: dict, steps: tuple[int, ...]) -> dict:
    a, b = ways.get("encoder+optimisation 200"), ways.get(f"optimisation {max(steps)}")
    out: dict = {}
    if a and b:
        out["encoder+200 beats optimisation 500"] = {
            "psnr": a["psnr"]["mean"] > b["psnr"]["mean"], "ssim": a["ssim"]["mean"] > b["ssim"]["mean"],
            "feature_distance": (a["feature_distance"]["mean"] < b["feature_distance"]["mean"]
                                 if "feature_distance" in a else None)}
    if a:
        out[f"encoder+200 under {TARGET_SECONDS:.0f} s (median wall)"] = a["wall_s"]["median"] < TARGET_SECONDS
    return out


def inversion_bench(counts: dict[str, int] | None = None, steps: tuple[int, ...] = (50, 200, 500),
                    space: str = "w", figure: str | None = "docs/inversion.png",
                    say: Callable[[str], None] = print, only: tuple[str, ...] | None = None) -> dict:
    """The whole benchmark: {model: bench_model(...)} for Fashion-MNIST (200 images) and emoji (100)."""
    counts = counts or {"fashion-mnist": 200, "emoji": 100}
    out: dict = {m: bench_model(m, n, steps, space, say, only) for m, n in counts.items() if n > 0}
    if figure:
        from explorer.bench.inversion_figure import inversion_figure
        out["figure"] = str(inversion_figure(Path(figure), [m for m, n in counts.items() if n > 0]))
    return out
