"""A small Fashion-MNIST CNN: the feature extractor behind the offline image metrics.

FID-style metrics need an embedding; Inception weights would mean a download, so the project
ships its own classifier (`pretrained/fashion-mnist-classifier.safetensors` + `.json`),
trained by `build_and_ship()` in a few CPU minutes. `features(x)` is the 128-d penultimate
embedding used by `explorer.evaluation.metrics`; `forward(x)` gives the 10 class logits.

Inputs are (B, C, H, W) images, float in [-1, 1] or uint8 in [0, 255]; 3-channel images are
averaged to gray and other sizes are resized to 32x32, so any generator's output can be fed.

    model = train_classifier(images_u8, labels, epochs=6, seed=0, batch_size=128)
    save_classifier(model, "pretrained/fashion-mnist-classifier", {"test_accuracy": 0.92})
    model, meta = load_classifier("pretrained/fashion-mnist-classifier")
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from explorer.config import from_dict, to_dict
from explorer.fileio import atomic_save_tensors, atomic_write_json, read_json_object, sha256_file

FORMAT = "latent-explorer-classifier"
FORMAT_VERSION = 1
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class ClassifierConfig:
    channels: int = 1          # channels the network sees (inputs with other channel counts are averaged to gray)
    width: int = 16            # channels of the first conv block; doubled at each of the next two blocks
    feature_dim: int = 128     # size of the penultimate embedding returned by features()
    num_classes: int = 10      # number of output logits
    resolution: int = 32       # side the network works at; other input sizes are resized to it

    def __post_init__(self) -> None:
        if self.channels != 1:
            raise ValueError(f"channels must be 1 (gray), not {self.channels}")
        if self.width <= 0 or self.feature_dim <= 0 or self.num_classes < 2:
            raise ValueError("width and feature_dim must be positive and num_classes >= 2")
        if self.resolution % 8 or self.resolution < 8:
            raise ValueError(f"resolution must be a multiple of 8, not {self.resolution}")


def _block(cin: int, cout: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False),
                   nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class FashionClassifier(nn.Module):
    """conv(w) -> pool -> 2x conv(2w) -> pool -> conv(4w) -> pool -> fc(feature_dim) -> fc(classes)."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()) -> None:
        super().__init__()
        self.config = config
        w, side = config.width, config.resolution // 8
        self.body = nn.Sequential(_block(config.channels, w, 1), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 1))
        self.embed = nn.Linear(4 * w * side * side, config.feature_dim)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(config.feature_dim, config.num_classes)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Any (B, C, H, W) uint8 or [-1, 1] float batch -> (B, 1, R, R) float on the model's device."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4:
            raise ValueError(f"expected images shaped (B, C, H, W), got {tuple(x.shape)}")
        dev = self.embed.weight.device
        x = x.to(dev)
        x = x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()
        if x.shape[1] != self.config.channels:
            x = x.mean(dim=1, keepdim=True)                                  # RGB -> gray
        r = self.config.resolution
        if x.shape[-2:] != (r, r):
            x = F.interpolate(x, size=(r, r), mode="bilinear", align_corners=False, antialias=True)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images -> (B, feature_dim) penultimate embedding (after ReLU)."""
        h = self.body(self.prepare(x))                                       # (B, 4w, R/8, R/8)
        return F.relu(self.embed(h.flatten(1)))                              # (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images -> (B, num_classes) logits."""
        return self.head(self.dropout(self.features(x)))


def _augment(x: torch.Tensor, gen: torch.Generator, shift: int = 2) -> torch.Tensor:
    """Random horizontal flip and translation by up to `shift` px (background -1). x: (B, C, H, W)."""
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = F.pad(x, (shift, shift, shift, shift), value=-1.0)                 # (B, C, H+2s, W+2s)
    dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]                       # (B, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, :]                       # (B, 1, W)
    out = pad[torch.arange(b)[:, None, None], :, rows, cols]                 # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def train_classifier(train_images_u8: torch.Tensor, train_labels: torch.Tensor, epochs: int = 6,
                     seed: int = 0, batch_size: int = 128,
                     on_progress: Callable[[dict], None] | None = None,
                     config: ClassifierConfig = ClassifierConfig(), lr: float = 3e-3) -> FashionClassifier:
    """Train on (N, C, H, W) uint8 images and (N,) int labels; returns the model in eval mode.

    AdamW with a one-cycle schedule, label smoothing 0.1, flip + 2 px translation. Same seed
    and thread count, same weights on CPU. `on_progress` gets
    {"epoch", "step", "steps", "loss", "train_accuracy", "seconds"} after every epoch.
    """
    if train_images_u8.dtype != torch.uint8:
        raise ValueError(f"train images must be uint8, not {train_images_u8.dtype}")
    labels = torch.as_tensor(train_labels, dtype=torch.long)
    if len(labels) != len(train_images_u8) or len(labels) == 0:
        raise ValueError(f"{len(train_images_u8)} images but {len(labels)} labels")
    torch.manual_seed(seed)                                                  # weight init
    gen = torch.Generator().manual_seed(seed)                                # data order + augmentation
    model = FashionClassifier(config)
    x_all = model.prepare(train_images_u8)                                   # (N, 1, R, R) in [-1, 1]
    return fit(model, x_all, labels, epochs=epochs, per_epoch=len(x_all), batch_size=batch_size, lr=lr, gen=gen,
               augment=_augment, on_progress=on_progress)


