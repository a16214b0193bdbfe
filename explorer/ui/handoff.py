"""Open a LatentState on the Explore page from another page, keeping the sidebar's model.

`st.switch_page` drops every widget value, the sidebar's model picker included, so the Explore page
would open the first model instead of the one the state belongs to. The button's on_click callback
re-sets "model" (allowed in a callback) and raises a flag; `follow()`, called near the top of the
page, does the switch on that run (st.switch_page cannot run inside a callback: the page list is
not known yet).

    st.button("Open in the explorer", key="x_open", on_click=handoff.open_in_explorer, args=(state,))
    handoff.follow()        # before the page draws much

A recipe made with another model that is installed here opens with that model (the sidebar
switches), like a link's `?m=`; `recipe_for_upload` parses it against the right model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from explorer.explore import recipes
from explorer.explore import taught_refs as TR
from explorer.explore.latents import LatentState
from explorer.imaging.render import is_glyph_stack
from explorer.ui import font_link, pages, sticky
from explorer.ui import state as S
from explorer.ui.session import session
from explorer.ui.state_checks import checked

EXPLORE = "explorer/ui/explore_page.py"
_FLAG = "_handoff_explore"


def open_in_explorer(state: LatentState, model_label: str | None = None, exact: bool = False) -> None:
    """on_click callback: ask the Explore page to load `state`, and go there on this rerun (see follow).
    `model_label` (the sidebar's label of another model) switches the model too; `exact` (a recipe): the
    page shows only the state's edits (state.load_exactly), none kept aside from before."""
    ss = session()
    S.request(ss, state, exact)
    if model_label is not None:
        sticky.put("model", model_label)
    elif "model" in ss:
        sticky.put("model", ss["model"])   # a value set by code survives the page switch; a widget's does not
    ss[_FLAG] = True


def recipe_model(data: Any) -> str | None:
    """The model a recipe names (its file's bytes or text, or the parsed JSON), if it names one; never raises."""
    if isinstance(data, (bytes, str)):
        try:
            data = recipes.load_recipe(data)
        except ValueError:
            return None
    name = data.get("model") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def other_installed_model(data: Any, current: str) -> pages.ModelInfo | None:
    """The installed model a recipe (as `recipe_model` takes it) was made with, when that is not `current`."""
    name = recipe_model(data)
    if not name or name == current:
        return None
    return next((m for m in pages.models() if m.name == name), None)


@dataclasses.dataclass(frozen=True)
class Upload:
    """An uploaded recipe, read once: what it shows and what is said of it."""
    state: LatentState
    warnings: list[str]              # plain text
    switch: str | None               # the sidebar label of the model it opens with, when not the current one
    view: dict[str, str]             # a font recipe's specimen text and size (recipes.recipe_view)


def recipe_for_upload(data: bytes | str, eng: Any, install: bool = True) -> Upload:
    """An uploaded recipe, parsed once, against the model it was made with when that model is installed (else
    `eng`'s), its taught directions matched by name (`recipe_taught`). `install=False`: a look before opening;
    taught directions this server lacks are named, not added (nor their edits matched). Raises ValueError if
    it is not one."""
    from explorer.ui.engine import get_engine
    d = recipes.load_recipe(data)
    other = other_installed_model(d, eng.name)
    switch = None
    if other is not None:
        try:
            eng = get_engine(str(other.path), str(other.meta.get("sha256", "")))
            switch = pages.label(other)
        except (OSError, ValueError):        # cannot load it: show the recipe with the current model
            pass
    # directions are checked against the recipe's own method when the state is shown (state_checks), after its
    # taught directions are matched by name: a bound here would name another method's count, or drop an edit
    # whose taught direction has another index on this server
    limits = dataclasses.replace(eng.limits(), num_directions=None)
    state, warns = recipes.from_recipe(d, eng.name, eng.meta.get("sha256", ""), limits)
    state, more = recipe_taught(d, state, eng, install)
    warns = warns + more + recipes.view_problems(d)
    view = recipes.recipe_view(d)
    if not install:                          # the look says now what the explorer will say on opening
        warns += checked(state, eng)[1]
        if view and is_glyph_stack(eng.G.cfg.channels):
            warns += font_link.apply_view_params(view, {})          # read into a throwaway session
    return Upload(state, warns, switch, view)


def recipe_taught(d: Any, state: LatentState, eng: Any, install: bool = True) -> tuple[LatentState, list[str]]:
    """`state` (from the parsed recipe `d`) with its taught directions matched to this server's by name
    (explorer/explore/taught_refs.py); a taught direction the recipe carries and this model lacks is taught
    here first (with `install=False` only named: the state comes back as parsed). Returns the state and notes
    (plain text) on what was added or left out."""
    raw = d.get("taught") if isinstance(d, dict) else None
    if raw is None:
        return state, []
    try:
        A = eng.directions("attr")
    except Exception as e:  # noqa: BLE001 - the state still shows; its taught edits cannot be matched
        return state, [f"the recipe's taught directions could not be matched: {e}"]
    refs, warns = TR.from_recipe_field(raw, int(A.vectors.shape[1]))
    refs, added, more = TR.install(eng.meta, eng.G, refs, A, dry=not install)
    if not install:
        return state, warns + more + [f"the recipe's taught direction {n!r} is not on this server: opening the "
                                      "recipe adds it to this model's taught directions" for n in added]
    if added:
        eng.refresh_directions("attr")
        A = eng.directions("attr")
        warns += [f"the recipe's taught direction {n!r} was added to this model's taught directions" for n in added]
    state, left_out = TR.resolve(state, refs, A.names, TR.n_measured(A))
    return state, warns + more + left_out


def link_taught(qp: dict, state: LatentState, eng: Any) -> tuple[LatentState, list[str]]:
    """`state` (from a link's query `qp`) with the taught directions its `tn` names matched to this server's
    (taught_refs.resolve: an edit of one this server lacks is left out, never moved to another); notes."""
    refs, warns = TR.from_link_param(qp.get(TR.LINK_KEY))
    if not refs:
        return state, warns
    try:
        A = eng.directions("attr")
    except Exception as e:  # noqa: BLE001
        return state, [*warns, f"the link's taught directions could not be matched: {e}"]
    state, more = TR.resolve(state, refs, A.names, TR.n_measured(A))
    return state, warns + more


def follow() -> None:
    """Switch to the Explore page if a button asked for it, with the state's link as the new page's URL
    (written by the Explore page after the switch instead, it could lose a race with the page change)."""
    ss = st.session_state
    if ss.pop(_FLAG, False):
        cur = ss.get("current")
        st.switch_page(EXPLORE, query_params=recipes.to_query_params(cur) if cur is not None else None)
