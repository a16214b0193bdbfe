"""Discriminators, built from `DiscriminatorConfig` alone. No I/O.

* "resnet": pre-activation residual blocks with spectral norm (SNGAN / BigGAN), optional SAGAN
  attention, minibatch standard deviation, projection conditioning (Miyato & Koyama 2018);
* "dcgan": the textbook strided convolutions + BatchNorm (Radford et al. 2015), conditioned by
  one-hot channels; spectral norm replaces BatchNorm when enabled.
`blocks` is ordered from the pixels up, so FreezeD can freeze a prefix of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from explorer.config import DiscriminatorConfig
from explorer.gan.generators import SelfAttention


def _minibatch_std(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append the mean std-dev over groups of samples as one channel (ProGAN): D can see low diversity."""
    b, c, h, w = x.shape
    g = min(group, b)
    while b % g:
        g -= 1
    y = x.reshape(g, -1, c, h, w)                                  # (G, M, C, H, W); sample j is in column j % M
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()          # (M, C, H, W)
    y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)  # (B, 1, H, W)
    return torch.cat([x, y], dim=1)


def _pool2(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling as a reshape-mean (several times faster than avg_pool2d on CPU)."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))


class DBlock(nn.Module):
    """Pre-activation residual downsampling block (SNGAN / BigGAN)."""

    def __init__(self, cin: int, cout: int, sn: bool, preact: bool = True) -> None:
        super().__init__()
        wrap = spectral_norm if sn else (lambda m: m)
        self.c1 = wrap(nn.Conv2d(cin, cout, 3, 1, 1))
        self.c2 = wrap(nn.Conv2d(cout, cout, 3, 1, 1))
        self.skip = wrap(nn.Conv2d(cin, cout, 1, 1, 0))
        self.preact = preact

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(x, 0.2) if self.preact else x
        h = self.c2(F.leaky_relu(self.c1(h), 0.2))
        return _pool2(h) + self.skip(_pool2(x))      # 1x1 conv and pooling commute: pool first, 4x cheaper


class ResNetDiscriminator(nn.Module):
    def __init__(self, cfg: DiscriminatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        sn = cfg.spectral_norm
        wrap = spectral_norm if sn else (lambda m: m)
        ch = cfg.base_channels
        self.blocks = nn.ModuleList()                 # lowest (closest to pixels) first; FreezeD freezes a prefix
        self.attn = nn.ModuleDict()
        cin, res = cfg.channels, cfg.resolution
        for i in range(cfg.num_blocks):
            cout = min(ch * 2 ** i, cfg.max_channels)
            self.blocks.append(DBlock(cin, cout, sn, preact=(i > 0)))
            res //= 2
            if res == cfg.attention_res:
                self.attn[str(i)] = SelfAttention(cout, sn)
            cin = cout
        self.final = wrap(nn.Conv2d(cin + 1, cin, 3, 1, 1))   # +1: minibatch standard deviation
        self.out = wrap(nn.Linear(cin, 1))
        self.embed = wrap(nn.Embedding(cfg.num_classes, cin)) if cfg.num_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for i, b in enumerate(self.blocks):
            x = b(x)
            if str(i) in self.attn:
                x = self.attn[str(i)](x)
        x = F.leaky_relu(self.final(_minibatch_std(F.leaky_relu(x, 0.2))), 0.2)
        return x.sum(dim=(2, 3))                      # (B, C) global sum pooling

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        out = self.out(h).squeeze(1)                  # (B,)
        if self.embed is not None:
            if c is None:
                raise ValueError("this discriminator is conditional: pass class indices c")
            out = out + (self.embed(c) * h).sum(dim=1)  # projection conditioning
        return out


class DCGANDiscriminator(nn.Module):
    def __init__(self, cfg: DiscriminatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        wrap = spectral_norm if cfg.spectral_norm else (lambda m: m)
        self.blocks = nn.ModuleList()
        cin = cfg.channels + (cfg.num_classes if cfg.num_classes else 0)
        for i in range(cfg.num_blocks):
            cout = min(cfg.base_channels * 2 ** i, cfg.max_channels)
            # Without BatchNorm the convolutions need biases: a bias-free conv + LeakyReLU stack is
            # positively homogeneous (D(a x) = a D(x), D(0) = 0), so a grey, low-contrast fake scores ~0.
            layers: list[nn.Module] = [wrap(nn.Conv2d(cin, cout, 4, 2, 1, bias=cfg.spectral_norm))]
            if i > 0 and not cfg.spectral_norm:           # BatchNorm is the textbook's; SN replaces it
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, True))
            self.blocks.append(nn.Sequential(*layers))
            cin = cout
        self.out = wrap(nn.Conv2d(cin, 1, 4, 1, 0, bias=cfg.spectral_norm))
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and not cfg.spectral_norm:
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.cfg.num_classes:
            if c is None:
                raise ValueError("this discriminator is conditional: pass class indices c")
            onehot = F.one_hot(c, self.cfg.num_classes).to(x.dtype)[:, :, None, None]
            x = torch.cat([x, onehot.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        for b in self.blocks:
            x = b(x)
        return self.out(x).flatten()                  # (B,)


Discriminator = ResNetDiscriminator | DCGANDiscriminator      # D(x (B, C, H, W), c (B,) | None) -> (B,) logits


def build_discriminator(cfg: DiscriminatorConfig) -> Discriminator:
    """A freshly initialised discriminator of cfg.arch ("resnet" or "dcgan"), in training mode."""
    return ResNetDiscriminator(cfg) if cfg.arch == "resnet" else DCGANDiscriminator(cfg)
