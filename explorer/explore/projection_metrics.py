"""The networks a projection compares images with, and the figures it reports.

`FeatureNets` holds the model's own discriminator (explorer/gan/critic.py, when one ships or the run
kept one) and, for Fashion-MNIST models, the project's classifier (explorer/evaluation/classifier.py).
Feature distances are LPIPS-style (Zhang et al. 2018, without learned weights): every discriminator
block's activations, unit-normalised over channels at each position, squared differences averaged;
for the classifier, 1 - cosine of the 128-d embeddings.

`measure` gives the honest figures of a reconstruction: PSNR and SSIM (ssim.py) on the 8-bit
images, the feature distance, the discriminator's score of the reconstruction and of the target,
and how far the found w lies from the model's typical w (RMS std units, and its percentile among
held-out samples); `Figures.warnings()` turns poor figures into sentences for the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from explorer.explore import ssim as S
from explorer.gan.protocol import Generator

if TYPE_CHECKING:
    from explorer.evaluation.classifier import FashionClassifier
    from explorer.explore.inversion import Projector
    from explorer.gan.discriminators import Discriminator

PSNR_POOR = 16.0          # dB: below this the reconstruction is visibly another image
SSIM_POOR = 0.45          # below this the structure differs
FAR_FACTOR = 1.8          # a w farther from the mean than this x the samples' 99th-percentile distance is atypical:
                          # on the Fashion-MNIST model, its test images project to 0.9-1.5x it, emoji, noise
                          # and a checkerboard to 2.0-3.6x (200 steps from the encoder, lr 0.2)
CLASSIFIER_SPACE = "Fashion-MNIST classifier embedding (1 - cosine)"
CRITIC_SPACE = "discriminator features (LPIPS-style)"


def critic_features(D: Discriminator, x: torch.Tensor, c: torch.Tensor | None) -> list[torch.Tensor]:
    """The activations after each block of a discriminator (DCGAN or ResNet), pixels up: list of (B, C_i, H_i, W_i)."""
    cfg = D.cfg
    if getattr(cfg, "arch", "") == "dcgan" and cfg.num_classes:
        if c is None:
            raise ValueError("this discriminator is conditional: pass class indices c")
        onehot = F.one_hot(c, cfg.num_classes).to(x.dtype)[:, :, None, None]
        x = torch.cat([x, onehot.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
    out = []
    attn = getattr(D, "attn", {})
    for i, b in enumerate(D.blocks):
        x = b(x)
        if str(i) in attn:
            x = attn[str(i)](x)
        out.append(x)
    return out


def normalised_features(f: torch.Tensor) -> torch.Tensor:
    """Unit-normalise (B, C, H, W) features over channels at each position (LPIPS, Zhang et al. 2018)."""
    return f / (f.square().sum(dim=1, keepdim=True).sqrt() + 1e-8)


def critic_distance(D: Discriminator, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """LPIPS-style distance (B,) between renders x and targets t (B, C, H, W) in D's feature space."""
    b = x.shape[0]
    feats = critic_features(D, torch.cat([x, t]), None if c is None else torch.cat([c, c]))
    per = [(normalised_features(f[:b]) - normalised_features(f[b:])).square().sum(1).flatten(1).mean(1) for f in feats]
    return torch.stack(per).mean(0)


