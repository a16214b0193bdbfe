"""The networks and optimisers of a training run, and moving their state in and out.

`build_nets` makes G, D, the EMA copy of G and both Adam optimisers from a config;
`state_tensors` / `restore` flatten all of it (plus the RNG) for a checkpoint and back;
`apply_hyperparameters` sets the optimisers' learning rates and betas from a config (restoring an
optimiser's state also restores the rates it was saved with, so a resumed run calls it to train
with the rates its config records); `init_from_checkpoint` copies weights for fine-tuning;
`freeze_lower_d` is FreezeD (Mo et al. 2020); `update_ema` is the generator EMA (Karras et al. 2018).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from explorer.config import ModelConfig, TrainConfig
from explorer.gan import checkpoint as ckpt
from explorer.gan.device import model_search_path
from explorer.gan.discriminators import Discriminator, build_discriminator
from explorer.gan.generators import build_generator
from explorer.gan.protocol import Generator
from explorer.settings import data_dir

MAPPING_PREFIX = "mapping_net."      # parameters of the z -> w mapping network (their own learning rate)
FUSED_ADAM = ("cpu", "cuda")         # devices whose fused Adam kernel is used (a resumed run keeps its saved choice)


@dataclass
class Nets:
    G: Generator
    G_ema: Generator
    D: Discriminator
    opt_G: torch.optim.Optimizer     # param groups: [rest of G, mapping network (when G has one)]
    opt_D: torch.optim.Optimizer     # param groups: [D]
    d_trainable: list[nn.Parameter]  # D's parameters not frozen by FreezeD


def learning_rates(t: TrainConfig, has_mapping: bool) -> tuple[list[float], list[float]]:
    """Base learning rates of opt_G's and opt_D's param groups, in their order (see Nets)."""
    return [t.lr_g] + ([t.lr_g * t.mapping_lr_mult] if has_mapping else []), [t.lr_d]


def build_nets(cfg: ModelConfig, device: torch.device, seed: int) -> Nets:
    """Fresh G, G_ema (a frozen copy), D and Adam optimisers on `device`, initialised from `seed`."""
    torch.manual_seed(seed)
    G = build_generator(cfg.generator).to(device)
    D = build_discriminator(cfg.discriminator).to(device)
    # channels-last convolutions on every device: on the CPU too (one thread, process CPU s per step, medians
    # of 2 side by side): classic-dcgan at 32 px 0.163 -> 0.134, the fonts preset 0.767 -> 0.622
    G = G.to(memory_format=torch.channels_last)
    D = D.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs omit memory_format
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    t = cfg.train
    # StyleGAN's mapping-network learning-rate multiplier: a slow mapping keeps w spread out
    mapping = [p for n, p in G.named_parameters() if n.startswith(MAPPING_PREFIX)]
    rest = [p for n, p in G.named_parameters() if not n.startswith(MAPPING_PREFIX)]
    lr_g, lr_d = learning_rates(t, bool(mapping))
    groups = [{"params": ps, "lr": lr, "base_lr": lr} for ps, lr in zip((rest, mapping), lr_g)]
    fused = device.type in FUSED_ADAM            # one kernel per step: ~5x faster than the per-tensor loop on a CPU
    opt_G = torch.optim.Adam(groups, betas=(t.beta1, t.beta2), fused=fused)
    opt_D = torch.optim.Adam([{"params": list(D.parameters()), "lr": lr_d[0], "base_lr": lr_d[0]}],
                             betas=(t.beta1, t.beta2), fused=fused)
    return Nets(G, G_ema, D, opt_G, opt_D, list(D.parameters()))


def apply_hyperparameters(nets: Nets, t: TrainConfig, lr_scale: float = 1.0) -> None:
    """Set every param group's base_lr from `t`, its lr to base_lr * lr_scale (the guards' halvings),
    and Adam's betas from `t`."""
    lr_g, lr_d = learning_rates(t, len(nets.opt_G.param_groups) > 1)
    for opt, lrs in ((nets.opt_G, lr_g), (nets.opt_D, lr_d)):
        for group, base in zip(opt.param_groups, lrs):
            group.update(base_lr=base, lr=base * lr_scale, betas=(t.beta1, t.beta2))


def scale_learning_rates(nets: Nets, lr_scale: float) -> None:
    """lr = base_lr * lr_scale in every param group (after a rollback)."""
    for opt in (nets.opt_G, nets.opt_D):
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * lr_scale


def freeze_lower_d(nets: Nets, n: int) -> None:
    """FreezeD (Mo et al. 2020): stop training the n lowest discriminator blocks."""
    frozen = set()
    for b in list(getattr(nets.D, "blocks", []))[:n]:
        for p in b.parameters():
            p.requires_grad_(False)
            frozen.add(id(p))
    nets.d_trainable = [p for p in nets.D.parameters() if id(p) not in frozen]


