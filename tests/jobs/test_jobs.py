"""Tests for explorer.jobs.registry, explorer.jobs.scheduler and explorer.jobs.worker: real worker subprocesses on
tiny jobs (the `tiny` preset, 32 tiny images, 1 thread), plus registry-only tests that start no process.

Every worker is started by the Scheduler of the test itself; the fixture kills (by pid) any that
a failing test leaves behind, and nothing else."""

from __future__ import annotations

import errno
import json
import os
import signal
import time
import unicodedata
from pathlib import Path

import pytest
import torch

from explorer.config import preset
from explorer.data.store import save_dataset
from explorer.explore.direction_cache import cache_path, model_settings
from explorer.gan import checkpoint
from explorer.gan.events import Progress, Rollback
from explorer.gan.train import TrainingDiverged
from explorer.jobs import scheduler
from explorer.jobs.registry import MAX_RESTARTS, JobError, JobRegistry, make_spec
from explorer.jobs.scheduler import Scheduler
from explorer.jobs.worker import FAULT_ENV, JobReporter, describe_failure
from tests.factories import make_dataset, tiny_generator

TIMEOUT = 180.0   # generous: the test machine may be busy with other training runs


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LATENT_EXPLORER_THREADS", "1")
    reg = JobRegistry(tmp_path / "jobs.sqlite3")
    ds = save_dataset(make_dataset(n=32, classes=3), tmp_path / "dataset")
    mine = set(scheduler._CHILDREN)
    yield reg, Scheduler(reg), ds
    for pid, p in list(scheduler._CHILDREN.items()):     # only workers this test started
        if pid not in mine and p.poll() is None:
            p.kill()
            p.wait()


def spec(ds: Path, steps: int = 6, name: str = "tiny job", directions: bool = False, **train) -> dict:
    train.setdefault("checkpoint_every", 2)
    return make_spec(ds, preset="tiny", resolution=32, channels=1, num_classes=3, name=name, steps=steps,
                     directions=directions, **train)


