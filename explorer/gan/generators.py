"""Generator networks, built from their config dataclasses alone. No I/O. (Discriminators: discriminators.py.)

Style generator (arch="style"):
    z (B, z_dim) [+ class embedding] -> mapping MLP -> w (B, w_dim)
    w is broadcast to ws (B, num_ws, w_dim): one w per synthesis layer, so an edit can be
    applied to a range of layers only (coarse / middle / fine).
    learned 4x4 constant -> modulated conv -> [upsample, modconv, modconv] x num_blocks -> toRGB
    Modulation is StyleGAN2's (scale input channels by an affine style of w, convolve,
    demodulate), written in its unfused form, which is fast on CPU as well as GPU.

FiLM generator (arch="film", the shipped Fashion-MNIST model): DCGAN-shaped transposed convs +
BatchNorm, with w scaling and shifting the features of every block; one w per block.

DCGAN generator (arch="dcgan"): the textbook transposed-conv + BatchNorm network; its "w" is
z itself and num_ws is 1, so the explorer can treat every model the same way.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from explorer.config import GeneratorConfig
from explorer.gan.protocol import Generator


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019); gamma starts at 0 so it fades in."""

    def __init__(self, ch: int, sn: bool = False) -> None:
        super().__init__()
        wrap = spectral_norm if sn else (lambda m: m)
        self.q = wrap(nn.Conv2d(ch, max(ch // 8, 1), 1, bias=False))
        self.k = wrap(nn.Conv2d(ch, max(ch // 8, 1), 1, bias=False))
        self.v = wrap(nn.Conv2d(ch, ch, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.q(x).flatten(2).transpose(1, 2)       # (B, HW, C')
        k = self.k(x).flatten(2)                       # (B, C', HW)
        v = self.v(x).flatten(2)                       # (B, C, HW)
        attn = torch.softmax(q @ k / math.sqrt(k.shape[1]), dim=-1)  # (B, HW, HW)
        out = (v @ attn.transpose(1, 2)).view(b, c, h, w)
        return x + self.gamma * out


class ModConv(nn.Module):
    """Modulated 3x3 (or 1x1) convolution with optional demodulation (StyleGAN2, unfused)."""

    def __init__(self, w_dim: int, cin: int, cout: int, k: int = 3, demod: bool = True) -> None:
        super().__init__()
        self.affine = nn.Linear(w_dim, cin)            # the style: SeFa factorises these weights
        nn.init.zeros_(self.affine.weight)
        nn.init.ones_(self.affine.bias)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k) / math.sqrt(cin * k * k))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.demod = demod
        self.pad = k // 2
        with torch.no_grad():                          # small random affine so styles start varied
            self.affine.weight.normal_(0, 1 / math.sqrt(w_dim))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)                             # (B, Cin)
        x = x * s[:, :, None, None]
        x = F.conv2d(x, self.weight, padding=self.pad)  # (B, Cout, H, W)
        if self.demod:
            wsq = self.weight.square().sum(dim=(2, 3))   # (Cout, Cin)
            d = torch.rsqrt(s.square() @ wsq.t() + 1e-8)  # (B, Cout)
            x = x * d[:, :, None, None]
        return x + self.bias[None, :, None, None]


class MappedGenerator(nn.Module):
    """Shared by the style and FiLM generators: z (+ class embedding) -> mapping MLP -> w."""

    cfg: GeneratorConfig
    num_ws: int
    layer_names: list[str]
    w_avg: torch.Tensor             # a registered buffer: (max(num_classes, 1), w_dim)

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        z, wd = cfg.z_dim, cfg.w_dim
        self.embed = nn.Embedding(cfg.num_classes, wd) if cfg.num_classes else None
        layers: list[nn.Module] = []
        din = z + (wd if cfg.num_classes else 0)
        for _ in range(cfg.mapping_layers):
            lin = nn.Linear(din, wd)
            nn.init.normal_(lin.weight, 0.0, math.sqrt(2.0 / din))   # He init: w keeps unit scale, so
            nn.init.zeros_(lin.bias)                                  # z actually moves the styles
            layers += [lin, nn.LeakyReLU(0.2)]
            din = wd
        self.mapping_net = nn.Sequential(*layers)
        self.register_buffer("w_avg", torch.zeros(max(cfg.num_classes, 1), wd))  # per-class mean w

    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        """z (B, z_dim), c (B,) class indices -> w (B, w_dim), truncated toward the class mean by psi."""
        x = pixel_norm(z)
        if self.embed is not None:
            if c is None:
                raise ValueError("this generator is conditional: pass class indices c")
            x = torch.cat([x, pixel_norm(self.embed(c))], dim=1)
        w = self.mapping_net(x)
        if psi != 1.0:
            avg = self.w_avg[c] if (self.embed is not None) else self.w_avg[0].expand_as(w)
            w = avg + psi * (w - avg)
        return w

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def style_affines(self) -> list[nn.Linear]:
        raise NotImplementedError

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, c, psi))


class StyleGenerator(MappedGenerator):
    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__(cfg)
        wd = cfg.w_dim
        c4 = cfg.channels_at(4)
        self.const = nn.Parameter(torch.randn(1, c4, 4, 4))
        self.convs = nn.ModuleList([ModConv(wd, c4, c4)])
        self.layer_names = ["4x4"]
        self.attn = nn.ModuleDict()
        cin, res = c4, 4
        for _ in range(cfg.num_blocks):
            res *= 2
            cout = cfg.channels_at(res)
            self.convs.append(ModConv(wd, cin, cout))
            self.convs.append(ModConv(wd, cout, cout))
            self.layer_names += [f"{res}x{res}a", f"{res}x{res}b"]
            if res == cfg.attention_res:
                self.attn[str(len(self.convs) - 1)] = SelfAttention(cout)
            cin = cout
        self.to_rgb = ModConv(wd, cin, cfg.channels, k=1, demod=False)
        self.layer_names.append("rgb")
        self.num_ws = len(self.convs) + 1

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """ws (B, num_ws, w_dim) or (B, w_dim) -> images (B, C, H, W), roughly in [-1, 1]."""
        if ws.dim() == 2:
            ws = ws[:, None].expand(-1, self.num_ws, -1)
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, conv in enumerate(self.convs):
            if i > 0 and i % 2 == 1:                  # first conv of each block upsamples
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = F.leaky_relu(conv(x, ws[:, i]), 0.2) * math.sqrt(2)
            if str(i) in self.attn:
                x = self.attn[str(i)](x)
        return self.to_rgb(x, ws[:, -1])

    def style_affines(self) -> list[nn.Linear]:
        """The affine (w -> style) layers in synthesis order, one per entry of ws."""
        return [*(cast(ModConv, m).affine for m in self.convs), self.to_rgb.affine]


class FiLMGenerator(MappedGenerator):
    """DCGAN-shaped synthesis (4x4 transposed convs + BatchNorm) whose normalised features are
    scaled and shifted by w at every block (FiLM, as BigGAN's conditional BatchNorm): the fast
    learning of a DCGAN, and a w for the explorer. Eval mode uses BatchNorm's running statistics."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__(cfg)
        wd, c4 = cfg.w_dim, cfg.channels_at(4)
        self.input = nn.Linear(wd, c4 * 16)
        self.ups = nn.ModuleList()
        self.norms = nn.ModuleList([nn.BatchNorm2d(c4, affine=False)])
        self.gains = nn.ModuleList([nn.Linear(wd, c4)])      # the styles: SeFa factorises these
        self.biases = nn.ModuleList([nn.Linear(wd, c4)])
        self.layer_names = ["4x4"]
        self.attn = nn.ModuleDict()
        cin, res = c4, 4
        for _ in range(cfg.num_blocks - 1):
            res *= 2
            cout = cfg.channels_at(res)
            self.ups.append(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False))
            self.norms.append(nn.BatchNorm2d(cout, affine=False))
            self.gains.append(nn.Linear(wd, cout))
            self.biases.append(nn.Linear(wd, cout))
            self.layer_names.append(f"{res}x{res}")
            if res == cfg.attention_res:
                self.attn[str(len(self.ups))] = SelfAttention(cout)
            cin = cout
        self.to_rgb = nn.ConvTranspose2d(cin, cfg.channels, 4, 2, 1)
        for lin in cast(list[nn.Linear], list(self.gains) + list(self.biases)):
            nn.init.normal_(lin.weight, 0.0, 0.1 / math.sqrt(wd))
            nn.init.zeros_(lin.bias)
        self.num_ws = len(self.gains)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """ws (B, num_ws, w_dim) or (B, w_dim) -> images (B, C, H, W) in [-1, 1]."""
        if ws.dim() == 2:
            ws = ws[:, None].expand(-1, self.num_ws, -1)
        x = self.input(ws[:, 0]).view(ws.shape[0], -1, 4, 4)
        for i in range(self.num_ws):
            if i > 0:
                x = self.ups[i - 1](x)
            x = self.norms[i](x)                      # BatchNorm (DCGAN): keeps per-sample differences
            x = x * (1 + self.gains[i](ws[:, i]))[:, :, None, None] + self.biases[i](ws[:, i])[:, :, None, None]
            x = F.relu(x)
            if str(i) in self.attn:
                x = self.attn[str(i)](x)
        return torch.tanh(self.to_rgb(x))

    def style_affines(self) -> list[nn.Linear]:
        return cast(list[nn.Linear], list(self.gains))


class DCGANGenerator(nn.Module):
    """Radford et al. 2015. w is z (identity mapping); one 'layer' for the explorer."""

    cfg: GeneratorConfig
    num_ws: int
    layer_names: list[str]
    w_avg: torch.Tensor             # a registered buffer: (1, z_dim)

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.num_classes, cfg.num_classes) if cfg.num_classes else None
        if self.embed is not None:
            with torch.no_grad():
                self.embed.weight.copy_(torch.eye(cfg.num_classes))
            self.embed.weight.requires_grad_(False)   # one-hot conditioning
        self.register_buffer("w_avg", torch.zeros(1, cfg.z_dim))
        zin = cfg.z_dim + cfg.num_classes
        c4 = cfg.channels_at(4)
        layers: list[nn.Module] = [nn.ConvTranspose2d(zin, c4, 4, 1, 0, bias=False), nn.BatchNorm2d(c4), nn.ReLU(True)]
        cin, res = c4, 4
        for _ in range(cfg.num_blocks - 1):
            res *= 2
            cout = cfg.channels_at(res)
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
            cin = cout
        layers += [nn.ConvTranspose2d(cin, cfg.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        for m in self.modules():                      # DCGAN init: N(0, 0.02), BN gamma N(1, 0.02)
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
        self.num_ws = 1
        self.layer_names = ["all"]

    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        w = z * psi                                   # truncation toward the mean of N(0, I)
        if self.embed is not None:
            if c is None:
                raise ValueError("this generator is conditional: pass class indices c")
            w = torch.cat([w, self.embed(c)], dim=1)
        return w

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        if ws.dim() == 3:
            ws = ws[:, 0]
        return self.net(ws[:, :, None, None])

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, c, psi))

    def style_affines(self) -> list[nn.ConvTranspose2d]:
        return [cast(nn.ConvTranspose2d, self.net[0])]


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    """Each vector of (N, C, ...) scaled to unit RMS over dim 1 (Karras et al. 2018, "Progressive Growing of
    GANs", pixelwise feature normalisation; StyleGAN's mapping input): same shape."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


def build_generator(cfg: GeneratorConfig) -> Generator:
    """A freshly initialised generator of cfg.arch ("style", "film" or "dcgan"), in training mode."""
    arches: dict[str, type[StyleGenerator] | type[FiLMGenerator] | type[DCGANGenerator]] = {
        "style": StyleGenerator, "film": FiLMGenerator, "dcgan": DCGANGenerator}
    return arches[cfg.arch](cfg)


def count_params(m: nn.Module | Generator) -> int:
    return sum(p.numel() for p in m.parameters())
