"""Widget values that survive leaving a page: Streamlit drops the state of every widget a run does
not draw, so a page switch resets them. `restore` (before the widgets) puts back what `remember`
(after them) saved for this session.

    sticky.restore(KEYS)      # top of the page
    ...widgets with those keys...
    sticky.remember(KEYS)     # after them
"""

from __future__ import annotations

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
