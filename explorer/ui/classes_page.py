"""Classes: a conditional GAN made visible. The same seeds (the same noise z) rendered for every class.

Register in explorer/ui/pages.py as
    st.Page("explorer/ui/classes_page.py", title="Classes", icon="🧬")
Widget keys: cl_seed, cl_rows, cl_psi, cl_random, cl_class (class to open), cl_open.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import streamlit as st
import torch

from explorer.explore.engine import Engine
from explorer.imaging.render import make_grid, png_bytes
from explorer.ui import handoff, pages
from explorer.ui import state as S
from explorer.ui.text import md_escape, md_quote

PER_ROW = 10          # class columns per row of the page
SEED_TOP = 2**31 - 64  # the first seed leaves room for 8 rows below SEED_MAX


def _random_seed() -> None:
    st.session_state["cl_seed"] = random.randrange(0, SEED_TOP)


def _open(eng: Engine) -> None:
    """on_click: the first seed as the chosen class, read now (the widgets may have changed with the click)."""
    ss = st.session_state
    handoff.open_in_explorer(dataclasses.replace(S.default_state(eng, int(ss["cl_seed"])),
                                                 class_index=int(ss["cl_class"]), psi=float(ss["cl_psi"])))


@st.cache_data(max_entries=32, show_spinner="Rendering every class…")
def _grid(model_key: str, first_seed: int, rows: int, psi: float, _eng: Engine) -> np.ndarray:
    """(classes, rows, H, W, C) uint8: class k, seed first_seed + r (cached by `model_key`, not the engine)."""
    nc = _eng.G.cfg.num_classes
    base = S.default_state(_eng)
    states = [dataclasses.replace(base, seed=first_seed + r, class_index=k, psi=psi)
              for k in range(nc) for r in range(rows)]
    imgs = _eng.render_ws(torch.cat([_eng.state_ws(s, None) for s in states]))
    return imgs.reshape(nc, rows, *imgs.shape[1:])


def intro(eng: Engine) -> bool:
    """The page's title and what a conditional GAN is; False (with a message) for an unconditional model."""
    st.title("Classes: one seed, every class")
    if not eng.G.cfg.num_classes:
        st.info(f"{md_quote(eng.name)} is unconditional: it takes only the random noise z, no class label, so "
                "there is nothing to vary here. Pick a conditional model in the sidebar (e.g. fashion-mnist) to "
                "see one.")
        return False
    st.markdown("A **conditional** generator takes two inputs: random noise *z* (here made from the seed) and a "
                "**class label**. Each row below keeps *z* fixed and changes only the label; each column is one "
                "class. What stays the same along a row (thickness, pose, brightness, style) is carried by *z*; "
                "what changes is what the label controls. The discriminator was shown the label too, so it "
                "punished images that did not match their class.")
    return True


def controls() -> tuple[int, int, float]:
    """First seed, rows and ψ from their widgets."""
    st.session_state.setdefault("cl_seed", 0)
    a, b, c, d = st.columns([2, 1, 2, 2], vertical_alignment="bottom")
    seed = int(a.number_input("First seed", 0, SEED_TOP, step=1, key="cl_seed"))
    b.button("🎲", key="cl_random", on_click=_random_seed, help="random seed")
    rows = int(c.slider("Seeds (rows)", 1, 8, 3, key="cl_rows"))
    psi = float(d.slider("Truncation ψ", 0.0, 1.5, 1.0, 0.05, key="cl_psi",
                         help="Lower ψ pulls every image toward the centre of its class's latent space (the "
                              "class's average w where the model has a mapping network; z toward 0 otherwise)."))
    return seed, rows, psi


def class_grid(eng: Engine, seed: int, rows: int, psi: float) -> None:
    """One column per class, one row per seed, and a button that opens one in the explorer."""
    nc = eng.G.cfg.num_classes
    grid = _grid(f"{eng.name}:{eng.meta.get('sha256', '')}", seed, rows, psi, eng)
    scale = max(1, 80 // grid.shape[2])
    for start in range(0, nc, PER_ROW):
        cols = st.columns(PER_ROW)
        for j, k in enumerate(range(start, min(start + PER_ROW, nc))):
            with cols[j]:
                st.image(png_bytes(make_grid(grid[k], nrow=1, pad=2, fill=255), scale=scale),
                         caption=md_escape(eng.class_names[k]), output_format="PNG")
    st.caption(f"Rows: seeds {seed}–{seed + rows - 1}; columns: the {nc} classes.")
    o1, o2 = st.columns([2, 1])
    o1.selectbox("Open one in the explorer", list(range(nc)), format_func=lambda i: eng.class_names[i],
                 key="cl_class")
    o2.button(f"Open seed {seed} as this class", key="cl_open", on_click=_open, args=(eng,))


def main() -> None:
    eng = pages.engine_or_stop()
    handoff.follow()
    if intro(eng):
        class_grid(eng, *controls())


if __name__ == "__main__":
    main()
