"""Fine-tuning a shipped or trained model on new images: which models fit, their config, and weights.

A model fits an upload when it draws the same resolution and channels; class counts may differ.
For the style and FiLM generators (their classes enter through one embedding in the mapping
network) `adapt_generator` folds the mean class input of a conditional source into the first
mapping layer's bias for an unconditional target, or adds class inputs with zero weight (the
model starts out ignoring them) for a conditional target; a DCGAN generator's one-hot class
input channels are dropped or added with zero weight (approximate, see `_adapt_dcgan`). The discriminator is
fine-tuned too when the model has one (a run trained here keeps it in its checkpoints; a shipped model may
carry `<name>-discriminator.*`, see `explorer.gan.critic`): `adapt_discriminator` drops or adds its
class inputs (projection embedding, or one-hot input channels of a DCGAN discriminator without
spectral norm). Without one, a fresh discriminator is trained and FreezeD is not offered.
Classes continue by name: a conditional source fine-tuned on labelled data whose class list differs
needs an explicit class map ("new", or "old=new,..."; see explorer.gan.classes), else ClassMismatch.

    from explorer.gan.finetune import sources, finetune_config, prepare_init
    fits = [s for s in sources(models(), resolution=64, channels=3, num_classes=0) if s.usable]
    cfg = finetune_config(fits[0].info.meta, 0, fits[0].d_config, steps=2000)   # or trainplan.plan(...)
    spec = make_spec(upload_dir, config=cfg, init_from=str(fits[0].init_path))
    # in the worker:  init = prepare_init(spec["init_from"], cfg, run_dir, ds.class_names, spec["class_map"])
    #                 -> train_loop(init_from=init)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from explorer import fileio
from explorer.config import DiscriminatorConfig, GeneratorConfig, ModelConfig, TrainConfig, from_dict, to_dict
from explorer.config import preset as build_preset
from explorer.gan import checkpoint as ckpt
from explorer.gan import critic
from explorer.gan.checkpoint import ModelInfo
from explorer.gan.classes import (
    NEW_CLASSES,
    ClassMismatch,
    ClassPlan,
    class_plan,
    remap_discriminator,
    remap_generator,
)
from explorer.gan.discriminators import Discriminator, build_discriminator
from explorer.gan.generators import DCGANGenerator, MappedGenerator, build_generator, pixel_norm
from explorer.gan.nets import compute_w_avg
from explorer.gan.protocol import Generator


@dataclass
class Source:
    info: ModelInfo
    usable: bool
    note: str                       # why it does not fit, or what fine-tuning from it means
    has_d: bool                     # its discriminator is fine-tuned too (run checkpoints or a shipped export)
    run_as_is: bool = False         # a run trained here with the same classes: fine-tuned from its checkpoint
    d_config: dict | None = None    # the config of its discriminator, when it has one
    class_map: str | None = None    # "new" when its classes are not the upload's: they start afresh

    @property
    def label(self) -> str:
        g = self.info.meta["generator"]
        classes = f", {g['num_classes']} classes" if g.get("num_classes") else ""
        return f"{self.info.name} ({self.info.source}, {g['arch']}{classes})"

    @property
    def init_path(self) -> Path:
        """What the worker fine-tunes from: the run folder (G, G_ema and D as they are) or the export."""
        return self.info.path.parent if self.run_as_is else self.info.path


def _has_training_checkpoint(info: ModelInfo) -> bool:
    return info.source == "trained" and any((info.path.parent / "checkpoints").glob("step-*.json"))


def _d_export(info: ModelInfo) -> Path:
    stem = critic.discriminator_stem(info.path)
    return stem.with_name(stem.name + ".json")


def _d_config(info: ModelInfo) -> dict | None:
    """The config of a model's discriminator: from its export beside it, else from its training summary."""
    if _d_export(info).exists():
        try:
            return fileio.read_json_object(_d_export(info), "a discriminator description").get("discriminator")
        except (OSError, ValueError):
            return None
    return (info.meta.get("training") or {}).get("discriminator")


def _d_adaptable(d: dict | None, num_classes: int) -> bool:
    if not d:
        return False
    return d.get("num_classes", 0) == num_classes or d.get("arch") == "resnet" or not d.get("spectral_norm")


