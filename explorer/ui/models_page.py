"""Models: every shipped and trained generator with its model card, figures and live samples."""

from __future__ import annotations

import streamlit as st

from explorer.explore.engine import Engine
from explorer.imaging.render import png_bytes, sample_grid
from explorer.ui import pages
from explorer.ui.text import md_escape


def _minutes(meta: dict) -> str:
    sec = (meta.get("training") or {}).get("train_seconds")
    return f"{sec / 60:.0f} min" if isinstance(sec, (int, float)) else "–"


def model_table() -> None:
    """Every model the app can load, one row each."""
    ms = pages.models()
    if ms:
        st.dataframe([{"model": m.name, "source": m.source,
                       "resolution": m.meta.get("generator", {}).get("resolution"),
                       "channels": m.meta.get("generator", {}).get("channels"),
                       "classes": len(m.meta.get("class_names") or []),
                       "training": _minutes(m.meta), "steps": m.meta.get("training", {}).get("steps")} for m in ms],
                     hide_index=True, width="stretch")


def model_card(eng: Engine) -> None:
    """The chosen model's card and figures beside a live sample grid."""
    meta = eng.meta
    left, right = st.columns([2, 3])
    with left:
        seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="grid_seed")
        psi = st.slider("Truncation ψ", 0.0, 1.5, 1.0, 0.05, key="grid_psi")
        st.markdown(meta.get("model_card") or "_No model card._")
        figures = meta.get("metrics") or {}
        if figures:
            with st.expander("Quality figures"):
                st.json(figures)
    with right:
        G = eng.G
        with eng.lock:
            grid = sample_grid(G, 10 * G.cfg.num_classes if G.cfg.num_classes else 64, seed=int(seed), psi=psi)
        st.image(png_bytes(grid, scale=3), caption=f"{md_escape(meta['name'])}: seed {seed}, ψ {psi}",
                 output_format="PNG")


def main() -> None:
    st.title("Models")
    model_table()
    model_card(pages.engine_or_stop())


if __name__ == "__main__":
    main()
