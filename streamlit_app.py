"""Latent Explorer app: page config + navigation over the pages in explorer/ui/."""

import streamlit as st

from explorer.jobs.scheduler import background_scheduler
from explorer.ui import pages
from explorer.ui.heap import freeze_new_modules

pages.keep_link_model()     # before anything a quick first click could interrupt: a link's ?m= is not lost
st.set_page_config(page_title="Latent Explorer", page_icon="🎛️", layout="wide")
background_scheduler()      # started with the server by explorer.ui.serve (run.sh app); idempotent, and the
                            # fallback for a bare `streamlit run streamlit_app.py`, which starts it on first view
page = st.navigation(pages.all_pages())
pages.sidebar()
page.run()
freeze_new_modules()        # a page imported something heavy: keep Streamlit's per-run GC cheap
