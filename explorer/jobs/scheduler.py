"""Runs queued jobs as worker processes, one at a time per device, and notices dead workers.

Training never runs in the web server: `Scheduler.tick()` starts `python -m explorer.jobs.worker
--db <path> -- <id>` with `subprocess.Popen(..., start_new_session=True)` (a fresh interpreter,
so nothing is forked from a process holding CUDA; its own session, so it outlives a server
restart). A running job whose worker is gone (pid missing, a zombie, or reused by another
process, told apart by its start time) is marked `interrupted` and started again from its
last checkpoint ahead of the queue; see `JobRegistry.mark_dead` for pause/cancel and crash loops.

    from explorer.jobs.registry import JobRegistry
    from explorer.jobs.scheduler import Scheduler, background_scheduler
    sched = Scheduler(JobRegistry())      # one per server process (st.cache_resource)
    sched.ensure_running()                # at server start: resumes interrupted jobs
    sched.tick()                          # on every UI refresh: reap dead workers, start the next job
    sched = background_scheduler()        # the app's: ticks every few seconds in a daemon thread,
                                          # so jobs resume and start with no Train page open

The web server starts its background scheduler when the process starts (`python -m explorer.ui.serve`,
which `run.sh app` runs), before any page view: after a crash or SIGKILL of the server and its
worker, the restarted server resumes the job by itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from explorer.jobs.registry import JobRegistry
from explorer.settings import data_dir

BACKGROUND_EVERY_S = 2.0                 # tick interval of the server's background scheduler thread
START_GRACE_S = 60.0                     # a claimed job whose worker never reported its pid is dead after this
_CHILDREN: dict[int, subprocess.Popen] = {}   # workers this process started, polled so none stays a zombie
_CHILDREN_LOCK = threading.Lock()
_BACKGROUND: dict[str, Scheduler] = {}      # db path -> the scheduler ticking it in this process
_BACKGROUND_LOCK = threading.Lock()


# ----------------------------------------------------------------------------- processes

def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first, start time at index 19); None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()


def proc_start_token(pid: int) -> str | None:
    """The process's start time in clock ticks (tells a reused pid apart); None where /proc is missing."""
    st = _proc_stat(pid)
    return st[19] if st and len(st) > 19 else None


def pid_alive(pid: int | None, start_token: str | None = None) -> bool:
    """Whether `pid` is a live process (zombies and reused pids count as dead)."""
    if not pid:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)          # reap it if it is our exited child
    except OSError:
        pass
    if Path("/proc/self/stat").exists():
        st = _proc_stat(pid)
        if st is None or st[0] in ("Z", "X"):
            return False
        return start_token is None or len(st) <= 19 or st[19] == start_token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------------- scheduler

class Scheduler:
    """Starts waiting jobs as worker processes, one at a time per device, and notices dead workers.

    Cheap enough to call on every UI refresh; safe to call from many threads and processes at once."""

    def __init__(self, registry: JobRegistry, device: str = "auto", python: str | None = None,
                 env: dict[str, str] | None = None):
        self.registry, self.device = registry, device
        self.python = python or sys.executable
        self.env = env
        self._stop: threading.Event | None = None
        self.last_error: str | None = None        # the background thread's last failure, for the page

    def reap(self) -> list[str]:
        """Mark running jobs on this device whose worker is gone; returns their ids."""
        with _CHILDREN_LOCK:
            for pid, p in list(_CHILDREN.items()):
                if p.poll() is not None:
                    del _CHILDREN[pid]
        dead = []
        for job in self.registry.list_status("running", device=self.device):
            if job.pid is None:
                gone = time.time() - (job.heartbeat or 0) > START_GRACE_S
            else:
                gone = not pid_alive(job.pid, job.pid_start)
            if gone and self.registry.mark_dead(job):
                dead.append(job.id)
        return dead

    def tick(self) -> str | None:
        """Reap dead workers, then start the next waiting job if the device is free; returns its id."""
        self.reap()
        job = self.registry.claim_next(self.device)
        if job is None:
            return None
        run = Path(job.run_dir)
        try:
            run.mkdir(parents=True, exist_ok=True)
            with open(run / "worker.log", "ab") as log:
                # "--": an id may begin with "-" (token_urlsafe), which must not read as an option
                argv = [self.python, "-m", "explorer.jobs.worker", "--db", str(self.registry.path), "--", job.id]
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.env, close_fds=True)
        except OSError as e:
            self.registry.finish(job.id, "failed", error=f"could not start the training process: {e}")
            return None
        with _CHILDREN_LOCK:
            _CHILDREN[p.pid] = p
        self.registry.attach(job.id, p.pid, proc_start_token(p.pid))   # the worker writes the same on start
        return job.id

    def ensure_running(self) -> str | None:
        """Call at server start: resumes interrupted jobs and jobs whose worker died with the old server."""
        return self.tick()

    # -- background ticking (the web server's)
    def start_background(self, every: float = BACKGROUND_EVERY_S) -> None:
        """Tick every `every` seconds in a daemon thread until `stop_background()` (errors are kept in
        `last_error`, never raised: a full disk must not kill the thread)."""
        if self._stop is not None:
            return
        self._stop = stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.tick()
                    self.last_error = None
                except Exception as e:            # noqa: BLE001 - keep ticking; the page shows it
                    self.last_error = f"{type(e).__name__}: {e}"
                stop.wait(every)
        threading.Thread(target=loop, name=f"scheduler:{self.registry.path}", daemon=True).start()

    def stop_background(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None


def background_scheduler(db: str | os.PathLike | None = None, every: float = BACKGROUND_EVERY_S) -> Scheduler:
    """The process's scheduler for a job database (default <data>/jobs.sqlite3), ticking in the background
    from its first call on: interrupted jobs resume and queued ones start whether or not anyone opens a
    page. `explorer.ui.serve` calls it at server start; the app calls it again on every run (idempotent
    and cheap: the same scheduler)."""
    path = Path(db) if db else data_dir() / "jobs.sqlite3"
    key = str(path.resolve())
    with _BACKGROUND_LOCK:
        s = _BACKGROUND.get(key)
        if s is None:
            s = _BACKGROUND[key] = Scheduler(JobRegistry(path))
            s.start_background(every)
    return s


def stop_background_schedulers() -> None:
    """Stop every background scheduler of this process (tests)."""
    with _BACKGROUND_LOCK:
        for s in _BACKGROUND.values():
            s.stop_background()
        _BACKGROUND.clear()