def wait(reg: JobRegistry, sched: Scheduler | None, job_id: str, pred, what: str, timeout: float = TIMEOUT):
    """Tick the scheduler until pred(job) holds; fail with the job's state and worker log otherwise."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if sched is not None:
            sched.tick()
        job = reg.get(job_id)
        if pred(job):
            return job
        if job.status in ("done", "failed", "cancelled"):
            break                                               # it will not change any more
        time.sleep(0.2)
    log = Path(job.run_dir, "worker.log")
    pytest.fail(f"gave up waiting for {what}: {job.status} {job.error} {job.progress}\n"
                f"{log.read_text()[-3000:] if log.exists() else '(no worker.log)'}")


def ckpt_step(run_dir: str) -> int:
    j = checkpoint.latest_training(run_dir)
    return int(json.loads(j.read_text())["step"]) if j else 0


def resumed_from(job) -> list[int]:
    return [int(m["message"].split()[-1]) for m in job.messages if m["message"].startswith("resumed from step")]


# ----------------------------------------------------------------------------- with worker processes

def test_end_to_end_and_queueing(env, tmp_path):
    reg, sched, ds = env
    a = reg.submit("alice", spec(ds, name="First run", directions=True, direction_seeds=20))
    b = reg.submit("alice", spec(ds, name="Second run"))
    assert reg.queue_position(a) == 0 and reg.queue_position(b) == 1
    assert sched.tick() == a and sched.tick() is None          # one running job per device
    assert reg.get(a).status == "running" and reg.get(b).status == "queued" and reg.queue_position(b) == 1
    assert reg.queue_position(a) is None
    ja = wait(reg, sched, a, lambda j: j.status != "running" or reg.get(b).status == "running", "first job")
    assert ja.status == "done", ja.error
    jb = wait(reg, sched, b, lambda j: j.status not in ("queued", "running"), "second job")
    assert jb.status == "done" and jb.started >= ja.finished
    for job in (ja, jb):
        run = Path(job.run_dir)
        assert job.progress["step"] == 6 and job.progress["steps"] == 6 and job.progress["checkpoint_step"] == 6
        assert job.result["step"] == 6 and job.result["reason"] == "done" and job.result["images_seen"] == 48
        assert {"loss_g", "loss_d", "img_per_s", "train_seconds"} <= job.result.keys()
        assert job.pid is None and job.error is None and job.finished >= job.started
        meta = checkpoint.read_meta(run / "model.json")
        assert meta["model_card"].startswith(f"# {job.name}\n") and meta["class_names"] == ["class0", "class1",
                                                                                              "class2"]
        assert (run / "model_card.md").read_text() == meta["model_card"]
        assert job.id not in run.name                              # run folders are listed to everyone
    listed = {m.name for m in checkpoint.list_models(tmp_path / "no-pretrained", reg.runs_dir)}
    assert listed == {Path(ja.run_dir).name, Path(jb.run_dir).name}
    G, meta = checkpoint.load_generator(Path(ja.run_dir) / "model.json")
    assert G(torch.randn(2, G.cfg.z_dim), torch.tensor([0, 1])).shape == (2, 1, 32, 32)
    # the first job's edit directions were computed into the cache before it was marked done; not the second's
    for method in ("pca", "sefa", "attr"):
        assert cache_path(meta, method, 32, model_settings(G, method, None)).is_file(), method
    assert any(m["message"].startswith("edit directions ready: pca") for m in ja.messages)
    assert not any(m["message"].startswith("edit directions") for m in jb.messages)
    # ... and their quality figures went into its model card, as the shipped models' cards have them
    rows = meta["metrics"]["directions"]["rows"]
    assert meta["metrics"]["directions"]["n_seeds"] == 20 and {r["name"] for r in rows} >= {"brightness"}
    assert all(0 <= r["right_way"] <= 1 and "right_way_orth" in r for r in rows)
    assert "Edit directions" in meta["model_card"] and (Path(ja.run_dir) / "model_card.md").read_text() == \
        meta["model_card"]
    assert any(m["message"].startswith("direction quality in the model card (20 seeds") for m in ja.messages)
    assert "directions" not in (checkpoint.read_meta(Path(jb.run_dir) / "model.json").get("metrics") or {})


def test_sigkill_then_resume_loses_at_most_one_checkpoint_interval(env):
    reg, sched, ds = env
    every = 3
    j = reg.submit("alice", spec(ds, steps=2000, checkpoint_every=every))
    job = wait(reg, sched, j, lambda j: j.pid and ckpt_step(j.run_dir) >= 2 * every, "two checkpoints")
    assert job.pid in scheduler._CHILDREN                              # a worker this test started
    os.kill(job.pid, signal.SIGKILL)
    scheduler._CHILDREN[job.pid].wait()
    lines = Path(job.run_dir, "metrics.jsonl").read_text().splitlines()
    killed_at = max(json.loads(ln)["step"] for ln in lines if ln.endswith("}"))
    job = wait(reg, sched, j, lambda j: resumed_from(j), "the resumed worker")
    step = resumed_from(job)[0]
    assert killed_at - every <= step <= killed_at
    assert job.restarts == 1 and any("stopped unexpectedly" in m["message"] for m in job.messages)
    reg.cancel(j)
    job = wait(reg, sched, j, lambda j: j.status == "cancelled", "cancel")
    assert not Path(job.run_dir, "model.json").exists() and ckpt_step(job.run_dir) >= step


def test_server_restart_resumes_interrupted_jobs(env, tmp_path):
    reg, sched, ds = env
    j = reg.submit("alice", spec(ds, steps=2000, checkpoint_every=2))
    job = wait(reg, sched, j, lambda j: j.pid and ckpt_step(j.run_dir) >= 2, "a checkpoint")
    # A new server over the same file leaves a live worker alone.
    assert Scheduler(JobRegistry(reg.path)).ensure_running() is None
    assert reg.get(j).status == "running" and reg.get(j).pid == job.pid
    # The machine goes down: the worker dies with the server, whose objects are dropped.
    os.kill(job.pid, signal.SIGKILL)
    scheduler._CHILDREN[job.pid].wait()
    del reg, sched
    reg2 = JobRegistry(tmp_path / "jobs.sqlite3")
    sched2 = Scheduler(reg2)
    assert reg2.get(j).status == "running"                       # as the old server left it
    assert sched2.ensure_running() == j
    job = wait(reg2, sched2, j, lambda j: resumed_from(j), "the resumed worker")
    assert resumed_from(job)[0] >= 2 and job.restarts == 1
    # A polite SIGTERM (an admin, a shutdown) checkpoints and leaves the job interrupted, to be resumed.
    job = wait(reg2, None, j, lambda j: j.pid, "the new worker's pid")
    os.kill(job.pid, signal.SIGTERM)
    job = wait(reg2, None, j, lambda j: j.status == "interrupted", "the SIGTERM-ed worker to stop")
    assert job.pid is None and not Path(job.run_dir, "model.json").exists()
    job = wait(reg2, sched2, j, lambda j: len(resumed_from(j)) == 2, "the second resume")
    assert resumed_from(job)[1] >= resumed_from(job)[0]
    reg2.cancel(j)
    wait(reg2, sched2, j, lambda j: j.status == "cancelled", "cancel")


def test_pause_resume_cancel(env):
    reg, sched, ds = env
    x = reg.submit("alice", spec(ds, steps=2000, checkpoint_every=2))
    y = reg.submit("alice", spec(ds))
    assert reg.pause(y).status == "paused" and reg.queue_position(y) is None      # queued: at once
    assert reg.resume(y).status == "queued" and reg.cancel(y).status == "cancelled"
    with pytest.raises(JobError, match="cancelled"):
        reg.resume(y)
    wait(reg, sched, x, lambda j: j.status == "running" and ckpt_step(j.run_dir) >= 2, "a checkpoint")
    assert reg.pause(x).requested == "pause"
    job = wait(reg, sched, x, lambda j: j.status == "paused", "pause")
    paused_at = ckpt_step(job.run_dir)
    assert paused_at >= 2 and job.pid is None and job.requested is None
    assert not Path(job.run_dir, "model.json").exists()           # only finished runs reach the model picker
    assert sched.tick() is None                                   # nothing else is waiting
    assert reg.resume(x).status == "queued"
    job = wait(reg, sched, x, lambda j: resumed_from(j), "the resumed worker")
    assert resumed_from(job) == [paused_at]
    assert reg.cancel(x).requested == "cancel"
    job = wait(reg, sched, x, lambda j: j.status == "cancelled", "cancel")
    assert job.error is None and ckpt_step(job.run_dir) >= paused_at
    with pytest.raises(JobError):
        reg.pause(x)


def test_a_cancel_that_comes_too_late_is_said(env):
    reg, sched, ds = env
    x = reg.submit("alice", spec(ds, steps=4))
    assert reg.claim_next(reg.require(x).device).id == x       # running, as a worker would find it (none started)
    with reg._tx() as c:                                  # the cancel lands after the worker's last look
        reg._set(c, x, requested="cancel")
    assert reg.finish(x, "done")
    job = reg.require(x)
    assert job.status == "done" and job.requested is None
    assert "finished before the cancel reached it" in job.messages[-1]["message"]
    y = reg.submit("alice", spec(ds, steps=4))
    wait(reg, sched, y, lambda j: j.status == "done", "a plain finish")
    assert not [m for m in reg.require(y).messages if "cancel" in m["message"]]


def test_disk_full_fails_only_that_job(env, monkeypatch):
    reg, sched, ds = env
    a = reg.submit("alice", spec(ds, steps=8, checkpoint_every=2, name="doomed"))
    b = reg.submit("bob", spec(ds, steps=4, name="fine"))
    monkeypatch.setenv(FAULT_ENV, f"{a}:4")                       # a's disk fills up at step 4
    ja = wait(reg, sched, a, lambda j: j.status not in ("queued", "running"), "the full-disk job")
    assert ja.status == "failed" and ja.error.startswith("The disk is full")
    assert "checkpoint at step 2 is intact" in ja.error and "Traceback" not in ja.error
    assert ckpt_step(ja.run_dir) == 2                              # the earlier checkpoint still verifies
    assert not list(Path(ja.run_dir, "checkpoints").glob(".*.tmp"))
    jb = wait(reg, sched, b, lambda j: j.status not in ("queued", "running"), "the other job")
    assert jb.status == "done" and Path(jb.run_dir, "model.json").exists()


def test_divergence_rollbacks_are_recorded_then_the_job_fails(env):
    reg, sched, ds = env
    j = reg.submit("alice", spec(ds, steps=6, divergence_limit=1e-9))   # every loss "explodes"
    job = wait(reg, sched, j, lambda j: j.status not in ("queued", "running"), "the diverging job")
    assert job.status == "failed" and job.error.startswith("Training diverged")
    rollbacks = [m for m in job.messages if m["kind"] == "rollback"]
    assert len(rollbacks) == 5 and "rolled back to step 0" in rollbacks[0]["message"]


# ----------------------------------------------------------------------------- registry only

def test_owner_isolation_and_unguessable_ids(env):
    reg, _, ds = env
    ids = {reg.submit(owner, spec(ds)) for owner in ("alice", "bob") * 10}
    assert len(ids) == 20
    assert all(len(i) >= 22 and set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for i in ids)
    alice = reg.list_for("alice")
    assert len(alice) == 10 and {j.owner for j in alice} == {"alice"}
    assert reg.list_for("mallory") == [] and reg.list_for("") == []
    some = next(iter(ids))
    assert reg.get(some).id == some                               # the link works for anybody holding it
    assert reg.get(some[:-1] + ("A" if some[-1] != "A" else "B")) is None
    assert reg.get("") is None and reg.get("x" * 1000) is None and reg.get(None) is None
    with pytest.raises(JobError, match="no such job"):
        reg.cancel("guess")
    assert [reg.queue_position(i) for i in [j.id for j in reversed(reg.list_for("alice"))]][:2] == [0, 2]


def test_spec_validation(env):
    reg, _, ds = env
    with pytest.raises(JobError, match="does not exist"):
        reg.submit("alice", spec(Path("/nonexistent/set")))
    bad = spec(ds)
    bad["config"]["train"]["loss"] = "magic"
    with pytest.raises(JobError, match="invalid model config"):
        reg.submit("alice", bad)
    with pytest.raises(JobError, match="unknown job spec"):
        reg.submit("alice", {**spec(ds), "command": "rm -rf /"})
    with pytest.raises(JobError, match="owner"):
        reg.submit("", spec(ds))
    for seeds in (0, 2001, "200", 1.5, True):
        with pytest.raises(JobError, match="direction_seeds"):
            reg.submit("alice", {**spec(ds), "direction_seeds": seeds})
    assert reg.get(reg.submit("alice", {**spec(ds), "direction_seeds": 50})).spec["direction_seeds"] == 50


def test_dead_workers_are_requeued_then_failed_after_repeated_deaths(env):
    reg, sched, ds = env
    j = reg.submit("alice", spec(ds))
    for death in range(1, MAX_RESTARTS + 2):
        assert reg.claim_next("auto").id == j
        assert reg.attach(j, 2**22 + 12345, "0")                  # a pid that is not running
        assert sched.reap() == [j]
        status = reg.get(j).status
        assert status == ("interrupted" if death <= MAX_RESTARTS else "failed"), (death, status)
        if status == "interrupted":
            assert reg.queue_position(j) == 0
    assert "died 4 times" in reg.get(j).error


def test_job_names_are_nfc_and_run_folders_keep_their_letters(env):
    reg, _, ds = env
    nfd = unicodedata.normalize("NFD", "café 猫")
    job = reg.get(reg.submit("alice", spec(ds, name=nfd)))
    assert job.name == unicodedata.normalize("NFC", nfd) and Path(job.run_dir).name.startswith("café-猫-")
    odd = reg.get(reg.submit("alice", spec(ds, name="../[x](http://e.invalid)")))
    assert Path(odd.run_dir).parent == reg.runs_dir.resolve() and Path(odd.run_dir).name.startswith("x-http-e-")


def test_deaths_are_counted_per_window_of_progress(env):
    """Unrelated kills over a long job, each after a new checkpoint, never fail it; a crash loop still does."""
    reg, sched, ds = env
    j = reg.submit("alice", spec(ds))

    def die(checkpoint: int) -> str:
        assert reg.claim_next("auto").id == j
        assert reg.attach(j, 2**22 + 12345, "0")                  # a pid that is not running
        reg.update_progress(j, {"step": checkpoint + 1, "checkpoint_step": checkpoint})
        assert sched.reap() == [j]
        return reg.get(j).status
    for k in range(1, 2 * MAX_RESTARTS + 2):                       # progress before every death
        assert die(10 * k) == "interrupted", k
        assert reg.get(j).restarts == 1
    for death in range(2, MAX_RESTARTS + 2):                       # then no new checkpoint: a crash loop
        assert die(10 * (2 * MAX_RESTARTS + 1)) == ("interrupted" if death <= MAX_RESTARTS else "failed")
    job = reg.get(j)
    assert job.restarts == MAX_RESTARTS + 1 and "4 times in a row without reaching a new checkpoint" in job.error
    reg.resume(j)                                                  # a person resumes it: a fresh count
    assert reg.get(j).restarts == 0 and die(10) == "interrupted"


def test_reporter_records_rollbacks_and_reads_flags(env):
    reg, _, ds = env
    j = reg.submit("alice", spec(ds))
    reg.claim_next("auto")
    rep = JobReporter(reg, j)
    rep.event(Rollback(3, 4, (float("nan"), 1.0), "loss became non-finite at step 4: rolled back"))
    rep.event(Progress(step=5, steps=6, images_seen=40, img_per_s=9.0, elapsed_s=1.0, eta_s=0.1, loss_g=float("nan"),
                       loss_d=1.0, d_real=0.0, d_fake=0.0, augment_p=0.0, rt=0.0, rollbacks=1))
    job = reg.get(j)
    assert job.messages[-1]["kind"] == "rollback" and "non-finite" in job.messages[-1]["message"]
    assert job.progress["rollbacks"] == 1
    assert rep.should_stop() is False
    reg.pause(j)
    rep.last_check = 0.0
    assert rep.should_stop() is True and rep.stop_reason == "pause"


def test_failure_messages():
    full = describe_failure(OSError(errno.ENOSPC, "No space left on device"), 40)
    assert full.startswith("The disk is full") and "step 40 is intact" in full
    assert "GPU ran out of memory" in describe_failure(torch.cuda.OutOfMemoryError("CUDA out of memory."), 8)
    assert "ran out of memory" in describe_failure(MemoryError(), None)
    assert describe_failure(TrainingDiverged("diverged 6 times"), 2).startswith("Training diverged")
    assert describe_failure(ValueError("dataset images are (3, 8, 8)"), None).startswith("Training could not run")
    assert "KeyError" in describe_failure(KeyError("x"), None)


# ----------------------------------------------------------------------------- the app's background scheduler

def test_background_scheduler_runs_jobs_with_no_page_open(env):
    reg, _, ds = env
    j = reg.submit("alice", spec(ds, steps=4))
    sched = scheduler.background_scheduler(reg.path, every=0.2)
    try:
        assert scheduler.background_scheduler(reg.path) is sched             # one per database and process
        job = wait(reg, None, j, lambda j: j.status not in ("queued", "running"), "the background scheduler")
        assert job.status == "done", job.error
        # the worker measured a quality curve and put it in the job, the export and the card
        assert job.progress["quality_step"] == 4 and job.result["swd"] == job.progress["swd"] > 0
        meta = checkpoint.read_meta(Path(job.run_dir) / "model.json")
        assert [q["step"] for q in meta["quality_curve"]] == [0, 2, 4] and "## Quality" in meta["model_card"]
    finally:
        scheduler.stop_background_schedulers()
    assert scheduler._BACKGROUND == {}


def test_specs_with_a_whole_config_and_a_model_to_finetune(env, tmp_path):
    reg, _, ds = env
    cfg = preset("tiny", 32, 1, 0)
    s = make_spec(ds, config=cfg, name="ft", init_from=tmp_path / "nope.json")
    assert s["config"]["train"]["preset"] == "tiny" and s["labels"] is False
    with pytest.raises(JobError, match="fine-tune from does not exist"):
        reg.submit("alice", s)
    G = tiny_generator(0)
    checkpoint.save_generator(tmp_path / "data" / "runs" / "made" / "model", G, {})
    ok = reg.get(reg.submit("alice", make_spec(ds, config=cfg, init_from="made")))      # a name, as listed
    assert ok.spec["init_from"] == str((tmp_path / "data" / "runs" / "made" / "model.json").resolve())


def test_a_cancelled_run_can_be_kept_as_a_model(env):
    """Its last checkpoint is exported like a finished run's model: named by its run, carded by its job."""
    from explorer.gan import checkpoint as ckpt
    from explorer.jobs.worker import export_job_model
    from tests.factories import make_run
    reg, _, ds = env
    job = reg.cancel(reg.submit("me", spec(ds, name="half done")))
    run = Path(job.run_dir)
    make_run(run, step=4)
    export_job_model(job, run, ckpt.latest_training(run))
    G, meta = ckpt.load_generator(run / "model.json")
    assert meta["name"] == run.name and meta["training"]["steps"] == 4
    assert meta["model_card"].startswith("# half done") and (run / "model_card.md").exists()
    assert [m.name for m in ckpt.list_models(run / "none", run.parent)] == [run.name]


def test_run_folder_names_are_cut_between_words():
    from explorer.jobs.registry import SLUG_MAX, run_slug
    hostile = "<b>x</b> **bold** <img src=x onerror=alert(1)> 🎉 שלום"
    assert run_slug(hostile) == "b-x-b-bold-img-src-x-onerror-alert-1"       # not "...-alert-1-שלו"
    assert run_slug("שלום עולם") == "שלום-עולם" and run_slug("🎉 !!") == "job"
    assert run_slug("a" * 50) == "a" * SLUG_MAX                              # one long word is cut
    assert run_slug("my gan") == "my-gan"
