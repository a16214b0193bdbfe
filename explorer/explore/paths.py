"""Interpolation maths, keyframes and frame schedules for latent walks and morphs.

    kfs = keyframes_from_states(G, [state_a, state_b], directions)
    ws = interpolate_path(G, kfs, frames=48, space="z", method="slerp", easing="ease_in_out", loop=True)
    # ws (48, num_ws, w_dim) -> media.render_frames(G, ws)

space="w" blends each keyframe's ws directly; space="z" blends z (slerp keeps it on the Gaussian
shell), maps it through G, and carries each keyframe's edits (ws minus its unedited mapping) along.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import torch

from explorer.explore.latents import LatentState, class_tensor, state_to_ws, state_to_z
from explorer.gan.protocol import Generator

if TYPE_CHECKING:
    from explorer.explore.directions import Directions

Easing = Callable[[float], float]


def lerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """(1 - t) a + t b; exact at t = 0 and 1. A tensor t broadcasts over a's leading dims."""
    t = _expand_t(t, a)
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation along the last dim of (..., D) tensors; lerp where a, b are (anti)parallel."""
    t = _expand_t(t, a)
    an = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    bn = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1, 1))   # (..., 1)
    so = torch.sin(omega)
    ok = so.abs() > eps
    so = torch.where(ok, so, torch.ones_like(so))
    out = torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b
    out = torch.where(ok, out, lerp(a, b, t))
    return torch.where(t == 0, a, torch.where(t == 1, b, out))     # exact endpoints, whatever rounding did


def _expand_t(t: float | torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    return t.reshape(t.shape + (1,) * (a.dim() - t.dim()))


def linear(t: float) -> float:
    return t


def ease_in_out(t: float) -> float:
    """Smoothstep: zero speed at both keyframes."""
    return t * t * (3 - 2 * t)


def ease_in(t: float) -> float:
    return t * t


def ease_out(t: float) -> float:
    return 1 - (1 - t) * (1 - t)


EASINGS: dict[str, Easing] = {"linear": linear, "ease_in_out": ease_in_out, "ease_in": ease_in, "ease_out": ease_out}


def get_easing(easing: str | Easing) -> Easing:
    if callable(easing):
        return easing
    if easing not in EASINGS:
        raise ValueError(f"unknown easing {easing!r}; choose from {sorted(EASINGS)}")
    return EASINGS[easing]


def frame_schedule(n_keyframes: int, frames: int, easing: str | Easing = linear,
                   loop: bool = False) -> list[tuple[int, float]]:
    """(segment, eased t in [0, 1]) for each of `frames` frames; segment i runs keyframe i -> i + 1.

    Without loop the first and last frames are the first and last keyframes; with loop the last
    segment returns to keyframe 0 and the final frame stops one step short of it (seamless repeat).
    Segments get equal numbers of frames, easing applies within each segment.
    """
    if n_keyframes < 1 or frames < 1:
        raise ValueError(f"need at least one keyframe and one frame, not {n_keyframes} and {frames}")
    ease = get_easing(easing)
    segs = n_keyframes if loop else n_keyframes - 1
    if segs == 0 or (frames == 1 and not loop):
        return [(0, 0.0)] * frames
    out = []
    for i in range(frames):
        u = i * segs / (frames if loop else frames - 1)          # position along the whole path
        seg = min(int(math.floor(u)), segs - 1)
        out.append((seg, float(ease(min(max(u - seg, 0.0), 1.0)))))
    return out


@dataclass(frozen=True)
class Keyframe:
    """A point on a path: z (1, z_dim) with class c and truncation psi, and/or ws (1, num_ws, w_dim)."""
    z: torch.Tensor | None = None
    c: int | None = None
    psi: float = 1.0
    ws: torch.Tensor | None = None


def as_keyframe(x: Keyframe | Mapping[str, Any] | torch.Tensor, space: str) -> Keyframe:
    """A Keyframe from a Keyframe, a dict of its fields, or a bare tensor (ws for space w, z for space z)."""
    if isinstance(x, Keyframe):
        return x
    if isinstance(x, Mapping):
        return Keyframe(**x)
    if torch.is_tensor(x):
        return Keyframe(ws=x) if space == "w" else Keyframe(z=x.reshape(1, -1))
    raise TypeError(f"a keyframe must be a Keyframe, a dict or a tensor, not {type(x).__name__}")


def keyframes_from_states(G: Generator, states: Sequence[LatentState],
                          directions: Directions | None = None) -> list[Keyframe]:
    """Keyframes carrying both z and the edited ws of each state, usable in either space."""
    return [Keyframe(state_to_z(s, G.cfg.z_dim), s.class_index, s.psi, state_to_ws(G, s, directions))
            for s in states]


def _map(G: Generator, z: torch.Tensor, c: int | None, psi: float | torch.Tensor) -> torch.Tensor:
    """z (N, z_dim) -> ws (N, num_ws, w_dim) with one class and per-row psi."""
    dev = G.w_avg.device
    cls = class_tensor(G, c, z.shape[0])
    cls = None if cls is None else cls.to(dev)
    psi = torch.as_tensor(psi, dtype=torch.float32, device=dev).reshape(-1, 1)
    if bool((psi == psi[0]).all()):                       # one psi: exactly what latents.state_to_ws does
        return G.mapping(z.to(dev), cls, psi=float(psi[0]))[:, None].repeat(1, G.num_ws, 1)
    w1 = G.mapping(z.to(dev), cls)                         # psi = 1, then truncate row by row
    if G.cfg.arch != "dcgan":
        avg = G.w_avg[cls] if cls is not None else G.w_avg[0].expand_as(w1)
        w = avg + psi * (w1 - avg)
    else:                                                  # DCGAN: w = [psi * z, one-hot]
        d = G.cfg.z_dim
        w = torch.cat([w1[:, :d] * psi, w1[:, d:]], dim=1)
    return w[:, None].repeat(1, G.num_ws, 1)


def _full_ws(G: Generator, ws: torch.Tensor) -> torch.Tensor:
    ws = ws.to(G.w_avg.device)
    return ws[:, None].expand(-1, G.num_ws, -1) if ws.dim() == 2 else ws


@torch.no_grad()
def interpolate_path(G: Generator, keyframes: Sequence[Keyframe | Mapping[str, Any] | torch.Tensor], frames: int,
                     space: str = "w", method: str = "lerp", easing: str | Easing = linear,
                     loop: bool = False) -> torch.Tensor:
    """ws (frames, num_ws, w_dim) along a path through the keyframes, on G's device."""
    if space not in ("w", "z") or method not in ("lerp", "slerp"):
        raise ValueError(f"space must be 'w' or 'z' and method 'lerp' or 'slerp', not {space!r}, {method!r}")
    kfs = [as_keyframe(k, space) for k in keyframes]
    sched = frame_schedule(len(kfs), frames, easing, loop)
    ia = torch.tensor([s for s, _ in sched])
    ib = (ia + 1) % len(kfs)
    t = torch.tensor([t for _, t in sched], dtype=torch.float32, device=G.w_avg.device)   # (F,)
    blend = slerp if method == "slerp" else lerp
    if space == "w":
        if any(k.ws is None and k.z is None for k in kfs):
            raise ValueError("every keyframe needs ws or z")
        ws = torch.cat([_full_ws(G, k.ws) if k.ws is not None else _map(G, cast(torch.Tensor, k.z), k.c, k.psi)
                        for k in kfs])
        return blend(ws[ia], ws[ib], t)                     # (F, num_ws, w_dim)
    kz = [k.z for k in kfs if k.z is not None]
    if len(kz) != len(kfs):
        raise ValueError("space 'z' needs a z in every keyframe")
    if any(zk.numel() != G.cfg.z_dim for zk in kz):
        raise ValueError(f"keyframe z must have z_dim = {G.cfg.z_dim} values, not {[zk.numel() for zk in kz]}")
    dev = G.w_avg.device
    z = torch.cat([zk.reshape(1, -1).to(dev) for zk in kz])                  # (K, z_dim)
    psi = torch.tensor([k.psi for k in kfs], dtype=torch.float32, device=dev)
    base = [_map(G, z[i:i + 1], k.c, k.psi) for i, k in enumerate(kfs)]
    delta = torch.cat([(_full_ws(G, k.ws) - b) if k.ws is not None else torch.zeros_like(b)
                       for k, b in zip(kfs, base)])                            # (K, num_ws, w_dim): the edits
    zt = blend(z[ia], z[ib], t)                                               # (F, z_dim)
    pt = lerp(psi[ia], psi[ib], t)
    out = torch.empty(frames, G.num_ws, base[0].shape[-1], device=dev)
    for a in range(len(kfs)):                       # map each segment with its classes; blend class endpoints
        rows = (ia == a).nonzero().flatten().to(dev)
        if rows.numel() == 0:
            continue
        b = (a + 1) % len(kfs)
        wa = _map(G, zt[rows], kfs[a].c, pt[rows])
        wb = wa if kfs[b].c == kfs[a].c else _map(G, zt[rows], kfs[b].c, pt[rows])
        out[rows] = lerp(wa, wb, t[rows]) + lerp(delta[a].expand_as(wa), delta[b].expand_as(wa), t[rows])
    return out
