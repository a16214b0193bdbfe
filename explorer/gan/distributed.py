"""Data-parallel set-up for `torchrun --nproc-per-node N -m explorer train ...`.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT. We initialise a
process group (gloo on CPU, nccl on GPU); the training loop then averages gradients across
ranks after every backward pass, and only rank 0 writes checkpoints, logs and samples.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as tdist


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: torch.device) -> torch.device:
    """Join the process group; returns this rank's device (cuda:LOCAL_RANK on GPU)."""
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not tdist.is_initialized():
        tdist.init_process_group(backend=backend)
    return device


def shutdown() -> None:
    if tdist.is_initialized():
        tdist.barrier()
        tdist.destroy_process_group()


def is_lead() -> bool:
    return not tdist.is_initialized() or tdist.get_rank() == 0


def allreduce_grads(params: list[torch.nn.Parameter], world: int) -> None:
    """Average the gradients of `params` across ranks, as one flat all-reduce (a no-op on one rank)."""
    grads = [p.grad for p in params if p.grad is not None]
    if world <= 1 or not grads:
        return
    flat = torch.cat([g.flatten() for g in grads])
    tdist.all_reduce(flat)
    flat /= world
    i = 0
    for g in grads:
        g.copy_(flat[i:i + g.numel()].view_as(g))
        i += g.numel()
