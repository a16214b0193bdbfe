"""The app's page list, for st.navigation."""

from __future__ import annotations

import streamlit as st


def all_pages() -> list:
    return [st.Page("explorer/ui/models_page.py", title="Models", icon="🗂️", default=True)]