def sources(models: list[ModelInfo], resolution: int, channels: int, num_classes: int,
            class_names: Sequence[str] | None = None) -> list[Source]:
    """Every model with a verdict for an upload of this shape (and these classes, when given); fitting ones
    first. A conditional model whose classes are not the upload's gets class_map "new" (they start afresh)."""
    out = []
    for m in models:
        g = m.meta.get("generator") or {}
        why = None
        if (g.get("resolution"), g.get("channels")) != (resolution, channels):
            kind = "RGB" if g.get("channels") == 3 else "greyscale"
            why = f"draws {g.get('resolution')}x{g.get('resolution')} {kind}"
        if why:
            out.append(Source(m, False, why, False))
            continue
        run_d = _has_training_checkpoint(m)
        shipped_d = _d_export(m).exists()
        d_cfg = _d_config(m) if (run_d or shipped_d) else None
        has_d = (run_d or shipped_d) and _d_adaptable(d_cfg, num_classes)
        as_is = run_d and has_d and g.get("num_classes", 0) == num_classes
        if has_d:
            note = "generator and discriminator are fine-tuned"
        elif run_d or shipped_d:
            note = "generator only (its discriminator cannot change its classes; a fresh one is trained)"
        else:
            note = "generator only (this export has no discriminator; a fresh one is trained)"
        class_map = None
        if class_names is not None:
            try:
                class_plan(m.meta.get("class_names"), list(class_names), None, g.get("num_classes", 0), num_classes)
            except ClassMismatch:
                class_map = NEW_CLASSES
        if class_map:
            note += f"; its {g.get('num_classes', 0)} classes are not this upload's: they start afresh"
            as_is = False
        elif g.get("num_classes", 0) != num_classes:
            note += f"; its {g.get('num_classes', 0)} classes become {num_classes or 'none'}"
        out.append(Source(m, True, note, has_d, as_is, d_cfg if has_d else None, class_map))
    return sorted(out, key=lambda s: not s.usable)


def source_config(meta: dict, d_config: dict | None = None) -> ModelConfig:
    """The model config a generator export (or run) was trained with; presets fill what it lacks.
    `d_config`: the config of its actual discriminator (a shipped export's), if any."""
    g = from_dict(GeneratorConfig, meta["generator"])
    base = build_preset("film" if g.arch == "film" else "classic-dcgan" if g.arch == "dcgan" else "balanced",
                        g.resolution, g.channels, g.num_classes)
    tr = meta.get("training") or {}
    d_config = d_config or tr.get("discriminator")
    d = from_dict(DiscriminatorConfig, d_config) if d_config else base.discriminator
    t = from_dict(TrainConfig, tr["train_config"]) if tr.get("train_config") else base.train
    return ModelConfig(g, d, t)


def finetune_config(meta: dict, num_classes: int, d_config: dict | None = None, **train: Any) -> ModelConfig:
    """The source's own architecture and losses, for `num_classes` classes, with training overrides
    (steps, augment, freeze_d, ...). Preset name "finetune"."""
    src = source_config(meta, d_config)
    t = dataclasses.replace(src.train, preset="finetune", steps=train.pop("steps", 2000), max_minutes=0.0,
                            freeze_d=0, seed=0)
    return ModelConfig(dataclasses.replace(src.generator, num_classes=num_classes),
                       dataclasses.replace(src.discriminator, num_classes=num_classes),
                       dataclasses.replace(t, **train))


# ----------------------------------------------------------------------------- weights

