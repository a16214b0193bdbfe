"""Edit directions in w: PCA (GANSpace, Härkönen et al. 2020) and closed-form SeFa (Shen & Zhou 2021).

Both return K orthonormal rows `vectors` (K, w_dim) and `sigma` (K,), the std of w projected on
each, so an edit `amount` is in std units whichever method made it. For DCGAN generators w is
z (plus a one-hot class, which directions never touch: those columns are zero).

Directions are cached on disk by weights hash + method + settings (safetensors + JSON, written
atomically, never pickled); user-given names persist per model + method in a small JSON file.

    d = get_directions(G, meta, "sefa", k=16)     # computed once, then read back instantly
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from torch import nn

from explorer import fileio
from explorer.config import data_dir

CACHE_FORMAT = "latent-explorer-directions"
CACHE_VERSION = 3                       # bump when an algorithm changes: old cache entries are ignored
METHODS = ("pca", "sefa")
DEFAULTS: dict[str, dict[str, Any]] = {
    "pca": {"n_samples": 20000, "seed": 0, "batch": 2000, "class_index": None},
    "sefa": {"layers": None, "sigma_samples": 2000, "seed": 0},
}


@dataclass
class Directions:
    method: str                # "pca" | "sefa"
    vectors: torch.Tensor      # (K, w_dim) orthonormal rows, float32, CPU
    sigma: torch.Tensor        # (K,) std of w projected on each direction
    explained: torch.Tensor    # (K,) explained-variance ratio (PCA) or eigenvalue / sum of eigenvalues (SeFa)
    names: list[str]           # display names; defaults "PC 0" / "SeFa 0" until a user renames them
    seconds: float             # time taken to compute (not to read from the cache)
    settings: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.vectors.shape[0])


def default_names(method: str, k: int) -> list[str]:
    return [f"{'PC' if method == 'pca' else 'SeFa'} {i}" for i in range(k)]


def edit_dims(G: nn.Module) -> tuple[int, int]:
    """(dims directions act on, full width of w): (w_dim, w_dim) for style/film, (z_dim, z_dim + classes) for DCGAN."""
    if G.cfg.arch != "dcgan":
        return G.cfg.w_dim, G.cfg.w_dim
    return G.cfg.z_dim, G.cfg.z_dim + G.cfg.num_classes


@torch.no_grad()
def _sample_zw(G: nn.Module, n: int, gen: torch.Generator, class_index: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(z on the CPU, full w on G's device) for n samples at psi=1 (random classes unless one is given)."""
    dev = G.w_avg.device
    z = torch.randn(n, G.cfg.z_dim, generator=gen)
    nc = G.cfg.num_classes
    c = None
    if nc:
        c = (torch.full((n,), class_index, dtype=torch.long) if class_index is not None
             else torch.randint(nc, (n,), generator=gen))
        c = c.to(dev)
    return z, G.mapping(z.to(dev), c)


def _sample_w(G: nn.Module, n: int, gen: torch.Generator, class_index: int | None = None) -> torch.Tensor:
    """n samples of w (n, dims) at psi=1, float64 on the CPU."""
    return _sample_zw(G, n, gen, class_index)[1][:, :edit_dims(G)[0]].double().cpu()


def _fix_signs(v: torch.Tensor) -> torch.Tensor:
    """Make each row's largest-magnitude entry positive, so results do not flip between runs."""
    idx = v.abs().argmax(dim=1)
    s = torch.sign(v[torch.arange(v.shape[0]), idx])
    return v * torch.where(s == 0, torch.ones_like(s), s)[:, None]


def _pad(G: nn.Module, v: torch.Tensor) -> torch.Tensor:
    """(K, dims) -> (K, w width): zero columns for a DCGAN's one-hot class inputs."""
    dims, width = edit_dims(G)
    return torch.cat([v, v.new_zeros(v.shape[0], width - dims)], dim=1) if width > dims else v


