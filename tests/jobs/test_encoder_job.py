"""Encoder training as a background job (explorer/jobs/encoder_job.py), run by a real worker process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from explorer.explore.encoder import encoder_stem, load_encoder
from explorer.jobs import scheduler
from explorer.jobs.encoder_job import make_encoder_spec
from explorer.jobs.registry import JobError, JobRegistry
from explorer.jobs.scheduler import Scheduler
from tests.factories import export_generator


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LATENT_EXPLORER_THREADS", "1")
    reg = JobRegistry(tmp_path / "jobs.sqlite3")
    mine = set(scheduler._CHILDREN)
    yield reg, Scheduler(reg)
    for pid, p in list(scheduler._CHILDREN.items()):     # only workers this test started
        if pid not in mine and p.poll() is None:
            p.kill()
            p.wait()


def test_encoder_spec_validation(env, tmp_path):
    reg, _ = env
    with pytest.raises(JobError, match="does not exist"):
        reg.submit("me", make_encoder_spec(tmp_path / "nope.json"))
    _, side = export_generator(tmp_path / "m" / "model")
    with pytest.raises(JobError, match="minutes"):
        reg.submit("me", make_encoder_spec(side, minutes=0))
    with pytest.raises(JobError, match="unknown"):
        reg.submit("me", {**make_encoder_spec(side), "config": {}})
    job = reg.get(reg.submit("me", make_encoder_spec(side, minutes=1)))
    assert job.spec["kind"] == "encoder" and job.spec["model"] == str(side.resolve())


def test_an_encoder_job_trains_and_saves_beside_the_model(env, tmp_path):
    reg, sched = env
    _, side = export_generator(tmp_path / "runs" / "cats" / "model", classes=["a", "b"])
    job_id = reg.submit("me", make_encoder_spec(side, minutes=0.03))
    end = time.monotonic() + 180
    while time.monotonic() < end:
        sched.tick()
        job = reg.get(job_id)
        if job.status in ("done", "failed", "cancelled"):
            break
        time.sleep(0.2)
    log = Path(job.run_dir, "worker.log")
    assert job.status == "done", (job.status, job.error, log.read_text()[-2000:] if log.exists() else "")
    assert job.result["steps"] > 0 and "latent_rmse_std" in job.result
    assert job.result["encoder"] == str(encoder_stem(side.resolve()).with_suffix(".json"))
    meta = {**json.loads(side.read_text()), "path": str(side)}
    assert load_encoder(meta) is not None