def classifier_distance(clf: FashionClassifier, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """1 - cosine of the classifier embeddings (B,)."""
    f = clf.features(torch.cat([x, t]))
    return 1 - F.cosine_similarity(f[:x.shape[0]], f[x.shape[0]:], dim=1)


def uses_fashion_classifier(G: Generator, meta: dict) -> bool:
    """The Fashion-MNIST classifier applies to 1-channel models trained on Fashion-MNIST."""
    ds = meta.get("dataset") or {}
    names = [str(ds.get(k) or "") for k in ("source", "spec")] + [str(meta.get("name") or "")]
    return G.cfg.channels == 1 and any(n.lower().startswith("fashion-mnist") for n in names)


@dataclass
class FeatureNets:
    critic: Any = None              # explorer.gan.critic.Critic | None
    classifier: FashionClassifier | None = None
    note: str = ""                  # why a network is missing, for the page

    @classmethod
    def for_model(cls, G: Generator, meta: dict) -> FeatureNets:
        """The model's critic (if it has a usable one of its image size) and the classifier where it applies."""
        from explorer.gan.critic import critic_or_reason
        crit, note = critic_or_reason(meta["path"], meta) if meta.get("path") else (None, "")
        if crit is not None and (crit.cfg.channels, crit.cfg.resolution) != (G.cfg.channels, G.cfg.resolution):
            crit, note = None, "the discriminator does not take this model's images"
        clf = None
        if uses_fashion_classifier(G, meta):
            from explorer.evaluation.classifier import load_classifier
            from explorer.settings import pretrained_dir
            try:
                clf, _ = load_classifier(pretrained_dir() / "fashion-mnist-classifier")
                clf.requires_grad_(False)
            except (FileNotFoundError, ValueError):
                clf = None
        return cls(crit, clf, note)

    def feature_loss(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None,
                     w_critic: float, w_classifier: float) -> torch.Tensor:
        """Weighted feature distances (B,) of renders x to targets t, both (B, C, H, W)."""
        total = x.new_zeros(x.shape[0])
        if self.critic is not None and w_critic:
            total = total + w_critic * critic_distance(self.critic.D, x, t, c)
        if self.classifier is not None and w_classifier:
            total = total + w_classifier * classifier_distance(self.classifier, x, t)
        return total

    @torch.no_grad()
    def distance(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> tuple[float | None, str]:
        """The reported feature distance of one render x to its target t (1, C, H, W), and its space."""
        if self.classifier is not None:
            return float(classifier_distance(self.classifier, x, t)[0]), CLASSIFIER_SPACE
        if self.critic is not None:
            return float(critic_distance(self.critic.D, x, t, c)[0]), CRITIC_SPACE
        return None, ""


@dataclass(frozen=True)
class Figures:
    psnr: float                       # dB, 8-bit images
    ssim: float                       # single-scale SSIM (11-tap Gaussian), channels averaged
    feature_distance: float | None    # in `feature_space`; None when the model has no feature network
    feature_space: str
    realness: float | None            # D's raw score of the reconstruction (> 0: "real" for the usual losses)
    target_realness: float | None     # ... and of the target, for comparison
    p_real: float | None              # sigmoid(realness) when D's loss makes it a probability
    w_distance: float                 # RMS distance of the found w from the class mean w, std units
                                      # (w+: the farthest layer)
    w_percentile: float               # share (0..100) of the model's own samples closer to the mean than that
    w_p99: float                      # the 99th-percentile distance of the model's own samples (std units)

    def warnings(self) -> list[str]:
        """Sentences for the page when the figures say the model cannot represent the image well."""
        out = []
        if self.psnr < PSNR_POOR or self.ssim < SSIM_POOR:
            out.append(f"The model cannot represent this image well: the reconstruction differs from it "
                       f"(PSNR {self.psnr:.1f} dB, SSIM {self.ssim:.2f}; poor below {PSNR_POOR:.0f} dB or "
                       f"{SSIM_POOR}). Edits will change the reconstruction, not your image.")
        if self.w_distance > FAR_FACTOR * self.w_p99:
            out.append(f"The found latent lies far from the model's typical w: {self.w_distance:.2f} std from the "
                       f"mean, where 99% of its own samples lie within {self.w_p99:.2f}. Edits may look unnatural.")
        return out


def quantise(x: torch.Tensor) -> torch.Tensor:
    """Round [-1, 1] floats to the 256 levels of an 8-bit image (what is shown and saved)."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


@torch.no_grad()
def measure(proj: Projector, img: torch.Tensor, t: torch.Tensor, ws: torch.Tensor, cls: int | None) -> Figures:
    """Figures of a reconstruction img (1, C, H, W) of target t, from latents ws (1, num_ws, width)."""
    x, y = quantise(img), quantise(t)
    c = None if cls is None else torch.tensor([cls], device=x.device)
    fd, space = proj.nets.distance(x, y, c)
    real = treal = p = None
    crit = proj.nets.critic
    if crit is not None:
        from explorer.gan.critic import probability_real, realness
        lab = None if not crit.conditional else [cls or 0]
        scores = realness(crit, torch.cat([x, y]).cpu(), None if lab is None else lab * 2)
        real, treal = float(scores[0]), float(scores[1])
        p = float(probability_real(real)) if crit.calibrated else None
    prior = proj.prior(cls)
    d = float(prior.distance(ws[0].cpu()).max())
    return Figures(float(S.psnr(x, y)[0]), float(S.ssim(x, y)[0]), fd, space, real, treal, p, d,
                   prior.percentile(d), prior.quantile(0.99))
