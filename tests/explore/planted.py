"""A hand-built generator with PLANTED linear attributes, for testing attribute directions.

w = z (D dims). The 16x16 grey image is black (-1) with two 4x4 squares: the left one's grey level is
w . u[0] / 3, the right one's w . u[1] / 3 (clipped to [-1, 1]). `block_measurer` reads those two
levels back; with the generic attributes, brightness is linear in w . u[0] + w . u[1].

    G = PlantedGenerator(u)                  # u (2, D) unit rows
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from explorer.explore.attributes import Attribute, Measurer


class PlantedGenerator(nn.Module):
    def __init__(self, u: torch.Tensor, num_classes: int = 0) -> None:
        super().__init__()
        d = u.shape[1]
        self.cfg = SimpleNamespace(arch="style", z_dim=d, w_dim=d, num_classes=num_classes, resolution=16,
                                   channels=1, glyphs="")
        self.num_ws, self.layer_names = 1, ["all"]
        self.register_buffer("u", u.float())
        self.register_buffer("w_avg", torch.zeros(max(num_classes, 1), d))

    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        return z * psi

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        w = ws[:, 0] if ws.dim() == 3 else ws
        lv = (w.float() @ self.u.T / 3).clamp(-1, 1)                 # (B, 2) grey levels
        x = torch.full((w.shape[0], 1, 16, 16), -1.0)
        x[:, 0, 6:10, 2:6] = lv[:, :1, None]
        x[:, 0, 6:10, 10:14] = lv[:, 1:, None]
        return x

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, c, psi))

    def style_affines(self) -> list[nn.Module]:
        return []


def block_measurer() -> Measurer:
    """The two planted levels as attributes "left" and "right" (0..1)."""
    def part(images: np.ndarray) -> dict[str, np.ndarray]:
        x = images.astype(np.float64)[..., 0] / 255.0
        return {"left": x[:, 6:10, 2:6].mean((1, 2)), "right": x[:, 6:10, 10:14].mean((1, 2))}
    return Measurer([Attribute("left", "left", "left square"), Attribute("right", "right", "right square")], [part])


def units(d: int, cos: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Two unit vectors in R^d with cosine `cos` between them, from a seeded random rotation."""
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    a, b = q[:, 0], q[:, 1]
    return torch.stack([a, cos * a + (1 - cos ** 2) ** 0.5 * b]).float()
