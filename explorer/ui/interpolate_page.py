"""Interpolate: a path through two or more keyframes, scrubbed, previewed and exported as GIF/MP4.

Keyframes are LatentStates (a seed, the explorer's current edited image, or an uploaded recipe),
kept per model in session_state["keyframes"]. Paths blend in z (slerp keeps z on the Gaussian
shell) or in w, with an easing; frames render in batches on the shared engine. For a model
without a learned mapping (w is z plus a class code) z and w are the same space, so the page
blends in z and says why. Whether the path returns to its first keyframe and whether the GIF
repeats are separate choices. For font models the frames are a word (typed, default a test word)
set in each typeface along the path: a word morphing between typefaces; keyframe thumbnails show "Ag"
in their face, and an export's size is its height (explorer/explore/preview.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from explorer.explore import recipes
from explorer.explore.engine import Engine
from explorer.explore.latents import SEED_MAX, LatentState, w_is_z
from explorer.explore.paths import EASINGS, interpolate_path, keyframes_from_states
from explorer.explore.preview import TILE_WORD, export_size, is_font, preview
from explorer.imaging.media import animation_bytes, data_url, resize_frames
from explorer.imaging.render import make_grid, png_bytes
from explorer.ui import critic_view as CV
from explorer.ui import handoff, pages
from explorer.ui import state as S
from explorer.ui.explore_font_panel import morph_frames
from explorer.ui.explore_view import THUMB_PX, thumb_png
from explorer.ui.text import md_escape, md_quote

MAX_FRAMES = 240


@dataclass(frozen=True)
class PathSettings:
    method: str          # "slerp" | "lerp"
    space: str           # "z" | "w"
    frames: int
    easing: str
    closed: bool         # the path returns to its first keyframe


def neighbour_seed(seed: int) -> int:
    """The next seed, or the previous one at SEED_MAX: always a seed the seed boxes accept."""
    return seed + 1 if seed < SEED_MAX else seed - 1


def _save(eng: Engine, kfs: list[LatentState]) -> None:
    """This model's keyframes; other models' keyframes stay, for when the sidebar switches back."""
    ss = st.session_state
    ss["keyframes"] = [k for k in ss.get("keyframes", []) if k.model != eng.name] + list(kfs)


def keyframes(eng: Engine) -> list[LatentState]:
    """This model's keyframes; a useful start when there are none: the current image and the next seed."""
    ss = st.session_state
    kfs: list[LatentState] = [k for k in ss.get("keyframes", []) if k.model == eng.name]
    if not kfs:
        cur = ss.get("current")
        base = cur if cur is not None and cur.model == eng.name else S.default_state(eng)
        kfs = [base, dataclasses.replace(base, seed=neighbour_seed(base.seed), edits=(), z_offsets=(), projected="")]
        _save(eng, kfs)
    return kfs


def _add_seed(eng: Engine, kfs: list[LatentState]) -> None:
    """on_click: append the seed box's seed, then move the box on to the next seed."""
    ss = st.session_state
    seed = S.clamp_seed(int(ss.get("kf_seed", neighbour_seed(kfs[-1].seed))))
    _save(eng, kfs + [dataclasses.replace(kfs[-1], seed=seed, edits=(), z_offsets=(), projected="")])
    ss["kf_seed"] = neighbour_seed(seed)


def _remove(eng: Engine, kfs: list[LatentState], i: int) -> None:
    _save(eng, kfs[:i] + kfs[i + 1:])


def _add_current(eng: Engine, kfs: list[LatentState]) -> None:
    _save(eng, kfs + [st.session_state["current"]])


