"""Measurable image attributes: what attribute directions are fitted to, and what heat maps show.

Every function takes rendered images (N, H, W, C) uint8 (what `imaging.render.to_uint8` gives) and
returns one float per image. `measurer_for(G, meta)` picks the attributes a model supports:

* generic, every model (`image_attributes`): brightness, contrast, ink coverage (object size),
  aspect (wide vs tall), left-right symmetry, edge density; for colour models also saturation and
  the dominant hue as two circular components (red vs cyan, green vs blue: the chroma-weighted
  cos and sin of the mean ink colour's hue, so there is no wrap-around at 0/360 degrees);
* classifier outputs where the project ships a classifier for the model's images (each
  Fashion-MNIST class, as the classifier's log-odds, `explorer/evaluation/classifier.py`);
* font attributes for glyph-stack models (one channel per glyph, `cfg.glyphs`), from the font
  dataset's own measures (`explorer/data/glyphmetrics.py`) plus a serif score learned from the
  training set's PANOSE metadata (`explorer/explore/font_attributes.py`).

"Ink" is whatever differs from the background, the median colour of the image's border, so dark
objects on white (emoji) and light objects on black (Fashion-MNIST) are measured alike.

    m = measurer_for(G, meta)
    values = m.measure(images)            # (N, len(m.attributes)) float64
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

INK_SCALE = 0.3        # a pixel this far (0..1 units, max over channels) from the background is full ink
LOGIT_CLIP = 8.0       # classifier log-odds are clipped to +-this (a saturated softmax says nothing more)
GLYPH_CHANNELS = 62    # a glyph-stack model draws A-Z a-z 0-9 as channels


@dataclass(frozen=True)
class Attribute:
    key: str           # stable identifier, e.g. "brightness" or "class:Coat"
    name: str          # short display name, e.g. "brightness"
    help: str          # how it is measured, with units


GENERIC = (
    Attribute("brightness", "brightness", "mean luminance, 0 (black) .. 1 (white)"),
    Attribute("contrast", "contrast", "RMS contrast: std of luminance, 0..0.5"),
    Attribute("coverage", "object size", "ink coverage: share of the image that differs from the background"),
    Attribute("aspect", "wide vs tall", "log(horizontal / vertical spread of the ink), 0 = as wide as tall"),
    Attribute("symmetry", "symmetry", "left-right mirror agreement of the ink, 0..1"),
    Attribute("edges", "edge density", "mean luminance gradient magnitude per pixel"),
)
COLOUR = (
    Attribute("saturation", "saturation", "mean HSV saturation of the ink, 0..1"),
    Attribute("hue_red", "hue: red vs cyan", "cos of the mean ink colour's hue, times its chroma"),
    Attribute("hue_green", "hue: green vs blue", "sin of the mean ink colour's hue, times its chroma"),
)


def _as_float(images: np.ndarray) -> np.ndarray:
    a = np.asarray(images)
    if a.ndim != 4:
        raise ValueError(f"expected images shaped (N, H, W, C), got {a.shape}")
    return a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)


def background(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) float in [0, 1] -> (N, C): the median colour of each image's one-pixel border."""
    border = np.concatenate([x[:, 0], x[:, -1], x[:, 1:-1, 0], x[:, 1:-1, -1]], axis=1)   # (N, P, C)
    return np.median(border, axis=1)


