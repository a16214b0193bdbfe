"""A map of the latent space: many samples' w vectors projected to 2D, as a plotly scatter.

Sample i is seed `first_seed + i` (class i mod num_classes for a conditional model), exactly the
image the explorer shows for that seed and class, so a point can be opened there. Projections are
deterministic: PCA (linear, axes are the two main directions of variation) or t-SNE (non-linear,
keeps neighbours together, distances between clusters mean little).

    n = default_n(G)                                                    # 300; 150 for a glyph-stack (font) model
    ws, seeds, classes = sample_ws(G, n, first_seed=0, psi=1.0)        # (n, w_dim), (n,), (n,) | None
    xy = project(ws, "tsne")                                            # (n, 2)
    thumbs = thumbnails(eng, ws)                                        # n PNGs; a font model's: "Ag" in each face
    fig = map_figure(xy, seeds, classes, class_names, thumbs=thumbs)
    i = selected_index(event)                                           # from st.plotly_chart(on_select=...)

Plotly's hover box shows text only (no <img>), so thumbnails are drawn as layout images on the
map itself, and the page previews the selected point beside the plot (rendered only for that point).

Speed of the first view (the shipped fonts model, one CPU thread; `latent-explorer bench --parts
font-views`): the thumbnails are rendered straight from the sampled w in batches (no second pass
through the mapping), a font face's "Ag" is set from its A and g alone (explorer/explore/preview.py),
PCA is torch's SVD (importing scikit-learn took ~3 s of a cold first view, and NumPy's OpenBLAS threads
~3 s more on a busy machine), and a glyph-stack model maps 150 faces by default: each face is 62
glyphs, ~14 ms to render.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from explorer.explore.engine import Engine
from explorer.explore.latents import seed_to_z, w_is_z
from explorer.explore.preview import TILE_WORD, preview
from explorer.gan.protocol import Generator
from explorer.imaging.render import is_glyph_stack, png_bytes

METHODS = {"pca": "PCA (linear)", "tsne": "t-SNE (neighbourhoods)"}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#843c39", "#7b4173", "#3182bd", "#31a354"]
DEFAULT_N = 300          # samples on the first view of an image model's map
DEFAULT_N_GLYPHS = 150   # ... of a glyph-stack (font) model's: each sample is a whole 62-glyph face
THUMB_PX = 64            # a thumbnail's height is at least this (nearest-neighbour upscaling)


def default_n(G: Generator) -> int:
    """How many samples the map shows first: DEFAULT_N, or DEFAULT_N_GLYPHS for a glyph-stack generator."""
    return DEFAULT_N_GLYPHS if is_glyph_stack(G.cfg.channels) else DEFAULT_N


@torch.inference_mode()
def sample_ws(G: Generator, n: int, first_seed: int = 0, psi: float = 1.0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(w (n, w_dim), seeds, classes) of seeds first_seed .. first_seed + n - 1; a conditional G's classes
    cycle 0, 1, .., nc - 1, 0, ..; classes is None for an unconditional G."""
    seeds = np.arange(first_seed, first_seed + n, dtype=np.int64)
    dev = G.w_avg.device
    z = torch.cat([seed_to_z(int(s), G.cfg.z_dim) for s in seeds]).to(dev)
    nc = G.cfg.num_classes
    classes = np.arange(n, dtype=np.int64) % nc if nc else None
    c = torch.from_numpy(classes).to(dev) if classes is not None else None
    w = G.mapping(z, c, psi=psi)
    return w.float().cpu().numpy(), seeds, classes


