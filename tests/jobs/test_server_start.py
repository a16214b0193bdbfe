"""Jobs resume when the server comes back, not when someone opens a page.

The real server (`python -m explorer.ui.serve`, what `run.sh app` runs) is started with a queued job in
its database and no browser: its scheduler starts the job. Then the server and the worker are killed
with SIGKILL, the server is started again, still with no page view, and the job must be resumed by the
new server's scheduler (polled from the registry: a new worker runs it). That the worker continues from
its checkpoint is tests/jobs/test_jobs.py's part. Only processes this test started are killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.bench.browser import free_port
from explorer.data.store import save_dataset
from explorer.jobs.registry import JobRegistry, make_spec
from explorer.jobs.scheduler import pid_alive
from tests.conftest import make_dataset

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180.0


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "explorer.ui.serve", "--server.headless=true", f"--server.port={free_port()}",
           "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
    with open(log, "ab") as f:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(reg: JobRegistry, job_id: str, pred, what: str, server: subprocess.Popen, log: Path):
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        job = reg.get(job_id)
        if pred(job):
            return job
        if job.status in ("done", "failed", "cancelled"):
            break                                                   # it will not change any more
        assert server.poll() is None, f"the server exited: {log.read_text()[-3000:]}"
        time.sleep(0.3)
    job = reg.get(job_id)
    wlog = Path(job.run_dir, "worker.log")
    pytest.fail(f"gave up waiting for {what}: {job.status} pid={job.pid} {job.progress}\n{log.read_text()[-2000:]}\n"
                f"{wlog.read_text()[-2000:] if wlog.exists() else ''}")


def _kill(pid: int | None) -> None:
    if pid and pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_restarted_server_resumes_jobs_with_no_page_view(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "LATENT_EXPLORER_DATA": str(data), "LATENT_EXPLORER_PRETRAINED": str(tmp_path / "none"),
           "LATENT_EXPLORER_THREADS": "1"}
    reg = JobRegistry(data / "jobs.sqlite3")
    ds = save_dataset(make_dataset(n=32, classes=3), tmp_path / "dataset")
    job_id = reg.submit("alice", make_spec(ds, preset="tiny", resolution=32, channels=1, num_classes=3,
                                           steps=100_000, checkpoint_every=2))
    log = tmp_path / "server.log"
    servers: list[subprocess.Popen] = []
    workers: list[int] = []
    try:
        servers.append(_serve(env, log))
        first = _wait(reg, job_id, lambda j: j.status == "running" and j.pid, "the first server to start the job",
                      servers[0], log)
        workers.append(first.pid)
        servers[0].kill()                                           # SIGKILL: no shutdown hooks run
        servers[0].wait()
        _kill(first.pid)
        end = time.monotonic() + 30
        while pid_alive(first.pid) and time.monotonic() < end:
            time.sleep(0.1)
        stale = reg.get(job_id)
        assert stale.status == "running" and stale.pid == first.pid and not pid_alive(first.pid)

        servers.append(_serve(env, log))                            # no browser, no HTTP request at all
        again = _wait(reg, job_id, lambda j: j.status == "running" and j.pid and j.pid != first.pid,
                      "the restarted server to resume the job", servers[1], log)
        workers.append(again.pid)
        assert again.restarts == 1
        assert any("the training process stopped unexpectedly" in m["message"] for m in again.messages)
    finally:
        for s in servers:
            if s.poll() is None:
                s.kill()
                s.wait()
        job = reg.get(job_id)
        for pid in {*workers, job.pid if job else None}:
            _kill(pid)
