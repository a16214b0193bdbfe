"""Taught directions: mark seeds "more" and "less" of something, get a named edit direction.

As InterFaceGAN finds an attribute's boundary from labelled latents (Shen et al. 2020), a person's
own labels will do: a dozen latents marked "more" and a dozen "less" are separated by a logistic
regression in w (the edit dims: z for DCGAN models); the unit normal of its boundary, pointing to
"more", is the direction. Its quality is the cross-validated accuracy (stratified k-fold, k <= 5),
so a direction taught from noise says so. sigma is the within-class std of w along it, as for
attribute directions, so amounts are in std units.

Taught directions are kept per model version in `<data>/directions/<model key>-taught.json`
(read-modify-write under a lock, since several sessions may teach at once) and follow the measured
attribute directions in the "attr" family (`direction_cache.get_directions(..., "attr")`). Teaching a
name again replaces that direction in place, so the indices in recipes and links stay valid.

    t = teach(G, "rounder", w_more, w_less)          # (n, w width) latents each
    save_taught(meta, t)                             # then get_directions(G, meta, "attr") includes it
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer import fileio
from explorer.gan.protocol import Generator
from explorer.settings import data_dir

FORMAT = "latent-explorer-taught-directions"
MIN_EACH = 6            # examples of each side needed to teach (fewer: the held-out accuracy is noise)
WEAK_ACCURACY = 0.65    # cross-validated accuracy below this is near chance (0.5 with balanced sides)
MAX_TAUGHT = 12         # taught directions per model
NAME_MAX = 60


@dataclasses.dataclass
class Taught:
    name: str
    vector: list[float]        # (w width,) unit normal, zero on a DCGAN's class columns
    sigma: float               # within-class std of w along it
    accuracy: float            # cross-validated accuracy of the more/less classifier
    n_more: int
    n_less: int
    examples: dict = dataclasses.field(default_factory=dict)   # {"more": [...], "less": [...]} (e.g. seeds)
    created: str = ""


def clean_name(name: str) -> str:
    """A direction name as saved: whitespace collapsed, at most NAME_MAX characters. ValueError if empty."""
    s = " ".join(str(name).split())[:NAME_MAX]
    if not s:
        raise ValueError("give the direction a name")
    return s


def check_name(name: str, measured: Sequence[str]) -> str:
    """`clean_name(name)`, unless it is (case aside) the name of one of the model's measured directions: a
    taught "brightness" beside the measured one would show two sliders of one name. Re-teaching a taught
    name is allowed (it replaces that direction). Raises ValueError with the reason."""
    s = clean_name(name)
    if s.casefold() in {str(m).casefold() for m in measured}:
        raise ValueError(f"{s!r} is the name of a measured attribute direction of this model; choose another name")
    return s


def is_weak(accuracy: float) -> bool:
    """True when a cross-validated accuracy (0..1) is near or below chance (< WEAK_ACCURACY): the marked
    examples probably do not share one change the boundary can see, so the direction is likely noise."""
    return not accuracy >= WEAK_ACCURACY


def fit_boundary(more: np.ndarray, less: np.ndarray, seed: int = 0) -> tuple[np.ndarray, float]:
    """more (n1, D), less (n2, D) -> (unit normal (D,) toward "more", cross-validated accuracy).

    Logistic regression (L2, C=1) on w; accuracy by stratified k-fold (k = min(5, n1, n2)).
    Raises ValueError with fewer than MIN_EACH examples on either side."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits
    if min(len(more), len(less)) < MIN_EACH:
        raise ValueError(f"mark at least {MIN_EACH} images as 'more' and {MIN_EACH} as 'less' "
                         f"(now {len(more)} and {len(less)})")
    X = np.concatenate([more, less]).astype(np.float64)
    y = np.r_[np.ones(len(more)), np.zeros(len(less))]
    model = LogisticRegression(C=1.0, solver="liblinear", max_iter=2000)   # liblinear: fast on a few dozen rows
    folds = StratifiedKFold(n_splits=min(5, len(more), len(less)), shuffle=True, random_state=seed)
    with threadpool_limits(limits=1):
        acc = float(np.mean(cross_val_score(model, X, y, cv=folds)))
        coef = model.fit(X, y).coef_[0]
    norm = float(np.linalg.norm(coef))
    if norm == 0:
        raise ValueError("the 'more' and 'less' examples cannot be told apart in w")
    return coef / norm, acc


