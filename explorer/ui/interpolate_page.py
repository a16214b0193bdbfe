"""Interpolate: a path through two or more keyframes, scrubbed, previewed and exported as GIF/MP4.

Keyframes are LatentStates (a seed, the explorer's current edited image, or an uploaded recipe),
kept in session_state["keyframes"]. Paths blend in z (slerp keeps z on the Gaussian shell) or
in w, with an easing; frames render in batches on the shared engine.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st
import torch

from explorer.explore import recipes
from explorer.explore.latents import LatentState
from explorer.imaging.media import animation_bytes, resize_frames
from explorer.explore.paths import EASINGS, interpolate_path, keyframes_from_states
from explorer.imaging.render import make_grid, png_bytes
from explorer.ui import critic_view as CV
from explorer.ui import handoff, pages
from explorer.ui import state as S
from explorer.ui.engine import MAX_DIRECTIONS

MAX_FRAMES = 240
eng = pages.engine_or_stop()
ss = st.session_state
st.title("Interpolate")



def _save(kfs: list[LatentState]) -> None:
    """This model's keyframes; other models' keyframes stay, for when the sidebar switches back."""
    ss["keyframes"] = [k for k in ss.get("keyframes", []) if k.model != eng.name] + list(kfs)


kfs: list[LatentState] = [k for k in ss.get("keyframes", []) if k.model == eng.name]
if not kfs:                                   # a useful start: the current image and the next seed
    base = ss.get("current") if ss.get("current") is not None and ss["current"].model == eng.name \
        else S.default_state(eng)
    kfs = [base, dataclasses.replace(base, seed=base.seed + 1, edits=(), z_offsets=())]
    _save(kfs)


def _add_seed(kfs: list[LatentState]) -> None:
    """on_click: append the seed box's seed, then move the box on to the next seed."""
    seed = int(ss.get("kf_seed", kfs[-1].seed + 1))
    _save(kfs + [dataclasses.replace(kfs[-1], seed=seed, edits=(), z_offsets=())])
    ss["kf_seed"] = min(seed + 1, 2**31 - 1)


@st.cache_data(max_entries=16, show_spinner="Rendering the path…")
def _frames(model_key: str, recipes_json: tuple[str, ...], frames: int, space: str, method: str,
            easing: str, loop: bool) -> np.ndarray:
    states = [recipes.parse_recipe_json(r)[0] for r in recipes_json]
    kf = []
    for s in states:                          # each keyframe with its own method's directions
        d = eng.directions(s.method) if s.edits else None
        kf += keyframes_from_states(eng.G, [s], d)
    with torch.inference_mode():
        ws = interpolate_path(eng.G, kf, frames=frames, space=space, method=method, easing=easing, loop=loop)
    return eng.render_ws(ws)


@st.cache_data(max_entries=4, show_spinner="Making the preview…", hash_funcs={np.ndarray: lambda a: hash(a.tobytes())})
def _preview(model_key: str, frames: np.ndarray, fps: int) -> bytes:
    return animation_bytes(resize_frames(frames, 192, smooth=False), fps=float(fps), fmt="gif", loop=True)


