"""GAN playground: a tiny GAN learning 2D points, live, with the lessons written beside each view.

Registered in explorer/ui/pages.py as
    st.Page("explorer/ui/playground_page.py", title="GAN playground", icon="🎯")
Training runs in a background thread (explorer.learn.playground.Runner) kept in session state; the view is
an st.fragment that redraws five times a second while playing. Step trains one step synchronously.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from explorer.learn import playground as P
from explorer.ui import sticky
from explorer.ui.text import md_escape, md_quote

TARGETS = {"Ring of 8 Gaussians": "ring", "5×5 grid": "grid", "Spiral": "spiral", "Two moons": "moons",
           "Uploaded CSV": "csv"}
LRS = [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2]
CUSTOM = "Custom"

EXPLAIN = {
    "generator": "**Generator.** A small MLP that turns a random latent vector *z* into a point (x, y); the "
    "orange dots are its output for a fixed set of latents. The grey lines are where it sends a regular grid "
    "of latents (for more than 2 latent dimensions, a flat slice through the first two), so you can watch it "
    "stretch and fold the latent plane over the data. It never sees a real point: everything it learns "
    "arrives through the discriminator's gradients.",
    "discriminator": "**Discriminator.** A second MLP that gives every spot of the plane a score: blue where it "
    "believes points are real, red where it expects fakes. The background is that score on a grid; for the "
    "minimax and non-saturating losses it is shown as a probability, for hinge and Wasserstein it is an "
    "unbounded critic score, its colours spanning the scores where the points are (far off, they saturate).",
    "arrows": "**Green arrows** are minus the gradient of the generator's loss at each fake point: the push "
    "the generator's loss asks for there, always uphill on the discriminator's score (the points themselves "
    "move only as far as the generator's weights can carry them, so not always exactly along it). Length grows with "
    "the gradient (squashed so huge ones stay readable), so when the gradient vanishes the arrows do too.",
    "game": "**The adversarial game.** Training alternates: the discriminator takes a few updates to separate "
    "real from fake better, then the generator takes one to fool the new discriminator. Each player's loss "
    "depends on the other's weights, so training looks for an equilibrium (for minimax, a saddle point of "
    "one value function that D maximises and G minimises), not the minimum of one loss: each chases a target "
    "the other keeps moving, the losses oscillate instead of falling, and learning rates and the D:G step "
    "ratio decide whether the chase settles.",
    "losses": "**Loss functions** (D(x) is a raw score, σ the logistic function).  \n"
    "• *minimax*: G minimises log(1 − σ(D(G(z)))), the original game. Once D rejects the fakes with "
    "confidence this curve is flat and G gets almost no gradient.  \n"
    "• *non-saturating*: G maximises log σ(D(G(z))) instead: the same fixed point (fakes that D cannot "
    "tell from real), but the push is strongest exactly when G is losing.  \n"
    "• *hinge*: D is only penalised for real scores below +1 and fake scores above −1; G raises its scores.  \n"
    "• *WGAN-GP*: D is a critic whose score gap between real and fake estimates a transport distance; a "
    f"penalty λ·(|∇D| − 1)² on points between the two sets pulls its slope toward 1 (here λ = "
    f"{P.Settings().gp_weight:g}, lighter than the paper's 10, which this small 2D game does not need), and a "
    "small drift term 0.001·D(real)² keeps the scores near 0. The D loss curve includes both.",
    "collapse": "**Mode collapse.** The generator maps most latents onto one or a few modes. It is a greedy move: "
    "piling every point onto the spot the discriminator likes best lowers the generator's loss right now. "
    "The discriminator then learns to distrust that spot and the generator jumps to the next one, so it "
    "cycles between modes instead of spreading out. Try the *Mode collapse* preset and watch the orange cloud "
    "hop round the ring while coverage stays near zero.",
    "wasserstein": "**Why Wasserstein and hinge losses help.** A classic discriminator that separates the sets "
    "perfectly flattens out: its score is saturated almost everywhere, so its gradient says little about "
    "where the data lies. A Wasserstein critic held to slope ≈ 1 keeps a steady tilt from every fake point "
    "towards the data, including modes nobody covers yet. The hinge loss stops rewarding the discriminator "
    "once a point is on the right side with a margin, which keeps it from becoming over-confident (smoothness "
    "itself comes from elsewhere, e.g. spectral normalisation in Miyato et al. 2018). Either way, dumping all "
    "the mass on one spot pays off less.",
}


def widget_values(s: P.Settings) -> dict:
    return {"pg_loss": s.loss, "pg_opt": s.optimizer, "pg_lr_g": s.lr_g, "pg_lr_d": s.lr_d,
            "pg_d_steps": s.d_steps, "pg_latent": s.latent, "pg_width": s.width, "pg_depth": s.depth,
            "pg_seed": s.seed}


def apply_preset() -> None:
    preset = P.PRESETS.get(st.session_state.pg_preset)
    if preset is not None:                                     # presets are tuned on the ring
        st.session_state.update(widget_values(preset.settings), pg_target="Ring of 8 Gaussians")


def to_custom() -> None:
    st.session_state.pg_preset = CUSTOM


def use_upload() -> None:
    if st.session_state.pg_csv is not None:                    # a new file: train on it
        st.session_state.update(pg_target="Uploaded CSV", pg_preset=CUSTOM)


def runner() -> P.Runner:
    return st.session_state.pg_runner


STICKY = ("pg_preset", "pg_target", *widget_values(P.PRESETS["Stable"].settings))


def sidebar_controls():
    """The game's settings in the sidebar; returns the uploaded CSV (or None)."""
    with st.sidebar:
        st.selectbox("Preset", [CUSTOM, *P.PRESETS], key="pg_preset", on_change=apply_preset)
        st.selectbox("Target", list(TARGETS), key="pg_target", on_change=to_custom)
        upload = st.file_uploader("Your own points (CSV: two numeric columns, header optional)",
                                  type=["csv", "txt"], key="pg_csv", on_change=use_upload,
                                  max_upload_size=-(-P.MAX_CSV_BYTES // 1024 ** 2),    # the box states our limit
                                  help=f"at most {P.MAX_CSV_ROWS:,} rows and {P.MAX_CSV_BYTES:,} bytes")
        st.selectbox("Loss", P.LOSSES, key="pg_loss", on_change=to_custom)
        st.selectbox("Optimizer", P.OPTIMIZERS, key="pg_opt", on_change=to_custom)
        for who, key in (("Generator", "pg_lr_g"), ("Discriminator", "pg_lr_d")):
            st.select_slider(f"{who} learning rate", LRS, key=key, format_func=lambda v: f"{v:g}",
                             on_change=to_custom)
        st.slider("D steps per G step", 1, 10, key="pg_d_steps", on_change=to_custom)
        st.slider("Latent size", 1, 8, key="pg_latent", on_change=to_custom)
        st.select_slider("Hidden width", [16, 32, 64, 128], key="pg_width", on_change=to_custom)
        st.slider("Hidden layers", 1, 4, key="pg_depth", on_change=to_custom)
        st.number_input("Seed", 0, 2**31 - 1, step=1, key="pg_seed", on_change=to_custom)
    return upload


def current_settings() -> P.Settings:
    ss = st.session_state
    return P.Settings(target=TARGETS[ss.pg_target], loss=ss.pg_loss, optimizer=ss.pg_opt, lr_g=ss.pg_lr_g,
                      lr_d=ss.pg_lr_d, d_steps=ss.pg_d_steps, latent=ss.pg_latent, width=ss.pg_width,
                      depth=ss.pg_depth, seed=int(ss.pg_seed))


def uploaded_points(upload) -> tuple[object, str | None]:
    """(points or None, their sha256 or None) from the uploaded CSV; an error box when it is not usable."""
    if upload is None:
        return None, None
    raw = upload.getvalue()
    try:
        return P.parse_points_csv(raw), hashlib.sha256(raw).hexdigest()
    except ValueError as e:
        st.error(f"Could not use {md_quote(upload.name)}: {md_escape(e)}")
        return None, None


def ensure_runner(settings: P.Settings, points, points_key: str | None) -> None:
    """This session's background runner, restarted (paused) when the settings or the points change."""
    ss = st.session_state
    wanted = (settings, points_key if settings.target == "csv" else None)
    if "pg_runner" not in ss:
        ss.pg_runner, ss.pg_applied = P.Runner(P.Playground(settings, points)), wanted
    elif ss.pg_applied != wanted:                              # settings changed: start over, paused
        runner().pause()
        runner().reset(settings, points)
        ss.pg_applied = wanted


def _step_once() -> None:
    """on_click: pause, then train one step."""
    runner().pause()
    runner().step(1)


def _reset() -> None:
    """on_click: pause, then start the game over with the same settings."""
    runner().pause()
    runner().reset()


def buttons() -> None:
    cols = st.columns(4)
    cols[0].button("Play", icon=":material/play_arrow:", key="pg_play", on_click=lambda: runner().play(),
                   width="stretch")
    cols[1].button("Pause", icon=":material/pause:", key="pg_pause", on_click=lambda: runner().pause(),
                   width="stretch")
    cols[2].button("Step", key="pg_step", on_click=_step_once,
                   width="stretch", help="Pause and train one step (d_steps D updates + one G update).")
    cols[3].button("Reset", key="pg_reset", on_click=_reset, width="stretch")


CHARTS = ("pg_plane", "pg_losses", "pg_cover")
# Each live chart is two stacked charts (one grid cell) that take turns: see buffered_chart.
STACK_CSS = "".join(f".st-key-{k}_stack{{display:grid;grid-template-columns:minmax(0,1fr)}}"
                    f".st-key-{k}_stack>div{{grid-area:1/1}}" for k in CHARTS)


def buffered_chart(box, fig, key: str, turn: int) -> None:
    """`fig` in `box` without a blank frame between redraws. Streamlit hashes a chart's spec into its element
    id, and the browser remounts a chart whose id changed, so a chart redrawn with new data is empty until
    plotly has drawn it again (blank in 1 of 8 animation frames while playing, a third on a busy 2-core box).
    So two charts, `{key}_0` and `{key}_1`, sit stacked and take turns: the new frame goes to slot `turn`, put
    on top by `stack_order`, while the other keeps the previous frame beneath it; a chart being remounted is
    transparent, and the one beneath shows through. A slot that is sent the same figure again is not
    remounted."""
    slots = st.session_state.setdefault(f"{key}_slots", [fig, fig])
    slots[turn] = fig
    with box.container(key=f"{key}_stack", gap=None):
        for i, f in enumerate(slots):
            st.plotly_chart(f, key=f"{key}_{i}", theme=None)


def stack_order(turn: int) -> None:
    """Slot `turn` of every buffered chart on top. Sent after the charts, so the browser has the new chart (still
    under the old one) before the order flips, and never shows a frame older than the last."""
    st.html("<style>" + "".join(f".st-key-{k}_{turn}{{z-index:1}}" for k in CHARTS) + "</style>")


def live_view(timer: bool) -> None:
    """The plane, the losses and the coverage, each beside its lesson (a fragment while playing)."""
    r = runner()
    if timer and not r.playing:                                # paused itself (error or idle): stop the timer
        st.rerun()
    if r.error:
        st.error(md_escape(r.error))
    v = r.view()
    plane, losses, cover = P.figures(v)
    covered = f"{v.covered[-1]}/{v.n_modes}" if v.n_modes else "n/a"
    last = (f" · D loss {v.d_loss[-1]:.3g} · G loss {v.g_loss[-1]:.3g} · |∇G| {v.g_grad[-1]:.2g}"
            if len(v.d_loss) else "")
    st.caption(f"{'playing' if r.playing else 'paused'} · step {v.step} · modes covered {covered}{last}")
    ss = st.session_state
    ss.pg_turn = turn = 1 - ss.get("pg_turn", 1)
    for fig, key, lessons in zip((plane, losses, cover), CHARTS,
                                 (("generator", "discriminator", "arrows"), ("game", "losses"),
                                  ("collapse", "wasserstein")), strict=True):
        left, right = st.columns([3, 2])
        buffered_chart(left, fig, key, turn)
        right.markdown("\n\n".join(EXPLAIN[k] for k in lessons))
    stack_order(turn)


def main() -> None:
    ss = st.session_state
    sticky.restore(STICKY)                                     # back from another page: the same game
    if "pg_loss" not in ss:                                    # first run: start from the stable preset
        ss.pg_preset = "Stable"
        apply_preset()
    st.html(f"<style>{STACK_CSS}</style>")
    st.title("GAN playground")
    st.caption("A generator and a discriminator, each a small MLP, play their game on points in the plane.")
    upload = sidebar_controls()
    sticky.remember(STICKY)
    settings = current_settings()
    points, points_key = uploaded_points(upload)
    if settings.target == "csv" and points is None:
        st.info("Upload a CSV file of points in the sidebar to train on them.")
        return
    ensure_runner(settings, points, points_key)
    if ss.pg_preset in P.PRESETS:
        preset = P.PRESETS[ss.pg_preset]
        st.info(f"**{preset.title}** (try ~{preset.steps} steps): {preset.note}")
    buttons()
    timer = runner().playing
    st.fragment(run_every=0.2 if timer else None)(live_view)(timer)


if __name__ == "__main__":
    main()
