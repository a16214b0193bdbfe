"""Storage of the typefaces dataset: one safetensors file per split + fonts.json + report.json.

<dir>/train.safetensors and <dir>/test.safetensors hold, for N faces of the split:
  glyphs        uint8   (N, 62, 64, 64)  ink, 0 = background; glyph order A-Z a-z 0-9
  advance       float32 (N, 62)          advance widths, px at the cell's scale
  origin_x      float32 (N, 62)          x of each glyph's pen origin inside its cell, px
  family_index  int64   (N,)             index into the split's `families` list in fonts.json
  family_weight float32 (N,)             1 / (faces of the family in the split): sampling by family
  attributes    float32 (N, 5)           measured stroke_width, slant, width, x_height_ratio, contrast
fonts.json: geometry (cell, cap height, baseline), per split the families and one record per face
(family, style, file, package, licence, usWeightClass, usWidthClass, italicAngle, fsSelection,
PANOSE, measured attributes, ...), the counts and build time. report.json: every dropped face with
its reason. Each file is written atomically; fonts.json last, naming the build id that each
safetensors file carries in its metadata, so a torn rebuild is detected on load.

    from explorer.data.fontstore import load_fonts, sample_faces
    fs = load_fonts("train")                  # FontSet; fs.glyphs: torch.uint8 (N, 62, 64, 64)
    idx = sample_faces(fs, 64)                # face indices, each family equally likely
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer import fileio
from explorer.data.glyphmetrics import ATTRIBUTES, CHARS

FORMAT = "latent-explorer/fonts-dataset"
VERSION = 1
SPLITS = ("train", "test")
CELL = 64                            # glyph cell side, px (explorer.data.fontrender renders at this size)
_BUILD_ID = secrets.token_hex(8)


@dataclass
class FontSet:
    glyphs: torch.Tensor                 # uint8 (N, 62, 64, 64)
    advance: torch.Tensor                # float32 (N, 62)
    origin_x: torch.Tensor               # float32 (N, 62)
    family_index: torch.Tensor           # int64 (N,)
    family_weight: torch.Tensor          # float32 (N,)
    attributes: torch.Tensor             # float32 (N, len(ATTRIBUTES)), NaN where undefined
    faces: list[dict[str, Any]]
    families: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.glyphs.shape[0])


def _family_key(name: str) -> str:
    return name.strip().casefold()


def save_split(out: Path, split: str, glyphs: np.ndarray, faces: list[dict[str, Any]],
               extras: dict[str, np.ndarray]) -> dict[str, Any]:
    """Write <out>/<split>.safetensors; return its fonts.json entry (without writing fonts.json)."""
    keys = [_family_key(f["family"]) for f in faces]
    families = sorted(set(keys))
    fam_idx = np.array([families.index(k) for k in keys], dtype=np.int64)
    sizes = np.bincount(fam_idx, minlength=len(families)) if len(keys) else np.zeros(0, np.int64)
    weight = (1.0 / sizes[fam_idx]).astype(np.float32) if len(keys) else np.zeros(0, np.float32)
    attrs = np.array([[np.nan if f["attributes"][a] is None else f["attributes"][a] for a in ATTRIBUTES]
                      for f in faces], dtype=np.float32).reshape(len(faces), len(ATTRIBUTES))
    tensors = {"glyphs": torch.from_numpy(np.ascontiguousarray(glyphs)),
               "advance": torch.from_numpy(np.asarray(extras["advance"], dtype=np.float32)),
               "origin_x": torch.from_numpy(np.asarray(extras["origin_x"], dtype=np.float32)),
               "family_index": torch.from_numpy(fam_idx), "family_weight": torch.from_numpy(weight),
               "attributes": torch.from_numpy(attrs)}
    name = f"{split}.safetensors"
    sha = fileio.atomic_save_tensors(out / name, tensors, metadata={"format": FORMAT, "build_id": _BUILD_ID,
                                                                     "split": split})
    display: dict[str, str] = {}
    for f in faces:
        display.setdefault(_family_key(f["family"]), f["family"].strip())
    return {"file": name, "sha256": sha, "count": len(faces), "families": len(families),
            "family_names": [display[k] for k in families], "faces": faces}


def save_meta(out: Path, summary: dict[str, Any], splits: dict[str, dict[str, Any]],
              dropped: list[dict[str, Any]]) -> None:
    """Write report.json, then fonts.json (the file whose presence makes the dataset complete)."""
    from explorer.data.fontrender import BASELINE, CAP_PX
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    fileio.atomic_write_json(out / "report.json", {"format": FORMAT + "-report", "created": created,
                                                   **summary, "dropped_faces": dropped})
    fileio.atomic_write_json(out / "fonts.json", {
        "format": FORMAT, "version": VERSION, "build_id": _BUILD_ID, "created": created,
        "chars": CHARS, "cell": CELL, "cap_height_px": CAP_PX, "baseline_row": BASELINE,
        "attributes": list(ATTRIBUTES), "summary": summary, "splits": splits})


def read_meta(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """fonts.json of a dataset folder (default <data>/datasets/fonts)."""
    folder = Path(path) if path is not None else _default_dir()
    meta_path = folder / "fonts.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} has no fonts dataset (no fonts.json): run `latent-explorer datasets fonts`")
    meta = fileio.read_json_object(meta_path, "a fonts dataset")
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"{meta_path} is not a version-{VERSION} fonts dataset; rebuild it")
    return meta


def _default_dir() -> Path:
    from explorer.settings import data_dir
    return data_dir() / "datasets" / "fonts"


def load_fonts(split: str = "train", path: str | os.PathLike | None = None) -> FontSet:
    """Load one split ("train" or "test") of a dataset folder (default <data>/datasets/fonts)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    from safetensors import safe_open
    from safetensors.torch import load_file

    folder = Path(path) if path is not None else _default_dir()
    meta = read_meta(folder)
    entry = meta["splits"][split]
    file = folder / entry["file"]
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing (fonts.json is there but its glyphs are not); rebuild")
    try:
        with safe_open(str(file), "pt") as f:
            st_meta = f.metadata() or {}
        t = load_file(str(file))
    except Exception as e:  # noqa: BLE001 - any corruption becomes one clear message
        raise ValueError(f"{file} is not readable ({e}); rebuild the fonts dataset") from e
    if st_meta.get("build_id") != meta.get("build_id"):
        raise ValueError(f"{file} is from another build than fonts.json (interrupted rebuild?); rebuild")
    g = t["glyphs"]
    if g.dtype != torch.uint8 or tuple(g.shape[1:]) != (len(CHARS), CELL, CELL) or len(g) != entry["count"]:
        raise ValueError(f"{file} does not hold {entry['count']} glyph stacks (62, {CELL}, {CELL}); rebuild")
    info = {k: v for k, v in meta.items() if k != "splits"}
    return FontSet(g, t["advance"], t["origin_x"], t["family_index"], t["family_weight"], t["attributes"],
                   entry["faces"], entry["family_names"], info)


def sample_faces(fs: FontSet, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n,) int64 face indices drawn with replacement so that every family is equally likely
    (and faces equally likely within a family)."""
    if len(fs) == 0:
        raise ValueError("cannot sample from an empty font set")
    return torch.multinomial(fs.family_weight.double(), n, replacement=True, generator=generator)
