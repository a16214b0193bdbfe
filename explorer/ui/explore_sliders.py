"""The Explore page's slider panels: edit directions (with layer ranges) and raw z.

Each is a panel (see explorer/ui/explore_view.py): `panel(view)` draws in the current column and
writes back through explorer/ui/state.py's callbacks. Direction edits and layer ranges belong to
the shown method; the other method's edits are kept (state.switch_method) and named here as
kept-but-not-applied, so the sliders always show what the image has.
"""

from __future__ import annotations

import streamlit as st

from explorer.ui import state as S
from explorer.ui import sticky
from explorer.ui.attribute_readout import measured_change
from explorer.ui.explore_view import METHOD_NAMES, View, method_short, set_widget
from explorer.ui.session import session
from explorer.ui.text import md_escape

PANEL_KEYS = ("layer_preset", "per_layer", "zgroup")     # panel widgets kept while their panel is hidden
NARROW_RANGE = 3.0      # default slider range, std: where most images stay plausible; the "±10 σ" switch: S.AMT_RANGE


def slider_label(view: View, i: int) -> str:
    """A slider's label: its name, how good it is (share of variance for PCA/SeFa; held-out R² or accuracy for
    attribute and taught directions), ⟂ when its edit is made orthogonal to attribute directions, and
    "↝ follows the image" (holding n attributes) for a followed attribute edit."""
    D = view.directions
    assert D is not None
    x = float(D.explained[i])
    if view.state.method == "attr":
        metric = (D.settings.get("metric") or [])[i:i + 1] or ["r2"]
        quality = "fit n/a" if x != x else f"R² {x:.2f}" if metric[0] == "r2" else f"accuracy {x:.0%}"
    else:
        quality = f"{x:.1%}"
    ortho, followed = S.edit_flags(view.snap, view.eng, view.state.method, i)
    return (f"{md_escape(view.names[i])} · {quality}" + (" · ↝ follows the image" if followed else "")
            + (f" · {'holds' if followed else '⟂'} {len(ortho)}" if ortho else ""))


def directions_panel(view: View) -> None:
    """One slider per direction (amount in std units), a layer preset for all, optionally a range per slider."""
    D, ss, snap = view.directions, session(), view.snap
    if D is None:
        return
    num_ws = view.eng.G.num_ws
    st.caption(f"{D.k} {method_short(view.state.method)} directions, computed in {D.seconds:.2f} s "
               f"(cached on disk). Units: standard deviations along each direction."
               + ("" if num_ws > 1 else " This model feeds one w to every layer, so an edit "
                  "changes all layers (no layer ranges)."))
    kept = S.kept_edits(snap, view.eng.key)
    if kept:
        st.info(" ".join(f"Your {n} {method_short(m)} edit{'s' if n > 1 else ''} {'are' if n > 1 else 'is'} kept "
                         f"but not applied: switch back to “{METHOD_NAMES.get(m, m)}” to apply "
                         f"{'them' if n > 1 else 'it'}." for m, n in kept.items()))
    per_layer = False
    if num_ws > 1:
        sticky.restore(PANEL_KEYS)
        ss.setdefault("layer_preset", "all")
        st.selectbox("Layer range for all sliders", S.LAYER_PRESETS, key="layer_preset", on_change=S.apply_preset,
                     args=(ss, num_ws), help="Sets every slider's layers now: coarse layers shape the "
                     "silhouette, fine layers the detail.")
        per_layer = st.toggle("Range per slider", key="per_layer")
        sticky.remember(PANEL_KEYS)
    if view.state.method == "attr":
        follow_all_toggle(view)
        said = measured_change(view)
        if said:
            st.caption(md_escape(said))
    amts, ranges = snap.get("amts", {}), snap.get("ranges", {})
    sticky.restore(["wide_range"])
    wide = st.toggle(f"±{S.AMT_RANGE:g} σ", key="wide_range",      # short: "Wider range (±10 σ)" was cut at 900 px
                     help=f"Wider range: sliders go to ±{NARROW_RANGE:g} σ, where most images stay plausible; this "
                          f"lets them go to ±{S.AMT_RANGE:g} σ, where they often break down.")
    sticky.remember(["wide_range"])
    beyond = any(abs(float(a)) > NARROW_RANGE for a in amts.values())
    if beyond and not wide:
        st.caption(f"Some amounts lie beyond ±{NARROW_RANGE:g} σ, so the sliders show the wider range.")
    top = S.AMT_RANGE if wide or beyond else NARROW_RANGE
    lnames = S.layer_names(num_ws)
    for i in range(min(int(snap.get("k", S.DEFAULT_K)), D.k)):
        set_widget(snap, f"amt{i}", float(amts.get(i, 0.0)))
        label = slider_label(view, i)
        if per_layer:
            a, b = st.columns([3, 2])
            a.slider(label, -top, top, value=0.0, step=0.1, key=f"amt{i}",
                     on_change=S.sync_amount, args=(ss, i))
            set_widget(snap, f"lr{i}", S.layer_range(ranges.get(i), num_ws))
            b.select_slider("layers", options=list(range(num_ws)), key=f"lr{i}", value=(0, num_ws - 1),
                            format_func=lambda j: lnames[j], label_visibility="collapsed",
                            on_change=S.sync_range, args=(ss, i, num_ws))
        else:
            lo, hi = S.layer_range(ranges.get(i), num_ws)
            rng = "" if (lo, hi) == (0, num_ws - 1) else f" · layers {lo}–{hi}"
            st.slider(label + rng, -top, top, value=0.0, step=0.1, key=f"amt{i}",
                      on_change=S.sync_amount, args=(ss, i))


