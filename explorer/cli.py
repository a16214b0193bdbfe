"""The `latent-explorer` command (also `python -m explorer`).

    latent-explorer train --data fashion-mnist --preset balanced --out data/runs/fm --minutes 60
    latent-explorer train --out data/runs/fm --resume            # continue a run where it stopped
    latent-explorer sample fashion-mnist --out grid.png          # a grid of samples from a model
    latent-explorer evaluate fashion-mnist --json                # offline quality figures
    latent-explorer export data/runs/fm pretrained/fashion-mnist # generator-only export for shipping
    latent-explorer list                                         # shipped and trained models
    latent-explorer bench --json                                 # speed figures
    latent-explorer datasets fonts                               # build the typefaces dataset
    torchrun --nproc-per-node 2 -m explorer train ...            # data-parallel training

Errors a person can fix (missing files, bad checkpoints, bad options) print one line, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from explorer.config import (
    AUGMENTS,
    DEVICES,
    DISCRIMINATOR_ARCHS,
    GENERATOR_ARCHS,
    LOSSES,
    PRESETS,
    RESOLUTIONS,
    ModelConfig,
)
from explorer.gan.events import Done, Info, Progress, Rollback, TrainEvent
from explorer.settings import data_dir, use_threads


def _fmt_time(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def print_progress(e: TrainEvent) -> None:
    """Console progress: steps, img/s, ETA, losses; notes and rollbacks; the ending."""
    if isinstance(e, Progress):
        print(f"step {e.step:>7}/{e.steps} | {e.img_per_s:7.1f} img/s | ETA {_fmt_time(e.eta_s):>7} | "
              f"G {e.loss_g:8.4f}  D {e.loss_d:8.4f} | D(real) {e.d_real:+.3f} D(fake) {e.d_fake:+.3f} "
              f"| p_aug {e.augment_p:.3f}", flush=True)
    elif isinstance(e, (Info, Rollback)):
        print(f"[{e.kind}] {e.message}", flush=True)
    elif isinstance(e, Done):
        print(f"finished ({e.reason}) at step {e.step} after {_fmt_time(e.elapsed_s)}; "
              f"bookkeeping {100 * e.timing['bookkeeping_share']:.1f}% of wall time", flush=True)


def resume_settings(a: argparse.Namespace, out: Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The config and data options of the run being resumed. Options that would change what the run is
    (architecture, size, preset, data options, its random stream) are refused in one line: a resumed run
    continues its own weights, so they could not be applied."""
    from explorer.config import from_dict

    cfg = from_dict(ModelConfig, json.loads((out / "config.json").read_text()))
    if not (out / "data.json").exists():           # e.g. a run the app's worker trained: its data is given anew
        if not a.data:
            raise ValueError(f"{out} has no data.json (it was not started by `latent-explorer train`): "
                             f"give its data with --data")
        saved = {"spec": a.data, "fit": a.fit or "crop", "labels_from_subfolders": a.labels}
    else:
        saved = json.loads((out / "data.json").read_text())
    g, d = cfg.generator, cfg.discriminator
    fixed = [(a.preset, cfg.train.preset, "--preset"), (a.resolution, g.resolution, "--resolution"),
             (a.channels, g.channels, "--channels"), (a.g_arch, g.arch, "--g-arch"), (a.d_arch, d.arch, "--d-arch"),
             (a.fit, saved.get("fit"), "--fit"), (a.seed, cfg.train.seed, "--seed"),
             (a.labels or None, saved.get("labels_from_subfolders"), "--labels"),
             (a.unconditional or None, g.num_classes == 0, "--unconditional")]
    refused = [f"{flag} (the run was trained without it)" if value is True else f"{flag} {value} (the run has {was})"
               for value, was, flag in fixed if value is not None and value != was]
    refused += [f"{flag} (a resumed run continues its own weights)" for flag, given in
                (("--init", a.init), ("--class-map", a.class_map), ("--new-classes", a.new_classes)) if given]
    if refused:
        raise ValueError("cannot change on --resume: " + "; ".join(refused) + ". Start a new run (another --out), "
                         "or fine-tune one from this run with --init " + str(out))
    load = {k: saved[k] for k in ("spec", "fit", "labels_from_subfolders")} | ({"spec": a.data} if a.data else {})
    return cfg, load


