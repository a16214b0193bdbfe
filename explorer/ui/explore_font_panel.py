"""Explore for font models (glyph-stack generators): the specimen above the glyph sheet, and the Font panel.

* `specimen_panel(view)` (middle column, above the image): text the user types (default a pangram),
  set in the current typeface (explorer/explore/specimen.py) at a chosen size, from the model's glyph
  bitmaps or (toggle "Traced": as downloaded) from the outlines the .otf is traced to; characters outside
  the model's glyphs are dotted boxes and listed; empty text says so. Draws nothing for image models.
* `font_panel(view)` (a right-hand panel, offered for font models only): the three nearest real fonts
  of the training set (explorer/explore/nearest.py: name, package, licence, a specimen set with the
  real font's own advances, and how far each is), or why they cannot be shown; downloads of the PNG
  specimen, the typed text as SVG and the typeface as an installable OpenType font
  (explorer/explore/fontexport.py, with the recipe in its name table).
Widget keys start with "font_"; the text and size are sticky across pages and panels.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st
from PIL import Image

from explorer.explore import fontexport as FX
from explorer.explore import glyph_reading as GR
from explorer.explore import nearest as NN
from explorer.explore import recipes
from explorer.explore.built_glyphs import available
from explorer.explore.engine import Engine
from explorer.explore.latents import LatentState
from explorer.explore.preview import TILE_WORD, font_glyphs, is_font, preview
from explorer.explore.specimen import (
    CHARS,
    PANGRAM,
    Metrics,
    glyph_metrics,
    missing_note,
    real_metrics,
    specimen_sheet,
    typeset,
    unknown_chars,
)
from explorer.imaging.media import data_url
from explorer.imaging.render import png_bytes, stack_from_sheet
from explorer.ui import sticky
from explorer.ui.explore_view import View
from explorer.ui.font_link import DEFAULT_SIZE, MAX_TEXT, SIZES
from explorer.ui.text import md_escape

STICKY = ("font_text", "font_size", "font_traced")
MAX_LABEL = 9                          # characters a download button's label may have (half the Font panel)
LINE_PX = 280                          # specimen lines wrap at about this width on screen: the middle column
                                       # is 305 px wide at a 1400 px window (263 at 1280), and the page shrinks
                                       # a wider image, so at 640 the pangram at "32 px" showed at 15 px
NEAREST_PX = 24                        # the nearest real fonts' cap height on screen
EXPORT_LINE_PX = 640                   # the downloaded PNG's lines (not bound by a column)
MIN_LINE_CAPS = 4.0                    # ... but hold at least this many cap heights
MAX_WORD_CAPS = 16.0                   # a line widens to keep a word up to this wide whole (the page then shrinks it):
                                       # "Hamburgefonstiv" in a heavy face is 12.3 cap heights
LINE_SLACK = 0.75                      # a full line's width beyond the wrap, cap heights (margins 2 x 0.25, overhang)


def is_font_model(eng: Engine) -> bool:
    """True for glyph-stack generators (one channel per glyph)."""
    return is_font(eng)


def glyphs_of(eng: Engine) -> str:
    """The characters of the model's channels, in order (A-Z a-z 0-9 for the fonts model)."""
    return font_glyphs(eng)


def stack_of(eng: Engine, img: np.ndarray) -> np.ndarray:
    """The glyph stack (G, R, R) uint8 of a rendered glyph sheet (H, W, 1)."""
    return stack_from_sheet(img, eng.G.cfg.channels)


def scaled(image: np.ndarray, cap: float, size: int) -> np.ndarray:
    """A specimen (H, W) uint8 resized so its cap height is `size` px (Lanczos), as (H', W', 1)."""
    f = size / cap
    if math.isclose(f, 1.0):
        return image[..., None]
    h, w = max(1, round(image.shape[0] * f)), max(1, round(image.shape[1] * f))
    return np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))[..., None]


