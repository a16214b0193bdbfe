"""`latent-explorer evaluate MODEL`: offline quality figures for a generator. No downloads.

Font models (glyph stacks) get the typefaces figures instead: `explorer.evaluation.typefaces`.
For a Fashion-MNIST-shaped model (32x32 grey) the shipped classifier's feature space gives
FD, KID, k-NN precision/recall and conditional accuracy, against the test split, with the
train-vs-test FD as the floor any generator could reach. For every model: sliced
Wasserstein distance on Laplacian pyramids (x1e3, ProGAN) to the reference images, and a
memorisation check (nearest-train-image distances of samples vs of held-out images).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from explorer.data.datasets import ImageDataset, load_dataset
from explorer.evaluation import metrics
from explorer.evaluation.swd import sliced_wasserstein
from explorer.gan.device import load_generator, pick_device
from explorer.gan.protocol import Generator
from explorer.settings import pretrained_dir

CLASSIFIER = "fashion-mnist-classifier"


@torch.inference_mode()
def generate(G: Generator, n: int, seed: int = 0, psi: float = 1.0, batch: int = 500,
             device: torch.device | str = "cpu", class_weights: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n samples as uint8 (N, C, H, W) on CPU; conditional models get balanced classes (i % num_classes),
    or classes drawn in proportion to `class_weights` (e.g. the reference data's class counts)."""
    gen = torch.Generator().manual_seed(seed)
    nc = G.cfg.num_classes
    labels = torch.arange(n) % nc if nc else None
    zs = torch.randn(n, G.cfg.z_dim, generator=gen)   # drawn up front: sample i never depends on `batch`
    if nc and class_weights is not None:
        labels = torch.multinomial(class_weights.double(), n, replacement=True,
                                   generator=torch.Generator().manual_seed(seed + 1))
    out = []
    for i in range(0, n, batch):
        z = zs[i:i + batch].to(device)
        c = labels[i:i + len(z)].to(device) if labels is not None else None
        x = G(z, c, psi=psi).float().clamp(-1, 1)
        out.append(((x + 1) * 127.5).round().to(torch.uint8).cpu())
    return torch.cat(out), labels


def _reference(meta: dict, data: str | None) -> tuple[str, ImageDataset, ImageDataset]:
    """(name, train-like set, held-out set) to compare samples with."""
    g = meta["generator"]
    described = meta.get("dataset", {})
    spec = data or described.get("spec") or described.get("source") or ""
    if spec.startswith("emoji"):
        spec = "emoji"
    if spec.startswith("fashion-mnist"):
        kw = dict(resolution=g["resolution"], channels=g["channels"])
        return "fashion-mnist", load_dataset("fashion-mnist:train", **kw), load_dataset("fashion-mnist:test", **kw)
    if not spec:
        raise ValueError("the model does not say what it was trained on: pass --data")
    ds = load_dataset(spec, resolution=g["resolution"], channels=g["channels"], fit=described.get("fit", "crop"),
                      labels_from_subfolders=described.get("labels_from_subfolders", False))
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))
    cut = max(1, len(ds) // 10)                     # 10% held out, deterministic
    held, rest = perm[:cut], perm[cut:]

    def sub(idx: torch.Tensor) -> ImageDataset:
        return ImageDataset(ds.images[idx], ds.labels[idx] if ds.labels is not None else None,
                            ds.class_names, ds.description)
    return spec, sub(rest), sub(held)


def evaluate_model(model: str, n: int = 10_000, data: str | None = None, device: str = "auto",
                   seed: int = 0, progress: Callable[[str], None] | None = None,
                   memorisation_n: int = 2000, swd_n: int = 2048) -> dict:
    say = progress or (lambda m: None)
    t0 = time.perf_counter()
    dev = pick_device(device)
    G, meta = load_generator(model, dev)
    if G.cfg.glyphs:                               # a font model: the typefaces quality bar (held-out families)
        from explorer.evaluation.typefaces import evaluate_typefaces
        return evaluate_typefaces(G, meta, n=n, seed=seed, device=dev, progress=say)
    ref_name, train, test = _reference(meta, data)
    say(f"generating {n} samples from {meta['name']}")
    weights = None                                 # compared with a whole (unbalanced) dataset: its proportions
    nc = G.cfg.num_classes
    if ref_name != "fashion-mnist" and nc and train.labels is not None and test.labels is not None:
        weights = torch.bincount(torch.cat([train.labels, test.labels]), minlength=nc)[:nc]
    fake, labels = generate(G, n, seed=seed, device=dev, class_weights=weights)
    out: dict = {"model": meta["name"], "samples": n, "seed": seed, "reference": ref_name,
                 "reference_test_images": len(test)}
    tr = meta.get("training") or {}                # an export's training record, or a checkpoint's own
    steps, secs = meta.get("step", tr.get("steps")), meta.get("elapsed_s", tr.get("train_seconds"))
    if steps is not None:
        out["trained"] = {"steps": int(steps), "seconds": None if secs is None else round(float(secs), 1)}
    g = G.cfg
    clf_path = pretrained_dir() / f"{CLASSIFIER}.json"
    if ref_name == "fashion-mnist" and g.resolution == 32 and clf_path.exists():
        from explorer.evaluation.classifier import load_classifier
        clf, _ = load_classifier(clf_path.with_suffix(""))
        say("classifier features: FD, KID, precision/recall, conditional accuracy")
        real_feats, _ = metrics.embed(clf, test.images)
        cond_labels = labels if (g.num_classes == 10 and labels is not None) else None
        out.update(metrics.classifier_metrics(clf, fake, cond_labels, real_features=real_feats, seed=seed))
        train_feats, _ = metrics.embed(clf, train.images[:len(test)])
        out["fd_train_vs_test"] = metrics.frechet_distance(train_feats, real_feats)
        out["feature_space"] = CLASSIFIER
        ref_a, ref_b = test.images, train.images          # held-out test split vs train: the floor
    else:
        # A dataset the model saw whole (emoji, uploads): compare with the dataset itself, in two
        # disjoint halves, so the floor (half vs half) uses as many images as the model's figure.
        whole = torch.cat([train.images, test.images])
        perm = torch.randperm(len(whole), generator=torch.Generator().manual_seed(1))
        ref_a, ref_b = whole[perm[: len(whole) // 2]], whole[perm[len(whole) // 2:]]
        m = min(n, len(ref_a), 5000)
        say(f"k-NN precision/recall (k=3) in a pixel feature space, {m} images each")
        real_f, fake_f = metrics.pixel_features(ref_a[:m], fake[:m])
        out["precision"], out["recall"] = metrics.precision_recall(real_f, fake_f, k=3)
        out["feature_space"] = "pixels 16x16, PCA-64 fitted on the dataset"
        out["reference_images"] = len(whole)
    say("sliced Wasserstein distance (Laplacian pyramid)")
    m = min(n, len(ref_a), len(ref_b), swd_n)       # SWD sorts N*128 descriptors 2048 times per level
    out["swd_images"] = m
    out["swd"] = sliced_wasserstein(fake[:m], ref_a[:m], seed=seed)
    out["swd_train_vs_test"] = sliced_wasserstein(ref_b[:m], ref_a[:m], seed=seed)
    say("memorisation check (nearest training image)")
    out["memorisation"] = metrics.memorisation(fake, train.images, test.images, n=memorisation_n)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out
