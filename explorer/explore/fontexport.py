"""Export a generated typeface: an installable OpenType font (CFF outlines), SVG text and a PNG specimen.

The glyph bitmaps (a glyph stack (G, R, R) uint8, see explorer/explore/specimen.py) are upsampled
UPSAMPLE x (bicubic), smoothed by a SMOOTH_PX Gaussian, thresholded at half ink and traced to cubic
Bezier outlines with potrace (Peter Selinger, "Potrace: a polygon-based tracing algorithm", 2003;
Debian's `potrace` command: all glyphs of a face in one run, as one tiled bitmap), then built with
fontTools' FontBuilder:
- cmap: each of the G characters to its glyph (AGL names: A, a, zero, eacute, ...), the punctuation and
  accented letters the face lacks built from its own glyphs (. , : ; - ' ’ " ! ¡ ? ¿ · – — ‘ “ ” ‚ „ … • and
  173 letters of Latin-1 and Latin Extended-A, explorer/explore/built_glyphs.py), space, and .notdef;
- units per em UPM with the cap height at CAP_UNITS; the dataset's baseline, so the ascender is the
  cell's top and the descender its bottom (hhea, OS/2 typo and win metrics agree);
- advance widths and sidebearings from `specimen.glyph_metrics` (the ink plus sidebearings), so text
  set with the font matches the app's specimen; each glyph's origin snapped to a whole pixel of its
  cell (`cell_origins`); the specimen's kerning as a GPOS "kern" feature (explorer/explore/kerning.py);
- names: a unique family "Latent <8 hex of the recipe's hash>", and the recipe (JSON) in the name
  table at RECIPE_NAME_ID (a font-specific name ID, >= 256), summarised in the description (ID 10);
- style: weight class and italic measured from the glyphs (explorer/explore/font_style.py), in OS/2,
  head.macStyle, post.italicAngle, the style names and the PANOSE family kind and weight; underline and
  strikeout as thick as a stem (`stroke_units`), OS/2 code page Latin 1; CFF alignment zones (baseline,
  x-height, cap height) and standard stems (`private_dict`);
- the glyphs are cleaned before tracing (glyph_ink.clean_glyphs): specks and pinholes no typeface has,
  a dot above an o or a hole in an S's stroke, are not traced.

    from explorer.explore.fontexport import build_font, text_svg, font_family
    otf = build_font(stack, recipe_json)             # bytes of an .otf; raises FontExportError
    svg = text_svg(otf, "Hello")                     # SVG text (str) drawn with the font's outlines
    ttf = read_font(data)                            # fontTools TTFont, or ValueError for a file it cannot parse
    cells = drawn_cells(otf, stack)                  # (G, R, R) uint8: the font's glyphs drawn back into cells
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
from fontTools.agl import UV2AGL
from fontTools.feaLib.builder import addOpenTypeFeaturesFromString
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.recordingPen import RecordingPen
from fontTools.pens.svgPathPen import SVGPathPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.transformPen import TransformPen
from fontTools.svgLib.path import parse_path
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables.O_S_2f_2 import Panose
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from explorer.data.fontrender import PANOSE_FIELDS
from explorer.explore.built_glyphs import BUILT
from explorer.explore.font_style import font_style
from explorer.explore.glyph_ink import SPECK_PX, clean_glyphs, significant_ink
from explorer.explore.kerning import kern_feature, kern_pairs, pair_kerns
from explorer.explore.specimen import (
    CHARS,
    PLACEHOLDER,
    SIDEBEARING,
    Metrics,
    as_stack,
    clusters,
    glyph_metrics,
    with_built,
)

UPM = 1000                   # font units per em
CAP_UNITS = 700              # the cap height in font units (the dataset's CAP_PX of its cell)
UPSAMPLE = 4                 # bitmap upsampling before tracing
SMOOTH_PX = 0.5              # Gaussian blur (sigma, cell px) before the threshold: a tester found the outlines as
# ragged as torn paper. Generated faces, seeds 0 / 7 / 3: curve segments per glyph 134.5 / 129.6 / 126.2 without,
# 106.2 / 101.4 / 99.1 at 0.4 and 85.1 / 81.2 / 78.1 at 0.6 (cell px), mean IoU with the cleaned bitmaps 0.990 /
# 0.975 / 0.954 (seed 0); a 1 px stroke keeps a peak of ~0.7 of full ink at 0.5, above the threshold
GAP = 2                      # px between glyph cells in the traced tile (at the stack's resolution)
TILE_COLUMNS = 8
RECIPE_NAME_ID = 256         # name ID of the recipe (JSON)
ALPHAMAX = 0.6               # potrace's corner threshold (default 1): a little sharper, closer to the bitmaps
TURDSIZE = SPECK_PX * UPSAMPLE ** 2   # potrace drops blobs smaller than this (upsampled px): the specimen's specks
POTRACE_TIMEOUT_S = 30.0
UNDERLINE_GAP = 100          # post.underlinePosition: the underline's top this far below the baseline (font units)
RULE_RANGE = (30, 150)       # underline and strikeout thickness, font units (a stem's thickness, within these)
OVERSHOOT = 12               # alignment zones' depth, font units (round glyphs overshoot the lines by about this)
LOWEST_PPEM = 9              # head.lowestRecPPEM: the smallest readable size, px per em
_TRANSLATE = re.compile(r'translate\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)\s*scale\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)')
_PATH = re.compile(r'<path\b[^>]*\bd="([^"]*)"', re.S)


class FontExportError(RuntimeError):
    """The font could not be built (potrace is missing or failed); the message says what to do."""


@dataclass(frozen=True)
class Geometry:
    """The stack's geometry in font units: `unit` font units per px of the cell."""
    cell: int
    baseline: int
    unit: float

    @property
    def ascent(self) -> int:
        return int(round(self.baseline * self.unit))

    @property
    def descent(self) -> int:
        """Negative: the cell's bottom below the baseline."""
        return -int(round((self.cell - self.baseline) * self.unit))


