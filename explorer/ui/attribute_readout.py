"""What attribute edits measurably did to the image in view, said under the Edit directions panel's sliders.

`measured_change(view)` measures the image against the same state without its edits (one render and two
measurements, once per state) and says each edited attribute's change, and any other attribute that moved
by ALSO_MOVED or more, in units of the attribute's spread over the model's faces (the directions' "scale").
A followed edit that holds other attributes can move its own little on an entangled model (fonts: slant,
holding weight and width, moved 0.42 of its spread at +3 where the fitted line moved 2.58;
docs/fonts-design.md): this makes the trade visible. `measurer(eng, key)` is the model's attribute measurer,
shared with the Attributes panel.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import streamlit as st

from explorer.explore import recipes
from explorer.explore.attributes import measurer_for
from explorer.explore.engine import Engine
from explorer.explore.latents import LatentState
from explorer.imaging.render import is_glyph_stack
from explorer.ui.explore_view import View

ALSO_MOVED = 0.25          # another attribute's change (its spread over the model's faces) worth naming


@st.cache_resource(show_spinner=False, max_entries=8)
def measurer(_eng: Engine, model_key: str) -> Any:
    """The model's attribute measurer (explorer.explore.attributes.measurer_for), built once per model and server."""
    return measurer_for(_eng.G, _eng.meta)


@st.cache_data(show_spinner=False, max_entries=64)
def _change(model_key: str, recipe: str, _eng: Engine, _state: LatentState, _img: np.ndarray) -> np.ndarray:
    """(A,) measured attributes of a state's image `_img` minus those of the same state without its edits; once
    per state (`recipe` is its key), not on every rerun."""
    base = _eng.render_state(dataclasses.replace(_state, edits=()), None)[0]
    vals = measurer(_eng, model_key).measure(np.stack([_img, base]))
    return vals[0] - vals[1]


def measured_change(view: View) -> str | None:
    """Attribute directions with edits: what the edits did to this image, measured, as text: each edited
    attribute's change (the image against the same state without its edits), and any other attribute that
    moved by ALSO_MOVED or more, in units of the attribute's spread over the model's images (faces, for a
    font model: the directions' "scale"). None when there is nothing to say. A followed edit that holds other attributes
    can move its own little on an entangled model (fonts: slant, held weight and width); this says so."""
    D, state = view.directions, view.state
    edited = sorted({e.direction for e in state.edits if e.amount})
    keys = list((D.settings.get("attributes") if D is not None else None) or [])
    scale = np.asarray((D.settings.get("scale") if D is not None else None) or [], dtype=np.float64)
    edited = [i for i in edited if i < min(len(keys), len(scale))]     # measured ones (taught ones have no scale)
    if state.method != "attr" or not edited or D is None:
        return None
    change = _change(view.eng.key, recipes.recipe_json(state), view.eng, state, view.img) / np.where(
        scale > 0, scale, np.nan)
    names = D.names

    def said(j: int) -> str:
        return f"{names[j]} {change[j]:+.2f} σ"
    parts = [said(j) for j in edited if np.isfinite(change[j])]
    also = [said(j) for j in np.argsort(-np.nan_to_num(np.abs(change)))
            if j not in edited and j < len(scale) and np.isfinite(change[j]) and abs(change[j]) >= ALSO_MOVED]
    if not parts:
        return None
    what = "faces" if is_glyph_stack(view.eng.G.cfg.channels) else "images"
    return (f"Measured on this image, against it without the edits (σ: the spread over the model's {what}): "
            + " · ".join(parts) + (f"; also moved: {' · '.join(also[:3])}" if also else "") + ".")
