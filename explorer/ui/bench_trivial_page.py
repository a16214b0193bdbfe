"""The browser benchmark's floor: the most trivial Streamlit page, one slider and one image (numpy
and Pillow only). `explorer.bench.browser_bench` runs it as it is and with a heap freeze prepended."""
import io

import numpy as np
import streamlit as st
from PIL import Image

v = st.slider("value", 0.0, 100.0, 0.0, 0.1, key="v")
img = np.full((384, 384), round(v * 10) % 256, np.uint8)   # every 0.1 step is a new picture
buf = io.BytesIO()
Image.fromarray(img).save(buf, format="PNG")
st.image(buf.getvalue(), output_format="PNG")
