"""Quality figures for glyph-stack (font) generators: a glyph classifier and what it measures.

A generated face is a glyph stack (62, 64, 64) uint8, ink = 255, channel i = glyph `GLYPHS[i]`.

* The glyph classifier is the project's small CNN (`explorer.evaluation.classifier.FashionClassifier`,
  32x32 input, no horizontal flips: b/d and p/q are mirror images) trained on single glyphs of the
  train-split faces to say which of the 62 characters a glyph is. Cells share one scale and baseline,
  so size and position count (c/C, o/O are told apart by their height when a face's design does).
* Merge rule (stated, data-driven): glyphs that the 62-way classifier confuses with each other on a
  validation set of train-split families (families it never trained on) in at least
  `MERGE_CONFUSION` (10 %) of their images, counted both ways ((C[a,b] + C[b,a]) / (n_a + n_b)),
  are one class; merges are transitive (union-find). On the fonts dataset this merges O/0 and I/l
  (the next pairs, F/f and l/1, are confused in 8 % of held-out faces: told apart by height).
  Accuracy counts a prediction right when it falls in the true glyph's group.
* Per-face features: the classifier's penultimate features averaged over a face's glyphs (the
  average cancels glyph identity and keeps what the glyphs share: the style).

`glyph_figures(fake, real_test, real_train, classifier, groups)` bundles: glyph accuracy on the
generated and on held-out real faces, Fréchet distance (FID-style, Heusel et al. 2017) between
per-face features, k-NN precision/recall (Kynkäänniemi et al. 2019), style consistency (spread of
measured attributes across the glyphs of one face, generated vs real) and the memorisation ratio.

    clf, meta = train_and_ship(train_stacks, "pretrained/fonts-glyph-classifier")   # a few CPU minutes
    figures = glyph_figures(fake, test, train, clf, meta["groups"])
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from explorer.evaluation import metrics
from explorer.evaluation.classifier import ClassifierConfig, FashionClassifier, fit, load_classifier, save_classifier

GLYPHS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
MERGE_CONFUSION = 0.10
CLASSIFIER_NAME = "fonts-glyph-classifier"
BOOTSTRAP = 2000          # resamples of the style-spread ratio's interval
Spread = Callable[[torch.Tensor], dict[str, np.ndarray]]  # (N, G, H, W) stacks -> {attribute: (N,) spread}


def glyph_config(glyphs: str = GLYPHS) -> ClassifierConfig:
    """The glyph classifier's architecture: 32x32 input, 16/32/64 conv channels, 64-d features."""
    return ClassifierConfig(channels=1, width=16, feature_dim=64, num_classes=len(glyphs), resolution=32)


def flatten_glyphs(stacks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, G, H, W) stacks -> ((N*G, 1, H, W) glyph images, (N*G,) glyph indices)."""
    n, g, h, w = stacks.shape
    return stacks.reshape(n * g, 1, h, w), torch.arange(g).repeat(n)


def _shift(x: torch.Tensor, gen: torch.Generator, shift: int = 1) -> torch.Tensor:
    """Translate each (B, 1, H, W) image by up to `shift` px (background -1); no flips."""
    b, _, h, w = x.shape
    pad = F.pad(x, (shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    return pad[torch.arange(b)[:, None, None], :, rows, cols].permute(0, 3, 1, 2).contiguous()


def train_glyph_classifier(stacks: torch.Tensor, epochs: int = 3, seed: int = 0, batch_size: int = 256,
                           lr: float = 3e-3, max_glyphs: int | None = None,
                           on_progress: Callable[[dict], None] | None = None) -> FashionClassifier:
    """Train the 62-way classifier on (N, G, H, W) uint8 stacks (every glyph of every face); AdamW,
    one-cycle schedule, label smoothing 0.1, +-1 px translation. `max_glyphs` caps the glyph images
    seen per epoch (a random subset each epoch). Deterministic for a seed and thread count on CPU."""
    if stacks.dtype != torch.uint8 or stacks.dim() != 4:
        raise ValueError(f"stacks must be (N, G, H, W) uint8, got {tuple(stacks.shape)} {stacks.dtype}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = FashionClassifier(glyph_config(GLYPHS[:stacks.shape[1]] if stacks.shape[1] <= len(GLYPHS)
                                           else "x" * stacks.shape[1]))
    images, labels = flatten_glyphs(stacks)
    x_all = model.prepare(images)                                             # (N*G, 1, 32, 32) in [-1, 1]
    per_epoch = min(len(x_all), max_glyphs or len(x_all))
    return fit(model, x_all, labels, epochs=epochs, per_epoch=per_epoch, batch_size=batch_size, lr=lr, gen=gen,
               augment=_shift, on_progress=on_progress)


@torch.inference_mode()
def predict(model: FashionClassifier, stacks: torch.Tensor,
            batch_size: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, G, H, W) uint8 stacks -> ((N, G) predicted glyph indices, (N, G, D) features)."""
    n, g = stacks.shape[:2]
    images, _ = flatten_glyphs(stacks)
    feats, preds = metrics.embed(model, images, batch_size)
    return preds.view(n, g), feats.view(n, g, -1)


