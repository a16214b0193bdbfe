"""Edit directions in w: PCA (GANSpace, Härkönen et al. 2020), closed-form SeFa (Shen & Zhou 2021)
and attribute directions ("attr": measured attributes, explorer/explore/attribute_directions.py,
followed by the directions users taught, explorer/explore/taught.py).

Each returns K unit rows `vectors` (K, w_dim) (orthonormal for PCA and SeFa) and `sigma` (K,),
the std of w projected on each, so an edit `amount` is in std units whichever method made it.
For DCGAN generators w is z (plus a one-hot class, which directions never touch: those columns
are zero).

Signs do not depend on the sampling seed (`skew_signs`): a PCA direction points to the long tail
of the distribution along it (positive skewness of w projected on it, measured on a fixed reference
sample of w; for DCGAN models, of its first-block feature PC), so "+" means "toward rarer images",
and a PCA from another seed or sample count is then aligned with the default computation's;
a SeFa direction (whose vectors do not depend on sampling at all) does the same where its skewness
is clear (|z| > SKEW_Z) and otherwise makes its largest-magnitude entry positive. An attribute
direction increases its attribute; a taught one points to "more".

Directions are cached on disk by weights hash + method + settings (safetensors + JSON, written
atomically, never pickled); user-given names persist per model + method in a small JSON file.

    d = get_directions(G, meta, "sefa", k=16)     # computed once, then read back instantly
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load

from explorer import fileio
from explorer.gan.generators import DCGANGenerator
from explorer.gan.protocol import Generator
from explorer.settings import data_dir

CACHE_FORMAT = "latent-explorer-directions"
CACHE_VERSION = 4                       # bump when an algorithm changes: old cache entries are ignored
METHODS = ("pca", "sefa", "attr")
DEFAULTS: dict[str, dict[str, Any]] = {
    "pca": {"n_samples": 20000, "seed": 0, "batch": 2000, "class_index": None},
    "sefa": {"layers": None, "sigma_samples": 2000, "seed": 0},
    "attr": {"n_samples": 2000, "seed": 0},
}
SIGN_SEED = 0x5EED                      # the fixed reference sample of w the sign rule measures skewness on
SIGN_SAMPLES = 20000
SKEW_Z = 3.0                            # |skewness / its standard error| that counts as a clear skew


@dataclass
class Directions:
    method: str                # "pca" | "sefa" | "attr"
    vectors: torch.Tensor      # (K, w_dim) unit rows (orthonormal for PCA / SeFa), float32, CPU
    sigma: torch.Tensor        # (K,) std of w projected on each direction
    explained: torch.Tensor    # (K,) explained-variance ratio (PCA), eigenvalue / sum of eigenvalues (SeFa),
                               # held-out R² or accuracy (attr: see settings["metric"])
    names: list[str]           # display names; defaults "PC 0" / "SeFa 0" / the attribute until renamed
    seconds: float             # time taken to compute (not to read from the cache)
    settings: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.vectors.shape[0])


def default_names(method: str, k: int) -> list[str]:
    """"PC 0", "SeFa 0" or "attribute 0" ... for k directions (attribute directions carry their own)."""
    prefix = {"pca": "PC", "sefa": "SeFa"}.get(method, "attribute")
    return [f"{prefix} {i}" for i in range(k)]


def edit_dims(G: Generator) -> tuple[int, int]:
    """(dims directions act on, full width of w): (w_dim, w_dim) for style/film, (z_dim, z_dim + classes) for DCGAN."""
    if G.cfg.arch != "dcgan":
        return G.cfg.w_dim, G.cfg.w_dim
    return G.cfg.z_dim, G.cfg.z_dim + G.cfg.num_classes


@torch.no_grad()
def _sample_zw(G: Generator, n: int, gen: torch.Generator, class_index: int | None = None
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


def _sample_w(G: Generator, n: int, gen: torch.Generator, class_index: int | None = None) -> torch.Tensor:
    """n samples of w (n, dims) at psi=1, float64 on the CPU."""
    return _sample_zw(G, n, gen, class_index)[1][:, :edit_dims(G)[0]].double().cpu()


def _fix_signs(v: torch.Tensor) -> torch.Tensor:
    """Make each row's largest-magnitude entry positive, so results do not flip between runs."""
    idx = v.abs().argmax(dim=1)
    s = torch.sign(v[torch.arange(v.shape[0]), idx])
    return v * torch.where(s == 0, torch.ones_like(s), s)[:, None]