def keyframes_panel(eng: Engine, kfs: list[LatentState]) -> None:
    """Thumbnails (remove buttons once there are more than two), add the current image, a seed or a recipe."""
    ss = st.session_state
    st.subheader("Keyframes")
    thumbs = preview(eng.render_states(kfs), eng, TILE_WORD)     # fonts: "Ag" in each face, not a whole sheet
    cols = st.columns(6)
    for i, k in enumerate(kfs):
        with cols[i % len(cols)]:
            if len(kfs) > 2:      # above its image: a caption that wraps would push a button below out of line
                st.button("Remove", key=f"kf_rm{i}", on_click=_remove, args=(eng, kfs, i))
            st.image(data_url(thumb_png(thumbs[i])), width=THUMB_PX,
                     caption=f"{i + 1}: " + ("your image" if k.projected else f"seed {k.seed}")
                     + (f", {len(k.edits)} edit{'s' if len(k.edits) > 1 else ''}" if k.edits else ""))
    cur = ss.get("current")
    a1, a2, a3 = st.columns(3)
    a1.button("Add the explorer's current image", key="kf_add_current", on_click=_add_current, args=(eng, kfs),
              disabled=cur is None or cur.model != eng.name)
    with a2:
        if int(ss.get("kf_seed", 0)) > SEED_MAX:
            ss["kf_seed"] = SEED_MAX
        st.number_input("Seed", 0, SEED_MAX, value=neighbour_seed(kfs[-1].seed), key="kf_seed")
        st.button("Add seed", key="kf_add_seed", on_click=_add_seed, args=(eng, kfs))
    with a3:
        up = st.file_uploader("Add a recipe (.json)", type=["json"], key="kf_recipe",
                              max_upload_size=recipes.MAX_RECIPE_BYTES // 1024 ** 2 + 1)   # over 1 MB: our message
        if up is not None and st.button("Add recipe", key="kf_add_recipe"):
            _add_recipe(eng, kfs, up.getvalue())
    for n in ss.pop("_kf_notes", []):
        st.warning(md_escape(n))


def _add_recipe(eng: Engine, kfs: list[LatentState], data: bytes) -> None:
    try:
        d = recipes.load_recipe(data)
        other = handoff.other_installed_model(d, eng.name)
        if other is not None:
            st.error(f"This recipe was made with the model {md_quote(other.name)}, and a path runs through one "
                     f"model: choose {md_quote(other.name)} in the sidebar, then add it there.")
            return
        state, warns = recipes.from_recipe(d, eng.name, eng.meta.get("sha256", ""), eng.limits())
    except ValueError as e:
        st.error(f"That file is not a usable recipe: {md_escape(e)}")
        return
    state, more = handoff.recipe_taught(d, state, eng)
    warns = warns + more
    _save(eng, kfs + [state])
    st.session_state["_kf_notes"] = warns
    st.rerun()


def path_settings(eng: Engine) -> PathSettings:
    """Blend, space (only where z and w differ for this model), frames, easing, closed path."""
    st.subheader("Path")
    p1, p2, p3, p4, p5 = st.columns(5)
    method = p1.radio("Blend", ["slerp", "lerp"], key="ip_method", help="spherical or linear interpolation")
    if w_is_z(eng.G):
        space = "z"
        p2.caption("**Space: z.** This model has no mapping network: w is z with the class code appended, "
                   "so blending in z or in w is the same path.")
    else:
        space = p2.radio("Space", ["z", "w"], key="ip_space",
                         help="z: blended in z, then through the mapping network; w: straight in w")
    frames = p3.number_input("Frames", 2, MAX_FRAMES, value=48, step=1, key="ip_frames")
    easing = p4.selectbox("Easing", list(EASINGS), key="ip_easing", format_func=lambda e: e.replace("_", "-"))
    closed = p5.checkbox("Loop", value=True, key="ip_loop",
                         help="return to the first keyframe: the path ends where it started, so it can repeat "
                              "seamlessly")
    return PathSettings(method, space, int(frames), easing, bool(closed))


@st.cache_data(max_entries=16, show_spinner="Rendering the path…")
def path_frames(model_key: str, recipes_json: tuple[str, ...], p: PathSettings, _eng: Engine) -> np.ndarray:
    """(frames, H, W, C) uint8 along the path; each keyframe with its own method's directions."""
    states = [recipes.parse_recipe_json(r)[0] for r in recipes_json]
    kf = []
    for s in states:
        kf += keyframes_from_states(_eng.G, [s], _eng.directions(s.method) if s.edits else None)
    with torch.inference_mode():
        ws = interpolate_path(_eng.G, kf, frames=p.frames, space=p.space, method=p.method, easing=p.easing,
                              loop=p.closed)
    return _eng.render_ws(ws)


PREVIEW_PX = 192        # the preview GIF's longer side; a font model's word morph is this high / 2
FONT_ROW_PX = 48        # font models: the shown frame and each strip-preview word are at least this high


@st.cache_data(max_entries=4, show_spinner="Making the preview…", hash_funcs={np.ndarray: lambda a: hash(a.tobytes())})
def _preview(model_key: str, frames: np.ndarray, fps: int, font: bool) -> bytes:
    box = export_size(frames, PREVIEW_PX // 2 if font else PREVIEW_PX, font)
    return animation_bytes(resize_frames(frames, box, smooth=False), fps=float(fps), fmt="gif", loop=True)


def viewer(eng: Engine, kfs: list[LatentState], frames_arr: np.ndarray, scored: np.ndarray | None = None) -> None:
    """Scrub one frame, a strip of eight, the critic along the path (on `scored`, the rendered frames, when
    what is shown differs: a font model's word morph), a looping preview."""
    ss, n = st.session_state, len(frames_arr)
    if int(ss.get("ip_scrub", 1)) > n:                     # fewer frames than where the scrubber was
        ss["ip_scrub"] = n
    t = st.slider("Frame", 1, n, 1, key="ip_scrub", help="scrub along the path") - 1
    font = is_font(eng)
    h, w = frames_arr.shape[1:3]
    wide = w > 2 * h                                       # a word morph: one frame per row, else unreadably small
    # a word morph is wide: the frame above the strip, at the page's width (a third of it shrank it below the strip)
    v1, v2 = (st.container(), st.container()) if wide else st.columns([1, 2])
    v1.image(data_url(png_bytes(frames_arr[t], scale=max(1, (2 * FONT_ROW_PX if font else 256) // h))),
             caption=f"frame {t + 1}/{n}")
    pick = np.linspace(0, n - 1, min(8, n)).round().astype(int)
    v2.image(data_url(png_bytes(make_grid(frames_arr[pick], nrow=1 if wide else len(pick), pad=1, fill=255),
                                scale=max(1, (FONT_ROW_PX if font else 96) // h))), caption="strip preview")
    if st.toggle("Discriminator's opinion along the path", key="ip_critic_on"):
        scores = CV.score_images(eng, frames_arr if scored is None else scored, kfs[0].class_index)
        if scores is None:
            st.caption(CV.why_none(eng))
        else:
            st.plotly_chart(CV.path_scores_figure(scores, current=t), key="ip_critic", theme=None)
    if st.toggle("Play it", key="ip_play", help="the path as a repeating GIF, at the export's frame rate"):
        st.image(_preview(eng.key, frames_arr, int(ss.get("ip_fps", 12)), is_font(eng)), output_format="GIF")


def export_bytes(frames: np.ndarray, size: int, font: bool, fmt: str, fps: int, smooth: bool = False,
                 loop: bool = True) -> bytes:
    """The download: frames (N, H, W, C) uint8 at "Size" `size` px (a font model's word morph: its height,
    explorer.explore.preview.export_size) as a GIF or MP4 (`fmt`); raises ValueError on another format."""
    box = export_size(frames, size, font)
    return animation_bytes(resize_frames(frames, box, smooth=smooth), fps=float(fps), fmt=fmt, loop=loop)


def export_panel(eng: Engine, frames_arr: np.ndarray) -> None:
    """GIF or MP4 at a size (the longer side; a font model's word morph: its height) and frame rate; the GIF
    repeats or plays once."""
    st.subheader("Export")
    e1, e2, e3, e4, e5 = st.columns(5)
    fmt = e1.radio("Format", ["gif", "mp4"], key="ip_fmt", horizontal=True)
    fps = int(e2.number_input("Frames per second", 1, 60, value=12, key="ip_fps"))
    font = is_font(eng)
    size = int(e3.selectbox("Height (px)" if font else "Size (px)", [64, 128, 256, 512], index=2, key="ip_size",
                            help="the output's height; its width follows the word" if font
                            else "the output's longer side"))
    smooth = e4.checkbox("Smooth upscaling", value=False, key="ip_smooth")
    repeat = e5.checkbox("Loop GIF", value=True, key="ip_repeat", disabled=fmt != "gif",
                         help="on: the GIF repeats forever; off: it plays once and stops on its last frame (MP4s "
                              "repeat as the player decides)")

    def _export() -> bytes:
        return export_bytes(frames_arr, size, font, fmt, fps, smooth, bool(repeat))

    st.download_button(f"Download {fmt.upper()}", data=_export, file_name=f"{eng.name}-path.{fmt}",
                       mime="image/gif" if fmt == "gif" else "video/mp4", key="ip_download", on_click="ignore")
    st.caption(f"{len(frames_arr)} frames at {fps} fps = {len(frames_arr) / fps:.1f} s"
               + ((", repeating" if repeat else ", played once") if fmt == "gif" else ""))


def main() -> None:
    eng = pages.engine_or_stop()
    st.title("Interpolate")
    kfs = keyframes(eng)
    keyframes_panel(eng, kfs)
    settings = path_settings(eng)
    try:
        frames_arr = path_frames(eng.key, tuple(recipes.recipe_json(k) for k in kfs), settings, eng)
    except ValueError as e:
        st.error(f"This path cannot be rendered: {md_escape(e)}")
        return
    shown = morph_frames(eng, frames_arr)        # font models: a word set in every frame's typeface
    viewer(eng, kfs, shown, frames_arr)
    export_panel(eng, shown)


if __name__ == "__main__":
    main()
