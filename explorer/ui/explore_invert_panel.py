"""Explore panel "Your image": project an upload into the model's w (or w+), then edit it like any seed.

The upload is decoded by the Train page's hostile-input rules and fitted to the model (crop or pad,
with a preview); the projection (explorer/explore/inversion.py: encoder guess, then Adam) runs in a
background thread (`ProjectionRun`) that a fragment polls every half second: a progress bar, the
image as it improves, a Stop button. When it ends, the found latent becomes the current image (a
`LatentState` with `projected` set), so directions, strips, interpolation, exports and recipes work
on it; the panel shows the original beside the reconstruction with honest figures (PSNR, SSIM,
feature distance, the discriminator's opinion, how typical the found w is) and says so when the
model cannot represent the image. Widget keys start with "inv_".
"""

from __future__ import annotations

import secrets

import numpy as np
import streamlit as st

from explorer.explore import recipes
from explorer.explore.encoder import encoder_stem
from explorer.explore.engine import Engine
from explorer.explore.inversion import ProjectConfig, Projection, Projector
from explorer.explore.projection_io import (
    MAX_UPLOAD_BYTES,
    TONES,
    ProjectionRun,
    enlarged_note,
    fit_image,
    link_fits,
    model_background,
    projected_state,
    side_by_side,
)
from explorer.fileio import megabytes
from explorer.gan.critic import probability_real
from explorer.imaging.media import data_url
from explorer.imaging.render import glyph_sheet, is_glyph_stack, png_bytes
from explorer.jobs.encoder_job import make_encoder_spec
from explorer.jobs.registry import JobError, JobRegistry
from explorer.jobs.scheduler import background_scheduler
from explorer.ui import state as S
from explorer.ui import sticky
from explorer.ui.explore_invert_font import FONT_KEYS, font_target
from explorer.ui.explore_view import View
from explorer.ui.kept_uploads import kept_upload
from explorer.ui.session import session
from explorer.ui.text import md_escape

KEYS = ["inv_fit", "inv_tones", "inv_space", "inv_steps", "inv_class", "inv_optimizer"]
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
SHOW_PX = 160
ENCODER_MINUTES = 5.0
OPTIMIZERS = {"lbfgs": "L-BFGS", "adam": "Adam"}
OPTIMIZER_HELP = ("L-BFGS: each image's own quasi-Newton search with a line search, closer in the same steps "
                  "(the default). Adam: StyleGAN2's projector, a fixed learning-rate schedule.")
SPACE_HELP = ("w: one vector for every layer, so edits behave as on any sample. w+: one vector per layer "
              "(Abdal et al. 2019): reconstructs more closely, but edits can behave less predictably.")


@st.cache_resource(show_spinner="Preparing the projection…", max_entries=4)
def _projector(_eng: Engine, key: str, encoder_version: float) -> Projector:
    proj = Projector.for_model(_eng.G, _eng.meta)
    proj.prior(None if not _eng.G.cfg.num_classes else 0)
    return proj


def projector(eng: Engine) -> Projector:
    """One Projector per model version and encoder file (its critic, classifier, encoder and w statistics),
    shared by sessions; a newly trained encoder is picked up at once."""
    j = encoder_stem(eng.meta.get("path", "")).with_suffix(".json")
    return _projector(eng, eng.key, j.stat().st_mtime if j.exists() else 0.0)


def _train_encoder(eng: Engine) -> None:
    """on_click: queue an encoder job for this model (the job registry runs it; see explorer/jobs/encoder_job.py)."""
    ss = st.session_state
    owner = "encoder:" + str(ss.setdefault("owner", secrets.token_urlsafe(16)))
    try:
        job_id = JobRegistry().submit(owner, make_encoder_spec(eng.meta["path"], minutes=ENCODER_MINUTES,
                                                               name=f"encoder for {eng.name}"))
    except JobError as e:
        ss["_toast"] = f"Could not queue the encoder: {e}"
        return
    ss.setdefault("_inv_encoder_jobs", {})[eng.key] = job_id
    background_scheduler()                       # idempotent: the server's scheduler runs it


