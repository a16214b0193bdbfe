"""Real or fake? Real images and generated samples, one at a time: the visitor guesses, so does the
discriminator (when the model has one), and both are scored.

The real images are the model's training data, or for Fashion-MNIST its test split (never seen in
training): the page says which. When they are a dataset this server can build (emoji), the page
offers to build it, in the background with a progress bar.
Widget keys: qz_n (images per round), qz_real, qz_fake (the guess), qz_next, qz_new, qz_build.
The round lives in session_state["qz_round"]: {"key", "items", "answers", "i"}. A real face of the fonts
dataset is named by its family, style and package (learn.quiz.face_names), shown as text (escaped).
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import streamlit as st

from explorer.data.datasets import ImageDataset
from explorer.explore.engine import Engine
from explorer.gan.critic import Critic, probability_real
from explorer.imaging.media import data_url
from explorer.imaging.render import png_bytes
from explorer.learn import quiz as Q
from explorer.ui import critic_view as CV
from explorer.ui import pages
from explorer.ui import state as S
from explorer.ui.explore_font_panel import shown_image
from explorer.ui.text import md_escape, md_quote


@st.cache_resource(show_spinner="Loading the real images…", max_entries=4)
def _real(spec: str | None, resolution: int, channels: int, model_key: str, missing: bool,
          _meta: dict) -> tuple[ImageDataset | None, list[str] | None, str]:
    """(dataset or None, its images' names or None (fonts: each face's family, style and package), why
    not); `missing` is part of the key, so a finished build loads afresh."""
    try:
        ds = Q.real_dataset(_meta, resolution, channels)
    except (OSError, ValueError) as e:
        return None, None, str(e)
    return ds, Q.face_names(ds), ""


@st.cache_resource(show_spinner=False)
def _build(spec: str) -> Q.Build:
    """One background build per dataset per server process, shared by every session."""
    return Q.Build()


def _start_build(eng: Engine) -> None:
    _build(str(Q.real_spec(eng.meta))).start(Q.build_fn(eng.meta))


@st.fragment(run_every=1.0)
def _build_progress(build: Q.Build) -> None:
    """Polls the build; reloads the page once it has finished."""
    if build.finished:
        st.rerun()
    st.progress(build.fraction(), text=f"Building the dataset: {build.done}/{build.total or '…'} images rendered")


def offer_build(eng: Engine, why: str) -> None:
    """The real images are missing but can be built here: a button, then progress."""
    build = _build(str(Q.real_spec(eng.meta)))
    if build.running:
        _build_progress(build)
        return
    if build.error:
        st.error(f"Building the dataset failed: {md_escape(build.error)}")
    st.info(f"The real images for {md_quote(eng.name)} are not built on this server yet ({md_escape(why)}). "
            "Build them here: it renders every emoji of the font, about a minute, in the background.")
    st.button("Build the dataset", key="qz_build", type="primary", on_click=_start_build, args=(eng,))


def _render(eng: Engine, seeds: list[int], classes: list[int] | None) -> np.ndarray:
    base = S.default_state(eng)
    return eng.render_states([dataclasses.replace(base, seed=s, class_index=None if classes is None else classes[j])
                              for j, s in enumerate(seeds)])


def _new_round(eng: Engine, ds: ImageDataset, critic: Critic | None, names: list[str] | None = None) -> None:
    ss = st.session_state
    n = int(ss.get("qz_n", 10))
    items = Q.make_round(ds, lambda s, c: _render(eng, s, c), n=n, seed=random.randrange(2**31),
                         num_classes=eng.G.cfg.num_classes, names=names)
    ss["qz_round"] = {"key": eng.key, "items": Q.with_scores(items, critic), "answers": [None] * len(items), "i": 0}


def _answer(says_real: bool) -> None:
    q = st.session_state["qz_round"]
    if q["answers"][q["i"]] is None:
        q["answers"][q["i"]] = says_real


def _next() -> None:
    q = st.session_state["qz_round"]
    q["i"] = min(q["i"] + 1, len(q["items"]))


def results(eng: Engine, ds: ImageDataset, critic: Critic | None, q: dict, t: Q.Tally,
            names: list[str] | None = None) -> None:
    st.success(f"Round over. You got {Q.of_n(t.people_right, t.answered)}"
               + (f"; the discriminator got {Q.of_n(t.d_right, t.d_scored)}." if t.d_scored else "."))
    rows = []
    for j, (it, a) in enumerate(zip(q["items"], q["answers"])):
        d = Q.d_says_real(it)
        rows.append({"#": j + 1, "truth": "real" if it.real else "fake",
                     "you said": {True: "real", False: "fake"}.get(a, "–"),
                     "D score": None if it.d_score is None else round(it.d_score, 2),
                     "D said": "–" if d is None else ("real" if d else "fake"), "origin": it.origin})
    st.dataframe(rows, hide_index=True, width="stretch")
    st.button("New round", key="qz_new", on_click=_new_round, args=(eng, ds, critic, names), type="primary")


def question(eng: Engine, ds: ImageDataset, critic: Critic | None, q: dict, names: list[str] | None = None) -> None:
    """One image, the two guesses, then the truth and the discriminator's call."""
    nc = eng.G.cfg.num_classes
    i = q["i"]
    it, a = q["items"][i], q["answers"][i]
    left, right = st.columns([1, 1], gap="large")
    shown = shown_image(eng, it.image)                  # a font model's face: its specimen above its glyph sheet
    left.image(data_url(png_bytes(shown, scale=max(1, 256 // shown.shape[0]))),
               caption=f"Image {i + 1} of {len(q['items'])}")
    with right:
        if a is None:
            st.markdown("**Is this image real or generated?**")
            b1, b2 = st.columns(2)
            b1.button("📷 Real", key="qz_real", on_click=_answer, args=(True,), width="stretch")
            b2.button("🤖 Fake", key="qz_fake", on_click=_answer, args=(False,), width="stretch")
        else:
            truth = "REAL" if it.real else "FAKE"
            what = f" ({md_escape(eng.class_names[it.label])})" if nc and it.label is not None and it.label < nc else ""
            (st.success if a == it.real else st.error)(
                f"It was **{truth}**: {md_escape(it.origin)}{what}. You said {'real' if a else 'fake'}: "
                f"{'right' if a == it.real else 'wrong'}.")
            d = Q.d_says_real(it)
            if d is not None and critic is not None and it.d_score is not None:
                prob = (f" (p(real) = {Q.percent(float(probability_real(it.d_score)))})" if critic.calibrated else
                        f" (trained with the {critic.loss or 'unknown'} loss: a score, not a probability)")
                st.markdown(f"**Discriminator:** score {it.d_score:+.2f}{prob} → says {'real' if d else 'fake'}: "
                            f"{'right' if d == it.real else 'wrong'}.")
            elif critic is not None:
                st.caption("The discriminator needs a class to judge this image, and it has none.")
            st.button("Next image" if i + 1 < len(q["items"]) else "See the results", key="qz_next", on_click=_next,
                      type="primary")
        st.button("New round", key="qz_new", on_click=_new_round, args=(eng, ds, critic, names))
        st.caption("The discriminator says *real* when its score is above 0 (for a Wasserstein critic, whose "
                   "scores mean something only compared with each other, that line is a convention). It was "
                   "trained to tell real from generated while the generator was trained to fool it. In theory, "
                   "at the game's equilibrium, it would be unsure (50 %) everywhere (Goodfellow et al. 2014); in "
                   "practice a trained discriminator usually keeps telling them apart, and can be wrong about "
                   "real images it never saw.")


def main() -> None:
    eng = pages.engine_or_stop()
    ss = st.session_state
    st.title("Real or fake?")
    st.caption(f"Some of these images are real, from {Q.real_images_note(eng.meta)}; the others come from the "
               "generator. Guess which is which; the model's own discriminator guesses too.")
    missing = Q.buildable(eng.meta)
    ds, names, why = _real(Q.real_spec(eng.meta), eng.G.cfg.resolution, eng.G.cfg.channels, eng.key, missing,
                           eng.meta)
    if ds is None:
        if missing:
            offer_build(eng, why)
        else:
            st.warning(f"The real images for {md_quote(eng.name)} are not available on this server, so the quiz "
                       f"cannot run: {md_escape(why)}.")
        return
    critic = CV.get_critic(eng)
    if critic is None:
        st.info(CV.why_none(eng) + " You can still play; only your own score is kept.")
    elif critic.note:
        st.caption(f"Note: {md_escape(critic.note)}.")
    ss.setdefault("qz_n", 10)
    with st.sidebar:
        st.slider("Images per round", 4, 30, step=2, key="qz_n", help="Half real, half generated; takes effect "
                  "with the next round.")
    if ss.get("qz_round", {}).get("key") != eng.key:
        _new_round(eng, ds, critic, names)
    q = ss["qz_round"]
    t = Q.tally(q["items"], q["answers"])
    st.subheader(t.line())
    if q["i"] >= len(q["items"]):
        results(eng, ds, critic, q, t, names)
    else:
        question(eng, ds, critic, q, names)


if __name__ == "__main__":
    main()
