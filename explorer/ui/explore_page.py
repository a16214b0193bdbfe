"""Explore: one generated image, tweaked with sliders.

Seed (number, random, previous/next), truncation psi, class; edit directions (PCA on w,
GANSpace-style, or closed-form SeFa) as top-k sliders in std units, each with a layer range;
raw-z sliders in groups of 16; a -3..+3 strip of one direction, which users can name; a gallery
of seeds. The URL's query parameters always encode the image, so a copied link reproduces it.
"""

from __future__ import annotations

import dataclasses
import random

import streamlit as st
import torch

from explorer.explore import directions as dirs
from explorer.explore import recipes
from explorer.explore.latents import Edit, sweep_ws
from explorer.imaging.render import label_columns, make_grid, png_bytes
from explorer.ui import critic_view as CV
from explorer.ui import pages, sticky
from explorer.ui import state as S
from explorer.ui.engine import MAX_DIRECTIONS

STRIP_AMOUNTS = range(-3, 4)

eng = pages.engine_or_stop()
ss = st.session_state
G, num_ws, nc = eng.G, eng.G.num_ws, eng.G.cfg.num_classes
notes: list[str] = ss.pop("_notes", [])

# ---------------------------------------------------------------- load a pending state before any widget exists
pending = ss.pop("_pending", None)
if pending is None and not ss.get("_qp_done"):
    ss["_qp_done"] = True
    limits = dataclasses.replace(eng.limits(), num_directions=MAX_DIRECTIONS)
    pending, warns = recipes.from_query_params(st.query_params.to_dict(), eng.name, eng.meta.get("sha256", ""), limits)
    if ss.pop("_qp_model_missing", False):        # the sidebar has said so already
        warns = [w for w in warns if not w.startswith("this was made with model")]
    if warns:                                      # one box, however broken the link
        shown = warns if len(warns) <= 8 else warns[:7] + [f"… and {len(warns) - 7} more problems"]
        notes.append("This link could not be shown exactly:\n" + "\n".join(f"- {w}" for w in shown))
cur, fresh = ss.get("current"), S.default_state(eng)
if pending is None and (cur is None or cur.model != eng.name or cur.checkpoint != fresh.checkpoint):
    kept = ss.get("_by_model", {}).get(eng.name)          # back to a model: where this session left it
    pending = kept if kept is not None and kept.checkpoint == fresh.checkpoint \
        else S.default_state(eng, int(ss.get("seed", 0)) if cur is None else cur.seed)   # new model: start clean
elif pending is None and "seed" not in ss:
    pending = cur                                  # back from another page: widgets were dropped
if pending is not None:
    notes += S.write_state(ss, pending, eng)

for key, default in (("k", S.DEFAULT_K), ("strip_dir", 0), ("panel", "Edit directions"), ("method", "pca"),
                     ("psi", 1.0), ("show_critic", False), ("zoff", {}), ("amts", {}), ("ranges", {})):
    ss.setdefault(key, default)
for n in notes:
    st.warning(n)


# ---------------------------------------------------------------- callbacks
def _random_seed() -> None:
    ss["seed"] = random.randrange(0, 2**31 - 1)


def _step_seed(delta: int) -> None:
    ss["seed"] = min(max(int(ss.get("seed", 0)) + delta, 0), 2**31 - 1)


def _reset_all() -> None:
    S.reset_edits(ss)
    ss["zoff"] = {}
    ss["psi"] = 1.0


def _reset_method() -> None:
    S.reset_edits(ss)


def _keep(key: str) -> None:
    """on_change for panel widgets: remember the value while the panel is not drawn."""
    ss["_" + key] = ss[key]


def _restore(key: str, default) -> None:
    ss[key] = ss.get("_" + key, default)


def _reset_z(group: list[int] | None = None) -> None:
    zoff = dict(ss.get("zoff", {}))
    for d in (group if group is not None else list(zoff)):
        zoff.pop(d, None)
    ss["zoff"] = zoff


def _apply_layer_preset() -> None:
    ss["_layer_preset"] = ss["layer_preset"]
    lo, hi = S.preset_range(ss["layer_preset"], num_ws)
    ss["ranges"] = {i: (lo, hi) for i in range(MAX_DIRECTIONS)}