def _encoder_status(eng: Engine) -> None:
    """No encoder yet: say what that means, offer to train one, and show a queued or running one."""
    job_id = st.session_state.get("_inv_encoder_jobs", {}).get(eng.key)
    job = JobRegistry().get(job_id) if job_id else None
    if job is not None and job.active:
        p = job.progress
        where = f"step {p.get('step', 0)}, {p.get('elapsed_s', 0):.0f} s" if job.status == "running" else "queued"
        st.caption(f"Training this model's encoder in the background ({where}, about {ENCODER_MINUTES:g} min); "
                   "projections start from the mean w until it is ready.")
        return
    if job is not None and job.status == "failed":
        st.error(f"The encoder could not be trained: {job.error}")
    st.caption("This model has no encoder: projection starts from the mean w and needs more steps.")
    st.button(f"Train an encoder in the background (~{ENCODER_MINUTES:g} min)", key="inv_train_encoder",
              on_click=_train_encoder, args=(eng,))


def _runs() -> dict[str, ProjectionRun]:
    return st.session_state.setdefault("_inv_runs", {})


def _new_upload(model_key: str) -> None:
    """on_change of the uploader: a new file means the previous projection, its result and warnings
    belong to the old one, so stop it and forget them. An emptied uploader or the same file again
    changes nothing (switching panels redraws the uploader empty; the run goes on)."""
    before = kept_upload("_inv_files", model_key, None)
    now = kept_upload("_inv_files", model_key, st.session_state.get("inv_upload"))
    if now is not None and (before is None or before[0] != now[0]):
        _drop_unshown(model_key)


def _drop_unshown(model_key: str) -> None:
    """Another target was chosen: a projection still running (or ended unseen) belongs to the old one, so
    it is stopped and forgotten; a finished one already shown stays, with its figures and recipe, until
    the next Start (invert_panel says when it is of an earlier choice)."""
    run = _runs().get(model_key)
    if run is not None and not (run.done and run.applied):
        run.stop()
        _runs().pop(model_key, None)


def _new_font(model_key: str) -> None:
    """Another font chosen (installed or uploaded, usable or not) stops a projection still running from the
    previous font, as a new image file does (`_drop_unshown`); the same font again changes nothing."""
    ss = st.session_state
    now = (ss.get("_inv_font_target") or (None,))[0]
    seen = ss.setdefault("_inv_font_keys", {})
    if seen.get(model_key) is not None and seen[model_key] != now:
        _drop_unshown(model_key)
    seen[model_key] = now


def _target(eng: Engine) -> tuple[np.ndarray | None, str | None]:
    """The fitted upload (H, W, C) uint8, or (None, why), cached per upload and fit."""
    ss = st.session_state
    if ss.get("inv_upload") is not None:
        _new_upload(eng.key)                              # in case the file came without an on_change
    kept = kept_upload("_inv_files", eng.key, None)
    if kept is None:
        return None, None
    if ss.get("inv_upload") is None:
        st.caption(f"Your last image: {md_escape(kept[1])} (upload another to replace it)")
    cfg = eng.G.cfg
    tones = str(ss.get("inv_tones", "auto")) if cfg.channels == 1 else "keep"
    key = (eng.key, kept[0], str(ss.get("inv_fit", "crop")), tones if tones in TONES else "auto")
    cached = ss.get("_inv_target")
    if cached is None or cached[0] != key:
        cached = (key, *fit_image(kept[2], kept[1], cfg.resolution, cfg.channels, key[2],
                                  background=background_of(eng), tones=key[3]))
        ss["_inv_target"] = cached
    if cached[1] is not None:
        note = enlarged_note(kept[2], cfg.resolution, key[2])
        if note:
            st.info(md_escape(note))
        if cached[3]:                                     # what the decoder changed: say it, do not do it silently
            st.caption(md_escape("Converted: " + "; ".join(cached[3]) + "."))
    return cached[1], cached[2]


