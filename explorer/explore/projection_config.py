"""The settings of a projection (explorer/explore/inversion.py): its loss weights and its configuration.

`LossWeights` weighs the loss terms (pixel L2 / L1, 1 - MS-SSIM, the discriminator and classifier
feature distances, the w prior); `ProjectConfig` chooses the space (w or w+), the steps, the
learning-rate schedule of each start (StyleGAN2's from the mean, a measured one from an encoder's
guess), class inference and restarts. Both are re-exported by inversion.py.

    cfg = ProjectConfig(space="w+", steps=200, weights=LossWeights(critic=0.0))
    peak, rampup, rampdown = cfg.schedule(from_encoder=True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

SPACES = ("w", "w+")
OPTIMIZERS = ("lbfgs", "adam")
STARTS = ("encoder", "mean")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the projection loss terms (each term is ~0 for a perfect match)."""
    l2: float = 1.0            # mean squared pixel error, pixels in [-1, 1]
    l1: float = 0.1            # mean absolute pixel error
    ms_ssim: float = 0.5       # 1 - MS-SSIM (as many scales as the image allows, 7-tap window)
    critic: float = 0.2        # LPIPS-style distance of the discriminator's block features
    classifier: float = 0.2    # 1 - cosine of the Fashion-MNIST classifier embeddings (where it applies)
    prior: float = 0.005       # mean(u^2): squared distance from the (class) mean w in std units


@dataclass(frozen=True)
class ProjectConfig:
    space: str = "w"                     # "w": one vector for every layer; "w+": one per layer
    steps: int = 200                     # renders (+ gradient) in all, class trials included; 0 = the first guess
    optimizer: str = "lbfgs"             # "lbfgs": L-BFGS per image after the class trial (lockstep_lbfgs); "adam":
    # Adam with the learning-rate schedule below throughout (StyleGAN2's projector). Same 200 evaluations from the
    # encoder's guess (bench, 2026-12-02): 200 Fashion-MNIST test images 24.38 dB against Adam's 23.85, 100 held-out
    # emoji 20.62 / 20.10, 100 held-out fonts 16.84 / 16.81
    lbfgs_history: int = 50              # L-BFGS curvature pairs kept per image (20 Fashion-MNIST test images,
    # encoder + 200: 10 pairs 24.00 dB, 20 24.16, 50 24.25)
    lr: float = 0.2                      # peak learning rate from the mean, in std units of w (0.08-0.25 tried)
    encoder_lr: float = 0.3              # peak lr from the encoder's guess; with a 5 % ramp-up, at 200 steps in w,
    # 0.3 beat 0.1 without one by 0.26 dB on 50 Fashion-MNIST test images (23.52 vs 23.27, re-measured side by
    # side; docs/inversion.md), 0.16 dB on 50 held-out emoji and 0.04 dB on 20 held-out fonts; re-checked with
    # the longer-trained encoder on 50 other test images: 0.3 (24.35 dB) against 0.2 / 0.45 (24.32 / 24.31)
    encoder_rampup: float = 0.05         # share of the steps the lr ramps up over from the encoder's guess
    encoder_rampdown: float = 0.25       # share of the steps it ramps down over (cosine), from that guess
    start: str = "encoder"               # "encoder" (when the model has one, else the mean) | "mean"
    class_index: int | None = None       # conditional models: None = infer (try each class, keep the best)
    class_trial_steps: int = 20          # steps each candidate class gets before the best is kept
    max_class_trials: int = 16           # at most this many classes are tried without an encoder
    encoder_class_trials: int = 1        # with an encoder: its likeliest classes only. 1: its own guess, as
    # trying its three likeliest and keeping the lowest loss overruled right guesses (60 Fashion-MNIST test
    # images, 200 steps: class accuracy 0.67 with three trials, 0.83 with the encoder's class; PSNR 22.81 vs 22.85)
    restarts: int = 0                    # extra starting points per class, jittered (multi-start against local minima)
    restart_noise: float = 0.5           # std of that jitter, in std units of w
    weights: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, not {self.space!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        if self.lbfgs_history < 1:
            raise ValueError("lbfgs_history must be >= 1")
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {STARTS}, not {self.start!r}")
        if self.steps < 0 or self.lr <= 0 or self.encoder_lr <= 0:
            raise ValueError("steps must be >= 0 and lr, encoder_lr > 0")
        if not (0 <= self.encoder_rampup <= 1 and 0 < self.encoder_rampdown <= 1):
            raise ValueError("encoder_rampup must be in [0, 1] and encoder_rampdown in (0, 1]")

    def schedule(self, from_encoder: bool) -> tuple[float, float, float]:
        """(peak lr, ramp-up share, ramp-down share) for a start: StyleGAN2's ramps from the mean; from the
        encoder's guess its own peak and ramps (measured, see `encoder_lr`)."""
        if from_encoder:
            return self.encoder_lr, self.encoder_rampup, self.encoder_rampdown
        return self.lr, 0.05, 0.25
