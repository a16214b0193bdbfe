"""A map of the latent space: many samples' w vectors projected to 2D, as a Vega-Lite scatter.

Sample i is seed `first_seed + i` (class i mod num_classes for a conditional model), exactly the
image the explorer shows for that seed and class, so a point can be opened there. Projections are
deterministic: PCA (linear, axes are the two main directions of variation) or t-SNE (non-linear,
keeps neighbours together, distances between clusters mean little).

    n = default_n(G)                                                    # 300; 150 for a glyph-stack (font) model
    ws, seeds, classes = sample_ws(G, n, first_seed=0, psi=1.0)        # (n, w_dim), (n,), (n,) | None
    xy = project(ws, "tsne")                                            # (n, 2)
    pics = map_images(eng, ws)                                          # n thumbnails and n hover pictures (PNG)
    spec = map_spec(xy, seeds, classes, class_names, pics.hovers, pics.thumbs)
    i = selected_index(event)                                           # from st.vega_lite_chart(on_select=...)

Hovering a point shows its picture: a font model's face as a specimen ("Handgloves" set in it), other
models' images as they are (Vega-Lite's tooltip draws an image field; plotly's hover box, used before,
cannot). Thumbnails are drawn on the map where they hide no other, and the page previews the clicked
point beside the plot (for a font model a specimen above the glyph sheet, rendered for that point only).

Speed of the first view (the shipped fonts model, one CPU thread; `latent-explorer bench --parts
font-views`): the thumbnails are rendered straight from the sampled w in batches (no second pass
through the mapping), a font face's "Ag" is set from its A and g alone (explorer/explore/preview.py),
PCA is torch's SVD (importing scikit-learn took ~3 s of a cold first view, and NumPy's OpenBLAS threads
~3 s more on a busy machine), and a glyph-stack model maps 150 faces by default: each face is 62
glyphs, ~14 ms to render; its thumbnail and hover specimen are set from the one render.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explorer.explore.engine import Engine
from explorer.explore.latents import seed_to_z, w_is_z
from explorer.explore.preview import TILE_WORD, preview
from explorer.gan.protocol import Generator
from explorer.imaging.render import image_bytes, is_glyph_stack

METHODS = {"pca": "PCA (linear)", "tsne": "t-SNE (neighbourhoods)"}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#843c39", "#7b4173", "#3182bd", "#31a354"]
DEFAULT_N = 300          # samples on the first view of an image model's map
DEFAULT_N_GLYPHS = 150   # ... of a glyph-stack (font) model's: each sample is a whole 62-glyph face
THUMB_PX = 64            # a thumbnail's height is at least this (nearest-neighbour upscaling)
HOVER_PX = 64            # ... and a hover picture's
HOVER_WORD = "Handgloves"   # a font model's hover specimen: the type trade's classic specimen word
MAP_PX = 560             # the map's height, px (its width: the column's)
PICK = "pick"            # the click selection's name in the spec
COLOUR_QUALITY = 80      # WebP quality of a colour model's pictures
SAME_AS_HOVER = "="      # a datum's thumb when it is its hover picture (other models' images): not sent twice


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


@dataclass(frozen=True)
class MapImages:
    """The pictures of a map's samples, one per sample in sample order: PNG bytes (WebP for a colour model)."""
    thumbs: list[bytes]      # drawn on the map: a font model's "Ag" (TILE_WORD), other models' images
    hovers: list[bytes]      # in the hover box: a font model's HOVER_WORD specimen, other models' images


def map_images(eng: Engine, ws: np.ndarray | torch.Tensor, batch: int = 64) -> MapImages:
    """Thumbnails and hover pictures of samples w (N, w_dim) or ws (N, num_ws, w_dim), as `sample_ws`
    returns them (the images the explorer shows for those seeds), each sample rendered once, `batch` at a
    time on the engine. A font model's face: TILE_WORD as the thumbnail and HOVER_WORD as its hover
    specimen, each set in it (explorer/explore/preview.py) on paper of one size; other models' images as
    they are, for both. Thumbnails are upscaled (nearest) to at least THUMB_PX px high, hover pictures
    to at least HOVER_PX."""
    w = torch.as_tensor(np.asarray(ws, dtype=np.float32))
    thumbs, hovers = [], []
    for i in range(0, w.shape[0], batch):                  # glyph sheets never pile up: a batch at a time
        images = eng.render_ws(w[i:i + batch], batch=batch)
        thumbs.append(preview(images, eng, TILE_WORD))
        hovers.append(preview(images, eng, HOVER_WORD))
    return MapImages(_pngs(thumbs, THUMB_PX), _pngs(hovers, HOVER_PX))


