"""Widget state across reruns and pages, where Streamlit's own handling surprises.

Streamlit drops the state of every widget a run does not draw, so a page switch resets them:
`restore` (before the widgets) puts back what `remember` (after them) saved for this session.
The other way round, a keyed widget keeps its browser-side value and label even when the script
deletes its state or changes its options, and sends the old value back on the next rerun: a widget
that must start afresh when something changes gets `versioned(key, what_changed)` as its key.

    sticky.restore(KEYS)      # top of the page
    ...widgets with those keys...
    sticky.remember(KEYS)     # after them
    st.selectbox(..., key=sticky.versioned("strip_dir", method, names))
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import streamlit as st

_PREFIX = "_sticky_"


def restore(keys: Iterable[str]) -> None:
    ss = st.session_state
    for k in keys:
        if k not in ss and _PREFIX + k in ss:
            ss[k] = ss[_PREFIX + k]


def remember(keys: Iterable[str]) -> None:
    ss = st.session_state
    for k in keys:
        if k in ss:
            ss[_PREFIX + k] = ss[k]


def versioned(key: str, *what: object) -> str:
    """`key` plus a short hash of `what`: a new widget whenever `what` changes."""
    return f"{key}_{zlib.crc32(repr(what).encode()):08x}"