@torch.no_grad()
def adapt_generator(G: Generator, target: GeneratorConfig, plan: ClassPlan | None = None) -> Generator:
    """A generator for `target` (the same but for num_classes) that draws what G draws: for an
    unconditional target, G's mean class input is folded into the first mapping bias; for a new
    class count, class inputs start with zero weight (ignored until training gives them one).
    `plan` (explorer.gan.classes): its order re-indexes G's classes; order None starts every class
    afresh even when the count is the same."""
    src = G.cfg
    if dataclasses.replace(src, num_classes=target.num_classes) != target:
        raise ValueError(f"cannot fine-tune a {src.arch} {src.resolution}px generator into a different "
                         f"architecture or size ({target.arch} {target.resolution}px)")
    if plan is not None and plan.order is not None:
        return G if plan.identity(src.num_classes) else remap_generator(G, plan.order)
    if src.num_classes == target.num_classes and plan is None:
        return G
    new = build_generator(target)
    if src.arch == "dcgan":
        return _adapt_dcgan(cast(DCGANGenerator, G), cast(DCGANGenerator, new))
    G, new = cast(MappedGenerator, G), cast(MappedGenerator, new)      # style / film: a mapping network
    state = {k: v for k, v in G.state_dict().items()
             if not k.startswith("embed.") and k not in ("mapping_net.0.weight", "mapping_net.0.bias", "w_avg")}
    first = cast(nn.Linear, G.mapping_net[0])
    W: torch.Tensor = first.weight                                                  # (w_dim, z [+ w_dim])
    b: torch.Tensor = first.bias
    z = src.z_dim
    if src.num_classes:
        cls_in = W[:, z:] @ pixel_norm(cast(nn.Embedding, G.embed).weight).T         # (w_dim, K)
        W, b = W[:, :z], b + cls_in.mean(dim=1)
    if target.num_classes:
        W = torch.cat([W, torch.zeros(W.shape[0], target.w_dim)], dim=1)
        state["embed.weight"] = cast(nn.Embedding, new.embed).weight.detach().clone()
    state.update({"mapping_net.0.weight": W.clone(), "mapping_net.0.bias": b.clone(), "w_avg": new.w_avg.clone()})
    new.load_state_dict(state)
    compute_w_avg(new)
    return new.eval().requires_grad_(False)


@torch.no_grad()
def adapt_discriminator(D: Discriminator, target: DiscriminatorConfig, plan: ClassPlan | None = None) -> Discriminator:
    """A discriminator for `target` (the same but for num_classes): the projection embedding is dropped
    or freshly made; a DCGAN discriminator's one-hot class input channels are dropped or added with
    zero weight (not possible with spectral norm, which would divide by a zero norm). `plan`: as for
    adapt_generator."""
    src = D.cfg
    if dataclasses.replace(src, num_classes=target.num_classes) != target:
        raise ValueError("cannot fine-tune a discriminator into a different architecture or size")
    if plan is not None and plan.order is not None:
        return D if plan.identity(src.num_classes) else remap_discriminator(D, plan.order)
    if src.num_classes == target.num_classes and plan is None:
        return D
    new = build_discriminator(target)
    fresh = new.state_dict()
    if src.arch == "resnet":
        state = {k: v for k, v in D.state_dict().items() if not k.startswith("embed.")}
        state.update({k: v for k, v in fresh.items() if k.startswith("embed.")})
    elif src.spectral_norm:
        raise ValueError("a spectral-norm DCGAN discriminator cannot change its classes")
    else:
        state = dict(D.state_dict())
        w = state["blocks.0.0.weight"][:, :src.channels]                               # (out, C [+ K], 4, 4)
        if target.num_classes:
            w = torch.cat([w, torch.zeros(w.shape[0], target.num_classes, *w.shape[2:])], dim=1)
        state["blocks.0.0.weight"] = w.clone()
    new.load_state_dict(state)
    return new


def _discriminator(p: Path, cfg: DiscriminatorConfig, plan: ClassPlan | None) -> Discriminator | None:
    """The source's discriminator adapted to `cfg`, or None (none there, unusable, or not adaptable)."""
    try:
        c = critic.load_critic(p)
        return adapt_discriminator(c.D, cfg, plan) if c is not None else None
    except (critic.CriticError, ckpt.CheckpointError, ValueError, OSError):
        return None


