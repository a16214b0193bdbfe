"""Open a LatentState on the Explore page from another page, keeping the sidebar's model.

`st.switch_page` drops every widget value, the sidebar's model picker included, so the Explore page
would open the first model instead of the one the state belongs to. The button's on_click callback
re-sets "model" (allowed in a callback) and raises a flag; `follow()`, called near the top of the
page, does the switch on that run (st.switch_page cannot run inside a callback: the page list is
not known yet).

    st.button("Open in the explorer", key="x_open", on_click=handoff.open_in_explorer, args=(state,))
    handoff.follow()        # before the page draws much
"""

from __future__ import annotations

import streamlit as st

from explorer.latents import LatentState
from explorer.ui import state as S

EXPLORE = "explorer/ui/explore_page.py"
_FLAG = "_handoff_explore"


def open_in_explorer(state: LatentState) -> None:
    """on_click callback: ask the Explore page to load `state`, and go there on this rerun (see follow)."""
    ss = st.session_state
    S.request(ss, state)
    if "model" in ss:
        ss["model"] = ss["model"]          # a value set by code survives the page switch; a widget's does not
    ss[_FLAG] = True


def follow() -> None:
    """Switch to the Explore page if a button asked for it."""
    if st.session_state.pop(_FLAG, False):
        st.switch_page(EXPLORE)
