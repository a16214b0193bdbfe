"""Edit directions in w: the `Directions` type every method returns, and what the methods share.

Methods ("families"), each in its own module:
  - "pca": GANSpace (Härkönen et al. 2020), explorer/explore/ganspace.py
  - "sefa": closed-form SeFa (Shen & Zhou 2021), explorer/explore/sefa.py
  - "attr": attribute directions from measured attributes, explorer/explore/attribute_directions.py,
    followed by the directions users taught, explorer/explore/taught.py
Sign rules shared by PCA and SeFa are in explorer/explore/direction_signs.py; the on-disk cache and
user names in explorer/explore/direction_cache.py (its `get_directions` is what callers use).

Each method returns K unit rows `vectors` (K, w_dim) (orthonormal for PCA and SeFa) and `sigma` (K,),
the std of w projected on each, so an edit `amount` is in std units whichever method made it.
For DCGAN generators w is z (plus a one-hot class, which directions never touch: those columns
are zero; `edit_dims` and `pad` handle that).

    w = sample_w(G, 1000, torch.Generator().manual_seed(0))     # (1000, dims) float64, CPU
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from explorer.gan.protocol import Generator

METHODS = ("pca", "sefa", "attr")
DEFAULTS: dict[str, dict[str, Any]] = {
    "pca": {"n_samples": 20000, "seed": 0, "batch": 2000, "class_index": None},
    "sefa": {"layers": None, "sigma_samples": 2000, "seed": 0},
    "attr": {"n_samples": 2000, "seed": 0},
}


@dataclass
class Directions:
    method: str                # "pca" | "sefa" | "attr"
    vectors: torch.Tensor      # (K, w_dim) unit rows (orthonormal for PCA / SeFa), float32, CPU
    sigma: torch.Tensor        # (K,) std of w projected on each direction
    explained: torch.Tensor    # (K,) explained-variance ratio (PCA), eigenvalue / sum of eigenvalues (SeFa),
                               # held-out R² or accuracy (attr: see settings["metric"])
    names: list[str]           # display names; defaults "PC 0" / "SeFa 0" / the attribute until renamed
    seconds: float             # time taken to compute (not to read from the cache)
    settings: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.vectors.shape[0])


def default_names(method: str, k: int) -> list[str]:
    """"PC 0", "SeFa 0" or "attribute 0" ... for k directions (attribute directions carry their own)."""
    prefix = {"pca": "PC", "sefa": "SeFa"}.get(method, "attribute")
    return [f"{prefix} {i}" for i in range(k)]


def edit_dims(G: Generator) -> tuple[int, int]:
    """(dims directions act on, full width of w): (w_dim, w_dim) for style/film, (z_dim, z_dim + classes) for DCGAN."""
    if G.cfg.arch != "dcgan":
        return G.cfg.w_dim, G.cfg.w_dim
    return G.cfg.z_dim, G.cfg.z_dim + G.cfg.num_classes


def pad(G: Generator, v: torch.Tensor) -> torch.Tensor:
    """(K, dims) -> (K, w width): zero columns for a DCGAN's one-hot class inputs."""
    dims, width = edit_dims(G)
    return torch.cat([v, v.new_zeros(v.shape[0], width - dims)], dim=1) if width > dims else v


@torch.no_grad()
def sample_zw(G: Generator, n: int, gen: torch.Generator, class_index: int | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(z (n, z_dim) on the CPU, full w (n, w width) on G's device) for n samples at psi=1
    (random classes drawn from `gen` unless one is given)."""
    dev = G.w_avg.device
    z = torch.randn(n, G.cfg.z_dim, generator=gen)
    nc = G.cfg.num_classes
    c = None
    if nc:
        c = (torch.full((n,), class_index, dtype=torch.long) if class_index is not None
             else torch.randint(nc, (n,), generator=gen))
        c = c.to(dev)
    return z, G.mapping(z.to(dev), c)


def sample_w(G: Generator, n: int, gen: torch.Generator, class_index: int | None = None) -> torch.Tensor:
    """n samples of w (n, dims) at psi=1, only the dims directions act on, float64 on the CPU."""
    return sample_zw(G, n, gen, class_index)[1][:, :edit_dims(G)[0]].double().cpu()
