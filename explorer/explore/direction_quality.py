"""A number for how good a named direction is: does +2 std move its attribute, and only it?

For each attribute direction (its attribute known), over n random seeds (fixed, independent of
the sampling seed the directions were fitted on):
* `right_way`: the share of seeds where +`step` std along it increases its own attribute;
* `leak`: the mean |change| of the other attributes of the group relative to its own (both in
  units of each attribute's within-class std; lower is cleaner; 1/3 means the others move a third
  as much);
both before and after orthogonalising it against the other directions of the group (InterFaceGAN's
conditional manipulation, `entanglement.orthogonalise`). The group defaults to every attribute
direction; for fonts the issue's check is the group weight, slant, width. `follow_quality` gives the
same figures for edits that follow the image (explorer/explore/local_edits.py), holding the group's
other attributes.

    q = direction_quality(G, d, measurer)          # d: get_directions(G, meta, "attr")
    q["rows"][0] -> {"name": "brightness", "right_way": 0.99, "leak": 0.41, "right_way_orth": ..., ...}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.explore.attributes import Measurer
from explorer.explore.entanglement import REF_SEED, Render, orthogonalise, reference_w, render_with
from explorer.gan.protocol import Generator

FONT_GROUP = ("stroke_width", "slant", "width")


def _deltas(G: Generator, render: Render, measurer: Measurer, w0: torch.Tensor, base: np.ndarray,
            vectors: torch.Tensor, sigma: torch.Tensor, step: float) -> np.ndarray:
    """(K, n, A) attribute change from w0 (n, width) to w0 + step * sigma_k * v_k."""
    k, n = vectors.shape[0], w0.shape[0]
    ws = w0[None] + (step * sigma[:, None] * vectors)[:, None]                 # (K, n, width)
    return measurer.measure(render(ws.reshape(k * n, -1))).reshape(k, n, -1) - base[None]


def _units(d: Any, measurer: Measurer) -> tuple[list[str], dict[str, int], np.ndarray]:
    """(d's attribute keys, {measurer key: column}, (A,) each column's unit: the std `d` was fitted with)."""
    keys = list(d.settings.get("attributes", []))
    col = {k: j for j, k in enumerate(measurer.keys)}
    scale = np.asarray(d.settings.get("scale") or [1.0] * len(keys), dtype=np.float64)
    unit = np.ones(len(measurer.keys))
    for i, k in enumerate(keys):
        if k in col and scale[i] > 1e-12:
            unit[col[k]] = scale[i]
    return keys, col, unit


def _scores(dl: np.ndarray, own_col: int, other_cols: list[int]) -> tuple[float, float, float]:
    """(right way, leak, mean change) of attribute changes dl (n, A) in std units: the share of seeds where
    its own column rose, the others' mean |change| relative to its own, and its own mean change."""
    own = dl[:, own_col]
    mag = float(np.nanmean(np.abs(own)))
    leak = float(np.nanmean(np.abs(dl[:, other_cols]))) / mag if other_cols and mag > 0 else float("nan")
    return float(np.nanmean(own > 0)), leak, float(np.nanmean(own))


def direction_quality(G: Generator, d: Any, measurer: Measurer, n_seeds: int = 200, step: float = 2.0,
                      group: Sequence[str] | None = None, render: Render | None = None) -> dict[str, Any]:
    """Quality figures of the measured attribute directions of `d` (method "attr") whose attribute is in
    `group` (keys; default all). Renders (1 + 2K) * n_seeds images. Returns {"rows": [...], "n_seeds",
    "step", "group", "seconds"}; each row: name, key, fit score, right_way, leak, right_way_orth, leak_orth.
    Raises ValueError when `d` is not attribute directions or no direction is in the group."""
    if d.method != "attr":
        raise ValueError(f"direction quality needs attribute directions, not {d.method!r}")
    t0 = time.perf_counter()
    keys, col, unit = _units(d, measurer)
    chosen = [i for i, k in enumerate(keys) if (group is None or k in group) and k in col]
    if not chosen:
        raise ValueError(f"no attribute direction in the group {list(group or [])}")
    render = render or render_with(G)
    cols = [col[keys[i]] for i in chosen]
    V, S = d.vectors[chosen].float(), d.sigma[chosen].float()
    ortho = []
    for a in range(len(chosen)):
        others = torch.stack([V[b] for b in range(len(chosen)) if b != a]) if len(chosen) > 1 else V[:0]
        try:
            ortho.append(orthogonalise(V[a], others))
        except ValueError:
            ortho.append(V[a])
    w0 = reference_w(G, n_seeds, seed=REF_SEED + 1)
    base = measurer.measure(render(w0))
    rows = []
    for tag, vecs in (("", V), ("_orth", torch.stack(ortho))):
        dl = _deltas(G, render, measurer, w0, base, vecs, S, step) / unit            # (K, n, A) in std units
        for a, i in enumerate(chosen):
            right, leak, change = _scores(dl[a], cols[a], [c for c in cols if c != cols[a]])
            if not tag:
                rows.append({"name": d.names[i], "key": keys[i], "fit": float(d.explained[i]),
                             "metric": (d.settings.get("metric") or ["r2"] * len(keys))[i]})
            rows[a]["right_way" + tag] = right
            rows[a]["leak" + tag] = leak
            rows[a]["change" + tag] = change
    return {"rows": rows, "n_seeds": n_seeds, "step": step, "group": list(group) if group else None,
            "seconds": time.perf_counter() - t0}


