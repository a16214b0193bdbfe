"""Latent map: a few hundred samples' w vectors projected to 2D (PCA or t-SNE), coloured by class.

Register in explorer/ui/pages.py as
    st.Page("explorer/ui/latent_map_page.py", title="Latent map", icon="🗺️")
Thumbnails can be drawn on the map (plotly's hover box cannot show images); clicking a point
previews it beside the map, and "Open in the explorer" loads it on the Explore page. Widget keys:
lm_method, lm_n, lm_seed, lm_psi, lm_thumbs, lm_plot (the chart), lm_pick (sample number), lm_open.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from explorer.imaging.render import png_bytes
from explorer.learn import latent_map as LM
from explorer.ui import handoff, pages, sticky
from explorer.ui import state as S
from explorer.ui.text import md_escape

eng = pages.engine_or_stop()
handoff.follow()
ss = st.session_state
STICKY = ("lm_method", "lm_n", "lm_seed", "lm_psi", "lm_thumbs", "lm_pick")
sticky.restore(STICKY)      # back from another page: the same map
nc = eng.G.cfg.num_classes

st.title("Latent map")
st.caption("Every dot is one generated image, placed by its latent vector w. Images the generator "
           "considers alike sit close together. Click a dot to see it.")


def _open() -> None:
    """on_click: sample lm_pick (seed first + i, class i mod nc) as the widgets say now."""
    i = int(ss["lm_pick"])
    handoff.open_in_explorer(dataclasses.replace(S.default_state(eng, int(ss["lm_seed"]) + i),
                                                 psi=float(ss["lm_psi"]), class_index=(i % nc) if nc else None))


@st.cache_data(max_entries=16, show_spinner="Sampling and projecting…")
def _map(model_key: str, n: int, first_seed: int, psi: float, method: str) -> tuple[np.ndarray, ...]:
    ws, seeds, classes = LM.sample_ws(eng.G, n, first_seed, psi)
    xy = LM.project(ws, method)
    return xy, seeds, (np.zeros(0, np.int64) if classes is None else classes)


@st.cache_data(max_entries=16, show_spinner="Rendering thumbnails…")
def _thumbs(model_key: str, n: int, first_seed: int, psi: float) -> list[bytes]:
    import torch
    base = S.default_state(eng)
    states = [dataclasses.replace(base, seed=first_seed + i, psi=psi, class_index=(i % nc) if nc else None)
              for i in range(n)]
    imgs = eng.render_ws(torch.cat([eng.state_ws(s, None) for s in states]))
    return [png_bytes(im, scale=max(1, 64 // im.shape[0])) for im in imgs]


c1, c2, c3, c4, c5 = st.columns([2, 2, 1, 1, 1])
method = c1.radio("Projection", list(LM.METHODS), format_func=LM.METHODS.get, horizontal=True, key="lm_method",
                  help="PCA: the two directions along which w varies most (a flat shadow of the cloud). t-SNE: "
                       "keeps each point's neighbours close; cluster sizes and the gaps between them mean little.")
n = c2.slider("Samples", 100, 600, 300, step=50, key="lm_n")
first = int(c3.number_input("First seed", 0, 2**31 - 1000, 0, step=1, key="lm_seed"))
psi = float(c4.slider("Truncation ψ", 0.0, 1.5, 1.0, 0.05, key="lm_psi"))
show_thumbs = c5.toggle("Thumbnails", value=True, key="lm_thumbs", help="Draw each image on the map.")

key = f"{eng.name}:{eng.meta.get('sha256', '')}"
try:
    xy, seeds, classes = _map(key, int(n), first, psi, method)
except ValueError as e:
    st.error(f"The map cannot be computed: {e}")
    st.stop()
classes_or_none = classes if nc else None
thumbs = _thumbs(key, int(n), first, psi)

left, right = st.columns([3, 1], gap="medium")
with left:     # the figure does not depend on the pick: a changed figure would reset the chart's zoom
    fig = LM.map_figure(xy, seeds, classes_or_none, eng.class_names, thumbs if show_thumbs else None)
    event = st.plotly_chart(fig, key="lm_plot", on_select="rerun", selection_mode="points", theme=None)

with right:
    chosen = LM.selected_index(event)
    if chosen is not None and chosen != ss.get("_lm_last_sel"):     # a new click: it wins over the number box
        ss["lm_pick"] = chosen
    ss["_lm_last_sel"] = chosen
    ss.setdefault("lm_pick", 0)
    if not 0 <= int(ss["lm_pick"]) < len(seeds):
        ss["lm_pick"] = 0
    i = int(st.number_input("Sample", 0, len(seeds) - 1, step=1, key="lm_pick",
                            help="The point to preview: click one on the map, or type its number."))
    seed, cls = int(seeds[i]), (int(classes[i]) if nc else None)
    img, _ = eng.render_state(dataclasses.replace(S.default_state(eng, seed), psi=psi, class_index=cls), None)
    st.image(png_bytes(img, scale=max(1, 192 // img.shape[0])), output_format="PNG",
             caption=f"sample {i}: seed {seed}" + (f" · {md_escape(eng.class_names[cls])}" if nc else ""))
    st.button("Open in the explorer", key="lm_open", type="primary", width="stretch", on_click=_open)
    st.caption(f"{len(seeds)} samples, seeds {int(seeds[0])}–{int(seeds[-1])}"
               + (f", classes in turn ({nc})" if nc else "") + f". {LM.METHODS[method]} of w "
               f"({eng.G.cfg.w_dim} numbers per image).")
    if nc:
        st.caption("Colours are the class each image was asked for. If the classes form separate islands, the "
                   "generator has learned to give each class its own region of w.")
sticky.remember(STICKY)
