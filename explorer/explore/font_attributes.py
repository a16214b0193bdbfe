"""Font attributes of glyph-stack models: weight, slant, width, x-height ratio, contrast, serif.

A glyph-stack generator draws one typeface as 62 channels (A-Z a-z 0-9, ink = 255 on 0). The five
measures come from the font dataset's own definitions (`explorer/data/glyphmetrics.py`, used for
real faces too, so generated and real faces are measured alike). Serif-ness has no closed form:
it is learned from the training set's metadata (PANOSE bSerifStyle 2-10 = serif, 11-13 = sans;
Bauermeister, "PANOSE Classification Metrics Guide"), by logistic regression on foot/head
features (how much wider a stem is at its baseline and top than in its middle), fitted once per
dataset build and cached as JSON. Without a dataset (or too few labelled faces) the raw foot
score is used instead, and its name says so.

    m = font_measurer(meta)                 # an attributes.Measurer
    values = m.measure(images)              # images (N, 64, 64, 62) uint8 -> (N, A)
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from explorer import fileio
from explorer.explore.attributes import Attribute, Measurer
from explorer.imaging.render import stack_from_sheet

CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits
SERIF_GLYPHS = "IilHnhmkpqdbru"      # stems that carry feet (and heads) in serif faces
MIN_LABELLED = 20                    # faces per class (serif, sans) needed to learn the serif score
FONT_ATTRIBUTES = (
    Attribute("stroke_width", "weight", "stroke width / cap height (median over glyphs)"),
    Attribute("slant", "slant", "degrees, > 0 leans right (median over symmetric glyphs)"),
    Attribute("width", "width", "glyph width / cap height (H N O U n o u)"),
    Attribute("x_height_ratio", "x-height", "x-height / cap height"),
    Attribute("contrast", "contrast", "thick / thin stroke ratio of O and o"),
)

CELL_ATTRIBUTES = (            # the generic image measures, per glyph cell (glyphmetrics, cells=True)
    Attribute("coverage", "ink", "share of the glyph cells covered by ink"),
    Attribute("edges", "edge density", "mean ink gradient magnitude per pixel of a glyph cell, mean over glyphs"),
    Attribute("aspect", "wide vs tall", "log(horizontal / vertical spread of a glyph's ink), mean over glyphs"),
    Attribute("symmetry", "symmetry", "left-right mirror agreement of the ink of A H I M O T U V W X Y i o v w x "
                                      "0 8 about each one's centroid, 0..1, mean"),
)

MEASURE_CHUNK = 16            # faces converted to float ink and measured at a time (1,000 faces: 16 at a time
                              # measured in 3.6 s wall, 0.2 s of it system time; 64 at a time 5.9 s, 2.5 s)


def stacks(images: np.ndarray, glyphs: str = CHARS) -> np.ndarray:
    """(N, H, W, len(glyphs)) uint8 images, or the glyph sheets every render of a glyph-stack model
    returns ((N, H', W'[, 1]), see `imaging.render.glyph_sheet`) -> (N, 62, H, W) float ink in [0, 1],
    channels in CHARS order (a glyph the model does not draw is blank, so measures that need it are
    NaN). Raises ValueError for an image that is neither."""
    a = np.asarray(images)
    if a.ndim == 3 or (a.ndim == 4 and a.shape[-1] == 1 and len(glyphs) != 1):      # sheets -> stacks
        cells = stacks_from_sheets(a, len(glyphs))                                   # (N, G, R, R)
    else:
        cells = a.transpose(0, 3, 1, 2)
    if glyphs == CHARS:
        return cells.astype(np.float32) / np.float32(255.0)
    out = np.zeros((cells.shape[0], len(CHARS), cells.shape[2], cells.shape[3]), dtype=np.float32)
    for j, ch in enumerate(glyphs):
        if ch in CHARS:
            out[:, CHARS.index(ch)] = cells[:, j].astype(np.float32) / 255.0
    return out


def stacks_from_sheets(sheets: np.ndarray, count: int) -> np.ndarray:
    """(N, H', W'[, 1]) uint8 glyph sheets -> (N, count, R, R) uint8 stacks, ink = 255, in one reshape
    (`imaging.render.stack_from_sheet` for a batch). Raises ValueError like it."""
    a = np.asarray(sheets)
    if len(a) == 0:
        return np.zeros((0, count, 1, 1), np.uint8)
    first = stack_from_sheet(a[0], count)                                 # validates the layout
    r = first.shape[-1]
    a = a[..., 0] if a.ndim == 4 else a
    n, rows, columns = a.shape[0], a.shape[1] // r, a.shape[2] // r
    cells = (255 - a).reshape(n, rows, r, columns, r).transpose(0, 1, 3, 2, 4).reshape(n, rows * columns, r, r)
    return np.ascontiguousarray(cells[:, :count])


def serif_features(ink: np.ndarray) -> np.ndarray:
    """(N, 62, H, W) ink -> (N, 2 * len(SERIF_GLYPHS)) log(foot width / stem width), log(head / stem).

    Width of a band = ink summed over 3 rows / 3; the stem band is the 3 rows at the glyph's middle."""
    g = ink[:, [CHARS.index(c) for c in SERIF_GLYPHS]]                   # (N, k, H, W)
    rows = g.sum(-1)                                                     # (N, k, H) ink per row
    on = g.max(-1) >= 0.5
    h = on.shape[-1]
    top = on.argmax(-1)
    bottom = h - 1 - on[..., ::-1].argmax(-1)
    mid = (top + bottom) // 2
    idx = np.arange(h)

    def band(centre: np.ndarray) -> np.ndarray:
        sel = np.abs(idx[None, None, :] - centre[..., None]) <= 1        # 3 rows around centre
        return (rows * sel).sum(-1) / 3.0

    stem = band(mid) + 0.5
    feet, heads = band(bottom - 1) + 0.5, band(top + 1) + 0.5
    blank = ~on.any(-1)
    f = np.where(blank, 0.0, np.log(feet / stem))
    t = np.where(blank, 0.0, np.log(heads / stem))
    return np.concatenate([f, t], axis=1).astype(np.float64)