def cmd_train(a: argparse.Namespace) -> int:
    from explorer.config import preset
    from explorer.data.datasets import load_dataset
    from explorer.gan import distributed
    from explorer.gan.checkpoint import latest_training, read_meta
    from explorer.gan.classes import NEW_CLASSES, check_resume_classes
    from explorer.gan.device import pick_device
    from explorer.gan.finetune import prepare_init
    from explorer.gan.train import train_loop

    out = Path(a.out) if a.out else data_dir() / "runs" / time.strftime("run-%Y%m%d-%H%M%S")
    device = pick_device(a.device)
    if distributed.launched_by_torchrun():
        device = distributed.init(device)
    latest = latest_training(out) if a.resume else None
    resuming = latest is not None
    if a.class_map and a.new_classes:
        raise ValueError("--class-map and --new-classes exclude each other")
    if (a.class_map or a.new_classes) and not a.init and not resuming:
        raise ValueError("--class-map and --new-classes say how a fine-tuned model's classes continue: use with --init")
    load: dict[str, Any] = {"spec": a.data, "fit": a.fit or "crop", "labels_from_subfolders": a.labels}
    if resuming:                                   # same model and data options as the run being resumed
        cfg, load = resume_settings(a, out)
    elif not a.data:
        raise ValueError("--data is required for a new run (fashion-mnist, a folder or a .zip)")
    data_spec = load["spec"]
    default_res = 64 if data_spec.partition(":")[0] == "fonts" else 32      # glyph stacks are stored at 64
    res = cfg.generator.resolution if resuming else (a.resolution or default_res)
    ch = cfg.generator.channels if resuming else (a.channels or 1)
    ds = load_dataset(data_spec, resolution=res, channels=ch, fit=load["fit"],
                      labels_from_subfolders=load["labels_from_subfolders"])
    ds.description = {**ds.description, "spec": data_spec, "fit": load["fit"],
                      "labels_from_subfolders": load["labels_from_subfolders"]}
    if ds.skipped:
        print(f"skipped {len(ds.skipped)} file(s): {ds.description.get('skip_reasons')}", flush=True)
    if resuming and latest is not None:            # before data.json is rewritten: refused means untouched
        check_resume_classes(read_meta(latest).get("class_names"), ds.class_names, cfg.generator.num_classes > 0)
    else:
        nc = 0 if a.unconditional or ds.labels is None else len(ds.class_names)
        cfg = preset(a.preset or "balanced", res, ch, nc, glyphs=ds.description.get("glyphs", ""))  # glyphs: fonts
    tr = {k: v for k, v in {
        "steps": a.steps, "max_minutes": a.minutes, "batch_size": a.batch, "seed": a.seed, "loss": a.loss,
        "lr_g": a.lr_g, "lr_d": a.lr_d, "r1_gamma": a.r1, "augment": a.augment, "augment_p": a.augment_p,
        "ada_target": a.ada_target,
        "ema_half_life_k": a.ema, "freeze_d": a.freeze_d, "log_every": a.log_every,
        "sample_every": a.sample_every, "checkpoint_every": a.checkpoint_every,
        "collapse_d_loss": a.collapse_d_loss}.items() if v is not None}
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **tr))
    if not resuming and (a.g_arch or a.d_arch):
        cfg = dataclasses.replace(
            cfg, generator=dataclasses.replace(cfg.generator, arch=a.g_arch or cfg.generator.arch),
            discriminator=dataclasses.replace(cfg.discriminator, arch=a.d_arch or cfg.discriminator.arch,
                                              spectral_norm=(a.d_arch == "resnet") or cfg.discriminator.spectral_norm))
    init = None
    if a.init and not resuming:                    # the source adapted to these classes (or refused, one line)
        class_map = NEW_CLASSES if a.new_classes else a.class_map
        init = distributed.on_lead(lambda: prepare_init(a.init, cfg, out, list(ds.class_names), class_map))
    if distributed.is_lead():
        from explorer.fileio import atomic_write_json
        atomic_write_json(out / "data.json", {**load, "description": ds.description})
        print(f"training {cfg.train.preset} on {data_spec} ({len(ds)} images, "
              f"{len(ds.class_names) if cfg.generator.num_classes else 0} classes) on {device} -> {out}", flush=True)
    lead = distributed.is_lead()
    try:
        r = train_loop(cfg, ds, on_progress=print_progress, run_dir=out, resume=a.resume,
                       init_from=init, device=device)
    except KeyboardInterrupt:
        print("interrupted: resume with --resume (the last checkpoint is intact)", file=sys.stderr)
        return 130
    finally:
        distributed.shutdown()
    if lead and a.json:
        print(json.dumps(r.summary()))
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    import torch

    from explorer.gan.device import load_generator
    from explorer.imaging.render import sample_grid, save_png

    if not (math.isfinite(a.psi) and 0.0 <= a.psi <= 2.0):
        raise ValueError(f"--psi must be between 0 and 2 (1 = no truncation), not {a.psi}")
    check_sample_args(a.n, a.scale, a.seed)
    G, meta = load_generator(a.model, a.device)
    check_grid_pixels(a.n, a.scale, G.cfg.resolution)
    classes = None
    if a.cls is not None:
        if not G.cfg.num_classes:
            raise ValueError("--class given but this model is unconditional")
        classes = torch.full((a.n,), class_index(meta, G.cfg.num_classes, a.cls), dtype=torch.long)
    grid = sample_grid(G, a.n, seed=a.seed, psi=a.psi, classes=classes, device=next(G.parameters()).device)
    save_png(grid, a.out, scale=a.scale)
    print(f"wrote {a.out} ({a.n} samples from {meta['name']}, seed {a.seed}, psi {a.psi})")
    return 0