@st.cache_resource(show_spinner=False, max_entries=8)
def _background(model_key: str, _eng: Engine) -> tuple[int, int, int]:
    with _eng.lock:                                       # the shared model: one user of it at a time
        return model_background(_eng.G)


def background_of(eng: Engine) -> tuple[int, int, int]:
    """The model's paper colour (projection_io.model_background), once per model and server: an upload's
    transparency is composited onto it."""
    return _background(eng.key, eng)


def _start(eng: Engine, target: np.ndarray) -> None:
    """on_click of Start: a new projection of the fitted upload with the panel's settings."""
    ss = st.session_state
    cls = int(ss.get("inv_class", -1))
    opt = str(ss.get("inv_optimizer", "lbfgs"))
    space = str(ss.get("inv_space", "w")) if eng.G.num_ws > 1 else "w"
    cfg = ProjectConfig(space=space, steps=int(ss.get("inv_steps", 200)),
                        class_index=None if cls < 0 else cls, optimizer=opt if opt in OPTIMIZERS else "lbfgs")
    old = _runs().get(eng.key)
    if old is not None:
        old.stop()
    _runs()[eng.key] = ProjectionRun(projector(eng), target, cfg).start()


def target_caption(glyphs: bool, fit: str, resolution: int) -> str:
    """The caption of the projection's target before any projection: what was fitted to the model's size
    ("target: your image, cropped to 64 px"); "the model's reconstruction" only ever labels a result."""
    if glyphs:
        return f"target: the font's glyphs at the model's {resolution} px"
    how = "padded" if fit == "pad" else "cropped"
    return f"target: your image, {how} to the model's {resolution} px"