def specimen_image(stack: np.ndarray, text: str, glyphs: str, size: int, line_px: int = LINE_PX,
                   full_line: bool = False, metrics: Metrics | None = None):
    """(Specimen, the image at `size` px cap height (H, W, 1) uint8); lines wrap at about `line_px` px
    on screen, so a larger size sets fewer words per line (at least MIN_LINE_CAPS cap heights).

    `full_line`: pad the image with paper to a full line's width, the same for any text at this size. The
    page narrows an image wider than its column, so a long line (the pangram) used to shrink while a short
    one ("Привет abc") did not: its Latin letters looked ~1.5x larger. One width shrinks every text alike.
    `metrics`: the advances and origins to set with (default: measured from `stack`'s ink)."""
    cap = stack.shape[1] / 2                      # the dataset's geometry: the cap height is half the cell
    wrap = max(line_px / size, MIN_LINE_CAPS) * cap
    spec = typeset(stack, text, glyphs, wrap=wrap, metrics=metrics, word_max=MAX_WORD_CAPS * cap)
    image = spec.image
    width = int(np.ceil(wrap + LINE_SLACK * cap)) + 2      # a line, both margins and any ink past the advance
    if full_line and image.shape[1] < width:
        image = np.pad(image, ((0, 0), (0, width - image.shape[1])), constant_values=255)
    return spec, scaled(image, cap, size)


def text_box() -> tuple[str, int]:
    """The specimen's text and size widgets (sticky); returns their values."""
    ss = st.session_state
    sticky.restore(STICKY)
    ss.setdefault("font_text", PANGRAM)
    ss.setdefault("font_size", DEFAULT_SIZE)
    text = st.text_area("Specimen text", key="font_text", max_chars=MAX_TEXT, height=68,
                        help="Set in the current typeface. The model draws A-Z a-z 0-9; punctuation (. , : ; - – — "
                             "' ’ ‘ \" “ ” ‚ „ ! ¡ · … •) is built from its own i (its dot) and l, ? ¿ from its 2, "
                             "( ) / + = drawn at its weight, and accented and stroked letters (é ü ñ ç å ő ž Ł Ø "
                             "...) from its letters and drawn marks, as a type designer would; pairs such as To "
                             "and AV are kerned. Other characters are drawn as dotted boxes.")
    # each on its own row: beside the text box the slider was a stub, beside the toggle its label was cut
    size = st.select_slider("Size (px)", SIZES, key="font_size", help="cap height on screen")
    # "Traced", not "As downloaded": at 900 px with the sidebar open the long label was cut to "As downl…"
    st.toggle("Traced", key="font_traced",
              help="The text as the downloaded font draws it: set from the outlines the .otf download is traced to "
                   "(potrace), drawn back at the model's 64 px, instead of the model's own glyph bitmaps: specks "
                   "and pinholes no typeface has (a dot above an o, a hole in an S's stroke) are dropped and edges "
                   "become curves, but a ragged glyph stays ragged. At large sizes the installed font shows its "
                   "outlines' detail the 64 px cells hide.")
    sticky.remember(STICKY)
    return str(text), int(size)


@st.cache_data(max_entries=8, show_spinner="Tracing the outlines…")
def _traced(raw: bytes, shape: tuple[int, int, int], glyphs: str) -> np.ndarray:
    stack = np.frombuffer(raw, np.uint8).reshape(shape)
    return FX.drawn_cells(FX.build_font(stack, "{}", glyphs, extra=""), stack, glyphs)   # the model's own glyphs


def specimen_stack(eng: Engine, stack: np.ndarray, traced: bool) -> tuple[np.ndarray, Metrics | None, str]:
    """The glyphs a specimen is set from: the model's bitmaps, or with `traced` the downloaded font's
    outlines drawn back into cells (explorer.explore.fontexport.drawn_cells; cached per face), set with the
    font's own advances (the bitmaps' metrics, which its hmtx holds). Returns (stack (G, R, R) uint8, the
    metrics to set it with or None for its own, "" or why the bitmaps are used instead)."""
    if not traced:
        return stack, None, ""
    glyphs = glyphs_of(eng)
    try:
        cells = _traced(np.ascontiguousarray(stack).tobytes(), tuple(stack.shape), glyphs)
    except (FX.FontExportError, ValueError) as e:
        return stack, None, f"The specimen shows the glyph bitmaps: the font could not be traced ({e})."
    return cells, glyph_metrics(stack, glyphs), ""