@torch.no_grad()
def _adapt_dcgan(G: DCGANGenerator, new: DCGANGenerator) -> Generator:
    """DCGAN generator, other classes: its one-hot class inputs are input channels of the first transposed
    conv (no bias; BatchNorm follows). Old class rows are dropped, new ones start at zero. What the
    mean class added is a per-position constant; its per-channel mean and variance are taken out of
    the BatchNorm running statistics, so the eval-mode output stays close (exact with no classes added
    back is impossible without a bias)."""
    z, k = G.cfg.z_dim, G.cfg.num_classes
    state = {key: v.clone() for key, v in G.state_dict().items() if not key.startswith("embed.")}
    W = state["net.0.weight"]                                                     # (z + K, C, 4, 4)
    if k:
        cls = W[z:]                                                               # (K, C, 4, 4): class k adds cls[k]
        state["net.1.running_mean"] -= cls.mean(dim=(0, 2, 3))
        state["net.1.running_var"] = torch.maximum(state["net.1.running_var"] - cls.var(dim=(0, 2, 3)),
                                                   0.1 * state["net.1.running_var"])
    W = W[:z]
    if new.cfg.num_classes:
        W = torch.cat([W, torch.zeros(new.cfg.num_classes, *W.shape[1:])])
        state["embed.weight"] = cast(nn.Embedding, new.embed).weight.detach().clone()
    state["net.0.weight"] = W
    new.load_state_dict(state)
    return new.eval().requires_grad_(False)


def prepare_init(init_from: str | Path, cfg: ModelConfig, run_dir: str | Path,
                 class_names: Sequence[str] | None = None, class_map: str | None = None) -> str:
    """What train_loop's `init_from` should be for this config: a run folder as is when its networks
    and classes fit; else G (and D when the source has one) adapted to the config's classes, written as
    <run>/init/checkpoints/step-00000000.* (G, G_ema and D) or <run>/init-generator.* (G only), with
    `class_names` recorded. `class_names`: the data's classes (None: not checked); `class_map`: how
    the source's classes continue as them (explorer.gan.classes.class_plan). Raises ClassMismatch
    (a ValueError) when the class lists differ and `class_map` does not say how, CheckpointError."""
    p = Path(init_from)
    if p.is_dir():
        j = ckpt.latest_training(p)
        if j is None:
            raise ValueError(f"{p} has no usable training checkpoint to fine-tune from")
        meta = ckpt.read_meta(j)
        src = from_dict(ModelConfig, meta["config"])
        plan = _plan(meta, src.generator.num_classes, cfg, class_names, class_map)
        if src.generator == cfg.generator and src.discriminator == cfg.discriminator and _same(plan, meta, class_names):
            return str(p)
        G, _ = ckpt.load_generator(j, weights="G_ema")
        D = _discriminator(p, cfg.discriminator, plan)
    else:
        G, meta = ckpt.load_generator(p)
        plan = _plan(meta, G.cfg.num_classes, cfg, class_names, class_map)
        D = _discriminator(p, cfg.discriminator, plan)
        if G.cfg == cfg.generator and D is None and _same(plan, meta, class_names):
            return str(p)
    G = adapt_generator(G, cfg.generator, plan)
    names = list(class_names) if class_names is not None and cfg.generator.num_classes else []
    if D is None:
        out = ckpt.save_generator(Path(run_dir) / "init-generator", G,
                                  {"model_card": f"adapted from {p}", "class_names": names})
        return str(out)
    tensors = {f"{name}.{k}": v.detach().clone().contiguous() for name in ("G", "G_ema")
               for k, v in G.state_dict().items()}
    tensors.update({f"D.{k}": v.detach().clone().contiguous() for k, v in D.state_dict().items()})
    ckpt.save_training(Path(run_dir) / "init", 0, tensors, {"config": to_dict(cfg), "images_seen": 0,
                                                             "adapted_from": str(p), "class_names": names})
    return str(Path(run_dir) / "init")


def _same(plan: ClassPlan | None, meta: dict, class_names: Sequence[str] | None) -> bool:
    """Whether a source's classes are the data's as they are (same names, same order, or none to keep)."""
    return plan is None or (plan.identity(len(plan.order or ())) and list(meta.get("class_names") or []) ==
                            list(class_names or []))


def _plan(meta: dict, source_classes: int, cfg: ModelConfig, class_names: Sequence[str] | None,
          class_map: str | None) -> ClassPlan | None:
    """The class plan from a source sidecar to the data (None when the data's classes are not given)."""
    if class_names is None:
        return None
    return class_plan(meta.get("class_names"), list(class_names), class_map, source_classes,
                      cfg.generator.num_classes)
