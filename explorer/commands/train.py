"""`latent-explorer train`: train a GAN, fine-tune one (--init) or continue a run (--resume), with
console progress; data-parallel under torchrun.

    latent-explorer train --data fashion-mnist --preset balanced --out data/runs/fm --minutes 60
    latent-explorer train --out data/runs/fm --resume
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.commands.common import DEVICE_HELP
from explorer.config import AUGMENTS, DISCRIMINATOR_ARCHS, GENERATOR_ARCHS, LOSSES, PRESETS, RESOLUTIONS, ModelConfig
from explorer.gan.events import Done, Info, Progress, Rollback, TrainEvent
from explorer.settings import data_dir

if TYPE_CHECKING:
    import torch

    from explorer.gan.steps import ExtraLoss


def _fmt_time(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def print_progress(e: TrainEvent) -> None:
    """Console progress: steps, img/s, ETA, losses; notes and rollbacks; the ending."""
    if isinstance(e, Progress):
        print(f"step {e.step:>7}/{e.steps} | {e.img_per_s:7.1f} img/s | ETA {_fmt_time(e.eta_s):>7} | "
              f"G {e.loss_g:8.4f}  D {e.loss_d:8.4f} | D(real) {e.d_real:+.3f} D(fake) {e.d_fake:+.3f} "
              f"| p_aug {e.augment_p:.3f}" + (f" | read {e.loss_read:.4f}" if e.loss_read else "")
              + (f" | style {e.loss_style:.4f}" if e.loss_style else ""), flush=True)
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


STYLE_TARGET_FACES = 512        # real faces (the first of the training set) that set the style loss's targets


def extra_losses(cfg: ModelConfig, dataset: Any = None) -> ExtraLoss | None:
    """G's extra loss terms for a run whose config asks for them, else None: the glyph reader's
    ("read", `reader_weight` > 0) and the style-consistency loss ("style", `style_weight` > 0, its targets
    measured on the first `STYLE_TARGET_FACES` faces of `dataset`, a glyph-stack ImageDataset).
    Raises ValueError when the reader is missing or is not a glyph classifier for this stack, or when
    the style loss has no glyph stacks to measure."""
    t = cfg.train
    terms: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {}
    if t.reader_weight:
        from explorer.evaluation.glyph_reading_loss import reading_loss
        from explorer.evaluation.glyphs import load_glyph_classifier
        if not Path(t.reader + ".json").is_file():
            raise ValueError(f"no glyph reader at {t.reader}.json: train one with "
                             f"`latent-explorer train-classifier --fonts --seed 1 --out {t.reader}`")
        reader, groups, _ = load_glyph_classifier(t.reader)
        if reader.config.num_classes != cfg.generator.channels:
            raise ValueError(f"the reader at {t.reader} reads {reader.config.num_classes} glyphs but the model "
                             f"draws {cfg.generator.channels}")
        terms["read"] = reading_loss(reader, groups, t.reader_weight, t.reader_glyphs, seed=t.seed)
    if t.style_weight or t.style_texture_weight:
        from explorer.data.glyphmetrics import CHARS
        from explorer.evaluation.style_consistency_loss import real_targets, style_loss
        images = getattr(dataset, "images", None)
        if images is None or images.ndim != 4 or images.shape[1] != len(CHARS):
            raise ValueError(f"the style loss needs glyph stacks of {len(CHARS)} glyphs (the fonts dataset)")
        terms["style"] = style_loss(real_targets(images[:STYLE_TARGET_FACES]), t.style_weight,
                                    t.style_texture_weight)
    if not terms:
        return None

    def extra(fake: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        return {name: fn(fake, step) for name, fn in terms.items()}
    return extra


def cmd_train(a: argparse.Namespace) -> int:
    """`train`: a new run, a fine-tune (--init) or a resumed run (--resume); exit code."""
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
        "collapse_d_loss": a.collapse_d_loss, "reader": a.reader, "reader_weight": a.reader_weight,
        "reader_glyphs": a.reader_glyphs, "style_weight": a.style_weight,
        "style_texture_weight": a.style_texture_weight}.items() if v is not None}
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
                       init_from=init, device=device, extra_loss=extra_losses(cfg, ds))
    except KeyboardInterrupt:
        print("interrupted: resume with --resume (the last checkpoint is intact)", file=sys.stderr)
        return 130
    finally:
        distributed.shutdown()
    if lead and a.json:
        print(json.dumps(r.summary()))
    return 0


def add_parsers(sub: Any) -> None:
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
    t.add_argument("--reader", metavar="STEM",
                   help="glyph stacks: a frozen glyph classifier (not the one `evaluate` uses) whose reading loss "
                        "joins G's; see explorer/evaluation/glyph_reading_loss.py")
    t.add_argument("--reader-weight", type=float, help="weight of the reading loss (0 = off)")
    t.add_argument("--reader-glyphs", type=int, help="glyphs of each face read per step (default 16)")
    t.add_argument("--style-weight", type=float,
                   help="glyph stacks: weight of the style-consistency loss, which pays for a face whose glyphs' "
                        "stroke width, slant and contrast spread more than real faces' (0 = off)")
    t.add_argument("--style-texture-weight", type=float,
                   help="glyph stacks: weight of the style loss's texture terms (dithered strokes, specks around "
                        "glyphs; 0 = off, the default: at weight 1 a fonts run diverged)")
    t.add_argument("--log-every", type=int)
    t.add_argument("--sample-every", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--device", default="auto", help=DEVICE_HELP)
    t.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    t.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    t.set_defaults(fn=cmd_train)
