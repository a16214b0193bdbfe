"""Edit directions for a model, cached on disk, with the names users give them.

`get_directions` is the front door: it reads a cache entry keyed by the model's weights hash +
method + k + settings, or computes one (`compute_directions`: GANSpace in explorer/explore/ganspace.py,
Härkönen et al. 2020; SeFa in explorer/explore/sefa.py, Shen & Zhou 2021; attribute directions in
explorer/explore/attribute_directions.py) and stores it: safetensors + JSON, written atomically via
explorer/fileio.py, never pickled. User-given names persist per model + method in a small JSON file
beside the cache (`load_direction_names`, `save_direction_names`).

    d = get_directions(G, meta, "sefa", k=16)     # computed once, then read back instantly
"""

from __future__ import annotations

import hashlib
import json
import time
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load as st_load

from explorer import fileio
from explorer.explore.directions import DEFAULTS, METHODS, Directions, default_names
from explorer.explore.ganspace import pca_directions
from explorer.explore.sefa import sefa_directions
from explorer.gan.protocol import Generator
from explorer.imaging.render import is_glyph_stack
from explorer.settings import data_dir, pretrained_dir

CACHE_FORMAT = "latent-explorer-directions"
# Glyph-stack (font) models: 1,000 samples (render + measure of a face cost ~13 ms of CPU, 300x a
# Fashion-MNIST image). Measured on the fonts run at 19,000 steps (200 quality seeds, +2 std, one thread):
# weight / slant / width move the right way for 82 / 89.5 / 65 % of seeds fitted on 1,000 samples (13.5 s)
# and 83 / 86 / 62 % on 2,000 (25.8 s); on an older model 500 samples were clearly worse (52 / 74 / 77 %
# against 81 / 68 / 84 % on 2,000). Shipped models ship their entries (`ship_directions`).
GLYPH_STACK_ATTR_SAMPLES = 1000
SHIPPED_SUBDIR = "directions"           # under pretrained/: cache entries of the shipped models, read-only
CACHE_VERSION = 4                       # bump when an algorithm changes: old cache entries are ignored


def compute_directions(G: Generator, method: str, k: int = 32, settings: Mapping[str, Any] | None = None,
                       meta: Mapping[str, Any] | None = None) -> Directions:
    """Directions of one method, computed afresh (`meta`: the model's sidecar, which attribute directions
    read to know which classifier applies). Raises ValueError for an unknown method or setting."""
    s = _settings(method, model_settings(G, method, settings))
    if method == "pca":
        return pca_directions(G, k=k, **s)
    if method == "attr":
        from explorer.explore.attribute_directions import attribute_directions
        s.pop("glyph_measures", None)                          # a cache key only: the code measures
        return attribute_directions(G, meta, k=k, **s)
    return sefa_directions(G, k=k, **s)


def model_settings(G: Generator, method: str, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """`settings` with the model's own defaults made explicit (glyph stacks: GLYPH_STACK_ATTR_SAMPLES
    attribute samples), so they are part of the cache key: changing a default recomputes."""
    s = dict(settings or {})
    if method == "attr" and is_glyph_stack(G.cfg.channels):
        from explorer.data.glyphmetrics import MEASURES_VERSION
        s.setdefault("n_samples", GLYPH_STACK_ATTR_SAMPLES)
        s.setdefault("glyph_measures", MEASURES_VERSION)      # a change of the glyph measures recomputes
    return s


def benchmark_directions(G: Generator, n_samples: int = 20000, k: int = 32) -> dict[str, float]:
    """Seconds to compute PCA (n_samples) and SeFa directions afresh, without the cache."""
    return {"pca": pca_directions(G, n_samples=n_samples, k=k).seconds,
            "sefa": sefa_directions(G, k=k).seconds}


def _settings(method: str, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    if method not in METHODS:
        raise ValueError(f"unknown direction method {method!r}; choose from {METHODS}")
    s = dict(DEFAULTS[method])
    unknown = set(settings or {}) - set(s) - ({"glyph_measures"} if method == "attr" else set())
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
    settings = model_settings(G, method, settings)
    j = cache_path(meta, method, k, settings, cache_dir, G)
    d = _read_cached(j)
    if d is None and cache_dir is None:
        d = _read_cached(pretrained_dir() / SHIPPED_SUBDIR / j.name)       # a shipped model's own entry
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


def warm_directions(G: Generator, meta: Mapping[str, Any], methods: Sequence[str] = ("pca", "sefa", "attr"),
                    k: int = 32) -> dict[str, float]:
    """Compute (or read) each method's directions for the model with its default settings, so they are
    in the cache before anyone opens the model (a training job calls this when it ends). Returns
    {method: seconds it took} (about 0 when the cache had it). Raises ValueError for an unknown method."""
    out = {}
    for method in methods:
        t0 = time.perf_counter()
        get_directions(G, meta, method, k=k)
        out[method] = round(time.perf_counter() - t0, 2)
    return out


def ship_directions(model: str | Path, methods: Sequence[str] = ("attr", "pca", "sefa"), k: int = 32,
                    out_dir: str | Path | None = None) -> list[Path]:
    """Compute (or read from the cache) a saved model's directions and copy their cache entries into
    pretrained/directions/ (or `out_dir`), so the shipped model's first view needs no computation:
    `get_directions` reads them when the user's cache has none. Entries are keyed by the model's
    sha256, so a re-exported model never reads another's. Returns the JSON paths written.
    Raises FileNotFoundError / ValueError when the model cannot be loaded."""
    from explorer.gan.device import load_generator
    G, meta = load_generator(model, "cpu")
    warm_directions(G, meta, methods, k)
    dest = Path(out_dir) if out_dir is not None else pretrained_dir() / SHIPPED_SUBDIR
    written = []
    for method in methods:
        j = cache_path(meta, method, k, model_settings(G, method, None))
        data = j.with_suffix(".safetensors").read_bytes()
        fileio.atomic_write_bytes(dest / j.with_suffix(".safetensors").name, data)
        fileio.atomic_write_bytes(dest / j.name, j.read_bytes())
        written.append(dest / j.name)
    return written
