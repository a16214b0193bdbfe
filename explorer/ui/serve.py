"""Start the web server together with its job scheduler: `python -m explorer.ui.serve [streamlit options]`.

Streamlit runs an app's script only when a browser opens a page, so a scheduler started by the
script alone would leave a job whose worker died with the old server "running", with a dead pid,
until someone visits. This launcher starts the process's background scheduler
(`explorer.jobs.scheduler.background_scheduler`: reap dead workers, resume interrupted jobs,
start queued ones, every few seconds) before the server accepts a connection, then runs
`streamlit run streamlit_app.py <options>` in the same process; the app's own call to
`background_scheduler()` finds that scheduler already running (one per process and database).
`bash run.sh app` starts the app this way. The file watcher is off (`--server.fileWatcherType none
--server.runOnSave false`, as in .streamlit/config.toml, which Streamlit reads only from the working
directory): it would watch data/ and rerun pages on half-edited code. Options given override these.

    python -m explorer.ui.serve --server.port 8501 --server.headless true
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
DEFAULTS = {"--server.fileWatcherType": "none", "--server.runOnSave": "false"}


def streamlit_argv(options: list[str]) -> list[str]:
    """`streamlit run` argv for the app: DEFAULTS first, unless `options` set them, then `options`."""
    given = {o.split("=", 1)[0] for o in options if o.startswith("--")}
    defaults = [x for k, v in DEFAULTS.items() if k not in given for x in (k, v)]
    return ["streamlit", "run", str(APP), *defaults, *options]


def main(argv: list[str] | None = None) -> int:
    """Start the scheduler, then Streamlit on the app with `argv` as its options; returns its exit code."""
    from explorer.jobs.scheduler import background_scheduler

    sched = background_scheduler()           # <data>/jobs.sqlite3 (LATENT_EXPLORER_DATA), ticking from now on
    print(f"job scheduler running for {sched.registry.path}", flush=True)
    from streamlit.web import cli as stcli

    sys.argv = streamlit_argv(sys.argv[1:] if argv is None else argv)
    try:
        stcli.main()                         # a click command: it exits through SystemExit
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) or e.code is None else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
