"""2D GAN playground targets: point clouds in the plane with their modes, and CSV uploads.

Ring of 8 Gaussians, 5x5 grid, spiral, two moons, or CSV points (`parse_points_csv`). Every target
is "support points + Gaussian noise" and lists its modes. **Coverage rule** (`modes_covered`): with
2000 generated points, a mode counts as covered when at least max(1% of them, 5 points) lie within the
target's radius of its centre (3 noise std for ring and grid; for spiral and moons the modes are
evenly spaced points along the curve and the radius is 0.3, under half their spacing). Uploaded
points have no modes, so their coverage is not computed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

import numpy as np

TARGETS = ("ring", "grid", "spiral", "moons", "csv")
MAX_CSV_ROWS, MAX_CSV_BYTES, MIN_CSV_ROWS = 20_000, 2_000_000, 10


@dataclass(frozen=True)
class Target:
    name: str
    support: np.ndarray          # (M, 2): samples are a uniform pick of these plus N(0, noise^2)
    noise: float
    modes: np.ndarray            # (K, 2) centres; K == 0 means no coverage
    radius: float                # coverage radius around each mode

    @property
    def bound(self) -> float:
        """Half-width of the square view."""
        return float(np.abs(self.support).max() + 3 * self.noise + 0.5)


def _along(curve: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Points at the given fractions (0..1) of a polyline's arc length."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    return np.stack([np.interp(fractions * s[-1], s, curve[:, i]) for i in (0, 1)], axis=1)


def _curve_target(name: str, curves: list[np.ndarray], modes_per_curve: int) -> Target:
    """Uniform along the curves' arc length; modes at the middles of equal-length segments."""
    even, mids = np.linspace(0, 1, 1000), (np.arange(modes_per_curve) + 0.5) / modes_per_curve
    return Target(name, np.concatenate([_along(c, even) for c in curves]), 0.04,
                  np.concatenate([_along(c, mids) for c in curves]), 0.3)


def make_target(name: str, points: np.ndarray | None = None) -> Target:
    """A built-in target by name, or "csv" with already-normalised points (see parse_points_csv)."""
    if name == "ring":
        a = np.arange(8) * 2 * np.pi / 8
        c = 2.0 * np.stack([np.cos(a), np.sin(a)], 1)
        return Target("ring", c, 0.05, c, 0.15)
    if name == "grid":
        c = np.stack(np.meshgrid(np.arange(-2.0, 3), np.arange(-2.0, 3)), -1).reshape(-1, 2)
        return Target("grid", c, 0.05, c, 0.15)
    if name == "spiral":
        t = np.linspace(0, 1, 4000)
        th, r = 0.5 + 3 * np.pi * t, 0.3 + 1.7 * t
        return _curve_target("spiral", [np.stack([r * np.cos(th), r * np.sin(th)], 1)], 12)
    if name == "moons":
        t = np.linspace(0, np.pi, 2000)
        up, down = np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
        return _curve_target("moons", [(c - [0.5, 0.25]) * 1.4 for c in (up, down)], 5)
    if name == "csv":
        if points is None or len(points) == 0:
            raise ValueError("the CSV target needs uploaded points")
        return Target("csv", np.asarray(points, dtype=np.float64), 0.0, np.zeros((0, 2)), 0.0)
    raise ValueError(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")


def parse_points_csv(data: bytes | str, max_rows: int = MAX_CSV_ROWS) -> np.ndarray:
    """Two numeric columns (header optional; comma, semicolon, tab or spaces) -> (N, 2) points with mean 0
    and RMS radius 1.5. Raises ValueError with a message fit for the user on any problem."""
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise ValueError(f"file too large ({len(data):,} bytes; at most {MAX_CSV_BYTES:,})")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("not a text file (could not decode it as UTF-8)") from None
    lines = [(i, ln) for i, ln in enumerate(data.splitlines(), 1) if ln.strip()]
    if not lines:
        raise ValueError("the file is empty")
    first = lines[0][1]
    delim = next((d for d in (",", ";", "\t") if d in first), None)
    rows: list[tuple[float, float]] = []
    for k, (lineno, line) in enumerate(lines):
        cells = next(csv.reader([line], delimiter=delim)) if delim else line.split()
        cells = [c.strip() for c in cells]
        if len(cells) != 2:
            raise ValueError(f"line {lineno}: expected 2 columns, found {len(cells)}")
        try:
            x, y = float(cells[0]), float(cells[1])
        except ValueError:
            if k == 0:                                   # a header row
                continue
            raise ValueError(f"line {lineno}: {line.strip()[:40]!r} is not two numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"line {lineno}: NaN or infinite values are not allowed")
        rows.append((x, y))
        if len(rows) > max_rows:
            raise ValueError(f"too many rows: at most {max_rows:,} points")
    if len(rows) < MIN_CSV_ROWS:
        raise ValueError(f"need at least {MIN_CSV_ROWS} points, found {len(rows)}")
    p = np.asarray(rows, dtype=np.float64)
    big = float(np.abs(p).max())
    if big > 0:                     # scaled to at most 1 first: squares of values near 1e300 overflow to inf
        p = p / big
    p -= p.mean(0)
    rms = float(np.sqrt((p ** 2).sum(1).mean()))
    if not rms > 1e-12 * (1 + float(np.abs(p).max())):
        raise ValueError("all points are the same; nothing to learn")
    return p * (1.5 / rms)


def modes_covered(points: np.ndarray, modes: np.ndarray, radius: float, frac: float = 0.01,
                  min_points: int = 5) -> int:
    """How many modes have >= max(frac * len(points), min_points) points within `radius` of their centre."""
    if len(modes) == 0:
        return 0
    d = np.linalg.norm(points[:, None, :] - modes[None, :, :], axis=2)
    return int(((d <= radius).sum(0) >= max(frac * len(points), min_points)).sum())
