"""How readable one generated typeface is: the project's glyph classifier reads each of its glyphs.

The fonts quality bar measures glyph accuracy over many generated faces; a designer looks at one.
Generated faces are far from uniform (pretrained/fonts after 2 h: per-face accuracy p10 13 %, median
79 %, p75 96 %, over 300 seeds), so the explorer says, for the face on screen, how many of its glyphs
the classifier reads as themselves (look-alikes merged as in the bar: I/l, O/0) and which it misreads,
beside the figure for held-out real faces.

    reader = load_reader()                       # None when the classifier is not shipped
    r = read_face(stack, CHARS, reader)          # Reading(read=58, total=62, misread="1l4O")
    readable_seeds(eng, state, first=0, count=12, reader=reader)   # the gallery's "readable faces only"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explorer.evaluation.classifier import FashionClassifier
from explorer.evaluation.glyphs import CLASSIFIER_NAME, load_glyph_classifier, predict, read_as_themselves
from explorer.explore.engine import Engine
from explorer.explore.latents import SEED_MAX, LatentState
from explorer.imaging.render import stack_from_sheet
from explorer.settings import pretrained_dir

READABLE = 0.8          # a face counts as readable when the classifier reads >= 80 % of its glyphs


@dataclass(frozen=True)
class Reader:
    """The glyph classifier, its look-alike groups (lists of glyph indices) and its glyphs (a string, in
    channel order); it reads glyph cells of any size (resized to its own, as in the evaluation)."""
    model: FashionClassifier
    groups: list[list[int]]
    glyphs: str


@dataclass(frozen=True)
class Reading:
    """read of total glyphs were read as themselves (or a look-alike); misread: the others, in order."""
    read: int
    total: int
    misread: str

    @property
    def share(self) -> float:
        return self.read / self.total if self.total else 0.0


def load_reader(stem: str | Path | None = None) -> Reader | None:
    """The shipped glyph classifier (pretrained/fonts-glyph-classifier), or None when it is missing or
    unreadable (the explorer then shows no reading)."""
    path = Path(stem) if stem is not None else pretrained_dir() / CLASSIFIER_NAME
    if not path.with_suffix(".json").is_file():
        return None
    try:
        model, groups, meta = load_glyph_classifier(path)
    except (OSError, ValueError, KeyError, RuntimeError):
        return None
    return Reader(model, groups, "".join(str(c) for c in meta.get("class_names") or []))


def read_face(stack: np.ndarray, glyphs: str, reader: Reader) -> Reading | None:
    """The reading of one face: stack (G, R, R) uint8 (ink = 255) whose channel i draws glyphs[i].
    None when the classifier cannot read this model (other glyphs, or not a (G, R, R) stack)."""
    a = np.asarray(stack)
    if glyphs != reader.glyphs or a.ndim != 3 or a.shape[0] != len(glyphs):
        return None
    pred, _ = predict(reader.model, torch.from_numpy(np.ascontiguousarray(a, dtype=np.uint8))[None])
    ok = read_as_themselves(pred, reader.groups)[0].numpy()
    return Reading(int(ok.sum()), len(glyphs), "".join(c for c, good in zip(glyphs, ok, strict=True) if not good))


def readable_seeds(eng: Engine, state: LatentState, first: int, count: int, reader: Reader,
                   threshold: float = READABLE, max_scan: int = 120, batch: int = 12) -> tuple[list[int], int]:
    """Seeds from `first` on (with `state`'s edits, psi and class) whose face the classifier reads at
    >= threshold, at most `count` of them, scanning at most `max_scan` seeds in batches.
    Returns (seeds, seeds scanned). A model the classifier cannot read gives ([], 0)."""
    glyphs = "".join(eng.G.cfg.glyphs or "")
    if glyphs != reader.glyphs:
        return [], 0
    found: list[int] = []
    seed = first
    while len(found) < count and seed - first < max_scan and seed <= SEED_MAX:
        seeds = list(range(seed, min(seed + batch, first + max_scan, SEED_MAX + 1)))
        imgs = eng.render_states([dataclasses.replace(state, seed=s) for s in seeds])
        for s, img in zip(seeds, imgs, strict=True):
            r = read_face(stack_from_sheet(img, len(glyphs)), glyphs, reader)
            if r is not None and r.share >= threshold and len(found) < count:
                found.append(s)
        seed = seeds[-1] + 1
    return found, seed - first
