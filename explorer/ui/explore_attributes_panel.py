"""Explore's Attributes panel: what the directions on screen change, conditional edits, teaching a direction.

A panel (see explorer/ui/explore_view.py). Three parts, each over the library in explorer/explore/:
* **What changes** — a heat map of how much each measured attribute changes per std along each direction
  on screen (entanglement.effect_matrix, cached per model, method and settings), with auto-labels for
  PCA/SeFa ("PC 3: + weight, − width") that can be saved as the directions' names;
* **Conditional edit** — one direction made orthogonal to chosen attribute directions (InterFaceGAN), its
  heat-map row before and after; the choice is stored per slider (state.set_ortho) and travels in links;
* **Teach a direction** — mark a dozen seeds "more" and a dozen "less", name it, teach (taught.teach):
  it joins the attribute directions with its cross-validated accuracy.
Widget keys start with "attr_"; marks live in session_state["attr_marks"] per model.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import numpy as np
import streamlit as st
import torch

from explorer.explore import directions as dirs
from explorer.explore import recipes
from explorer.explore import taught as T
from explorer.explore.direction_cache import save_direction_names
from explorer.explore.engine import Engine
from explorer.explore.entanglement import EFFECT_SEEDS, auto_label, effect_matrix, little_left, orthogonalise
from explorer.explore.latents import LatentState
from explorer.imaging.media import data_url
from explorer.ui import state as S
from explorer.ui import sticky
from explorer.ui.attribute_readout import measurer
from explorer.ui.explore_gallery import FIRST_MAX, GALLERY, gallery_pngs
from explorer.ui.explore_view import THUMB_PX, View, method_short
from explorer.ui.session import session
from explorer.ui.text import md_escape, md_quote

MARKS = ("less", "more")
MARK_COLUMNS = 2           # thumbnails per row when teaching: at 3 (1400 px window) "less"/"more" was clipped
STICKY = ["attr_teach_seed"]


@st.cache_data(show_spinner="Measuring what each direction changes…", max_entries=32)
def _effects(model_key: str, method: str, k: int, orth: tuple, n_dirs: int, _eng: Engine, _D: Any,
             _basis: Any) -> tuple[np.ndarray, list[str], list[str]]:
    """(K, A) effects of the first k directions (conditional ones orthogonalised), attribute names, labels."""
    vecs = []
    for i in range(k):
        o = dict(orth).get(i, ())
        vecs.append(orthogonalise(_D.vectors[i], _basis.vectors[list(o)]) if o and _basis is not None
                    else _D.vectors[i])
    m = measurer(_eng, model_key)
    fx = effect_matrix(_eng.G, torch.stack(vecs), _D.sigma[:k], m, render=_eng.render_ws,
                       scale=_scale(m.keys, _basis))
    return fx.matrix, fx.names, [auto_label(r, fx.names) for r in fx.matrix]


def _scale(keys: list[str], basis: Any) -> np.ndarray | None:
    """Attribute units (within-class std) from the attribute directions' fit, when they measured these keys."""
    if basis is None or basis.settings.get("attributes", [])[:len(keys)] != keys:
        return None
    return np.asarray(basis.settings["scale"][:len(keys)], dtype=np.float64)