def geometry(m: Metrics) -> Geometry:
    return Geometry(m.cell, m.baseline, CAP_UNITS / m.cap)


def cell_origins(m: Metrics) -> np.ndarray:
    """(G,) each glyph's pen origin in its cell, px, snapped to a whole pixel (the sidebearings move by
    under half a pixel): a renderer that places glyphs on whole pixels (Pillow does) then draws each
    glyph exactly over its bitmap. Measured on DejaVu Sans and Serif: mean IoU 0.97 snapped, 0.92 not."""
    return np.round(m.origin_x).astype(np.float32)


def glyph_name(ch: str) -> str:
    """The AGL glyph name of a character (A, a, zero, ...; uniXXXX where the AGL has none)."""
    return UV2AGL.get(ord(ch), f"uni{ord(ch):04X}")


def font_family(recipe_json: str) -> str:
    """'Latent <8 hex>': unique per recipe (the hash of its JSON), so two exports install side by side."""
    return "Latent " + hashlib.sha256(recipe_json.encode()).hexdigest()[:8]


def potrace_path() -> str:
    """The potrace executable; raises FontExportError when it is not installed."""
    exe = shutil.which("potrace")
    if exe is None:
        raise FontExportError("potrace is not installed on this server: `apt-get install potrace` "
                              "(bash run.sh setup does it)")
    return exe


