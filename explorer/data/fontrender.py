"""Render one typeface as a glyph stack: the 62 glyphs A-Z a-z 0-9 as 64x64 uint8 ink (0 = background).

Geometry, the same for every face (FreeType outlines, unhinted, anti-aliased, no embedded bitmaps):
- Scale: the cap height (median outline top of H E I T, in font units) becomes CAP_PX = 32 px.
  A face whose glyphs would not fit the cell at that scale (the widest glyph over 63 px, or ink
  above the cell's top or below its bottom; ~7 % of faces, mostly wide or swash designs) is shrunk
  as a whole until it fits; the factor is `fit_scale` (1.0 for most faces) in its metadata.
- Baseline: y = 0 of the font lies on the top edge of pixel row BASELINE = 46 (46 rows above, 18 below).
- Horizontal: each glyph is centred by its ink (the exact outline bounding box, to 1/64 px), so the
  stack is aligned for a GAN. To typeset, each glyph keeps `advance` (px) and `origin_x`: the x of
  its pen origin inside the cell (px, may lie outside it), so its left side bearing is
  ink_left - origin_x; a text line places cell i so that origin_x sits on the pen, then advances.

Faces that are not usable raise `FaceRejected(reason, detail)` with reasons from `REASONS`; any
other exception means a broken file (the builder records it and goes on).

    from explorer.data.fontrender import face_count, render_face
    r = render_face("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    r.glyphs.shape   # (62, 64, 64) uint8; r.advance, r.origin_x: (62,) float32; r.meta: dict
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import freetype as ft
import numpy as np

from explorer.data.fontstore import CELL
from explorer.data.glyphmetrics import CHARS

CAP_PX = 32.0
BASELINE = 46
CAP_GLYPHS = "HEIT"
BLANK_INK = 4.0          # a glyph with less total ink than 4 full pixels is blank
SAME_RMS = 0.01          # two renders closer than this (RMS, ink in [0, 1]) are the same glyph
REPEAT_LIMIT = 4         # this many characters drawn with one identical glyph: a placeholder box
PANOSE_FIELDS = ("bFamilyType", "bSerifStyle", "bWeight", "bProportion", "bContrast", "bStrokeVariation",
                 "bArmStyle", "bLetterForm", "bMidline", "bXHeight")      # OS/2 panose, in the table's order
REASONS = ("missing glyphs", "not scalable", "blank glyphs", "notdef boxes", "repeated glyphs")
_LOAD = ft.FT_LOAD_NO_HINTING | ft.FT_LOAD_NO_BITMAP
_WEIGHTS = {"thin": 100, "hairline": 100, "extralight": 200, "ultralight": 200, "light": 300,
            "book": 400, "regular": 400, "normal": 400, "roman": 400, "medium": 500, "semibold": 600,
            "demibold": 600, "demi": 600, "bold": 700, "extrabold": 800, "ultrabold": 800,
            "heavy": 900, "black": 900, "ultra": 900, "fat": 900}


class FaceRejected(Exception):
    """A face that parsed but is not a usable Latin alphabet; `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class FaceRender:
    glyphs: np.ndarray                   # (62, 64, 64) uint8 ink
    advance: np.ndarray                  # (62,) float32 advance widths, px at the cell's scale
    origin_x: np.ndarray                 # (62,) float32 pen origin's x inside the cell, px
    ppem: float                          # pixels per em used
    fit_scale: float                     # 1.0, or < 1 when the face was shrunk to fit the cell
    meta: dict[str, Any] = field(default_factory=dict)


def face_count(path: str | Path) -> int:
    """Number of faces in a font file (TTC/OTC collections hold several)."""
    return int(ft.Face(str(path)).num_faces)


def _bbox(face: ft.Face) -> tuple[float, float, float, float]:
    b = face.glyph.outline.get_bbox()
    return float(b.xMin), float(b.yMin), float(b.xMax), float(b.yMax)


def _bitmap(slot: Any) -> np.ndarray:
    bm = slot.contents.bitmap
    rows, width, pitch = int(bm.rows), int(bm.width), int(bm.pitch)
    if rows == 0 or width == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    buf = np.ctypeslib.as_array(bm.buffer, shape=(rows * abs(pitch),)).reshape(rows, abs(pitch))
    out = buf[:, :width].copy()
    return out[::-1] if pitch < 0 else out


def _render_glyph(face: ft.Face, gi: int) -> tuple[np.ndarray, float, float]:
    """Render glyph index `gi` at the current size into a cell: (cell, advance px, origin_x px)."""
    face.load_glyph(gi, _LOAD)
    slot = face.glyph._FT_GlyphSlot
    cell = np.zeros((CELL, CELL), dtype=np.uint8)
    advance = face.glyph.linearHoriAdvance / 65536.0
    if face.glyph.format != ft.FT_GLYPH_FORMAT_OUTLINE or face.glyph.outline.n_points == 0:
        return cell, advance, CELL / 2 - advance / 2
    x0, _, x1, _ = _bbox(face)                       # 26.6 fixed point
    origin = CELL * 32.0 - (x0 + x1) / 2             # origin x (26.6) that centres the ink
    whole = int(np.floor(origin / 64.0))
    frac = int(round(origin - whole * 64))
    ft.raw.FT_Outline_Translate(ctypes.byref(slot.contents.outline), frac, 0)
    err = ft.raw.FT_Render_Glyph(slot, ft.FT_RENDER_MODE_NORMAL)
    if err:
        raise ft.FT_Exception(err)
    bmp = _bitmap(slot)
    left, top = whole + face.glyph.bitmap_left, BASELINE - face.glyph.bitmap_top
    h, w = bmp.shape
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, CELL), min(left + w, CELL)
    if r1 > r0 and c1 > c0:
        cell[r0:r1, c0:c1] = bmp[r0 - top:r1 - top, c0 - left:c1 - left]
    return cell, advance, origin / 64.0


def _fit(face: ft.Face, gis: list[int]) -> tuple[float, float]:
    """(ppem, fit_scale) from outline boxes in font units."""
    boxes = []
    for gi in gis:
        face.load_glyph(gi, ft.FT_LOAD_NO_SCALE)
        boxes.append(_bbox(face) if face.glyph.outline.n_points else (0.0, 0.0, 0.0, 0.0))
    b = np.array(boxes)
    cap = float(np.median(b[[CHARS.index(c) for c in CAP_GLYPHS], 3]))
    if cap <= 0:
        raise FaceRejected("blank glyphs", "no cap height (H E I T have no outline above the baseline)")
    px = CAP_PX / cap                                # px per font unit
    need = max(1.0, (b[:, 2] - b[:, 0]).max() * px / (CELL - 1), b[:, 3].max() * px / (BASELINE - 0.5),
               -b[:, 1].min() * px / (CELL - BASELINE - 0.5))
    return px * face.units_per_EM / need, 1.0 / need


def render_face(path: str | Path, index: int = 0) -> FaceRender:
    """Render face `index` of a font file (see the module docstring); raises FaceRejected or any error."""
    face = ft.Face(str(path), index)
    if not face.is_scalable:
        raise FaceRejected("not scalable", "bitmap-only font")
    gis = [face.get_char_index(ord(c)) for c in CHARS]
    missing = "".join(c for c, gi in zip(CHARS, gis) if gi == 0)
    if missing:
        raise FaceRejected("missing glyphs", missing)
    ppem, fit_scale = _fit(face, gis)
    face.set_char_size(0, int(round(ppem * 64)), 72, 72)
    glyphs = np.zeros((len(CHARS), CELL, CELL), dtype=np.uint8)
    advance = np.zeros(len(CHARS), dtype=np.float32)
    origin = np.zeros(len(CHARS), dtype=np.float32)
    for k, gi in enumerate(gis):
        glyphs[k], advance[k], origin[k] = _render_glyph(face, gi)
    check_glyphs(glyphs, _render_glyph(face, 0)[0])
    meta = font_metadata(path, index, face)
    meta["caps_as_lowercase"] = caps_as_lowercase(glyphs)
    return FaceRender(glyphs, advance, origin, round(ppem, 3), round(fit_scale, 4), meta)


def render_chars(path: str | Path, index: int, chars: str, ppem: float) -> dict[str, tuple[np.ndarray, float, float]]:
    """Any characters of face `index` of a font file drawn as the dataset draws its 62 (`ppem`: the face's
    size from its metadata, so they share its scale and baseline): {char: (cell (64, 64) uint8, advance px,
    origin_x px)} for those the font maps; FreeType errors propagate."""
    face = ft.Face(str(path), index)
    face.set_char_size(0, int(round(ppem * 64)), 72, 72)
    out = {}
    for c in chars:
        gi = face.get_char_index(ord(c))
        if gi:
            out[c] = _render_glyph(face, gi)
    return out


def check_glyphs(glyphs: np.ndarray, notdef: np.ndarray | None = None) -> None:
    """Raise FaceRejected for blank glyphs, glyphs drawn as the .notdef box, or one glyph repeated
    for REPEAT_LIMIT or more characters (a placeholder the cmap points many letters to)."""
    ink = glyphs.astype(np.float32) / 255.0
    blank = [c for c, s in zip(CHARS, ink.sum((1, 2))) if s < BLANK_INK]
    if blank:
        raise FaceRejected("blank glyphs", "".join(blank))
    flat = ink.reshape(len(CHARS), -1)
    if notdef is not None and notdef.sum() / 255.0 >= BLANK_INK:
        d = np.sqrt(((flat - notdef.reshape(1, -1) / 255.0) ** 2).mean(1))
        boxed = "".join(c for c, x in zip(CHARS, d) if x < SAME_RMS)
        if boxed:
            raise FaceRejected("notdef boxes", boxed)
    sq = (flat ** 2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * flat @ flat.T, 0) / flat.shape[1]
    same = np.sqrt(d2) < SAME_RMS
    k = int(same.sum(1).argmax())
    if same[k].sum() >= REPEAT_LIMIT:
        raise FaceRejected("repeated glyphs", "".join(c for c, s in zip(CHARS, same[k]) if s))


def caps_as_lowercase(glyphs: np.ndarray) -> int:
    """How many of a-z are drawn exactly as their capital (26 in an all-caps display face)."""
    ink = glyphs.astype(np.float32) / 255.0
    d = np.sqrt(((ink[26:52] - ink[0:26]) ** 2).mean((1, 2)))
    return int((d < SAME_RMS).sum())


def _weight_class(text: str) -> int | None:
    key = re.sub(r"[^a-z]", "", text.lower())
    return _WEIGHTS.get(key)


def _type1_info(path: str | Path) -> dict[str, Any]:
    """/FamilyName, /Weight, /ItalicAngle from a Type 1 font's clear-text part."""
    head = Path(path).read_bytes()[:20000].decode("latin-1")
    info: dict[str, Any] = {}
    for key in ("FamilyName", "FullName", "Weight"):
        m = re.search(rf"/{key}\s*\(((?:[^()\\]|\\.)*)\)", head)
        if m:
            info[key] = m.group(1)
    m = re.search(r"/ItalicAngle\s+(-?[\d.]+)", head)
    if m:
        info["ItalicAngle"] = float(m.group(1))
    return info


def font_metadata(path: str | Path, index: int, face: ft.Face) -> dict[str, Any]:
    """Family, style, format and the font's own style metadata.

    TrueType/OpenType (fontTools): typographic family/subfamily (name IDs 16/17, else 1/2),
    usWeightClass, usWidthClass, fsSelection, PANOSE (10 numbers), post.italicAngle.
    Type 1: /FamilyName, /Weight (text, mapped to a weight class where it is a standard name) and
    /ItalicAngle; width class, fsSelection and PANOSE are None."""
    fam = (face.family_name or b"").decode("latin-1", "replace")
    style = (face.style_name or b"").decode("latin-1", "replace")
    meta: dict[str, Any] = {"family": fam, "style": style, "format": face.get_format().decode(),
                            "postscript_name": (face.postscript_name or b"").decode("latin-1", "replace"),
                            "us_weight_class": None, "us_width_class": None, "fs_selection": None,
                            "panose": None, "italic_angle": None, "weight_name": None}
    if face.is_sfnt:
        try:
            _sfnt_metadata(path, index, face, meta)
        except Exception as e:  # noqa: BLE001 - FreeType reads the face; its tables are only metadata
            meta["metadata_error"] = f"{type(e).__name__}: {e}"[:200]
    else:
        info = _type1_info(path)
        meta["family"] = info.get("FamilyName") or fam
        meta["weight_name"] = info.get("Weight")
        meta["us_weight_class"] = _weight_class(info.get("Weight", "")) if info.get("Weight") else None
        meta["italic_angle"] = info.get("ItalicAngle")
    meta["family"] = meta["family"].strip() or Path(path).stem
    return meta


def _sfnt_metadata(path: str | Path, index: int, face: ft.Face, meta: dict[str, Any]) -> None:
    """Fill `meta` from a TrueType/OpenType face's name, OS/2 and post tables (fontTools)."""
    from fontTools.ttLib import TTFont
    fam, style = meta["family"], meta["style"]
    with TTFont(str(path), fontNumber=index if face.num_faces > 1 else -1, lazy=True) as tt:
        if "name" in tt:
            name = tt["name"]
            f16, s17 = name.getDebugName(16), name.getDebugName(17)
            meta["family"] = f16 or name.getDebugName(1) or fam
            meta["style"] = (s17 if f16 else None) or name.getDebugName(2) or style
        if "OS/2" in tt:
            os2 = tt["OS/2"]
            meta["us_weight_class"] = int(os2.usWeightClass)
            meta["us_width_class"] = int(os2.usWidthClass)
            meta["fs_selection"] = int(os2.fsSelection)
            p = os2.panose
            meta["panose"] = [int(getattr(p, a)) for a in PANOSE_FIELDS]
        if "post" in tt:
            meta["italic_angle"] = float(tt["post"].italicAngle)
