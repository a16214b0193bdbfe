"""The Train page's job list and live progress panel (drawn inside an auto-refreshing fragment).

`jobs_section(reg, sched)` lists a session's jobs (and those named in the URL, so a reload or a
shared link finds them again) and draws the full panel for the open one: progress bar with ETA
and img/s, loss, D(real)/D(fake), augmentation and quality curves (plotly, from metrics.jsonl,
read incrementally by `explorer.jobs.runlog`), the sample grid from fixed noise with a history
slider, and, once done, the model card and a download of the exported generator.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from explorer.jobs.registry import Job, JobError, JobRegistry
from explorer.jobs.runlog import read_metrics, sample_steps, thin
from explorer.jobs.scheduler import Scheduler
from explorer.ui import pages
from explorer.ui.text import md_escape

ss = st.session_state
REFRESH_S = 3
HEAD = {"queued": "waiting", "interrupted": "interrupted, resuming soon", "running": "training",
        "paused": "paused", "failed": "failed", "cancelled": "cancelled", "done": "done"}


def fmt_s(s: float | None) -> str:
    if s is None:
        return "–"
    s = int(s)
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def url_jobs() -> list[str]:
    return [j for j in st.query_params.get_all("job") if j]


def remember_job(job_id: str) -> None:
    """Put a job in the URL (newest first), so a reload or a bookmark shows it again."""
    ids = [job_id] + [j for j in url_jobs() if j != job_id]
    st.query_params["job"] = ids[:10]
    ss["open_job"] = job_id


def _link(job_id: str) -> str:
    base = str(getattr(st.context, "url", "") or "").split("?")[0]
    return f"{base}?job={job_id}"


def _act(action, job_id: str) -> None:
    """Button callback: runs before the rerun, so the panel shows the new state at once."""
    try:
        action(job_id)
    except JobError as e:
        ss["job_warning"] = str(e)


# ----------------------------------------------------------------------------- pieces of the panel

def _progress_bar(job: Job) -> None:
    p = job.progress
    steps = p.get("steps") or job.spec["config"]["train"]["steps"]
    step = p.get("step", 0)
    limit = float(job.spec["config"]["train"].get("max_minutes") or 0) * 60
    frac = max(step / max(steps, 1), min(p.get("elapsed_s", 0) / limit, 1.0) if limit else 0.0)
    if job.status == "done":
        frac = 1.0
    bits = [f"step {step:,} / {steps:,}"]
    if job.status == "running" and p.get("img_per_s"):
        bits += [f"{p['img_per_s']:.0f} img/s", f"ETA {fmt_s(p.get('eta_s'))}"]
    bits.append(f"{fmt_s(p.get('elapsed_s'))} trained")
    if p.get("swd") is not None:
        bits.append(f"SWD {p['swd']:.1f}")
    st.progress(min(frac, 1.0), text=" · ".join(bits))


def _curves(run: Path) -> None:
    progress, quality = read_metrics(run / "metrics.jsonl")
    if not progress and not quality:
        st.caption("Curves appear after the first logged steps.")
        return
    rows = thin(progress)
    x = [r["step"] for r in rows]
    fig = make_subplots(rows=1, cols=4, horizontal_spacing=0.06,
                        subplot_titles=("losses", "D raw scores: real / fake", "augmentation p",
                                        "quality: SWD (lower is better)"))
    for col, key, name in ((1, "loss_g", "G loss"), (1, "loss_d", "D loss"), (2, "d_real", "D(real)"),
                           (2, "d_fake", "D(fake)"), (3, "augment_p", "aug. p")):
        fig.add_trace(go.Scatter(x=x, y=[r.get(key) for r in rows], name=name, mode="lines"), row=1, col=col)
    if quality:
        fig.add_trace(go.Scatter(x=[q["step"] for q in quality], y=[q["swd"] for q in quality], name="SWD",
                                 mode="lines+markers"), row=1, col=4)
    fig.update_yaxes(range=[-0.02, 1.02], row=1, col=3)      # a probability: a fixed axis, so noise near 1 stays flat
    fig.update_layout(height=290, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))
    fig.update_annotations(font_size=12)
    st.plotly_chart(fig, key=f"curves-{run.name}", config={"displayModeBar": False})


def _samples(job: Job, run: Path) -> None:
    found = sample_steps(run)
    if not found:
        st.caption("Sample grids from fixed noise appear every "
                   f"{job.spec['config']['train'].get('sample_every')} steps.")
        return
    steps = [s for s, _ in found]
    key, follow = f"hist-{job.id}", f"hist-last-{job.id}"
    if len(steps) > 1:
        if ss.get(key) not in steps or ss.get(key) == ss.get(follow):   # at the newest: keep following
            ss[key] = steps[-1]
        ss[follow] = steps[-1]
        chosen = st.select_slider("Sample history (same noise every time)", steps, key=key,
                                  format_func=lambda s: f"step {s:,}")
    else:
        chosen = steps[0]
    try:
        st.image(str(dict(found)[chosen]), caption=f"samples at step {chosen:,}", width=384)
    except Exception:
        pass                                                   # replaced while being read: next refresh


@st.cache_data(show_spinner=False, max_entries=8)
def _zip(run_dir: str, mtime: float) -> bytes:
    buf = io.BytesIO()
    run = Path(run_dir)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("model.json", "model.safetensors", "model_card.md"):
            if (run / name).exists():
                z.write(run / name, f"{run.name}/{name}")
    return buf.getvalue()


STOPPED = ("cancelled", "paused", "failed")


def _keep(job: Job, run: Path) -> None:
    """on_click: export a stopped run's last good checkpoint as its model."""
    from explorer.gan.checkpoint import latest_training
    from explorer.jobs.worker import export_job_model
    found = latest_training(run)
    try:
        if found is None:
            raise FileNotFoundError("it has no readable checkpoint")
        export_job_model(job, run, found)
    except (OSError, ValueError) as e:
        ss["job_warning"] = f"Could not keep {job.name!r} as a model: {e}"


