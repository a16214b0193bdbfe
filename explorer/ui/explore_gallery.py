"""The Explore page's gallery panel: 12 consecutive seeds with the current edits; picking one loads it.

A panel (see explorer/ui/explore_view.py). The gallery's first seed is kept inside 0..SEED_MAX - 11,
so every offered seed is one the seed box accepts.
"""

from __future__ import annotations

import dataclasses
import random

import streamlit as st

from explorer.explore import recipes
from explorer.explore.engine import Engine
from explorer.explore.latents import SEED_MAX, LatentState
from explorer.explore.preview import preview
from explorer.imaging.media import data_url
from explorer.ui import state as S
from explorer.ui import sticky
from explorer.ui.explore_view import THUMB_PX, View, thumb_png
from explorer.ui.session import session

GALLERY = 12
FIRST_MAX = SEED_MAX - (GALLERY - 1)      # the gallery's last seed is then SEED_MAX at most


@st.cache_data(max_entries=64, show_spinner=False)
def gallery_pngs(model_key: str, first_seed: int, base_json: str, _eng: Engine) -> list[bytes]:
    """PNGs of GALLERY seeds as picking them would show them: the current edits, z nudges, psi and class.
    Shown THUMB_PX wide, like every thumbnail of the app."""
    base = recipes.parse_recipe_json(base_json)[0]
    picks = [dataclasses.replace(base, seed=first_seed + j) for j in range(GALLERY)]
    thumbs = preview(_eng.render_states(picks), _eng)   # font models: "Ag" in each face, not a glyph sheet
    return [thumb_png(t) for t in thumbs]


def _random_gallery() -> None:
    sticky.put("gal_seed", random.randrange(0, FIRST_MAX + 1))


def _use(state: LatentState) -> None:
    S.request(session(), state)


def gallery_panel(view: View) -> None:
    """A first-seed box, a random button and GALLERY thumbnails, each with a button that loads it."""
    ss, state = st.session_state, view.state
    sticky.restore(["gal_seed"])
    if int(ss.get("gal_seed", 0)) > FIRST_MAX:
        ss["gal_seed"] = FIRST_MAX
    gcol1, gcol2 = st.columns([2, 1])
    gcol1.number_input("Gallery from seed", 0, FIRST_MAX, step=GALLERY, key="gal_seed")
    gcol2.button("🎲 New", key="gal_random", on_click=_random_gallery)
    sticky.remember(["gal_seed"])
    g0 = S.clamp_seed(int(ss.get("gal_seed", 0)), GALLERY)
    thumbs = gallery_pngs(view.eng.key, g0, recipes.recipe_json(dataclasses.replace(state, seed=0)), view.eng)
    if state.edits or state.z_offsets:
        st.caption("Each seed with your current edits; picking one keeps them.")
    gcols = st.columns(4)
    for j in range(GALLERY):
        with gcols[j % 4]:
            st.image(data_url(thumbs[j]), width=THUMB_PX)
            st.button(f"{g0 + j}", key=f"use{j}", on_click=_use, args=(dataclasses.replace(state, seed=g0 + j),),
                      help="make this the current image", width="stretch")
