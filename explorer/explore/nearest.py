"""The real typefaces nearest to a generated one: "what does it resemble, and is it a copy?"

Pixel space: every face of the fonts dataset's train split (explorer/data/fontstore.py) becomes a
feature vector of its 62 glyphs each mean-pooled to POOL x POOL (the glyphs share one cap height and
baseline, so pooled pixels compare shapes, not positions), and the distance is the RMS difference of
ink in [0, 1]. The features are computed once per dataset build (the train split is ~1 GB; it is read
in chunks) and cached beside the dataset as nearest-<POOL>.safetensors, tagged with the build id.
With them comes a yardstick: the median distance from each held-out (test split) face to its nearest
training face, so "0.08 from the nearest real face" can be read against how far real faces of other
families are from the training set (the same idea as the memorisation ratio of the evaluation).
A query shortlists SHORTLIST faces by distance in the features' first COMPONENTS principal components
(scikit-learn's randomized PCA, fitted with the index), then ranks those by their exact distance.

    idx = load_index()                                   # FileNotFoundError: no dataset on this server
    hits = nearest(idx, stack, k=3)                      # [Neighbour(face_index, distance, face)], distinct families
    glyphs, advance, origin_x = real_face(idx, hits[0].face_index)     # (62, 64, 64) uint8, (62,), (62,)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from explorer import fileio

POOL = 16                 # glyphs are compared at 16 x 16 (4 x 4 pooling of the dataset's 64 px cells)
CHUNK = 256               # faces read / compared at a time
COMPONENTS = 128          # PCA components that shortlist candidates
SHORTLIST = 64            # candidates whose exact distance is computed
CACHE_FORMAT = "latent-explorer/fonts-nearest"


@dataclass
class FaceIndex:
    features: torch.Tensor            # uint8 (N, 62 * POOL * POOL): the train split's pooled glyphs
    norms: torch.Tensor               # float32 (N,): squared norms of the features (ink in [0, 1])
    mean: torch.Tensor                # float32 (D,): the features' mean (ink in [0, 1])
    components: torch.Tensor          # float32 (C, D): principal axes
    projected: torch.Tensor           # float32 (N, C): the faces in those axes
    faces: list[dict[str, Any]]       # the train split's per-face records (family, style, package, licence, ...)
    folder: Path                      # the dataset folder
    typical: float                    # median nearest-training-face distance of held-out faces (nan if none)


@dataclass(frozen=True)
class Neighbour:
    face_index: int                   # index in the train split
    distance: float                   # RMS ink difference, in [0, 1]
    face: dict[str, Any]              # its record from fonts.json


def pool_stacks(stacks: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N, G, R, R) uint8 glyph stacks -> (N, G * POOL * POOL) uint8 (area-averaged glyphs)."""
    x = torch.as_tensor(np.asarray(stacks)).float()
    n, g, r, _ = x.shape
    if r % POOL == 0:
        y = torch.nn.functional.avg_pool2d(x.reshape(n * g, 1, r, r), r // POOL)
    else:
        y = torch.nn.functional.interpolate(x.reshape(n * g, 1, r, r), size=(POOL, POOL), mode="area")
    return y.round().clamp(0, 255).to(torch.uint8).reshape(n, g * POOL * POOL).numpy()


def _pooled_split(folder: Path, split: str) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Pool one split of the dataset chunk by chunk (never the whole ~1 GB in memory at once)."""
    from safetensors import safe_open

    from explorer.data.fontstore import read_meta
    meta = read_meta(folder)
    entry = meta["splits"][split]
    out = []
    with safe_open(str(folder / entry["file"]), "pt") as f:
        if (f.metadata() or {}).get("build_id") != meta.get("build_id"):
            raise ValueError(f"{folder / entry['file']} is from another build than fonts.json; rebuild the dataset")
        sl = f.get_slice("glyphs")
        n = int(sl.get_shape()[0])
        for i in range(0, n, CHUNK):
            out.append(pool_stacks(sl[i:min(i + CHUNK, n)]))
    feats = np.concatenate(out) if out else np.zeros((0, 62 * POOL * POOL), np.uint8)
    return feats, list(entry["faces"])


def _distances(index_feats: torch.Tensor, norms: torch.Tensor, q: np.ndarray) -> torch.Tensor:
    """(M, N) RMS distances between M query features (uint8) and the index, computed in chunks."""
    qf = torch.from_numpy(q).float() / 255.0
    qn = (qf * qf).sum(1, keepdim=True)
    out = []
    for i in range(0, index_feats.shape[0], CHUNK * 4):
        f = index_feats[i:i + CHUNK * 4].float() / 255.0
        out.append(qn + norms[i:i + CHUNK * 4][None] - 2 * qf @ f.T)
    d2 = torch.cat(out, 1) if out else torch.zeros(q.shape[0], 0)
    return (d2.clamp_min(0) / max(q.shape[1], 1)).sqrt()


def load_index(folder: str | os.PathLike | None = None) -> FaceIndex:
    """The nearest-face index of a fonts dataset (default <data>/datasets/fonts): read from its cache,
    or built now (a few seconds per thousand faces) and cached. Raises FileNotFoundError when there is no
    dataset, ValueError when it is unreadable."""
    from safetensors.torch import load_file

    from explorer.data.fontstore import read_meta
    from explorer.settings import data_dir
    root = Path(folder) if folder is not None else data_dir() / "datasets" / "fonts"
    meta = read_meta(root)
    build = str(meta.get("build_id"))
    cache = root / f"nearest-{POOL}.safetensors"
    faces = list(meta["splits"]["train"]["faces"])
    if cache.is_file():
        try:
            from safetensors import safe_open
            with safe_open(str(cache), "pt") as f:
                tag = f.metadata() or {}
            if tag.get("build_id") == build and tag.get("format") == CACHE_FORMAT:
                t = load_file(str(cache))
                return FaceIndex(t["features"], t["norms"], t["mean"], t["components"], t["projected"], faces,
                                 root, float(t["typical"][0]))
        except Exception:  # noqa: BLE001 - a broken cache is rebuilt
            pass
    feats, faces = _pooled_split(root, "train")
    ft = torch.from_numpy(feats)
    norms = ((ft.float() / 255.0) ** 2).sum(1)
    test, _ = _pooled_split(root, "test") if meta["splits"].get("test", {}).get("count") else (None, None)
    typical = float("nan")
    if test is not None and len(test) and len(feats):
        typical = float(_distances(ft, norms, test).min(1).values.median())
    mean, comps, proj = _pca(ft)
    fileio.atomic_save_tensors(cache, {"features": ft, "norms": norms, "mean": mean, "components": comps,
                                       "projected": proj, "typical": torch.tensor([typical])},
                               metadata={"format": CACHE_FORMAT, "build_id": build})
    return FaceIndex(ft, norms, mean, comps, proj, faces, root, typical)


def _pca(feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean (D,), components (C, D), projected (N, C)) of uint8 features, ink in [0, 1]."""
    x = feats.float().numpy() / 255.0
    c = min(COMPONENTS, x.shape[0], x.shape[1])
    if c < 1:
        return torch.zeros(x.shape[1]), torch.zeros(0, x.shape[1]), torch.zeros(x.shape[0], 0)
    from sklearn.decomposition import PCA
    pca = PCA(n_components=c, svd_solver="randomized" if c < min(x.shape) else "full", random_state=0).fit(x)
    comps = pca.components_.astype(np.float32)
    mean = pca.mean_.astype(np.float32)
    return torch.from_numpy(mean), torch.from_numpy(comps), torch.from_numpy((x - mean) @ comps.T)


def nearest(index: FaceIndex, stack: np.ndarray | torch.Tensor, k: int = 3,
            distinct_families: bool = True) -> list[Neighbour]:
    """The k training faces nearest to one glyph stack (G, R, R) uint8 (any R; G must match the dataset's),
    nearest first; with `distinct_families` at most one face per family. Raises ValueError on a glyph
    count the dataset does not have."""
    a = np.asarray(stack)
    if a.ndim != 3 or a.shape[0] * POOL * POOL != index.features.shape[1]:
        raise ValueError(f"a face of {index.features.shape[1] // (POOL * POOL)} glyphs is needed, got {a.shape}")
    q = pool_stacks(a[None])
    qp = (torch.from_numpy(q).float() / 255.0 - index.mean) @ index.components.T           # (1, C)
    short = torch.argsort(((index.projected - qp) ** 2).sum(1))[:SHORTLIST]
    d = _distances(index.features[short], index.norms[short], q)[0]
    ranked = short[torch.argsort(d)].tolist()
    exact = dict(zip(short.tolist(), d.tolist()))
    if len({str(index.faces[i].get("family", "")).casefold() for i in ranked}) < k:      # too few families: all
        d = _distances(index.features, index.norms, q)[0]
        ranked = torch.argsort(d).tolist()
        exact = dict(enumerate(d.tolist()))
    out: list[Neighbour] = []
    seen: set[str] = set()
    for i in ranked:
        fam = str(index.faces[i].get("family", "")).casefold()
        if distinct_families and fam in seen:
            continue
        seen.add(fam)
        out.append(Neighbour(i, float(exact[i]), index.faces[i]))
        if len(out) == k:
            break
    return out


def real_face(index: FaceIndex, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training face: glyphs (62, 64, 64) uint8, advance (62,) and origin_x (62,) float32 (px), read
    lazily from the dataset file."""
    from safetensors import safe_open

    from explorer.data.fontstore import read_meta
    entry = read_meta(index.folder)["splits"]["train"]
    with safe_open(str(index.folder / entry["file"]), "pt") as f:
        g = f.get_slice("glyphs")[i:i + 1][0].numpy()
        adv = f.get_slice("advance")[i:i + 1][0].numpy()
        org = f.get_slice("origin_x")[i:i + 1][0].numpy()
    return g, adv, org


def resized(stack: np.ndarray, res: int) -> np.ndarray:
    """A (G, R, R) uint8 stack at res x res (Lanczos), e.g. a real face shown beside a 32 px model's."""
    if stack.shape[-1] == res:
        return stack
    return np.stack([np.asarray(Image.fromarray(s).resize((res, res), Image.Resampling.LANCZOS)) for s in stack])
