"""The Train page's "start a run" panel: from scratch or fine-tuning, recipe, estimated duration,
advanced settings, and the Start button. `start_panel(...)` draws it and submits the job.

The estimate is measured once per config and device (`explorer.jobs.speed`, a few steps in a
subprocess) and cached; the advanced widgets reset to the recipe's defaults whenever the recipe,
the starting model or the upload changes.
"""

from __future__ import annotations

import os

import streamlit as st

from explorer.config import AUGMENTS, LOSSES, ModelConfig
from explorer.data.store import save_upload_set
from explorer.data.uploads import UploadReport
from explorer.gan.finetune import Source, sources
from explorer.jobs import speed
from explorer.jobs.plan import RECIPES, SMALL_SET, intervals, plan, recipes, with_overrides
from explorer.jobs.registry import JobError, JobRegistry, make_spec
from explorer.jobs.scheduler import Scheduler
from explorer.ui import pages, sticky
from explorer.ui.text import md_escape

ss = st.session_state
FROM = ["scratch", "fine-tune a model"]


def _fmt_min(m: float) -> str:
    if m < 1:
        return "< 1 min"
    return f"{m / 60:.1f} h" if m >= 90 else f"{m:.0f} min"


def _advanced(cfg: ModelConfig, source: Source | None, sig: tuple) -> ModelConfig:
    """The expander of TrainConfig overrides; returns the config with them applied. Its widgets are new
    ones whenever `sig` (recipe, source, upload) changes, so they start from the new defaults."""
    t = cfg.train

    def key(name: str) -> str:
        return sticky.versioned(f"adv_{name}", *sig)

    with st.expander("Advanced settings", key="tr_advanced"):
        c1, c2, c3 = st.columns(3)
        loss = c1.selectbox("Loss", LOSSES, index=LOSSES.index(t.loss), key=key("loss"))
        aug = c2.multiselect("DiffAugment policies", AUGMENTS, default=t.augment_list, key=key("augment"),
                             help="Differentiable augmentation of real and fake images: essential below "
                                  f"{SMALL_SET} images")
        ada = c3.number_input("Adaptive augmentation target (0 = fixed strength)", 0.0, 1.0, float(t.ada_target),
                              0.05, key=key("ada"))
        lr_g = c1.number_input("Learning rate G", 1e-6, 1e-2, float(t.lr_g), 5e-5, format="%.6f",
                               key=key("lr_g"))
        lr_d = c2.number_input("Learning rate D", 1e-6, 1e-2, float(t.lr_d), 5e-5, format="%.6f",
                               key=key("lr_d"))
        batch = c3.number_input("Batch size", 1, 512, int(t.batch_size), key=key("batch"))
        steps = c1.number_input("Steps", 1, 10_000_000, int(t.steps), key=key("steps"))
        ema = c2.number_input("EMA half-life (thousands of images, 0 = off)", 0.0, 1000.0,
                              float(t.ema_half_life_k), key=key("ema"))
        minutes = c3.number_input("Time limit (minutes, 0 = none)", 0, 7 * 24 * 60, int(t.max_minutes),
                                  key=key("minutes"))
        every = intervals(int(steps))
        ck = c1.number_input("Checkpoint and quality point every N steps", 1, 1_000_000,
                             every["checkpoint_every"], key=key(f"ckpt_{steps}"))
        smp = c2.number_input("Sample grid every N steps", 1, 1_000_000, every["sample_every"],
                              key=key(f"samples_{steps}"))
        freeze = t.freeze_d
        if source is not None:
            nb = cfg.discriminator.num_blocks
            freeze = c3.number_input(f"FreezeD: lower discriminator blocks frozen (of {nb})", 0, nb,
                                     int(t.freeze_d), key=key("freeze"), disabled=not source.has_d,
                                     help=None if source.has_d else "needs the source's discriminator: runs "
                                     "trained here keep theirs, shipped models may carry one; this one has none")
    return with_overrides(cfg, loss=loss, augment=",".join(aug), ada_target=float(ada),
                          augment_p=t.augment_p if aug else 0.0, lr_g=float(lr_g), lr_d=float(lr_d),
                          batch_size=int(batch), steps=int(steps), ema_half_life_k=float(ema),
                          max_minutes=float(minutes), checkpoint_every=int(ck), sample_every=int(smp),
                          freeze_d=int(freeze) if source is not None and source.has_d else 0)