def confusion_groups(pred: torch.Tensor, threshold: float = MERGE_CONFUSION) -> list[list[int]]:
    """Merge rule (module docstring): (N, G) predictions of faces whose true glyph of column i is i ->
    groups of glyph indices, sorted, each glyph in exactly one group."""
    g = pred.shape[1]
    conf = torch.zeros(g, g)
    for i in range(g):
        conf[i] = torch.bincount(pred[:, i], minlength=g)[:g].float()
    n = conf.sum(1)
    parent = list(range(g))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a
    for a in range(g):
        for b in range(a + 1, g):
            if (conf[a, b] + conf[b, a]) / max(float(n[a] + n[b]), 1.0) >= threshold:
                parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for a in range(g):
        groups.setdefault(root(a), []).append(a)
    return sorted(groups.values())


def read_as_themselves(pred: torch.Tensor, groups: list[list[int]]) -> torch.Tensor:
    """(N, G) bool: whether each glyph's prediction (N, G) falls in its own glyph's merge group."""
    g = pred.shape[1]
    gid = torch.empty(g, dtype=torch.long)
    for k, members in enumerate(groups):
        gid[members] = k
    return gid[pred.clamp(0, g - 1)] == gid


def group_accuracy(pred: torch.Tensor, groups: list[list[int]]) -> float:
    """Share of glyphs whose (N, G) prediction falls in their own glyph's merge group."""
    return float(read_as_themselves(pred, groups).float().mean())


def face_features(feats: torch.Tensor) -> torch.Tensor:
    """(N, G, D) glyph features -> (N, D) per-face features (the mean over glyphs)."""
    return feats.mean(dim=1)


def _per_face(stacks: torch.Tensor, spread: Spread, faces: int | None) -> dict[str, np.ndarray]:
    """{attribute: (n,) finite per-face values} of `spread` over the first `faces` faces (None: all)."""
    out = {}
    for key, vals in spread(stacks[:faces] if faces else stacks).items():
        v = np.asarray(vals, dtype=np.float64)
        out[key] = v[np.isfinite(v)]
    return dict(sorted(out.items()))


def style_spread(stacks: torch.Tensor, spread: Spread, faces: int | None = None) -> dict[str, float]:
    """Mean over (up to `faces`, default all) faces of `spread`'s per-face figure: the standard deviation,
    across one face's glyphs, of a measured attribute (`explorer.data.glyphmetrics.attribute_spread`:
    stroke width, slant, log contrast). Faces where it is undefined (NaN) are left out. {attribute: mean}."""
    return {k: float(v.mean()) if len(v) else float("nan") for k, v in _per_face(stacks, spread, faces).items()}


