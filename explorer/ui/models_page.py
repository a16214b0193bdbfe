"""Models: every shipped and trained generator, its model card, and live samples.

(The slider-driven explorer, interpolation and training pages build on this.)
"""

from __future__ import annotations

import streamlit as st
import torch

from explorer import checkpoint
from explorer.config import data_dir, pretrained_dir
from explorer.device import load_generator, pick_device
from explorer.render import png_bytes, sample_grid


@st.cache_resource(show_spinner="Loading model…")
def cached_generator(path: str, sha256: str) -> tuple[torch.nn.Module, dict]:
    """One copy per checkpoint version, shared by every session (keyed by the weights' hash)."""
    return load_generator(path, pick_device("auto"))


st.title("Latent Explorer")
models = checkpoint.list_models(pretrained_dir(), data_dir() / "runs")
if not models:
    st.warning("No models found in pretrained/ or the runs folder. Train one with `latent-explorer train`.")
    st.stop()
names = [f"{m.name} ({m.source})" for m in models]
choice = st.selectbox("Model", names, key="model")
info = models[names.index(choice)]
try:
    G, meta = cached_generator(str(info.path), info.meta.get("sha256", ""))
except checkpoint.CheckpointError as e:
    st.error(f"This model cannot be loaded: {e}")
    st.stop()

left, right = st.columns([2, 3])
with left:
    seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed")
    psi = st.slider("Truncation ψ", 0.0, 1.5, 1.0, 0.05, key="psi")
    st.markdown(meta.get("model_card") or "_No model card._")
    figures = meta.get("metrics") or {}
    if figures:
        with st.expander("Quality figures"):
            st.json(figures)
with right:
    device = next(G.parameters()).device
    grid = sample_grid(G, 10 * G.cfg.num_classes if G.cfg.num_classes else 64, seed=int(seed), psi=psi,
                       device=device)
    st.image(png_bytes(grid, scale=3), caption=f"{meta['name']}: seed {seed}, ψ {psi}")
