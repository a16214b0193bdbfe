"""What every Explore panel gets (`View`), and the panels around the image: the image, undo/redo, the strip.

A panel is a function `panel(view: View) -> None` that draws widgets inside the column it is called
in. It reads the engine, the shown `LatentState`, the shown method's directions and their names from
the view, and writes state back only through explorer/ui/state.py: `S.request(st.session_state,
new_state)` from an on_click/on_change callback (the page loads it on the next run, a full run even
from a fragment's widget), or the dicts that state.py's sync_* callbacks keep.

    view = make_view(eng, st.session_state.to_dict())
    image_panel(view); strip_panel(view)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
import torch

from explorer.explore import directions as dirs
from explorer.explore import recipes
from explorer.explore import taught_refs as TR
from explorer.explore.direction_cache import load_direction_names, save_direction_names
from explorer.explore.engine import MAX_DIRECTIONS, Engine
from explorer.explore.latents import Edit, LatentState, follow_sweep_ws, sweep_ws
from explorer.explore.preview import TILE_WORD, is_font, preview
from explorer.imaging.media import data_url
from explorer.imaging.render import label_columns, make_grid, png_bytes
from explorer.ui import critic_view as CV
from explorer.ui import font_link, sticky
from explorer.ui import state as S
from explorer.ui.session import session
from explorer.ui.text import md_escape, md_quote

STRIP_AMOUNTS = range(-3, 4)
THUMB_PX = 64          # every thumbnail (gallery, keyframes) is shown this many CSS pixels wide


def thumb_png(img: np.ndarray) -> bytes:
    """A thumbnail PNG: integer upscaling to at least 2 x THUMB_PX (sharp on high-density screens)."""
    return png_bytes(img, scale=max(1, -(-2 * THUMB_PX // img.shape[0])))
METHOD_NAMES = {"pca": "PCA on w (GANSpace)", "sefa": "Closed-form (SeFa)", "attr": "Attributes (measured)"}
METHOD_SHORT = {"pca": "PCA", "sefa": "SeFa", "attr": "attribute"}
STRIP_MARK = (255, 120, 0)      # the frame around the strip tile nearest the current amount
STRIP_FONT_PX = 48              # font models: each strip tile is TILE_WORD set this many px high


def method_name(method: str) -> str:
    """The radio label of a direction method (its own name when it has no label here)."""
    return METHOD_NAMES.get(method, method)


def method_short(method: str) -> str:
    return METHOD_SHORT.get(method, method)


@dataclass(frozen=True)
class View:
    """One run of the Explore editor: everything a panel needs to draw itself."""
    eng: Engine
    state: LatentState                    # what the image shows (edits of state.method only)
    directions: dirs.Directions | None    # state.method's directions; None when they cannot be computed
    names: list[str]                      # display names of the directions (user names where saved)
    ws: torch.Tensor                      # (1, num_ws, w_dim): the state's per-layer latents
    img: np.ndarray                       # (H, W, C) uint8: the image shown
    ms: float                             # milliseconds the render took
    snap: Mapping[str, Any]               # session_state as it was at the start of this run (read-only)


Panel = Callable[[View], None]
LABELS = {"pca": "PCA (GANSpace)", "sefa": "SeFa", "attr": "attribute"}


def make_view(eng: Engine, snap: Mapping[str, Any]) -> View:
    """Read the state from the session snapshot, find its directions, render it."""
    state = S.read_state(snap, eng)
    try:
        with st.spinner(f"Finding the model's {LABELS.get(state.method, state.method)} directions "
                        "(once per model; cached after)…"):
            D: dirs.Directions | None = eng.directions(state.method)
    except Exception as e:  # noqa: BLE001 - a model whose directions cannot be found is still explorable
        st.error(f"Edit directions could not be computed: {e}")
        D, state = None, dataclasses.replace(state, edits=())
    names = load_direction_names(eng.meta, state.method, MAX_DIRECTIONS, G=eng.G,
                                      defaults=D.names if state.method == "attr" else None) if D is not None else []
    img, ms, ws = eng.render_state_ws(state, D)
    return View(eng, state, D, names, ws, img, ms, snap)


def set_widget(snap: Mapping[str, Any], key: str, value: Any) -> None:
    """Point a widget at the state's value, only when it differs: a value set from code is sent to the
    browser again and redrawn there (10 sliders per change cost about 20 ms of latency)."""
    if snap.get(key) != value:
        st.session_state[key] = value


def caption(eng: Engine, state: LatentState) -> str:
    """The whole state in words: seed (or "your image" for a projected latent), class, psi, edits, z nudges."""
    parts = ["your image (projected)" if state.projected else f"seed {state.seed}"]
    if state.class_index is not None and eng.G.cfg.num_classes:
        parts.append(eng.class_names[state.class_index])
    if not state.projected:
        parts.append(f"ψ {state.psi:g}")
    if state.edits:
        parts.append(f"{len(state.edits)} {method_short(state.method)} edit"
                     + ("s" if len(state.edits) > 1 else ""))
    if state.z_offsets and not state.projected:             # a projected latent has no z: nudges wait for a seed
        parts.append(f"{len(state.z_offsets)} z nudge" + ("s" if len(state.z_offsets) > 1 else ""))
    return " · ".join(parts)


def link(state: LatentState, view: Mapping[str, str] | None = None) -> str:
    """An absolute link to this exact image on the Explore page (`view`: recipes.VIEW_KEYS parameters,
    e.g. a font model's specimen text and size)."""
    from urllib.parse import urlencode
    base = str(getattr(st.context, "url", "") or "").split("?")[0].rstrip("/")
    page = base.rsplit("/", 1)[-1]
    if page in ("export", "interpolate", "latent-map", "classes", "quiz", "models", "train", "playground"):
        base = base.rsplit("/", 1)[0]
    return f"{base}/?{urlencode({**recipes.to_query_params(state), **(view or {})})}"


def taught_refs_for(eng: Engine, state: LatentState) -> list[TR.TaughtRef]:
    """The taught directions `state`'s edits use (recipes carry them whole, links by name); [] when it uses
    none (the attribute directions are not computed just to find out)."""
    if not state.edits or (state.method != "attr" and not any(e.ortho for e in state.edits)):
        return []
    try:
        return TR.refs_of(state, eng.directions("attr"))
    except Exception:  # noqa: BLE001 - the image shows whatever went wrong with the directions
        return []


def link_view(eng: Engine, state: LatentState) -> dict[str, str]:
    """A link's parameters beyond the state itself: a font model's specimen text and size, and the names
    of the taught directions the edits use (so another server moves the same ones, or says it cannot)."""
    return {**(font_link.view_params() if is_font(eng) else {}), **TR.link_param(taught_refs_for(eng, state))}


def image_panel(view: View) -> None:
    """The image, its caption, render time, the critic's opinion when asked, undo/redo and a copy-link box."""
    eng, state, ss = view.eng, view.state, session()
    row = st.container(horizontal=True, gap="small")
    row.button("Undo", icon=":material/undo:", key="undo", on_click=S.step_history, args=(ss, eng.key, -1),
               disabled=not S.can_undo(ss, eng.key), help="back to the previous image")
    row.button("Redo", icon=":material/redo:", key="redo", on_click=S.step_history, args=(ss, eng.key, 1),
               disabled=not S.can_redo(ss, eng.key), help="forward again after an undo")
    with row.popover("Link", icon=":material/link:", help="a link to this exact image, with a copy button"):
        st.caption("A link to this exact image: the button at the right of the box copies it.")
        st.code(link(state, link_view(eng, state)), language=None, wrap_lines=True)
    scale = max(1, 384 // view.img.shape[0])
    st.image(data_url(png_bytes(view.img, scale=scale)), caption=md_escape(caption(eng, state)))   # inline: no 404
    st.caption(f"Rendered in {view.ms:.1f} ms on {eng.device.type}")
    if view.snap.get("show_critic"):
        score = CV.score_image(eng, view.img, state.class_index)
        st.caption(CV.describe(eng, score) if score is not None else CV.why_none(eng))


def _strip_png(view: View, sel: int) -> bytes:
    """PNG of the -3..+3 strip of direction `sel` around the current state, in one batch from its ws; the
    tile nearest the current amount is framed and labelled with the exact amount.

    The tiles are kept per session: moving the strip's own slider only moves the mark, no render.
    """
    eng, state, D, num_ws = view.eng, view.state, view.directions, view.eng.G.num_ws
    assert D is not None
    lo, hi = S.layer_range(view.snap.get("ranges", {}).get(sel), num_ws)   # its range, even while its amount is 0
    ortho, follow = S.edit_flags(view.snap, eng, state.method, sel)
    base = next((e for e in state.edits if e.direction == sel),
                Edit(sel, 0.0, lo, None if hi >= num_ws - 1 else hi + 1, ortho, follow))
    others = tuple(e for e in state.edits if e.direction != sel)
    without = dataclasses.replace(state, edits=others)
    key = (eng.key, without, sel, base.layer_start, base.layer_end, base.ortho, base.follow)
    cached = view.snap.get("_strip")
    if cached is not None and cached[0] == key:
        tiles = cached[1]
    elif base.follow:                     # a path from the image without this edit, re-aimed at every step
        tiles = eng.render_ws(follow_sweep_ws(eng.G, eng.state_ws(without, D), D, base, STRIP_AMOUNTS))
    else:
        basis = eng.basis_for(dataclasses.replace(state, edits=(base,)), D)
        tiles = eng.render_ws(sweep_ws(view.ws, D, base, STRIP_AMOUNTS, basis))
    if cached is None or cached[0] != key:
        if is_font(eng):                 # a word in each face: 7 whole glyph sheets in a row are unreadable
            tiles = preview(tiles, eng, TILE_WORD, height=STRIP_FONT_PX)
        else:
            scale = max(1, 96 // view.img.shape[0])
            tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
        st.session_state["_strip"] = (key, tiles)
    return png_bytes(marked_strip(tiles, base.amount))


def marked_strip(tiles: np.ndarray, amount: float) -> np.ndarray:
    """The strip's tiles (len(STRIP_AMOUNTS), h, w, C) uint8 in a row, (H, W, 3) uint8 with the amounts
    labelled below: the tile nearest `amount` (std) framed in STRIP_MARK and labelled "[+1.4]"."""
    amounts = list(STRIP_AMOUNTS)
    at = min(range(len(amounts)), key=lambda j: abs(amounts[j] - amount))
    labels = [f"{a:+d}" if a else "0" for a in amounts]
    labels[at] = f"[{amount:+.1f}]" if amount else "[0]"
    grid = make_grid(tiles, nrow=len(labels), pad=2, fill=255)
    if grid.shape[-1] == 1:
        grid = grid.repeat(3, axis=-1)
    x0 = at * (tiles.shape[2] + 2)
    for rows, cols in ((slice(0, 2), slice(x0, x0 + tiles.shape[2] + 4)),
                       (slice(tiles.shape[1] + 2, tiles.shape[1] + 4), slice(x0, x0 + tiles.shape[2] + 4)),
                       (slice(0, tiles.shape[1] + 4), slice(x0, x0 + 2)),
                       (slice(0, tiles.shape[1] + 4), slice(x0 + tiles.shape[2] + 2, x0 + tiles.shape[2] + 4))):
        grid[rows, cols] = STRIP_MARK
    return label_columns(grid, labels, pad=2)


def _save_name(meta: dict, G: Any, method: str, direction: int, default: str) -> None:
    """on_click of Save: store the typed name; the fragment shows the toast (a callback must not draw)."""
    ss = st.session_state
    name = " ".join(str(ss.get("dir_name", "")).split())
    save_direction_names(meta, method, {direction: name}, G=G)
    ss["dir_name"] = ""
    ss["_toast"] = f"Saved the name {md_quote(name)}" if name else f"Name cleared: back to {md_quote(default)}"


def strip_panel(view: View) -> None:
    """The -3..+3 strip of one direction, and a box to name that direction."""
    D, ss, method = view.directions, st.session_state, view.state.method
    if D is None:
        return
    st.markdown("**Direction strip** (−3 … +3; the framed tile is the current amount)")
    # a new widget when its labels change (rename, method switch), starting on the same direction
    names = view.names[:D.k]
    skey = sticky.versioned("strip_dir", method, names)
    asked = ss.pop("_strip_to", None)                          # a button asked for this direction's strip
    if skey not in ss or (asked is not None and 0 <= int(asked) < D.k):
        ss[skey] = min(int(asked if asked is not None else view.snap.get("strip_dir", 0)), D.k - 1)
    sel = st.selectbox("Direction", list(range(D.k)), format_func=lambda i: names[i], key=skey,
                       label_visibility="collapsed")          # always drawn: keeps its value
    ss["strip_dir"] = sel
    st.image(data_url(_strip_png(view, sel)))
    # a wrapping row: as columns [3, 1], the Save button was squashed to an empty box at 900 px (a tester's)
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    row.text_input("Name this direction", key="dir_name", placeholder=names[sel], max_chars=80, width=220)
    default_name = dirs.default_names(method, sel + 1)[sel]
    row.button("Save", key="save_name", on_click=_save_name,
               args=(view.eng.meta, view.eng.G, method, sel, default_name),
               help="Saved with the model's directions; an empty name restores the default")
