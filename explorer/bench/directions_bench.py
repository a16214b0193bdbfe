"""`latent-explorer bench --parts directions`: named directions, timed and scored (printed, never asserted).

For one model, on the CPU with the process's thread count:
* attribute directions computed afresh (sample, render, measure, fit; no cache): median of 3 runs, seconds
  (target < 10);
* the entanglement heat map of 10 PCA directions: median of 7 runs, seconds (target < 1);
* teaching a direction from 12 "more" + 12 "less" seeds (their w, the classifier, its cross-validated
  accuracy, sigma): seconds (target < 1, once the examples are marked);
* direction quality over 200 seeds (explorer/explore/direction_quality.py) for every attribute
  direction, before and after orthogonalisation; for glyph-stack models also the group weight,
  slant, width (the issue's check: >= 95 % right way, others moving < 1/3 as much);
* the same for edits that follow the image (explorer/explore/local_edits.py), each holding the other
  attributes of its group (fonts: weight, slant, width; other models: every attribute it can follow,
  and again holding nothing);
* PCA sign stability: directions computed from sample seeds 1..3 whose cosine with seed 0's is
  > 0.8 in magnitude, and how many of them point the other way (should be 0).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from explorer.explore.attributes import measurer_for
from explorer.explore.direction_cache import compute_directions, model_settings
from explorer.explore.direction_quality import FONT_GROUP, direction_quality, follow_quality, quality_table
from explorer.explore.entanglement import effect_matrix
from explorer.explore.ganspace import pca_directions
from explorer.explore.latents import LatentState, state_to_ws
from explorer.explore.taught import teach
from explorer.gan.protocol import Generator


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 3)


def _median_of(fn: Callable[[], Any], runs: int) -> tuple[Any, float, list[float]]:
    """fn's last result, the median of `runs` wall times (s) and every time: one run on a shared,
    noisy machine is not a figure."""
    times = []
    for _ in range(runs):
        out, s = _timed(fn)
        times.append(s)
    return out, round(float(statistics.median(times)), 3), times


def _teach_time(G: Generator, attr: Any) -> tuple[float, float]:
    """Seconds to teach "brightness" from the 12 brightest and 12 darkest of 48 seeds, and its accuracy."""
    m = measurer_for(G, None, classifier=False, learned=False)
    states = [LatentState("m", "", s, 0 if G.cfg.num_classes else None) for s in range(48)]
    with torch.no_grad():
        ws = torch.cat([state_to_ws(G, s) for s in states])
        from explorer.explore.entanglement import render_with
        vals = m.measure(render_with(G)(ws))[:, 0]
    order = vals.argsort()
    less, more = [states[i] for i in order[:12]], [states[i] for i in order[-12:]]

    def go() -> Any:
        with torch.no_grad():
            wm = torch.cat([state_to_ws(G, s) for s in more])
            wl = torch.cat([state_to_ws(G, s) for s in less])
        return teach(G, "brighter", wm, wl)
    t, seconds = _timed(go)
    return seconds, t.accuracy


def sign_stability(G: Generator, k: int = 16) -> dict[str, int]:
    """PCA from sample seeds 1..3 against seed 0: matched directions (|cos| > 0.8) and flipped ones."""
    ref = pca_directions(G, k=k, seed=0).vectors
    matched = flipped = 0
    for s in (1, 2, 3):
        cos = (pca_directions(G, k=k, seed=s).vectors * ref).sum(1)
        strong = cos.abs() > 0.8
        matched += int(strong.sum())
        flipped += int((strong & (cos < 0)).sum())
    return {"matched": matched, "flipped": flipped}


def directions_bench(G: Generator, meta: dict, say: Callable[[str], None] = lambda m: None,
                     quality_seeds: int = 200) -> dict[str, Any]:
    """The figures listed in the module docstring for generator G (on the CPU) and its sidecar meta."""
    import sklearn.linear_model  # noqa: F401 - a one-time import (~1 s) is not part of any figure
    out: dict[str, Any] = {}
    say("attribute directions, computed afresh (no cache)")
    settings = model_settings(G, "attr", None)           # what the app computes (font models: fewer samples)
    attr, out["attribute_directions_s"], out["attribute_directions_runs_s"] = _median_of(
        lambda: compute_directions(G, "attr", meta=meta), 3)
    out["attribute_directions_samples"] = settings.get("n_samples", "default")
    out["attribute_directions_target_s"] = 10.0
    out["attributes"] = {n: {"fit": round(float(x), 3), "metric": m} for n, x, m in
                         zip(attr.names, attr.explained.tolist(), attr.settings["metric"])}
    measurer = measurer_for(G, meta)
    pca = pca_directions(G, k=10)
    say("entanglement heat map of 10 PCA directions")
    effect_matrix(G, pca.vectors[:2], pca.sigma[:2], measurer, n_seeds=4)                # warm-up
    fx, out["heat_map_10_s"], out["heat_map_10_runs_s"] = _median_of(
        lambda: effect_matrix(G, pca.vectors, pca.sigma, measurer), 7)
    out["heat_map_target_s"] = 1.0
    out["pca_auto_labels"] = fx.labels(pca.names)
    say("teaching a direction from 12 + 12 seeds")
    out["teach_s"], out["teach_accuracy_cv"] = _teach_time(G, attr)
    out["teach_target_s"] = 1.0
    say(f"direction quality over {quality_seeds} seeds, before and after orthogonalisation")
    q = direction_quality(G, attr, measurer, n_seeds=quality_seeds)
    out["quality"] = q
    out["quality_table"] = quality_table(q)
    if set(FONT_GROUP) <= set(attr.settings["attributes"]):
        out["quality_fonts"] = direction_quality(G, attr, measurer, n_seeds=quality_seeds, group=FONT_GROUP)
    say(f"followed edits over {quality_seeds} seeds, each holding the others of its group")
    fonts = set(FONT_GROUP) <= set(attr.settings["attributes"])
    out["quality_follow"] = follow_quality(G, attr, measurer, n_seeds=quality_seeds,
                                           group=FONT_GROUP if fonts else None)
    if not fonts:          # image attributes overlap (brightness, contrast, size): holding all is too tight
        out["quality_follow_free"] = follow_quality(G, attr, measurer, n_seeds=quality_seeds, hold_others=False)
    say("PCA sign stability across sample seeds 0..3")
    out["pca_sign_stability"] = sign_stability(G)
    return out
