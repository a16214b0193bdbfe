"""Train: upload images (files, a folder or .zip archives), check them, and train a GAN on them.

Training runs in a separate worker process per job (explorer.scheduler), one at a time per
device; this page only submits jobs and shows them. A session sees its own jobs; `?job=<id>`
reattaches to one from anywhere (the id is the capability). The job list refreshes itself every
few seconds (st.fragment(run_every=...)), which is also what starts queued jobs and notices dead
workers.
"""

from __future__ import annotations

import secrets
import time

import streamlit as st

from explorer.config import PRESETS
from explorer.jobs import Job, JobError, JobRegistry, make_spec
from explorer.scheduler import Scheduler
from explorer.uploads import ingest_uploads, save_upload_set

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "zip"]
PRESET_HELP = {"quick": "small and fast; a first look", "balanced": "the shipped recipe", "film": "fast on a CPU",
               "best": "largest; wants a GPU", "classic-dcgan": "the textbook baseline"}
REFRESH_S = 3


@st.cache_resource(show_spinner=False)
def scheduler() -> Scheduler:
    """One scheduler per server process; its first use resumes jobs a previous server left behind."""
    s = Scheduler(JobRegistry())
    s.ensure_running()
    return s


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "–"
    s = int(s)
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def _link(job_id: str) -> str:
    base = str(getattr(st.context, "url", "") or "").split("?")[0]
    return f"{base}?job={job_id}"


ss = st.session_state
ss.setdefault("owner", secrets.token_urlsafe(16))
sched = scheduler()
reg = sched.registry
st.title("Train a GAN on your images")

# ---------------------------------------------------------------- 1. data
st.subheader("1. Your images")
mode = st.radio("Upload", ["files or .zip archives", "a folder"], horizontal=True, key="up_mode")
files = st.file_uploader("Images (PNG, JPEG, WEBP, BMP, GIF) or .zip archives of them", type=IMAGE_TYPES,
                         accept_multiple_files="directory" if mode == "a folder" else True, key="up_files")
c1, c2, c3, c4 = st.columns(4)
resolution = c1.selectbox("Resolution", [32, 64, 128], index=1, key="up_res")
channels = 3 if c2.radio("Colour", ["RGB", "greyscale"], key="up_ch", horizontal=True) == "RGB" else 1
fit = c3.radio("Non-square images", ["crop", "pad"], key="up_fit", horizontal=True)
labels = c4.toggle("Folders are classes", key="up_labels",
                   help="Each top-level folder (or each .zip) becomes a class; the model can then draw each class.")
key = (tuple(f.file_id for f in files or []), resolution, channels, fit, labels)
if files and ss.get("report_key") != key and st.button("Check images", type="primary", key="up_check"):
    with st.spinner(f"Decoding and checking {len(files)} file(s)…"):
        ss["report"] = ingest_uploads([(f.name, f.getvalue()) for f in files], resolution=resolution,
                                      channels=channels, fit=fit, labels=labels)
        ss["report_key"] = key