def _abbrev(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last one "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


X_TICK_CHARS, Y_TICK_CHARS = 12, 22   # tick labels are cut to these; the hover shows the whole names


def heat_map(matrix: np.ndarray, rows: list[str], cols: list[str], height: int) -> Any:
    """A (rows, cols) heat map readable at panel width: numeric axes labelled with abbreviated names (so
    two names that abbreviate alike stay two cells), x labels at -45°, margins sized to the labels, the
    full names in the hover."""
    import plotly.graph_objects as go
    lim = max(float(np.abs(matrix).max()), 0.05)
    rows, cols = [html.escape(r) for r in rows], [html.escape(c) for c in cols]    # plotly reads some HTML
    full = [[[r, c] for c in cols] for r in rows]
    xt = [html.escape(_abbrev(html.unescape(c), X_TICK_CHARS)) for c in cols]
    yt = [html.escape(_abbrev(html.unescape(r), Y_TICK_CHARS)) for r in rows]
    fig = go.Figure(go.Heatmap(z=matrix, x=list(range(len(cols))), y=list(range(len(rows))), customdata=full,
                               zmin=-lim, zmax=lim, zmid=0, colorscale="RdBu", reversescale=True,
                               colorbar={"title": {"text": "std / std", "side": "right"}, "thickness": 12},
                               hovertemplate="%{customdata[0]}<br>%{customdata[1]}: %{z:+.2f} std per std"
                                             "<extra></extra>"))
    left = 8 + 6 * max((len(t) for t in yt), default=0)
    bottom = 10 + int(4.5 * max((len(t) for t in xt), default=0))
    fig.update_layout(height=height + bottom, margin={"l": left, "r": 10, "t": 10, "b": bottom},
                      yaxis={"autorange": "reversed", "automargin": True, "tickmode": "array",
                             "tickvals": list(range(len(rows))), "ticktext": yt, "tickfont": {"size": 10}},
                      xaxis={"automargin": True, "tickangle": -45, "tickmode": "array",
                             "tickvals": list(range(len(cols))), "ticktext": xt, "tickfont": {"size": 10}})
    return fig


def _save_labels(meta: dict, G: Any, method: str, labels: dict[int, str]) -> None:
    save_direction_names(meta, method, labels, G=G)
    st.session_state["_toast"] = f"Named {len(labels)} direction(s) by what they change"


def label_lines(names: list[str], labels: list[str]) -> str:
    """One line per direction, "name: what it changes"; a name already carrying its label (saved by
    "Name them by what they change") is not labelled twice."""
    return "\n".join(names[i] if lab and names[i].endswith(f": {lab}") else f"{names[i]}: {lab or '(no clear effect)'}"
                     for i, lab in enumerate(labels))


def effects_part(view: View, A: Any) -> None:
    D, method, eng = view.directions, view.state.method, view.eng
    if D is None:
        return
    k = min(int(view.snap.get("k", S.DEFAULT_K)), D.k)
    orth = S.orthos(view.snap, eng.key, method)
    mat, cols, labels = _effects(eng.key, method, k, tuple(sorted(orth.items())), D.k, eng, D, A)
    rows = [f"{n}{' ⟂' if i in orth else ''}" for i, n in enumerate(view.names[:k])]
    st.plotly_chart(heat_map(mat, rows, cols, 200 + 22 * k), key="attr_heat", theme=None)
    st.caption("Change of each measured attribute per std along each direction (in std of the attribute), the "
               f"mean over {EFFECT_SEEDS} seeds: a clean edit has one strong cell in its row; images differ, so a "
               "weak cell can flip for others. ⟂ = made orthogonal to attribute directions.")
    if method != "attr":
        auto = {i: lab for i, lab in enumerate(labels)
                if lab and view.names[i] == dirs.default_names(method, i + 1)[i]}
        st.text(label_lines(view.names, labels))
        st.button("Name them by what they change", key="attr_name_auto", disabled=not auto,
                  on_click=_save_labels, args=(eng.meta, eng.G, method, {i: f"{view.names[i]}: {lab}"
                                                                        for i, lab in auto.items()}),
                  help="Saves these labels as the names of the directions that still have default names")


def _apply_ortho(model_key: str, method: str, i: int) -> None:
    ss = session()
    S.set_ortho(ss, model_key, method, i, ss.get(f"attr_keep_{method}_{i}") or [])


def conditional_part(view: View, A: Any) -> None:
    D, method, eng = view.directions, view.state.method, view.eng
    if D is None:
        return
    k = min(int(view.snap.get("k", S.DEFAULT_K)), D.k)
    i = st.selectbox("Edit", list(range(k)), format_func=lambda j: view.names[j], key="attr_cond_dir")
    followed = follow_part(view, A, i)
    can = S.followable_attributes(eng) if followed else set(range(A.k))
    choices = [j for j in range(A.k) if not (method == "attr" and j == i) and j in can]
    keep_key = f"attr_keep_{method}_{i}"
    current = list(S.orthos(view.snap, eng.key, method).get(i, ()))
    if keep_key not in st.session_state:
        st.session_state[keep_key] = [j for j in current if j in choices]
    else:                                   # following narrows the choices to what it can hold
        st.session_state[keep_key] = [j for j in st.session_state[keep_key] if j in choices]
    st.multiselect("…keeping these attributes unchanged", choices, key=keep_key,
                   format_func=lambda j: A.names[j],
                   help="While the edit follows the image it can hold only attributes the model can follow"
                   if followed else None)
    keep = list(st.session_state[keep_key])
    c1, c2 = st.columns(2)
    c1.button("Apply", key="attr_cond_apply", on_click=_apply_ortho, args=(eng.key, method, i), width="stretch",
              help="Its slider (and strip) now hold these attributes: a followed edit holds them at every step, "
                   "a plain one is made orthogonal to their directions")
    c2.button("Plain edit", key="attr_cond_clear", width="stretch", disabled=not current,
              on_click=S.set_ortho, args=(session(), eng.key, method, i, []))
    if not keep or followed:
        return
    try:
        v = orthogonalise(D.vectors[i], A.vectors[keep])
    except ValueError as e:
        st.warning(str(e))
        return
    m = measurer(eng, eng.key)
    fx = effect_matrix(eng.G, torch.stack([D.vectors[i], v]), D.sigma[[i, i]], m, render=eng.render_ws,
                       scale=_scale(m.keys, A))
    st.plotly_chart(heat_map(fx.matrix, ["before", "after"], fx.names, 240), key="attr_cond_heat", theme=None)
    st.caption(f"{'Applied' if sorted(keep) == sorted(current) else 'Not applied yet'}: "
               f"{md_escape(view.names[i])} made orthogonal to {len(keep)} attribute direction(s).")
    left = little_left(fx.matrix, fx.keys, fx.names,
                       A.settings.get("attributes", [])[i:i + 1] if method == "attr" else [])
    if left is not None:
        st.warning(f"Little is left of this edit once these are held: it changes {md_escape(left[0])} by "
                   f"{left[2]:.2f} per std instead of {left[1]:.2f}. The attributes kept unchanged overlap with it "
                   "in this model (the heat map's rows); keep fewer of them.")



def _toggle_follow(model_key: str, method: str, i: int) -> None:
    ss = session()
    S.set_follow(ss, model_key, method, i, bool(ss.get(f"attr_follow_{i}")))


def follow_part(view: View, A: Any, i: int) -> bool:
    """The "follow the image" switch of attribute direction i (explorer/explore/local_edits.py), when the
    model can follow its attribute; True when its edit follows the image."""
    from explorer.explore.local_edits import followable
    eng, method = view.eng, view.state.method
    if method != "attr":
        return False
    keys = list(A.settings.get("attributes", []))
    if not 0 <= i < len(keys) or keys[i] not in followable(eng.G):
        st.caption(f"{md_escape(view.names[i])} cannot follow the image on this model (no differentiable "
                   f"measure of it); its edit is the fitted direction.")
        return False
    on = i in S.follows(view.snap, eng.key, method)
    st.session_state[f"attr_follow_{i}"] = on
    st.toggle("Follow the image", key=f"attr_follow_{i}", on_change=_toggle_follow, args=(eng.key, method, i),
              help="Re-aim the edit at every step along the model's own gradient of this attribute (held "
                   "attributes below stay put to first order), instead of one fitted direction for every image. "
                   "Slower to draw: a few model passes per step.")
    if on:
        st.caption("↝ This slider follows the image: each quarter-std step is aimed at the current image, so "
                   "it changes its attribute the right way where one fitted direction would not, holding the "
                   "attributes chosen below.")
    return on


def _marks(ss: Any, model_key: str) -> dict[int, tuple[str, LatentState]]:
    return ss.setdefault("attr_marks", {}).setdefault(model_key, {})


def _mark(model_key: str, state: LatentState, key: str) -> None:
    ss = st.session_state
    marks = _marks(ss, model_key)
    if ss.get(key) in MARKS:
        marks[state.seed] = (ss[key], state)
    else:
        marks.pop(state.seed, None)


def _teach(eng: Engine) -> None:
    """on_click of Teach: fit; save it unless its held-out accuracy is near chance, which waits (with a
    warning in the panel) for "Keep it anyway" or "Discard"."""
    ss = st.session_state
    marks = _marks(ss, eng.key)
    ss.pop("attr_pending", None)
    try:
        ws = {side: torch.cat([eng.state_ws(s, eng.directions(s.method) if s.edits else None)
                               for m, s in marks.values() if m == side]) for side in MARKS}
        A = eng.directions("attr")
        name = T.check_name(str(ss.get("attr_teach_name", "")), A.names[:A.k - int(A.settings.get("taught", 0))])
        t = T.teach(eng.G, name, ws["more"], ws["less"],
                    examples={side: [recipes.to_recipe(s) for m, s in marks.values() if m == side] for side in MARKS})
    except (ValueError, RuntimeError) as e:
        ss["_toast"] = f"Could not teach it: {md_escape(e)}"
        return
    if T.is_weak(t.accuracy):
        ss["attr_pending"] = (eng.key, t)
        return
    _keep(eng, t)


def _keep(eng: Engine, t: T.Taught) -> None:
    """Save a taught direction, refresh the attribute directions, clear the marks and their controls."""
    ss = st.session_state
    ss.pop("attr_pending", None)
    try:
        T.save_taught(eng.meta, t, G=eng.G)
    except (ValueError, OSError) as e:
        ss["_toast"] = f"Could not save it: {md_escape(e)}"
        return
    eng.refresh_directions("attr")
    ss["attr_taught"] = (eng.key, t.name)
    try:                                       # its slider is among those shown (the page shows the first k)
        ss["k"] = max(int(ss.get("k", S.DEFAULT_K)), eng.directions("attr").names.index(t.name) + 1)
    except (ValueError, OSError, RuntimeError):
        pass
    _marks(ss, eng.key).clear()
    for key in [k for k in ss if isinstance(k, str) and k.startswith("attr_mark_")]:
        ss[key] = None                        # the controls on screen show no mark either (a callback may set them)
    ss["_toast"] = (f"Taught {md_quote(t.name)} from {t.n_more} + {t.n_less} examples: held-out accuracy "
                    f"{t.accuracy:.0%}")


def _pending(eng: Engine) -> None:
    """A taught direction whose held-out accuracy is near chance: say so, keep it only if asked."""
    pending = st.session_state.get("attr_pending")
    if not pending or pending[0] != eng.key:
        return
    t = pending[1]
    st.warning(f"{md_quote(t.name)} is not saved: its held-out accuracy is {t.accuracy:.0%}, near or below "
               f"chance (50%), so the marked seeds probably do not share one change the model can find and the "
               f"direction is likely noise. Mark more seeds that clearly differ, or keep it anyway.")
    k1, k2 = st.columns(2)
    k1.button("Keep it anyway", key="attr_keep_weak", on_click=_keep, args=(eng, t), width="stretch")
    k2.button("Discard", key="attr_discard_weak", on_click=st.session_state.pop, args=("attr_pending", None),
              width="stretch")


def _edit_with(eng: Engine, state: LatentState, index: int) -> None:
    """Show the attribute directions (the Edit directions panel) with the taught one's slider and strip; the
    attribute edits already made stay (another method's edits stay kept for that method)."""
    ss = session()
    ss["k"] = max(int(ss.get("k", S.DEFAULT_K)), index + 1)
    ss["strip_dir"] = ss["_strip_to"] = index
    ss["panel"] = "Edit directions"
    if state.method != "attr":
        S.request(ss, dataclasses.replace(state, method="attr", edits=()))


def teach_part(view: View, A: Any) -> None:
    eng, ss, state = view.eng, st.session_state, view.state
    sticky.restore(STICKY)
    ss.setdefault("attr_teach_seed", min(int(ss.get("gal_seed", 0)), FIRST_MAX))
    st.number_input("Seeds from", 0, FIRST_MAX, step=GALLERY, key="attr_teach_seed")
    sticky.remember(STICKY)
    g0 = S.clamp_seed(int(ss["attr_teach_seed"]), GALLERY)
    base = dataclasses.replace(state, seed=0, projected="")
    thumbs = gallery_pngs(eng.key, tuple(range(g0, g0 + GALLERY)), recipes.recipe_json(base), eng)
    marks = _marks(ss, eng.key)
    cols = st.columns(MARK_COLUMNS)
    for j in range(GALLERY):
        seed = g0 + j
        key = f"attr_mark_{seed}"
        if key not in ss:
            ss[key] = marks[seed][0] if seed in marks else None
        with cols[j % MARK_COLUMNS]:
            st.image(data_url(thumbs[j]), width=THUMB_PX, caption=str(seed))
            st.segmented_control(f"seed {seed}", MARKS, key=key, label_visibility="collapsed",
                                 on_change=_mark, args=(eng.key, dataclasses.replace(base, seed=seed), key))
    n_more = sum(1 for m, _ in marks.values() if m == "more")
    n_less = len(marks) - n_more
    st.caption(f"Marked: {n_more} more, {n_less} less (at least {T.MIN_EACH} each; a dozen each is better). "
               "Marks are kept when you page through the seeds.")
    n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
    n1.text_input("Name it", key="attr_teach_name", max_chars=T.NAME_MAX, placeholder="e.g. rounder")
    n2.button("Teach", key="attr_teach", on_click=_teach, args=(eng,), width="stretch",
              disabled=min(n_more, n_less) < T.MIN_EACH or not str(ss.get("attr_teach_name", "")).strip())
    _pending(eng)
    done = ss.get("attr_taught")
    if done and done[0] == eng.key and done[1] in A.names:
        index = A.names.index(done[1])
        st.button(f"Edit with {md_escape(done[1], 40)}", key="attr_edit_taught", on_click=_edit_with,
                  args=(eng, state, index), help="Switch to the attribute directions, with its slider and strip")


def attributes_panel(view: View) -> None:
    """The Attributes panel: measured directions' fit, the heat map, conditional edits and teaching."""
    eng = view.eng
    try:
        A = eng.directions("attr")
    except Exception as e:  # noqa: BLE001 - the rest of the page works without them
        st.error(f"Attribute directions could not be computed: {e}")
        return
    n_taught = int(A.settings.get("taught", 0))
    st.caption(f"{A.k - n_taught} attribute directions measured from {A.settings.get('n_samples', '?')} samples "
               f"in {A.seconds:.1f} s (cached){f', {n_taught} taught' if n_taught else ''}. Use them with "
               f"“{'Attributes (measured)'}” under Edit directions; sliders show their held-out fit.")
    tabs = st.tabs(["What changes", "Conditional edit", "Teach a direction"])
    with tabs[0]:
        st.caption(f"The {method_short(view.state.method)} directions on screen.")
        effects_part(view, A)
    with tabs[1]:
        conditional_part(view, A)
    with tabs[2]:
        teach_part(view, A)
