"""A durable registry of training jobs (SQLite, WAL); `explorer.jobs.scheduler` runs them, one per device.

A job is a training run asked for from the browser. Its id (`secrets.token_urlsafe`, 128 bits)
is the capability: anyone holding it (a link) can see and control the job, while
`list_for(owner)` shows a session only its own jobs. Training never runs in the web server:
`Scheduler.tick()` starts `python -m explorer.jobs.worker --db <path> -- <id>` as a separate process
(new session, no fork of a CUDA-holding parent), at most one running job per device; the worker
reports progress into the database and obeys pause/cancel flags. A worker whose process is gone
(killed, machine restarted) is marked `interrupted` and started again from its last checkpoint,
ahead of the queue. Deaths are counted per window of progress: a death after a new checkpoint
starts the count again, so unrelated kills over a long job never fail it, while `MAX_RESTARTS`
deaths with no checkpoint in between (a crash loop) fail the job instead of looping.

    from explorer.jobs.registry import JobRegistry, make_spec
    from explorer.jobs.scheduler import Scheduler
    reg = JobRegistry()                                   # <data>/jobs.sqlite3, runs in <data>/runs
    job_id = reg.submit(owner=session_token, spec=make_spec("data/uploads/abc", preset="quick",
                                                             resolution=64, channels=3, name="cats"))
    sched = Scheduler(reg); sched.tick()                  # call often (e.g. from st.fragment(run_every=2))
    job = reg.get(job_id); job.status, job.progress.get("step"), reg.queue_position(job_id)
    reg.pause(job_id); reg.resume(job_id); reg.cancel(job_id)

Statuses: queued -> running -> done | failed | paused | cancelled | interrupted (-> running again).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.jobs.spec import JobError, make_spec, validate_spec
from explorer.settings import data_dir

__all__ = ["Job", "JobError", "JobRegistry", "MAX_RESTARTS", "make_spec", "validate_spec"]

STATUSES = ("queued", "running", "paused", "cancelled", "failed", "done", "interrupted")
WAITING = ("interrupted", "queued")      # runnable, in this order of priority
_JSON_COLS = ("spec", "progress", "messages", "result")
MAX_RESTARTS = 3                         # worker deaths in a row without a new checkpoint before a job fails
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,
    name TEXT NOT NULL, status TEXT NOT NULL, device TEXT NOT NULL, spec TEXT NOT NULL,
    dataset TEXT NOT NULL, run_dir TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    started REAL, finished REAL, queue_seq INTEGER NOT NULL, requested TEXT, pid INTEGER,
    pid_start TEXT, heartbeat REAL, restarts INTEGER NOT NULL DEFAULT 0, error TEXT,
    progress TEXT NOT NULL DEFAULT '{}', messages TEXT NOT NULL DEFAULT '[]', result TEXT NOT NULL DEFAULT '{}',
    death_step INTEGER);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(device, status);
"""


@dataclass
class Job:
    id: str
    owner: str
    name: str
    status: str
    device: str
    spec: dict
    dataset: str
    run_dir: str
    created: float
    updated: float
    started: float | None
    finished: float | None
    requested: str | None          # "pause" or "cancel" asked of a running worker, not yet done
    pid: int | None
    pid_start: str | None          # the worker's start time (tells a reused pid apart)
    heartbeat: float | None        # last sign of life from the worker (or of the claim)
    restarts: int                  # worker deaths since the job last made progress (a new checkpoint)
    error: str | None
    progress: dict                 # step, steps, img_per_s, eta_s, loss_g, loss_d, checkpoint_step, sample, ...
    messages: list[dict]           # {"t", "kind": info|rollback|warning|error, "message"}
    result: dict                   # final figures of a finished job
    death_step: int | None = None  # checkpoint step at the last counted death (the window's start)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running", "interrupted")

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> Job:
        return cls(**{f.name: json.loads(r[f.name]) if f.name in _JSON_COLS else r[f.name]
                      for f in dataclasses.fields(cls)})


# ----------------------------------------------------------------------------- registry

SLUG_MAX = 40


def _appended(messages_json: str, kind: str, message: str, keep: int = 100) -> list[dict]:
    """A job's messages (its JSON column) with one more, the newest `keep`."""
    return (json.loads(messages_json) + [{"t": time.time(), "kind": kind, "message": message}])[-keep:]


def run_slug(name: str) -> str:
    """A job name as the start of its run folder's name: letters and digits of any script, lower-cased,
    every other run of characters one "-"; at most SLUG_MAX characters, cut between words (a word longer
    than that is cut), "job" when nothing is left."""
    full = re.sub(r"[\W_]+", "-", name.lower()).strip("-")
    slug = full[:SLUG_MAX]
    if len(full) > SLUG_MAX and full[SLUG_MAX] != "-" and "-" in slug:      # the cut fell inside a word
        slug = slug[:slug.rfind("-")]
    return slug.strip("-") or "job"


