"""The discriminator that belongs to a model (its "critic"), and what it thinks of images.

Where it comes from, for a model's JSON sidecar `<dir>/<name>.json`:

1. `<dir>/<name>-discriminator.{safetensors,json}` beside it: a discriminator export (below).
   This is how a shipped model in pretrained/ carries one; it is optional.
2. else, when the sidecar's folder is a run (it has `checkpoints/`): D of the latest training
   checkpoint. A training checkpoint's own sidecar (or a run folder) works the same way.
3. else there is none: `load_critic` returns None and the UI says "this model has no discriminator".

The discriminator export, format "latent-explorer-discriminator" version 1:
`<stem>-discriminator.safetensors` holds D's state dict (spectral-norm vectors and BatchNorm
statistics included); `<stem>-discriminator.json` names its `DiscriminatorConfig`, the training loss
(how to read the scores), the step, the `sha256` of those weights and `generator_sha256`, the
sha256 of the generator export it was trained with (a mismatch means the generator was replaced
since, and the discriminator is refused). Both are written atomically, weights first.

    from explorer.gan import critic
    critic.export_discriminator("data/runs/fm", "pretrained/fashion-mnist")   # after export_model(...)
    c = critic.load_critic("pretrained/fashion-mnist.json")                    # Critic | None
    logits = critic.realness(c.D, images_uint8, labels)                        # (N,) raw D scores
    p = critic.probability_real(logits)                                        # sigmoid, for display

Scores are computed in eval mode, one image at a time when D has a minibatch-std layer, so an
image's score never depends on the other images in the batch.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer import fileio
from explorer.config import DiscriminatorConfig, ModelConfig, from_dict, to_dict
from explorer.gan import checkpoint as ckpt
from explorer.gan.discriminators import Discriminator, ResNetDiscriminator, build_discriminator
from explorer.imaging.render import is_glyph_stack, stack_from_sheet

FORMAT_DISCRIMINATOR = "latent-explorer-discriminator"
FORMAT_VERSION = 1
SUFFIX = "-discriminator"


class CriticError(ValueError):
    """A discriminator exists but cannot be used; the message says why."""


@dataclass
class Critic:
    D: Discriminator                # fp32, CPU, eval mode, gradients off
    cfg: DiscriminatorConfig
    source: str                     # the file its weights came from
    step: int | None                # training step of those weights, when known
    loss: str                       # training loss: "nonsaturating", "minimax", "hinge", "wgan-gp" or ""
    note: str = ""                  # a caveat worth showing (e.g. D is newer than the exported generator)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def conditional(self) -> bool:
        return self.cfg.num_classes > 0

    @property
    def calibrated(self) -> bool:
        """True when sigmoid(score) is a probability the training loss asked D to learn."""
        return self.loss in ("minimax", "nonsaturating")


# ---------------------------------------------------------------- finding and loading


def discriminator_stem(model_json: str | os.PathLike) -> Path:
    """<dir>/<name>.json -> <dir>/<name>-discriminator (no suffix)."""
    p = Path(model_json)
    stem = p.with_suffix("") if p.suffix in (".json", ".safetensors") else p
    return stem.with_name(stem.name + SUFFIX)


def _d_from_training(j: Path, expect_steps: int | None) -> Critic:
    meta = ckpt.read_meta(j)
    if meta["format"] != ckpt.FORMAT_TRAINING:
        raise CriticError(f"{j.name} is not a training checkpoint")
    tensors = ckpt.read_tensors(j, meta)
    try:
        mcfg = from_dict(ModelConfig, meta["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise CriticError(f"{j.name} has an invalid model config: {e}") from None
    sub = {k[2:]: v for k, v in tensors.items() if k.startswith("D.")}
    if not sub:
        raise CriticError(f"{j.name} holds no discriminator weights")
    step = meta.get("step")
    note = ""
    if expect_steps is not None and isinstance(step, int) and step != expect_steps:
        note = (f"the discriminator is from training step {step}, the generator from step {expect_steps}: "
                f"the run went on after this model was exported")
    return Critic(_build(mcfg.discriminator, sub, j.name), mcfg.discriminator, str(j), step,
                  mcfg.train.loss, note)


def _build(cfg: DiscriminatorConfig, tensors: dict[str, torch.Tensor], what: str) -> Discriminator:
    D = build_discriminator(cfg)
    try:
        ckpt.load_state(D, tensors, f"the discriminator in {what}")
    except ckpt.CheckpointError as e:
        raise CriticError(str(e)) from None
    D = D.float().eval().requires_grad_(False)
    return D.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # as in training (nets.build_nets)


def read_discriminator(stem: str | os.PathLike, generator_sha256: str | None = None) -> Critic:
    """Load a discriminator export; refuse it if it was trained with another generator than `generator_sha256`."""
    stem = Path(stem)
    j = stem.with_name(stem.name + ".json") if stem.suffix != ".json" else stem
    if not j.exists():
        raise CriticError(f"missing discriminator description {j}")
    meta = fileio.read_json_object(j, "a discriminator description", CriticError)
    if meta.get("format") != FORMAT_DISCRIMINATOR:
        raise CriticError(f"{j.name} is not a Latent Explorer discriminator (format {meta.get('format')!r})")
    v = meta.get("format_version")
    if not isinstance(v, int) or v > FORMAT_VERSION:
        raise CriticError(f"{j.name} has format version {v!r}; this program reads version {FORMAT_VERSION}: "
                          f"update Latent Explorer to use it")
    want = meta.get("generator_sha256")
    if generator_sha256 and want and want != generator_sha256:
        raise CriticError(f"{j.name} was trained with another version of this generator (sha256 {want[:12]}, "
                          f"the model is {generator_sha256[:12]}); export it again with export_discriminator")
    try:
        cfg = from_dict(DiscriminatorConfig, meta["discriminator"])
    except (KeyError, TypeError, ValueError) as e:
        raise CriticError(f"{j.name} has an invalid discriminator config: {e}") from None
    w = j.with_suffix(".safetensors")
    try:
        tensors = ckpt.read_tensors(w, meta)
    except ckpt.CheckpointError as e:
        raise CriticError(str(e)) from None
    step = meta.get("step")
    return Critic(_build(cfg, tensors, w.name), cfg, str(w), step if isinstance(step, int) else None,
                  str(meta.get("loss") or ""))


def load_critic(model: str | os.PathLike, meta: dict | None = None) -> Critic | None:
    """The discriminator of a model (sidecar, run folder or training checkpoint), or None if it has none.

    Raises CriticError (with a sentence a person can act on) when one exists but cannot be used.
    """
    p = Path(model)
    if p.is_dir():
        return _latest(p, None) if (p / "checkpoints").is_dir() else None
    p = p if p.suffix == ".json" else p.with_name(p.name.removesuffix(".safetensors") + ".json")
    if p.is_file():
        meta = meta if meta is not None else ckpt.read_meta(p)
        if meta.get("format") == ckpt.FORMAT_TRAINING:
            return _d_from_training(p, None)
        d_stem = discriminator_stem(p)
        if d_stem.with_name(d_stem.name + ".json").exists():
            return read_discriminator(d_stem, meta.get("sha256"))
        run = p.parent if (p.parent / "checkpoints").is_dir() else None      # a run's model.json
        steps = (meta.get("training") or {}).get("steps")
        return _latest(run, steps if isinstance(steps, int) else None) if run is not None else None
    raise CriticError(f"no model at {p}")


def _latest(run: Path, expect_steps: int | None) -> Critic | None:
    j = ckpt.latest_training(run)
    return None if j is None else _d_from_training(j, expect_steps)


def critic_or_reason(model: str | os.PathLike, meta: dict | None = None) -> tuple[Critic | None, str]:
    """(critic, "") or (None, a sentence for the page): never raises for a missing or broken discriminator."""
    try:
        c = load_critic(model, meta)
    except (CriticError, ckpt.CheckpointError, OSError) as e:
        return None, f"This model's discriminator cannot be used: {e}"
    if c is None:
        return None, ("This model has no discriminator: only its generator was shipped. Models trained in "
                      "this app keep theirs in the run's checkpoints.")
    return c, ""


# ---------------------------------------------------------------- scoring


def as_model_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) uint8 (as rendered) or (N, C, H, W) float in [-1, 1] -> (N, C, H, W) float32."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if images.dtype == torch.uint8:
        if images.ndim == 3:
            images = images[None]
        return images.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return images.float()


def realness(D: Discriminator | Critic, images: np.ndarray | torch.Tensor,
             labels: torch.Tensor | np.ndarray | list[int] | int | None = None, batch: int = 256) -> torch.Tensor:
    """D's raw scores (logits) (N,): above 0 means "real" for the usual losses. Inference mode, CPU, fp32.

    `images`: uint8 (N, H, W, C) as rendered (a glyph-stack D also takes glyph sheets (N, H', W', 1), as
    rendered), or float (N, C, H, W) in [-1, 1]. `labels`: class indices
    for a conditional D (one int for all), ignored by an unconditional one.
    """
    lock = D.lock if isinstance(D, Critic) else None
    D = D.D if isinstance(D, Critic) else D
    cfg = getattr(D, "cfg", None)
    if cfg is not None and is_glyph_stack(cfg.channels) and isinstance(images, np.ndarray) and images.ndim == 4 \
            and images.shape[-1] == 1:                     # glyph sheets as rendered: back to (N, R, R, G) stacks
        images = np.stack([stack_from_sheet(im, cfg.channels).transpose(1, 2, 0) for im in images])
    x = as_model_input(images)
    if cfg is not None and (x.shape[1], x.shape[2]) != (cfg.channels, cfg.resolution):
        raise ValueError(f"the discriminator takes {cfg.channels}x{cfg.resolution}x{cfg.resolution} images, "
                         f"not {x.shape[1]}x{x.shape[2]}x{x.shape[3]}")
    c = None
    if cfg is not None and cfg.num_classes:
        if labels is None:
            raise ValueError("this discriminator is conditional: give the images' classes")
        c = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        c = c.expand(x.shape[0]) if c.numel() == 1 else c
        if c.shape[0] != x.shape[0] or (c.numel() and (c.min() < 0 or c.max() >= cfg.num_classes)):
            raise ValueError(f"need one class in 0..{cfg.num_classes - 1} per image")
    step = 1 if isinstance(D, ResNetDiscriminator) else batch     # minibatch std: score each image alone
    out = []
    with (lock or contextlib.nullcontext()), torch.inference_mode():
        was = D.training
        D.eval()
        for i in range(0, x.shape[0], step):
            out.append(D(x[i:i + step], None if c is None else c[i:i + step]).float().reshape(-1))
        D.train(was)
    return torch.cat(out) if out else torch.zeros(0)


def probability_real(logits: torch.Tensor | float) -> torch.Tensor | float:
    """sigmoid(score): D's "probability real" (a calibrated probability only for minimax/non-saturating D)."""
    if isinstance(logits, torch.Tensor):
        return torch.sigmoid(logits)
    return float(1.0 / (1.0 + np.exp(-float(logits))))


