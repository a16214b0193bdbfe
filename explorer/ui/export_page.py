"""Export & share: the current image as PNG, its recipe (JSON file or link), recipe upload,
and a synthetic dataset (zip of PNGs + labels.csv) for data augmentation."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import streamlit as st
from PIL import Image

from explorer.explore import recipes
from explorer.explore.synthetic import MAX_IMAGES, synthetic_zip
from explorer.imaging.render import to_pil
from explorer.ui import handoff, pages
from explorer.ui import state as S
from explorer.ui.text import md_escape, md_quote

eng = pages.engine_or_stop()
ss = st.session_state
handoff.follow()


def _open(state, model_label: str | None) -> None:
    ss["_notes"] = ss.pop("_recipe_notes", [])
    handoff.open_in_explorer(state, model_label)


st.title("Export & share")
state = ss.get("current")
if state is None or state.model != eng.name:
    state = S.default_state(eng)
D = eng.directions(state.method) if state.edits else None
img, ms = eng.render_state(state, D)

left, right = st.columns([1, 2])
with left:
    st.image(to_pil(img).resize((256, 256), Image.NEAREST), caption=f"seed {state.seed}, {len(state.edits)} edits",
             output_format="PNG")

# ---------------------------------------------------------------- PNG
with right:
    st.subheader("Image")
    c1, c2 = st.columns(2)
    size = c1.selectbox("Size (px)", [img.shape[0], 128, 256, 512, 1024], index=2, key="png_size")
    smooth = c2.radio("Upscaling", ["nearest", "smooth"], key="png_resample", horizontal=True) == "smooth"
    out = to_pil(img).resize((int(size), int(size)), Image.LANCZOS if smooth else Image.NEAREST)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    st.download_button("Download PNG", buf.getvalue(), file_name=f"{eng.name}-seed{state.seed}.png",
                       mime="image/png", key="png_download", on_click="ignore")

    st.subheader("Recipe")
    text = recipes.recipe_json(state)
    st.download_button("Download recipe (.json)", text, file_name=f"{eng.name}-seed{state.seed}.json",
                       mime="application/json", key="recipe_download", on_click="ignore")
    query = urlencode(recipes.to_query_params(state))
    base = str(getattr(st.context, "url", "") or "").split("?")[0].rstrip("/")
    base = base.rsplit("/", 1)[0] if base.endswith("export") else base
    st.text_input("Link to this exact image", f"{base}/?{query}", key="share_link", disabled=False)
    with st.expander("Recipe JSON"):
        st.code(text, language="json")

    up = st.file_uploader("Load a recipe (.json)", type=["json"], key="recipe_upload")
    if up is not None:
        try:
            loaded, warns, switch = handoff.recipe_for_upload(up.getvalue(), eng)
        except ValueError as e:
            st.error(f"That file is not a usable recipe: {md_escape(e)}")
        else:
            for w in warns:
                st.warning(md_escape(w))
            if switch is not None:
                st.info(f"This recipe was made with the model {md_quote(loaded.model)}; it opens with that model.")
            ss["_recipe_notes"] = [f"Recipe: {md_escape(w)}" for w in warns]          # notes are Markdown
            st.button("Open it in the explorer", key="recipe_open", type="primary", on_click=_open,
                      args=(loaded, switch))

# ---------------------------------------------------------------- synthetic dataset
st.subheader("Synthetic dataset")
nc = eng.G.cfg.num_classes
s1, s2, s3 = st.columns(3)
cap = MAX_IMAGES // max(nc, 1)
per = s1.number_input("Images per class" if nc else "Images", 1, cap, value=min(100, cap), key="syn_n")
psi = s2.slider("Truncation ψ", 0.0, 2.0, 0.8, 0.05, key="syn_psi")
seed0 = s3.number_input("First seed", 0, 2**31 - 1 - cap, value=0, key="syn_seed")
st.caption(f"{int(per) * max(nc, 1)} PNGs in class folders + labels.csv (file, seed, class, ψ)"
           + ("; every class uses the same seeds" if nc else ""))
zip_key = (f"{eng.name}:{eng.meta.get('sha256', '')}", int(per), float(psi), int(seed0))   # what the zip holds
if st.button("Build the zip", key="syn_build"):
    bar = st.progress(0.0, text="Rendering…")

    def _tick(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Rendering {done}/{total}")

    def _render(ws):
        return eng.render_ws(ws)

    ss["syn_zip"] = synthetic_zip(eng.G, int(per), psi=float(psi), seed=int(seed0), class_names=eng.class_names,
                                  progress=_tick, render=_render)
    ss["syn_zip_key"] = zip_key
    bar.progress(1.0, text="Done")
if ss.get("syn_zip") and ss.get("syn_zip_key") == zip_key:      # never a zip of another model or settings
    st.download_button(f"Download the dataset ({len(ss['syn_zip']) / 1e6:.1f} MB)", ss["syn_zip"],
                       file_name=f"{eng.name}-synthetic.zip", mime="application/zip", key="syn_download",
                       on_click="ignore")
elif ss.get("syn_zip"):
    st.caption("The settings or the model changed since the last zip: build it again to download.")