def serif_labels(faces: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """(N,) 1 = serif, 0 = sans, -1 = unknown, from each face's PANOSE (Latin text family type 2 only)."""
    out = np.full(len(faces), -1, dtype=np.int64)
    for i, f in enumerate(faces):
        p = f.get("panose")
        if isinstance(p, (list, tuple)) and len(p) >= 2 and p[0] == 2:
            out[i] = 1 if 2 <= p[1] <= 10 else 0 if 11 <= p[1] <= 13 else -1
    return out


def fit_serif(ink: np.ndarray, labels: np.ndarray) -> dict[str, Any] | None:
    """Logistic regression serif-vs-sans on `serif_features` of (N, 62, H, W) ink; see fit_serif_features."""
    return fit_serif_features(serif_features(ink), labels)


def fit_serif_features(X: np.ndarray, labels: np.ndarray) -> dict[str, Any] | None:
    """Logistic regression (standardised features, balanced classes) of labels (N,) 1/0/-1 on X (N, F).

    None with fewer than MIN_LABELLED faces of either class. Returns a JSON-able model:
    {"mean", "scale", "coef", "intercept", "accuracy_cv" (5-fold), "n"}."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    keep = labels >= 0
    y, X = labels[keep], X[keep]
    if min(int((y == 1).sum()), int((y == 0).sum())) < MIN_LABELLED:
        return None
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced"))
    acc = float(np.mean(cross_val_score(pipe, X, y, cv=5)))
    pipe.fit(X, y)
    return {"mean": pipe[0].mean_.tolist(), "scale": pipe[0].scale_.tolist(), "coef": pipe[1].coef_[0].tolist(),
            "intercept": float(pipe[1].intercept_[0]), "accuracy_cv": round(acc, 4), "n": int(len(y))}


def serif_score(ink: np.ndarray, model: Mapping[str, Any] | None) -> np.ndarray:
    """(N,) serif log-odds under a `fit_serif` model, or the mean raw foot feature when model is None."""
    X = serif_features(ink)
    if model is None:
        return X[:, :len(SERIF_GLYPHS)].mean(1)
    z = (X - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return z @ np.asarray(model["coef"]) + float(model["intercept"])


def learned_serif(meta: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The serif model of the fonts training set, cached per dataset build; None without a dataset."""
    try:
        from explorer.data.fontstore import load_fonts, read_meta
        from explorer.settings import data_dir
        info = read_meta()
    except (ImportError, OSError, ValueError, KeyError):
        return None
    path = data_dir() / "cache" / "attributes" / f"serif-{info.get('build_id', 'none')}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["model"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        fs = load_fonts("train")
    except (OSError, ValueError, KeyError):
        return None
    labels = serif_labels(fs.faces)
    model = None
    ink = fs.glyphs.numpy()
    parts = [serif_features(ink[i:i + 256].astype(np.float32) / 255.0) for i in range(0, len(ink), 256)]
    if parts:
        feats = np.concatenate(parts)
        model = fit_serif_features(feats, labels)
    fileio.atomic_write_json(path, {"format": "latent-explorer-serif-model", "model": model})
    return model


def font_measurer(meta: Mapping[str, Any] | None = None, serif_model: Mapping[str, Any] | None = None,
                  learn: bool = True, glyphs: str = CHARS) -> Measurer:
    """Measurer for glyph-stack images (N, H, W, len(glyphs)): the five glyph measures of the font
    dataset (explorer/data/glyphmetrics.py), serif, and the generic image measures that mean something
    on black glyphs on white, measured per glyph cell (CELL_ATTRIBUTES: ink coverage, edge density,
    aspect, symmetry; brightness and contrast of binary ink are functions of its coverage, and glyphs
    have no colour).

    `serif_model` (from `fit_serif`) overrides the dataset's; `learn=False` skips looking for one."""
    from explorer.data.glyphmetrics import face_attributes
    model = serif_model if serif_model is not None else (learned_serif(meta) if learn else None)
    serif = (Attribute("serif", "serif", f"serif log-odds, logistic regression on PANOSE labels of the "
                       f"training fonts (cross-validated accuracy {model['accuracy_cv']:.0%})")
             if model is not None else
             Attribute("serif", "serif (feet)",
                       "log(foot / stem width) of stems, mean (no labelled fonts to learn from)"))

    def one_chunk(images: np.ndarray) -> dict[str, np.ndarray]:
        ink = stacks(images, glyphs)
        out = {k: np.asarray(v, dtype=np.float64) for k, v in face_attributes(ink, cells=True).items()}
        out["coverage"] = ink.mean((1, 2, 3)).astype(np.float64)
        out["serif"] = serif_score(ink, model)
        return out

    def part(images: np.ndarray) -> dict[str, np.ndarray]:
        # MEASURE_CHUNK faces at a time: the float ink of 500 faces is 0.5 GB, and allocating it cost more
        # than measuring it
        parts = [one_chunk(images[i:i + MEASURE_CHUNK]) for i in range(0, max(len(images), 1), MEASURE_CHUNK)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    return Measurer([*FONT_ATTRIBUTES, serif, *CELL_ATTRIBUTES], [part])
