"""Type specimens: text set from a glyph stack (one generated or real typeface), with layout to check.

A glyph stack is (G, R, R) uint8 ink (0 = background, 255 = ink), glyph i = `glyphs[i]` (A-Z a-z 0-9
for the fonts model), drawn on the fonts dataset's geometry (explorer/data/fontrender.py) scaled by
R / 64: the baseline is the top edge of row BASELINE * R / 64 and the cap height CAP_PX * R / 64 px.
Glyphs sit centred in their cells, so a generated face carries no advance widths: `glyph_metrics`
derives them from the ink plus sidebearings, as automatic spacing tools do (after HT Letterspacer,
Huerta Tipografica: a side's bearing shrinks with the white area between the glyph's profile and its
ink box on that side, so straight sides get the full bearing and diagonal or open sides little or
none). SIDEBEARING, DEPTH_WEIGHT and DEPTH_CAP were fitted to the real metrics of 30 DejaVu and Liberation
faces rendered by the dataset builder: the letters' sidebearings come out within 0.029 cap heights of
the real ones on average (the best single bearing per face: 0.037). A space is half the advance of "n".

`typeset` lays text out line by line (newlines, optional word wrap), kerned (explorer/explore/kerning.py),
and returns the image (ink dark
on white) and every glyph's position. Punctuation the face lacks (. , : ; - ' ’ " !) is built from its
own glyphs and accented letters (é ü ñ ç ...) are composed from its letters (explorer/explore/built_glyphs.py,
`with_built`); other characters the face has no glyph for are drawn as a dotted box (never an error);
empty text gives a blank image and `empty=True`.

    from explorer.explore.specimen import typeset, specimen_sheet
    s = typeset(stack, PANGRAM)                                    # Specimen
    s.image.shape       # (H, W) uint8, 255 = paper; s.placed: [Placed(char, glyph, x, baseline, ...)]
    img = specimen_sheet(stack, text)                            # specimen above the glyph sheet, (H, W, 1)
    missing_note(s.unknown, s.truncated)                         # "Not in this typeface, ...: ? €." or ""
"""

from __future__ import annotations

import dataclasses
import string
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import regex
import torch

from explorer.explore.built_glyphs import BUILT, COMPOSED_LETTERS, WIDE_BOTH, WIDENED, base_of, complete
from explorer.explore.glyph_ink import CELL_REF, significant_ink
from explorer.explore.kerning import pair_kerns
from explorer.imaging.render import glyph_sheet

CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits
PANGRAM = "Sphinx of black quartz judge my vow"   # every letter a-z, no punctuation (not among the 62)
BASELINE_REF = 46        # explorer.data.fontrender.BASELINE: baseline = top edge of this row
CAP_REF = 32.0           # explorer.data.fontrender.CAP_PX: cap height, px
SIDEBEARING = 0.07       # base sidebearing, fraction of the cap height (fitted, see the docstring)
DEPTH_WEIGHT = 0.4       # bearing lost per px of mean white depth between profile and ink box
MIN_BEARING = -0.04      # sidebearings stay above this, fraction of the cap height
DEPTH_CAP = 0.3          # white depth of a row counted at most this, fraction of the cap height
BLANK_ADVANCE = 0.3      # advance of a glyph with no ink, fraction of the cap height
PLACEHOLDER = 0.55       # width of the dotted box for unknown characters, fraction of the cap height
GRAPHEMES = regex.compile(r"\X")
MAX_CHARS = 2000         # longer text is cut (Specimen.truncated says so)
TAB_SPACES = 4