def ratio_interval(fake: np.ndarray, real: np.ndarray, resamples: int = BOOTSTRAP, seed: int = 0) -> list[float]:
    """95 % percentile-bootstrap interval of mean(fake) / mean(real), both sets resampled (Efron &
    Tibshirani 1993): the per-face spread is heavy-tailed (a few broken glyphs), so one mean over a few
    hundred faces is a noisy figure. [lo, hi]; NaNs when either set is empty."""
    if not len(fake) or not len(real):
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    f = fake[rng.integers(0, len(fake), (resamples, len(fake)))].mean(1)
    r = real[rng.integers(0, len(real), (resamples, len(real)))].mean(1)
    ratio = f / np.where(r > 0, r, np.nan)
    lo, hi = np.nanpercentile(ratio, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def glyph_figures(fake: torch.Tensor, test: torch.Tensor, train: torch.Tensor, model: FashionClassifier,
                  groups: list[list[int]], spread: Spread | None = None, k: int = 3,
                  memorisation_n: int = 1000, style_faces: int | None = None) -> dict:
    """All glyph-stack figures: generated `fake`, held-out `test` and `train` faces, each (N, G, H, W)
    uint8. Returns {"glyph_accuracy", "glyph_accuracy_real_test", "glyph_accuracy_gap", "fd",
    "fd_train_vs_test", "precision", "recall", "style_consistency" (when `spread` is given),
    "memorisation"}. Memorisation is on stacks area-downsampled to 32x32 (4x cheaper)."""
    if not (fake.shape[1:] == test.shape[1:] == train.shape[1:]):
        raise ValueError(f"stack shapes differ: {tuple(fake.shape[1:])}, {tuple(test.shape[1:])}, "
                         f"{tuple(train.shape[1:])}")
    pf, ff = predict(model, fake)
    pt, ft = predict(model, test)
    m = min(len(train), len(test))
    _, ftr = predict(model, train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:m]])
    acc_fake, acc_test = group_accuracy(pf, groups), group_accuracy(pt, groups)
    face_f, face_t, face_tr = face_features(ff), face_features(ft), face_features(ftr)
    precision, recall = metrics.precision_recall_balanced(face_t, face_f, k=k)   # equal-sized sets
    out: dict = {"glyph_accuracy": round(acc_fake, 4), "glyph_accuracy_real_test": round(acc_test, 4),
                 "glyph_accuracy_gap": round(acc_test - acc_fake, 4),
                 "glyph_groups": len(groups),
                 "fd": metrics.frechet_distance(face_t, face_f),
                 "fd_train_vs_test": metrics.frechet_distance(face_t, face_tr),
                 "precision": precision, "recall": recall, "feature_space": CLASSIFIER_NAME + " (mean over glyphs)",
                 "faces": {"generated": len(fake), "test": len(test), "train": len(train)}}
    if spread is not None:
        pf_, pr_ = _per_face(fake, spread, style_faces), _per_face(test, spread, style_faces)
        sf = {k: float(v.mean()) if len(v) else float("nan") for k, v in pf_.items()}
        sr = {k: float(v.mean()) if len(v) else float("nan") for k, v in pr_.items()}
        out["style_consistency"] = {key: {"generated": sf[key], "real": sr[key],
                                          "ratio": sf[key] / sr[key] if sr[key] > 0 else float("inf"),
                                          "ratio_ci95": ratio_interval(pf_[key], pr_[key]),
                                          "faces": [len(pf_[key]), len(pr_[key])]}
                                    for key in sr if key in sf}

    def small(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x.float() / 127.5 - 1.0, size=(32, 32), mode="area")
    out["memorisation"] = metrics.memorisation(small(fake), small(train), small(test), n=memorisation_n)
    ratios = [v["ratio"] for v in out.get("style_consistency", {}).values()]
    # the quality bar (FD and recall are against the classic-dcgan baseline, compared elsewhere);
    # the style bar also with the upper end of its 95 % interval, since one mean is a noisy figure
    out["bar"] = {"glyph_accuracy_within_3_points": out["glyph_accuracy_gap"] <= 0.03,
                  "style_spread_within_1.5x": bool(ratios) and max(ratios) <= 1.5,
                  "style_spread_ci_within_1.5x": bool(ratios) and max(
                      v["ratio_ci95"][1] for v in out["style_consistency"].values()) <= 1.5,
                  "not_memorised": not out["memorisation"]["memorised"]}
    return out


