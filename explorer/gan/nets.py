"""The networks and optimisers of a training run, and moving their state in and out.

`build_nets` makes G, D, the EMA copy of G and both Adam optimisers from a config;
`state_tensors` / `restore` flatten all of it (plus the RNG) for a checkpoint and back;
`init_from_checkpoint` copies weights for fine-tuning; `freeze_lower_d` is FreezeD.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from explorer.gan import checkpoint as ckpt
from explorer.config import ModelConfig
from explorer.gan.device import model_search_path
from explorer.gan.discriminators import build_discriminator
from explorer.gan.generators import build_generator


@dataclass
class Nets:
    G: nn.Module
    G_ema: nn.Module
    D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    d_trainable: list[nn.Parameter]


def build_nets(cfg: ModelConfig, device: torch.device, seed: int) -> Nets:
    torch.manual_seed(seed)
    G = build_generator(cfg.generator).to(device)
    D = build_discriminator(cfg.discriminator).to(device)
    if device.type == "cuda":
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    t = cfg.train
    # StyleGAN's mapping-network learning-rate multiplier: a slow mapping keeps w spread out
    mapping = [p for n, p in G.named_parameters() if n.startswith("mapping_net.")]
    rest = [p for n, p in G.named_parameters() if not n.startswith("mapping_net.")]
    groups = [{"params": rest, "lr": t.lr_g, "base_lr": t.lr_g}]
    if mapping:
        groups.append({"params": mapping, "lr": t.lr_g * t.mapping_lr_mult, "base_lr": t.lr_g * t.mapping_lr_mult})
    opt_G = torch.optim.Adam(groups, betas=(t.beta1, t.beta2))
    opt_D = torch.optim.Adam([{"params": list(D.parameters()), "lr": t.lr_d, "base_lr": t.lr_d}],
                             betas=(t.beta1, t.beta2))
    return Nets(G, G_ema, D, opt_G, opt_D, list(D.parameters()))


def freeze_lower_d(nets: Nets, n: int) -> None:
    """FreezeD (Mo et al. 2020): stop training the n lowest discriminator blocks."""
    frozen = set()
    for b in list(getattr(nets.D, "blocks", []))[:n]:
        for p in b.parameters():
            p.requires_grad_(False)
            frozen.add(id(p))
    nets.d_trainable = [p for p in nets.D.parameters() if id(p) not in frozen]


def state_tensors(nets: Nets, gen: torch.Generator) -> tuple[dict[str, torch.Tensor], dict]:
    t: dict[str, torch.Tensor] = {}
    for name in ("G", "G_ema", "D"):
        for k, v in getattr(nets, name).state_dict().items():
            t[f"{name}.{k}"] = v
    og, og_rest = ckpt.flatten_optimizer("opt_G", nets.opt_G)
    od, od_rest = ckpt.flatten_optimizer("opt_D", nets.opt_D)
    t.update(og)
    t.update(od)
    t["rng"] = gen.get_state()
    return t, {"opt_G": og_rest, "opt_D": od_rest}


def restore(nets: Nets, tensors: dict[str, torch.Tensor], meta: dict, gen: torch.Generator | None) -> None:
    dev = next(nets.G.parameters()).device
    for name in ("G", "G_ema", "D"):
        pre = name + "."
        sub = {k[len(pre):]: v.to(dev) for k, v in tensors.items() if k.startswith(pre)}
        ckpt.load_state(getattr(nets, name), sub, name)
    nets.opt_G.load_state_dict(ckpt.unflatten_optimizer("opt_G", tensors, meta["optimizers"]["opt_G"]))
    nets.opt_D.load_state_dict(ckpt.unflatten_optimizer("opt_D", tensors, meta["optimizers"]["opt_D"]))
    if gen is not None and "rng" in tensors:
        gen.set_state(tensors["rng"])


def init_from_checkpoint(nets: Nets, path: str | Path) -> str:
    """Fine-tuning: copy weights from a training checkpoint (G, G_ema, D) or a generator export (G only)."""
    p = Path(path)
    j = (ckpt.latest_training(p) if p.is_dir() else None) or ckpt.resolve(p, model_search_path())
    meta = ckpt.read_meta(j)
    tensors = ckpt.read_tensors(j, meta)
    dev = next(nets.G.parameters()).device
    if meta["format"] == ckpt.FORMAT_TRAINING:
        for name in ("G", "G_ema", "D"):
            pre = name + "."
            ckpt.load_state(getattr(nets, name), {k[len(pre):]: v.to(dev) for k, v in tensors.items()
                                                  if k.startswith(pre)}, f"fine-tuning {name}")
        return f"{j} (G, G_ema and D)"
    ckpt.load_state(nets.G, {k: v.to(dev) for k, v in tensors.items()}, "fine-tuning generator")
    nets.G_ema.load_state_dict(nets.G.state_dict())
    return f"{j} (generator only; discriminator starts fresh)"


@torch.no_grad()
def update_ema(G: nn.Module, G_ema: nn.Module, beta: float) -> None:
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1.0 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)


@torch.no_grad()
def compute_w_avg(G: nn.Module, n: int = 4096, seed: int = 123) -> None:
    """Set G.w_avg to the mean w (per class for conditional generators) from n samples; DCGANs have none."""
    if G.cfg.arch == "dcgan":
        return
    dev = G.w_avg.device
    gen = torch.Generator().manual_seed(seed)
    nc = max(G.cfg.num_classes, 1)
    for k in range(nc):
        z = torch.randn(n // nc + 1, G.cfg.z_dim, generator=gen).to(dev)
        c = torch.full((z.shape[0],), k, dtype=torch.long, device=dev) if G.cfg.num_classes else None
        G.w_avg[k] = G.mapping(z, c).mean(0)