def _finished(job: Job, run: Path) -> None:
    name = run.name
    st.success(f"Model **{md_escape(name)}** is in the model picker (sidebar, “{md_escape(name + ' (trained)')}”): "
               "explore it on the Explore page (the job computed its edit directions before it ended; any it "
               "could not are computed there on first use).")
    model = run / "model.json"
    if model.exists():
        st.download_button("Download the model (.zip: safetensors + JSON + card)",
                           data=lambda: _zip(str(run), model.stat().st_mtime), file_name=f"{name}.zip",
                           mime="application/zip", key=f"dl-{job.id}", on_click="ignore")
    card = run / "model_card.md"
    if card.exists():
        with st.expander("Model card"):
            st.markdown(card.read_text(encoding="utf-8"))


def trained_checkpoints(run: Path) -> list[Path]:
    """The run's checkpoints after at least one training step (step 0 is the untrained start)."""
    return [p for p in (run / "checkpoints").glob("step-*.json") if p.stem != "step-00000000"]


def _controls(job: Job, reg: JobRegistry) -> None:
    b1, b2, b3 = st.columns([1, 1, 3])
    if job.status == "running" and job.requested == "cancel":
        b1.caption("Stopping: the worker ends at its next step.")
    elif job.status in ("queued", "running", "interrupted"):
        b1.button("Pause", key=f"Pause-{job.id}", on_click=_act, args=(reg.pause, job.id))
    if job.status in ("paused", "failed"):
        b1.button("Resume", key=f"Resume-{job.id}", on_click=_act, args=(reg.resume, job.id))
    if job.status not in ("done", "cancelled") and job.requested != "cancel":
        b2.button("Cancel", key=f"Cancel-{job.id}", on_click=_act, args=(reg.cancel, job.id))
    b3.text_input("Link to this job", _link(job.id), key=f"link-{job.id}", label_visibility="collapsed")


def job_panel(job: Job, reg: JobRegistry, full: bool) -> None:
    head = HEAD.get(job.status, job.status)
    if job.status == "queued":
        head = f"waiting: {reg.queue_position(job.id)} job(s) ahead"
    elif job.status == "running" and job.requested:
        head = "cancelling…" if job.requested == "cancel" else "pausing…"
    st.markdown(f"**{md_escape(job.name)}** — {head}")
    if job.progress.get("steps") or job.status == "done":
        _progress_bar(job)
    if job.error:
        st.error(md_escape(job.error))
    if full:
        run = Path(job.run_dir)
        _curves(run)
        _samples(job, run)
        if job.status == "done" or (job.status in STOPPED and (run / "model.json").exists()):
            _finished(job, run)
        elif job.status in STOPPED and not trained_checkpoints(run):
            st.caption("It stopped before its first checkpoint after training began: there is nothing to keep.")
        elif job.status in STOPPED:
            st.button("Keep it as a model (its last checkpoint)", key=f"keep-{job.id}", on_click=_keep,
                      args=(job, run), help="Export what it has learnt so far; it joins the model picker")
        for m in job.messages[-3:]:
            st.caption(md_escape(f"{time.strftime('%H:%M', time.localtime(m['t']))} {m['kind']}: {m['message']}"))
    else:
        st.button("Show progress", key=f"open-{job.id}", on_click=lambda j=job.id: ss.update(open_job=j))
    _controls(job, reg)


@st.fragment(run_every=REFRESH_S)
def jobs_section(reg: JobRegistry, sched: Scheduler) -> None:
    try:
        sched.tick()
    except Exception as e:                              # e.g. the disk is full: say so, keep the page alive
        st.warning(f"The job scheduler could not run: {md_escape(e)}")
    if pages.picker_is_stale():                         # a run finished or was kept: the sidebar lists it now
        st.rerun(scope="app")
    if ss.get("job_warning"):
        st.warning(md_escape(ss.pop("job_warning")))
    shown = reg.list_for(ss["owner"])
    have = {j.id for j in shown}
    missing = 0
    for jid in url_jobs():
        if jid in have:
            continue
        job = reg.get(jid)
        if job is None:
            missing += 1
        else:
            shown.append(job)
            have.add(jid)
    if missing:
        st.warning(f"{missing} job(s) in this link do not exist (or the link is incomplete).")
    if not shown:
        st.caption("No training jobs yet.")
        return
    shown.sort(key=lambda j: j.created, reverse=True)
    named = [j for j in url_jobs() if j in have]
    if ss.get("open_job") not in have and named:
        ss["open_job"] = named[0]                      # a link opens the job it names, not the session's newest
    open_id = ss.get("open_job") if ss.get("open_job") in have else shown[0].id
    for job in shown[:10]:
        with st.container(border=True):
            job_panel(job, reg, full=job.id == open_id)