def pad(G: Generator, v: torch.Tensor) -> torch.Tensor:
    """(K, dims) -> (K, w width): zero columns for a DCGAN's one-hot class inputs."""
    dims, width = edit_dims(G)
    return torch.cat([v, v.new_zeros(v.shape[0], width - dims)], dim=1) if width > dims else v


def skew_signs(proj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """proj (n, K) projections -> (signs (K,) +-1 that make each column's skewness positive,
    z-scores (K,) = skewness / sqrt(6 / n), its standard error for a normal sample)."""
    p = proj.double() - proj.double().mean(0)
    skew = (p ** 3).mean(0) / p.pow(2).mean(0).clamp_min(1e-24) ** 1.5
    s = torch.sign(skew)
    return torch.where(s == 0, torch.ones_like(s), s), skew / math.sqrt(6.0 / max(p.shape[0], 1))


def reference_sample(G: Generator, class_index: int | None = None) -> torch.Tensor:
    """The fixed sample of w (SIGN_SAMPLES, dims) sign rules measure on, float64 on the CPU."""
    return _sample_w(G, SIGN_SAMPLES, torch.Generator().manual_seed(SIGN_SEED), class_index)


@torch.no_grad()
def pca_directions(G: Generator, n_samples: int = 20000, k: int = 32, seed: int = 0, batch: int = 2000,
                   class_index: int | None = None) -> Directions:
    """GANSpace: principal axes of w over `n_samples` random z, fitted in batches with IncrementalPCA.

    Signs: toward each direction's long tail (`skew_signs`); with other than the default seed and
    sample count, each direction is then aligned with the matching direction (|cos| > 0.5) of the
    default computation, so another sample never flips a slider."""
    t0 = time.perf_counter()
    d = (_pca_via_features(G, n_samples, k, seed, class_index) if G.cfg.arch == "dcgan"
         else _pca_w(G, n_samples, k, seed, batch, class_index))
    if (seed, n_samples) != (DEFAULTS["pca"]["seed"], DEFAULTS["pca"]["n_samples"]):
        ref = pca_directions(G, k=k, class_index=class_index).vectors
        d.vectors = align_signs(d.vectors, ref)
        d.seconds = time.perf_counter() - t0
    return d


def align_signs(vectors: torch.Tensor, reference: torch.Tensor, min_cos: float = 0.5) -> torch.Tensor:
    """Flip each row of vectors (K, D) whose best-matching reference row (M, D) has cosine < -min_cos."""
    cos = vectors.double() @ reference.double().T                                  # (K, M), unit rows
    best = cos.gather(1, cos.abs().argmax(1, keepdim=True))[:, 0]
    return vectors * torch.where(best < -min_cos, -1.0, 1.0).to(vectors)[:, None]


@torch.no_grad()
def _pca_w(G: Generator, n_samples: int, k: int, seed: int, batch: int, class_index: int | None) -> Directions:
    from sklearn.decomposition import IncrementalPCA  # imported here: ~1 s, only when needed
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

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
    vectors = torch.from_numpy(ipca.components_).double()
    vectors = vectors * skew_signs(reference_sample(G, class_index) @ vectors.T)[0][:, None]
    sigma = torch.from_numpy(ipca.explained_variance_).clamp_min(0).sqrt()
    explained = torch.from_numpy(ipca.explained_variance_ratio_)
    settings = {"n_samples": n_samples, "seed": seed, "batch": batch, "class_index": class_index}
    return Directions("pca", pad(G, vectors).float(), sigma.float(), explained.float(), default_names("pca", k),
                      time.perf_counter() - t0, settings)


@torch.no_grad()
def _pca_via_features(G: Generator, n_samples: int, k: int, seed: int, class_index: int | None) -> Directions:
    """GANSpace for a generator without an intermediate latent (DCGAN: w is z, and z is isotropic, so
    PCA on it finds nothing): PCA on the first block's activations, then each component is carried
    back to z by linear regression (Härkönen et al. 2020, their BigGAN/PGGAN recipe), and the
    z directions are orthonormalised in order (QR), so direction 0 is exactly the regressed PC 0."""
    t0 = time.perf_counter()
    dims = edit_dims(G)[0]
    k = max(1, min(k, dims))
    n = max(min(n_samples, 5_000), 4 * k)      # 5000 x (c x 4 x 4) activations: stable, and ~1 s
    z, w = _sample_zw(G, n, torch.Generator().manual_seed(seed), class_index)
    net = cast(DCGANGenerator, G).net                                            # only called for arch "dcgan"
    feats = torch.cat([net[:3](w[i:i + 2000, :, None, None]).flatten(1).float().cpu() for i in range(0, n, 2000)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, s, v = torch.pca_lowrank(feats, q=min(k + 10, *feats.shape), center=True, niter=4)
    x = (feats - feats.mean(0)) @ v[:, :k]                                      # (n, k) PC coordinates
    b = torch.linalg.lstsq(x.double(), z.double()).solution                     # (k, z_dim): PC -> z
    q, _ = torch.linalg.qr(b.T)                                                 # orthonormal, in order
    q = q * torch.where((q * b.T).sum(0) < 0, -1.0, 1.0).to(q)[None]            # same sense as each regression
    vectors = q.T * skew_signs(x)[0][:, None]                                   # toward each PC's long tail
    sigma = (z.double() @ vectors.T).std(0)
    total = feats.var(0).sum().double()
    explained = (s[:k].double() ** 2 / (n - 1)) / total
    settings = {"n_samples": n, "seed": seed, "class_index": class_index, "space": "first-block activations"}
    return Directions("pca", pad(G, vectors).float(), sigma.float(), explained.float(), default_names("pca", k),
                      time.perf_counter() - t0, settings)


def _affine_matrix(G: Generator, layers: Sequence[int]) -> torch.Tensor:
    """Stacked style weights A (sum_out, dims), float64: rows are the style units of the chosen layers."""
    dims = edit_dims(G)[0]
    mods = G.style_affines()
    if G.cfg.arch != "dcgan":                                      # style/film: Linear(w_dim -> channels)
        return torch.cat([mods[i].weight.detach().double().cpu() for i in layers], dim=0)   # (sum_out, w_dim)
    w = mods[0].weight.detach().double().cpu()[:dims]            # ConvTranspose2d: (in, out, k, k), z rows only
    return w.permute(1, 2, 3, 0).reshape(-1, dims)               # (out*k*k, z_dim)


@torch.no_grad()
def sefa_directions(G: Generator, k: int = 32, layers: Iterable[int] | None = None, sigma_samples: int = 2000,
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
    signs, z = skew_signs(reference_sample(G) @ vectors.T)
    vectors = vectors * torch.where(z.abs() > SKEW_Z, signs, torch.ones_like(signs))[:, None]
    explained = evals[:k] / evals.sum().clamp_min(1e-12)
    w = _sample_w(G, max(sigma_samples, 2), torch.Generator().manual_seed(seed))
    sigma = (w @ vectors.T).std(dim=0)                          # (k,)
    settings = {"layers": layers if len(layers) != n_layers else None, "sigma_samples": sigma_samples, "seed": seed}
    return Directions("sefa", pad(G, vectors).float(), sigma.float(), explained.float(),
                      default_names("sefa", k), time.perf_counter() - t0, settings)


def compute_directions(G: Generator, method: str, k: int = 32, settings: Mapping[str, Any] | None = None,
                       meta: Mapping[str, Any] | None = None) -> Directions:
    """Directions of one method, computed afresh (`meta`: the model's sidecar, which attribute directions
    read to know which classifier applies). Raises ValueError for an unknown method or setting."""
    s = _settings(method, settings)
    if method == "pca":
        return pca_directions(G, k=k, **s)
    if method == "attr":
        from explorer.explore.attribute_directions import attribute_directions
        return attribute_directions(G, meta, k=k, **s)
    return sefa_directions(G, k=k, **s)


def benchmark_directions(G: Generator, n_samples: int = 20000, k: int = 32) -> dict[str, float]:
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


def weights_hash(G: Generator) -> str:
    """sha256 of a generator's tensors, for models that have no sidecar hash."""
    h = hashlib.sha256()
    for name, t in sorted(G.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _model_key(meta: Mapping[str, Any] | None, G: Generator | None = None) -> str:
    sha = (meta or {}).get("sha256")
    if not sha:
        if G is None:
            raise ValueError("meta has no 'sha256': pass the sidecar of a saved model")
        sha = weights_hash(G)
    return str(sha)[:16]


def _cache_dir(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else data_dir() / "cache" / "directions"


def cache_path(meta: Mapping[str, Any] | None, method: str, k: int, settings: Mapping[str, Any] | None = None,
               cache_dir: str | Path | None = None, G: Generator | None = None) -> Path:
    """The cache entry's JSON path (its tensors sit beside it as .safetensors)."""
    s = _settings(method, settings)
    blob = json.dumps({"v": CACHE_VERSION, "method": method, "k": k, **s}, sort_keys=True)
    tag = hashlib.sha256(blob.encode()).hexdigest()[:12]
    return _cache_dir(cache_dir) / f"{_model_key(meta, G)}-{method}-k{k}-{tag}.json"


def _names_path(meta: Mapping[str, Any] | None, method: str, cache_dir: str | Path | None,
                G: Generator | None = None) -> Path:
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
        k = t["vectors"].shape[0]
        names = info["settings"].get("names") or default_names(info["method"], k)
        return Directions(info["method"], t["vectors"], t["sigma"], t["explained"], list(names)[:k],
                          float(info["seconds"]), info["settings"])
    except (OSError, ValueError, KeyError, TypeError, SafetensorError):
        return None


def get_directions(G: Generator, meta: Mapping[str, Any] | None, method: str, k: int = 32,
                   settings: Mapping[str, Any] | None = None, cache_dir: str | Path | None = None) -> Directions:
    """Directions for a model, read from the on-disk cache or computed and stored there.

    Keyed by meta["sha256"] (or the weights' own hash), method, k and settings; `seconds` is the
    time the original computation took. Names come from the model + method names file. For
    "attr", the directions users taught for this model (explorer/explore/taught.py, kept beside
    the cache) follow the measured ones.
    """
    j = cache_path(meta, method, k, settings, cache_dir, G)
    d = _read_cached(j)
    if d is None:
        d = compute_directions(G, method, k, settings, meta)
        sha = fileio.atomic_save_tensors(j.with_suffix(".safetensors"),
                                         {"vectors": d.vectors, "sigma": d.sigma, "explained": d.explained})
        fileio.atomic_write_json(j, {"format": CACHE_FORMAT, "version": CACHE_VERSION, "method": method, "k": d.k,
                                     "model_sha256": (meta or {}).get("sha256", ""), "settings": d.settings,
                                     "seconds": d.seconds, "sha256": sha,
                                     "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    d.names = load_direction_names(meta, method, d.k, cache_dir, G, d.names)
    if method == "attr":
        from explorer.explore.taught import with_taught
        d = with_taught(d, meta, cache_dir, G)
    return d


def model_key(meta: Mapping[str, Any] | None, G: Generator | None = None) -> str:
    """The 16-hex-digit key files about one model version are named by (its sha256, else its weights')."""
    return _model_key(meta, G)


def load_direction_names(meta: Mapping[str, Any] | None, method: str, k: int,
                         cache_dir: str | Path | None = None, G: Generator | None = None,
                         defaults: Sequence[str] | None = None) -> list[str]:
    """Display names of the first k directions: the user's where given, `defaults` (else
    default_names) elsewhere."""
    names = list(defaults)[:k] if defaults is not None else []
    names += default_names(method, k)[len(names):]
    try:
        saved = json.loads(_names_path(meta, method, cache_dir, G).read_text(encoding="utf-8")).get("names", {})
        for i, name in saved.items():
            if 0 <= int(i) < k and isinstance(name, str) and name.strip():
                names[int(i)] = name.strip()
    except (OSError, ValueError, AttributeError):
        pass
    return names


def save_direction_names(meta: Mapping[str, Any] | None, method: str, names: Mapping[int, str] | Sequence[str],
                         cache_dir: str | Path | None = None, G: Generator | None = None,
                         defaults: Sequence[str] | None = None) -> None:
    """Remember user names of directions for this model + method ("" or a default name forgets one;
    `defaults`: the directions' own names, for attribute directions).

    `names` is a list (index = direction) or a {direction: name} mapping merged into what is saved.
    """
    items = list(names.items() if isinstance(names, Mapping) else enumerate(names))

    def merge(old: Any) -> dict:       # under the file's lock: a concurrent save is never lost
        try:
            saved = {int(i): n for i, n in old.get("names", {}).items()}
        except (AttributeError, TypeError, ValueError):
            saved = {}
        for i, name in items:
            name = unicodedata.normalize("NFC", str(name).strip())[:80]
            own = defaults[int(i)] if defaults is not None and 0 <= int(i) < len(defaults) else None
            if not name or name in (default_names(method, int(i) + 1)[int(i)], own):
                saved.pop(int(i), None)
            else:
                saved[int(i)] = name
        return {"format": CACHE_FORMAT + "-names", "method": method,
                "names": {str(i): saved[i] for i in sorted(saved)}}
    fileio.locked_update(_names_path(meta, method, cache_dir, G), merge, default={})