def _show(img: np.ndarray) -> str:
    """An (H, W, 1 or 3) uint8 image as an inline PNG at about SHOW_PX; a glyph stack (H, W, 62) as its sheet."""
    if is_glyph_stack(img.shape[-1]):
        return data_url(png_bytes(glyph_sheet(np.ascontiguousarray(img.transpose(2, 0, 1)))))
    return data_url(png_bytes(img, scale=max(1, SHOW_PX // img.shape[0])))


def _apply(view: View, res: Projection) -> None:
    """Load the projection as the current image (from a callback, or before a rerun)."""
    S.request(session(), projected_state(view.state, res))


def realness_text(p: float | None, raw: float) -> str:
    """The discriminator's opinion as shown: a probability when its loss makes one, else its raw score."""
    return f"{p:.2f}" if p is not None else f"{raw:+.2f}"


def realness_help(p: float | None, target_raw: float | None) -> str:
    """What "D: real?" means, with the same figure for the user's own image beside it."""
    if target_raw is None:
        return "the model's discriminator on the reconstruction"
    if p is not None:
        yours = f"{float(probability_real(max(min(target_raw, 60.0), -60.0))):.2f}"   # as p_real is computed
        scale = "the probability it gives the reconstruction of being a real training image (0 to 1)"
    else:
        yours, scale = f"{target_raw:+.2f}", "its raw score of the reconstruction (above 0 reads as real)"
    return (f"The model's discriminator: {scale}; your image itself gets {yours}. It learnt what the model's "
            "training images look like, so a clean image unlike them scores low too: compare the two figures.")


def _describe(eng: Engine, res: Projection) -> None:
    """Original beside reconstruction, the figures, and what they mean."""
    f = res.figures
    if is_glyph_stack(res.image.shape[-1]):                # sheets are wide: one above the other
        c1 = c2 = st.container()
    else:
        c1, c2 = st.columns(2)
    c1.image(_show(res.target), caption="target (fitted to the model's size)")
    c2.image(_show(res.image), caption="the model's reconstruction")
    if st.toggle("Show the difference (x4)", key="inv_diff"):
        diff = np.abs(res.target.astype(np.int16) - res.image.astype(np.int16)) * 4
        st.image(_show(diff.clip(0, 255).astype(np.uint8)), caption="|difference| x 4: bright = far off")
    m = [c for _ in range(3) for c in st.columns(2)]   # two a row: three in the side panel cut "19.8 dB" to "19.8…"
    m[0].metric("PSNR", f"{f.psnr:.1f} dB", help="pixel fidelity; above ~25 dB looks close at this size")
    m[1].metric("SSIM", f"{f.ssim:.3f}", help="structural similarity, 1 = identical")
    if f.feature_distance is not None:
        m[2].metric("Feature distance", f"{f.feature_distance:.3f}", help=f"in {f.feature_space}; 0 = identical")
    m[3].metric("w from the mean", f"{f.w_distance:.2f} std", help="RMS distance of the found w from the "
                f"model's mean w, in std units; 99% of the model's own samples lie within {f.w_p99:.2f}")
    m[4].metric("w percentile", f"{f.w_percentile:.0f}", help="share (%) of the model's own samples whose w is "
                "closer to the mean than the found one: low = an ordinary w for this model, 99 or more = further "
                "out than nearly all its samples (the model is stretching to fit your image)")
    if f.realness is not None:
        m[5].metric("D: real?", realness_text(f.p_real, f.realness), help=realness_help(f.p_real, f.target_realness))
    else:
        m[5].caption("no discriminator: its opinion is not available")
    who = f" · class {md_escape(eng.class_names[res.class_index])}" if res.class_index is not None else ""
    start = "encoder guess" if res.start == "encoder" else "mean w"
    how = f" ({OPTIMIZERS.get(res.optimizer, res.optimizer)})" if res.steps else ""
    st.caption(f"{res.space} · {res.steps} steps{how} from the {start}{who} · {res.seconds:.1f} s"
               + (" · stopped early" if res.stopped else ""))
    for w in f.warnings():
        st.warning(w)


def _link_note(view: View, res: Projection) -> None:
    state = view.state if view.state.projected else projected_state(view.state, res)
    fits, n = link_fits(state)
    if fits:
        st.caption(f"The page's link carries this latent ({n} characters).")
    else:
        st.info(f"This latent makes a {n}-character link, too long to share reliably: download the recipe "
                f"instead (open it on Export or Interpolate).")
    st.download_button("Download recipe (.json)", recipes.recipe_json(state), key="inv_recipe",
                       file_name=f"{view.eng.name}-projected.json", mime="application/json")


@st.fragment(run_every=0.5)
def _watch(view: View) -> None:
    """While a projection runs: progress, the current best image, Stop. Its end loads the result."""
    run = _runs().get(view.eng.key)
    if run is None:
        return
    if run.done:
        if run.result is not None and not run.applied:
            run.applied = True
            _apply(view, run.result)
        st.rerun()                                   # the whole page: shows the result, stops polling
    st.progress(run.step / max(run.steps, 1), text=f"step {run.step} of {run.steps}")
    if run.image is not None and is_glyph_stack(run.image.shape[-1]):
        st.image(_show(run.image), caption="the projection so far")
    elif run.image is not None:
        st.image(_show(side_by_side(run.target, run.image)), caption="your image · the projection so far")
    st.button("Stop", key="inv_stop", on_click=run.stop, help="keep the best latent found so far")


def _settings(eng: Engine, glyphs: bool) -> None:
    nc = eng.G.cfg.num_classes
    a, b = st.columns(2) if not glyphs else (None, st.container())     # fonts have no Fit: Latent takes the row
    if a is not None:
        a.radio("Fit", ["crop", "pad"], key="inv_fit", horizontal=True,
                help="crop: the centre square; pad: the whole image on its border colour")
    if a is not None and eng.G.cfg.channels == 1:
        a.radio("Tones", list(TONES), key="inv_tones", horizontal=True, format_func=TONES.__getitem__,
                help="auto: inverted when your image's background is light and the model draws on black (or "
                     "the other way round), as a product photo is for Fashion-MNIST; the target shows the result")
    if eng.G.num_ws > 1:
        b.radio("Latent", ["w", "w+"], key="inv_space", horizontal=True, help=SPACE_HELP)
    else:
        b.caption("Latent: w (this model feeds one w to every layer, so w+ would be the same)")
    a, b = st.columns(2)
    a.slider("Steps", 0, 1000, 200, step=10, key="inv_steps",
             help="renders of the model (each with its gradient) after the first guess; 0 = the encoder's "
                  "guess alone. L-BFGS may stop sooner when it cannot get closer")
    b.radio("Optimiser", list(OPTIMIZERS), key="inv_optimizer", horizontal=True, format_func=OPTIMIZERS.__getitem__,
            help=OPTIMIZER_HELP)
    if nc:
        st.selectbox("Class", [-1, *range(nc)], key="inv_class",
                     format_func=lambda i: "infer (try each class)" if i < 0 else eng.class_names[i])


def invert_panel(view: View) -> None:
    """Upload, fit preview, settings, Start/Stop, progress, then the result and its figures."""
    eng = view.eng
    sticky.restore(KEYS + FONT_KEYS)
    glyphs = is_glyph_stack(eng.G.cfg.channels)
    if glyphs:
        target, why = font_target(eng)
        _new_font(eng.key)
    else:
        st.file_uploader("Start from your image", type=IMAGE_TYPES, key="inv_upload",
                         help=f"PNG, JPEG, WEBP, BMP or GIF, at most {megabytes(MAX_UPLOAD_BYTES)}; fitted to "
                              f"{eng.G.cfg.resolution} px {'grey' if eng.G.cfg.channels == 1 else 'colour'}",
                         max_upload_size=MAX_UPLOAD_BYTES // 1024 ** 2,      # the box states our limit, not 200 MB
                         on_change=_new_upload, args=(eng.key,))
    _settings(eng, glyphs)
    sticky.remember(KEYS + FONT_KEYS)
    if not glyphs:
        target, why = _target(eng)
    if why:
        st.error(f"That {'font' if glyphs else 'file'} cannot be used: {md_escape(why)}.")
    run = _runs().get(eng.key)
    running = run is not None and not run.done
    if target is not None and not running:
        cap = target_caption(glyphs, str(st.session_state.get("inv_fit", "crop")), eng.G.cfg.resolution)
        # a sheet of 62 glyphs needs the panel's width to be read: above the button, not beside it
        p1, p2 = (st.container(), st.container()) if glyphs else st.columns([1, 2], vertical_alignment="center")
        p1.image(_show(target), caption=cap)
        p2.button("Start projection", key="inv_start", type="primary", on_click=_start, args=(eng, target),
                  width="stretch")
    if projector(eng).encoder is None:
        _encoder_status(eng)
    if running:
        _watch(view)
    elif run is not None and run.result is not None and not run.applied:    # it ended while another panel showed
        run.applied = True
        _apply(view, run.result)
        st.rerun()
    elif run is not None and run.error:
        st.error(f"The projection failed: {md_escape(run.error)}")
    elif run is not None and run.result is not None:
        if why or (target is not None and not np.array_equal(target, run.target)):   # another choice since
            what = "font" if glyphs else "image"
            if why:
                note = f"The projection below is of your previous {what}, not of the one chosen now."
            elif glyphs:
                note = ("The projection below is of your previous font, not of the one chosen now: Start "
                        "projection to project that one.")
            else:                                         # another file, or the same one fitted otherwise
                note = ("The projection below was made from another target than the one shown above (another "
                        "image, Fit or Tones): Start projection to project this one.")
            st.info(note)
        _describe(eng, run.result)
        _link_note(view, run.result)