def ink(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) float in [0, 1] -> (N, H, W) soft ink in [0, 1]: distance from the background colour."""
    d = np.abs(x - background(x)[:, None, None, :]).max(axis=-1)
    return np.clip(d / INK_SCALE, 0.0, 1.0)


def _luma(x: np.ndarray) -> np.ndarray:
    if x.shape[-1] == 3:
        return x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return x.mean(axis=-1)


def _spread_aspect(a: np.ndarray) -> np.ndarray:
    """log(std_x / std_y) of the ink distribution a (N, H, W); 0 for blank images."""
    n, h, w = a.shape
    m = a.sum((1, 2)) + 1e-6
    px, py = a.sum(1), a.sum(2)                                  # (N, W), (N, H) ink profiles
    xs, ys = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    mx, my = px @ xs / m, py @ ys / m
    vx = (px * (xs[None] - mx[:, None]) ** 2).sum(1) / m
    vy = (py * (ys[None] - my[:, None]) ** 2).sum(1) / m
    return 0.5 * np.log((vx + 0.25) / (vy + 0.25))


def image_attributes(images: np.ndarray, colour: bool | None = None) -> dict[str, np.ndarray]:
    """Generic attributes of (N, H, W, C) uint8 images: {key: (N,) float64} for GENERIC (+ COLOUR).

    `colour` defaults to C == 3. Sources: RMS contrast (Peli 1990); hue as a circular quantity
    encoded by its cosine and sine (as in circular statistics), weighted by chroma so greys are 0.
    Raises ValueError for input that is not (N, H, W, C).
    """
    x = _as_float(images)
    colour = x.shape[-1] == 3 if colour is None else colour
    lum = _luma(x)                                               # (N, H, W)
    a = ink(x)                                                   # (N, H, W)
    out = {"brightness": lum.mean((1, 2)), "contrast": lum.std((1, 2)), "coverage": a.mean((1, 2)),
           "aspect": _spread_aspect(a)}
    flip = a[:, :, ::-1]
    out["symmetry"] = 1.0 - np.abs(a - flip).sum((1, 2)) / ((a + flip).sum((1, 2)) + 1e-6)
    gx, gy = np.diff(lum, axis=2)[:, :-1], np.diff(lum, axis=1)[:, :, :-1]
    out["edges"] = np.sqrt(gx * gx + gy * gy).mean((1, 2))
    if colour and x.shape[-1] == 3:
        wsum = a.sum((1, 2)) + 1e-6
        mx, mn = x.max(-1), x.min(-1)
        sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0)
        out["saturation"] = (sat * a).sum((1, 2)) / wsum
        mean_rgb = (x * a[..., None]).sum((1, 2)) / wsum[:, None]               # (N, 3) mean ink colour
        r, g, b = mean_rgb[:, 0], mean_rgb[:, 1], mean_rgb[:, 2]
        out["hue_red"] = r - 0.5 * (g + b)                                       # chroma * cos(hue)
        out["hue_green"] = (np.sqrt(3.0) / 2.0) * (g - b)                        # chroma * sin(hue)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


# ---------------------------------------------------------------- a model's measurer


@dataclass
class Measurer:
    """The attributes of one model and how to measure them: `measure(images)` -> (N, A) float64."""
    attributes: list[Attribute]
    parts: list[Callable[[np.ndarray], Mapping[str, np.ndarray]]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.attributes]

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes]

    def measure(self, images: np.ndarray, batch: int = 512) -> np.ndarray:
        """(N, H, W, C) uint8 -> (N, A) float64, columns in `attributes` order (NaN where undefined)."""
        rows = []
        for i in range(0, max(len(images), 1), batch):
            chunk = images[i:i + batch]
            got: dict[str, np.ndarray] = {}
            for part in self.parts:
                got.update(part(chunk))
            rows.append(np.stack([np.asarray(got[k], dtype=np.float64) for k in self.keys], axis=1)
                        if len(chunk) else np.zeros((0, len(self.keys))))
        return np.concatenate(rows) if rows else np.zeros((0, len(self.keys)))


class ClassifierPart:
    """Class log-odds from the shipped Fashion-MNIST classifier: {"class:<name>": (N,)}."""

    def __init__(self, model: Any, class_names: Sequence[str]) -> None:
        self.model, self.class_names = model, list(class_names)

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        import torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)   # (N, C, H, W) uint8
            logp = torch.log_softmax(self.model(x).double(), dim=1)
            logit = (logp - torch.log1p(-logp.exp().clamp_max(1 - 1e-12))).clamp(-LOGIT_CLIP, LOGIT_CLIP)
        return {f"class:{n}": logit[:, i].numpy() for i, n in enumerate(self.class_names)}


def classifier_for(meta: Mapping[str, Any], channels: int) -> ClassifierPart | None:
    """The shipped Fashion-MNIST classifier when the model draws Fashion-MNIST (same class names, or a
    Fashion-MNIST training set), else None. Never raises: a missing or corrupt classifier gives None."""
    from explorer.evaluation.classifier import FASHION_MNIST_CLASSES, load_classifier
    from explorer.settings import pretrained_dir
    names = list(meta.get("class_names") or [])
    source = str((meta.get("dataset") or {}).get("source", "")).lower()
    if channels not in (1, 3) or not (names == list(FASHION_MNIST_CLASSES) or "fashion-mnist" in source):
        return None
    try:
        model, cmeta = load_classifier(pretrained_dir() / "fashion-mnist-classifier")
    except (OSError, ValueError):
        return None
    return ClassifierPart(model, cmeta.get("class_names") or FASHION_MNIST_CLASSES)


def measurer_for(G: Any, meta: Mapping[str, Any] | None = None, classifier: bool = True,
                 learned: bool = True) -> Measurer:
    """The attributes that apply to generator G's images (see the module docstring).

    `classifier=False` leaves classifier outputs out; `learned=False` uses the unlearned serif score
    for glyph stacks (no font dataset is read). Both are faster.
    """
    meta = meta or {}
    ch = int(G.cfg.channels)
    glyphs = str(getattr(G.cfg, "glyphs", "") or "")
    if glyphs or ch == GLYPH_CHANNELS:
        from explorer.explore.font_attributes import CHARS, font_measurer
        return font_measurer(meta, learn=learned, glyphs=glyphs or CHARS)
    attrs = list(GENERIC) + (list(COLOUR) if ch == 3 else [])
    m = Measurer(attrs, [lambda im: image_attributes(im)])
    part = classifier_for(meta, ch) if classifier else None
    if part is not None:
        m.attributes += [Attribute(f"class:{n}", n, f"classifier log-odds of {n!r}, clipped to +-{LOGIT_CLIP:g}")
                         for n in part.class_names]
        m.parts.append(part)
    return m