def _follow_all(model_key: str, indices: list[int]) -> None:
    ss = session()
    for i in indices:
        S.set_follow(ss, model_key, "attr", i, bool(ss.get("follow_all")))


def follow_all_toggle(view: View) -> None:
    """One switch for every attribute slider the model can follow (explorer/explore/local_edits.py); the
    Attributes panel sets them one by one."""
    from explorer.explore.local_edits import followable
    D = view.directions
    assert D is not None
    can = set(followable(view.eng.G))
    keys = list(D.settings.get("attributes", []))
    indices = [i for i, k in enumerate(keys) if k in can]
    if not indices:
        return
    on = S.follows(view.snap, view.eng.key, "attr") & set(indices)
    session()["follow_all"] = bool(on)          # on while any follows: a slider marked ↝ under an "off" switch
    mixed = 0 < len(on) < len(indices)          # read as a contradiction (a recipe, or the Attributes panel)
    st.toggle("Follow the image (↝)" + (f": {len(on)} of {len(indices)}" if mixed else ""), key="follow_all",
              on_change=_follow_all, args=(view.eng.key, indices),
              help="The sliders of " + ", ".join(md_escape(D.names[i]) for i in indices) + " re-aim their edit "
                   "along the model's own gradient every quarter σ, holding what the Attributes panel says, "
                   "instead of one fitted direction for every image: truer edits, a few model passes per step. "
                   "Off turns every one off; on, every one on (the Attributes panel sets them one by one).")


def _reset_z(group: list[int] | None = None) -> None:
    ss = st.session_state
    zoff = dict(ss.get("zoff", {}))
    for d in (group if group is not None else list(zoff)):
        zoff.pop(d, None)
    ss["zoff"] = zoff


def z_panel(view: View) -> None:
    """Sliders for z itself, 16 dimensions at a time; moving one stores a nudge of that dimension. A projected
    image has no z (it was found in w or w+), so the panel says so instead of showing sliders that move nothing."""
    ss, snap = session(), view.snap
    if view.state.projected:
        st.info("Your image was projected into w, so it has no z for these sliders to move: edit it with the "
                "directions (Edit directions, Attributes), or pick a seed to nudge its z.")
        return
    z_dim = view.eng.G.cfg.z_dim
    groups = [list(range(i, min(i + S.Z_GROUP, z_dim))) for i in range(0, z_dim, S.Z_GROUP)]
    sticky.restore(PANEL_KEYS)
    if int(ss.get("zgroup", 0)) >= len(groups):
        ss["zgroup"] = 0
    g = st.selectbox("Dimensions", list(range(len(groups))), key="zgroup",
                     format_func=lambda j: f"z[{groups[j][0]}…{groups[j][-1]}]")
    sticky.remember(PANEL_KEYS)
    nudged = sorted(snap.get("zoff", {}))
    st.caption(f"Sliders show z itself; nudged: {', '.join(map(str, nudged)) if nudged else 'none'}")
    zv = S.z_values(view.state, z_dim)
    r1, r2 = st.columns(2)
    r1.button("Reset these", key="reset_zgroup", on_click=_reset_z, args=(groups[g],))
    r2.button("Reset all z", key="reset_z", on_click=_reset_z)
    cols = st.columns(2)
    for j, d in enumerate(groups[g]):
        set_widget(snap, f"z{d}", max(-S.Z_RANGE, min(S.Z_RANGE, round(zv[d], 2))))
        cols[j % 2].slider(f"z[{d}]", -S.Z_RANGE, S.Z_RANGE, step=0.01, key=f"z{d}",
                           on_change=S.sync_z_slider, args=(ss, d, z_dim))
