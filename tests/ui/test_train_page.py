"""The Train page through Streamlit's AppTest: upload, check, start (from scratch, then fine-tuning the
model it made), live progress (plots, sample history slider), the finished model in the picker,
and jobs found again from the URL after a reload. Jobs run in real worker processes (1 thread)
started by the app's own scheduler; the duration estimate is faked (tests/test_train_support.py
measures a real one)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.data import uploads
from explorer.data.archives import UploadLimits
from explorer.data.store import save_dataset
from explorer.jobs import scheduler, speed
from explorer.jobs.registry import JobRegistry, make_spec
from explorer.jobs.runlog import read_metrics
from tests.factories import export_generator, make_dataset, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
TIMEOUT = 180.0


def png(i: int, size: int = 20) -> bytes:
    a = (np.random.default_rng(i).random((size, size, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    export_generator(tmp_path / "pre" / "tiny", ["a", "b", "c"], model_card="tiny")
    use_dirs(monkeypatch, tmp_path)
    measured = []

    def fake_estimate(cfg, device="cpu", busy=False, timeout=0.0):
        measured.append(cfg)
        est = speed.Estimate(0.05, device, 1, "measured", busy)
        speed._store(speed.speed_key(cfg, device), est)
        return est
    monkeypatch.setattr(speed, "estimate", fake_estimate)
    mine = set(scheduler._CHILDREN)
    yield JobRegistry(tmp_path / "data" / "jobs.sqlite3"), measured
    scheduler.stop_background_schedulers()
    for pid, p in list(scheduler._CHILDREN.items()):      # only workers this test started
        if pid not in mine and p.poll() is None:
            p.kill()
            p.wait()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def wait_done(reg: JobRegistry, job_id: str):
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        job = reg.get(job_id)
        if job.status in ("done", "failed", "cancelled"):
            assert job.status == "done", (job.error, Path(job.run_dir, "worker.log").read_text()[-2000:])
            return job
        time.sleep(0.3)
    pytest.fail(f"job did not finish: {reg.get(job_id)}")


def texts(at: AppTest, kind: str = "markdown") -> list[str]:
    return [e.value for e in at.get(kind)]


def adv(at: AppTest, prefix: str):
    """The advanced-settings number box whose key starts with `prefix` (keys carry the recipe's signature)."""
    hits = [w for w in at.number_input if str(w.key).startswith(prefix)]
    assert len(hits) == 1, [w.key for w in at.number_input]
    return hits[0]


def start(at: AppTest, steps: int, **extra) -> str:
    """Tiny settings in the advanced panel, then Start; returns the new job's id (from the URL)."""
    adv(at, "adv_steps_").set_value(steps)
    run(at)
    adv(at, "adv_batch_").set_value(8)
    adv(at, f"adv_samples_{steps}_").set_value(2)
    adv(at, f"adv_ckpt_{steps}_").set_value(2)
    for k, v in extra.items():
        adv(at, k).set_value(v)
    run(at)
    assert any(t.startswith(f"≈ **< 1 min** for {steps} steps on cpu") for t in texts(at))
    at.button(key="tr_start").click()
    run(at)
    return at.query_params["job"][0] if isinstance(at.query_params["job"], list) else at.query_params["job"]


def test_upload_check_train_watch_then_finetune(app_env):
    reg, measured = app_env
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/train_page.py")
    run(at)
    files = [(f"cats/img{i}.png", png(i), "image/png") for i in range(12)]
    files.append(("cats/broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png"))
    at.file_uploader(key="up_files").set_value(files)
    at.selectbox(key="up_res").set_value(32)
    at.radio(key="up_ch").set_value("greyscale")
    run(at)
    at.button(key="up_check").click()
    run(at)
    assert texts(at, "success")[0] == "12 image(s) accepted; 1 left out (corrupt: 1)"
    assert at.radio(key="tr_preset").options == ["quick look", "balanced", "best quality",
                                                 "fast on a CPU (FiLM generator)", "textbook DCGAN baseline"]
    assert any("≈ **" in t and "for 500 steps on cpu" in t for t in texts(at))        # quick: 500 steps
    assert "DiffAugment is on" in " ".join(texts(at, "caption"))                        # 12 < 1000 images
    assert measured and measured[0].train.augment == "color,translation,cutout"
    at.radio(key="tr_preset").set_value("textbook DCGAN baseline")      # a recipe switch sticks, also after
    run(at)                                                             # a later, unrelated rerun
    at.text_input(key="tr_name").set_value("baseline")
    run(at)
    assert adv(at, "adv_steps_").value == 3000 and at.selectbox(key=adv(at, "adv_steps_").key.replace(
        "adv_steps_", "adv_loss_")).value == "nonsaturating"
    at.radio(key="tr_preset").set_value("quick look")
    at.text_input(key="tr_name").set_value("my-gan")
    run(at)
    assert adv(at, "adv_steps_").value == 500
    at.switch_page("explorer/ui/models_page.py")                       # a look elsewhere keeps the checked
    run(at)                                                             # images and the choices
    at.switch_page("explorer/ui/train_page.py")
    run(at)
    assert texts(at, "success")[0] == "12 image(s) accepted; 1 left out (corrupt: 1)"
    assert at.selectbox(key="up_res").value == 32 and at.radio(key="up_ch").value == "greyscale"
    assert at.text_input(key="tr_name").value == "my-gan"

    job_id = start(at, steps=6)
    assert any(t.startswith("**my-gan** — ") for t in texts(at))                        # status shown at once
    job = wait_done(reg, job_id)
    run(at)
    md = texts(at)
    assert "**my-gan** — done" in md
    bar = at.get("progress")[0]
    assert bar.proto.text.startswith("step 6 / 6") and "SWD" in bar.proto.text
    fig = at.get("plotly_chart")[0].proto.spec
    assert all(name in fig for name in ('"G loss"', '"D(real)"', '"aug. p"', '"SWD"'))
    assert json.loads(fig)["layout"]["yaxis3"]["range"] == [-0.02, 1.02]              # p on its whole scale
    hist = at.select_slider(key=f"hist-{job_id}")
    assert hist.options == ["step 2", "step 4", "step 6"] and hist.value == 6          # follows the newest
    assert at.get("image")[-1].proto.imgs[0].caption == "samples at step 6"
    hist.set_value(2)
    run(at)
    assert at.get("image")[-1].proto.imgs[0].caption == "samples at step 2"
    assert at.select_slider(key=f"hist-{job_id}").value == 2                           # the user's choice stays
    assert [q["step"] for q in read_metrics(Path(job.run_dir) / "metrics.jsonl")[1]] == [0, 2, 4, 6]
    run_name = Path(job.run_dir).name
    assert f"{run_name} (trained)" in at.selectbox(key="model").options                 # in the model picker
    assert at.get("download_button")[0].proto.label.startswith("Download the model")
    assert any(t.startswith("# my-gan\n") and "## Quality" in t for t in md)            # the model card

    # Fine-tune the model just made: its run keeps D, so FreezeD is on for this small set.
    at.radio(key="tr_from").set_value("fine-tune a model")
    run(at)
    assert at.selectbox(key="tr_source").options == ["tiny (pretrained, film, 3 classes)",
                                                     f"{run_name} (trained, style)"]
    at.selectbox(key="tr_source").set_value(f"{run_name} (trained, style)")
    run(at)
    assert adv(at, "adv_freeze_").value == 1 and not adv(at, "adv_freeze_").disabled
    assert at.radio(key="tr_preset").options == ["quick look", "balanced", "best quality"]
    ft_id = start(at, steps=4)
    ft = wait_done(reg, ft_id)
    assert ft.spec["init_from"] == job.run_dir and ft.spec["config"]["train"]["freeze_d"] == 1
    tuned = next(m["message"] for m in ft.messages if "fine-tuning from" in m["message"])
    assert "(G, G_ema and D)" in tuned and "fine-tuning from runs/" in tuned      # no server path in the browser

    # A reload is a new session: the jobs come back from the URL. The new model opens in the explorer.
    again = AppTest.from_file(APP, default_timeout=120)
    again.query_params["job"] = [ft_id, job_id]
    again.query_params["m"] = run_name
    run(again)
    assert again.selectbox(key="model").value == f"{run_name} (trained)" and len(again.get("image")) >= 1
    again.switch_page("explorer/ui/train_page.py")
    again.query_params["job"] = [ft_id, job_id]
    run(again)
    heads = [t for t in texts(again) if t.startswith("**my-gan** — ")]
    assert heads == ["**my-gan** — done", "**my-gan** — done"]
    assert again.button(key=f"open-{job_id}") is not None                               # the other one: compact


def _queued_jobs(reg: JobRegistry, tmp_path: Path, owner: str, *names: str) -> list[str]:
    """Jobs of `owner` that stay queued: device "cpu", which the app's scheduler (device "auto") never runs."""
    ds = save_dataset(make_dataset(n=8, classes=3), tmp_path / "ds")
    return [reg.submit(owner, make_spec(ds, preset="tiny", resolution=32, channels=1, num_classes=3, name=n,
                                        device="cpu")) for n in names]


def test_a_link_opens_the_job_it_names_not_the_newest(app_env, tmp_path):
    reg, _ = app_env
    owner = "a-browser-that-owns-two-jobs"
    a, b = _queued_jobs(reg, tmp_path, owner, "job A", "job B")           # B is the newer one
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.session_state["owner"] = owner
    at.switch_page("explorer/ui/train_page.py")
    at.query_params["job"] = a                                          # /train?job=A
    run(at)
    compact = {str(w.key) for w in at.button if str(w.key).startswith("open-")}
    assert compact == {f"open-{b}"}                                     # A is expanded, B is not
    at.button(key=f"open-{b}").click()                                  # the person's choice then wins
    run(at)
    assert {str(w.key) for w in at.button if str(w.key).startswith("open-")} == {f"open-{a}"}


def test_a_partial_read_is_a_warning_that_names_every_unread_file(app_env, monkeypatch):
    monkeypatch.setattr(uploads, "DEFAULT_LIMITS", UploadLimits(max_files=3))
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/train_page.py")
    run(at)
    files = [(f"set/img{i}.png", png(i), "image/png") for i in range(5)]
    files += [(f"set/copy{i}.png", png(0), "image/png") for i in range(3)]   # duplicates: not in the budget
    at.file_uploader(key="up_files").set_value(files)
    run(at)
    at.button(key="up_check").click()
    run(at)
    assert not at.success                                               # never a success banner
    warning = at.warning[0].value
    assert warning.startswith("Only part of the upload was read (stopped: more than 3 files; 2 file(s) were not "
                              "read)") and "3 image(s) accepted" in warning
    rejected = next(d.value for d in at.dataframe if list(d.value.columns) == ["file", "reason"])
    unread = rejected[rejected["reason"] == "not read: more than 3 files"]["file"].tolist()
    assert unread == ["set/img3.png", "set/img4.png"]                   # each one named, no "(rest)" row
    groups = next(d.value for d in at.dataframe if "examples" in d.value.columns)
    assert groups["files"].tolist() == [3, 2]                           # identical reasons, counted


def test_the_jobs_fragment_reruns_the_app_when_the_picker_is_out_of_date(monkeypatch):
    """A finished or kept run appears while only the jobs fragment reruns: it asks for a full rerun."""
    from types import SimpleNamespace

    from explorer.ui import pages
    on_disk = [SimpleNamespace(name="fonts", source="pretrained")]
    monkeypatch.setattr(pages, "models", lambda: list(on_disk))
    ss = {"_picker_labels": ["fonts (pretrained)"]}
    assert not pages.picker_is_stale(ss)
    on_disk.append(SimpleNamespace(name="my-gan-20261202-1", source="trained"))
    assert pages.picker_is_stale(ss)
    assert not pages.picker_is_stale({})                        # no picker drawn yet: nothing to refresh


def test_a_run_stopped_before_training_has_nothing_to_keep(tmp_path):
    from explorer.ui.train_view import trained_checkpoints
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    (ck / "step-00000000.json").write_text("{}")
    assert trained_checkpoints(tmp_path) == []                  # only the untrained start: no "Keep" offer
    (ck / "step-00000004.json").write_text("{}")
    assert [p.name for p in trained_checkpoints(tmp_path)] == ["step-00000004.json"]