def teach(G: Generator, name: str, w_more: torch.Tensor, w_less: torch.Tensor,
          examples: Mapping[str, Sequence[Any]] | None = None, sigma_samples: int = 2000) -> Taught:
    """A taught direction from latents w (n, w width) (or ws (n, num_ws, w width): averaged over layers).

    Raises ValueError for an empty name or too few examples."""
    from explorer.explore.attribute_directions import centre_within, sample
    from explorer.explore.directions import edit_dims
    name = clean_name(name)
    dims, width = edit_dims(G)

    def flat(w: torch.Tensor) -> np.ndarray:
        w = w.detach().float().cpu()
        return (w.mean(1) if w.dim() == 3 else w)[:, :dims].double().numpy()
    v, acc = fit_boundary(flat(w_more), flat(w_less))
    ws, c = sample(G, sigma_samples, seed=0)
    x = centre_within(ws[:, :dims].double().numpy(), None if c is None else c.numpy())
    full = np.zeros(width)
    full[:dims] = v
    return Taught(name, [float(x_) for x_ in full], float((x @ v).std()), round(acc, 4), len(w_more), len(w_less),
                  {k: list(v_) for k, v_ in (examples or {}).items()},
                  time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


# ---------------------------------------------------------------- storage


def taught_path(meta: Mapping[str, Any] | None, folder: str | Path | None = None, G: Generator | None = None) -> Path:
    """The model version's taught-directions file (folder default: <data>/directions)."""
    from explorer.explore.direction_cache import model_key
    return (Path(folder) if folder is not None else data_dir() / "directions") / f"{model_key(meta, G)}-taught.json"


def _read(path: Path) -> list[Taught]:
    try:
        items = fileio.read_json_object(path, "a taught-directions file").get("directions", [])
        fields = {f.name for f in dataclasses.fields(Taught)}
        return [Taught(**{k: v for k, v in it.items() if k in fields}) for it in items if isinstance(it, dict)]
    except (OSError, ValueError, TypeError):
        return []


def _update(path: Path, fn: Callable[[list[Taught]], list[Taught]]) -> list[Taught]:
    """Read-modify-write the file under a lock (fileio.locked_update when the package has it)."""
    def on_obj(obj: Any) -> dict:
        fields = {f.name for f in dataclasses.fields(Taught)}
        items = obj.get("directions", []) if isinstance(obj, dict) else []
        now = [Taught(**{k: v for k, v in it.items() if k in fields}) for it in items if isinstance(it, dict)]
        return {"format": FORMAT, "directions": [dataclasses.asdict(t) for t in fn(now)]}
    locked = getattr(fileio, "locked_update", None)
    if locked is not None:
        locked(path, on_obj)
    else:
        import fcntl
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                obj = fileio.read_json_object(path, "a taught-directions file") if path.exists() else {}
            except ValueError:
                obj = {}
            fileio.atomic_write_json(path, on_obj(obj))
    return _read(path)


def load_taught(meta: Mapping[str, Any] | None, folder: str | Path | None = None,
                G: Generator | None = None) -> list[Taught]:
    """The model's taught directions, in teaching order (a missing or corrupt file gives [])."""
    return _read(taught_path(meta, folder, G))


def save_taught(meta: Mapping[str, Any] | None, t: Taught, folder: str | Path | None = None,
                G: Generator | None = None) -> int:
    """Add `t` (or replace the one of the same name, in place); returns its index among the taught.

    Raises ValueError when the model already has MAX_TAUGHT directions and `t` is new."""
    def add(items: list[Taught]) -> list[Taught]:
        at = next((i for i, x in enumerate(items) if x.name.casefold() == t.name.casefold()), None)
        if at is None:
            if len(items) >= MAX_TAUGHT:
                raise ValueError(f"this model has {MAX_TAUGHT} taught directions already; re-teach one by its name")
            return items + [t]
        return items[:at] + [t] + items[at + 1:]
    items = _update(taught_path(meta, folder, G), add)
    return next(i for i, x in enumerate(items) if x.name.casefold() == t.name.casefold())


def with_taught(d: Any, meta: Mapping[str, Any] | None, folder: str | Path | None = None,
                G: Generator | None = None) -> Any:
    """Attribute directions `d` followed by the model's taught ones (names, accuracies, sigmas);
    settings["taught"] is the number appended. Vectors of another width are skipped."""
    items = [t for t in load_taught(meta, folder, G) if len(t.vector) == d.vectors.shape[1]]
    if not items:
        return dataclasses.replace(d, settings={**d.settings, "taught": 0})
    v = torch.tensor([t.vector for t in items], dtype=d.vectors.dtype)
    v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sigma = torch.tensor([t.sigma for t in items]).to(d.sigma)
    return dataclasses.replace(
        d, vectors=torch.cat([d.vectors, v]), sigma=torch.cat([d.sigma, sigma]),
        explained=torch.cat([d.explained, torch.tensor([t.accuracy for t in items]).to(d.explained)]),
        names=list(d.names) + [t.name for t in items],
        settings={**d.settings, "taught": len(items),
                  "metric": list(d.settings.get("metric", [])) + ["accuracy (taught)"] * len(items)})
