"""Latent state: seed -> z -> w -> ws, deterministic, small enough for a URL or a JSON recipe.

A `LatentState` names an image by what produced it (model, checkpoint hash prefix, seed, class,
truncation psi, edit coefficients along PCA/SeFa directions, sparse nudges of raw z), never by
tensors. `state_to_ws` turns it into the generator's per-layer latents:

    z = randn(seed) (1, z_dim) + z_offsets -> w = G.mapping(z, c, psi) (1, w_dim)
    -> ws (1, num_ws, w_dim); for each edit: ws[:, start:end] += amount * sigma_k * v_k

An edit may be conditional (`Edit.ortho`, InterFaceGAN's conditional manipulation): v_k is first
made orthogonal to the named attribute directions (indices into the "attr" family), so the edit
leaves those attributes alone; the basis is passed as `basis` (the "attr" Directions).

An attribute edit may instead follow the image (`Edit.follow`, explorer/explore/local_edits.py): a
path re-aimed at every step along the generator's local gradient of the attribute, holding the
attributes in `ortho` to first order. Followed edits are applied after the linear ones, in order.

A state may instead carry a projected latent (`projected`: w or w+ found by projecting an image,
explorer/explore/inversion.py), stored compactly as float16 base64 (`encode_ws` / `decode_ws`); then
ws comes from it, and seed, psi and z offsets are not used (edits still apply on top).

Its two encodings (JSON recipes and URL query parameters) live in explorer/recipes.py.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from explorer.gan.protocol import Generator

if TYPE_CHECKING:
    from explorer.explore.directions import Directions

RECIPE_FORMAT = "latent-explorer-recipe"
RECIPE_VERSION = 1
METHODS = ("pca", "sefa", "attr")
PSI_MIN, PSI_MAX = 0.0, 2.0
SEED_MAX = 2**31 - 1
AMOUNT_LIMIT = 10.0       # |edit amount| and |z offset| cap, in std units
MAX_ITEMS = 256           # edits / z offsets accepted from untrusted input
MAX_PROJECTED_CHARS = 200_000   # base64 characters of a projected latent accepted from untrusted input
PROJECTED_LIMIT = 1e4     # |value| of a projected latent
HEX12 = re.compile(r"^[0-9a-f]{12}$")       # a checkpoint id: 12 lowercase hex digits


@dataclass(frozen=True)
class Edit:
    direction: int                 # index into Directions.vectors
    amount: float                  # in std units of w projected on the direction
    layer_start: int = 0           # first entry of ws edited
    layer_end: int | None = None   # exclusive; None = through the last layer
    ortho: tuple[int, ...] = ()    # attribute directions ("attr" indices) the edit is made orthogonal to
    follow: bool = False           # attribute edits only: follow the image (explorer/explore/local_edits.py);
                                   # then `ortho` names the attributes held fixed along the way


@dataclass(frozen=True)
class LatentState:
    model: str                     # model name as listed by the picker
    checkpoint: str                # first 12 hex digits of the weights' sha256
    seed: int
    class_index: int | None = None
    psi: float = 1.0               # truncation toward the (class) mean w
    method: str = "pca"            # direction family the edits index: "pca" | "sefa" | "attr"
    edits: tuple[Edit, ...] = ()
    z_offsets: tuple[tuple[int, float], ...] = ()   # sparse (dim, delta) nudges of raw z
    projected: str = ""            # a projected w or w+ (encode_ws); when set, ws comes from it, not from the seed


@dataclass(frozen=True)
class Limits:
    """What a model allows; None = unknown (not checked)."""
    num_ws: int | None = None
    z_dim: int | None = None
    num_classes: int | None = None
    num_directions: int | None = None
    w_width: int | None = None     # width of one row of ws (see w_width); checks projected latents
    num_attributes: int | None = None   # attribute directions a conditional edit may name (Edit.ortho)

    @staticmethod
    def of(G: Generator, directions: Directions | None = None) -> Limits:
        return Limits(G.num_ws, G.cfg.z_dim, G.cfg.num_classes,
                      None if directions is None else int(directions.vectors.shape[0]), w_width(G))


def w_width(G: Generator) -> int:
    """Width of one row of ws: w_dim for mapped generators; z_dim plus the one-hot classes for a DCGAN."""
    return int(G.cfg.z_dim + G.cfg.num_classes) if G.cfg.arch == "dcgan" else int(G.cfg.w_dim)


def encode_ws(ws: torch.Tensor) -> str:
    """ws (1, num_ws, width), (num_ws, width) or w (width,) -> float16 little-endian values, URL-safe base64
    without padding: one row when every layer holds the same w, else all num_ws rows (w+)."""
    a = ws.detach().float().cpu().reshape(-1, ws.shape[-1])                 # (rows, width)
    if bool((a == a[:1]).all()):
        a = a[:1]
    raw = a.numpy().astype("<f2").tobytes()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_ws(code: str, num_ws: int, width: int) -> torch.Tensor:
    """A projected latent -> ws (1, num_ws, width) float32 (one stored row is used for every layer).

    Raises ValueError with a reason when `code` is not base64 float16 of `width` or `num_ws * width`
    finite values of at most PROJECTED_LIMIT."""
    if not isinstance(code, str) or len(code) > MAX_PROJECTED_CHARS:
        raise ValueError("the projected latent is not text of a sane length")
    try:
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("the projected latent is not base64") from None
    if len(raw) % 2:
        raise ValueError("the projected latent is not a list of float16 values")
    a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if a.size not in (width, num_ws * width):
        raise ValueError(f"the projected latent has {a.size} values; this model needs {width}"
                         + (f" (w) or {num_ws * width} (w+)" if num_ws > 1 else ""))
    if not np.isfinite(a).all() or np.abs(a).max(initial=0.0) > PROJECTED_LIMIT:
        raise ValueError("the projected latent holds values that are not finite or are out of range")
    ws = torch.from_numpy(a.copy()).view(-1, width)
    return ws.expand(num_ws, -1).clone()[None] if ws.shape[0] == 1 else ws[None]


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


def class_tensor(G: Generator, class_index: int | None, n: int = 1) -> torch.Tensor | None:
    """Class indices (n,) for a conditional generator (class 0 when none is chosen), else None."""
    nc = G.cfg.num_classes
    if not nc:
        return None
    k = class_index or 0
    if not 0 <= k < nc:
        raise ValueError(f"class {k} is outside 0..{nc - 1}")
    return torch.full((n,), k, dtype=torch.long)


@torch.no_grad()
def w_is_z(G: Generator) -> bool:
    """True when the model has no learned mapping: w is z (times psi), with any class appended as a
    fixed code (DCGAN-style conditioning, Radford et al. 2015 / Mirza & Osindero 2014).

    Then w of one class is a shifted copy of z's Gaussian (no class "islands" can form in w), and a
    path blended in z is the same path as one blended in w. Probed on two seeded z, so it holds for
    any architecture that behaves so, not for a named one."""
    z = torch.cat([seed_to_z(s, G.cfg.z_dim) for s in (0, 1)]).to(G.w_avg.device)   # (2, z_dim)
    c = class_tensor(G, 0, 2)
    w = G.mapping(z, None if c is None else c.to(z.device), psi=1.0)                  # (2, w_dim)
    d = G.cfg.z_dim
    return (w.shape[1] >= d and bool(torch.allclose(w[:, :d], z, atol=1e-6))
            and bool(torch.equal(w[0, d:], w[1, d:])))


def edit_vector(directions: Directions, edit: Edit, basis: Directions | None = None) -> torch.Tensor:
    """sigma_k * v_k (w_dim,) of an edit's direction, made orthogonal to the attribute directions in
    edit.ortho first (`basis`: the "attr" Directions; default `directions` when they are attribute ones).

    Raises ValueError for an index out of range, a conditional edit without a basis, or a direction
    that lies inside the span it must be orthogonal to."""
    if not 0 <= edit.direction < directions.vectors.shape[0]:
        raise ValueError(f"direction {edit.direction} is outside 0..{directions.vectors.shape[0] - 1}")
    v = directions.vectors[edit.direction]
    if edit.ortho:
        basis = basis if basis is not None else directions if directions.method == "attr" else None
        if basis is None:
            raise ValueError("a conditional edit needs the attribute directions it is orthogonal to")
        bad = [i for i in edit.ortho if not 0 <= i < basis.vectors.shape[0]]
        if bad:
            raise ValueError(f"attribute direction(s) {bad} do not exist (there are {basis.vectors.shape[0]})")
        from explorer.explore.entanglement import orthogonalise
        v = orthogonalise(v, basis.vectors[list(edit.ortho)])
    return v * float(directions.sigma[edit.direction])


def apply_edits(ws: torch.Tensor, edits: tuple[Edit, ...], directions: Directions | None,
                basis: Directions | None = None) -> torch.Tensor:
    """ws (B, num_ws, w_dim) -> a copy with ws[:, start:end] += amount * sigma_k * v_k per edit
    (v_k orthogonalised first for conditional edits, see edit_vector). Raises ValueError for a followed
    edit (it needs the generator: state_to_ws / follow_edit)."""
    ws = ws.clone()
    for e in edits:
        if e.follow:
            raise ValueError("a followed edit needs the generator (state_to_ws applies it)")
        if directions is None:
            raise ValueError("the state has edits but no directions were given")
        ws[:, e.layer_start:e.layer_end] += e.amount * edit_vector(directions, e, basis).to(ws)
    return ws


@torch.no_grad()
def state_to_ws(G: Generator, state: LatentState, directions: Directions | None = None,
                basis: Directions | None = None) -> torch.Tensor:
    """The per-layer latents ws (1, num_ws, w_dim) of a state, on G's device (from its projected latent
    when it has one; ValueError when that does not fit G). `basis`: the attribute directions that
    conditional edits are orthogonal to (needed only when the state has such edits of PCA/SeFa)."""
    if state.edits and directions is not None and directions.method != state.method:
        raise ValueError(f"the state's edits are {state.method} directions, but {directions.method} ones were given")
    dev = G.w_avg.device
    if state.projected:
        ws = decode_ws(state.projected, G.num_ws, w_width(G)).to(dev)
    else:
        z = state_to_z(state, G.cfg.z_dim).to(dev)
        c = class_tensor(G, state.class_index)
        w = G.mapping(z, None if c is None else c.to(dev), psi=state.psi)   # (1, w_dim)
        ws = w[:, None].repeat(1, G.num_ws, 1)                              # (1, num_ws, w_dim)
    linear = tuple(e for e in state.edits if not e.follow)
    ws = apply_edits(ws, linear, directions, basis)
    for e in state.edits:
        if e.follow:
            ws = follow_edit(G, ws, directions, e)
    return ws


def follow_plan(directions: Directions | None, edit: Edit) -> tuple[str, float, tuple[str, ...]]:
    """(attribute key, sigma, held attribute keys) of a followed edit of attribute directions.
    Raises ValueError when the directions are not attribute ones or an index does not exist."""
    if directions is None or directions.method != "attr":
        raise ValueError("only attribute directions can follow the image")
    keys = list(directions.settings.get("attributes", []))
    bad = [i for i in (edit.direction, *edit.ortho) if not 0 <= i < len(keys)]
    if bad:
        raise ValueError(f"attribute direction(s) {bad} do not exist (there are {len(keys)} with attributes)")
    return keys[edit.direction], float(directions.sigma[edit.direction]), tuple(keys[i] for i in edit.ortho)


def follow_edit(G: Generator, ws: torch.Tensor, directions: Directions | None, edit: Edit) -> torch.Tensor:
    """ws (B, num_ws, w_dim) after one followed edit (local_edits.follow). ValueError as follow_plan, or for
    an attribute G cannot follow."""
    from explorer.explore.local_edits import follow
    key, sigma, hold = follow_plan(directions, edit)
    return follow(G, ws, key, edit.amount, sigma, hold, edit.layer_start, edit.layer_end)


def follow_sweep_ws(G: Generator, ws: torch.Tensor, directions: Directions, edit: Edit, amounts) -> torch.Tensor:
    """ws (1, num_ws, w_dim) of a state *without* the followed `edit` -> (len(amounts), num_ws, w_dim):
    that edit at each amount (the strip of a followed edit)."""
    from explorer.explore.local_edits import follow_sweep
    key, sigma, hold = follow_plan(directions, edit)
    return follow_sweep(G, ws, key, [float(a) for a in amounts], sigma, hold, edit.layer_start, edit.layer_end)


def sweep_ws(ws: torch.Tensor, directions: Directions, edit: Edit, amounts, basis: Directions | None = None
             ) -> torch.Tensor:
    """ws (1, num_ws, w_dim) of a state holding `edit` -> (len(amounts), num_ws, w_dim): the same state
    with that edit's amount set to each of `amounts` (what with_edit + state_to_ws give, in one batch)."""
    if edit.follow:
        raise ValueError("a followed edit's strip is follow_sweep_ws (it needs the generator)")
    v = edit_vector(directions, edit, basis).to(ws)
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
