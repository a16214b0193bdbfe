"""Real or fake? Real training images and generated samples, one at a time: the class guesses, so does
the discriminator (when the model has one), and both are scored.

Register in explorer/ui/pages.py as
    st.Page("explorer/ui/quiz_page.py", title="Real or fake?", icon="🕵️")
Widget keys: qz_n (images per round), qz_real, qz_fake (the guess), qz_next, qz_new.
The round lives in session_state["qz_round"]: {"key", "items", "answers", "i"}.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import streamlit as st
import torch

from explorer.data.datasets import ImageDataset
from explorer.gan.critic import probability_real
from explorer.imaging.render import png_bytes
from explorer.learn import quiz as Q
from explorer.ui import critic_view as CV
from explorer.ui import pages
from explorer.ui import state as S
from explorer.ui.text import md_escape, md_quote

eng = pages.engine_or_stop()
ss = st.session_state
G, nc = eng.G, eng.G.cfg.num_classes
model_key = f"{eng.name}:{eng.meta.get('sha256', '')}"

st.title("Real or fake?")
st.caption("Some of these images come from the data the model learned from, the others from the generator. "
           "Guess which is which; the model's own discriminator guesses too.")


@st.cache_resource(show_spinner="Loading the real images…", max_entries=4)
def _real(spec: str | None, resolution: int, channels: int, meta_key: str) -> tuple[ImageDataset | None, str]:
    try:
        return Q.real_dataset(eng.meta, resolution, channels), ""
    except (OSError, ValueError) as e:
        return None, str(e)


ds, why = _real(Q.real_spec(eng.meta), G.cfg.resolution, G.cfg.channels, model_key)
if ds is None:
    st.warning(f"The real images for {md_quote(eng.name)} are not available on this server, so the quiz cannot "
               f"run: {md_escape(why)}.")
    st.stop()

critic = CV.get_critic(eng)
if critic is None:
    st.info(CV.why_none(eng) + " You can still play; only your own score is kept.")
elif critic.note:
    st.caption(f"Note: {critic.note}.")


def _render(seeds: list[int], classes: list[int] | None) -> np.ndarray:
    base = S.default_state(eng)
    states = [dataclasses.replace(base, seed=s, class_index=None if classes is None else classes[j])
              for j, s in enumerate(seeds)]
    return eng.render_ws(torch.cat([eng.state_ws(s, None) for s in states]))


def _new_round() -> None:
    n = int(ss.get("qz_n", 10))
    items = Q.make_round(ds, _render, n=n, seed=random.randrange(2**31), num_classes=nc)
    ss["qz_round"] = {"key": model_key, "items": Q.with_scores(items, critic), "answers": [None] * len(items), "i": 0}


def _answer(says_real: bool) -> None:
    q = ss["qz_round"]
    if q["answers"][q["i"]] is None:
        q["answers"][q["i"]] = says_real


def _next() -> None:
    q = ss["qz_round"]
    q["i"] = min(q["i"] + 1, len(q["items"]))


ss.setdefault("qz_n", 10)
with st.sidebar:
    st.slider("Images per round", 4, 30, step=2, key="qz_n", help="Half real, half generated; takes effect "
              "with the next round.")
if ss.get("qz_round", {}).get("key") != model_key:
    _new_round()
q = ss["qz_round"]
items, answers, i = q["items"], q["answers"], q["i"]
t = Q.tally(items, answers)
st.subheader(t.line())

if i >= len(items):
    st.success(f"Round over. You got {t.people_right} of {t.answered} right"
               + (f"; the discriminator got {t.d_right} of {t.d_scored}." if t.d_scored else "."))
    rows = []
    for j, (it, a) in enumerate(zip(items, answers)):
        d = Q.d_says_real(it)
        rows.append({"#": j + 1, "truth": "real" if it.real else "fake",
                     "you said": {True: "real", False: "fake"}.get(a, "–"),
                     "D score": None if it.d_score is None else round(it.d_score, 2),
                     "D said": "–" if d is None else ("real" if d else "fake"), "origin": it.origin})
    st.dataframe(rows, hide_index=True, width="stretch")
    st.button("New round", key="qz_new", on_click=_new_round, type="primary")
    st.stop()

it, a = items[i], answers[i]
left, right = st.columns([1, 1], gap="large")
with left:
    st.image(png_bytes(it.image, scale=max(1, 256 // it.image.shape[0])), caption=f"Image {i + 1} of {len(items)}",
             output_format="PNG")
with right:
    if a is None:
        st.markdown("**Is this image real or generated?**")
        b1, b2 = st.columns(2)
        b1.button("📷 Real", key="qz_real", on_click=_answer, args=(True,), width="stretch")
        b2.button("🤖 Fake", key="qz_fake", on_click=_answer, args=(False,), width="stretch")
    else:
        truth = "REAL" if it.real else "FAKE"
        what = f" ({eng.class_names[it.label]})" if nc and it.label is not None and it.label < nc else ""
        (st.success if a == it.real else st.error)(
            f"It was **{truth}**: {it.origin}{what}. You said {'real' if a else 'fake'}: "
            f"{'right' if a == it.real else 'wrong'}.")
        d = Q.d_says_real(it)
        if d is not None and critic is not None:
            prob = (f" (p(real) = {probability_real(it.d_score):.2f})" if critic.calibrated else
                    f" (trained with the {critic.loss or 'unknown'} loss: a score, not a probability)")
            st.markdown(f"**Discriminator:** score {it.d_score:+.2f}{prob} → says {'real' if d else 'fake'}: "
                        f"{'right' if d == it.real else 'wrong'}.")
        elif critic is not None:
            st.caption("The discriminator needs a class to judge this image, and it has none.")
        st.button("Next image" if i + 1 < len(items) else "See the results", key="qz_next", on_click=_next,
                  type="primary")
    st.button("New round", key="qz_new", on_click=_new_round)
    st.caption("The discriminator says *real* when its score is above 0. It was trained to tell these apart "
               "while the generator was trained to fool it, so near the end of training it is often unsure.")