def _pngs(tiles: list[np.ndarray], min_px: int) -> list[bytes]:
    """Batches of tiles (n, h, w, C) -> one PNG per tile, all padded with paper (white) to one size."""
    if not tiles:
        return []
    h, wd = max(t.shape[1] for t in tiles), max(t.shape[2] for t in tiles)
    imgs = np.concatenate([np.pad(t, ((0, 0), (0, h - t.shape[1]), (0, wd - t.shape[2]), (0, 0)),
                                  constant_values=255) for t in tiles])
    return [_picture(im, max(1, -(-min_px // im.shape[0]))) for im in imgs]


def _picture(image: np.ndarray, scale: int) -> bytes:
    """An (h, w, C) uint8 picture for the chart: colour as WebP (quality COLOUR_QUALITY: an emoji's 64 px
    picture 6.6 KB as PNG, 1.2 KB as WebP, so 600 of them are ~1 MB of chart instead of ~5), greyscale and
    glyphs as PNG (small already, and sharp)."""
    colour = image.shape[-1] == 3
    return image_bytes(image, scale, "WEBP" if colour else "PNG", COLOUR_QUALITY)


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


def data_uri(picture: bytes) -> str:
    """A data: URI of PNG or WebP bytes (told apart by their signature)."""
    mime = "image/webp" if picture[:4] == b"RIFF" and picture[8:12] == b"WEBP" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(picture).decode("ascii")


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


def map_spec(xy: np.ndarray, seeds: Sequence[int] | np.ndarray, classes: Sequence[int] | np.ndarray | None,
             class_names: Sequence[str], hovers: Sequence[bytes] | None = None, thumbs: Sequence[bytes] | None = None,
             size: int = MAP_PX) -> dict[str, Any]:
    """A Vega-Lite spec (a JSON-able dict, for st.vega_lite_chart) of the projected samples xy (N, 2): a
    plot `size` px high (as wide as the page's column) whose axes span the same distance (in a square
    column, distances read the same either way; the page's column is about square), a dot per
    sample coloured by class (legend below), sample index `i` in each datum; hovering a dot shows "seed N"
    (and its class) above its picture from `hovers` (vega-tooltip draws a datum's `image` field as an
    image; every other value as escaped text); clicking one selects it (the point selection PICK, on
    field `i`: see `selected_index`) and rings it; dragging pans and the wheel zooms. PNG `thumbs` are drawn on the
    map where they do not overlap (`uncluttered`), above the dots; a thumbnail that is its sample's hover
    picture is sent once (SAME_AS_HOVER). Raises ValueError when xy is not (N, 2)."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must be (N, 2), got {xy.shape}")
    n = xy.shape[0]
    names = [class_names[k] if k < len(class_names) else f"class {k}" for k in range(max(
        [int(c) for c in classes] + [-1]) + 1)] if classes is not None else []
    drawn = set(uncluttered(xy, thumb_size(xy))) if thumbs is not None else set()
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"i": i, "x": float(xy[i, 0]), "y": float(xy[i, 1]), "seed": int(seeds[i]),
                               "title": f"seed {int(seeds[i])}"}
        if classes is not None:
            row["class"] = names[int(classes[i])]
            row["title"] += f" · {row['class']}"
        if hovers is not None:
            row["image"] = data_uri(hovers[i])
        row["thumb"] = "" if thumbs is None or i not in drawn else \
            SAME_AS_HOVER if hovers is not None and thumbs[i] == hovers[i] else data_uri(thumbs[i])   # sent once
        rows.append(row)
    span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-6)) * 1.12 if n else 1.0
    centre = (xy.min(0) + xy.max(0)) / 2 if n else np.zeros(2)

    def axis(k: int, field: str) -> dict[str, Any]:
        lo = float(centre[k] - span / 2)
        return {"field": field, "type": "quantitative", "axis": None,
                "scale": {"domain": [lo, lo + span], "zero": False, "nice": False}}
    colour: dict[str, Any] = {"value": PALETTE[0]}
    if classes is not None:
        used = sorted({int(c) for c in classes})
        colour = {"field": "class", "type": "nominal", "sort": None,
                  "scale": {"domain": [names[k] for k in used], "range": [PALETTE[k % len(PALETTE)] for k in used]},
                  "legend": {"orient": "bottom", "title": None, "columns": 4, "labelLimit": 140}}
    tooltip = [{"field": "title", "title": "title"}] + ([{"field": "image", "title": "image"}] if hovers else [])
    picked: dict[str, Any] = {"param": PICK, "empty": False}       # the clicked dot, ringed in the browser
    dots = {"mark": {"type": "circle", "opacity": 0.9, "cursor": "pointer"},
            # the dots' layer first: Streamlit 1.67 fails on a layered chart whose first layer has no params
            "params": [{"name": PICK, "select": {"type": "point", "fields": ["i"], "on": "click"}},
                       {"name": "view", "select": "interval", "bind": "scales"}],
            "encoding": {"x": axis(0, "x"), "y": axis(1, "y"), "color": colour, "tooltip": tooltip,
                         "size": {"value": 30 if thumbs is not None else 60}, "stroke": {"value": "white"},
                         "strokeWidth": {"value": 0.5}}}
    ring = {"mark": {"type": "circle", "filled": False, "size": 500, "stroke": "black", "strokeWidth": 3},
            "transform": [{"filter": picked}],                       # above the thumbnails, which hide dots
            "encoding": {"x": axis(0, "x"), "y": axis(1, "y")}}
    px = max(12, round(thumb_size(xy) / span * size)) if n else 12
    pic = f"datum.thumb == '{SAME_AS_HOVER}' ? datum.image : datum.thumb"
    pictures = {"mark": {"type": "image", "width": px, "height": px, "aspect": True},
                "transform": [{"filter": "datum.thumb != ''"}, {"calculate": pic, "as": "pic"}],
                "encoding": {"x": axis(0, "x"), "y": axis(1, "y"), "url": {"field": "pic"}, "tooltip": tooltip}}
    return {"height": size,       # no $schema: Streamlit's Vega-Lite (v6) warned about a v5 one in the console
            "data": {"values": rows}, "layer": [dots] + ([pictures] if drawn else []) + [ring],
            "config": {"view": {"stroke": "#ddd"}}}


def selected_index(event: Mapping[str, Any] | None) -> int | None:
    """The sample index `i` of the first point selected by PICK in an st.vega_lite_chart selection event
    ({"selection": {PICK: [{"i": 7}, ...]}}), else None."""
    if not event:
        return None
    picked = (event.get("selection") or {}).get(PICK) or []
    if isinstance(picked, Mapping):                 # nothing picked: {} rather than []
        picked = [picked] if "i" in picked else []
    for point in picked:
        i = point.get("i") if isinstance(point, Mapping) else None
        if isinstance(i, (int, float)) and not isinstance(i, bool):
            return int(i)
    return None
