"""Data-parallel set-up for `torchrun --nproc-per-node N -m explorer train ...`.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT. We initialise a
process group (gloo on CPU, nccl on GPU); the training loop then averages gradients across
ranks after every backward pass, and only rank 0 writes checkpoints, logs and samples
(`on_lead` runs other file-writing set-up on rank 0 and hands its result to every rank).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as tdist

T = TypeVar("T")


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


def on_lead(fn: Callable[[], T]) -> T:
    """fn() run on rank 0 only (e.g. writing files), its result sent to every rank. An exception on rank 0
    is raised on every rank (as ValueError with its message elsewhere), so no rank waits forever."""
    if not tdist.is_initialized():
        return fn()
    box: list[Any] = [None]
    if tdist.get_rank() == 0:
        try:
            box[0] = ("ok", fn())
        except Exception as e:
            tdist.broadcast_object_list([("error", str(e))], src=0)
            raise
    tdist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if kind == "error":
        raise ValueError(value)
    return value


def mean_over_ranks(values: Sequence[float], world: int) -> list[float]:
    """The values averaged over ranks, in float64 (as they are on one rank)."""
    if world <= 1:
        return list(values)
    t = torch.tensor(list(values), dtype=torch.float64)
    tdist.all_reduce(t)
    return (t / world).tolist()


def max_over_ranks(value: float, world: int) -> float:
    """The largest value any rank holds (e.g. a stop flag: any rank's stop stops all)."""
    if world <= 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return float(t.item())


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
