"""`latent-explorer bench --parts inversion`: how well, and how fast, images are projected into w.

For each shipped model (Fashion-MNIST: its test split, never trained on; fonts: the held-out test
families of the fonts dataset, as the 62-glyph stacks the model draws; emoji: the images its encoder
never trained on (encoder_finetune.encoder_holdout), though the generator was trained on all), every
image is projected three ways: (a) optimisation alone from the mean w, (b) the encoder alone,
(c) encoder + optimisation, (a) and (c) at each step count, each a separate run (the learning-rate
schedule spans its own steps, and is chosen by the start: inversion.ProjectConfig.schedule).

Images are projected in batches (`batch`, default 25) with `Projector.project_batch`: the batch's
latents are independent rows of one optimisation (the same result as one image at a time, a test
checks), so the CPU time per image reported is the batch's process time / its size, what a
benchmark of hundreds of images can afford. A user projects one image: the time-to-result target is
judged on `single_runs` single projections (encoder + 200 steps, wall seconds, median), and
`batch_speedup` times single against batched projection of the same images side by side.

Reported per way: mean and median PSNR, SSIM and feature distance, CPU seconds per image, the class
found (when labels exist), and the found w's percentile among the model's samples. Figures are
printed, never asserted; the issue's targets are checked and reported: encoder + 200 steps better
than optimisation alone at 500 (PSNR, SSIM and feature distance), and an image reaching its result
(encoder + 200 steps) in under 10 s.

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
DEFAULT_COUNTS = {"fashion-mnist": 200, "fonts": 100, "emoji": 100}
MODELS = tuple(DEFAULT_COUNTS)


def bench_targets(model: str, n: int, meta: dict) -> tuple[np.ndarray, list[int] | None, str]:
    """(images (n, H, W, C) uint8, labels or None, where they come from) for a shipped model; n evenly spaced.
    Fonts: (n, 64, 64, 62) glyph stacks (ink = 255) of the test split's faces. Raises FileNotFoundError
    when the fonts dataset was not built, ValueError for another model."""
    res = int(meta["generator"]["resolution"])
    if model == "fashion-mnist":
        from explorer.data.datasets import load_fashion_mnist
        ds = load_fashion_mnist("test", resolution=res)
        idx = np.linspace(0, len(ds) - 1, n).round().astype(int)
        imgs = ds.images[torch.from_numpy(idx)].permute(0, 2, 3, 1).numpy()
        labels = ds.labels
        assert labels is not None                                  # Fashion-MNIST is labelled
        return imgs, [int(labels[i]) for i in idx], f"Fashion-MNIST test split ({n} of {len(ds)}, evenly spaced)"
    if model == "fonts":
        from explorer.data.datasets import load_fonts_dataset
        ds = load_fonts_dataset("test", res)
        idx = np.unique(np.linspace(0, len(ds) - 1, n).round().astype(int))
        imgs = np.ascontiguousarray(ds.images[torch.from_numpy(idx)].permute(0, 2, 3, 1).numpy())
        return imgs, None, (f"fonts dataset test split ({len(idx)} of its {len(ds)} held-out faces, evenly "
                            f"spaced; 62 glyphs each)")
    if model == "emoji":
        from explorer.data.emoji import load_emoji
        from explorer.explore.encoder_finetune import encoder_holdout
        x, labels, _ = load_emoji(res)
        held = torch.nonzero(encoder_holdout(len(x)))[:, 0].numpy()
        idx = held[np.linspace(0, len(held) - 1, n).round().astype(int)]
        return (x[torch.from_numpy(idx)].permute(0, 2, 3, 1).numpy(), [int(labels[i]) for i in idx],
                f"emoji dataset ({n} of its {len(held)} images the encoder never trained on, evenly spaced; "
                f"the generator was trained on all {len(x)})")
    raise ValueError(f"no benchmark images for model {model!r} ({', '.join(MODELS)})")


def _summary(rows: list[dict]) -> dict:
    out: dict = {"n": len(rows)}
    for k in ("psnr", "ssim", "feature_distance", "cpu_s", "wall_s", "w_percentile"):
        vals = [r[k] for r in rows if r.get(k) is not None]
        if vals:
            out[k] = {"mean": round(float(np.mean(vals)), 4), "median": round(float(statistics.median(vals)), 4)}
    if any("class_ok" in r for r in rows):
        out["class_accuracy"] = round(float(np.mean([r["class_ok"] for r in rows if "class_ok" in r])), 3)
    return out


def project_rows(proj: Projector, targets: np.ndarray, cfg: ProjectConfig, labels: list[int] | None,
                 batch: int) -> list[dict]:
    """One row of figures per target (N, H, W, C) uint8, projected `batch` at a time; cpu_s and wall_s are
    each batch's process and wall time divided by its size."""
    rows: list[dict] = []
    for s in range(0, len(targets), max(1, batch)):
        chunk = targets[s:s + max(1, batch)]
        c0, t0 = time.process_time(), time.perf_counter()
        res = proj.project_batch(chunk, cfg)
        cpu, wall = (time.process_time() - c0) / len(chunk), (time.perf_counter() - t0) / len(chunk)
        for i, r in enumerate(res):
            f = r.figures
            row = {"psnr": f.psnr, "ssim": f.ssim, "feature_distance": f.feature_distance, "cpu_s": cpu,
                   "wall_s": wall, "w_percentile": f.w_percentile}
            if labels is not None and r.class_index is not None:
                row["class_ok"] = float(r.class_index == labels[s + i])
            rows.append(row)
    return rows


