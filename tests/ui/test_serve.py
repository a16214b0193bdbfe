"""The served app runs without Streamlit's file watcher (it watched data/ and reran half-edited code):
.streamlit/config.toml says so for `run.sh app` (which runs from the repository root), and
explorer.ui.serve passes the same options from any directory, unless the caller gives its own."""

from __future__ import annotations

from pathlib import Path

import tomllib

from explorer.ui.serve import APP, streamlit_argv

ROOT = Path(__file__).resolve().parents[2]


def test_config_turns_the_file_watcher_off():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["fileWatcherType"] == "none" and server["runOnSave"] is False
    assert 'cd "$(dirname "$0")"' in (ROOT / "run.sh").read_text()      # so Streamlit finds that config


def test_serve_passes_no_watcher_unless_told_otherwise():
    argv = streamlit_argv(["--server.headless", "true"])
    assert argv[:3] == ["streamlit", "run", str(APP)] and argv[-2:] == ["--server.headless", "true"]
    assert "--server.fileWatcherType" in argv and argv[argv.index("--server.fileWatcherType") + 1] == "none"
    assert argv[argv.index("--server.runOnSave") + 1] == "false"
    mine = streamlit_argv(["--server.fileWatcherType=poll"])
    assert "--server.fileWatcherType" not in mine and mine[-1] == "--server.fileWatcherType=poll"