def state_tensors(nets: Nets, gen: torch.Generator) -> tuple[dict[str, torch.Tensor], dict]:
    """Every tensor of the run ("G.*", "G_ema.*", "D.*", "opt_G.*", "opt_D.*", "rng") and the
    optimisers' JSON-able rest ({"opt_G": ..., "opt_D": ...})."""
    t: dict[str, torch.Tensor] = {}
    for name, m in (("G", nets.G), ("G_ema", nets.G_ema), ("D", nets.D)):
        for k, v in m.state_dict().items():
            t[f"{name}.{k}"] = v
    og, og_rest = ckpt.flatten_optimizer("opt_G", nets.opt_G)
    od, od_rest = ckpt.flatten_optimizer("opt_D", nets.opt_D)
    t.update(og)
    t.update(od)
    t["rng"] = gen.get_state()
    return t, {"opt_G": og_rest, "opt_D": od_rest}


def restore(nets: Nets, tensors: dict[str, torch.Tensor], meta: dict, gen: torch.Generator | None) -> None:
    """Load what `state_tensors` saved (meta["optimizers"] is its second value); the RNG too when `gen`
    is given. Raises CheckpointError when the weights do not fit the networks."""
    dev = next(nets.G.parameters()).device
    for name, m in (("G", nets.G), ("G_ema", nets.G_ema), ("D", nets.D)):
        pre = name + "."
        sub = {k[len(pre):]: v.to(dev) for k, v in tensors.items() if k.startswith(pre)}
        ckpt.load_state(m, sub, name)
    nets.opt_G.load_state_dict(ckpt.unflatten_optimizer("opt_G", tensors, meta["optimizers"]["opt_G"]))
    nets.opt_D.load_state_dict(ckpt.unflatten_optimizer("opt_D", tensors, meta["optimizers"]["opt_D"]))
    for opt in (nets.opt_G, nets.opt_D):
        like_params(opt)
    if gen is not None and "rng" in tensors:
        gen.set_state(tensors["rng"])


def like_params(opt: torch.optim.Optimizer) -> None:
    """Give the optimiser's per-parameter state (Adam's moments) its parameter's memory layout. A loaded
    state is contiguous while a channels-last weight's gradient is not, and Adam on mixed layouts rounds
    differently: a resumed run drifted from an uninterrupted one."""
    for p, state in opt.state.items():
        for k, v in state.items():
            if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                state[k] = torch.empty_like(p, dtype=v.dtype).copy_(v)


def init_source(path: str | Path) -> Path:
    """The JSON sidecar fine-tuning from `path` reads: a run folder's latest training checkpoint, else the
    model `path` names (explorer.gan.checkpoint.resolve). Raises CheckpointError."""
    p = Path(path)
    return (ckpt.latest_training(p) if p.is_dir() else None) or ckpt.resolve(p, model_search_path())


def init_from_checkpoint(nets: Nets, path: str | Path) -> str:
    """Fine-tuning: copy weights from a training checkpoint (G, G_ema, D) or a generator export (G only).
    Returns what was loaded, in words. Raises CheckpointError."""
    j = init_source(path)
    meta = ckpt.read_meta(j)
    tensors = ckpt.read_tensors(j, meta)
    dev = next(nets.G.parameters()).device
    if meta["format"] == ckpt.FORMAT_TRAINING:
        for name, m in (("G", nets.G), ("G_ema", nets.G_ema), ("D", nets.D)):
            pre = name + "."
            ckpt.load_state(m, {k[len(pre):]: v.to(dev) for k, v in tensors.items()
                                if k.startswith(pre)}, f"fine-tuning {name}")
        return f"{_shown(j)} (G, G_ema and D)"
    ckpt.load_state(nets.G, {k: v.to(dev) for k, v in tensors.items()}, "fine-tuning generator")
    nets.G_ema.load_state_dict(nets.G.state_dict())
    return f"{_shown(j)} (generator only; discriminator starts fresh)"


def _shown(p: Path) -> str:
    """A checkpoint path as a run's log shows it: relative to the data folder when it is inside it (the log is
    shown in the browser; the server's own folders are nobody else's business), else as given."""
    try:
        return str(p.resolve().relative_to(data_dir().resolve()))
    except (ValueError, OSError):
        return str(p)


@torch.no_grad()
def update_ema(G: Generator, G_ema: Generator, beta: float) -> None:
    """G_ema <- beta * G_ema + (1 - beta) * G for parameters; buffers (BatchNorm statistics) copied.
    beta = 0 makes G_ema an exact copy of G."""
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1.0 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)


@torch.no_grad()
def compute_w_avg(G: Generator, n: int = 4096, seed: int = 123) -> None:
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