def _estimate(cfg: ModelConfig, device: str, busy: bool) -> None:
    """"≈ N min for M steps", measured once per config on this device."""
    est = speed.cached(cfg, device)
    if est is None:
        try:
            with st.spinner("Measuring a few training steps of this recipe on this machine (once)…"):
                est = speed.estimate(cfg, device, busy=busy)
        except RuntimeError as e:
            st.caption(f"No duration estimate: {md_escape(e)}")
            return
    steps, limit = cfg.train.steps, cfg.train.max_minutes
    text = (f"≈ **{_fmt_min(est.minutes(steps))}** for {steps:,} steps on {est.device} "
            f"({est.s_per_step:.2f} s per step of {cfg.train.batch_size} images, "
            f"{'measured over a few steps' if est.source == 'measured' else 'from a finished job'}"
            f"{', while the machine was busy' if est.busy else ''})")
    if limit and limit < est.minutes(steps):
        text += f"; the {limit:.0f} min time limit stops it near step {int(limit * 60 / est.s_per_step):,}"
    st.markdown(text)


def start_panel(report: UploadReport, fit: str, labels: bool, reg: JobRegistry, sched: Scheduler,
                device: str) -> str | None:
    """Draw the panel; returns the id of a job it submitted on this run, else None."""
    nc = len(report.class_names) if labels and len(report.class_names) > 1 else 0
    res, ch, n = report.resolution, report.channels, len(report)
    start = st.radio("Start from", FROM, horizontal=True, key="tr_from")
    source = None
    if start == FROM[1]:
        found = sources(pages.models(), res, ch, nc, class_names=report.class_names if nc else None)
        fits = [s for s in found if s.usable]
        if not fits:
            st.warning(f"No model here draws {res}x{res} {'RGB' if ch == 3 else 'greyscale'} images; "
                       "train from scratch, or change the resolution or colour above.")
            return None
        labels_ = [s.label for s in fits]
        pick = st.selectbox("Model to fine-tune", labels_, key="tr_source")
        source = fits[labels_.index(pick)]
        st.caption(f"Fine-tuning keeps its architecture and losses: {md_escape(source.note)}.")
        others = [s for s in found if not s.usable]
        if others:
            with st.expander(f"{len(others)} model(s) that do not fit these images"):
                for s in others:
                    st.caption(md_escape(f"{s.info.name} ({s.info.source}): {s.note}"))
    names = recipes(finetuning=source is not None)
    if ss.get("tr_preset") not in names:
        ss.pop("tr_preset", None)                       # e.g. "film" chosen, then fine-tuning picked
    recipe = st.radio("Recipe", names, horizontal=True, key="tr_preset", format_func=lambda r: RECIPES[r][0])
    sig = (recipe, source.info.name if source else None, res, ch, nc, n >= SMALL_SET)
    cfg = plan(recipe, res, ch, nc, n, source)
    if n < SMALL_SET:
        st.caption(f"{n} images (< {SMALL_SET:,}): DiffAugment is on"
                   + (" and the lower discriminator blocks are frozen (FreezeD)" if cfg.train.freeze_d else "")
                   + " to keep the discriminator from memorising them.")
    cfg = _advanced(cfg, source, sig)
    busy = (bool(reg.list_status("running", device=sched.device))
            or os.getloadavg()[0] > 0.75 * (os.cpu_count() or 1))
    _estimate(cfg, device, busy)
    name = st.text_input("Name", "my-gan", max_chars=60, key="tr_name")
    if not st.button("Start training", type="primary", key="tr_start"):
        return None
    try:
        folder = save_upload_set(report)               # content-addressed: the same images are stored once
        spec = make_spec(folder, config=cfg, name=name, fit=fit, labels=bool(nc),
                         init_from=source.init_path if source else None,
                         class_map=source.class_map if source else None)   # its note says classes start afresh
        job_id = reg.submit(ss["owner"], spec)
    except (JobError, ValueError, OSError) as e:
        st.error(f"Could not start training: {md_escape(e)}")
        return None
    sched.tick()
    st.toast("Training job queued")
    return job_id