MAX_SAMPLE_N = 1024                  # `sample --n` at most: a 32x32 grid
MAX_GRID_PIXELS = 40_000_000         # `sample`'s PNG at most (width * height, after --scale), like an upload


def check_seed(seed: int) -> None:
    """Raise ValueError unless `seed` is in 0..SEED_MAX (the app's bounds)."""
    from explorer.explore.latents import SEED_MAX
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"--seed must be between 0 and {SEED_MAX}, not {seed}")


def check_sample_args(n: int, scale: int, seed: int) -> None:
    """`sample`'s --n (1..MAX_SAMPLE_N), --scale (>= 1) and --seed, checked before loading a model;
    raises ValueError with a one-line message."""
    if not 1 <= n <= MAX_SAMPLE_N:
        raise ValueError(f"--n must be between 1 and {MAX_SAMPLE_N}, not {n}")
    if scale < 1:
        raise ValueError(f"--scale must be at least 1, not {scale}")
    check_seed(seed)


def check_grid_pixels(n: int, scale: int, resolution: int, pad: int = 2) -> None:
    """Raise ValueError when a grid of `n` `resolution`-pixel samples upscaled `scale` times would
    exceed MAX_GRID_PIXELS (width * height of the PNG)."""
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    pixels = (rows * (resolution + pad) + pad) * (cols * (resolution + pad) + pad) * scale * scale
    if pixels > MAX_GRID_PIXELS:
        raise ValueError(f"--n {n} at --scale {scale} would make a {pixels:,}-pixel image; the limit is "
                         f"{MAX_GRID_PIXELS:,} pixels (lower --n or --scale)")


def class_index(meta: dict[str, Any], num_classes: int, text: str) -> int:
    """A class given by name or index -> its index. Raises ValueError listing the model's classes."""
    from explorer.gan.classes import show

    names = list(meta.get("class_names") or [])
    if text in names:
        return names.index(text)
    if text.strip().lstrip("-").isdigit() and 0 <= int(text) < num_classes:
        return int(text)
    listed = show(names) if len(names) == num_classes else f"indices 0..{num_classes - 1}"
    raise ValueError(f"{meta.get('name', 'the model')} has no class {text!r}; its classes: {listed} "
                     f"(give a name or an index 0..{num_classes - 1})")


