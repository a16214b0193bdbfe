"""Typed access to `st.session_state` for the helpers that take the session as a mapping.

Streamlit types `st.session_state` as a `MutableMapping[str | int, Any]` (a widget key may be an int),
and a MutableMapping is invariant in its key type, so to mypy it is not the `MutableMapping[str, Any]`
that explorer/ui/state.py's and sticky.py's helpers take (tests pass them plain dicts). Every key this
app uses is a str: `session()` says so once, here, instead of an ignore at every call.

    S.request(session(), state)
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, cast

import streamlit as st

Session = MutableMapping[str, Any]     # what the state helpers take: st.session_state or, in tests, a dict


def session() -> Session:
    """This browser session's `st.session_state`, typed as the str-keyed mapping it is used as."""
    return cast(Session, st.session_state)
