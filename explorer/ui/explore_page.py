"""Explore: one generated image, tweaked with sliders. `main()` composes the page from panels.

Seed (number, random, previous/next), truncation psi, class; edit directions (PCA on w,
GANSpace-style, or closed-form SeFa) as top-k sliders in std units, each with a layer range;
raw-z sliders in groups of 16; a -3..+3 strip of one direction, which users can name; a gallery
of seeds; undo/redo. The URL's query parameters always encode the image, so a copied link
reproduces it, and each change adds a browser-history entry: Back and Forward step through them.

Panels are functions `panel(view)` (explorer/ui/explore_view.py); `right_panels()` lists the ones
a user picks between on the right. To add one, write it in its own module and add one entry there.
"""

from __future__ import annotations

import dataclasses
import random

import streamlit as st

from explorer.explore import directions as dirs
from explorer.explore import recipes
from explorer.explore import taught_refs as TR
from explorer.explore.engine import MAX_DIRECTIONS, Engine
from explorer.explore.latents import SEED_MAX, Limits
from explorer.ui import font_link, handoff, pages
from explorer.ui import state as S
from explorer.ui.explore_attributes_panel import attributes_panel
from explorer.ui.explore_font_panel import font_panel, is_font_model, specimen_panel
from explorer.ui.explore_gallery import gallery_panel
from explorer.ui.explore_invert_panel import invert_panel
from explorer.ui.explore_sliders import directions_panel, z_panel
from explorer.ui.explore_view import Panel, View, image_panel, link_view, make_view, method_name, strip_panel
from explorer.ui.session import session
from explorer.ui.text import md_escape, problems_box


def right_panels(eng: Engine | None = None) -> dict[str, Panel]:
    """The panels a user picks between beside the image, in order: {radio label: panel}; font models
    (glyph stacks) add the Font panel."""
    panels: dict[str, Panel] = {"Edit directions": directions_panel, "Latent z": z_panel, "Gallery": gallery_panel,
                                "Your image": invert_panel, "Attributes": attributes_panel}
    if eng is not None and is_font_model(eng):
        panels["Font"] = font_panel
    return panels


def load_state(eng: Engine) -> list[str]:
    """Before any widget: load a requested state, a link (first run, or Back/Forward to another URL),
    or this model's last state. Returns notes to show."""
    ss = session()
    notes: list[str] = ss.pop("_notes", [])
    pending = ss.pop("_pending", None)
    exact = bool(ss.pop("_pending_exact", False)) and pending is not None
    ss.pop("_full_rerun", None)
    qp = st.query_params.to_dict()
    # Back/Forward (or an edited URL) brings a query this session did not write last
    navigated = bool(qp) and ss.get("_qp_done") and qp != ss.get("_url") and qp.get("m", eng.name) == eng.name
    link_warns: list[str] | None = None
    if pending is None and (not ss.get("_qp_done") or navigated):
        ss["_qp_done"] = True
        pending, warns = recipes.from_query_params(qp, eng.name, eng.meta.get("sha256", ""), _link_limits(eng, qp))
        exact = pending is not None                    # a link shows its state and nothing kept from before
        if pending is not None:                        # taught directions by name, not by index
            pending, more = handoff.link_taught(qp, pending, eng)
            warns = [*warns, *more]
        if is_font_model(eng):                         # the specimen's text and size travel with the link
            warns = [*warns, *font_link.apply_view_params(qp)]
        if ss.pop("_qp_model_missing", False):        # the sidebar has said so already
            warns = [w for w in warns if not w.startswith("this was made with model")]
        link_warns = warns
    cur, fresh = ss.get("current"), S.default_state(eng)
    if pending is None and (cur is None or cur.model != eng.name or cur.checkpoint != fresh.checkpoint):
        kept = ss.get("_by_model", {}).get(eng.name)          # back to a model: where this session left it
        pending = kept if kept is not None and kept.checkpoint == fresh.checkpoint \
            else S.default_state(eng, int(ss.get("seed", 0)) if cur is None else cur.seed)   # new model: start clean
    elif pending is None and "seed" not in ss:
        pending = cur                                  # back from another page: widgets were dropped
    problems: list[str] = ss.pop("_problems", [])    # plain text (a recipe's), unlike the Markdown notes
    if pending is not None:
        if exact:
            S.load_exactly(ss, eng.key)
        problems += S.write_state(ss, pending, eng)      # plain text too: they may quote taught names
    if link_warns is not None:
        link_warns += problems
        problems = []
    if link_warns:                                     # one box, however broken the link
        notes.append(problems_box("This link could not be shown exactly:", link_warns))
    elif len(problems) == 1:
        notes.append(md_escape(problems[0]))
    elif problems:                                     # a recipe's problems and what it could not show: one box
        notes.append(problems_box("Not everything could be shown exactly:", problems))
    S.default_follows(ss, eng)
    for key, default in (("k", S.DEFAULT_K), ("panel", "Edit directions"), ("method", "pca"),
                         ("psi", 1.0), ("show_critic", False), ("zoff", {}), ("amts", {}), ("ranges", {})):
        ss.setdefault(key, default)
    ss.setdefault("_edits_of", (eng.key, ss["method"]))
    return notes


def _link_limits(eng: Engine, qp: dict) -> Limits:
    """What a link is checked against: attribute-direction links against the model's attribute directions
    (fewer than the 32 PCA / SeFa ones), others against what the model allows."""
    if qp.get("d") != "attr":
        return eng.limits()
    try:
        D = eng.directions("attr")
    except Exception:  # noqa: BLE001 - checked again, with a note, when the state is shown
        return eng.limits()
    if qp.get(TR.LINK_KEY):          # taught directions by name: their indices are matched first (handoff.link_taught),
        return eng.limits()          # then checked against this model's count when the state is shown
    return dataclasses.replace(eng.limits(D), num_attributes=D.k)