class JobRegistry:
    """Jobs in one SQLite file (WAL). Safe to use from many threads and processes: one connection per call."""

    def __init__(self, path: str | os.PathLike | None = None, runs_dir: str | os.PathLike | None = None):
        self.path = Path(path) if path else data_dir() / "jobs.sqlite3"
        self.runs_dir = Path(runs_dir) if runs_dir else self.path.parent / "runs"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(_SCHEMA)
            if "death_step" not in {r[1] for r in c.execute("PRAGMA table_info(jobs)")}:
                try:                                   # a database made before the column existed
                    c.execute("ALTER TABLE jobs ADD COLUMN death_step INTEGER")
                except sqlite3.OperationalError:       # another process added it meanwhile
                    pass

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        c = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            c.row_factory = sqlite3.Row
            c.execute("PRAGMA busy_timeout=30000")
            c.execute("PRAGMA synchronous=NORMAL")
            yield c
        finally:
            c.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._conn() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def _set(self, c: sqlite3.Connection, job_id: str, where: str = "", **cols: Any) -> bool:
        cols["updated"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in cols)
        vals = [json.dumps(v) if isinstance(v, (dict, list)) else v for v in cols.values()]
        return c.execute(f"UPDATE jobs SET {sets} WHERE id = ? {where}", (*vals, job_id)).rowcount > 0

    # -- for the UI
    def submit(self, owner: str, spec: dict) -> str:
        """Queue a job; returns its id (the capability to see and control it)."""
        if not owner or not isinstance(owner, str):
            raise JobError("a job needs an owner (the session token)")
        spec = validate_spec(spec)
        job_id = secrets.token_urlsafe(16)
        slug = run_slug(spec["name"])
        run = self.runs_dir / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        now = time.time()
        with self._tx() as c:
            q = c.execute("SELECT COALESCE(MAX(queue_seq), 0) + 1 FROM jobs").fetchone()[0]
            c.execute("INSERT INTO jobs (id, owner, name, status, device, spec, dataset, run_dir, created, updated, "
                      "queue_seq) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
                      (job_id, owner, spec["name"], spec["device"], json.dumps(spec), spec["dataset"],
                       str(run.resolve()), now, now, q))
        return job_id

    def get(self, job_id: str) -> Job | None:
        if not isinstance(job_id, str) or not 0 < len(job_id) <= 64:
            return None
        with self._conn() as c:
            r = c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job._from_row(r) if r else None

    def list_for(self, owner: str) -> list[Job]:
        """A session's own jobs, newest first."""
        with self._conn() as c:
            rows = c.execute("SELECT * FROM jobs WHERE owner = ? ORDER BY seq DESC", (owner,)).fetchall()
        return [Job._from_row(r) for r in rows]

    def list_status(self, *statuses: str, device: str | None = None) -> list[Job]:
        marks = ", ".join("?" * len(statuses))
        sql = f"SELECT * FROM jobs WHERE status IN ({marks})" + (" AND device = ?" if device else "")
        with self._conn() as c:
            rows = c.execute(sql + " ORDER BY seq", (*statuses, *([device] if device else []))).fetchall()
        return [Job._from_row(r) for r in rows]

    def queue_position(self, job_id: str) -> int | None:
        """How many jobs run before this one on its device (running ones included); None if not waiting."""
        job = self.get(job_id)
        if job is None or job.status not in WAITING:
            return None
        with self._conn() as c:
            r = c.execute("SELECT queue_seq FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return c.execute(
                "SELECT COUNT(*) FROM jobs WHERE device = ? AND id != ? AND (status = 'running' OR "
                "(status = 'interrupted' AND (? = 'queued' OR queue_seq < ?)) OR "
                "(status = 'queued' AND ? = 'queued' AND queue_seq < ?))",
                (job.device, job_id, job.status, r[0], job.status, r[0])).fetchone()[0]

    def require(self, job_id: str) -> Job:
        """The job as stored now (`get` that never returns None); raises JobError when there is no such job."""
        job = self.get(job_id)
        if job is None:
            raise JobError("no such job (the link may be wrong or the job deleted)")
        return job

    def _require(self, c: sqlite3.Connection, job_id: str) -> sqlite3.Row:
        r = c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone() if isinstance(job_id, str) else None
        if r is None:
            raise JobError("no such job (the link may be wrong or the job deleted)")
        return r

    def pause(self, job_id: str) -> Job:
        """Queued jobs pause at once; a running one checkpoints and stops within a step or two."""
        with self._tx() as c:
            st = self._require(c, job_id)["status"]
            if st in WAITING:
                self._set(c, job_id, status="paused")
            elif st == "running":
                self._set(c, job_id, requested="pause")
            elif st != "paused":
                raise JobError(f"this job is {st}; only queued or running jobs can be paused")
        return self.require(job_id)

    def resume(self, job_id: str) -> Job:
        """Put a paused, failed or interrupted job back at the end of the queue (it continues from its checkpoint)."""
        with self._tx() as c:
            r = self._require(c, job_id)
            if r["status"] == "running" and r["requested"] == "pause":
                self._set(c, job_id, requested=None)
            elif r["status"] in ("paused", "failed"):
                q = c.execute("SELECT COALESCE(MAX(queue_seq), 0) + 1 FROM jobs").fetchone()[0]
                self._set(c, job_id, status="queued", queue_seq=q, error=None, requested=None, restarts=0,
                          death_step=None)
            elif r["status"] not in ("queued", "running", "interrupted"):
                raise JobError(f"this job is {r['status']}; only paused or failed jobs can be resumed")
        return self.require(job_id)

    def cancel(self, job_id: str) -> Job:
        with self._tx() as c:
            st = self._require(c, job_id)["status"]
            if st == "running":
                self._set(c, job_id, requested="cancel")
            elif st in ("queued", "interrupted", "paused", "failed"):
                self._set(c, job_id, status="cancelled", finished=time.time())
            elif st != "cancelled":
                raise JobError(f"this job is {st}; it can no longer be cancelled")
        return self.require(job_id)

    # -- for the worker
    def attach(self, job_id: str, pid: int, start_token: str | None) -> bool:
        """A worker claims its job; False if the job is no longer running (cancelled meanwhile)."""
        with self._tx() as c:
            return self._set(c, job_id, "AND status = 'running'", pid=pid, pid_start=start_token,
                             heartbeat=time.time())

    def requested(self, job_id: str) -> str | None:
        """What a running worker is asked to do: None, "pause", "cancel", or "lost" (the job is no longer
        running, or gone: stop without touching it)."""
        with self._conn() as c:
            r = c.execute("SELECT requested, status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if r is None or r["status"] != "running":
            return "lost"
        return r["requested"]

    def update_progress(self, job_id: str, progress: dict) -> None:
        with self._tx() as c:
            self._set(c, job_id, "AND status = 'running'", progress=progress, heartbeat=time.time())

    def add_message(self, job_id: str, kind: str, message: str, keep: int = 100) -> None:
        with self._tx() as c:
            self._set(c, job_id, messages=_appended(self._require(c, job_id)["messages"], kind, message, keep))

    def finish(self, job_id: str, status: str, error: str | None = None, result: dict | None = None,
               pid: int | None = None) -> bool:
        """A worker's last word on its running job (done, failed, paused, cancelled or interrupted); with
        `pid`, only if the job is still that worker's. False if it no longer was."""
        assert status in STATUSES and status not in ("queued", "running")
        cols: dict[str, Any] = {"status": status, "error": error, "pid": None, "requested": None}
        if result is not None:
            cols["result"] = result
        if status in ("done", "failed", "cancelled"):
            cols["finished"] = time.time()
        mine = f" AND (pid = {int(pid)} OR pid IS NULL)" if pid else ""
        with self._tx() as c:
            r = c.execute("SELECT requested, messages FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if status == "done" and r is not None and r["requested"] == "cancel":   # it ended before it saw the cancel
                cols["messages"] = _appended(r["messages"], "note", "it finished before the cancel reached it: "
                                             "its model was kept and is in the model picker")
            return self._set(c, job_id, "AND status = 'running'" + mine, **cols)

    # -- for the scheduler
    def claim_next(self, device: str) -> Job | None:
        """Mark the next waiting job on `device` running, unless one is running there already."""
        with self._tx() as c:
            if c.execute("SELECT 1 FROM jobs WHERE device = ? AND status = 'running'", (device,)).fetchone():
                return None
            r = c.execute("SELECT id FROM jobs WHERE device = ? AND status IN ('interrupted', 'queued') ORDER BY "
                          "status = 'queued', queue_seq LIMIT 1", (device,)).fetchone()
            if r is None:
                return None
            now = time.time()
            self._set(c, r["id"], status="running", started=now, heartbeat=now, pid=None, pid_start=None,
                      error=None)
        return self.get(r["id"])

    def mark_dead(self, job: Job) -> str | None:
        """A running job whose worker is gone: honour a pending pause/cancel, else interrupt (or fail)."""
        with self._tx() as c:
            r = c.execute("SELECT * FROM jobs WHERE id = ? AND status = 'running'", (job.id,)).fetchone()
            if r is None or r["pid"] != job.pid:
                return None                                  # someone else handled it, or it restarted
            step = json.loads(r["progress"]).get("checkpoint_step")
            where = f"; it resumes from the checkpoint at step {step}" if step else "; it starts again"
            at = int(step or 0)
            progressed = r["restarts"] == 0 or r["death_step"] is None or at > r["death_step"]
            deaths = 1 if progressed else r["restarts"] + 1         # a new checkpoint since: a new window
            if r["requested"] in ("pause", "cancel"):
                status, err = ("paused", None) if r["requested"] == "pause" else ("cancelled", None)
            elif deaths > MAX_RESTARTS:
                status, err = "failed", (f"the training process died {deaths} times in a row without reaching a new "
                                         f"checkpoint (step {at}); see worker.log in the run folder")
            else:
                status, err = "interrupted", None
            self._set(c, job.id, status=status, error=err, pid=None, requested=None, restarts=deaths,
                      death_step=at, finished=time.time() if status != "interrupted" else None)
            text = (f"the training process stopped unexpectedly{where}" if status == "interrupted"
                    else f"the training process ended ({status})")
            msgs = json.loads(r["messages"]) + [{"t": time.time(), "kind": "warning", "message": text}]
            self._set(c, job.id, messages=msgs[-100:])
        return status