# ---------------------------------------------------------------- exporting


def export_discriminator(training: str | os.PathLike, stem: str | os.PathLike,
                         generator_sha256: str | None = None) -> Path:
    """Write `<stem>-discriminator.{safetensors,json}` from a run folder's latest checkpoint (or one
    training checkpoint's JSON), for the generator export `<stem>.json`.

    Call it right after `explorer.gan.export.export_model(training, stem)`; `generator_sha256` defaults
    to the sha256 recorded in `<stem>.json`. Returns the discriminator's JSON path.
    """
    src = Path(training)
    j = ckpt.latest_training(src) if src.is_dir() else src.with_suffix(".json")
    if j is None or not j.exists():
        raise CriticError(f"no training checkpoint in {src} (expected checkpoints/step-*.json)")
    stem = Path(stem)
    stem = stem.with_suffix("") if stem.suffix in (".json", ".safetensors") else stem
    if generator_sha256 is None:
        gj = stem.with_name(stem.name + ".json")
        if not gj.exists():
            raise CriticError(f"{gj} does not exist: export the generator first, or pass generator_sha256")
        generator_sha256 = str(ckpt.read_meta(gj).get("sha256") or "")
        if not generator_sha256:
            raise CriticError(f"{gj.name} records no sha256")
    c = _d_from_training(j, None)
    out = discriminator_stem(stem)
    w = out.with_name(out.name + ".safetensors")
    sha = fileio.atomic_save_tensors(w, c.D.state_dict())
    side = {"format": FORMAT_DISCRIMINATOR, "format_version": FORMAT_VERSION,
            "discriminator": to_dict(c.cfg), "loss": c.loss, "step": c.step,
            "generator_sha256": generator_sha256, "trained_in": str(j.parent.parent.name),
            "weights": w.name, "sha256": sha, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    fileio.atomic_write_json(out.with_name(out.name + ".json"), side)
    return out.with_name(out.name + ".json")
