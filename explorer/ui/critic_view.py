"""The discriminator's "realness" score in the app: one shared critic per checkpoint, scores, a plot.

For the Explore page (the current image) and the Interpolate page (every frame of a path):

    from explorer.ui import critic_view as CV
    s = CV.score_image(eng, img, state.class_index)            # float | None (None: no discriminator)
    if s is not None:
        st.caption(CV.describe(eng, s))
    scores = CV.score_images(eng, frames_arr, class_index)     # np.ndarray (N,) | None
    if scores is not None:
        st.plotly_chart(CV.path_scores_figure(scores, current=t), key="ip_critic", theme=None)
    else:
        st.caption(CV.why_none(eng))

Scores are D's raw logits: above 0 the discriminator calls the image real (for the hinge and
Wasserstein losses it is a critic score rather than a log-odds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from explorer.explore.engine import Engine
from explorer.gan import critic
from explorer.ui.text import md_escape


@st.cache_resource(show_spinner="Loading the discriminator…", max_entries=8)
def _critic(path: str, sha256: str) -> tuple[critic.Critic | None, str]:
    """(critic or None, why not) per checkpoint version, shared by every session."""
    return critic.critic_or_reason(path)


def get_critic(eng: Engine) -> critic.Critic | None:
    """The engine's model's discriminator, or None when it has none (or it cannot be used)."""
    return _critic(str(eng.meta.get("path", "")), str(eng.meta.get("sha256", "")))[0]


def why_none(eng: Engine) -> str:
    """A sentence saying why there is no discriminator score ("" when there is one), escaped for Markdown
    (it may quote file names)."""
    return md_escape(_critic(str(eng.meta.get("path", "")), str(eng.meta.get("sha256", "")))[1])


def score_images(eng: Engine, images: np.ndarray, class_index: int | list[int] | None = None) -> np.ndarray | None:
    """D's raw scores (N,) of rendered images (N, H, W, C) uint8, or None if the model has no discriminator.

    A conditional discriminator needs the class of each image (one int for all); class 0 if none is given.
    """
    c = get_critic(eng)
    if c is None:
        return None
    labels = (class_index if class_index is not None else 0) if c.conditional else None
    return critic.realness(c, images, labels).numpy()


def score_image(eng: Engine, image_uint8: np.ndarray, class_index: int | None = None) -> float | None:
    """D's raw score of one rendered image (H, W, C) uint8; None if the model has no discriminator."""
    s = score_images(eng, image_uint8[None], class_index)
    return None if s is None else float(s[0])


def describe(eng: Engine, score: float) -> str:
    """One line for a caption: the score, D's verdict and (for log-odds losses) its probability."""
    c = get_critic(eng)
    if c is not None and c.loss == "wgan-gp":               # a Wasserstein critic: defined up to a constant
        return (f"Critic score {score:+.2f} (a Wasserstein critic: higher means more real, but only differences "
                "between images mean anything, so it gives no verdict)")
    verdict = "real" if score > 0 else "fake"
    prob = f", p(real) = {critic.probability_real(score):.2f}" if c is not None and c.calibrated else ""
    return f"Discriminator score {score:+.2f}: it would call this image {verdict}{prob}"


def path_scores_figure(scores: Sequence[float] | np.ndarray, current: int | None = None, height: int = 220):
    """A line plot of D's score along a path of frames, the 0 threshold dashed, the `current` frame marked."""
    import plotly.graph_objects as go
    y = np.asarray(scores, dtype=np.float64).reshape(-1)
    x = np.arange(1, len(y) + 1)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", name="D score", marker={"size": 4},
                               hovertemplate="frame %{x}: %{y:+.2f}<extra></extra>"))
    fig.add_hline(y=0, line_dash="dash", line_color="grey", annotation_text="real ↑ / fake ↓",
                  annotation_position="top left")
    if current is not None and 0 <= current < len(y):
        fig.add_trace(go.Scatter(x=[current + 1], y=[y[current]], mode="markers", name="this frame",
                                 marker={"size": 11, "color": "#d62728"}, hoverinfo="skip"))
    fig.update_layout(height=height, margin={"l": 40, "r": 10, "t": 10, "b": 30}, showlegend=False,
                      xaxis_title="frame", yaxis_title="discriminator score")
    return fig
