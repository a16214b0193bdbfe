"""Export & share: the current image as PNG, its recipe (JSON file or a link with a copy button), recipe
upload, and a synthetic dataset (zip of PNGs + labels.csv) for data augmentation. For font models the
image is the specimen above the glyph sheet, and the typeface downloads (PNG, SVG, OpenType) are here too.

The preview's caption names the whole state it exports (seed, class, psi, edits, z nudges)."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from explorer.explore import recipes
from explorer.explore import taught_refs as TR
from explorer.explore.engine import Engine
from explorer.explore.latents import SEED_MAX, LatentState
from explorer.explore.specimen import PANGRAM
from explorer.explore.synthetic import MAX_IMAGES, synthetic_zip
from explorer.fileio import human_size
from explorer.imaging.media import data_url
from explorer.imaging.render import png_bytes, to_pil
from explorer.ui import font_link, handoff, pages, sticky
from explorer.ui import state as S
from explorer.ui.explore_font_panel import exports, is_font_model, shown_image, stack_of
from explorer.ui.explore_view import caption, link, link_view, taught_refs_for
from explorer.ui.text import md_escape, md_quote, problems_box


def _open(state: LatentState, model_label: str | None, view: dict[str, str] | None = None) -> None:
    ss = st.session_state
    ss["_problems"] = ss.pop("_recipe_notes", [])         # plain text: the Explore page escapes it
    if view:                                              # a font recipe's specimen text and size
        ss["_problems"] += [f"Recipe: {w}" for w in font_link.apply_view_params(view)]
    handoff.open_in_explorer(state, model_label, exact=True)


def _open_upload(data: bytes, eng: Engine) -> None:
    """on_click of "Open it in the explorer": the recipe parsed again, now adding the taught directions it
    carries and this server lacks (the look before only named them), then opened."""
    try:
        got = handoff.recipe_for_upload(data, eng)
    except ValueError as e:                                # it parsed a moment ago; say so if it no longer does
        st.session_state["_recipe_notes"] = [f"Recipe: {e}"]
        return
    st.session_state["_recipe_notes"] = [f"Recipe: {w}" for w in got.warnings]
    _open(got.state, got.switch, got.view)


def file_stem(state: LatentState) -> str:
    """What a download is named after: "projected" for a projected image (as the Your image panel names
    its recipe), else "seed<n>"."""
    return "projected" if state.projected else f"seed{state.seed}"


PNG_WIDTHS = (128, 256, 512, 1024)


def image_panel(eng: Engine, state: LatentState, img: np.ndarray) -> None:
    """The PNG at a chosen size and upscaling."""
    st.subheader("Image")
    c1, c2 = st.columns(2)
    own = int(img.shape[1])                               # the image's own width (a font sheet is wider than tall)
    widths = [own] + [w for w in PNG_WIDTHS if w != own]
    size = c1.selectbox("Width (px)", widths, index=0 if own >= 256 else widths.index(256), key="png_size",
                        format_func=lambda w: f"{w} (its own size)" if w == own else str(w),
                        help="The height follows the image's shape")
    smooth = c2.radio("Upscaling", ["nearest", "smooth"], key="png_resample", horizontal=True) == "smooth"
    wh = (int(size), max(1, round(int(size) * img.shape[0] / img.shape[1])))    # width = size, the aspect kept
    out = to_pil(img).resize(wh, Image.Resampling.LANCZOS if smooth else Image.Resampling.NEAREST)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    st.download_button("Download PNG", buf.getvalue(), file_name=f"{eng.name}-{file_stem(state)}.png",
                       mime="image/png", key="png_download", on_click="ignore")


def recipe_panel(eng: Engine, state: LatentState) -> None:
    """The recipe as a file and as a link (with a copy button), and a recipe upload that opens in the explorer."""
    st.subheader("Recipe")
    view = font_link.view_params() if is_font_model(eng) else {}      # the specimen's text and size go along
    text = recipes.recipe_json(state, view, TR.recipe_field(taught_refs_for(eng, state)))   # taught: whole
    st.download_button("Download recipe (.json)", text, file_name=f"{eng.name}-{file_stem(state)}.json",
                       mime="application/json", key="recipe_download", on_click="ignore")
    st.caption("Link to this exact image (the button at the right of the box copies it)")
    st.code(link(state, link_view(eng, state)), language=None, wrap_lines=True)
    with st.expander("Recipe JSON"):
        st.code(text, language="json")
    up = st.file_uploader("Load a recipe (.json)", type=["json"], key="recipe_upload",
                          max_upload_size=recipes.MAX_RECIPE_BYTES // 1024 ** 2 + 1)   # over 1 MB: our message
    if up is None:
        return
    try:
        got = handoff.recipe_for_upload(up.getvalue(), eng, install=False)   # only a look: Open changes things
    except ValueError as e:
        st.error(f"That file is not a usable recipe: {md_escape(e)}")
        return
    warns = got.warnings
    if warns:
        st.warning(md_escape(warns[0]) if len(warns) == 1 else problems_box("This recipe has problems:", warns))
    if got.switch is not None:
        st.info(f"This recipe was made with the model {md_quote(got.state.model)}; it opens with that model.")
    st.button("Open it in the explorer", key="recipe_open", type="primary", on_click=_open_upload,
              args=(up.getvalue(), eng))


def dataset_panel(eng: Engine) -> None:
    """A zip of generated images in class folders with labels.csv, tied to the settings it was built with."""
    ss = st.session_state
    st.subheader("Synthetic dataset")
    nc = eng.G.cfg.num_classes
    s1, s2, s3 = st.columns(3)
    cap = MAX_IMAGES // max(nc, 1)
    for key, hi in (("syn_n", cap), ("syn_seed", SEED_MAX - (cap - 1))):     # bounds differ between models
        if key in ss and int(ss[key]) > hi:
            ss[key] = hi
    per = int(s1.number_input("Images per class" if nc else "Images", 1, cap, value=min(100, cap), key="syn_n"))
    psi = float(s2.slider("Truncation ψ", 0.0, 2.0, 0.8, 0.05, key="syn_psi"))
    seed0 = int(s3.number_input("First seed", 0, SEED_MAX - (cap - 1), value=0, key="syn_seed"))
    st.caption(f"{per * max(nc, 1)} PNGs in class folders + labels.csv (file, seed, class, ψ)"
               + ("; every class uses the same seeds" if nc else ""))
    zip_key = (eng.key, per, psi, seed0)                  # what the zip holds
    if st.button("Build the zip", key="syn_build"):
        bar = st.progress(0.0, text="Rendering…")

        def _tick(done: int, total: int) -> None:
            bar.progress(done / total, text=f"Rendering {done}/{total}")

        ss["syn_zip"] = synthetic_zip(eng.G, per, psi=psi, seed=seed0, class_names=eng.class_names,
                                      progress=_tick, render=eng.render_ws)
        ss["syn_zip_key"] = zip_key
        bar.progress(1.0, text="Done")
    if ss.get("syn_zip") and ss.get("syn_zip_key") == zip_key:      # never a zip of another model or settings
        st.download_button(f"Download the dataset ({human_size(len(ss['syn_zip']))})", ss["syn_zip"],
                           file_name=f"{eng.name}-synthetic.zip", mime="application/zip", key="syn_download",
                           on_click="ignore")
    elif ss.get("syn_zip"):
        st.caption("The settings or the model changed since the last zip: build it again to download.")


def main() -> None:
    eng = pages.engine_or_stop()
    handoff.follow()
    st.title("Export & share")
    state = st.session_state.get("current")
    if state is None or state.model != eng.name:
        state = S.default_state(eng)
    raw, _ = eng.render_state(state, eng.directions(state.method) if state.edits else None)
    img = shown_image(eng, raw)                   # font models: the specimen above the glyph sheet
    left, right = st.columns([1, 2])
    left.image(data_url(png_bytes(img, scale=max(1, 256 // img.shape[0]))), width=256,
               caption=md_escape(caption(eng, state)))
    with right:
        image_panel(eng, state, img)
        recipe_panel(eng, state)
        if is_font_model(eng):
            exports(eng, state, stack_of(eng, raw), str(sticky.get("font_text", PANGRAM)),
                    int(sticky.get("font_size", 32)))
    dataset_panel(eng)


if __name__ == "__main__":
    main()