def batch_speedup(proj: Projector, targets: np.ndarray, cfg: ProjectConfig) -> dict:
    """The same images projected one at a time and as one batch: CPU and wall seconds per image of each,
    the speed-up (single / batch CPU time) and the largest PSNR difference between the two (dB)."""
    c0, t0 = time.process_time(), time.perf_counter()
    single = [proj.project(t, cfg) for t in targets]
    c1, t1 = time.process_time(), time.perf_counter()
    batched = proj.project_batch(targets, cfg)
    c2, t2 = time.process_time(), time.perf_counter()
    n = len(targets)
    out = {"images": n, "steps": cfg.steps, "start": cfg.start,
           "single_cpu_s_per_image": round((c1 - c0) / n, 3), "batch_cpu_s_per_image": round((c2 - c1) / n, 3),
           "single_wall_s_per_image": round((t1 - t0) / n, 3), "batch_wall_s_per_image": round((t2 - t1) / n, 3),
           "max_psnr_difference_db": round(max(abs(a.figures.psnr - b.figures.psnr)
                                               for a, b in zip(single, batched, strict=True)), 4)}
    out["speedup_cpu"] = round((c1 - c0) / max(c2 - c1, 1e-9), 2)
    return out


def bench_model(model: str, n: int, steps: tuple[int, ...] = (50, 200, 500), space: str = "w",
                say: Callable[[str], None] = print, only: tuple[str, ...] | None = None, batch: int = 25,
                single_runs: int = 3, speedup_images: int = 10, user_steps: int = 200,
                optimizer: str = "lbfgs") -> dict:
    """Figures of the three ways at each step count for `n` images of one shipped model, projected `batch`
    at a time; `only` keeps just the named ways (e.g. ("optimisation 500", "encoder 0",
    "encoder+optimisation 200"); a name that is not a way raises ValueError). `single_runs` single
    projections (encoder + `user_steps` steps, or optimisation alone without an encoder) time what a user
    waits; `speedup_images` images are projected singly and as a batch side by side (0: skip).
    `optimizer`: ProjectConfig.optimizer of every way. Raises what load_generator and bench_targets raise."""
    G, meta = load_generator(model, "cpu")
    proj = Projector.for_model(G, meta)
    if proj.encoder is None:
        say(f"{model}: no encoder (pretrained/{model}-encoder.*): 'encoder' rows are skipped")
    imgs, labels, source = bench_targets(model, n, meta)
    ways: dict[str, ProjectConfig] = {}
    for s in steps:
        ways[f"optimisation {s}"] = ProjectConfig(space=space, steps=s, start="mean", optimizer=optimizer)
    if proj.encoder is not None:
        ways["encoder 0"] = ProjectConfig(space=space, steps=0, start="encoder", optimizer=optimizer)
        for s in steps:
            ways[f"encoder+optimisation {s}"] = ProjectConfig(space=space, steps=s, start="encoder",
                                                              optimizer=optimizer)
    if only is not None:
        unknown = [k for k in only if k not in ways]
        if unknown:
            raise ValueError(f"no way named {', '.join(map(repr, unknown))} for {model}; the ways: {', '.join(ways)}")
        ways = {k: v for k, v in ways.items() if k in only}
    rows: dict[str, list[dict]] = {}
    t0 = time.perf_counter()
    for k, cfg in ways.items():
        rows[k] = project_rows(proj, imgs, cfg, labels, batch)
        say(f"{model}: {k}: {len(imgs)} images, {time.perf_counter() - t0:.0f} s so far")
    out: dict[str, Any] = {"images": source, "space": space, "optimizer": optimizer,
                           "threads": torch.get_num_threads(), "batch": batch,
                           "cpu_s": "per image: a batch's process time / its size",
                           "feature_space": _feature_space(proj), "ways": {k: _summary(v) for k, v in rows.items()}}
    user = ProjectConfig(space=space, steps=user_steps, start="encoder" if proj.encoder is not None else "mean",
                         optimizer=optimizer)
    if single_runs > 0:
        walls = []
        for img in imgs[:single_runs]:
            t1 = time.perf_counter()
            proj.project(img, user)
            walls.append(time.perf_counter() - t1)
        way = "encoder+optimisation" if user.start == "encoder" else "optimisation"
        out["single_image"] = {"way": f"{way} {user_steps}",
                               "runs": len(walls), "wall_s_median": round(statistics.median(walls), 3)}
        say(f"{model}: one image, {out['single_image']['way']}: {out['single_image']['wall_s_median']:.2f} s wall")
    if speedup_images > 0:
        out["batch_speedup"] = batch_speedup(proj, imgs[:speedup_images], user)
        sp = out["batch_speedup"]
        say(f"{model}: {sp['images']} images, {user.steps} steps: single {sp['single_cpu_s_per_image']:.2f} CPU s "
            f"per image, batch {sp['batch_cpu_s_per_image']:.2f}: {sp['speedup_cpu']:.1f}x")
    out["targets"] = _targets(out)
    return out


