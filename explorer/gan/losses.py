"""GAN losses on raw discriminator logits.

minimax        D: -log D(x) - log(1 - D(G(z)))      G: log(1 - D(G(z)))   (saturating, Goodfellow 2014)
nonsaturating  D: as minimax                          G: -log D(G(z))
hinge          D: relu(1 - D(x)) + relu(1 + D(G(z)))  G: -D(G(z))
wgan-gp        D: D(G(z)) - D(x) + gp                 G: -D(G(z))          (Gulrajani 2017)
Plus the R1 penalty on real images (Mescheder 2018).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss from logits on real (B,) and fake (B,) images."""
    if kind in ("minimax", "nonsaturating"):
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean() + 1e-3 * real.square().mean()  # small drift term keeps logits bounded
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss from logits on fake images (B,)."""
    if kind == "minimax":
        return -F.softplus(fake).mean()              # = mean log(1 - sigmoid(fake)); saturates when D wins
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    raise ValueError(f"unknown loss {kind!r}")


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||^2 on real images; real_images must require grad."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean()


def gradient_penalty(d_fn: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: E (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=gen, device="cpu").to(real.device, real.dtype)
    x_hat = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d_fn(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()