def _save_name(method: str, direction: int, default: str) -> None:
    name = " ".join(str(ss.get("dir_name", "")).split())
    dirs.save_direction_names(eng.meta, method, {direction: name}, G=G)
    ss["dir_name"] = ""
    st.toast(f"Saved the name {name!r}" if name else f"Name cleared: back to {default!r}")


def _random_gallery() -> None:
    ss["gal_seed"] = ss["_gal_seed"] = random.randrange(0, 2**31 - 13)


def _use_seed(seed: int) -> None:
    ss["seed"] = int(seed)
    ss["_full_rerun"] = True


@st.cache_data(max_entries=64, show_spinner=False)
def _gallery(model_key: str, first_seed: int, base_json: str) -> list[bytes]:
    """PNGs of 12 seeds as picking them would show them: the current edits, z nudges, ψ and class."""
    base = recipes.parse_recipe_json(base_json)[0]
    D = eng.directions(base.method) if base.edits else None
    picks = [dataclasses.replace(base, seed=first_seed + j) for j in range(12)]
    thumbs = eng.render_ws(torch.cat([eng.state_ws(p, D) for p in picks]))
    return [png_bytes(t, scale=max(1, 96 // t.shape[0])) for t in thumbs]


def _set(snap: dict, key: str, value) -> None:
    """Point a widget at the state's value, only when it differs: a value set from code is sent to the
    browser again and redrawn there (10 sliders per change cost about 20 ms of latency)."""
    if snap.get(key) != value:
        ss[key] = value


def _strip(snap: dict, state, D, sel: int, ws: torch.Tensor, size: int) -> bytes:
    """PNG of the -3..+3 strip of direction `sel` around the current state, in one batch from its ws.

    Kept per session: moving the strip's own slider leaves the strip as it was, so it is not redrawn.
    """
    lo, hi = S._range(snap.get("ranges", {}).get(sel), num_ws)     # its range, even while its amount is 0
    base = next((e for e in state.edits if e.direction == sel),
                Edit(sel, 0.0, lo, None if hi >= num_ws - 1 else hi + 1))
    others = tuple(e for e in state.edits if e.direction != sel)
    key = (eng.name, eng.meta.get("sha256", ""), dataclasses.replace(state, edits=others),
           sel, base.layer_start, base.layer_end)
    cached = snap.get("_strip")
    if cached is not None and cached[0] == key:
        return cached[1]
    scale = max(1, 96 // size)
    tiles = eng.render_ws(sweep_ws(ws, D, base, STRIP_AMOUNTS)).repeat(scale, axis=1).repeat(scale, axis=2)
    labels = [f"{a:+d}" if a else "0" for a in STRIP_AMOUNTS]
    png = png_bytes(label_columns(make_grid(tiles, nrow=len(labels), pad=2, fill=255), labels, pad=2))
    ss["_strip"] = (key, png)
    return png


# ---------------------------------------------------------------- controls
st.title("Explore")
left, main = st.columns([1.1, 2.9], gap="medium")
with left:
    st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="seed")
    b1, b2, b3 = st.columns(3)
    b1.button("◀", key="prev", on_click=_step_seed, args=(-1,), help="previous seed", width="stretch")
    b2.button("🎲", key="random", on_click=_random_seed, help="random seed", width="stretch")
    b3.button("▶", key="next", on_click=_step_seed, args=(1,), help="next seed", width="stretch")
    st.slider("Truncation ψ", 0.0, 2.0, step=0.05, key="psi",
              help="Pulls w toward the average (of the class): lower is more typical, higher more varied.")
    if nc:
        st.selectbox("Class", list(range(nc)), format_func=lambda i: eng.class_names[i], key="cls")
    st.radio("Edit directions", dirs.METHODS, horizontal=True, key="method", on_change=_reset_method,
             format_func=lambda m: {"pca": "PCA on w (GANSpace)", "sefa": "Closed-form (SeFa)"}[m],
             help="PCA finds the main axes of variation of w over many samples; SeFa factorises the "
                  "generator's first style weights, with no sampling at all.")
    st.number_input("Direction sliders", 1, MAX_DIRECTIONS, step=1, key="k")
    st.button("Reset all edits", key="reset_all", on_click=_reset_all,
              help="Clears every direction edit and z nudge, and sets ψ back to 1")
    st.toggle("Discriminator's opinion", key="show_critic",
              help="How real the model's own discriminator finds this image (models that carry one)")

@st.fragment
def _editor() -> None:
    """Image, strip and slider panels: a slider change reruns only this, not the sidebar and controls."""
    if ss.pop("_full_rerun", False):               # a gallery pick changed the seed, which lives outside
        st.rerun()
    mid, right = st.columns([1.4, 1.5], gap="medium")
    snap = ss.to_dict()                               # one read: every ss.get() copies the whole state
    state = S.read_state(snap, eng)
    method = state.method
    try:
        D = eng.directions(method)
    except Exception as e:  # noqa: BLE001 - a model whose directions cannot be found is still explorable
        st.error(f"Edit directions could not be computed: {e}")
        D = None
        state = S.read_state({**snap, "k": 0}, eng)
    names = dirs.load_direction_names(eng.meta, method, MAX_DIRECTIONS, G=G) if D is not None else []

    img, ms, ws = eng.render_state_ws(state, D)
    scale = max(1, 384 // img.shape[0])
    with mid:
        st.image(png_bytes(img, scale=scale), caption=f"seed {state.seed} · ψ {state.psi:g}"
                 + (f" · {eng.class_names[state.class_index]}" if nc else ""), output_format="PNG")
        st.caption(f"Rendered in {ms:.1f} ms on {eng.device.type}")
        if ss.get("show_critic"):
            score = CV.score_image(eng, img, state.class_index)
            st.caption(CV.describe(eng, score) if score is not None else CV.why_none(eng))
        ss["current"] = state
        ss.setdefault("_by_model", {})[eng.name] = state
        st.query_params.from_dict(recipes.to_query_params(state))

    # ---------------------------------------------------------------- directions
    PANELS = ["Edit directions", "Latent z", "Gallery"]
    with right:
        panel = st.radio("Panel", PANELS, horizontal=True, key="panel", label_visibility="collapsed")
        if panel == PANELS[0] and D is not None:
            st.caption(f"{D.k} {'PCA' if method == 'pca' else 'SeFa'} directions, computed in {D.seconds:.2f} s "
                       f"(cached on disk). Units: standard deviations along each direction."
                       + ("" if num_ws > 1 else " This model feeds one w to every layer, so an edit "
                          "changes all layers (no layer ranges)."))
            per_layer = False
            if num_ws > 1:
                p1, p2 = st.columns([3, 1], vertical_alignment="bottom")
                _restore("layer_preset", "all")
                p1.selectbox("Layer range for all sliders", S.LAYER_PRESETS, key="layer_preset", on_change=_keep,
                             args=("layer_preset",), help="coarse layers shape silhouette, fine layers detail")
                p2.button("Apply", key="apply_preset", on_click=_apply_layer_preset, width="stretch")
                _restore("per_layer", False)
                per_layer = st.toggle("Range per slider", key="per_layer", on_change=_keep, args=("per_layer",))
            lnames = S.layer_names(num_ws)
            amts, ranges = snap.get("amts", {}), snap.get("ranges", {})
            for i in range(min(int(snap.get("k", S.DEFAULT_K)), D.k)):
                _set(snap, f"amt{i}", float(amts.get(i, 0.0)))
                label = f"{names[i]} · {float(D.explained[i]):.1%}"
                if per_layer:
                    a, b = st.columns([3, 2])
                    a.slider(label, -S.AMT_RANGE, S.AMT_RANGE, value=0.0, step=0.1, key=f"amt{i}",
                             on_change=S.sync_amount, args=(ss, i))
                    _set(snap, f"lr{i}", S._range(ranges.get(i), num_ws))
                    b.select_slider("layers", options=list(range(num_ws)), key=f"lr{i}", value=(0, num_ws - 1),
                                    format_func=lambda j: lnames[j], label_visibility="collapsed",
                                    on_change=S.sync_range, args=(ss, i, num_ws))
                else:
                    lo, hi = S._range(ranges.get(i), num_ws)
                    rng = "" if (lo, hi) == (0, num_ws - 1) else f" · layers {lo}–{hi}"
                    st.slider(label + rng, -S.AMT_RANGE, S.AMT_RANGE, value=0.0, step=0.1, key=f"amt{i}",
                              on_change=S.sync_amount, args=(ss, i))

    with mid:
        if D is not None:
            st.markdown("**Direction strip** (−3 … +3)")
            # a new widget when its labels change (rename, method switch), starting on the same direction
            skey = sticky.versioned("strip_dir", method, names[:D.k])
            if skey not in ss:
                ss[skey] = min(int(snap.get("strip_dir", 0)), D.k - 1)
            sel = st.selectbox("Direction", list(range(D.k)), format_func=lambda i: names[i], key=skey,
                               label_visibility="collapsed")          # always drawn: keeps its value
            ss["strip_dir"] = sel
            st.image(_strip(snap, state, D, sel, ws, img.shape[0]), output_format="PNG")
            n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
            n1.text_input("Name this direction", key="dir_name", placeholder=names[sel], max_chars=80)
            default_name = dirs.default_names(method, sel + 1)[sel]
            n2.button("Save", key="save_name", on_click=_save_name, args=(method, sel, default_name),
                      help="Saved with the model's directions; an empty name restores the default",
                      width="stretch")

    # ---------------------------------------------------------------- raw z
    if panel == PANELS[1]:
        with right:
            z_dim = G.cfg.z_dim
            groups = [list(range(i, min(i + S.Z_GROUP, z_dim))) for i in range(0, z_dim, S.Z_GROUP)]
            _restore("zgroup", 0)
            g = st.selectbox("Dimensions", list(range(len(groups))), key="zgroup", on_change=_keep, args=("zgroup",),
                             format_func=lambda j: f"z[{groups[j][0]}…{groups[j][-1]}]")
            nudged = sorted(snap.get("zoff", {}))
            st.caption(f"Sliders show z itself; nudged: {', '.join(map(str, nudged)) if nudged else 'none'}")
            zv = S.z_values(state, z_dim)
            r1, r2 = st.columns(2)
            r1.button("Reset these", key="reset_zgroup", on_click=_reset_z, args=(groups[g],))
            r2.button("Reset all z", key="reset_z", on_click=_reset_z)
            cols = st.columns(2)
            for j, d in enumerate(groups[g]):
                _set(snap, f"z{d}", max(-S.Z_RANGE, min(S.Z_RANGE, round(zv[d], 2))))
                cols[j % 2].slider(f"z[{d}]", -S.Z_RANGE, S.Z_RANGE, step=0.01, key=f"z{d}",
                                   on_change=S.sync_z_slider, args=(ss, d, z_dim))

    # ---------------------------------------------------------------- gallery
    if panel == PANELS[2]:
        with right:
            gcol1, gcol2 = st.columns([2, 1])
            _restore("gal_seed", 0)
            gcol1.number_input("Gallery from seed", 0, 2**31 - 1, step=12, key="gal_seed", on_change=_keep,
                               args=("gal_seed",))
            gcol2.button("🎲 New", key="gal_random", on_click=_random_gallery)
            g0 = int(ss.get("gal_seed", 0))
            seeds = list(range(g0, g0 + 12))
            thumbs = _gallery(f"{eng.name}:{eng.meta.get('sha256', '')}", g0,
                              recipes.recipe_json(dataclasses.replace(state, seed=0)))
            if state.edits or state.z_offsets:
                st.caption("Each seed with your current edits; picking one keeps them.")
            gcols = st.columns(4)
            for j, s_ in enumerate(seeds):
                with gcols[j % 4]:
                    st.image(thumbs[j], output_format="PNG")
                    st.button(f"{s_}", key=f"use{j}", on_click=_use_seed, args=(s_,),
                              help="make this the current image", width="stretch")


with main:
    _editor()