def specimen_panel(view: View) -> None:
    """Middle column, above the glyph sheet: the typed text in the current typeface (font models only)."""
    eng = view.eng
    if not is_font_model(eng):
        return
    text, size = text_box()
    shown, metrics, why = specimen_stack(eng, stack_of(eng, view.img), bool(st.session_state.get("font_traced")))
    if why:
        st.warning(md_escape(why))
    spec, img = specimen_image(shown, text, glyphs_of(eng), size, full_line=True, metrics=metrics)
    if spec.empty:
        st.info("Type some text above to see it set in this typeface.")
        reading_caption(eng, stack_of(eng, view.img))
        return
    st.image(data_url(png_bytes(img)), width=int(img.shape[1]))     # its own size: the Size control is real
    note = missing_note(spec.unknown, spec.truncated)
    if note:
        st.caption(md_escape(note))                # the characters exactly as typed
    reading_caption(eng, stack_of(eng, view.img))


@st.cache_resource(show_spinner=False, max_entries=1)
def glyph_reader() -> GR.Reader | None:
    """The shipped glyph classifier, loaded once per server (None when it is not shipped)."""
    return GR.load_reader()


def reading_caption(eng: Engine, stack: np.ndarray) -> None:
    """How many of this face's glyphs the project's glyph classifier reads as themselves, beside the
    held-out real faces' average from the model's metrics (explorer/explore/glyph_reading.py)."""
    reader = glyph_reader()
    r = None if reader is None else GR.read_face(stack, glyphs_of(eng), reader)
    if r is None:
        return
    real = (eng.meta.get("metrics") or {}).get("glyph_accuracy_real_test")
    text = (f"Readability: the glyph classifier reads {r.read} of {r.total} glyphs of this face as themselves "
            f"({100 * r.share:.0f} %)" + (f"; held-out real faces average {100 * float(real):.0f} %" if real else "")
            + ("." if not r.misread else f". Misread: {' '.join(r.misread)}"))
    st.caption(md_escape(text), help="Glyphs that look alike in many real fonts (I and l, O and 0) count as read.")


@st.cache_resource(show_spinner="Indexing the fonts dataset (once per dataset build)…", max_entries=2)
def _index(folder: str, build: str) -> tuple[NN.FaceIndex | None, str]:
    """(index or None, why not) of the fonts dataset; the build id is part of the key."""
    try:
        return NN.load_index(folder), ""
    except (OSError, ValueError, KeyError) as e:
        return None, str(e)


def face_index() -> tuple[NN.FaceIndex | None, str]:
    """The nearest-face index of this server's fonts dataset, or None and why not."""
    from explorer.data.fontstore import read_meta
    from explorer.settings import data_dir
    folder = data_dir() / "datasets" / "fonts"
    try:
        build = str(read_meta(folder).get("build_id"))
    except (OSError, ValueError) as e:
        return None, str(e)
    return _index(str(folder), build)