def validation_mask(n: int, families: list[str] | None = None, val_fraction: float = 0.15,
                    seed: int = 0) -> torch.Tensor:
    """(n,) bool: the faces held out for validation. With `families` (`families[i]` names face i's family)
    whole families, chosen by a hash of the name (sha256 of seed + casefolded name, as a fraction below
    `val_fraction`; at least the lowest one), so a family stays on its side when the dataset is rebuilt;
    else faces at random."""
    if families is not None:
        def frac(name: str) -> float:
            h = hashlib.sha256(f"{seed}:{name.strip().casefold()}".encode()).digest()
            return int.from_bytes(h[:8], "big") / 2 ** 64
        fr = {f: frac(f) for f in set(families)}
        cut = max(val_fraction, min(fr.values()))
        return torch.tensor([fr[f] <= cut for f in families], dtype=torch.bool)
    gen = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.randperm(n, generator=gen)[:max(1, int(n * val_fraction))]] = True
    return mask


def merge_summary(model: FashionClassifier, val_stacks: torch.Tensor, threshold: float = MERGE_CONFUSION) -> dict:
    """The merge groups (module docstring) derived on `val_stacks` (N, G, H, W) and the accuracies there."""
    pred, _ = predict(model, val_stacks)
    groups = confusion_groups(pred, threshold)
    glyphs = GLYPHS if val_stacks.shape[1] == len(GLYPHS) else ""
    return {"val_accuracy_62": round(float((pred == torch.arange(pred.shape[1])).float().mean()), 4),
            "val_accuracy_merged": round(group_accuracy(pred, groups), 4),
            "groups": groups, "group_glyphs": ["".join(glyphs[i] for i in g) for g in groups] if glyphs else [],
            "merge_rule": f"confused both ways in >= {threshold:.0%} of validation images, transitive",
            "val_faces": len(val_stacks)}


def train_and_ship(train_stacks: torch.Tensor, out_stem: str | Path, val_fraction: float = 0.15,
                   families: list[str] | None = None, epochs: int = 3, max_glyphs: int | None = 60_000,
                   seed: int = 0, batch_size: int = 256,
                   on_progress: Callable[[dict], None] | None = print) -> tuple[FashionClassifier, dict]:
    """Train on train-split faces minus a validation set of whole families (`families[i]` names face
    i's family; faces are split at random without it), derive the merge groups on the validation
    faces, save `<out_stem>.safetensors` + `.json` (groups and figures in its summary); returns
    (model, meta)."""
    val_mask = validation_mask(len(train_stacks), families, val_fraction, seed)
    t0 = time.perf_counter()
    model = train_glyph_classifier(train_stacks[~val_mask], epochs=epochs, seed=seed, batch_size=batch_size,
                                   max_glyphs=max_glyphs, on_progress=on_progress)
    summary = {**merge_summary(model, train_stacks[val_mask]), "train_faces": int((~val_mask).sum()),
               "train_seconds": round(time.perf_counter() - t0, 1), "epochs": epochs, "seed": seed,
               "torch_threads": torch.get_num_threads()}
    save_classifier(model, out_stem, summary, class_names=list(GLYPHS) if train_stacks.shape[1] == len(GLYPHS)
                    else [str(i) for i in range(train_stacks.shape[1])])
    return load_classifier(out_stem)


def regroup(stem: str | Path, train_stacks: torch.Tensor, families: list[str] | None = None,
            threshold: float = MERGE_CONFUSION, val_fraction: float = 0.15, seed: int = 0) -> dict:
    """Re-derive a saved classifier's merge groups (same validation faces as `train_and_ship` with the
    same arguments, another `threshold`) and save it again; returns the new meta. No retraining."""
    model, meta = load_classifier(stem)
    mask = validation_mask(len(train_stacks), families, val_fraction, seed)
    summary = {**meta.get("summary", {}), **merge_summary(model, train_stacks[mask], threshold)}
    save_classifier(model, stem, summary, class_names=meta.get("class_names", []))
    return load_classifier(stem)[1]


def load_glyph_classifier(stem: str | Path) -> tuple[FashionClassifier, list[list[int]], dict]:
    """(model, merge groups, meta) of a classifier saved by `train_and_ship`."""
    model, meta = load_classifier(stem)
    groups = meta.get("summary", {}).get("groups")
    if not groups:
        raise ValueError(f"{stem} is not a glyph classifier (no merge groups in its summary)")
    return model, [list(map(int, g)) for g in groups], meta