@dataclass(frozen=True)
class Metrics:
    """Horizontal metrics of one face, px at the stack's resolution; arrays are (G,) float32."""
    ink_left: np.ndarray         # first ink column of each glyph in its cell
    ink_right: np.ndarray        # one past the last ink column
    lsb: np.ndarray              # left sidebearing: pen origin to ink
    rsb: np.ndarray              # right sidebearing: ink to the next pen position
    advance: np.ndarray          # lsb + ink width + rsb
    space: float                 # advance of a space
    cap: float                   # cap height, px
    baseline: int                # baseline row (its top edge) in the cell
    cell: int                    # the cell side R

    @property
    def origin_x(self) -> np.ndarray:
        """(G,) the pen origin's x inside each cell: ink_left - lsb."""
        return self.ink_left - self.lsb


@dataclass(frozen=True)
class Placed:
    """One character as set: `glyph` its index in the stack (-1: a placeholder box), `x` the pen
    position (px from the image's left edge), `baseline` the baseline row, `cell_x` the x where its
    cell's left edge went, `advance` px, `line` the line number."""
    char: str
    glyph: int
    x: float
    baseline: int
    cell_x: int
    advance: float
    line: int


@dataclass
class Specimen:
    image: np.ndarray                    # (H, W) uint8, ink dark on white (255 = paper)
    placed: list[Placed] = field(default_factory=list)
    baselines: list[int] = field(default_factory=list)   # baseline row of each line
    metrics: Metrics | None = None
    empty: bool = False                  # nothing but whitespace (or nothing) to set
    truncated: bool = False              # the text was longer than MAX_CHARS
    unknown: str = ""                    # the distinct characters drawn as placeholder boxes


def as_stack(stack: np.ndarray | torch.Tensor) -> np.ndarray:
    """(G, R, R) uint8 ink; a float tensor/array is taken as generator output in [-1, 1] (ink = +1).
    Raises ValueError on another shape."""
    if isinstance(stack, torch.Tensor):
        stack = stack.detach().cpu().numpy()
    a = np.asarray(stack)
    if a.dtype != np.uint8:
        a = np.round((np.clip(a.astype(np.float32), -1, 1) + 1) * 127.5).astype(np.uint8)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"a glyph stack is (G, R, R), got {a.shape}")
    return a


def _white_depth(on: np.ndarray, zone: np.ndarray, from_left: bool, cap: float) -> np.ndarray:
    """(G,) mean white depth (px) between each glyph's ink box side and its profile over the zone rows."""
    g, _, w = on.shape
    cols = np.arange(w)
    rows_any = on.any(2)                                           # (G, R)
    if from_left:
        edge = np.where(on, cols, w).min(2)                       # first ink column per row
        box = np.where(rows_any, edge, w).min(1, keepdims=True)
        depth = edge - box
    else:
        edge = np.where(on, cols, -1).max(2)
        box = np.where(rows_any, edge, -1).max(1, keepdims=True)
        depth = box - edge
    depth = np.where(rows_any, np.minimum(depth, DEPTH_CAP * cap), DEPTH_CAP * cap)
    use = zone[None, :] & np.ones((g, 1), dtype=bool)
    n = np.maximum(use.sum(1), 1)
    return (depth * use).sum(1) / n