def _random_seed() -> None:
    st.session_state["seed"] = random.randrange(0, SEED_MAX + 1)


def _step_seed(delta: int) -> None:
    ss = st.session_state
    ss["seed"] = S.clamp_seed(int(ss.get("seed", 0)) + delta)


def _leave_projection() -> None:
    """on_click of "Show seed N instead": the seed box's seed replaces the projected latent."""
    st.session_state["projected"] = ""


def _seed_box() -> None:
    """The seed box, which says so when the image is not that seed but a projected latent (the Your image
    panel). Choosing a seed (box, buttons, gallery, "Show seed N instead") leaves the projection for good."""
    ss = session()
    seed = int(ss.get("seed", 0))
    if ss.get("projected") and ss.get("_projected_seed") != seed:
        ss["projected"] = ""                    # another seed was chosen: coming back to it shows the seed
    st.number_input("Seed", min_value=0, max_value=SEED_MAX, step=1, key="seed")
    if S.projected_of(ss, seed):
        st.caption(f"The image is your projected image (its latent comes from the projection), not seed {seed}.")
        st.button(f"Show seed {seed} instead", key="leave_projection", on_click=_leave_projection,
                  width="stretch")


def _reset_all(model_key: str) -> None:
    ss = session()
    S.reset_all_edits(ss, model_key)
    ss["zoff"] = {}
    ss["psi"] = 1.0


def controls(eng: Engine) -> None:
    """Seed, psi, class, method, number of sliders, reset, critic: changes here rerun the whole page."""
    ss, nc = session(), eng.G.cfg.num_classes
    _seed_box()
    # borderless (tertiary) buttons: bordered ones (34 + 34 + 43 px and two gaps) did not fit the 105 px column at
    # 900 px with the sidebar open, and 🎲 wrapped under ◀ ▶; a fixed narrower width cuts a label to "…"
    with st.container(horizontal=True, gap="small", key="seed_steps"):     # wraps, never clips
        st.button("◀", key="prev", on_click=_step_seed, args=(-1,), help="previous seed", type="tertiary")
        st.button("▶", key="next", on_click=_step_seed, args=(1,), help="next seed", type="tertiary")
        st.button("🎲", key="random", on_click=_random_seed, help="random seed", type="tertiary")
    st.slider("Truncation ψ", 0.0, 2.0, step=0.05, key="psi",
              help="Pulls w toward the average (of the class): lower is more typical, higher more varied.")
    if nc:
        st.selectbox("Class", list(range(nc)), format_func=lambda i: eng.class_names[i], key="cls")
    st.radio("Edit directions", dirs.METHODS, horizontal=True, key="method", format_func=method_name,
             on_change=S.switch_method, args=(ss, eng.key, eng.G.num_ws),
             help="PCA (GANSpace) finds the main axes of variation of w over many samples; SeFa takes the "
                  "top eigenvectors of AᵀA, A the generator's style-layer weights (all layers), with no "
                  "sampling at all; Attributes are named directions "
                  "fitted to measured image attributes (and the ones you taught). Each keeps its own edits.")
    st.number_input("Direction sliders", 1, MAX_DIRECTIONS, step=1, key="k")
    # short labels: at 900 px with the sidebar open "Reset edits and ψ" and "Discriminator's opinion" were cut
    st.button("Reset", key="reset_all", on_click=_reset_all, args=(eng.key,),
              help="Reset edits and ψ: clears every direction edit (of every method, the ones kept aside too) and "
                   "z nudge, and sets ψ back to 1")
    st.toggle("Realness", key="show_critic")     # no help icon: it left room for "Real…" only; the caption says


def publish(view: View) -> None:
    """Remember the shown state (session, per model, undo history) and put it in the URL."""
    ss, state = session(), view.state
    ss["current"] = state
    ss.setdefault("_by_model", {})[view.eng.name] = state
    S.record(ss, view.eng.key, state)
    ss["_url"] = {**recipes.to_query_params(state), **link_view(view.eng, state)}
    st.query_params.from_dict(ss["_url"])


@st.fragment
def editor(eng: Engine) -> None:
    """Image, strip and the right-hand panels: a slider change reruns only this, not the controls."""
    ss = st.session_state
    if ss.get("_full_rerun"):                # a panel asked for a state the controls must show too
        st.rerun()
    if "_toast" in ss:
        st.toast(ss.pop("_toast"))
    view = make_view(eng, ss.to_dict())      # one read: every ss.get() copies the whole state
    publish(view)
    mid, right = st.columns([1.4, 1.5], gap="medium")
    panels = right_panels(eng)
    with right:
        if ss.get("panel") not in panels:
            ss["panel"] = next(iter(panels))
        chosen = st.radio("Panel", list(panels), horizontal=True, key="panel", label_visibility="collapsed")
        panels[chosen](view)
    with mid:
        specimen_panel(view)                 # font models: the typed text above the glyph sheet
        image_panel(view)
        strip_panel(view)


def main() -> None:
    eng = pages.engine_or_stop()
    notes = load_state(eng)
    for n in notes:
        st.warning(n)
    st.title("Explore")
    left, right = st.columns([1.1, 2.9], gap="medium")
    with left:
        controls(eng)
    with right:
        editor(eng)


if __name__ == "__main__":
    main()