def fit(model: FashionClassifier, x_all: torch.Tensor, labels: torch.Tensor, *, epochs: int, per_epoch: int,
        batch_size: int, lr: float, gen: torch.Generator,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
        on_progress: Callable[[dict], None] | None = None) -> FashionClassifier:
    """The one training loop of the project's classifiers: `epochs` passes over a random `per_epoch` subset
    of x_all (N, 1, R, R) in [-1, 1] with (N,) labels, AdamW (weight decay 5e-4) with a one-cycle schedule
    peaking at `lr`, label smoothing 0.1, `augment(x, gen)` on every batch. Deterministic for `gen`'s seed
    and the thread count on CPU. `on_progress` gets {"epoch", "step", "steps", "loss", "train_accuracy",
    "seconds"} after every epoch. Returns the model in eval mode."""
    total = max(1, epochs * math.ceil(per_epoch / batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.2)
    t0, step = time.perf_counter(), 0
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x_all), generator=gen)[:per_epoch]
        loss_sum, correct = 0.0, 0
        for i in range(0, per_epoch, batch_size):
            idx = order[i:i + batch_size]
            x, y = augment(x_all[idx], gen), labels[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
        if on_progress is not None:
            on_progress({"epoch": epoch + 1, "step": step, "steps": total, "loss": loss_sum / per_epoch,
                         "train_accuracy": correct / per_epoch, "seconds": time.perf_counter() - t0})
    return model.eval()


@torch.inference_mode()
def accuracy(model: FashionClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy of `model` on (N, C, H, W) images against (N,) labels."""
    model.eval()
    labels = torch.as_tensor(labels, dtype=torch.long)
    correct = 0
    for i in range(0, len(images), batch_size):
        pred = model(images[i:i + batch_size]).argmax(1).cpu()
        correct += int((pred == labels[i:i + batch_size]).sum())
    return correct / max(1, len(images))


def save_classifier(model: FashionClassifier, path_stem: str | Path, summary: dict,
                    class_names: list[str] | tuple[str, ...] = FASHION_MNIST_CLASSES) -> None:
    """Write `<stem>.safetensors` (weights) then `<stem>.json` (config, summary, sha256), atomically."""
    stem = Path(path_stem)
    digest = atomic_save_tensors(stem.with_suffix(".safetensors"), model.state_dict(),
                                 metadata={"format": FORMAT})
    atomic_write_json(stem.with_suffix(".json"), {
        "format": FORMAT, "format_version": FORMAT_VERSION, "config": to_dict(model.config),
        "class_names": list(class_names), "summary": dict(summary), "sha256": digest})


def load_classifier(path_stem: str | Path, device: str | torch.device = "cpu") -> tuple[FashionClassifier, dict]:
    """Load and validate a classifier saved by `save_classifier`; returns (model in eval mode, meta)."""
    stem = Path(path_stem)
    if stem.suffix in (".json", ".safetensors"):
        stem = stem.with_suffix("")
    js, st = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    for p in (js, st):
        if not p.is_file():
            raise FileNotFoundError(f"classifier file {p} is missing (expected {js.name} and {st.name})")
    meta = read_json_object(js, "a classifier file")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{js} is not a classifier file (format should be {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{js} has format_version {meta.get('format_version')!r}; this version of the "
                         f"program reads only version {FORMAT_VERSION}")
    if sha256_file(st) != meta.get("sha256"):
        raise ValueError(f"{st} does not match the sha256 in {js.name}: the weights are corrupt or were replaced")
    try:
        config = from_dict(ClassifierConfig, meta.get("config"))
    except (TypeError, ValueError) as e:
        raise ValueError(f"{js} has an invalid config: {e}") from e
    model = FashionClassifier(config)
    try:
        state = load_file(st)
    except Exception as e:                                                   # safetensors raises its own types
        raise ValueError(f"{st} could not be read as safetensors ({e}); the file is corrupt") from e
    expected = model.state_dict()
    if set(state) != set(expected):
        raise ValueError(f"{st} does not fit config {config}: missing {sorted(set(expected) - set(state))[:5]}, "
                         f"unexpected {sorted(set(state) - set(expected))[:5]}")
    for k, v in state.items():
        if v.shape != expected[k].shape:
            raise ValueError(f"{st}: tensor {k} has shape {tuple(v.shape)} but config {config} "
                             f"needs {tuple(expected[k].shape)}")
    model.load_state_dict(state)
    return model.to(device).eval(), meta


def build_and_ship(out_stem: str | Path = "pretrained/fashion-mnist-classifier", epochs: int = 6,
                   seed: int = 0, batch_size: int = 128, load: Callable | None = None,
                   on_progress: Callable[[dict], None] | None = print) -> dict:
    """Train on Fashion-MNIST train, measure test accuracy, save; returns the summary.

    `load(split)` returns an object with `.images` (N, 1, 32, 32) uint8 and `.labels`;
    defaults to `explorer.data.datasets.load_fashion_mnist`.
    """
    if load is None:
        from explorer.data.datasets import load_fashion_mnist
        load = load_fashion_mnist
    train, test = load("train"), load("test")
    if train.labels is None or test.labels is None:
        raise ValueError("the classifier trains on labelled data: both splits need labels")
    t0 = time.perf_counter()
    model = train_classifier(train.images, train.labels, epochs=epochs, seed=seed,
                             batch_size=batch_size, on_progress=on_progress)
    seconds = time.perf_counter() - t0
    summary = {"test_accuracy": round(accuracy(model, test.images, test.labels), 4),
               "train_seconds": round(seconds, 1), "epochs": epochs, "seed": seed,
               "batch_size": batch_size, "torch_threads": torch.get_num_threads()}
    names = getattr(train, "class_names", None) or FASHION_MNIST_CLASSES
    save_classifier(model, out_stem, summary, class_names=list(names))
    return summary