@torch.no_grad()
def pca_directions(G: nn.Module, n_samples: int = 20000, k: int = 32, seed: int = 0, batch: int = 2000,
                   class_index: int | None = None) -> Directions:
    """GANSpace: principal axes of w over `n_samples` random z, fitted in batches with IncrementalPCA."""
    from sklearn.decomposition import IncrementalPCA   # imported here: ~1 s, only when needed
    from threadpoolctl import threadpool_limits          # a scikit-learn dependency

    if G.cfg.arch == "dcgan":
        return _pca_via_features(G, n_samples, k, seed, class_index)
    t0 = time.perf_counter()
    dims = edit_dims(G)[0]
    k = max(1, min(k, dims))
    n_samples = max(n_samples, 2 * k)
    nb = max(1, min(math.ceil(n_samples / max(batch, 1)), n_samples // k))   # every batch needs >= k rows
    sizes = [n_samples // nb + (i < n_samples % nb) for i in range(nb)]
    gen = torch.Generator().manual_seed(seed)
    ipca = IncrementalPCA(n_components=k)
    with threadpool_limits(limits=1, user_api="blas"):   # small SVDs: threaded BLAS only adds contention
        for n in sizes:                                  # (100x slower when training processes load the cores)
            ipca.partial_fit(_sample_w(G, n, gen, class_index).numpy())
    vectors = _fix_signs(torch.from_numpy(ipca.components_).double())
    sigma = torch.from_numpy(ipca.explained_variance_).clamp_min(0).sqrt()
    explained = torch.from_numpy(ipca.explained_variance_ratio_)
    settings = {"n_samples": n_samples, "seed": seed, "batch": batch, "class_index": class_index}
    return Directions("pca", _pad(G, vectors).float(), sigma.float(), explained.float(), default_names("pca", k),
                      time.perf_counter() - t0, settings)


@torch.no_grad()
def _pca_via_features(G: nn.Module, n_samples: int, k: int, seed: int, class_index: int | None) -> Directions:
    """GANSpace for a generator without an intermediate latent (DCGAN: w is z, and z is isotropic, so
    PCA on it finds nothing): PCA on the first block's activations, then each component is carried
    back to z by linear regression (Härkönen et al. 2020, their BigGAN/PGGAN recipe), and the
    z directions are orthonormalised in order (QR), so direction 0 is exactly the regressed PC 0."""
    t0 = time.perf_counter()
    dims = edit_dims(G)[0]
    k = max(1, min(k, dims))
    n = max(min(n_samples, 5_000), 4 * k)      # 5000 x (c x 4 x 4) activations: stable, and ~1 s
    z, w = _sample_zw(G, n, torch.Generator().manual_seed(seed), class_index)
    feats = torch.cat([G.net[:3](w[i:i + 2000, :, None, None]).flatten(1).float().cpu() for i in range(0, n, 2000)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, s, v = torch.pca_lowrank(feats, q=min(k + 10, *feats.shape), center=True, niter=4)
    x = (feats - feats.mean(0)) @ v[:, :k]                                      # (n, k) PC coordinates
    b = torch.linalg.lstsq(x.double(), z.double()).solution                     # (k, z_dim): PC -> z
    q, _ = torch.linalg.qr(b.T)                                                 # orthonormal, in order
    vectors = _fix_signs(q.T)
    sigma = (z.double() @ vectors.T).std(0)
    total = feats.var(0).sum().double()
    explained = (s[:k].double() ** 2 / (n - 1)) / total
    settings = {"n_samples": n, "seed": seed, "class_index": class_index, "space": "first-block activations"}
    return Directions("pca", _pad(G, vectors).float(), sigma.float(), explained.float(), default_names("pca", k),
                      time.perf_counter() - t0, settings)


def _affine_matrix(G: nn.Module, layers: Sequence[int]) -> torch.Tensor:
    """Stacked style weights A (sum_out, dims), float64: rows are the style units of the chosen layers."""
    dims = edit_dims(G)[0]
    mods = G.style_affines()
    if G.cfg.arch != "dcgan":                                      # style/film: Linear(w_dim -> channels)
        return torch.cat([mods[i].weight.detach().double().cpu() for i in layers], dim=0)   # (sum_out, w_dim)
    w = mods[0].weight.detach().double().cpu()[:dims]            # ConvTranspose2d: (in, out, k, k), z rows only
    return w.permute(1, 2, 3, 0).reshape(-1, dims)               # (out*k*k, z_dim)


@torch.no_grad()
def sefa_directions(G: nn.Module, k: int = 32, layers: Iterable[int] | None = None, sigma_samples: int = 2000,
                    seed: int = 0) -> Directions:
    """SeFa: top eigenvectors of A^T A, A the (row-normalised) style weights of `layers` (default: all)."""
    t0 = time.perf_counter()
    dims = edit_dims(G)[0]
    k = max(1, min(k, dims))
    n_layers = len(G.style_affines())
    layers = list(range(n_layers)) if layers is None else [int(i) for i in layers]
    bad = [i for i in layers if not 0 <= i < n_layers]
    if not layers or bad:
        raise ValueError(f"SeFa layers must be a non-empty subset of 0..{n_layers - 1}, not {layers}")
    A = _affine_matrix(G, layers)
    A = A / A.norm(dim=1, keepdim=True).clamp_min(1e-12)        # as the SeFa paper's code: every unit counts once
    evals, evecs = torch.linalg.eigh(A.T @ A)                   # ascending
    evals, evecs = evals.flip(0).clamp_min(0), evecs.flip(1)
    vectors = _fix_signs(evecs[:, :k].T.contiguous())           # (k, dims)
    explained = evals[:k] / evals.sum().clamp_min(1e-12)
    w = _sample_w(G, max(sigma_samples, 2), torch.Generator().manual_seed(seed))
    sigma = (w @ vectors.T).std(dim=0)                          # (k,)
    settings = {"layers": layers if len(layers) != n_layers else None, "sigma_samples": sigma_samples, "seed": seed}
    return Directions("sefa", _pad(G, vectors).float(), sigma.float(), explained.float(),
                      default_names("sefa", k), time.perf_counter() - t0, settings)


def compute_directions(G: nn.Module, method: str, k: int = 32, settings: Mapping[str, Any] | None = None) -> Directions:
    s = _settings(method, settings)
    if method == "pca":
        return pca_directions(G, k=k, **s)
    return sefa_directions(G, k=k, **s)


def benchmark_directions(G: nn.Module, n_samples: int = 20000, k: int = 32) -> dict[str, float]:
    """Seconds to compute PCA (n_samples) and SeFa directions afresh, without the cache."""
    return {"pca": pca_directions(G, n_samples=n_samples, k=k).seconds,
            "sefa": sefa_directions(G, k=k).seconds}


# ---------------------------------------------------------------- cache


def _settings(method: str, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    if method not in METHODS:
        raise ValueError(f"unknown direction method {method!r}; choose from {METHODS}")
    s = dict(DEFAULTS[method])
    unknown = set(settings or {}) - set(s)
    if unknown:
        raise ValueError(f"unknown {method} setting(s) {sorted(unknown)}; known: {sorted(s)}")
    s.update(settings or {})
    if method == "sefa" and s["layers"] is not None:
        s["layers"] = [int(i) for i in s["layers"]]
    return s


def weights_hash(G: nn.Module) -> str:
    """sha256 of a generator's tensors, for models that have no sidecar hash."""
    h = hashlib.sha256()
    for name, t in sorted(G.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _model_key(meta: Mapping[str, Any] | None, G: nn.Module | None = None) -> str:
    sha = (meta or {}).get("sha256")
    if not sha:
        if G is None:
            raise ValueError("meta has no 'sha256': pass the sidecar of a saved model")
        sha = weights_hash(G)
    return str(sha)[:16]


def _cache_dir(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else data_dir() / "cache" / "directions"


def cache_path(meta: Mapping[str, Any] | None, method: str, k: int, settings: Mapping[str, Any] | None = None,
               cache_dir: str | Path | None = None, G: nn.Module | None = None) -> Path:
    """The cache entry's JSON path (its tensors sit beside it as .safetensors)."""
    s = _settings(method, settings)
    blob = json.dumps({"v": CACHE_VERSION, "method": method, "k": k, **s}, sort_keys=True)
    tag = hashlib.sha256(blob.encode()).hexdigest()[:12]
    return _cache_dir(cache_dir) / f"{_model_key(meta, G)}-{method}-k{k}-{tag}.json"


def _names_path(meta: Mapping[str, Any] | None, method: str, cache_dir: str | Path | None,
                G: nn.Module | None = None) -> Path:
    return _cache_dir(cache_dir) / f"{_model_key(meta, G)}-{method}-names.json"


def _read_cached(j: Path) -> Directions | None:
    """A cache entry, or None if it is missing, stale or corrupt (then it is simply recomputed)."""
    try:
        info = json.loads(j.read_text(encoding="utf-8"))
        data = j.with_suffix(".safetensors").read_bytes()
        if info.get("format") != CACHE_FORMAT or info.get("version") != CACHE_VERSION:
            return None
        if hashlib.sha256(data).hexdigest() != info.get("sha256"):
            return None
        t = st_load(data)
        return Directions(info["method"], t["vectors"], t["sigma"], t["explained"],
                          default_names(info["method"], t["vectors"].shape[0]),
                          float(info["seconds"]), info["settings"])
    except (OSError, ValueError, KeyError, TypeError, SafetensorError):
        return None


def get_directions(G: nn.Module, meta: Mapping[str, Any] | None, method: str, k: int = 32,
                   settings: Mapping[str, Any] | None = None, cache_dir: str | Path | None = None) -> Directions:
    """Directions for a model, read from the on-disk cache or computed and stored there.

    Keyed by meta["sha256"] (or the weights' own hash), method, k and settings; `seconds` is the
    time the original computation took. Names come from the model + method names file.
    """
    j = cache_path(meta, method, k, settings, cache_dir, G)
    d = _read_cached(j)
    if d is None:
        d = compute_directions(G, method, k, settings)
        sha = fileio.atomic_save_tensors(j.with_suffix(".safetensors"),
                                         {"vectors": d.vectors, "sigma": d.sigma, "explained": d.explained})
        fileio.atomic_write_json(j, {"format": CACHE_FORMAT, "version": CACHE_VERSION, "method": method, "k": d.k,
                                     "model_sha256": (meta or {}).get("sha256", ""), "settings": d.settings,
                                     "seconds": d.seconds, "sha256": sha,
                                     "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    d.names = load_direction_names(meta, method, d.k, cache_dir, G)
    return d


def load_direction_names(meta: Mapping[str, Any] | None, method: str, k: int,
                         cache_dir: str | Path | None = None, G: nn.Module | None = None) -> list[str]:
    """Display names of the first k directions: the user's where given, defaults elsewhere."""
    names = default_names(method, k)
    try:
        saved = json.loads(_names_path(meta, method, cache_dir, G).read_text(encoding="utf-8")).get("names", {})
        for i, name in saved.items():
            if 0 <= int(i) < k and isinstance(name, str) and name.strip():
                names[int(i)] = name.strip()
    except (OSError, ValueError, AttributeError):
        pass
    return names


def save_direction_names(meta: Mapping[str, Any] | None, method: str, names: Mapping[int, str] | Sequence[str],
                         cache_dir: str | Path | None = None, G: nn.Module | None = None) -> None:
    """Remember user names of directions for this model + method ("" or a default name forgets one).

    `names` is a list (index = direction) or a {direction: name} mapping merged into what is saved.
    """
    p = _names_path(meta, method, cache_dir, G)
    try:
        saved = {int(i): n for i, n in json.loads(p.read_text(encoding="utf-8")).get("names", {}).items()}
    except (OSError, ValueError, AttributeError):
        saved = {}
    items = names.items() if isinstance(names, Mapping) else enumerate(names)
    for i, name in items:
        name = str(name).strip()[:80]
        if not name or name == f"{'PC' if method == 'pca' else 'SeFa'} {int(i)}":
            saved.pop(int(i), None)
        else:
            saved[int(i)] = name
    fileio.atomic_write_json(p, {"format": CACHE_FORMAT + "-names", "method": method,
                                 "names": {str(i): saved[i] for i in sorted(saved)}})