def nearest_panel(view: View, stack: np.ndarray, text: str) -> None:
    """The 3 nearest training faces, each as a specimen set with its own metrics."""
    st.markdown("**Nearest real fonts** (training set, pixel space)")
    idx, why = face_index()
    if idx is None:
        build = "" if "datasets fonts" in why else " Build it with `latent-explorer datasets fonts`."   # said once
        st.info("The fonts dataset is not on this server, so the nearest real fonts cannot be shown "
                f"({md_escape(why)}).{build}")
        return
    if stack.shape[0] * NN.POOL * NN.POOL != idx.features.shape[1]:
        st.info("This model draws other glyphs than the fonts dataset, so it has no nearest real fonts.")
        return
    hits = NN.nearest(idx, stack, k=3)
    sample = text.strip() or PANGRAM
    for h in hits:
        g, adv, org = NN.real_face(idx, h.face_index)
        g = NN.resized(g, stack.shape[1])
        line = LINE_PX / NEAREST_PX * g.shape[1] / 2      # wrapped as the specimen is, not cut at the panel's edge
        spec = typeset(g, sample[:40], CHARS, metrics=real_metrics(g, adv, org, CHARS), wrap=line, word_max=line)
        st.image(data_url(png_bytes(scaled(spec.image, g.shape[1] / 2, NEAREST_PX))))
        f = h.face
        st.caption(md_escape(f"{f.get('family', '?')} {f.get('style', '')} · {f.get('package', '?')} · "
                             f"{f.get('licence') or 'licence unknown'} · distance {h.distance:.3f}"))
    if hits and not math.isnan(idx.typical):
        near = 0.5 * idx.typical                  # the line: half the distance a real, unseen font keeps
        verdict = "under that line, so it may be near a copy" if hits[0].distance < near else "not a copy"
        st.caption(f"Distance is the RMS ink difference (0 = identical). Held-out real fonts are typically "
                   f"{idx.typical:.3f} from their nearest training font, so a near copy would be under "
                   f"{near:.3f}; this one is {hits[0].distance:.3f}: {verdict}.")


def exports(eng: Engine, state: LatentState, stack: np.ndarray, text: str, size: int) -> None:
    """PNG specimen, SVG text and OpenType downloads of a typeface (the glyph stack of `state`); the font
    carries the state's recipe. Used by the Font panel and the Export page (keys "font_png/svg/otf")."""
    st.markdown("**Download this typeface**")
    recipe = recipes.recipe_json(state)
    family = FX.font_family(recipe)
    stem = family.replace(" ", "-")
    glyphs = glyphs_of(eng)
    sample = text

    def otf() -> bytes:
        return FX.build_font(stack, recipe, glyphs, model=eng.name)

    def svg() -> bytes:                       # a font of the text's characters only: the full one takes ~4x longer
        return FX.text_svg(FX.build_font(stack, recipe, glyphs, model=eng.name, extra=sample), sample,
                           size_px=2 * size).encode()

    # as the specimen shows it: bitmaps, or the traced outlines. Read now: the download runs png() later,
    # outside this run, where the session's widgets cannot be read (the toggle would read as off)
    traced = bool(sticky.get("font_traced", False))
    shown, metrics, _ = specimen_stack(eng, stack, traced)

    def png() -> bytes:
        return png_bytes(specimen_image(shown, sample, glyphs, size, line_px=EXPORT_LINE_PX, metrics=metrics)[1])

    try:
        FX.potrace_path()
        why = ""
    except FX.FontExportError as e:
        why = str(e)
    blank = not text.strip()                  # nothing typed: no specimen to download (not the pangram instead)
    # the font first, across the panel; PNG and SVG share a row below (three in a row were cut to "P…" at
    # 1000 px wide); short labels, MAX_LABEL characters, and help says more
    otf_box = st.container()
    c1, c2 = st.columns(2)
    c1.download_button("PNG", data=png, file_name=f"{stem}-specimen.png", mime="image/png", key="font_png",
                       on_click="ignore", width="stretch", disabled=blank,
                       help="Type some text first" if blank else "The specimen of your text, as a PNG image" + (
                           ", set from the traced outlines (Traced, on Explore)" if traced else ""))
    c2.download_button("SVG", data=svg, file_name=f"{stem}-text.svg", mime="image/svg+xml", key="font_svg",
                       on_click="ignore", width="stretch", disabled=bool(why) or blank,
                       help="Type some text first" if blank else "Your text as vector outlines (SVG)")
    otf_box.download_button("Font .otf", data=otf, file_name=f"{stem}.otf", mime="font/otf", key="font_otf",
                       on_click="ignore", type="primary", width="stretch", disabled=bool(why),
                       help="The typeface as an installable OpenType font")
    if why:
        st.warning(f"The font and SVG downloads need potrace: {md_escape(why)}")
    reader = glyph_reader()
    r = None if reader is None else GR.read_face(stack, glyphs, reader)
    if r is not None and r.share < GR.READABLE:          # say so before someone installs a broken face
        st.warning(f"The glyph classifier reads only {r.read} of {r.total} glyphs of this face as themselves "
                   f"({100 * r.share:.0f} %): the font draws them as you see them, broken glyphs included, and "
                   "its weight and style names come from measuring them. Smaller edits, or another seed, give a "
                   "readable face.")
    st.caption(f"The font installs as {md_escape(family)} (unique to this recipe, which it carries in its name "
               "table). Outlines are traced from the glyph bitmaps with potrace.")