def _tile(stack: np.ndarray) -> tuple[np.ndarray, int]:
    """All glyphs in one bitmap (True = ink), upsampled: (rows * step * UPSAMPLE, cols * step * UPSAMPLE), step."""
    g, r, _ = stack.shape
    step = r + GAP
    rows = -(-g // TILE_COLUMNS)
    tile = np.zeros((rows * step + GAP, TILE_COLUMNS * step + GAP), np.uint8)
    for i in range(g):
        y, x = GAP + (i // TILE_COLUMNS) * step, GAP + (i % TILE_COLUMNS) * step
        tile[y:y + r, x:x + r] = stack[i]
    im = Image.fromarray(tile).resize((tile.shape[1] * UPSAMPLE, tile.shape[0] * UPSAMPLE), Image.Resampling.BICUBIC)
    im = im.filter(ImageFilter.GaussianBlur(SMOOTH_PX * UPSAMPLE))     # a generated edge's pixel noise, not traced
    return np.asarray(im) >= 128, step


def trace(stack: np.ndarray) -> list[RecordingPen]:
    """Outlines of each glyph of a stack (G, R, R) uint8, in cell px (x right, y down from the cell's
    top), one RecordingPen per glyph (empty for a blank glyph). Raises FontExportError when potrace fails."""
    a = as_stack(stack)
    ink, step = _tile(a)
    buf = io.BytesIO()
    Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)).convert("1").save(buf, format="PPM")   # PBM
    try:
        cmd = [potrace_path(), "-b", "svg", "-a", str(ALPHAMAX), "-t", str(TURDSIZE), "-o", "-", "-"]
        done = subprocess.run(cmd, input=buf.getvalue(),
                              capture_output=True, timeout=POTRACE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FontExportError(f"potrace did not run: {e}") from e
    svg = done.stdout.decode("utf-8", "replace")
    m = _TRANSLATE.search(svg)
    if done.returncode != 0 or m is None:
        raise FontExportError(f"potrace failed: {done.stderr.decode('utf-8', 'replace').strip()[:200]}")
    ty, sx, sy = float(m.group(2)), float(m.group(3)), float(m.group(4))
    rec = RecordingPen()
    for d in _PATH.findall(svg):
        parse_path(d, rec)
    pens = [RecordingPen() for _ in range(a.shape[0])]
    cur: list[tuple[str, tuple]] = []
    for op, pts in rec.value + [("moveTo", ((0.0, 0.0),))]:
        if op == "moveTo" and cur:
            x0, y0 = cur[0][1][0]
            px, py = x0 * sx / UPSAMPLE, (ty + y0 * sy) / UPSAMPLE              # tile px, y down
            col, row = int((px - GAP / 2) // step), int((py - GAP / 2) // step)
            i = row * TILE_COLUMNS + col
            if 0 <= col < TILE_COLUMNS and 0 <= i < len(pens):
                ox, oy = GAP + col * step, GAP + row * step
                for o, p in cur:
                    pens[i].value.append((o, tuple(((x * sx / UPSAMPLE - ox), (ty + y * sy) / UPSAMPLE - oy)
                                                   for x, y in p)))
            cur = []
        cur.append((op, pts))
    return pens


def _placeholder_box(pen: T2CharStringPen | BoundsPen, cap_units: float, width: float, x0: float) -> None:
    """A rectangle outline with a hole: .notdef."""
    t = max(20.0, cap_units * 0.06)
    for (a, b, c, d), clockwise in (((x0, 0, x0 + width, cap_units), False),
                                    ((x0 + t, t, x0 + width - t, cap_units - t), True)):
        pts = [(a, b), (c, b), (c, d), (a, d)]
        if clockwise:
            pts = pts[::-1]
        pen.moveTo(pts[0])
        for p in pts[1:]:
            pen.lineTo(p)
        pen.closePath()


def build_font(stack: np.ndarray, recipe_json: str, glyphs: str = CHARS, model: str = "",
               metrics: Metrics | None = None, extra: str = BUILT) -> bytes:
    """An installable OpenType (CFF) font of a glyph stack (G, R, R) uint8 (see the module docstring).

    `recipe_json` goes into the name table (RECIPE_NAME_ID) and names the family; `model` into the
    description; `extra`: which BUILT characters (punctuation, accented letters) it gets besides the
    stack's own, all by default (a font made only to draw one text back needs only that text's: with all
    195 the export takes about four times as long as with the stack's own and the punctuation). Raises
    FontExportError when potrace is missing or fails, ValueError for a malformed stack."""
    base_stack, base_glyphs = as_stack(stack), glyphs[:len(stack)]
    own = metrics or glyph_metrics(base_stack, base_glyphs)     # the face's as the specimen sets it
    # without specks and pinholes no typeface has; the punctuation and accented letters are built from the
    # cleaned letters and not cleaned again: a ring's hole and a diaeresis' dots are not pinholes and specks
    a, glyphs, built = with_built(clean_glyphs(base_stack, base_glyphs), base_glyphs, extra, own)
    m = built or own
    geo = geometry(m)
    u, base = geo.unit, m.baseline
    chars = glyphs[:a.shape[0]]
    names = [glyph_name(c) for c in chars]
    outlines = trace(a)
    origins = cell_origins(m)
    order = [".notdef", "space"] + names
    fb = FontBuilder(UPM, isTTF=False)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({32: "space", **{ord(c): n for c, n in zip(chars, names)}})
    charstrings, hmtx = {}, {}
    box_w = PLACEHOLDER * CAP_UNITS
    sb = SIDEBEARING * CAP_UNITS
    pen = T2CharStringPen(int(round(box_w + 2 * sb)), None)
    _placeholder_box(pen, CAP_UNITS, box_w, sb)
    charstrings[".notdef"], hmtx[".notdef"] = pen.getCharString(), (int(round(box_w + 2 * sb)), int(round(sb)))
    space = int(round(m.space * u))
    charstrings["space"], hmtx["space"] = T2CharStringPen(space, None).getCharString(), (space, 0)
    for i, name in enumerate(names):
        adv = int(round(float(m.advance[i]) * u))
        ox = float(origins[i])
        units = RecordingPen()                             # cell px -> font units: origin at the pen, y up
        outlines[i].replay(TransformPen(units, (u, 0, 0, -u, -ox * u, base * u)))
        bounds = BoundsPen(None)
        units.replay(bounds)
        pen = T2CharStringPen(adv, None)
        units.replay(pen)
        charstrings[name] = pen.getCharString()
        hmtx[name] = (adv, int(round(bounds.bounds[0])) if bounds.bounds else 0)
    family = font_family(recipe_json)
    strokes = np.where(significant_ink(base_stack), base_stack, 0).astype(np.uint8)   # its own glyphs, no haze
    style = font_style(strokes, base_glyphs)
    full = f"{family} {style.style_name}"
    ps = f"{family}-{style.style_name}".replace(" ", "")
    x_height = _x_height(strokes, base_glyphs, m, u)
    rule = stroke_units(strokes)                      # a stem's thickness: underline, strikeout, StdVW/StdHW
    fb.setupCFF(ps, {"FullName": full, "FamilyName": family, "Weight": style.style_name}, charstrings,
                private_dict(x_height, rule))
    fb.setupHorizontalMetrics(hmtx)
    fb.setupHorizontalHeader(ascent=geo.ascent, descent=geo.descent)
    note = (f"Generated by Latent Explorer{' from the model ' + model if model else ''}; "
            f"its recipe (JSON) is name ID {RECIPE_NAME_ID}.")
    suffix, sub = style.legacy
    fb.setupNameTable({"familyName": f"{family} {suffix}".strip(), "styleName": sub,
                       "typographicFamily": family, "typographicSubfamily": style.style_name,
                       "uniqueFontIdentifier": f"{ps};latent-explorer", "fullName": full, "psName": ps,
                       "version": "Version 1.000", "description": note, RECIPE_NAME_ID: recipe_json}, mac=False)
    bold, italic = style.weight_class == 700, style.italic
    fb.setupOS2(sTypoAscender=geo.ascent, sTypoDescender=geo.descent, sTypoLineGap=0,
                usWinAscent=geo.ascent, usWinDescent=-geo.descent, sCapHeight=CAP_UNITS,
                sxHeight=x_height, fsType=0, achVendID="LTNT", usWeightClass=style.weight_class,
                fsSelection=(1 if italic else 0) | (32 if bold else 0) | (64 if not (bold or italic) else 0),
                panose=_panose(style.panose),
                ulCodePageRange1=1,                      # bit 0: Latin 1 (A-Z a-z 0-9 are in it); font menus use it
                yStrikeoutSize=rule, yStrikeoutPosition=int(round((x_height or CAP_UNITS * 0.7) / 2 + rule / 2)))
    fb.font["OS/2"].recalcUnicodeRanges(fb.font)       # Basic Latin, Latin-1 Supplement, Latin Extended-A
    fb.updateHead(macStyle=(1 if bold else 0) | (2 if italic else 0), lowestRecPPEM=LOWEST_PPEM)
    fb.setupPost(italicAngle=style.italic_angle, underlinePosition=-UNDERLINE_GAP, underlineThickness=rule)
    fea = kern_feature(pair_kerns(a, m, chars), dict(zip(chars, names)), u)   # the specimen's kerning, as GPOS
    if fea:
        addOpenTypeFeaturesFromString(fb.font, fea)
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()


def _panose(digits: tuple[int, ...]) -> Panose:
    p = Panose()
    for name, d in zip(PANOSE_FIELDS, digits, strict=True):
        setattr(p, name, d)
    return p


def drawn_cells(font_data: bytes, stack: np.ndarray, glyphs: str = CHARS) -> np.ndarray:
    """The glyphs of a font made by `build_font` from `stack` (G, R, R) uint8, drawn back by Pillow (FreeType,
    anti-aliased) into cells of the stack's geometry: (G, R, R) uint8, ink = 255. What the installed font
    looks like, glyph for glyph over its bitmaps (exported DejaVu Sans: mean IoU >= 0.9, tests/explore/
    test_fontexport.py), so a specimen set from these cells previews the downloaded font. Raises ValueError
    for bytes Pillow cannot open as a font."""
    a = as_stack(stack)
    m = glyph_metrics(a, glyphs)
    try:
        font = ImageFont.truetype(io.BytesIO(font_data), size=UPM * m.cap / CAP_UNITS)   # px per em of the cell
    except OSError as e:
        raise ValueError(f"not a font Pillow can open: {e}") from e
    r, origins = a.shape[1], cell_origins(m)
    cells = np.zeros_like(a)
    for i, ch in enumerate(glyphs[:a.shape[0]]):
        im = Image.new("L", (r, r), 0)
        ImageDraw.Draw(im).text((float(origins[i]), float(m.baseline)), ch, font=font, fill=255, anchor="ls")
        cells[i] = np.asarray(im)
    return cells


def private_dict(x_height: int, stem: int) -> dict:
    """The CFF Private dict's alignment zones and stems, the hints a rasteriser (or an autohinter) snaps
    to at small sizes (Adobe Technical Note #5176, "The Compact Font Format Specification", Private DICT):
    BlueValues as (bottom, top) pairs in ascending order, the baseline zone first, then the x-height
    (when there is one clear of the cap height) and the cap height, each OVERSHOOT deep; StdVW and StdHW
    the stem thickness `stem` (font units; one measure for both)."""
    blues = [-OVERSHOOT, 0]
    if x_height > 0 and x_height + OVERSHOOT < CAP_UNITS:
        blues += [x_height, x_height + OVERSHOOT]
    blues += [CAP_UNITS, CAP_UNITS + OVERSHOOT]
    return {"BlueValues": blues, "StdVW": stem, "StdHW": stem}


def stroke_units(stack: np.ndarray) -> int:
    """A typical stem's thickness in font units: the face's stroke width as the dataset measures it
    (explorer/data/glyphmetrics.py, in cap heights) times CAP_UNITS, within RULE_RANGE (the thickness
    of the underline and strikeout)."""
    from explorer.data.glyphmetrics import face_attributes
    sw = float(np.asarray(face_attributes(stack)["stroke_width"]).ravel()[0])
    return int(np.clip(round(sw * CAP_UNITS), *RULE_RANGE)) if np.isfinite(sw) else RULE_RANGE[0]


def _x_height(stack: np.ndarray, chars: str, m: Metrics, u: float) -> int:
    """Ink height of "x" above the baseline, font units (0 when the face has no x or it is blank); `stack`
    holds only the strokes that matter (glyph_ink.significant_ink), so a speck above the x cannot raise it."""
    if "x" not in chars:
        return 0
    rows = np.flatnonzero((stack[chars.index("x")] >= 128).any(1))
    return int(round((m.baseline - rows[0]) * u)) if len(rows) else 0


def read_font(data: bytes) -> TTFont:
    """A font file's bytes as a fontTools TTFont (all tables read now). Raises ValueError with a sentence
    for anything fontTools cannot parse (not a font, truncated, a broken table)."""
    try:
        font = TTFont(io.BytesIO(data), lazy=False)
        for tag in list(font.keys()):
            font[tag]                                     # decompile every table: errors surface here
        if "cmap" not in font:
            raise ValueError("it has no character map (cmap)")
        return font
    except Exception as e:  # noqa: BLE001 - fontTools raises many kinds; all mean "not a usable font"
        raise ValueError(f"not a font file fontTools can read ({type(e).__name__}: {str(e)[:200]})") from e


def text_svg(font_data: bytes, text: str, size_px: float = 64.0, margin: float = 0.25) -> str:
    """SVG (a document, str) of `text` drawn with the outlines of an OpenType font's bytes: one <path> per
    glyph, advances from its hmtx, lines one ascent - descent apart, `size_px` px per em. Characters the
    font does not map are dashed boxes, one per character as a reader sees it (like the specimen:
    `specimen.clusters`); pairs the font kerns (`kern_pairs`) are kerned; empty text gives an empty drawing."""
    font = read_font(font_data)
    gs, cmap = font.getGlyphSet(), font.getBestCmap() or {}
    kerns = kern_pairs(font)
    hmtx, hhea = font["hmtx"], font["hhea"]
    upm = font["head"].unitsPerEm
    line_h = hhea.ascent - hhea.descent
    pad = margin * upm
    s = size_px / upm
    paths, widths = [], [0.0]
    box_w, box_h = hmtx[".notdef"][0] * 0.8, font["OS/2"].sCapHeight or hhea.ascent * 0.7
    lines = unicodedata.normalize("NFC", text).replace("\r\n", "\n").split("\n")
    for k, line in enumerate(lines):
        pen, y = pad, pad + hhea.ascent + k * line_h
        previous = None
        for ch in clusters(line):                          # "👍🏽" is one box, as in the specimen
            name = cmap.get(ord(ch)) if len(ch) == 1 else None
            pen += kerns.get((previous, name), 0) if previous and name else 0
            previous = name
            if ch.isspace():
                pen += hmtx[cmap.get(32, ".notdef")][0]
                continue
            if name is None:
                x0 = pen + box_w * 0.1
                paths.append(f'<rect x="{x0:.1f}" y="{y - box_h:.1f}" width="{box_w * 0.8:.1f}" '
                             f'height="{box_h:.1f}" fill="none" stroke="black" stroke-width="{upm * 0.02:.1f}" '
                             f'stroke-dasharray="{upm * 0.04:.1f}"/>')
                pen += box_w
                continue
            sp = SVGPathPen(gs)
            gs[name].draw(sp)
            d = sp.getCommands()
            if d:
                paths.append(f'<path transform="translate({pen:.1f},{y:.1f}) scale(1,-1)" d="{d}"/>')
            pen += hmtx[name][0]
        widths.append(pen)
    w, h = (max(widths) + pad), (len(lines) * line_h + 2 * pad)
    family = escape(font["name"].getDebugName(1) or "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * s:.1f}" height="{h * s:.1f}" '
            f'viewBox="0 0 {w:.1f} {h:.1f}">\n<title>{family}</title>\n'
            '<rect width="100%" height="100%" fill="white"/>\n<g fill="black">\n'
            + "\n".join(paths) + "\n</g>\n</svg>\n")