def glyph_metrics(stack: np.ndarray | torch.Tensor, glyphs: str = CHARS) -> Metrics:
    """Advance widths and sidebearings of a glyph stack (G, R, R) from its ink (see the module docstring).

    The profile zone is the rows from the cap height down to the baseline (x-height down for a-z),
    so ascenders, descenders and accents do not decide the spacing. A blank glyph gets a small advance."""
    a = as_stack(stack)
    g, r, _ = a.shape
    cap = CAP_REF * r / CELL_REF
    base = int(round(BASELINE_REF * r / CELL_REF))
    on = significant_ink(a)                                        # (G, R, R) bool
    cols_on: np.ndarray = np.any(on, axis=1)                       # (G, R)
    has: np.ndarray = np.any(cols_on, axis=1)
    left = np.where(has, cols_on.argmax(1), r // 2).astype(np.float32)
    right = np.where(has, r - cols_on[:, ::-1].argmax(1), r // 2).astype(np.float32)
    rows = np.arange(r)
    caps_zone = (rows >= base - cap) & (rows < base)
    xh = 0.7 * cap                                                 # a-z: the usual x-height ratio
    lower_zone = (rows >= base - xh) & (rows < base)
    depth_l = np.zeros(g, np.float32)
    depth_r = np.zeros(g, np.float32)
    lower = np.array([c in string.ascii_lowercase for c in glyphs[:g]] + [False] * max(0, g - len(glyphs)))
    for zone, sel in ((caps_zone, ~lower), (lower_zone, lower)):
        if sel.any():
            depth_l[sel] = _white_depth(on[sel], zone, True, cap)
            depth_r[sel] = _white_depth(on[sel], zone, False, cap)
    marks = np.array([not c.isalnum() for c in glyphs[:g]] + [False] * max(0, g - len(glyphs)))
    depth_l[marks] = depth_r[marks] = 0.0                          # punctuation: the white is its own, not a letter's
    sb = SIDEBEARING * cap
    lsb = np.maximum(sb - DEPTH_WEIGHT * depth_l, MIN_BEARING * cap).astype(np.float32)
    rsb = np.maximum(sb - DEPTH_WEIGHT * depth_r, MIN_BEARING * cap).astype(np.float32)
    lsb[~has] = rsb[~has] = BLANK_ADVANCE * cap / 2
    width = np.where(has, right - left, 0.0)
    advance = np.maximum(lsb + width + rsb, 0.1 * cap).astype(np.float32)
    n = glyphs.find("n")
    space = float(advance[n] / 2) if 0 <= n < g and has[n] else 0.35 * cap
    return accented_like_base(Metrics(left, right, lsb, rsb, advance, space, cap, base, r), glyphs)


def real_metrics(stack: np.ndarray | torch.Tensor, advance: np.ndarray, origin_x: np.ndarray,
                 glyphs: str = CHARS) -> Metrics:
    """Metrics of a real face from the font's own advance widths and pen origins (the fonts dataset's
    `advance` and `origin_x`, px at 64 px cells; scaled to the stack's R): its specimen is set as the
    font sets text. The space stays half the advance of "n" (the dataset keeps no space width)."""
    m = glyph_metrics(stack, glyphs)
    f = m.cell / CELL_REF
    adv = np.asarray(advance, np.float32) * f
    org = np.asarray(origin_x, np.float32) * f
    n = glyphs.find("n")
    space = float(adv[n] / 2) if 0 <= n < len(adv) else m.space
    return dataclasses.replace(m, lsb=m.ink_left - org, rsb=org + adv - m.ink_right, advance=adv, space=space)


def clusters(text: str) -> list[str]:
    """The characters of `text` as a reader sees them: Unicode extended grapheme clusters (UAX #29, by the
    `regex` module's \\X), so "👍🏽" (a thumb and a skin tone) or "e" + U+0301 is one character, not two."""
    return GRAPHEMES.findall(text)


def unknown_chars(text: str, glyphs: str = CHARS) -> str:
    """The distinct characters of `text` (grapheme clusters of its NFC form, sorted, case kept) that
    `typeset` draws as dotted boxes: not in `glyphs` and not whitespace, concatenated."""
    units = clusters(unicodedata.normalize("NFC", text))
    return "".join(sorted({u for u in units if u not in glyphs and not u.isspace() and u[0].isprintable()}))


def missing_note(unknown: str, truncated: bool = False) -> str:
    """The note under a specimen: which characters the face lacks (exactly as typed, never re-cased) and
    whether the text was cut; "" when neither. E.g. missing_note("ß€") ->
    "Not in this typeface, shown as dotted boxes: ß €." """
    notes = []
    if unknown:
        notes.append("not in this typeface, shown as dotted boxes: " + " ".join(clusters(unknown)))
    if truncated:
        notes.append(f"the text was cut to its first {MAX_CHARS:,} characters")
    if not notes:
        return ""
    text = "; ".join(notes)
    # a listed punctuation mark followed by the sentence's full stop misread as ".." (one character?)
    end = "" if unknown and not truncated and unicodedata.category(unknown[-1]).startswith("P") else "."
    return text[0].upper() + text[1:] + end


def _placeholder(cap: float, r: int, base: int) -> np.ndarray:
    """A dotted box (ink 255) the size of a capital, in a cell-high strip: (R, w) uint8."""
    w = max(4, int(round(PLACEHOLDER * cap)))
    top = max(0, int(round(base - cap)))
    box = np.zeros((r, w), np.uint8)
    dots = (np.arange(w) % 3 == 0)
    box[top, dots] = box[base - 1, dots] = 255
    vd = (np.arange(r) % 3 == 0) & (np.arange(r) >= top) & (np.arange(r) < base)
    box[vd, 0] = box[vd, w - 1] = 255
    return box


def _paste_max(canvas: np.ndarray, src: np.ndarray, y0: int, x0: int) -> None:
    """canvas[y0:, x0:] = max(canvas, src), clipped to the canvas on every side."""
    h, w = src.shape
    cy0, cx0 = max(y0, 0), max(x0, 0)
    cy1, cx1 = min(y0 + h, canvas.shape[0]), min(x0 + w, canvas.shape[1])
    if cy1 > cy0 and cx1 > cx0:
        region = canvas[cy0:cy1, cx0:cx1]
        np.maximum(region, src[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0], out=region)


def _split(units: list[str], sep: str) -> list[list[str]]:
    """`units` cut at each `sep` (like str.split): [[...], ...], one list more than there are separators."""
    out: list[list[str]] = [[]]
    for u in units:
        if u == sep:
            out.append([])
        else:
            out[-1].append(u)
    return out


def _lines(units: list[str], wrap: float | None, width_of: dict[str, float], space: float) -> list[list[str]]:
    """Split on newlines, then greedily at spaces so no line is wider than `wrap` px; a word wider than a
    whole line is broken between characters (at least one character a line), so no line runs off.
    `units` are the text's characters as a reader sees them (`clusters`); each line is a list of them."""
    out: list[list[str]] = []
    for para in _split(units, "\n"):
        if wrap is None:
            out.append(para)
            continue
        line: list[str] = []
        w = 0.0
        words: list[list[str]] = []
        for word in _split(para, " "):                   # a dash stays with the word before it: never a line's
            if word in (["\u2014"], ["\u2013"]) and words and words[-1]:   # first (a tester's "—" alone)
                words[-1] = [*words[-1], " ", *word]
            else:
                words.append(word)
        for word in words:
            ww = sum(width_of.get(c, space if c == " " else 0.0) for c in word)
            if line and w + space + ww > wrap:
                out.append(line)
                line, w = [], 0.0
            if not line and ww > wrap:                    # too wide for any line: break it at characters
                for c in word:
                    cw = width_of.get(c, space if c == " " else 0.0)
                    if line and w + cw > wrap:
                        out.append(line)
                        line, w = [], 0.0
                    line, w = [*line, c], w + cw
                continue
            line, w = ([*line, " ", *word], w + space + ww) if line else (list(word), ww)
        out.append(line)
    return out


def typeset(stack: np.ndarray | torch.Tensor, text: str, glyphs: str = CHARS, wrap: float | None = None,
            margin: float = 0.25, metrics: Metrics | None = None, word_max: float | None = None,
            kern: bool = True) -> Specimen:
    """Set `text` in the face of `stack` (G, R, R); see the module docstring.

    `wrap`: wrap lines at spaces beyond this width (px at the stack's resolution; a word wider than a line is
    broken between characters), None = only at newlines. `word_max`: lines widen to the text's widest word,
    up to this many px, so a word is broken only when it is wider than that ("Hamb / urgef" at a large size).
    `margin`: paper around the text, fraction of the cap height. Lines are one cell (R px) apart.
    Characters not in `glyphs` become dotted boxes; tabs are four spaces; other control characters are
    dropped. `kern`: neighbouring glyphs get the face's automatic kerning (explorer/explore/kerning.py:
    "To", "AV" set closer; wrapping measures without it). Never raises on any text; raises ValueError only
    for a malformed stack."""
    truncated = len(text) > MAX_CHARS
    text = unicodedata.normalize("NFC", text[:MAX_CHARS].replace("\r\n", "\n").replace("\t", " " * TAB_SPACES))
    units = [" " if u.isspace() and u != "\n" else u for u in clusters(text) if u == "\n" or u[0].isprintable()]
    a, glyphs, metrics = with_built(as_stack(stack), glyphs, text, metrics)
    m = metrics or glyph_metrics(a, glyphs)
    r, cap, base = m.cell, m.cap, m.baseline
    text = "".join(units)
    index = {c: i for i, c in enumerate(glyphs[:a.shape[0]])}
    box = _placeholder(cap, r, base)
    box_adv = box.shape[1] + 2 * SIDEBEARING * cap
    width_of = {c: float(m.advance[i]) for c, i in index.items()}
    unknown = unknown_chars(text, glyphs[:a.shape[0]])
    width_of.update({c: box_adv for c in units if c not in index})
    if wrap is not None and word_max is not None:
        words = _split([" " if u == "\n" else u for u in units], " ")
        widest = max(sum(width_of.get(c, 0.0) for c in w) for w in words)
        wrap = max(wrap, min(widest, word_max))
    lines = _lines(units, wrap, width_of, m.space)
    pad = int(round(margin * cap))
    if not text.strip():
        blank = np.full((r + 2 * pad, r + 2 * pad), 255, np.uint8)
        return Specimen(blank, [], [], m, True, truncated, "")
    placed: list[Placed] = []
    kerns = pair_kerns(a, m, glyphs, {p for line in lines for p in zip(line, line[1:])}) if kern else {}
    for k, line in enumerate(lines):
        pen, y0 = float(pad), pad + k * r
        for prev, c in zip([" ", *line], line):
            if c == " ":
                pen += m.space
                continue
            if c in index:
                i = index[c]
                pen += kerns.get((prev, c), 0.0)
                cx = int(round(pen - float(m.origin_x[i])))
                placed.append(Placed(c, i, pen, y0 + base, cx, float(m.advance[i]), k))
                pen += float(m.advance[i])
            else:
                cx = int(round(pen + SIDEBEARING * cap))
                placed.append(Placed(c, -1, pen, y0 + base, cx, box_adv, k))
                pen += box_adv
    ends = [p.x + p.advance for p in placed]
    ink_l = [p.cell_x + (int(m.ink_left[p.glyph]) if p.glyph >= 0 else 0) for p in placed]
    ink_r = [p.cell_x + (int(m.ink_right[p.glyph]) if p.glyph >= 0 else box.shape[1]) for p in placed]
    shift = max(0, -min(ink_l))                                   # ink reaching left of the paper
    width = int(np.ceil(max(max(ends) + pad, max(ink_r) + 1))) + shift
    height = len(lines) * r + 2 * pad
    ink = np.zeros((height, width), np.uint8)
    out: list[Placed] = []
    for p in placed:
        src = a[p.glyph] if p.glyph >= 0 else box
        x0, y0 = p.cell_x + shift, p.baseline - base
        _paste_max(ink, src, y0, x0)
        out.append(Placed(p.char, p.glyph, p.x + shift, p.baseline, x0, p.advance, p.line))
    baselines = [pad + k * r + base for k in range(len(lines))]
    return Specimen(255 - ink, out, baselines, m, False, truncated, unknown)


def with_built(a: np.ndarray, glyphs: str, text: str, metrics: Metrics | None = None
               ) -> tuple[np.ndarray, str, Metrics | None]:
    """The stack (G, R, R), its characters and metrics with the BUILT characters `text` uses and the face
    lacks appended (explorer/explore/built_glyphs.py): (G + k, R, R), glyphs + k characters, and metrics
    (measured now when `metrics` is None and something was added) with the new glyphs' appended. Punctuation
    is measured from its own ink; an accented letter keeps its base letter's origin and advance (the mark
    may overhang, as in type), so "é" sets exactly as "e"."""
    chars = glyphs[:a.shape[0]]
    if not any(c in BUILT and c not in chars for c in text):
        return a, glyphs, metrics
    full, more = complete(a, chars, text)
    g = a.shape[0]
    if len(more) == len(chars):
        return full, more, metrics
    old = metrics or glyph_metrics(a, chars)
    new = glyph_metrics(full[g:], more[g:])          # the added glyphs only: each glyph's metrics are its own
    def join(mine: np.ndarray, added: np.ndarray) -> np.ndarray:
        return np.concatenate([mine[:g], added]).astype(np.float32)
    joined = dataclasses.replace(old, ink_left=join(old.ink_left, new.ink_left), ink_right=join(
        old.ink_right, new.ink_right), lsb=join(old.lsb, new.lsb), rsb=join(old.rsb, new.rsb),
        advance=join(old.advance, new.advance))
    return full, more, accented_like_base(joined, more)


def accented_like_base(m: Metrics, glyphs: str) -> Metrics:
    """`m` with each accented letter of `glyphs` (explorer/explore/accents.py) whose base letter is there set
    like its base: the same pen origin and advance, its own ink (so its sidebearings differ when the mark
    overhangs); ď ľ Ľ ť, whose caron is an apostrophe beside the stem, advance further by as much as it
    reaches past the base's ink, and a letter with a stroke through it (Ø Đ ħ ..., WIDE_BOTH) by as much as
    the stroke reaches past it on either side, keeping the base's sidebearings (a tester's Ø touched its
    neighbours)."""
    origin, advance = m.origin_x.astype(np.float32), m.advance.astype(np.float32)
    pairs = [(k, glyphs.index(base_of(c))) for k, c in enumerate(glyphs[:len(advance)])
             if c in COMPOSED_LETTERS and base_of(c) in glyphs]
    if not pairs:
        return m
    for k, b in pairs:                      # ď ľ Ľ ť Ŀ ŀ: wider by the mark beside the stem
        past_left = max(0.0, float(m.ink_left[b] - m.ink_left[k])) if glyphs[k] in WIDE_BOTH else 0.0
        past_right = max(0.0, float(m.ink_right[k] - m.ink_right[b])) if glyphs[k] in WIDENED + WIDE_BOTH else 0.0
        origin[k] = origin[b] - past_left
        advance[k] = advance[b] + past_left + past_right
    return dataclasses.replace(m, lsb=(m.ink_left - origin).astype(np.float32),
                               rsb=(origin + advance - m.ink_right).astype(np.float32), advance=advance)


def specimen_sheet(stack: np.ndarray | torch.Tensor, text: str, glyphs: str = CHARS,
                   gap: int | None = None) -> np.ndarray:
    """The current image of a font model: the specimen of `text` (wrapped to the sheet's width) above
    the full glyph sheet (explorer.imaging.render.glyph_sheet), on white: (H, W, 1) uint8."""
    a = as_stack(stack)
    sheet = glyph_sheet(a)[..., 0]
    spec = typeset(a, text, glyphs, wrap=sheet.shape[1] * 0.95).image
    gap = a.shape[1] // 4 if gap is None else gap
    w = max(sheet.shape[1], spec.shape[1])
    out = np.full((spec.shape[0] + gap + sheet.shape[0], w), 255, np.uint8)
    out[:spec.shape[0], :spec.shape[1]] = spec
    out[spec.shape[0] + gap:, :sheet.shape[1]] = sheet
    return out[..., None]

