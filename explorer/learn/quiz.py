""""Real or fake?": a round of real dataset images and generated samples, shuffled, and its score.

Pure logic for explorer/ui/quiz_page.py. Everything is seeded: the same round seed gives the same
images in the same order.

    ds = real_dataset(meta, G.cfg.resolution, G.cfg.channels)         # ImageDataset (FileNotFoundError etc. if absent)
    real_images_note(meta)                                              # where the real images come from, in words
    if buildable(meta): Build().start(build_fn(meta))                   # a missing emoji set, built in the background
    names = face_names(ds)                                              # fonts: "Family Style (package)" per face
    items = make_round(ds, lambda seeds, classes: render(seeds, classes), n=10, seed=7, num_classes=10,
                       names=names)
    items = with_scores(items, critic)                                  # D's raw score per item (or None)
    t = tally(items, answers)                                           # people and D, right out of answered
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.data.datasets import ImageDataset, load_dataset
from explorer.imaging.render import glyph_sheet, is_glyph_stack


@dataclass(frozen=True)
class Item:
    image: np.ndarray            # (H, W, C) uint8, exactly what is shown (and what D scores)
    real: bool
    label: int | None            # class index (real: the dataset's label; fake: the class asked for)
    origin: str                  # "fashion-mnist:test image #123", "DejaVu Sans Bold (fonts-dejavu-core)",
                                 # or "generated from seed 42": plain text, never Markdown
    d_score: float | None = None # D's raw score; None when the model has no (usable) discriminator


@dataclass(frozen=True)
class Tally:
    answered: int
    people_right: int
    d_right: int                 # among answered items D could score
    d_scored: int

    def line(self) -> str:
        """"You 3 of 5 right · Discriminator 2 of 4 right" (counts as `of_n`, like every figure of the quiz)."""
        d = f" · Discriminator {of_n(self.d_right, self.d_scored)}" if self.d_scored else ""
        return f"You {of_n(self.people_right, self.answered)}{d}"


def of_n(right: int, n: int) -> str:
    """The quiz's one format for a score: "3 of 5 right" (counts, never a fraction or a percentage)."""
    return f"{right} of {n} right"


def percent(p: float) -> str:
    """The quiz's one format for a probability in [0, 1]: a whole percentage, "53%"."""
    return f"{p:.0%}"


def real_spec(meta: dict) -> str | None:
    """The dataset to draw real images from: the model's training data; Fashion-MNIST's test split."""
    d = meta.get("dataset") or {}
    spec, source = d.get("spec"), str(d.get("source") or "")
    if not spec and source.startswith(("fashion-mnist", "emoji")):     # older runs record only the source
        spec = source.split(" ")[0]
    if not spec:
        return None
    name, _, _split = str(spec).partition(":")
    if name.lower() == "fonts" and not Path(name).exists():
        return "fonts:test"                     # held-out families: typefaces the model never saw
    return "fashion-mnist:test" if name.lower() == "fashion-mnist" else str(spec)


def real_dataset(meta: dict, resolution: int, channels: int) -> ImageDataset:
    """The model's real images at its resolution. Raises FileNotFoundError / ValueError / OSError with a
    sentence when they are not on this machine (never builds the emoji dataset on the fly). A model
    trained in the app quizzes on the upload set it was trained on, while the server keeps it."""
    d = meta.get("dataset") or {}
    if str(d.get("source") or "").startswith("upload:") and d.get("path"):
        from explorer.data.store import is_dataset_dir, load_upload_set
        if not is_dataset_dir(d["path"]):
            raise FileNotFoundError("the images this model was trained on are no longer on this server")
        ds = load_upload_set(d["path"])
        if tuple(ds.images.shape[1:]) != (channels, resolution, resolution):
            raise ValueError(f"its training images are {tuple(ds.images.shape[1:])}, the model draws "
                             f"{(channels, resolution, resolution)}")
        return ds
    spec = real_spec(meta)
    if spec is None:
        raise FileNotFoundError("the model does not record which dataset it was trained on")
    if spec == "emoji" and not Path(spec).exists():
        from explorer.data.emoji import dataset_path
        if not dataset_path(64).exists():
            raise FileNotFoundError("the emoji dataset is not built on this server "
                                    "(run `latent-explorer datasets emoji`)")
    fit = str((meta.get("dataset") or {}).get("fit") or "crop")
    subfolders = bool((meta.get("dataset") or {}).get("labels_from_subfolders"))
    return load_dataset(spec, resolution, channels, fit=fit if fit in ("crop", "pad") else "crop",
                        labels_from_subfolders=subfolders)


def real_images_note(meta: dict) -> str:
    """Where the quiz's real images come from, as a phrase: the training data itself, or (Fashion-MNIST)
    its test split, which the model never saw."""
    if real_spec(meta) == "fashion-mnist:test":
        return ("Fashion-MNIST's test split: photos of the same kind of clothes the model learned from, "
                "but none it saw in training")
    if real_spec(meta) == "fonts:test":
        return ("the fonts dataset's held-out families: real typefaces of families the model never saw "
                "in training")
    return "the images the model was trained on"


def buildable(meta: dict) -> bool:
    """True when the model's real images are a dataset this server can build but has not (emoji)."""
    if real_spec(meta) != "emoji" or Path("emoji").exists():
        return False
    from explorer.data.emoji import dataset_path
    return not dataset_path(64).exists()


def build_fn(meta: dict) -> Callable[[Callable[[int, int], None]], object]:
    """The function that builds the model's real images: f(progress(done, total))."""
    from explorer.data import emoji
    return lambda progress: emoji.build_emoji(64, progress=progress)