def cmd_evaluate(a: argparse.Namespace) -> int:
    from explorer.evaluation.evaluate import evaluate_model

    if a.n < 2:
        raise ValueError(f"--n must be at least 2 (KID needs at least 2 samples), not {a.n}")
    check_seed(a.seed)
    figures = evaluate_model(a.model, n=a.n, data=a.data, device=a.device, seed=a.seed,
                             progress=None if a.json else lambda m: print(m, flush=True))
    if a.directions:                                   # the model card's "Edit directions" section
        from explorer.explore.direction_quality import model_direction_figures
        figures["directions"] = model_direction_figures(a.model)
    print(json.dumps(figures, indent=None if a.json else 2))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from explorer import fileio
    from explorer.gan.checkpoint import latest_training, resolve
    from explorer.gan.export import export_model

    extra = {}
    if a.card:
        extra["model_card"] = Path(a.card).read_text(encoding="utf-8")
    if a.metrics:
        extra["metrics"] = fileio.loads_json(Path(a.metrics).read_text(encoding="utf-8"), a.metrics)
    if a.baseline_metrics:
        extra["baseline_metrics"] = fileio.loads_json(Path(a.baseline_metrics).read_text(encoding="utf-8"),
                                                      a.baseline_metrics)
    if a.reproduce:
        extra["reproduce"] = a.reproduce
    if a.notes:
        extra["notes"] = Path(a.notes).read_text(encoding="utf-8")
    run = Path(a.run)
    source = (latest_training(run) if run.is_dir() else None) or resolve(run)
    path = export_model(source, a.out, extra, weights=a.weights)
    print(f"wrote {path} and {Path(path).with_suffix('.safetensors')}")
    return 0


def cmd_list(a: argparse.Namespace) -> int:
    from explorer.gan.checkpoint import list_models
    from explorer.settings import pretrained_dir

    for m in list_models(pretrained_dir(), data_dir() / "runs"):
        g = m.meta["generator"]
        print(f"{m.name:24s} {m.source:10s} {g['resolution']}x{g['resolution']}x{g['channels']} "
              f"classes={g['num_classes']} {m.path}")
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    from explorer.bench.speed import run_bench

    figures = run_bench(model=a.model, train_seconds=a.train_seconds, device=a.device,
                        progress=None if a.json else lambda m: print(m, flush=True),
                        parts=tuple(p.strip() for p in a.parts.split(",") if p.strip()),
                        browser_changes=a.browser_changes, watch_phase_s=a.watch_seconds,
                        watch_phases=a.watch_phases, finetune_source=a.finetune_source,
                        finetune_minutes=a.finetune_minutes, loop_seconds=a.loop_seconds, loop_runs=a.loop_runs,
                        inversion_images={m: int(n) for m, _, n in
                                          (x.partition(":") for x in a.inversion_images.split(","))})
    print(json.dumps(figures, indent=None if a.json else 2))
    return 0


def cmd_datasets(a: argparse.Namespace) -> int:
    if a.name == "fonts":
        from explorer.data.fonts import build_fonts
        info = build_fonts(out=a.out, no_tex=a.no_tex, limit_packages=a.limit_packages, workers=a.workers)
        if a.json:
            print(json.dumps(info))
        else:
            print(f"{info['kept']} faces, {info['families']} families (train {info['splits']['train']}, test "
                  f"{info['splits']['test']}); dropped {info['dropped']} -> {info['out']} in {info['seconds']} s")
        return 0
    from explorer.data.emoji import build_emoji

    def show(i: int, n: int) -> None:
        print(f"\rrendering {i}/{n}", end="" if i < n else "\n", file=sys.stderr, flush=True)

    info = build_emoji(resolution=a.resolution, out=a.out, emoji_test=a.emoji_test,
                       progress=None if a.json else show)
    if a.json:
        print(json.dumps(info))
    else:
        print(f"{info['count']} emoji images ({info['resolution']}x{info['resolution']} RGB) from "
              f"{info['candidates']} candidates; dropped {info['dropped']}; {len(info['class_names'])} groups "
              f"{info['class_counts']} -> {info['path']} in {info['seconds']} s")
    return 0


def cmd_figures(a: argparse.Namespace) -> int:
    from explorer.explore.figures import write_figures
    from explorer.gan.device import load_generator

    G, meta = load_generator(a.model, "cpu")
    cls = None
    if a.cls is not None and G.cfg.num_classes:
        cls = class_index(meta, G.cfg.num_classes, a.cls)
    for p in write_figures(G, meta, a.out, k=a.k, seeds=tuple(a.seeds), class_index=cls):
        print(p)
    return 0


