"""Uploads a session keeps per model, so a file survives the uploader being drawn anew.

Streamlit forgets a file uploader's value when the widget is not drawn in a run (another panel
showed), so a person who came back had to upload the same file again; and a file sent again got a
new id, which looked like a new file and dropped the projection running from it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st


def kept_upload(store: str, model_key: str, up: Any) -> tuple[str, str, bytes] | None:
    """The upload this session keeps for a model, as (sha256, client file name, bytes), after taking in
    the uploader's value `up` (None when it is empty). An uploader is emptied when it is drawn anew
    (after another panel showed), so the last file stays until another one replaces it; the same file
    sent again is not a new one. st.session_state[store] maps model keys to these."""
    kept: dict[str, tuple[str, str, bytes, str]] = st.session_state.setdefault(store, {})
    old = kept.get(model_key)
    if up is not None and (old is None or old[3] != up.file_id):
        data = up.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        kept[model_key] = old = (sha, str(up.name), data, up.file_id)
    return None if old is None else old[:3]