# ---------------------------------------------------------------- keyframes
st.subheader("Keyframes")
thumbs = eng.render_ws(torch.cat([eng.state_ws(k, eng.directions(k.method) if k.edits else None) for k in kfs]))
cols = st.columns(6)
for i, k in enumerate(kfs):
    with cols[i % len(cols)]:
        st.image(png_bytes(thumbs[i], scale=max(1, 96 // thumbs.shape[1])),
                 caption=f"{i + 1}: seed {k.seed}" + (f", {len(k.edits)} edits" if k.edits else ""),
                 output_format="PNG")
        if len(kfs) > 2 and st.button("Remove", key=f"kf_rm{i}"):
            _save(kfs[:i] + kfs[i + 1:])
            st.rerun()

a1, a2, a3 = st.columns(3)
with a1:
    if st.button("Add the explorer's current image", key="kf_add_current", disabled=ss.get("current") is None):
        _save(kfs + [ss["current"]])
        st.rerun()
with a2:
    st.number_input("Seed", 0, 2**31 - 1, value=kfs[-1].seed + 1, key="kf_seed")
    st.button("Add seed", key="kf_add_seed", on_click=_add_seed, args=(kfs,))
with a3:
    up = st.file_uploader("Add a recipe (.json)", type=["json"], key="kf_recipe")
    if up is not None and st.button("Add recipe", key="kf_add_recipe"):
        other = handoff.other_installed_model(up.getvalue(), eng.name)
        if other is not None:
            st.error(f"This recipe was made with the model {other.name!r}, and a path runs through one model: "
                     f"choose {other.name!r} in the sidebar, then add it there.")
        else:
            try:
                limits = dataclasses.replace(eng.limits(), num_directions=MAX_DIRECTIONS)
                st_, warns = recipes.parse_recipe_json(up.getvalue(), eng.name, eng.meta.get("sha256", ""), limits)
                _save(kfs + [st_])
                ss["_kf_notes"] = warns
                st.rerun()
            except ValueError as e:
                st.error(f"That file is not a usable recipe: {e}")
for n in ss.pop("_kf_notes", []):
    st.warning(n)

# ---------------------------------------------------------------- path settings
st.subheader("Path")
p1, p2, p3, p4, p5 = st.columns(5)
method = p1.radio("Blend", ["slerp", "lerp"], key="ip_method", help="spherical or linear interpolation")
space = p2.radio("Space", ["z", "w"], key="ip_space", help="z: through the mapping network; w: straight in w")
frames = p3.number_input("Frames", 2, MAX_FRAMES, value=48, step=1, key="ip_frames")
easing = p4.selectbox("Easing", list(EASINGS), key="ip_easing", format_func=lambda e: e.replace("_", "-"))
loop = p5.checkbox("Loop back to the first", value=True, key="ip_loop")

key = f"{eng.name}:{eng.meta.get('sha256', '')}"
try:
    frames_arr = _frames(key, tuple(recipes.recipe_json(k) for k in kfs), int(frames), space, method, easing, loop)
except ValueError as e:
    st.error(f"This path cannot be rendered: {e}")
    st.stop()

t = st.slider("Frame", 1, len(frames_arr), 1, key="ip_scrub", help="scrub along the path") - 1
v1, v2 = st.columns([1, 2])
v1.image(png_bytes(frames_arr[t], scale=max(1, 256 // frames_arr.shape[1])), caption=f"frame {t + 1}/{len(frames_arr)}",
         output_format="PNG")
pick = np.linspace(0, len(frames_arr) - 1, min(8, len(frames_arr))).round().astype(int)
v2.image(png_bytes(make_grid(frames_arr[pick], nrow=len(pick), pad=1, fill=255),
                   scale=max(1, 96 // frames_arr.shape[1])), caption="strip preview", output_format="PNG")

if st.toggle("Discriminator's opinion along the path", key="ip_critic_on"):
    scores = CV.score_images(eng, frames_arr, kfs[0].class_index)
    if scores is None:
        st.caption(CV.why_none(eng))
    else:
        st.plotly_chart(CV.path_scores_figure(scores, current=t), key="ip_critic", theme=None)

if st.toggle("Play it", key="ip_play", help="the path as a looping GIF, at the export settings below"):
    st.image(_preview(key, frames_arr, int(ss.get("ip_fps", 12))), output_format="GIF")

# ---------------------------------------------------------------- export
st.subheader("Export")
e1, e2, e3, e4 = st.columns(4)
fmt = e1.radio("Format", ["gif", "mp4"], key="ip_fmt", horizontal=True)
fps = e2.number_input("Frames per second", 1, 60, value=12, key="ip_fps")
size = e3.selectbox("Size (px)", [64, 128, 256, 512], index=2, key="ip_size")
smooth = e4.checkbox("Smooth upscaling", value=False, key="ip_smooth")


def _export() -> bytes:
    return animation_bytes(resize_frames(frames_arr, int(size), smooth=smooth), fps=float(fps), fmt=fmt, loop=loop)


st.download_button(f"Download {fmt.upper()}", data=_export, file_name=f"{eng.name}-path.{fmt}",
                   mime="image/gif" if fmt == "gif" else "video/mp4", key="ip_download", on_click="ignore")
st.caption(f"{len(frames_arr)} frames at {fps} fps = {len(frames_arr) / fps:.1f} s"
           + (", looping" if loop and fmt == "gif" else ""))
