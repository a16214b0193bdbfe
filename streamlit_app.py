"""Latent Explorer app: page config + navigation over the pages in explorer/ui/."""

import streamlit as st

from explorer.ui import pages

st.set_page_config(page_title="Latent Explorer", page_icon="🎛️", layout="wide")
page = st.navigation(pages.all_pages())
pages.sidebar()
page.run()