def font_panel(view: View) -> None:
    """The Font panel: nearest real fonts and downloads (font models only)."""
    eng = view.eng
    if not is_font_model(eng):
        st.info("This panel is for font models (glyph stacks).")
        return
    stack = stack_of(eng, view.img)
    text, size = str(sticky.get("font_text", PANGRAM)), int(sticky.get("font_size", 32))
    exports(eng, view.state, stack, text, size)
    nearest_panel(view, stack, text)


def shown_image(eng: Engine, img: np.ndarray, text: str | None = None) -> np.ndarray:
    """What other pages show for a rendered image: for a font model's glyph sheet (H, W, 1), the specimen
    of `text` (default: the text typed on Explore, or the pangram when that is blank) above the sheet
    (explorer.explore.specimen.specimen_sheet); any other image as it is."""
    if not is_font_model(eng) or img.shape[-1] != 1:
        return img
    if text is None:
        typed = str(sticky.get("font_text", PANGRAM))
        text = typed if typed.strip() else PANGRAM
    return specimen_sheet(stack_of(eng, img), text, glyphs_of(eng))


def thumb_image(eng: Engine, img: np.ndarray, text: str = TILE_WORD) -> np.ndarray:
    """A thumbnail of a rendered image: for a font model's glyph sheet, `text` set in its typeface
    (H, W, 1), readable where a whole sheet at thumbnail size is not; any other image as it is."""
    if not is_font_model(eng) or img.shape[-1] != 1:
        return img
    return preview(img[None], eng, text)[0]


MORPH_WORD = "Hamburgefonstiv"         # the type designer's test word: most of the lowercase shapes


@st.cache_data(max_entries=4, show_spinner="Setting the word in every frame…",
               hash_funcs={np.ndarray: lambda a: hash(a.tobytes())})
def _morph(model_key: str, frames: np.ndarray, word: str, _eng: Engine) -> np.ndarray:
    return preview(frames, _eng, word)


def morph_frames(eng: Engine, frames: np.ndarray) -> np.ndarray:
    """Interpolate page, font models: a word box (sticky, key "ip_word"), then the path's frames (glyph
    sheets (N, H, W, 1)) as that word set in each frame's typeface (N, H', W', 1); other models' frames
    as they are."""
    if not is_font_model(eng) or frames.shape[-1] != 1 or not len(frames):
        return frames
    sticky.restore(["ip_word"])
    st.session_state.setdefault("ip_word", MORPH_WORD)
    word = st.text_input("Word to morph", key="ip_word", max_chars=60,
                         help="Set in every typeface along the path; the GIF/MP4 shows it morphing.")
    sticky.remember(["ip_word"])
    if not word.strip():
        st.info("Type a word to see it morph; the glyph sheets are shown meanwhile.")
        return frames
    note = missing_note(unknown_chars(word, available(glyphs_of(eng))))
    if note:
        st.caption(md_escape(note))                # as under the Explore specimen
    return _morph(eng.key, frames, word, eng)