report = ss.get("report") if ss.get("report_key") == key and files else None
if report is not None:
    (st.success if len(report) else st.error)(report.summary())
    if len(report):
        st.image(report.preview_png(64, scale=max(1, 128 // resolution)), caption="the first 64 images, as trained")
    if report.rejected:
        with st.expander(f"{len(report.rejected)} file(s) left out: {report.counts}"):
            st.dataframe([{"file": n, "reason": r} for n, r in report.rejected], hide_index=True)
    if report.notes:
        with st.expander(f"{len(report.notes)} conversion note(s): {report.note_counts}"):
            st.dataframe([{"file": n, "note": r} for n, r in report.notes], hide_index=True)

# ---------------------------------------------------------------- 2. train
st.subheader("2. Training")
if report is None or len(report) == 0:
    st.info("Upload images and press **Check images** first.")
else:
    c1, c2, c3 = st.columns(3)
    preset = c1.selectbox("Recipe", [p for p in PRESET_HELP if p in PRESETS], key="tr_preset",
                          format_func=lambda p: f"{p}: {PRESET_HELP[p]}")
    minutes = c2.number_input("Time limit (minutes)", 1, 24 * 60, 30, key="tr_minutes")
    name = c3.text_input("Name", "my-gan", max_chars=60, key="tr_name")
    nc = len(report.class_names) if labels and len(report.class_names) > 1 else 0
    if st.button("Start training", type="primary", key="tr_start"):
        try:
            folder = save_upload_set(report)
            spec = make_spec(folder, preset=preset, resolution=resolution, channels=channels, num_classes=nc,
                             name=name, fit=fit, steps=1_000_000, max_minutes=float(minutes),
                             checkpoint_every=250, sample_every=250, log_every=20)
            job_id = reg.submit(ss["owner"], spec)
            sched.tick()
            st.query_params["job"] = job_id
            st.toast("Training job queued")
        except (JobError, ValueError, OSError) as e:
            st.error(f"Could not start training: {e}")


# ---------------------------------------------------------------- 3. jobs
def _act(action, job_id: str) -> None:
    """Button callback: runs before the rerun, so the panel shows the new state at once."""
    try:
        action(job_id)
    except JobError as e:
        ss["job_warning"] = str(e)


def _job_panel(job: Job) -> None:
    p, pos = job.progress, reg.queue_position(job.id)
    head = {"queued": f"waiting: {pos} job(s) ahead", "interrupted": "interrupted, resuming soon",
            "running": "cancelling…" if job.requested == "cancel" else "pausing…" if job.requested else "training"}
    st.markdown(f"**{job.name}** — {head.get(job.status, job.status)}")
    if p.get("steps"):
        frac = min(p.get("elapsed_s", 0) / (float(job.spec["config"]["train"]["max_minutes"] or 1e9) * 60), 1.0)
        st.progress(frac, text=f"step {p.get('step')} · {p.get('img_per_s', 0):.0f} img/s · "
                               f"{_fmt_s(p.get('elapsed_s'))} trained · G {p.get('loss_g', 0):.3f} "
                               f"D {p.get('loss_d', 0):.3f}")
    if p.get("sample"):
        try:
            st.image(p["sample"], caption="latest samples", width=320)
        except Exception:
            pass                                        # replaced by a newer sample meanwhile
    if job.error:
        st.error(job.error)
    for m in job.messages[-3:]:
        st.caption(f"{time.strftime('%H:%M', time.localtime(m['t']))} {m['kind']}: {m['message']}")
    b1, b2, b3, b4 = st.columns(4)
    actions = []
    if job.status in ("queued", "running", "interrupted"):
        actions.append((b1, "Pause", reg.pause))
    if job.status in ("paused", "failed"):
        actions.append((b1, "Resume", reg.resume))
    if job.status not in ("done", "cancelled"):
        actions.append((b2, "Cancel", reg.cancel))
    for col, label, act in actions:
        col.button(label, key=f"{label}-{job.id}", on_click=_act, args=(act, job.id))
    if job.status == "done":
        b3.markdown(f"Model **{job.run_dir.rsplit('/', 1)[-1]}** is in the model picker.")
    b4.text_input("Link", _link(job.id), key=f"link-{job.id}", label_visibility="collapsed")


@st.fragment(run_every=REFRESH_S)
def _jobs() -> None:
    try:
        sched.tick()
    except Exception as e:                              # e.g. the disk is full: say so, keep the page alive
        st.warning(f"The job scheduler could not run: {e}")
    if ss.get("job_warning"):
        st.warning(ss.pop("job_warning"))
    shown = reg.list_for(ss["owner"])
    linked = reg.get(st.query_params.get("job", ""))
    if linked is not None and linked.id not in {j.id for j in shown}:
        shown.insert(0, linked)
    elif st.query_params.get("job") and linked is None:
        st.warning("The job in this link does not exist (or the link is incomplete).")
    if not shown:
        st.caption("No training jobs yet.")
    for job in shown[:10]:
        with st.container(border=True):
            _job_panel(job)


st.subheader("3. Your training jobs")
_jobs()
