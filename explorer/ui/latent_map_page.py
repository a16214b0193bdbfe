"""Latent map: a few hundred samples' w vectors projected to 2D (PCA or t-SNE), coloured by class.

Hovering a point shows its picture (a font model's face: a specimen word set in it); thumbnails can be
drawn on the map; clicking a point previews it beside the map, and "Open" loads it on
the Explore page. What the class colours can show is said per model (learn.latent_map.class_note).
For font models every point is a typeface: its thumbnail is "Ag" set in it, its hover picture
"Handgloves", its preview a specimen above its glyph sheet (rendered for the picked point only); a font
model maps 150 faces at first, other models 300 samples (learn.latent_map.default_n). Widget keys: lm_method,
lm_n, lm_seed, lm_psi, lm_thumbs, lm_plot (the chart; lm_plot-N once a Sample was typed), lm_pick (sample
number), lm_open.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer.explore.engine import Engine
from explorer.imaging.media import data_url
from explorer.imaging.render import png_bytes
from explorer.learn import latent_map as LM
from explorer.ui import handoff, pages, sticky
from explorer.ui import state as S
from explorer.ui.explore_font_panel import shown_image
from explorer.ui.text import md_escape

STICKY = ("lm_method", "lm_n", "lm_seed", "lm_psi", "lm_thumbs", "lm_pick")
N_MAX = 600
SHORT = {"pca": "PCA", "tsne": "t-SNE"}          # the radio's labels (LM.METHODS, longer, in its help and captions)
FIRST_MAX = S.clamp_seed(2**31, N_MAX)          # the last sample's seed stays a valid seed


@dataclass(frozen=True)
class MapSettings:
    method: str
    n: int
    first: int
    psi: float
    thumbs: bool


def _sample(eng: Engine, settings: MapSettings, i: int):
    nc = eng.G.cfg.num_classes
    return dataclasses.replace(S.default_state(eng, settings.first + i), psi=settings.psi,
                               class_index=(i % nc) if nc else None)


def _typed() -> None:
    """on_change of the Sample box: a new chart (its ring and selection cleared, its zoom too), so a click on
    the point picked before the typing is a new selection again; the same chart would send no event."""
    ss = st.session_state
    ss["_lm_chart"] = int(ss.get("_lm_chart", 0)) + 1
    ss["_lm_last_sel"] = None


def _open(eng: Engine, settings: MapSettings) -> None:
    """on_click: sample lm_pick as the widgets say now."""
    handoff.open_in_explorer(_sample(eng, settings, int(st.session_state["lm_pick"])))


@st.cache_data(max_entries=16, show_spinner="Sampling…")
def _sample_ws(model_key: str, n: int, first_seed: int, psi: float, _eng: Engine) -> tuple[np.ndarray, ...]:
    ws, seeds, classes = LM.sample_ws(_eng.G, n, first_seed, psi)
    return ws, seeds, (np.zeros(0, np.int64) if classes is None else classes)


@st.cache_data(max_entries=16, show_spinner="Projecting…")
def _project(model_key: str, n: int, first_seed: int, psi: float, method: str, _ws: np.ndarray) -> np.ndarray:
    return LM.project(_ws, method)


@st.cache_data(max_entries=16, show_spinner="Rendering the samples…")
def _images(model_key: str, n: int, first_seed: int, psi: float, _ws: np.ndarray, _eng: Engine) -> LM.MapImages:
    return LM.map_images(_eng, _ws)          # font models: "Ag" and "Handgloves" in each face


def controls(default_n: int = LM.DEFAULT_N) -> MapSettings:
    row = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")   # wraps in a narrow window,
    with row:                                                                        # never squeezes a label
        method = st.radio("Projection", list(LM.METHODS), format_func=SHORT.__getitem__, horizontal=True,
                          key="lm_method", width="content",
                          help="PCA (linear): the two directions along which w varies most (a flat shadow of the "
                               "cloud). t-SNE (neighbourhoods): keeps each point's neighbours close; cluster sizes "
                               "and the gaps between them mean little.")
        n = st.slider("Samples", 100, N_MAX, default_n, step=50, key="lm_n", width=170,
                      help="A font model maps fewer faces at first: each is a whole alphabet to render.")
        first = int(st.number_input("First seed", 0, FIRST_MAX, 0, step=1, key="lm_seed", width=120))
        psi = float(st.slider("Truncation ψ", 0.0, 1.5, 1.0, 0.05, key="lm_psi", width=140,
                              help="Pulls every sample's w toward the average w: below 1 the cloud shrinks toward "
                                   "typical images, above 1 it spreads out."))
        thumbs = st.toggle("Images", value=True, key="lm_thumbs", width="content",
                           help="Draw images on the map (thumbnails), each only where it hides no other; the other "
                                "points stay dots: hover one to see it, click it to preview it beside the map.")
    return MapSettings(str(method), int(n), first, psi, bool(thumbs))


def room_for_thumbs(spec: dict) -> dict:
    """`spec` (LM.map_spec's) with room at the plot's edges for half a thumbnail: the x and y scales padded by
    that many pixels (Vega-Lite's continuous-scale `padding`, applied in the browser, so it holds at any column
    width). The spec's margin is a share of the data's span, and its thumbnails' size follows the plot's
    height: in a narrow column (900 px wide window, sidebar open) the thumbnails of the leftmost points were
    cut by the plot's left edge. Panning or zooming sets the domain itself, with no padding."""
    px = max([float(layer["mark"].get("width", 0)) for layer in spec["layer"] if layer["mark"].get("type") == "image"],
             default=0.0)
    if px:
        for layer in spec["layer"]:
            for channel in ("x", "y"):
                scale = layer.get("encoding", {}).get(channel, {}).get("scale")
                if scale is not None:
                    scale["padding"] = px / 2 + 2
    return spec


def preview(eng: Engine, settings: MapSettings, event, seeds: np.ndarray, classes: np.ndarray) -> None:
    """The picked sample (a click or the number box), and the button that opens it in the explorer."""
    ss, nc = st.session_state, eng.G.cfg.num_classes
    chosen = LM.selected_index(event)
    if chosen is not None and chosen != ss.get("_lm_last_sel"):     # a new click: it wins over the number box
        ss["lm_pick"] = chosen
    ss["_lm_last_sel"] = chosen
    ss.setdefault("lm_pick", 0)
    if not 0 <= int(ss["lm_pick"]) < len(seeds):
        ss["lm_pick"] = 0
    i = int(st.number_input("Sample", 0, len(seeds) - 1, step=1, key="lm_pick", on_change=_typed,
                            help="The point to preview: click one on the map, or type its number."))
    img = shown_image(eng, eng.render_state(_sample(eng, settings, i), None)[0])   # fonts: specimen + sheet
    cls = int(classes[i]) if nc else None
    label = f"sample {i}: seed {int(seeds[i])}" + (f" · {md_escape(eng.class_names[cls])}" if cls is not None else "")
    st.image(data_url(png_bytes(img, scale=max(1, 192 // img.shape[0]))), caption=label)
    st.button("Open", key="lm_open", type="primary", width="stretch", on_click=_open,   # "Open in t…" at 900 px
              help="Open this sample in the explorer",
              args=(eng, settings))
    st.caption(f"{len(seeds)} samples, seeds {int(seeds[0])}–{int(seeds[-1])}"
               + (f", classes in turn ({nc})" if nc else "") + f". {LM.METHODS[settings.method]} of w "
               f"({eng.G.cfg.w_dim} numbers per image).")
    if nc:
        st.caption(LM.class_note(eng.G))


def main() -> None:
    eng = pages.engine_or_stop()
    handoff.follow()
    sticky.restore(STICKY)      # back from another page: the same map
    ss = st.session_state
    if ss.get("_lm_model") not in (None, eng.key):  # another model: its own first sample count (fonts: fewer)
        ss["lm_n"] = LM.default_n(eng.G)
        ss.pop("lm_pick", None)
    ss["_lm_model"] = eng.key
    st.title("Latent map")
    st.caption("Every dot is one generated image, placed by its latent vector w. Points close in w tend to "
               "look alike; the 2D map keeps only part of those distances, so neighbours here may be far "
               "apart in w. Hover a dot to see it, click it to preview it beside the map; drag to pan, "
               "scroll to zoom.")
    settings = controls(LM.default_n(eng.G))
    ws, seeds, classes = _sample_ws(eng.key, settings.n, settings.first, settings.psi, eng)
    try:
        xy = _project(eng.key, settings.n, settings.first, settings.psi, settings.method, ws)
    except ValueError as e:
        st.error(f"The map cannot be computed: {md_escape(e)}")
        return
    pics = _images(eng.key, settings.n, settings.first, settings.psi, ws, eng)
    left, right = st.columns([3, 1], gap="medium")
    with left:     # the chart does not depend on the pick: a changed chart would reset its zoom
        spec = room_for_thumbs(LM.map_spec(xy, seeds, classes if eng.G.cfg.num_classes else None, eng.class_names,
                                           pics.hovers, pics.thumbs if settings.thumbs else None))
        gen = int(st.session_state.get("_lm_chart", 0))
        event = st.vega_lite_chart(spec, key="lm_plot" if gen == 0 else f"lm_plot-{gen}", on_select="rerun",
                                   selection_mode=[LM.PICK], theme=None, width="stretch")
    with right:
        preview(eng, settings, event, seeds, classes)
    sticky.remember(STICKY)


if __name__ == "__main__":
    main()
