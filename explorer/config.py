"""Typed configuration: what a model is and how it is trained.

Every model is rebuilt from its `GeneratorConfig` / `DiscriminatorConfig` alone (they are
saved beside the weights), and every run from its `TrainConfig`. Presets are named
`TrainConfig`s; `classic-dcgan` is the textbook baseline the shipped models are measured
against.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# The named choices, defined once: the configs check against these tuples and the CLI offers them.
Loss = Literal["minimax", "nonsaturating", "hinge", "wgan-gp"]
GeneratorArch = Literal["style", "film", "dcgan"]
DiscriminatorArch = Literal["resnet", "dcgan"]
Augment = Literal["color", "translation", "cutout"]
Device = Literal["auto", "cpu", "cuda", "mps"]      # or "cuda:N"; see explorer.gan.device.pick_device

LOSSES: tuple[Loss, ...] = get_args(Loss)
GENERATOR_ARCHS: tuple[GeneratorArch, ...] = get_args(GeneratorArch)
DISCRIMINATOR_ARCHS: tuple[DiscriminatorArch, ...] = get_args(DiscriminatorArch)
AUGMENTS: tuple[Augment, ...] = get_args(Augment)
DEVICES: tuple[Device, ...] = get_args(Device)
RESOLUTIONS = (32, 64, 128)

_C = TypeVar("_C", bound="DataclassInstance")     # a config dataclass


@dataclass(frozen=True)
class GeneratorConfig:
    # "style": mapping z->w, w modulates every conv (StyleGAN2); "film": DCGAN-shaped transposed convs with
    # AdaIN/FiLM from w per block; "dcgan": textbook (w is z)
    arch: GeneratorArch = "style"
    resolution: int = 32       # output side in pixels: 32, 64 or 128
    channels: int = 1          # image channels: 1 (grayscale), 3 (RGB), or len(glyphs) for a glyph stack
    glyphs: str = ""           # glyph stack: the characters of the channels, in order ("" = an image)
    z_dim: int = 128           # size of the input noise z
    w_dim: int = 128           # size of the intermediate latent w (style arch only)
    mapping_layers: int = 2    # depth of the z->w MLP (style arch only)
    num_classes: int = 0       # 0 = unconditional; otherwise a class embedding joins z in the mapping
    base_channels: int = 256   # feature channels at 4x4; halved at every doubling of resolution
    min_channels: int = 32     # floor on feature channels
    attention_res: int = 0     # resolution of a SAGAN self-attention block, 0 = none

    def __post_init__(self) -> None:
        _check(self.arch in GENERATOR_ARCHS, f"arch must be 'style', 'film' or 'dcgan', not {self.arch!r}")
        _check(self.resolution in RESOLUTIONS, f"resolution must be 32, 64 or 128, not {self.resolution}")
        _check_channels(self.channels, self.glyphs)
        _check(self.z_dim > 0 and self.w_dim > 0, "z_dim and w_dim must be positive")
        _check(self.num_classes >= 0, "num_classes must be >= 0")
        _check(self.attention_res == 0
               or (self.attention_res in (8, 16, 32, 64) and self.attention_res < self.resolution),
               f"attention_res must be 0 or a resolution below the output, not {self.attention_res}")

    @property
    def num_blocks(self) -> int:
        """Upsampling blocks from 4x4 to the output resolution."""
        return {32: 3, 64: 4, 128: 5}[self.resolution]

    def channels_at(self, res: int) -> int:
        """Feature channels of the block whose output is `res` x `res`."""
        c = self.base_channels
        r = 4
        while r < res:
            c //= 2
            r *= 2
        return max(c, self.min_channels)


@dataclass(frozen=True)
class DiscriminatorConfig:
    # "resnet": spectral-norm residual blocks; "dcgan": textbook strided convs + BatchNorm
    arch: DiscriminatorArch = "resnet"
    resolution: int = 32       # input side in pixels
    channels: int = 1          # input channels: 1, 3, or len(glyphs) for a glyph stack
    glyphs: str = ""           # glyph stack: the characters of the channels, in order ("" = an image)
    num_classes: int = 0       # 0 = unconditional; otherwise projection conditioning (Miyato & Koyama 2018)
    base_channels: int = 32    # channels of the first (full-resolution) block; doubled at each halving
    max_channels: int = 256    # ceiling on feature channels
    attention_res: int = 0     # resolution of a SAGAN self-attention block, 0 = none
    spectral_norm: bool = True # spectral normalisation on every weight (off in the dcgan preset)

    def __post_init__(self) -> None:
        _check(self.arch in DISCRIMINATOR_ARCHS, f"arch must be 'resnet' or 'dcgan', not {self.arch!r}")
        _check(self.resolution in RESOLUTIONS, f"resolution must be 32, 64 or 128, not {self.resolution}")
        _check_channels(self.channels, self.glyphs)

    @property
    def num_blocks(self) -> int:
        """Downsampling blocks from the input resolution to 4x4."""
        return {32: 3, 64: 4, 128: 5}[self.resolution]


@dataclass(frozen=True)
class TrainConfig:
    preset: str = "custom"         # name of the preset this config came from
    loss: Loss = "hinge"           # one of LOSSES
    r1_gamma: float = 0.0          # R1 penalty weight on real images, 0 = off
    gp_weight: float = 10.0        # gradient-penalty weight (wgan-gp only)
    lr_g: float = 2e-4             # generator Adam learning rate
    lr_d: float = 2e-4             # discriminator Adam learning rate (TTUR: set higher than lr_g)
    mapping_lr_mult: float = 0.01  # learning-rate multiplier of the z->w mapping network (StyleGAN)
    beta1: float = 0.0             # Adam beta1
    beta2: float = 0.99            # Adam beta2
    batch_size: int = 64           # images per step (per process when data-parallel)
    steps: int = 10_000            # generator steps to train
    max_minutes: float = 0.0       # stop after this much wall-clock training time, 0 = no limit
    d_steps: int = 1               # discriminator updates per generator update
    ema_half_life_k: float = 1.0   # EMA half-life in thousands of images, 0 = no EMA (G_ema copies G)
    ema_rampup: float = 0.05       # EMA ramp-up as a fraction of images seen (StyleGAN2-ADA), 0 = none
    augment: str = ""              # comma-separated DiffAugment policies from AUGMENTS, "" = none
    augment_p: float = 1.0         # probability of each augmentation per image (initial value when adaptive)
    ada_target: float = 0.0        # adaptive p: target for E[sign(D(real))], 0 = fixed p
    ada_speed_k: float = 50.0      # adaptive p: thousands of images for p to go 0 -> 1
    freeze_d: int = 0              # FreezeD: number of lowest discriminator blocks frozen when fine-tuning
    seed: int = 0                  # seeds noise, data order and augmentation; same seed, same run on CPU
    log_every: int = 50            # steps between progress reports
    sample_every: int = 500        # steps between sample grids (0 = never)
    checkpoint_every: int = 1000   # steps between checkpoints (0 = only at the end)
    divergence_limit: float = 1e4  # |loss| above this (or NaN/inf) counts as divergence and rolls back
    collapse_d_loss: float = 0.005  # cross-entropy losses: D loss averaging below this = collapse, rolls back (0 = off)
    max_rollbacks: int = 5         # guard rollbacks before training stops as diverged (TrainingDiverged)
    ada_every: int = 4             # steps between updates of the adaptive augmentation p (StyleGAN2-ADA)
    collapse_warmup: int = 100     # steps after a start or a rollback before the collapse check applies
    collapse_decay: float = 0.97   # decay of the D-loss moving average the collapse check reads (~30 steps)
    reader: str = ""               # glyph stacks: stem of a frozen glyph classifier (the "reader") whose
    reader_weight: float = 0.0     # cross-entropy on G's glyphs joins G's loss with this weight (0 = off)
    reader_glyphs: int = 16        # glyphs of each generated face the reader reads per step (a random subset)
    style_weight: float = 0.0      # glyph stacks: weight of the style-consistency loss (the glyphs' spread of
                                   # stroke width, slant and contrast above real faces'; 0 = off)
    style_texture_weight: float = 0.0  # its texture terms (dithered strokes, specks; 0 = off: at 1 a run diverged)

    def __post_init__(self) -> None:
        _check(self.loss in LOSSES, f"loss must be one of {LOSSES}, not {self.loss!r}")
        for a in self.augment_list:
            _check(a in AUGMENTS, f"unknown augmentation {a!r}; choose from {AUGMENTS}")
        _check(self.batch_size > 0, "batch_size must be positive")
        _check(self.collapse_d_loss >= 0, "collapse_d_loss must be >= 0")
        _check(self.log_every > 0 and self.d_steps > 0, "log_every and d_steps must be at least 1")
        _check(min(self.steps, self.sample_every, self.checkpoint_every) >= 0 and self.max_minutes >= 0,
               "steps, sample_every, checkpoint_every and max_minutes must be >= 0")
        _check(self.lr_g > 0 and self.lr_d > 0 and self.r1_gamma >= 0 and self.gp_weight >= 0,
               "learning rates must be positive, r1_gamma and gp_weight >= 0")
        _check(self.max_rollbacks >= 0 and self.ada_every > 0 and self.collapse_warmup >= 0
               and 0.0 <= self.collapse_decay < 1.0,
               "max_rollbacks and collapse_warmup must be >= 0, ada_every > 0, collapse_decay in [0, 1)")
        _check(0.0 <= self.augment_p <= 1.0, "augment_p must be in [0, 1]")
        _check(self.reader_weight >= 0 and self.reader_glyphs > 0, "reader_weight must be >= 0, reader_glyphs >= 1")
        _check(not self.reader_weight or bool(self.reader), "reader_weight > 0 needs a reader (a classifier stem)")
        _check(self.style_weight >= 0 and self.style_texture_weight >= 0,
               "style_weight and style_texture_weight must be >= 0")

    @property
    def augment_list(self) -> list[str]:
        return [a.strip() for a in self.augment.split(",") if a.strip()]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a G/D pair plus how to train it."""

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def preset(name: str, resolution: int = 32, channels: int = 1, num_classes: int = 0,
           glyphs: str = "") -> ModelConfig:
    """A named recipe, sized for the data. Names: see PRESETS. With `glyphs` (a glyph stack, e.g. the
    62 characters A-Z a-z 0-9 of a font face) the model has one channel per glyph, whatever `channels` says."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    m = PRESETS[name](resolution, 1 if glyphs else channels, num_classes)
    return with_glyphs(m, glyphs) if glyphs else m


def with_glyphs(m: ModelConfig, glyphs: str) -> ModelConfig:
    """`m` with generator and discriminator turned into glyph-stack models: one channel per glyph."""
    return dataclasses.replace(
        m, generator=dataclasses.replace(m.generator, channels=len(glyphs), glyphs=glyphs),
        discriminator=dataclasses.replace(m.discriminator, channels=len(glyphs), glyphs=glyphs))


def _classic_dcgan(res: int, ch: int, nc: int) -> ModelConfig:
    # Radford et al. 2015: BatchNorm DCGAN, non-saturating BCE, Adam 2e-4 (0.5, 0.999),
    # no augmentation, no EMA. Unconditional, as in the paper.
    return ModelConfig(
        GeneratorConfig(arch="dcgan", resolution=res, channels=ch, z_dim=100, w_dim=100,
                        num_classes=0, base_channels=256, min_channels=32),
        DiscriminatorConfig(arch="dcgan", resolution=res, channels=ch, num_classes=0,
                            base_channels=32, max_channels=256, spectral_norm=False),
        TrainConfig(preset="classic-dcgan", loss="nonsaturating", lr_g=2e-4, lr_d=2e-4,
                    beta1=0.5, beta2=0.999, ema_half_life_k=0.0, ema_rampup=0.0, augment=""),
    )


def _balanced(res: int, ch: int, nc: int) -> ModelConfig:
    # The shipped recipe: style generator, SN-ResNet discriminator with projection,
    # hinge loss, TTUR, EMA, DiffAugment with adaptive probability.
    small = res <= 32
    return ModelConfig(
        GeneratorConfig(arch="style", resolution=res, channels=ch, z_dim=128, w_dim=128,
                        mapping_layers=2, num_classes=nc,
                        base_channels=128 if small else 256, min_channels=16 if small else 32),
        DiscriminatorConfig(arch="resnet", resolution=res, channels=ch, num_classes=nc,
                            base_channels=16 if small else 32, max_channels=128 if small else 256),
        TrainConfig(preset="balanced", loss="hinge", lr_g=2e-4, lr_d=4e-4, beta1=0.0, beta2=0.99,
                    ema_half_life_k=10.0, ema_rampup=0.05, augment="color,translation,cutout",
                    augment_p=0.0, ada_target=0.6, ada_speed_k=50.0, steps=100_000),
    )


def _film(res: int, ch: int, nc: int) -> ModelConfig:
    # The textbook DCGAN recipe (BatchNorm D, non-saturating loss, Adam 2e-4 / 0.5) with three
    # changes: a mapping network z -> w driving every generator block through FiLM, class
    # conditioning, and an EMA generator. Learns as fast as a DCGAN on a CPU.
    return ModelConfig(
        GeneratorConfig(arch="film", resolution=res, channels=ch, z_dim=128, w_dim=128, mapping_layers=2,
                        num_classes=nc, base_channels=256, min_channels=32),
        DiscriminatorConfig(arch="dcgan", resolution=res, channels=ch, num_classes=nc, base_channels=32,
                            max_channels=256, spectral_norm=False),
        TrainConfig(preset="film", loss="nonsaturating", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999,
                    ema_half_life_k=10.0, ema_rampup=0.05, augment="", steps=100_000),
    )


def _quick(res: int, ch: int, nc: int) -> ModelConfig:
    m = _balanced(res, ch, nc)
    return dataclasses.replace(
        m,
        generator=dataclasses.replace(m.generator, base_channels=64, min_channels=16),
        discriminator=dataclasses.replace(m.discriminator, base_channels=16, max_channels=64),
        train=dataclasses.replace(m.train, preset="quick", steps=500),
    )


def _best(res: int, ch: int, nc: int) -> ModelConfig:
    m = _balanced(res, ch, nc)
    return dataclasses.replace(
        m,
        generator=dataclasses.replace(m.generator, base_channels=256, attention_res=16 if res >= 32 else 0),
        discriminator=dataclasses.replace(m.discriminator, base_channels=64, max_channels=256),
        train=dataclasses.replace(m.train, preset="best", r1_gamma=0.0, steps=50_000),
    )


def _tiny(res: int, ch: int, nc: int) -> ModelConfig:
    # For tests: a few thousand parameters, trains a step in milliseconds.
    m = _balanced(res, ch, nc)
    return dataclasses.replace(
        m,
        generator=dataclasses.replace(m.generator, z_dim=8, w_dim=8, base_channels=16, min_channels=4),
        discriminator=dataclasses.replace(m.discriminator, base_channels=4, max_channels=16),
        train=dataclasses.replace(m.train, preset="tiny", batch_size=8, steps=4, log_every=1,
                                  sample_every=0, checkpoint_every=0),
    )


def _fonts(res: int, ch: int, nc: int) -> ModelConfig:
    # Glyph stacks (a font face as one channel per glyph, 64x64; use with glyphs=...): the film recipe
    # (mapping z -> w, one w per generator block through FiLM, a DCGAN-shaped D judging the whole stack
    # of a face, non-saturating loss, EMA) plus DiffAugment translation at a fixed p (2,938 training
    # faces: D overfits without it; colour jitter means nothing for ink). Chosen by measurement, one
    # thread, batch 32, 64 px, 62 glyphs (CPU time, so a shared machine does not skew it): style G + SN-ResNet D
    # 12.1 faces per CPU-second, film G + SN-ResNet D 14.4, film G + DCGAN D 49.2. The SN-ResNet D was
    # the bottleneck; 4x more faces seen in the same hours beat its better conditioning here.
    # The D has spectral norm instead of BatchNorm: a BatchNorm D normalises each batch (all real or all
    # fake) separately, so it cannot see a global shift or scale of the fakes' intensities; with it the
    # first fonts run (4,000 steps) and a side-by-side trial drew faint glyphs on a grey ground (median
    # pixel -0.22 and -0.18 after 900 steps, no pixel below -0.9; real: median -1). SN, same speed: -0.40
    # after 900 steps and rising contrast.
    m = _film(res, ch, nc)
    return dataclasses.replace(
        m,
        discriminator=dataclasses.replace(m.discriminator, spectral_norm=True),
        train=dataclasses.replace(m.train, preset="fonts", batch_size=32, augment="translation", augment_p=0.2,
                                  ema_half_life_k=5.0, steps=1_000_000, log_every=50,
                                  sample_every=500, checkpoint_every=500),
    )


PRESETS = {
    "classic-dcgan": _classic_dcgan,
    "fonts": _fonts,
    "quick": _quick,
    "balanced": _balanced,
    "film": _film,
    "best": _best,
    "tiny": _tiny,
}


# fields that configs written by earlier versions may still carry; ignored on load
REMOVED_FIELDS: dict[str, tuple[str, ...]] = {"TrainConfig": ("num_workers",)}


def to_dict(cfg: Any) -> dict:
    """A config dataclass as plain JSON-able dict."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type[_C], d: Any) -> _C:
    """Rebuild a config dataclass from a dict, rejecting unknown keys with a clear message.

    Raises ValueError when d is not a dict or has unknown keys, TypeError or ValueError on bad values."""
    if not isinstance(d, dict):
        raise ValueError(f"{cls.__name__} must be a JSON object, not {type(d).__name__}")
    known = {f.name: f for f in fields(cls)}
    d = {k: v for k, v in d.items() if k not in REMOVED_FIELDS.get(cls.__name__, ())}   # older files load
    unknown = set(d) - set(known)
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    kwargs = {}
    for k, v in d.items():
        if k in ("generator", "discriminator", "train") and cls is ModelConfig:
            sub = {"generator": GeneratorConfig, "discriminator": DiscriminatorConfig, "train": TrainConfig}[k]
            v = from_dict(sub, v)
        kwargs[k] = v
    return cls(**kwargs)


def _check_channels(channels: int, glyphs: str) -> None:
    if glyphs:
        _check(channels == len(glyphs) and len(set(glyphs)) == len(glyphs),
               f"a glyph stack has one channel per distinct glyph: {len(glyphs)} glyphs but channels={channels}")
    else:
        _check(channels in (1, 3), f"channels must be 1 or 3 (or a glyph stack), not {channels}")


def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise ValueError(msg)
