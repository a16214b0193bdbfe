"""Latent Explorer app: page config + navigation over the pages in explorer/ui/."""

import streamlit as st

from explorer.jobs.scheduler import background_scheduler
from explorer.ui import pages
from explorer.ui.heap import freeze_new_modules

st.set_page_config(page_title="Latent Explorer", page_icon="🎛️", layout="wide")
background_scheduler()      # once per server process: training jobs resume and start with no Train page open
page = st.navigation(pages.all_pages())
pages.sidebar()
page.run()
freeze_new_modules()        # a page imported something heavy: keep Streamlit's per-run GC cheap