def project(ws: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, d) -> (n, 2) float32, deterministic for a given input and seed."""
    x = np.asarray(ws, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"need at least 3 vectors to project, got shape {x.shape}")
    if method == "pca":     # = sklearn's PCA(2, svd_solver="full"), without its ~3 s import; torch's SVD keeps to
        xc = torch.from_numpy(x - x.mean(0))      # the app's torch threads (NumPy's OpenBLAS pool took ~3 s here
        u, s, _ = torch.linalg.svd(xc, full_matrices=False)   # on a busy 2-core machine, for 150 x 128)
        xy = (u[:, :2] * s[:2]).numpy()
        signs = np.sign(xy[np.abs(xy).argmax(0), [0, 1]])       # fix each axis' sign: same picture every time
        xy = xy * np.where(signs == 0, 1, signs)
    elif method == "tsne":
        from sklearn.manifold import TSNE
        perplexity = float(min(30.0, (x.shape[0] - 1) / 3))
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=torch.get_num_threads()):   # its OpenMP loops: 45 s -> 0.9 s on a busy CPU
            xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                      n_jobs=1).fit_transform(x)
    else:
        raise ValueError(f"unknown projection {method!r}; choose from {list(METHODS)}")
    return xy.astype(np.float32)


def thumbnails(eng: Engine, ws: np.ndarray | torch.Tensor, batch: int = 64) -> list[bytes]:
    """PNG thumbnails of samples w (N, w_dim) or ws (N, num_ws, w_dim), as `sample_ws` returns them (the
    images the explorer shows for those seeds): rendered `batch` at a time on the engine; a font model's
    face as "Ag" set in it (explorer/explore/preview.py), all on paper of one size, other models' images
    as they are; upscaled (nearest) to at least THUMB_PX px high. Returns N PNG byte strings."""
    w = torch.as_tensor(np.asarray(ws, dtype=np.float32))
    tiles = [preview(eng.render_ws(w[i:i + batch], batch=batch), eng, TILE_WORD)   # glyph sheets never pile up
             for i in range(0, w.shape[0], batch)]
    if not tiles:
        return []
    h, wd = max(t.shape[1] for t in tiles), max(t.shape[2] for t in tiles)      # one paper size for every tile
    imgs = np.concatenate([np.pad(t, ((0, 0), (0, h - t.shape[1]), (0, wd - t.shape[2]), (0, 0)),
                                  constant_values=255) for t in tiles])
    return [png_bytes(im, scale=max(1, THUMB_PX // im.shape[0])) for im in imgs]


def class_note(G: Generator) -> str:
    """What the class colours can show for this model, as a sentence that is true for it.

    With a learned mapping, classes may form separate regions ("islands") of w. When w is z with the
    class code appended (explore.latents.w_is_z), every class shares the same Gaussian cloud: the class
    acts only in the synthesis network, and no islands can form."""
    if w_is_z(G):
        return ("Colours are the class each image was asked for. This model has no mapping network: its w is "
                "z with the class appended as a code, so every class shares the same cloud of points and no "
                "class islands can form here. The class acts only inside the synthesis network.")
    return ("Colours are the class each image was asked for. If the classes form separate islands, the "
            "generator has learned to give each class its own region of w.")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def thumb_size(xy: np.ndarray) -> float:
    """The side of a thumbnail's square box on the map, in the map's units: a share of the wider extent
    of the points (N, 2), smaller as there are more of them."""
    n = xy.shape[0]
    span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-6)) if n else 1.0
    return span * (0.07 if n <= 150 else 0.05 if n <= 300 else 0.04)


def uncluttered(xy: np.ndarray, size: float) -> list[int]:
    """Indices of the points (N, 2) whose thumbnails (squares of side `size` centred on them) are drawn:
    greedily in sample order, each one only where its square overlaps none drawn before, so no
    thumbnail hides another; the others stay dots (every point keeps its marker)."""
    kept: list[int] = []
    pts = np.asarray(xy, dtype=np.float64)
    for i in range(pts.shape[0]):
        if not kept or float(np.abs(pts[kept] - pts[i]).max(1).min()) >= size:
            kept.append(i)
    return kept


def map_figure(xy: np.ndarray, seeds: Sequence[int] | np.ndarray, classes: Sequence[int] | np.ndarray | None,
               class_names: Sequence[str], thumbs: Sequence[bytes] | None = None, selected: int | None = None,
               height: int = 620):
    """A scatter of the projected samples, one trace per class (legend), each point's sample index in
    customdata[0]; PNG `thumbs` (one per sample) drawn on the map where they do not overlap
    (`uncluttered`); the `selected` sample ringed."""
    import plotly.graph_objects as go
    xy = np.asarray(xy, dtype=np.float64)
    n = xy.shape[0]
    groups = [(None, np.arange(n))] if classes is None else \
        [(k, np.flatnonzero(np.asarray(classes) == k)) for k in sorted(set(int(c) for c in classes))]
    fig = go.Figure()
    for k, idx in groups:
        name = "samples" if k is None else (class_names[k] if k < len(class_names) else f"class {k}")
        fig.add_trace(go.Scatter(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=name,
            customdata=np.stack([idx, np.asarray(seeds)[idx]], 1).tolist(),   # lists: typed arrays come back as dicts
            marker={"size": 7 if thumbs is None else 5, "color": PALETTE[(k or 0) % len(PALETTE)],
                    "line": {"width": 0.5, "color": "white"}},
            hovertemplate="seed %{customdata[1]}" + ("" if k is None else f"<br>{name}") + "<extra></extra>"))
    span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-6))
    if thumbs is not None:
        size = thumb_size(xy)
        fig.update_layout(images=[{"source": data_uri(thumbs[i]), "x": float(xy[i, 0]), "y": float(xy[i, 1]),
                                   "xref": "x", "yref": "y", "sizex": size, "sizey": size, "xanchor": "center",
                                   "yanchor": "middle", "layer": "below", "sizing": "contain"}
                                  for i in uncluttered(xy, size)])
    if selected is not None and 0 <= selected < n:
        fig.add_trace(go.Scatter(x=[xy[selected, 0]], y=[xy[selected, 1]], mode="markers", name="selected",
                                 hoverinfo="skip", showlegend=False,
                                 marker={"size": 22, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}}))
    pad = span * 0.06
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, dragmode="pan",
                      clickmode="event+select", plot_bgcolor="white",
                      # below the plot, in rows: at the top right the legend sat under plotly's toolbar
                      legend={"itemsizing": "constant", "orientation": "h", "x": 0, "y": -0.01,
                              "yanchor": "top"},
                      xaxis={"showticklabels": False, "showgrid": False, "zeroline": False,
                             "range": [float(xy[:, 0].min() - pad), float(xy[:, 0].max() + pad)]},
                      yaxis={"showticklabels": False, "showgrid": False, "zeroline": False, "scaleanchor": "x",
                             "range": [float(xy[:, 1].min() - pad), float(xy[:, 1].max() + pad)]})
    return fig


def selected_index(event: Mapping[str, Any] | None) -> int | None:
    """The sample index of the first selected point of an st.plotly_chart selection event, else None."""
    if not event:
        return None
    sel = event.get("selection") or {}
    for point in sel.get("points") or []:
        cd = point.get("customdata")
        if isinstance(cd, Mapping) and cd:            # a typed array comes back as {"0": i, "1": seed}
            cd = cd.get("0", next(iter(cd.values())))
        if isinstance(cd, (list, tuple)) and cd:
            cd = cd[0]
        if isinstance(cd, (int, float)) and not isinstance(cd, bool):
            return int(cd)
    return None