def follow_quality(G: Generator, d: Any, measurer: Measurer, n_seeds: int = 200, step: float = 2.0,
                   group: Sequence[str] | None = None, render: Render | None = None,
                   hold_others: bool = True) -> dict[str, Any]:
    """The same figures for followed edits (explorer/explore/local_edits.py): each attribute of `group`
    (keys; default every attribute of `d` that G can follow) followed by +`step` std, holding the
    group's others (or nothing with hold_others=False), on the same seeds as `direction_quality`; the
    leak is measured against the group's others either way. Rows: name, key, right_way, leak, change.
    Renders (1 + K) * n_seeds images and walks K * n_seeds paths of step * STEPS_PER_STD steps.
    Raises ValueError when `d` is not attribute directions or no attribute of the group can be followed."""
    from explorer.explore.local_edits import follow, followable
    if d.method != "attr":
        raise ValueError(f"followed edits need attribute directions, not {d.method!r}")
    t0 = time.perf_counter()
    keys, col, unit = _units(d, measurer)
    can = set(followable(G))
    chosen = [k for k in (group if group is not None else keys) if k in keys and k in col and k in can]
    if not chosen:
        raise ValueError(f"no attribute of the group {list(group or keys)} can be followed on this model")
    render = render or render_with(G)
    w0 = reference_w(G, n_seeds, seed=REF_SEED + 1)
    ws0 = w0[:, None].repeat(1, G.num_ws, 1)
    base = measurer.measure(render(ws0))
    rows = []
    for k in chosen:
        i = keys.index(k)
        rest = [o for o in chosen if o != k]
        hold = rest if hold_others else []
        ws = torch.cat([follow(G, ws0[a:a + 50], k, step, float(d.sigma[i]), hold) for a in range(0, n_seeds, 50)])
        right, leak, change = _scores((measurer.measure(render(ws)) - base) / unit, col[k], [col[o] for o in rest])
        rows.append({"name": d.names[i], "key": k, "right_way": right, "leak": leak, "change": change, "held": hold})
    return {"rows": rows, "n_seeds": n_seeds, "step": step, "group": chosen, "hold_others": hold_others,
            "seconds": time.perf_counter() - t0}


def quality_table(q: dict[str, Any]) -> str:
    """A Markdown table of `direction_quality` figures (the model card's, explorer/gan/card.py)."""
    from explorer.gan.card import direction_quality_table
    return direction_quality_table(q)


def card_figures(q: dict[str, Any]) -> dict[str, Any]:
    """`direction_quality` figures rounded for a model card / metrics JSON."""
    keys = ("right_way", "leak", "right_way_orth", "leak_orth", "change", "change_orth", "fit")
    return {"n_seeds": q["n_seeds"], "step": q["step"], "group": q["group"],
            "rows": [{"name": r["name"], "key": r["key"], "metric": r["metric"],
                      **{k: round(float(r[k]), 4) for k in keys}} for r in q["rows"]]}


def model_direction_figures(model: str, n_seeds: int = 200) -> dict[str, Any]:
    """Direction-quality figures of a saved model (a name or path the loader knows), for its card:
    attribute directions from the disk cache (computed on first use), measured on the CPU."""
    from explorer.explore.attributes import measurer_for
    from explorer.explore.direction_cache import get_directions
    from explorer.gan.device import load_generator
    G, meta = load_generator(model, "cpu")
    d = get_directions(G, meta, "attr")
    m = measurer_for(G, meta)
    out = card_figures(direction_quality(G, d, m, n_seeds=n_seeds))
    fonts = set(FONT_GROUP) <= set(d.settings.get("attributes", []))
    if fonts:                                                            # fonts: weight, slant, width together
        out["font_group"] = card_figures(direction_quality(G, d, m, n_seeds=n_seeds, group=FONT_GROUP))
    try:
        f = follow_quality(G, d, m, n_seeds=n_seeds, group=FONT_GROUP if fonts else None, hold_others=fonts)
    except ValueError:                                                   # nothing this model can follow
        return out
    out["follow"] = {"n_seeds": f["n_seeds"], "step": f["step"], "group": f["group"], "hold_others": fonts,
                     "rows": [{"name": r["name"], "key": r["key"],
                               **{k: round(float(r[k]), 4) for k in ("right_way", "leak", "change")}}
                              for r in f["rows"]]}
    return out


def add_to_card(sidecar: str | Path, figures: dict[str, Any]) -> None:
    """Put `card_figures` into a saved model's sidecar JSON: metrics["directions"] and the model card's
    "Edit directions" section (replaced if there is one). Atomic; the weights are not touched.
    Raises OSError or ValueError when the sidecar cannot be read."""
    from explorer import fileio
    from explorer.gan.card import with_directions_section
    meta = fileio.read_json_object(sidecar, "a model sidecar")
    meta["metrics"] = {**(meta.get("metrics") or {}), "directions": figures}
    if meta.get("model_card"):
        meta["model_card"] = with_directions_section(str(meta["model_card"]), figures)
    fileio.atomic_write_json(sidecar, meta)
