"""Train: upload images (files, a folder or .zip archives), check them, and train a GAN on them.

Training runs in a separate worker process per job (explorer.jobs.scheduler), one at a time per
device; this page only submits jobs and shows them. 1. upload and check (`explorer.data.uploads`);
2. start a run from scratch or by fine-tuning a model, with an estimated duration
(`train_start.start_panel`); 3. the session's jobs with live progress (`train_view.jobs_section`,
an st.fragment refreshing every few seconds). Jobs are kept in the URL (`?job=<id>`, the id is
the capability), so a shared link finds them again, and the owner token in the browser's
localStorage (`explorer.ui.owner`), so a reload lists the same jobs. The app's background scheduler
(started by streamlit_app.py) runs queued jobs even with this page closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from explorer.data.uploads import UploadReport, ingest_uploads
from explorer.fileio import megabytes
from explorer.gan.device import pick_device
from explorer.imaging.decode import Limits
from explorer.jobs.scheduler import background_scheduler
from explorer.ui import sticky
from explorer.ui.owner import owner_token
from explorer.ui.text import md_escape
from explorer.ui.train_start import start_panel
from explorer.ui.train_view import jobs_section, remember_job

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "zip"]

STICKY = ("up_mode", "up_res", "up_ch", "up_fit", "up_labels", "tr_from", "tr_source", "tr_preset", "tr_name")


@dataclass(frozen=True)
class UploadChoice:
    """What the upload widgets say: the files and how to read them."""
    files: list[Any]
    resolution: int
    channels: int
    fit: str
    labels: bool

    @property
    def key(self) -> tuple[Any, ...]:
        return (tuple(f.file_id for f in self.files), self.resolution, self.channels, self.fit, self.labels)


def upload_widgets() -> UploadChoice:
    """Section 1's widgets."""
    mode = st.radio("Upload", ["files or .zip archives", "a folder"], horizontal=True, key="up_mode")
    lim = Limits()
    files = st.file_uploader("Images (PNG, JPEG, WEBP, BMP, GIF) or .zip archives of them", type=IMAGE_TYPES,
                             accept_multiple_files="directory" if mode == "a folder" else True, key="up_files",
                             help=f"Each image at most {megabytes(lim.max_file_bytes)} and "
                                  f"{lim.max_pixels // 1_000_000} megapixels (inside a .zip too); a .zip as large as "
                                  f"the box allows; at most {lim.max_files:,} files and "
                                  f"{megabytes(lim.max_total_bytes)} are read in all.")
    c1, c2, c3, c4 = st.columns(4)
    resolution = c1.selectbox("Resolution", [32, 64, 128], index=1, key="up_res")
    channels = 3 if c2.radio("Colour", ["RGB", "greyscale"], key="up_ch", horizontal=True) == "RGB" else 1
    fit = c3.radio("Non-square images", ["crop", "pad"], key="up_fit", horizontal=True)
    labels = c4.toggle("Folders are classes", key="up_labels",
                       help="Each top-level folder (or each .zip) becomes a class; the model can then draw each "
                            "class.")
    return UploadChoice(list(files or []), int(resolution), channels, str(fit), bool(labels))


def checked_report(up: UploadChoice) -> tuple[UploadReport | None, bool]:
    """The report of the checked upload (decoding it when the user asks) and whether it was kept from earlier."""
    ss = st.session_state
    key = up.key
    if up.files and ss.get("report_key") != key and st.button("Check images", type="primary", key="up_check"):
        with st.spinner(f"Decoding and checking {len(up.files)} file(s)…"):
            ss["report"] = ingest_uploads([(f.name, f.getvalue()) for f in up.files], resolution=up.resolution,
                                          channels=up.channels, fit=up.fit, labels=up.labels)
            ss["report_key"] = key
    # the upload box empties when the page is left: the images checked earlier stay, if the settings match
    kept = not up.files and ss.get("report") is not None and tuple(ss.get("report_key") or ())[1:] == key[1:]
    report = ss.get("report") if (up.files and ss.get("report_key") == key) or kept else None
    return report, kept


def report_panel(report: UploadReport, kept: bool, resolution: int) -> None:
    """What was read, what was left out (each file with its reason) and what was converted."""
    if kept:
        st.caption("The images you checked earlier in this session (the upload box empties when you leave "
                   "the page); upload again to change them.")
    if report.partial:          # a cap stopped reading: never a success banner
        st.warning(f"Only part of the upload was read ({md_escape(report.stopped)}): {md_escape(report.summary())}. "
                   "Each file that was not read is named below with its reason.")
    else:
        (st.success if len(report) else st.error)(md_escape(report.summary()))
    if len(report):
        st.image(report.preview_png(64, scale=max(1, 128 // resolution)), caption="the first 64 images, as trained")
    if report.rejected:
        with st.expander(md_escape(f"{len(report.rejected)} file(s) left out: "
                                   + ", ".join(f"{k} ({v})" for k, v in report.counts.items()))):
            st.caption("Identical reasons, counted:")
            st.dataframe(report.reason_groups(), hide_index=True, key="up_reason_groups")
            st.caption("Every file left out:")
            st.dataframe([{"file": n, "reason": r} for n, r in report.rejected], hide_index=True,
                         key="up_rejected")
    if report.notes:
        with st.expander(md_escape(f"{len(report.notes)} conversion note(s): "
                                   + ", ".join(f"{k} ({v})" for k, v in report.note_counts.items()))):
            st.dataframe([{"file": n, "note": r} for n, r in report.notes], hide_index=True)


def main() -> None:
    sticky.restore(STICKY)            # a visit to another page keeps this page's choices
    owner_token()                     # ss["owner"]: the same for a browser across reloads
    sched = background_scheduler()
    st.title("Train a GAN on your images")

    st.subheader("1. Your images")
    up = upload_widgets()
    report, kept = checked_report(up)
    if report is not None:
        report_panel(report, kept, up.resolution)

    st.subheader("2. Training")
    if report is None or len(report) == 0:
        st.info("Upload images and press **Check images** first.")
    else:
        job_id = start_panel(report, up.fit, up.labels, sched.registry, sched, str(pick_device("auto")))
        if job_id:
            remember_job(job_id)
    sticky.remember(STICKY)

    st.subheader("3. Your training jobs")
    if sched.last_error:
        st.warning(f"The background job scheduler reports: {md_escape(sched.last_error)}")
    jobs_section(sched.registry, sched)


if __name__ == "__main__":
    main()