def cmd_train_classifier(a: argparse.Namespace) -> int:
    if a.fonts:                                    # the glyph classifier behind `evaluate` of font models
        from explorer.evaluation.typefaces import ship_glyph_classifier
        meta = ship_glyph_classifier(a.out, epochs=a.epochs or 5)
        print(json.dumps(meta["summary"]))
        return 0
    from explorer.evaluation.classifier import build_and_ship

    build_and_ship(a.out or "pretrained/fashion-mnist-classifier", epochs=a.epochs or 6)
    return 0


def cmd_train_encoder(a: argparse.Namespace) -> int:
    from explorer.explore.encoder import train_encoder_for_model

    def show(e: dict) -> None:
        print(f"step {e['step']:>6} | loss {e['loss']:.4f} | {e['elapsed_s']:.0f} s", flush=True)
    path, summary = train_encoder_for_model(a.model, max_seconds=a.minutes * 60, seed=a.seed,
                                            on_progress=None if a.json else show)
    print(json.dumps({"encoder": str(path), **summary}) if a.json else f"wrote {path}: {summary}")
    return 0


DEVICE_HELP = f"{' | '.join(DEVICES)} | cuda:N (default: auto = CUDA, then MPS, then CPU)"


def _train_parser(sub: Any) -> None:
    """`latent-explorer train`'s options."""
    t = sub.add_parser("train", help="train or fine-tune a GAN")
    t.add_argument("--data", help="fashion-mnist[:train|:test], emoji, fonts (glyph stacks), a folder or a .zip")
    t.add_argument("--out", help="run folder (default: <data>/runs/run-<time>)")
    t.add_argument("--preset", choices=sorted(PRESETS), help="default balanced")
    t.add_argument("--resolution", type=int, choices=RESOLUTIONS, help="default 32 (64 for fonts)")
    t.add_argument("--channels", type=int, choices=(1, 3), help="default 1")
    t.add_argument("--fit", choices=("crop", "pad"), help="how non-square images become square (default crop)")
    t.add_argument("--labels", action="store_true", help="use first-level subfolder names as classes")
    t.add_argument("--unconditional", action="store_true", help="ignore labels")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    t.add_argument("--init", help="fine-tune: start from this checkpoint or model")
    t.add_argument("--class-map", metavar="OLD=NEW,...",
                   help="fine-tuning onto other classes: which of the model's classes each class of the data continues")
    t.add_argument("--new-classes", action="store_true",
                   help="fine-tuning onto other classes: every class starts afresh (the model's classes are dropped)")
    t.add_argument("--freeze-d", type=int, help="FreezeD: freeze this many lowest D blocks")
    t.add_argument("--g-arch", choices=GENERATOR_ARCHS, help="override the preset's generator")
    t.add_argument("--d-arch", choices=DISCRIMINATOR_ARCHS, help="override the preset's discriminator")
    t.add_argument("--steps", type=int)
    t.add_argument("--minutes", type=float, help="stop after this much training wall time")
    t.add_argument("--batch", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--loss", choices=LOSSES)
    t.add_argument("--lr-g", type=float)
    t.add_argument("--lr-d", type=float)
    t.add_argument("--r1", type=float, help="R1 penalty weight (gamma)")
    t.add_argument("--augment", help=f"comma list of {','.join(AUGMENTS)} ('' = none)")
    t.add_argument("--augment-p", type=float, help="augmentation probability (the start value when adaptive)")
    t.add_argument("--ada-target", type=float, help="adaptive augmentation target (0 = fixed p)")
    t.add_argument("--ema", type=float, help="EMA half-life in thousands of images (0 = off)")
    t.add_argument("--collapse-d-loss", type=float,
                   help="roll back when the D loss averages below this (cross-entropy losses; 0 = off)")
    t.add_argument("--log-every", type=int)
    t.add_argument("--sample-every", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--device", default="auto", help=DEVICE_HELP)
    t.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    t.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    t.set_defaults(fn=cmd_train)


def _sample_parser(sub: Any) -> None:
    """`latent-explorer sample`'s options."""
    s = sub.add_parser("sample", help="write a grid PNG of samples")
    s.add_argument("model", help="a shipped model name, a run folder, or a .json/.safetensors path")
    s.add_argument("--out", default="samples.png", help="output PNG file (default samples.png)")
    s.add_argument("--n", type=int, default=64, help=f"number of samples, 1..{MAX_SAMPLE_N} (default 64)")
    s.add_argument("--seed", type=int, default=0, help="seed of the first latent, 0..2147483647 (default 0)")
    s.add_argument("--psi", type=float, default=1.0, help="truncation (1 = none)")
    s.add_argument("--class", dest="cls", help="class index or name (conditional models)")
    s.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscaling factor")
    s.add_argument("--device", default="auto", help=DEVICE_HELP)
    s.set_defaults(fn=cmd_sample)


def _evaluate_parser(sub: Any) -> None:
    """`latent-explorer evaluate`'s options."""
    e = sub.add_parser("evaluate",
                       help="offline quality figures (FD, KID, accuracy, precision/recall, SWD, memorisation)")
    e.add_argument("model", help="a shipped model name, a run folder, or a .json/.safetensors path")
    e.add_argument("--data", help="reference set (default: the model's own test split)")
    e.add_argument("--n", type=int, default=10_000, help="generated samples, at least 2 (default 10000)")
    e.add_argument("--seed", type=int, default=0, help="seed of the generated samples, 0..2147483647 (default 0)")
    e.add_argument("--device", default="auto", help=DEVICE_HELP)
    e.add_argument("--json", action="store_true", help="print the figures as one JSON line, without progress")
    e.add_argument("--directions", action="store_true",
                   help="also score the attribute edit directions over 200 seeds (for the model card)")
    e.set_defaults(fn=cmd_evaluate)


def _export_parser(sub: Any) -> None:
    """`latent-explorer export`'s options."""
    x = sub.add_parser("export", help="generator-only export of a run, for shipping")
    x.add_argument("run", help="run folder or training checkpoint .json")
    x.add_argument("out", help="output stem, e.g. pretrained/fashion-mnist")
    x.add_argument("--card", help="markdown file with the model card text (default: written automatically)")
    x.add_argument("--metrics", help="JSON file of figures (from evaluate --json) to embed")
    x.add_argument("--baseline-metrics", help="JSON figures of a baseline (e.g. classic-dcgan) for the card")
    x.add_argument("--reproduce", help="the command that reproduces this model")
    x.add_argument("--notes", help="markdown file of design notes for the model card (why this model)")
    x.add_argument("--weights", default="G_ema", choices=("G_ema", "G"), help="which generator to export")
    x.set_defaults(fn=cmd_export)


def _bench_parser(sub: Any) -> None:
    """`latent-explorer bench`'s options."""
    b = sub.add_parser("bench", help="speed figures")
    b.add_argument("--model", default="fashion-mnist")
    b.add_argument("--train-seconds", type=float, default=60.0)
    b.add_argument("--parts", default="render,directions,train,browser,fonts",
                   help="comma list of render, directions, train, browser, fonts (the font model's face render, "
                        "specimen and OpenType export); also train-page (img/s of a job with "
                        "its progress page open vs closed), finetune (fine-tuning vs scratch, SWD over time) and "
                        "inversion (projection of real images: quality and time, and docs/inversion.png)")
    b.add_argument("--loop-seconds", type=float, default=20.0,
                   help="train: seconds of each run of the loop comparison (the project's loop vs a textbook DCGAN "
                        "loop, classic-dcgan on Fashion-MNIST, 1 thread)")
    b.add_argument("--loop-runs", type=int, default=3, help="train: alternations of that comparison (0 = skip it)")
    b.add_argument("--browser-changes", type=int, default=40, help="slider changes timed per page (>= 30)")
    b.add_argument("--watch-seconds", type=float, default=60.0, help="train-page: seconds per open/closed phase")
    b.add_argument("--watch-phases", type=int, default=6, help="train-page: phases, alternating closed/open")
    b.add_argument("--finetune-source", default="emoji", help="finetune: the shipped 64x64 RGB model to start from")
    b.add_argument("--finetune-minutes", type=float, default=10.0, help="finetune: training minutes of each run")
    b.add_argument("--inversion-images", default="fashion-mnist:200,emoji:100",
                   help="inversion: images projected per shipped model")
    b.add_argument("--device", default="auto", help=DEVICE_HELP)
    b.add_argument("--json", action="store_true")
    b.set_defaults(fn=cmd_bench)


def _datasets_parser(sub: Any) -> None:
    """`latent-explorer datasets`'s options."""
    d = sub.add_parser("datasets", help="build a dataset on demand (emoji: from the Noto Color Emoji font; "
                       "fonts: typefaces from Debian font packages)")
    d.add_argument("name", choices=("emoji", "fonts"))
    d.add_argument("--resolution", type=int, default=64, help="emoji: image side")
    d.add_argument("--out", help="emoji: output .safetensors (default <data>/datasets/emoji-<res>.safetensors); "
                   "fonts: output folder (default <data>/datasets/fonts, fonts-notex with --no-tex)")
    d.add_argument("--no-tex", action="store_true", help="fonts: the lighter package list without TeX Live")
    d.add_argument("--limit-packages", type=int, help="fonts: only the first N packages of the list")
    d.add_argument("--workers", type=int, default=1, help="fonts: rendering processes")
    d.add_argument("--emoji-test", default="/usr/share/unicode/emoji/emoji-test.txt",
                   help="Unicode's emoji-test.txt (sequences and groups; Debian's unicode-data)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=cmd_datasets)


def _figures_parser(sub: Any) -> None:
    """`latent-explorer figures`'s options."""
    f = sub.add_parser("figures", help="README figures: direction strips (PCA, SeFa) and an interpolation strip")
    f.add_argument("model")
    f.add_argument("--out", required=True, help="output stem, e.g. docs/emoji")
    f.add_argument("--k", type=int, default=5, help="directions shown")
    f.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    f.add_argument("--class", dest="cls", help="class index or name (conditional models)")
    f.set_defaults(fn=cmd_figures)


def _train_classifier_parser(sub: Any) -> None:
    """`latent-explorer train-classifier`'s options."""
    c = sub.add_parser("train-classifier", help="train the Fashion-MNIST (or, with --fonts, the glyph) "
                                                "classifier used by the metrics")
    c.add_argument("--fonts", action="store_true", help="the 62-way glyph classifier, on the fonts train split")
    c.add_argument("--out", help="output stem (default: pretrained/fashion-mnist-classifier, "
                                 "pretrained/fonts-glyph-classifier with --fonts)")
    c.add_argument("--epochs", type=int, help="default 6 (5 with --fonts)")
    c.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    c.set_defaults(fn=cmd_train_classifier)


def _train_encoder_parser(sub: Any) -> None:
    """`latent-explorer train-encoder`'s options."""
    n = sub.add_parser("train-encoder", help="train a model's encoder (image -> w+), the first guess of projection; "
                                             "saved beside the model as <name>-encoder.{safetensors,json}")
    n.add_argument("model", help="a shipped model name, a run folder, or a .json path")
    n.add_argument("--minutes", type=float, default=5.0, help="training time")
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    n.add_argument("--json", action="store_true")
    n.set_defaults(fn=cmd_train_encoder)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one sub-parser per command, each built by its own function above."""
    p = argparse.ArgumentParser(prog="latent-explorer", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    _train_parser(sub)
    _sample_parser(sub)
    _evaluate_parser(sub)
    _export_parser(sub)
    sub.add_parser("list", help="list shipped and trained models").set_defaults(fn=cmd_list)
    _bench_parser(sub)
    _datasets_parser(sub)
    _figures_parser(sub)
    _train_classifier_parser(sub)
    _train_encoder_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    from explorer.gan.checkpoint import CheckpointError
    from explorer.gan.runstate import TrainingDiverged

    use_threads("work", getattr(a, "threads", None))  # --threads, else $LATENT_EXPLORER_THREADS, else all cores
    try:
        return a.fn(a)
    except (CheckpointError, OSError, ValueError, TrainingDiverged) as err:
        print(f"latent-explorer {a.cmd}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
