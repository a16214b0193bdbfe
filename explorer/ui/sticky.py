"""The one mechanism for widget values kept across reruns and pages, where Streamlit's own handling surprises.

Streamlit drops the state of every widget a run does not draw, so a page switch (or a panel that is
not shown) resets them: `restore` (before the widgets) puts back what `remember` (after them) saved
for this session, and `put` sets a widget's value from code so that both the widget and the kept
copy agree (call it from a callback, or before the widget is drawn). The other way round, a keyed
widget keeps its browser-side value and label even when the script deletes its state or changes
its options, and sends the old value back on the next rerun: a widget that must start afresh when
something changes gets `versioned(key, what_changed)` as its key.

Values that are not widgets (the current LatentState, keyframes, history) live in
st.session_state under their own keys, which Streamlit never drops.

    sticky.restore(KEYS)      # top of the page (or of a panel)
    ...widgets with those keys...
    sticky.remember(KEYS)     # after them
    sticky.put("layer_preset", "fine")
    st.selectbox(..., key=sticky.versioned("strip_dir", method, names))
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, MutableMapping
from typing import Any

from explorer.ui.session import session

_PREFIX = "_sticky_"


def _state(ss: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
    return session() if ss is None else ss


def restore(keys: Iterable[str], ss: MutableMapping[str, Any] | None = None) -> None:
    """Before the widgets: give each key that lost its value the value `remember` kept."""
    ss = _state(ss)
    for k in keys:
        if k not in ss and _PREFIX + k in ss:
            ss[k] = ss[_PREFIX + k]


def remember(keys: Iterable[str], ss: MutableMapping[str, Any] | None = None) -> None:
    """After the widgets: keep each key's value for the runs that do not draw it."""
    ss = _state(ss)
    for k in keys:
        if k in ss:
            ss[_PREFIX + k] = ss[k]


def put(key: str, value: Any, ss: MutableMapping[str, Any] | None = None) -> None:
    """Set a sticky widget's value from code (a callback, or before the widget is drawn)."""
    ss = _state(ss)
    ss[key] = ss[_PREFIX + key] = value


def get(key: str, default: Any = None, ss: MutableMapping[str, Any] | None = None) -> Any:
    """A sticky widget's value, drawn this run or not."""
    ss = _state(ss)
    return ss[key] if key in ss else ss.get(_PREFIX + key, default)


def versioned(key: str, *what: object) -> str:
    """`key` plus a short hash of `what`: a new widget whenever `what` changes."""
    return f"{key}_{zlib.crc32(repr(what).encode()):08x}"
