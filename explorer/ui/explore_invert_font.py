"""The font input of the Explore panel "Your image", for glyph-stack models: an installed font or an upload.

Either becomes the (64, 64, 62) stack the fonts dataset renders (explorer/explore/font_target.py);
a broken or unusable file gets its reason. Widget keys: inv_font_src, inv_font, inv_font_upload.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer.data.glyphmetrics import CHARS
from explorer.explore.engine import Engine
from explorer.explore.font_target import (
    FONT_MAX_BYTES,
    UPLOAD_TYPES,
    font_file_glyphs,
    installed_fonts,
    uploaded_font_glyphs,
)
from explorer.fileio import megabytes
from explorer.ui.kept_uploads import kept_upload
from explorer.ui.text import md_escape

FONT_KEYS = ["inv_font_src", "inv_font"]
CELL = 64


@st.cache_data(show_spinner=False, ttl=600)
def _installed() -> list[str]:
    return [str(p) for p in installed_fonts()]


def font_target(eng: Engine) -> tuple[np.ndarray | None, str | None]:
    """Draw the font choice; returns the chosen font's glyph stack (64, 64, 62) uint8, or (None, a reason)."""
    cfg = eng.G.cfg
    if (getattr(cfg, "glyphs", ""), cfg.resolution) != (CHARS, CELL):
        return None, (f"this model makes {cfg.channels} glyphs at {cfg.resolution} px; fonts are rendered as "
                      f"the {len(CHARS)} glyphs {CHARS[:3]}…{CHARS[-3:]} at {CELL} px")
    ss = st.session_state
    src = st.radio("Start from a font", ["installed", "upload"], key="inv_font_src", horizontal=True,
                   format_func=lambda s: "a font on this server" if s == "installed" else "your font file")
    if src == "installed":
        fonts = _installed()
        if not fonts:
            return None, "no TrueType or OpenType fonts are installed on this server: upload one"
        if "inv_font" not in ss:                         # a plain text face, not the first name (a maths font)
            ss["inv_font"] = default_font_index(fonts)
        i = st.selectbox("Installed font", list(range(len(fonts))), key="inv_font",
                         format_func=lambda k: Path(fonts[k]).stem)
        key: tuple = ("installed", fonts[min(int(i), len(fonts) - 1)])
        data: tuple[str, bytes] | None = None
    else:
        up = st.file_uploader("A font file", type=list(UPLOAD_TYPES), key="inv_font_upload",
                              max_upload_size=FONT_MAX_BYTES // 1024 ** 2,     # the box states our limit
                              help=f"TrueType, OpenType (of a collection, its first font) or a WOFF/WOFF2 web "
                                   f"font, at most {megabytes(FONT_MAX_BYTES)}; its 62 glyphs A-Z a-z 0-9 are "
                                   "rendered as the fonts dataset renders them")
        kept = kept_upload("_inv_font_files", eng.key, up)          # the last font stays after a panel switch
        if kept is None:
            return None, None
        if up is None:
            st.caption(f"Your last font file: {md_escape(kept[1])} (upload another to replace it)")
        key, data = ("upload", kept[0]), (kept[1], kept[2])
    cached = ss.get("_inv_font_target")
    if cached is None or cached[0] != key:
        got = font_file_glyphs(key[1]) if data is None else uploaded_font_glyphs(data[1], data[0])
        cached = (key, *got)
        ss["_inv_font_target"] = cached
    return cached[1], cached[2]


PREFERRED_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf", "FreeSans.ttf")


def default_font_index(fonts: list[str]) -> int:
    """The installed font the picker starts on: the first of PREFERRED_FONTS present, else the first regular
    face ("-Regular" or no style in its name), else 0."""
    names = [Path(f).name for f in fonts]
    for want in PREFERRED_FONTS:
        if want in names:
            return names.index(want)
    return next((i for i, n in enumerate(names) if "regular" in n.lower()), 0)
