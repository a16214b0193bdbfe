"""Latent state: seed -> z -> w -> ws, deterministic, small enough for a URL or a JSON recipe.

A `LatentState` names an image by what produced it (model, checkpoint hash prefix, seed, class,
truncation psi, edit coefficients along PCA/SeFa directions, sparse nudges of raw z), never by
tensors. `state_to_ws` turns it into the generator's per-layer latents:

    z = randn(seed) (1, z_dim) + z_offsets -> w = G.mapping(z, c, psi) (1, w_dim)
    -> ws (1, num_ws, w_dim); for each edit: ws[:, start:end] += amount * sigma_k * v_k

Its two encodings (JSON recipes and URL query parameters) live in explorer/recipes.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from explorer.explore.directions import Directions

RECIPE_FORMAT = "latent-explorer-recipe"
RECIPE_VERSION = 1
METHODS = ("pca", "sefa")
PSI_MIN, PSI_MAX = 0.0, 2.0
SEED_MAX = 2**31 - 1
AMOUNT_LIMIT = 10.0       # |edit amount| and |z offset| cap, in std units
MAX_ITEMS = 256           # edits / z offsets accepted from untrusted input
_HEX12 = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True)
class Edit:
    direction: int                 # index into Directions.vectors
    amount: float                  # in std units of w projected on the direction
    layer_start: int = 0           # first entry of ws edited
    layer_end: int | None = None   # exclusive; None = through the last layer


@dataclass(frozen=True)
class LatentState:
    model: str                     # model name as listed by the picker
    checkpoint: str                # first 12 hex digits of the weights' sha256
    seed: int
    class_index: int | None = None
    psi: float = 1.0               # truncation toward the (class) mean w
    method: str = "pca"            # direction family the edits index: "pca" | "sefa"
    edits: tuple[Edit, ...] = ()
    z_offsets: tuple[tuple[int, float], ...] = ()   # sparse (dim, delta) nudges of raw z


@dataclass(frozen=True)
class Limits:
    """What a model allows; None = unknown (not checked)."""
    num_ws: int | None = None
    z_dim: int | None = None
    num_classes: int | None = None
    num_directions: int | None = None

    @staticmethod
    def of(G: nn.Module, directions: Directions | None = None) -> Limits:
        return Limits(G.num_ws, G.cfg.z_dim, G.cfg.num_classes,
                      None if directions is None else int(directions.vectors.shape[0]))


def checkpoint_id(meta: Mapping[str, Any]) -> str:
    """The 12-hex-digit checkpoint id of a loaded model's sidecar."""
    return str(meta.get("sha256", ""))[:12].lower()


def seed_to_z(seed: int, z_dim: int) -> torch.Tensor:
    """Deterministic z (1, z_dim) on the CPU; row 0 of render.sample_grid(seed=seed)."""
    return torch.randn(1, z_dim, generator=torch.Generator().manual_seed(int(seed)))


def state_to_z(state: LatentState, z_dim: int) -> torch.Tensor:
    """z (1, z_dim) of a state: seed noise plus its z offsets."""
    z = seed_to_z(state.seed, z_dim)
    for dim, delta in state.z_offsets:
        if not 0 <= dim < z_dim:
            raise ValueError(f"z offset dimension {dim} is outside 0..{z_dim - 1}")
        z[0, dim] += delta
    return z


def class_tensor(G: nn.Module, class_index: int | None, n: int = 1) -> torch.Tensor | None:
    """Class indices (n,) for a conditional generator (class 0 when none is chosen), else None."""
    nc = G.cfg.num_classes
    if not nc:
        return None
    k = class_index or 0
    if not 0 <= k < nc:
        raise ValueError(f"class {k} is outside 0..{nc - 1}")
    return torch.full((n,), k, dtype=torch.long)


def apply_edits(ws: torch.Tensor, edits: tuple[Edit, ...], directions: Directions | None) -> torch.Tensor:
    """ws (B, num_ws, w_dim) -> a copy with ws[:, start:end] += amount * sigma_k * v_k per edit."""
    ws = ws.clone()
    for e in edits:
        if directions is None:
            raise ValueError("the state has edits but no directions were given")
        if not 0 <= e.direction < directions.vectors.shape[0]:
            raise ValueError(f"direction {e.direction} is outside 0..{directions.vectors.shape[0] - 1}")
        v = directions.vectors[e.direction].to(ws) * float(directions.sigma[e.direction])  # (w_dim,)
        ws[:, e.layer_start:e.layer_end] += e.amount * v
    return ws


@torch.no_grad()
def state_to_ws(G: nn.Module, state: LatentState, directions: Directions | None = None) -> torch.Tensor:
    """The per-layer latents ws (1, num_ws, w_dim) of a state, on G's device."""
    if state.edits and directions is not None and directions.method != state.method:
        raise ValueError(f"the state's edits are {state.method} directions, but {directions.method} ones were given")
    dev = G.w_avg.device
    z = state_to_z(state, G.cfg.z_dim).to(dev)
    c = class_tensor(G, state.class_index)
    w = G.mapping(z, None if c is None else c.to(dev), psi=state.psi)   # (1, w_dim)
    ws = w[:, None].repeat(1, G.num_ws, 1)                              # (1, num_ws, w_dim)
    return apply_edits(ws, state.edits, directions)


def sweep_ws(ws: torch.Tensor, directions: Directions, edit: Edit, amounts) -> torch.Tensor:
    """ws (1, num_ws, w_dim) of a state holding `edit` -> (len(amounts), num_ws, w_dim): the same state
    with that edit's amount set to each of `amounts` (what with_edit + state_to_ws give, in one batch)."""
    v = directions.vectors[edit.direction].to(ws) * float(directions.sigma[edit.direction])
    delta = torch.as_tensor(list(amounts), dtype=ws.dtype, device=ws.device) - float(edit.amount)
    out = ws.expand(delta.shape[0], -1, -1).clone()
    out[:, edit.layer_start:edit.layer_end] += delta[:, None, None] * v
    return out


def with_edit(state: LatentState, edit: Edit) -> LatentState:
    """Set one slider: replace any edit of the same direction and layer range (amount 0 removes it)."""
    key = (edit.direction, edit.layer_start, edit.layer_end)
    edits = list(state.edits)
    at = next((i for i, e in enumerate(edits) if (e.direction, e.layer_start, e.layer_end) == key), None)
    if at is not None:
        del edits[at]
    if edit.amount != 0:
        edits.insert(len(edits) if at is None else at, edit)   # in place: the URL's order stays stable
    return dataclasses.replace(state, edits=tuple(edits))


def with_z_offset(state: LatentState, dim: int, delta: float) -> LatentState:
    """Set the nudge of one z dimension (0 removes it)."""
    kept = tuple((d, v) for d, v in state.z_offsets if d != dim)
    return dataclasses.replace(state, z_offsets=kept + (((dim, float(delta)),) if delta != 0 else ()))
