"""The `Generator` protocol: what every generator offers the rest of the package.

`build_generator(cfg)` and every loader return a `Generator`; code that explores, evaluates or
renders is typed against it, never against a concrete class or a bare `nn.Module` (on which
`G.num_ws` would type as `Tensor | Module`). The three architectures in generators.py (style,
FiLM, DCGAN) satisfy it structurally; a new one only has to provide these members.

    from explorer.gan.protocol import Generator
    def render(G: Generator, z: torch.Tensor) -> torch.Tensor:
        ws = G.mapping(z, None, psi=0.7)          # (B, w_dim)
        return G.synthesis(ws)                    # (B, C, H, W) in [-1, 1]

Latent conventions (StyleGAN, Karras et al. 2019/2020): z (B, z_dim) ~ N(0, I) is mapped to
w (B, w_dim); synthesis takes one w per layer, ws (B, num_ws, w_dim), or one w broadcast to all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import torch
from torch import nn

from explorer.config import GeneratorConfig


class Generator(Protocol):
    """A generator network: z -> w (mapping) -> image (synthesis). An `nn.Module` at run time."""

    cfg: GeneratorConfig            # rebuilds the network (saved beside the weights)
    num_ws: int                     # number of w inputs synthesis takes: len(layer_names)
    layer_names: list[str]          # one label per w input, coarse to fine ("4x4", "8x8a", ...)
    w_avg: torch.Tensor             # (max(num_classes, 1), w_dim) mean w per class: the truncation centre
    training: bool

    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        """z (B, z_dim), c (B,) class indices or None -> w (B, w_dim), truncated toward w_avg by psi.

        Raises ValueError when the generator is conditional and c is None."""
        ...

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """ws (B, num_ws, w_dim) or (B, w_dim) -> images (B, C, H, W), roughly in [-1, 1]."""
        ...

    def __call__(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        """synthesis(mapping(z, c, psi)): z (B, z_dim) -> images (B, C, H, W)."""
        ...

    def style_affines(self) -> Sequence[nn.Linear | nn.ConvTranspose2d]:
        """The layers mapping w to per-layer styles, whose weights SeFa (Shen & Zhou 2021) factorises."""
        ...

    # the nn.Module surface the package uses on a generator
    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...
    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, nn.Parameter]]: ...
    def buffers(self, recurse: bool = True) -> Iterator[torch.Tensor]: ...
    def modules(self) -> Iterator[nn.Module]: ...
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...
    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any: ...
    def to(self, *args: Any, **kwargs: Any) -> Generator: ...
    def half(self) -> Generator: ...
    def float(self) -> Generator: ...
    def eval(self) -> Generator: ...
    def train(self, mode: bool = True) -> Generator: ...
    def requires_grad_(self, requires_grad: bool = True) -> Generator: ...
    def zero_grad(self, set_to_none: bool = True) -> None: ...
