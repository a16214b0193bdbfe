"""The Explore page's gallery panel: 12 consecutive seeds with the current edits; picking one loads it.
Font models can show readable faces only (explorer/explore/glyph_reading.py: the glyph classifier
reads >= 80 % of their glyphs), skipping broken ones.

A panel (see explorer/ui/explore_view.py). The gallery's first seed is kept inside 0..SEED_MAX - 11,
so every offered seed is one the seed box accepts.
"""

from __future__ import annotations

import dataclasses
import random

import streamlit as st

from explorer.explore import glyph_reading as GR
from explorer.explore import recipes
from explorer.explore.engine import Engine
from explorer.explore.latents import SEED_MAX, LatentState
from explorer.explore.preview import is_font, preview
from explorer.imaging.media import data_url
from explorer.ui import state as S
from explorer.ui import sticky
from explorer.ui.explore_font_panel import glyph_reader
from explorer.ui.explore_view import THUMB_PX, View, thumb_png
from explorer.ui.session import session

GALLERY = 12
FIRST_MAX = SEED_MAX - (GALLERY - 1)      # the gallery's last seed is then SEED_MAX at most


@st.cache_data(max_entries=64, show_spinner=False)
def gallery_pngs(model_key: str, seeds: tuple[int, ...], base_json: str, _eng: Engine) -> list[bytes]:
    """PNGs of the gallery's seeds as picking them would show them: the current edits, z nudges, psi
    and class. Shown THUMB_PX wide, like every thumbnail of the app."""
    base = recipes.parse_recipe_json(base_json)[0]
    picks = [dataclasses.replace(base, seed=s) for s in seeds]
    thumbs = preview(_eng.render_states(picks), _eng)   # font models: "Ag" in each face, not a glyph sheet
    return [thumb_png(t) for t in thumbs]


@st.cache_data(max_entries=64, show_spinner="Reading faces…")
def readable_gallery(model_key: str, first_seed: int, base_json: str, _eng: Engine) -> tuple[list[int], int]:
    """(up to GALLERY seeds from first_seed whose face the glyph classifier reads, seeds scanned)."""
    reader = glyph_reader()
    if reader is None:
        return [], 0
    return GR.readable_seeds(_eng, recipes.parse_recipe_json(base_json)[0], first_seed, GALLERY, reader)


def _random_gallery() -> None:
    sticky.put("gal_seed", random.randrange(0, FIRST_MAX + 1))


def _use(state: LatentState) -> None:
    S.request(session(), state)


def gallery_panel(view: View) -> None:
    """A first-seed box, a random button and GALLERY thumbnails, each with a button that loads it."""
    ss, state = st.session_state, view.state
    sticky.restore(["gal_seed", "gal_readable"])
    if int(ss.get("gal_seed", 0)) > FIRST_MAX:
        ss["gal_seed"] = FIRST_MAX
    gcol1, gcol2 = st.columns([2, 1])
    gcol1.number_input("Gallery from seed", 0, FIRST_MAX, step=GALLERY, key="gal_seed")
    gcol2.button("🎲 New", key="gal_random", on_click=_random_gallery)
    sticky.remember(["gal_seed"])
    g0 = S.clamp_seed(int(ss.get("gal_seed", 0)), GALLERY)
    base_json = recipes.recipe_json(dataclasses.replace(state, seed=0))
    seeds = list(range(g0, g0 + GALLERY))
    readable = is_font(view.eng) and glyph_reader() is not None and st.checkbox(
        "Readable faces only", key="gal_readable",
        help=f"Skip seeds whose face the project's glyph classifier reads less than {GR.READABLE:.0%} of "
             "(a young font model draws many broken faces).")
    sticky.remember(["gal_readable"])
    if readable:
        seeds, scanned = readable_gallery(view.eng.key, g0, base_json, view.eng)
        st.caption(f"{len(seeds)} readable faces among seeds {g0}–{g0 + scanned - 1}.")
    thumbs = gallery_pngs(view.eng.key, tuple(seeds), base_json, view.eng) if seeds else []
    if state.edits or state.z_offsets:
        st.caption("Each seed with your current edits; picking one keeps them.")
    gcols = st.columns(4)
    for j, (seed, thumb) in enumerate(zip(seeds, thumbs, strict=True)):
        with gcols[j % 4]:
            st.image(data_url(thumb), width=THUMB_PX)
            st.button(f"{seed}", key=f"use{j}", on_click=_use, args=(dataclasses.replace(state, seed=seed),),
                      help="make this the current image", width="stretch")