def _feature_space(proj: Projector) -> str:
    from explorer.explore.projection_metrics import CLASSIFIER_SPACE, CRITIC_SPACE
    return CLASSIFIER_SPACE if proj.nets.classifier is not None else CRITIC_SPACE if proj.nets.critic else ""


def _targets(res: dict) -> dict:
    ways = res["ways"]
    longest = max((int(k.rsplit(" ", 1)[1]) for k in ways if k.startswith("optimisation ")), default=500)
    a, b = ways.get("encoder+optimisation 200"), ways.get(f"optimisation {longest}")
    out: dict = {}
    if a and b:
        out[f"encoder+200 beats optimisation {longest}"] = {
            "psnr": a["psnr"]["mean"] > b["psnr"]["mean"], "ssim": a["ssim"]["mean"] > b["ssim"]["mean"],
            "feature_distance": (a["feature_distance"]["mean"] < b["feature_distance"]["mean"]
                                 if "feature_distance" in a and "feature_distance" in b else None)}
    single = res.get("single_image")
    if single:
        out[f"{single['way']} under {TARGET_SECONDS:.0f} s (one image, median wall)"] = (
            single["wall_s_median"] < TARGET_SECONDS)
    return out


def inversion_bench(counts: dict[str, int] | None = None, steps: tuple[int, ...] = (50, 200, 500),
                    space: str = "w", figure: str | None = "docs/inversion.png",
                    say: Callable[[str], None] = print, only: tuple[str, ...] | None = None,
                    batch: int = 25, optimizer: str = "lbfgs") -> dict:
    """The whole benchmark: {model: bench_model(...)} for Fashion-MNIST (200 images), fonts (100) and emoji
    (100) by default; a model (or the fonts dataset) that is missing is skipped with the reason."""
    counts = DEFAULT_COUNTS if counts is None else counts
    out: dict = {}
    for m, n in counts.items():
        if n <= 0:
            continue
        try:
            out[m] = bench_model(m, n, steps, space, say, only, batch, optimizer=optimizer)
        except (FileNotFoundError, ValueError) as e:       # CheckpointError is a ValueError
            out[m] = {"skipped": f"{type(e).__name__}: {e}"}
            say(f"{m}: skipped ({e})")
    drawn = [m for m in out if "skipped" not in out[m]]                   # fonts as "Ag" set in each face
    if figure and drawn:
        from explorer.bench.inversion_figure import inversion_figure
        out["figure"] = str(inversion_figure(Path(figure), drawn))
    return out