@dataclass
class Build:
    """A dataset build running in a daemon thread, with progress the page can poll (never calls the UI).

    One per dataset per server process (the page keeps it in st.cache_resource): sessions that ask for
    the same build share it, and a second start while it runs does nothing."""
    done: int = 0
    total: int = 0
    error: str = ""
    finished: bool = False
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, fn: Callable[[Callable[[int, int], None]], object]) -> None:
        """Run fn(progress) in the background, unless a build is running already."""
        with self._lock:
            if self.running:
                return
            self.done, self.total, self.error, self.finished = 0, 0, "", False
            self._thread = threading.Thread(target=self._run, args=(fn,), name="dataset-build", daemon=True)
            self._thread.start()

    def _run(self, fn: Callable[[Callable[[int, int], None]], object]) -> None:
        def progress(done: int, total: int) -> None:
            self.done, self.total = done, total
        try:
            fn(progress)
        except Exception as e:  # noqa: BLE001 - shown on the page as one line
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.finished = True

    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


def face_label(face: Mapping[str, Any]) -> str:
    """A real typeface's name from its fonts-dataset record: "Family Style (package)", e.g.
    "DejaVu Sans Bold (fonts-dejavu-core)"; missing fields are left out. Plain text (may hold any characters)."""
    name = " ".join(str(face.get(k) or "").strip() for k in ("family", "style")).strip() or "an unnamed face"
    package = str(face.get("package") or "").strip()
    return f"{name} ({package})" if package else name


def face_names(ds: ImageDataset, folder: str | Path | None = None) -> list[str] | None:
    """Each face's `face_label`, in the dataset's order, when `ds` is a split of the fonts dataset
    (description source "fonts:<split>", as datasets.load_fonts_dataset loads it) whose record in fonts.json
    (explorer/data/fontstore.py; `folder` default <data>/datasets/fonts) has one face per image; else None
    (other datasets, or fonts.json missing, unreadable or of another size: never raises)."""
    source = str(ds.description.get("source") or "")
    if not source.startswith("fonts:"):
        return None
    from explorer.data.fontstore import read_meta
    try:
        faces = read_meta(folder)["splits"][source.partition(":")[2]]["faces"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(faces, list) or len(faces) != len(ds):
        return None
    return [face_label(f if isinstance(f, Mapping) else {}) for f in faces]


def make_round(ds: ImageDataset, render: Callable[[list[int], list[int] | None], np.ndarray], n: int = 10,
               seed: int = 0, num_classes: int = 0, names: Sequence[str] | None = None) -> list[Item]:
    """n items, half of them (rounded down) real, in a seeded random order.

    `render(seeds, classes)` -> (k, H, W, C) uint8 generated images (classes None for an unconditional model).
    `names`: one per dataset image (e.g. `face_names(ds)`): a real item's origin is its name, else
    "<source> image #<index>". Raises ValueError for n < 2 or names of another length than ds.
    """
    if n < 2:
        raise ValueError("a round needs at least 2 images")
    if names is not None and len(names) != len(ds):
        raise ValueError(f"{len(names)} names for {len(ds)} images")
    rng = np.random.default_rng(seed)
    n_real = n // 2
    idx = rng.choice(len(ds), size=min(n_real, len(ds)), replace=False)
    source = str(ds.description.get("source") or "dataset")
    sheets = is_glyph_stack(ds.images.shape[1])        # font faces: shown (and scored) as glyph sheets, as rendered
    reals = [Item(glyph_sheet(ds.images[int(i)]) if sheets else ds.images[int(i)].permute(1, 2, 0).numpy().copy(),
                  True,
                  None if ds.labels is None else int(ds.labels[int(i)]),
                  names[int(i)] if names is not None else f"{source} image #{int(i)}") for i in idx]
    k = n - len(reals)
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=k)]
    classes = [int(c) for c in rng.integers(0, num_classes, size=k)] if num_classes else None
    imgs = render(seeds, classes)
    fakes = [Item(np.ascontiguousarray(imgs[j]), False, None if classes is None else classes[j],
                  f"generated from seed {seeds[j]}") for j in range(k)]
    items = reals + fakes
    order = rng.permutation(len(items))
    return [items[int(i)] for i in order]


def with_scores(items: Sequence[Item], critic) -> list[Item]:
    """The items with D's raw scores (threshold 0: above is "real"); unchanged when critic is None.
    A conditional D cannot score an item without a class (an unlabelled real image): that one stays None."""
    if critic is None or not items:
        return list(items)
    from explorer.gan.critic import realness
    ok = [i for i, it in enumerate(items) if it.label is not None or not critic.conditional]
    if not ok:
        return list(items)
    x = np.stack([items[i].image for i in ok])
    labels = torch.tensor([items[i].label for i in ok]) if critic.conditional else None
    scores = realness(critic, x, labels).tolist()
    out = list(items)
    for i, s in zip(ok, scores):
        out[i] = dataclasses.replace(out[i], d_score=float(s))
    return out


def d_says_real(item: Item) -> bool | None:
    return None if item.d_score is None else item.d_score > 0


def tally(items: Sequence[Item], answers: Sequence[bool | None]) -> Tally:
    """answers[i]: True = "real", False = "fake", None = not answered yet."""
    answered = people = d_right = d_scored = 0
    for it, a in zip(items, answers):
        if a is None:
            continue
        answered += 1
        people += int(a == it.real)
        d = d_says_real(it)
        if d is not None:
            d_scored += 1
            d_right += int(d == it.real)
    return Tally(answered, people, d_right, d_scored)
