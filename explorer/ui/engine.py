"""The app's shared render engine: one `Engine` (explorer/explore/engine.py) per checkpoint version.

`get_engine(path, sha256)` is an `st.cache_resource`: every session on one model shares one engine,
and with it the engine's directions (computed once, kept in memory by the engine).

    eng = get_engine(str(info.path), info.meta["sha256"])
    img, ms = eng.render_state(state, eng.directions(state.method))   # (H, W, C) uint8, milliseconds
"""

from __future__ import annotations

import streamlit as st

from explorer.explore.engine import MAX_DIRECTIONS, Engine, load_engine
from explorer.settings import use_threads
from explorer.ui.heap import freeze_heap

__all__ = ["MAX_DIRECTIONS", "Engine", "get_engine"]


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def get_engine(path: str, sha256: str) -> Engine:
    """One Engine per checkpoint version (sha256 is part of the key), shared by every session.

    Raises checkpoint.CheckpointError, OSError or ValueError when the model cannot be loaded."""
    use_threads("serve")                  # 1 thread unless $LATENT_EXPLORER_THREADS (see settings.thread_count)
    eng = load_engine(path)
    freeze_heap()                         # the model's objects too: Streamlit's per-rerun GC skips them
    return eng
